//! A line of 100 MB with no newline (a container that wrote a blob to stdout without one, in
//! neither runtime format) with the default `maxLineBytes` (1 MiB): all of it but its last
//! 8 MiB (the most the reader holds back waiting for a newline) goes out at once, the rest
//! when its newline comes, every byte once, in order, in events of at most 1 MiB, each
//! marked; the line after it once and whole; and the agent's peak RSS (`VmHWM`) stays below
//! [`HUGE_RSS_MAX_MIB`], below the line's size and not growing with it: the source never
//! holds it whole. (Into a memory channel of 16 MB: a file channel fed 100 MB at once holds
//! some of it in memory on its own account.) The agent runs with `MIMALLOC_PURGE_DELAY=0`, so
//! that its RSS is what it holds rather than what mimalloc keeps of the 1 MiB buffers freed in
//! the last 10 ms (its default delay): with the default the peak measured 77-101 MiB from run to
//! run, with the delay off 64-65 MiB (docs/performance.md, "Memory").

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::many_pods::peak_rss_kib;
use crate::output::{config, written};
use crate::support::agent_proc::Proc;
use crate::support::file_sources_support::WAIT;

/// The line's size.
const HUGE_BYTES: usize = 100_000_000;
/// `maxLineBytes`' default.
const MAX_LINE: usize = 1 << 20;
/// The most of a line without its newline the reader holds back, waiting for the newline
/// (TAILDIR's `TAILDIR_LINE_BYTES_MAX`): what comes before it goes out at once.
const HELD_BYTES_MAX: usize = 8 << 20;
/// The agent's peak RSS allowed while it reads the line (the line is 95.4 MiB; measured with
/// the allocator's purge delay off: 64-65 MiB).
const HUGE_RSS_MAX_MIB: u64 = 80;

/// The line's byte at `i`.
fn byte(i: usize) -> u8 {
    b'a' + (i % 26) as u8
}

/// Bytes file_roll wrote under `root/out`.
fn out_bytes(root: &Path) -> u64 {
    std::fs::read_dir(root.join("out")).map_or(0, |rd| {
        rd.flatten()
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum()
    })
}

/// Whether the last 64 KiB file_roll wrote hold `needle`.
fn tail_holds(root: &Path, needle: &str) -> bool {
    let Ok(rd) = std::fs::read_dir(root.join("out")) else {
        return false;
    };
    rd.flatten().any(|e| {
        let mut f = std::fs::File::open(e.path()).unwrap();
        let len = f.metadata().unwrap().len();
        f.seek(SeekFrom::Start(len.saturating_sub(64 << 10)))
            .unwrap();
        let mut tail = Vec::new();
        f.read_to_end(&mut tail).unwrap();
        String::from_utf8_lossy(&tail).contains(needle)
    })
}

/// Waits (bounded) until `f` holds.
fn wait(what: &str, agent: &Proc, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(180);
    while !f() {
        assert!(
            Instant::now() < end,
            "not within 180 s: {what}; log:\n{}",
            agent.log_tail(20_000)
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Writes the 100 MB line, without its newline, into `dir/0.log`; the file is left open.
fn write_huge_line(dir: &Path) -> std::fs::File {
    std::fs::create_dir_all(dir).unwrap();
    let mut f = std::fs::File::create(dir.join("0.log")).unwrap();
    let chunk: Vec<u8> = (0..26 * 40_000).map(byte).collect();
    let mut n = 0;
    while n < HUGE_BYTES {
        let k = chunk.len().min(HUGE_BYTES - n);
        f.write_all(&chunk[..k]).unwrap();
        n += k;
    }
    f
}

/// The agent's configuration with a memory channel: the source's memory, not the channel's.
/// A memory channel of at most 16 MB (a file channel that takes the line's events faster than
/// file_roll writes them holds far more, in its own buffers), file_roll taking 4 events a
/// batch (a sink's batch is counted in events: 200 events of 1 MiB are 200 MiB).
fn memory_channel_config(root: &Path) -> String {
    let text = config(root, &[]).replace("sink.batchSize = 200", "sink.batchSize = 4");
    let channel: String = text
        .lines()
        .filter(|l| !l.starts_with("a1.channels.c1."))
        .map(|l| format!("{l}\n"))
        .collect();
    channel
        + "a1.channels.c1.type = memory\na1.channels.c1.capacity = 100000\n\
           a1.channels.c1.transactionCapacity = 1000\na1.channels.c1.byteCapacity = 16000000\n"
}

#[test]
fn a_100_mb_line_without_a_newline_goes_out_whole_in_marked_parts_in_bounded_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let mut f = write_huge_line(&root.join("pods/default_blob-1_uid-blob/app"));
    let conf = root.join("agent.properties");
    std::fs::write(&conf, memory_channel_config(root)).unwrap();
    let mut agent = Proc::builder(root)
        .conf_file(&conf)
        .log("agent-0.log")
        .arg("--no-reload-conf")
        .env("MIMALLOC_PURGE_DELAY", "0")
        .wait(WAIT)
        .spawn();
    // Without its newline, all but the reader's longest held line goes out.
    wait("the line handed out but its last 8 MiB", &agent, || {
        out_bytes(root) >= (HUGE_BYTES - HELD_BYTES_MAX) as u64
    });
    let rss_mib = peak_rss_kib(agent.pid()) / 1024;
    // Its newline comes, and a line after it.
    f.write_all(b"\n2024-01-02T03:04:05.000000001Z stdout F after the huge line\n")
        .unwrap();
    wait("the line after it", &agent, || {
        tail_holds(root, "after the huge line")
    });
    std::thread::sleep(Duration::from_millis(500));
    agent.terminate();
    let got = written(root);
    let parts: Vec<_> = got
        .iter()
        .filter(|g| g.body != "after the huge line")
        .collect();
    assert!(
        parts
            .iter()
            .all(|p| p.body.len() <= MAX_LINE && p.headers.contains_key("log.cut")),
        "a part over {MAX_LINE} bytes, or not marked"
    );
    let total: usize = parts.iter().map(|p| p.body.len()).sum();
    assert_eq!(total, HUGE_BYTES, "every byte of the line, once");
    let mut i = 0;
    for p in &parts {
        assert!(
            p.body.bytes().enumerate().all(|(k, b)| b == byte(i + k)),
            "the parts in order"
        );
        i += p.body.len();
    }
    let after: Vec<_> = got
        .iter()
        .filter(|g| g.body == "after the huge line")
        .collect();
    assert_eq!(after.len(), 1);
    assert_eq!(
        after[0].headers.get("k8s.pod.name").map(String::as_str),
        Some("blob-1")
    );
    eprintln!(
        "100 MB line: {} parts of at most 1 MiB, peak RSS {rss_mib} MiB",
        parts.len()
    );
    assert!(
        rss_mib <= HUGE_RSS_MAX_MIB,
        "peak RSS {rss_mib} MiB reading a 100 MB line, over {HUGE_RSS_MAX_MIB} MiB"
    );
}
