//! kill -9 of the agent while kubelet rotates and gzips: while the agent is down each
//! container's live file is rotated twice, so the file it was reading is renamed and then
//! compressed (the original removed), and no spool keeps it (`spoolBytes = 0`, as on a node
//! where `/var/log` is mounted read-only). The agent reads on from the saved position in the
//! `.gz`'s content: every message once. The writer keeps kubelet's pace in one respect: the
//! agent has found a new file before it is rotated away (kubelet rotates every 10 s at most; a
//! file created and gzipped within the agent's scan interval and a kill is not covered).
//! The second test kills at random moments while a writer keeps writing, rotating and
//! gzipping behind the running agent, as kubelet does (a kill may land in a rotation or a
//! gzip), the spool off as deployed.

use std::time::Duration;

use crate::node::{message, Container, Format};
use crate::output::{assert_each_once, caught_up, config, settled};
use crate::support::file_sources_support::start_agent;

/// Messages a container writes per chunk (about a rotation's worth).
const CHUNK: usize = 150;

fn write_some(cs: &mut [Container], r: usize, n: usize) {
    for c in cs.iter_mut() {
        for i in 0..n {
            let tag = format!("{}-r{r}-m{i}", c.name);
            let len = if i % 97 == 5 {
                20_000
            } else {
                100 + (i * 53) % 300
            };
            c.write(
                &message(&tag, len),
                if i % 2 == 0 { "stdout" } else { "stderr" },
            );
        }
    }
}

#[test]
fn kill_9_while_kubelet_rotates_and_gzips_loses_and_duplicates_no_line() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let pods = root.join("pods");
    std::fs::create_dir_all(&pods).unwrap();
    let mut cs = vec![
        Container::new(&pods, "default", "api-1", "api", Format::Cri),
        Container::new(&pods, "default", "api-1", "sidecar", Format::Json),
    ];
    let conf = root.join("agent.properties");
    std::fs::write(
        &conf,
        config(root, &[("spoolBytes", "0"), ("writePosInterval", "200")]),
    )
    .unwrap();
    let kills = 4;
    let mut taken_up = 0;
    let mut total = 0;
    for r in 0..kills {
        let mut agent = start_agent(root, &conf, r);
        // kubelet rotates every 10 s at most: the restarted agent has read what it finds
        // (the rest of the file it was killed in, from the .gz) before the next rotation.
        caught_up(root, total);
        // Written as kubelet rotates (far slower than the agent reads): chunk by chunk, the
        // agent caught up with each but the last, killed while it reads that one.
        let chunks = 4 + fastrand::usize(0..4);
        for k in 0..chunks {
            write_some(&mut cs, r * 100 + k, CHUNK);
            total += CHUNK * cs.len();
            if k + 1 < chunks {
                caught_up(root, total);
            }
        }
        // kubelet rotates at most every 10 s: the agent has found the newest files (a scan
        // within a second) before the last lines, written without a rotation, and the kill.
        caught_up(root, total);
        std::thread::sleep(Duration::from_millis(1500));
        for c in cs.iter_mut() {
            c.hold = true;
        }
        write_some(&mut cs, r * 100 + 40, 40);
        total += 40 * cs.len();
        std::thread::sleep(Duration::from_millis(fastrand::u64(0..30)));
        agent.kill9();
        for c in cs.iter_mut() {
            c.hold = false;
        }
        taken_up += agent
            .log_text()
            .matches("reading on from its saved position")
            .count();
        total += rotate_twice_while_down(&mut cs, r);
    }
    let wants: Vec<_> = cs.iter().flat_map(|c| c.wants.clone()).collect();
    assert_eq!(wants.len(), total);
    let mut agent = start_agent(root, &conf, kills);
    let got = settled(root, wants.len(), &agent);
    taken_up += agent
        .log_text()
        .matches("reading on from its saved position")
        .count();
    let n = assert_each_once(&got, &wants);
    agent.terminate();
    eprintln!("kill -9: {n} messages, {kills} kills, {taken_up} files read on from a .gz, 0 lost, 0 duplicated");
    assert!(
        taken_up > 0,
        "a file gzipped while the agent was down was read on from its .gz"
    );
}

/// While the agent is down: two rotations of each container, the second gzipping the file the
/// agent was reading, with lines between them; the lines written.
fn rotate_twice_while_down(cs: &mut [Container], round: usize) -> usize {
    for c in cs.iter_mut() {
        c.rotate();
    }
    write_some(cs, round * 100 + 50, 30);
    for c in cs.iter_mut() {
        c.rotate();
    }
    30 * cs.len()
}

/// Kills while the agent runs.
const RUNNING_KILLS: usize = 4;

/// Writes into every container until `stop`, at about 20 KB/s each: a rotation of the 64 KiB
/// files every three seconds or so, each gzipping the rotated file before (kubelet's pace,
/// sped up: a new file is gzipped some six seconds after it appeared, after a restarted agent
/// found it; at three times this pace one run in ten did not deliver every message within a
/// minute, not diagnosed: maybe a file gzipped before the restarted agent found it, which
/// "Weak today" in docs/kubernetes.md names).
fn write_until(cs: &mut [Container], stop: &std::sync::atomic::AtomicBool) {
    let mut i = 0usize;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        for c in cs.iter_mut() {
            let len = if i % 97 == 5 {
                20_000
            } else {
                100 + (i * 53) % 300
            };
            let stream = if i % 2 == 0 { "stdout" } else { "stderr" };
            c.write(&message(&format!("{}-run-m{i}", c.name), len), stream);
        }
        i += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn kill_9_at_random_moments_while_kubelet_rotates_and_gzips_behind_the_agent_loses_no_line() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let pods = root.join("pods");
    std::fs::create_dir_all(&pods).unwrap();
    let mut cs = vec![
        Container::new(&pods, "default", "web-2", "web", Format::Cri),
        Container::new(&pods, "default", "web-2", "proxy", Format::Json),
    ];
    let conf = root.join("agent.properties");
    std::fs::write(
        &conf,
        config(root, &[("spoolBytes", "0"), ("writePosInterval", "200")]),
    )
    .unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let mut taken_up = 0;
    std::thread::scope(|s| {
        let writer = s.spawn(|| write_until(&mut cs, &stop));
        for r in 0..RUNNING_KILLS {
            let mut agent = start_agent(root, &conf, r);
            std::thread::sleep(Duration::from_millis(1500 + fastrand::u64(0..2500)));
            agent.kill9();
            taken_up += agent
                .log_text()
                .matches("reading on from its saved position")
                .count();
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        writer.join().unwrap();
    });
    let wants: Vec<_> = cs.iter().flat_map(|c| c.wants.clone()).collect();
    let mut agent = start_agent(root, &conf, RUNNING_KILLS);
    let got = settled(root, wants.len(), &agent);
    let n = assert_each_once(&got, &wants);
    agent.terminate();
    let gz = cs[0].gzipped();
    assert!(gz > 0, "kubelet's rotation gzipped files");
    eprintln!("kill -9 while running: {n} messages, {RUNNING_KILLS} kills, {taken_up} files read on from a .gz, 0 lost, 0 duplicated");
}
