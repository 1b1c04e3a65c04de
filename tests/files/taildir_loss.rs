//! TAILDIR's loss at the source alarmed and kept (issue 81, items 1 and 2), on real agents
//! whose collector is down: a file given up over `spoolBytes` raises `r1.linesLost`, makes
//! `/health` say `degraded` naming the source and its count, and the count is the same after
//! a `kill -9` and a restart (not reset, not counted twice); a file deleted while the agent is
//! down (spool off) is counted at the next start from its saved position to its saved size.

use std::path::Path;

use crate::support::agent_proc::counter;
use crate::support::ports::free_port;
use crate::support::rotating_log::RotatingLog;
use crate::support::status_support::{get, start_agent, HttpAgent};
use crate::taildir_outage::{edge_conf, line, write_lines};

/// Lines written to `app.log` before the edge starts.
const TOTAL: usize = 2_000;

/// Bytes of one line with its newline.
fn line_bytes() -> u64 {
    line(0).len() as u64 + 1
}

/// Starts the edge (collector down) on a log of [`TOTAL`] lines and waits until its channel
/// refuses a batch.
fn edge_refusing(r: &Path, extra: &str) -> HttpAgent {
    std::fs::create_dir_all(r.join("logs")).unwrap();
    let mut log = RotatingLog::open(&r.join("logs"));
    write_lines(&mut log, 0, TOTAL);
    let edge = start_agent(r, &edge_conf(r, free_port(), extra));
    edge.wait_until("the channel to refuse a batch", || {
        counter(edge.http, "SOURCE.r1", "ChannelWriteFail") > 0
    });
    edge
}

/// `GET path` of the edge's metrics server: status and body.
fn fetch(edge: &HttpAgent, path: &str) -> (u16, String) {
    let a = get(edge.http, path, None).unwrap_or_else(|| panic!("GET {path}: no answer"));
    (a.status, a.body)
}

/// `/health` names the source and its loss; the collector being down, the full channel and
/// the sink are problems too (503, both lists; without them it is 200 `degraded`: the unit
/// tests of `runtime::health`).
fn health_names_the_loss(edge: &HttpAgent, lost: u64) {
    let (status, body) = fetch(edge, "/health");
    assert_eq!(status, 503, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "unhealthy", "{body}");
    assert_eq!(v["problems"][0]["component"], "CHANNEL.c1", "{body}");
    assert_eq!(v["degraded"][0]["component"], "SOURCE.r1", "{body}");
    let reason = v["degraded"][0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains(&format!("gave up {lost} lines")), "{body}");
}

#[test]
fn a_loss_raises_the_alarm_degrades_health_and_its_count_survives_a_kill_9() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let mut edge = edge_refusing(r, "a1.sources.r1.spoolBytes = 4096\n");
    std::fs::remove_file(r.join("logs/app.log")).unwrap();
    edge.wait_until("the file to be given up", || {
        counter(edge.http, "SOURCE.r1", "LinesLostUnreadCount") > 0
    });
    let lost = counter(edge.http, "SOURCE.r1", "LinesLostUnreadCount");
    let bytes = counter(edge.http, "SOURCE.r1", "BytesLostUnreadCount");
    assert_eq!(bytes, lost * line_bytes());
    health_names_the_loss(&edge, lost);
    edge.wait_until("the linesLost alarm", || {
        fetch(&edge, "/alarms").1.contains("r1.linesLost")
    });
    let (_, alarms) = fetch(&edge, "/alarms");
    assert!(
        alarms.contains(&format!("gave up {lost} lines")),
        "{alarms}"
    );

    edge.kill9();
    edge.restart();
    edge.wait_until("the source to start again", || {
        counter(edge.http, "SOURCE.r1", "LinesLostUnreadCount") > 0
    });
    assert_eq!(
        counter(edge.http, "SOURCE.r1", "LinesLostUnreadCount"),
        lost,
        "the count after a kill -9 and a restart (reset, or counted twice?); log:\n{}",
        edge.log_text()
    );
    assert_eq!(
        counter(edge.http, "SOURCE.r1", "BytesLostUnreadCount"),
        bytes
    );
    edge.stop();
}

/// The saved position of the one entry of the position file, once there is one.
fn saved_pos(r: &Path) -> Option<u64> {
    let text = std::fs::read(r.join("pos/taildir_position.json")).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&text).ok()?;
    v[0]["pos"].as_u64().filter(|p| *p > 0)
}

/// Whether the loss file holds a saved size.
fn size_saved(r: &Path) -> bool {
    std::fs::read(r.join("pos/taildir_position.json.loss"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .is_some_and(|v| v["sizes"].as_object().is_some_and(|m| !m.is_empty()))
}

#[test]
fn a_file_deleted_while_the_agent_is_down_is_counted_at_the_next_start() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let mut edge = edge_refusing(r, "a1.sources.r1.spoolBytes = 0\n");
    edge.wait_until("a durable position write with the file's size", || {
        size_saved(r) && saved_pos(r).is_some()
    });
    edge.kill9();
    let pos = saved_pos(r).unwrap_or_default();
    assert!(pos > 0 && pos % line_bytes() == 0, "pos {pos}");
    let unread = TOTAL as u64 - pos / line_bytes();
    std::fs::remove_file(r.join("logs/app.log")).unwrap();
    edge.restart();
    edge.wait_until("the gone file to be counted", || {
        counter(edge.http, "SOURCE.r1", "LinesLostUnreadCount") > 0
    });
    assert_eq!(
        counter(edge.http, "SOURCE.r1", "BytesLostUnreadCount"),
        unread * line_bytes()
    );
    assert_eq!(
        counter(edge.http, "SOURCE.r1", "LinesLostUnreadCount"),
        unread,
        "estimated at the mean line length read (every line is as long)"
    );
    let log = edge.log_text();
    let warn = log
        .lines()
        .find(|l| l.contains("file gone while the source was stopped"))
        .unwrap_or_else(|| panic!("no WARN; log:\n{log}"));
    assert!(
        warn.contains("app.log") && warn.contains(&format!("lines_lost={unread}")),
        "{warn}"
    );
    health_names_the_loss(&edge, unread);
    edge.stop();
}
