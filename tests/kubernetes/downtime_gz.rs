//! Files kubelet created, rotated and gzipped while the agent was down (a container writing
//! `containerLogMaxSize` twice over during the downtime): after the restart they are read
//! from their `.gz`, every line once, also when the restarted agent is killed again while it
//! reads them (its copies are taken up where their positions were saved, or read again under
//! the same ids). The spool is off, as on a node whose `/var/log` is mounted read-only.

use std::time::Duration;

use crate::node::{message, Container, Format};
use crate::output::{assert_each_once, caught_up, config, settled, Got};
use crate::support::agent_proc::Proc;
use crate::support::file_sources_support::start_agent;

fn write_some(cs: &mut [Container], tag: &str, n: usize) -> usize {
    for c in cs.iter_mut() {
        for i in 0..n {
            let tag = format!("{}-{tag}-m{i}", c.name);
            c.write(&message(&tag, 80 + (i * 37) % 200), "stdout");
        }
    }
    n * cs.len()
}

/// While the agent is down: the file it read is rotated and gzipped, and two files after it
/// are created, filled and rotated, the first of them gzipped too: never seen by name. The
/// lines written.
fn rotate_while_down(cs: &mut [Container], r: usize) -> usize {
    let mut total = 0;
    for k in 0..3 {
        for c in cs.iter_mut() {
            c.rotate();
        }
        total += write_some(cs, &format!("r{r}-down{k}"), 60);
    }
    for c in cs.iter_mut() {
        c.compress_rotated();
    }
    total
}

/// Every event is named by the file it was read from, under the pod tree (a copy's under
/// its rotated name), one of them a file never seen.
fn assert_named_as_kubelet_named(got: &[Got], pods: &std::path::Path) {
    for g in got {
        let path = &g.headers["log.file.path"];
        assert!(path.starts_with(&*pods.to_string_lossy()), "{path}");
    }
    assert!(
        got.iter()
            .any(|g| g.headers["log.file.path"].ends_with(".log.20240101-000002")),
        "a file never seen is named as kubelet rotated it"
    );
}

/// The agent's configuration, written under `root`: the spool off, positions saved every
/// 200 ms, the file's path in a header.
fn downtime_config(root: &std::path::Path) -> std::path::PathBuf {
    let conf = root.join("agent.properties");
    let text = config(
        root,
        &[
            ("spoolBytes", "0"),
            ("writePosInterval", "200"),
            ("fileHeader", "true"),
        ],
    );
    std::fs::write(&conf, text).unwrap();
    conf
}

/// The files never seen an agent's log says it read from their `.gz`.
fn unseen_in(agent: &Proc) -> usize {
    agent
        .log_text()
        .matches("created, rotated and compressed")
        .count()
}

#[test]
fn files_created_rotated_and_gzipped_while_the_agent_was_down_are_read_once() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let pods = root.join("pods");
    std::fs::create_dir_all(&pods).unwrap();
    let mut cs = vec![
        Container::new(&pods, "default", "web-1", "web", Format::Cri),
        Container::new(&pods, "default", "web-1", "proxy", Format::Json),
    ];
    for c in cs.iter_mut() {
        c.limits(1 << 40, 100);
    }
    let conf = downtime_config(root);
    let (rounds, mut total, mut unseen, mut run) = (3, 0, 0, 0);
    for r in 0..rounds {
        let mut agent = start_agent(root, &conf, run);
        run += 1;
        caught_up(root, total);
        total += write_some(&mut cs, &format!("r{r}-live"), 100);
        caught_up(root, total);
        std::thread::sleep(Duration::from_millis(500));
        agent.kill9();
        unseen += unseen_in(&agent);
        total += rotate_while_down(&mut cs, r);
        if r > 0 {
            // Killed again while it reads the copies (or before it made them).
            let mut early = start_agent(root, &conf, run);
            run += 1;
            std::thread::sleep(Duration::from_millis(fastrand::u64(50..400)));
            early.kill9();
            unseen += unseen_in(&early);
        }
    }
    let wants: Vec<_> = cs.iter().flat_map(|c| c.wants.clone()).collect();
    assert_eq!(wants.len(), total);
    let mut agent = start_agent(root, &conf, run);
    let got = settled(root, wants.len(), &agent);
    unseen += unseen_in(&agent);
    let n = assert_each_once(&got, &wants);
    assert_named_as_kubelet_named(&got, &pods);
    agent.terminate();
    eprintln!("{n} messages over {rounds} downtimes, {unseen} never-seen files read from their .gz, 0 lost, 0 duplicated");
    assert!(
        unseen >= 2 * rounds,
        "the never-seen files were read from their .gz: {unseen}"
    );
}

/// A pod that came while the agent was down (its directory made after the agent last gave a
/// file an origin), wrote, and was rotated and gzipped twice over before the agent came back:
/// its `.gz` files, which no saved position leads to, are read whole, every line once, also
/// when the restarted agent is killed while it reads them. A first start (no origins saved)
/// reads no `.gz`: history before the agent is not sent.
#[test]
fn a_pod_created_rotated_and_gzipped_while_the_agent_was_down_is_read_once() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let pods = root.join("pods");
    std::fs::create_dir_all(&pods).unwrap();
    let mut old = vec![Container::new(
        &pods,
        "default",
        "web-1",
        "web",
        Format::Cri,
    )];
    old[0].limits(1 << 40, 100);
    // History before the first start, rotated and gzipped (the second rotation leaves an
    // empty rotated file and an empty live one): not sent.
    write_some(&mut old, "before", 20);
    old[0].rotate();
    old[0].rotate();
    assert_eq!(old[0].gzipped(), 1);
    old[0].wants.clear();
    let conf = downtime_config(root);
    let mut agent = start_agent(root, &conf, 0);
    let mut total = write_some(&mut old, "live", 50);
    caught_up(root, total);
    std::thread::sleep(Duration::from_millis(500));
    agent.kill9();
    // Down: a new pod writes and is rotated and gzipped twice; the old one writes on.
    let mut new = vec![Container::new(
        &pods,
        "default",
        "batch-1",
        "job",
        Format::Json,
    )];
    new[0].limits(1 << 40, 100);
    for k in 0..3 {
        total += write_some(&mut new, &format!("down{k}"), 60);
        new[0].rotate();
    }
    new[0].compress_rotated();
    total += write_some(&mut old, "down", 30);
    // Killed while it reads the copies (or before it made them), then started again.
    let mut early = start_agent(root, &conf, 1);
    std::thread::sleep(Duration::from_millis(fastrand::u64(50..400)));
    early.kill9();
    let mut agent = start_agent(root, &conf, 2);
    let wants: Vec<_> = old
        .iter()
        .chain(&new)
        .flat_map(|c| c.wants.clone())
        .collect();
    assert_eq!(wants.len(), total);
    let got = settled(root, wants.len(), &agent);
    let unseen = unseen_in(&early) + unseen_in(&agent);
    let n = assert_each_once(&got, &wants);
    agent.terminate();
    eprintln!("{n} messages, {unseen} .gz files of a pod made during the downtime read, 0 lost, 0 duplicated");
    assert!(
        got.iter()
            .any(|g| g.headers["log.file.path"].contains("batch-1")
                && g.headers["log.file.path"].ends_with(".log.20240101-000001")),
        "the pod's first rotated file is read from its .gz, named as kubelet rotated it"
    );
    assert!(unseen >= 2, "the new pod's .gz files were read: {unseen}");
}

/// Rewrites the entry of inode `from` to `to` in a JSON array of objects with an `inode`
/// (the position, fingerprint and origin files); whether one was there.
fn move_inode(path: &std::path::Path, from: u64, to: u64) -> bool {
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let mut moved = false;
    for e in v.as_array_mut().unwrap() {
        if e["inode"].as_u64() == Some(from) {
            e["inode"] = to.into();
            moved = true;
        }
    }
    std::fs::write(path, serde_json::to_vec(&v).unwrap()).unwrap();
    moved
}

/// A copy of a file never seen, left by a run killed after it placed it, that took the inode
/// of a saved file gone meanwhile (another pod's live file, rotated and gzipped: its inode
/// freed): the copy is read under its own name from its start, and the other file's rest
/// from its `.gz` under that file's name, every line once. The inode reuse is made
/// deterministic by moving the gone file's saved position, fingerprint and origin to the
/// copy's inode, as the file system did once in a gate (a line of one pod was sent under
/// the other's name).
#[test]
fn a_copy_that_took_the_inode_of_a_gone_file_is_read_under_its_own_name_only() {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let pods = root.join("pods");
    std::fs::create_dir_all(&pods).unwrap();
    let mut a = Container::new(&pods, "default", "web-1", "web", Format::Cri);
    let mut b = Container::new(&pods, "default", "web-2", "proxy", Format::Json);
    a.limits(1 << 40, 100);
    b.limits(1 << 40, 100);
    let conf = downtime_config(root);
    let mut agent = start_agent(root, &conf, 0);
    let mut total = write_some(std::slice::from_mut(&mut a), "live", 50);
    total += write_some(std::slice::from_mut(&mut b), "live", 50);
    caught_up(root, total);
    std::thread::sleep(Duration::from_millis(500));
    agent.kill9();
    let state = root.join("state");
    let positions = state.join("positions.json");
    let b_live = b.live_file();
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&positions).unwrap()).unwrap();
    let b_inode = saved
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["file"].as_str() == Some(&*b_live.to_string_lossy()))
        .and_then(|e| e["inode"].as_u64())
        .expect("B's live file saved");
    // Down: B's saved file is rotated, written on and gzipped (gone from its inode); A's is
    // rotated, then two files after it are made and rotated, all but the newest gzipped.
    total += write_some(std::slice::from_mut(&mut b), "down", 30);
    b.rotate();
    total += write_some(std::slice::from_mut(&mut b), "after", 30);
    b.rotate();
    b.compress_rotated();
    total += rotate_while_down(std::slice::from_mut(&mut a), 0);
    // The copy an earlier run placed for A's second rotated file (never seen by name).
    let gz = a.dir.join("0.log.20240101-000002.gz");
    let gz_ino = std::fs::metadata(&gz).unwrap().ino();
    let copies = state.join(".taildir-copies/positions.json");
    std::fs::create_dir_all(&copies).unwrap();
    let copy = copies.join(format!("gz-{gz_ino}"));
    let mut plain = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(&gz).unwrap()),
        &mut plain,
    )
    .unwrap();
    std::fs::write(&copy, &plain).unwrap();
    let note = serde_json::json!({
        "file": a.dir.join("0.log.20240101-000002").to_string_lossy(),
        "origin": "00000000000000ab",
    });
    std::fs::write(
        copies.join(format!("gz-{gz_ino}.name")),
        serde_json::to_vec(&note).unwrap(),
    )
    .unwrap();
    let copy_ino = std::fs::metadata(&copy).unwrap().ino();
    // B's saved file "was" at the copy's inode.
    assert!(move_inode(&positions, b_inode, copy_ino));
    for side in ["positions.json.fingerprints", "positions.json.origins"] {
        move_inode(&state.join(side), b_inode, copy_ino);
    }
    let wants: Vec<_> = a.wants.iter().chain(&b.wants).cloned().collect();
    assert_eq!(wants.len(), total);
    let mut agent = start_agent(root, &conf, 1);
    let got = settled(root, wants.len(), &agent);
    let n = assert_each_once(&got, &wants);
    agent.terminate();
    eprintln!("{n} messages, each once under its own file's name");
}
