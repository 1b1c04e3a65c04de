//! TAILDIR's deleted-file limits on a real agent whose channel is full (its sink cannot
//! deliver), so the source holds a deleted log file open: `maxDeletedOpenBytes` and
//! `closeDeletedAfter` close it, the disk space comes back (a small tmpfs, when this process
//! may mount one), the agent holds no descriptor to it, and the skipped bytes are counted and
//! logged once naming the file.

use crate::support::dead_port;
use crate::support::status_support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use status_support::{start_agent, HttpAgent};

const FILE_BYTES: u64 = 16 << 20;

/// A tmpfs mounted for the test (unmounted on drop), or a plain directory when mounting is
/// not allowed here.
struct Disk {
    path: PathBuf,
    mounted: bool,
    _tmp: tempfile::TempDir,
}

impl Disk {
    fn new() -> Disk {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("disk");
        std::fs::create_dir(&path).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=48m", "tmpfs"])
            .arg(&path)
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            eprintln!("no tmpfs could be mounted; checking descriptors and counters only");
        }
        Disk {
            path,
            mounted,
            _tmp: tmp,
        }
    }

    /// Bytes in use on the tmpfs.
    fn used(&self) -> u64 {
        let c = std::ffi::CString::new(self.path.as_os_str().as_encoded_bytes()).unwrap();
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::statvfs(c.as_ptr(), &mut st) }, 0);
        (st.f_blocks - st.f_bfree) * st.f_frsize
    }
}

impl Drop for Disk {
    fn drop(&mut self) {
        if self.mounted {
            let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        }
    }
}

/// The agent's descriptors that point at `path` (deleted or not).
fn fds_to(pid: u32, path: &Path) -> usize {
    let want = path.to_string_lossy().into_owned();
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|rd| {
            rd.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .filter(|l| l.to_string_lossy().starts_with(&want))
                .count()
        })
        .unwrap_or(0)
}

fn conf(root: &Path, logs: &Path, limit: &str, dead: u16) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = TAILDIR\na1.sources.r1.channels = c1\n\
         a1.sources.r1.positionFile = {r}/taildir_position.json\n\
         a1.sources.r1.filegroups = f1\na1.sources.r1.filegroups.f1 = {l}/app\\\\.log\n\
         a1.sources.r1.maxBackoffSleep = 200\na1.sources.r1.backoffSleepIncrement = 50\n\
         a1.sources.r1.{limit}\n\
         a1.channels.c1.type = memory\na1.channels.c1.capacity = 200\n\
         a1.channels.c1.transactionCapacity = 100\n\
         a1.sinks.k1.type = avro\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.hostname = 127.0.0.1\na1.sinks.k1.port = {dead}\n",
        r = root.display(),
        l = logs.display(),
    )
}

fn gauge(agent: &HttpAgent, key: &str) -> u64 {
    agent.json()["SOURCE.r1"][key]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Fills the channel from a 16 MiB log, deletes the log, and checks that `limit` closed it.
fn a_deleted_file_is_closed_by(limit: &str, name: &str) {
    let disk = Disk::new();
    let root = tempfile::tempdir().unwrap();
    let logs = disk.path.join("logs");
    std::fs::create_dir(&logs).unwrap();
    let app = logs.join("app.log");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&app).unwrap());
    let line = format!("{}\n", "x".repeat(99));
    for _ in 0..FILE_BYTES / 100 {
        f.write_all(line.as_bytes()).unwrap();
    }
    drop(f);
    let size = std::fs::metadata(&app).unwrap().len();
    let dead = dead_port::dead_port();
    let agent = start_agent(root.path(), &conf(root.path(), &logs, limit, dead.port));
    let pid = agent.pid();
    agent.wait_until("the channel to refuse a batch", || {
        // Absent until the source is registered: only a count above 0 says it.
        agent.json()["SOURCE.r1"]["ChannelWriteFail"]
            .as_str()
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|n| n > 0)
    });
    assert_eq!(fds_to(pid, &app), 1, "the source follows the log");
    std::fs::remove_file(&app).unwrap();
    if disk.mounted {
        assert!(disk.used() >= size, "the open file keeps its space");
    }
    agent.wait_until("the deleted file to be closed", || fds_to(pid, &app) == 0);
    if disk.mounted {
        // The kernel frees the pages once the last reference to the open file is gone, which
        // can be a moment after the descriptor left the table (a read in flight holds one).
        agent.wait_until("the deleted file's space to be freed", || {
            disk.used() < 1 << 20
        });
    }
    // The gauges are stored just after the descriptor is closed.
    agent.wait_until("the gauges to show the close", || {
        gauge(&agent, "DeletedFilesClosedCount") == 1 && gauge(&agent, "DeletedOpenBytes") == 0
    });
    assert_eq!(gauge(&agent, "DeletedFilesClosedCount"), 1);
    let skipped = gauge(&agent, "DeletedBytesSkippedCount");
    assert!(
        skipped > size - (1 << 20) && skipped <= size,
        "{skipped} of {size} bytes skipped"
    );
    assert_eq!(gauge(&agent, "DeletedOpenBytes"), 0);
    let log = agent.log_text();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("file given up before it was read to its end"))
        .collect();
    assert_eq!(warnings.len(), 1, "logged once: {warnings:#?}");
    assert!(
        warnings[0].contains("app.log") && warnings[0].contains(name),
        "{}",
        warnings[0]
    );
}

#[test]
fn max_deleted_open_bytes_closes_a_deleted_file_held_by_a_full_channel() {
    a_deleted_file_is_closed_by("maxDeletedOpenBytes = 1048576", "maxDeletedOpenBytes");
}

#[test]
fn close_deleted_after_closes_a_deleted_file_held_by_a_full_channel() {
    a_deleted_file_is_closed_by("closeDeletedAfter = 1s", "closeDeletedAfter");
}
