//! The `SpoolBytes` gauge (issue 87, item 14): a TAILDIR edge whose channel refuses keeps a
//! deleted `app.log` only by its spool link, and `/metrics` shows the file's bytes in
//! `SpoolBytes` against `SpoolBytesLimit` (its `spoolBytes`, written `1m`), where nothing
//! showed the spool against its budget before. While the file's own name lives, its link
//! costs nothing and the gauge is 0.

use crate::support::agent_proc::counter;
use crate::support::rotating_log::RotatingLog;
use crate::support::status_support::start_agent;

use super::taildir_outage::{edge_conf, spool_links, write_lines};

#[test]
fn spool_bytes_shows_a_deleted_file_kept_by_the_spool_against_its_limit() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    std::fs::create_dir_all(r.join("logs")).unwrap();
    let mut log = RotatingLog::open(&r.join("logs"));
    write_lines(&mut log, 0, 2_000);
    let app = r.join("logs/app.log");
    let size = std::fs::metadata(&app).unwrap().len();
    // The collector is never started: the channel (100 events) refuses a batch.
    let port = crate::support::ports::free_port();
    let edge = start_agent(r, &edge_conf(r, port, "a1.sources.r1.spoolBytes = 1m\n"));
    edge.wait_until("the channel to refuse a batch", || {
        counter(edge.http, "SOURCE.r1", "ChannelWriteFail") > 0 && spool_links(r) == 1
    });
    edge.wait_until("SpoolBytesLimit to show spoolBytes", || {
        counter(edge.http, "SOURCE.r1", "SpoolBytesLimit") == 1 << 20
    });
    assert_eq!(
        counter(edge.http, "SOURCE.r1", "SpoolBytes"),
        0,
        "a link costs nothing while the file's own name lives"
    );
    std::fs::remove_file(&app).unwrap();
    edge.wait_until("SpoolBytes to show the deleted file", || {
        counter(edge.http, "SOURCE.r1", "SpoolBytes") == size
    });
    assert_eq!(counter(edge.http, "SOURCE.r1", "LinesLostUnreadCount"), 0);
    assert_eq!(counter(edge.http, "SOURCE.r1", "SpoolBytesLimit"), 1 << 20);
}
