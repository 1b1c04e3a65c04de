//! Progress records are trusted only as far as they are signed (issue 87): a record another
//! client puts on an origin's progress subject, claiming every id stored, drops no later
//! event; it is refused, named in a WARN and counted (`ProgressRecordRefusedCount`).

use std::time::{Duration, Instant};

use crate::edge::*;
use crate::support::agent_proc::counter;
use crate::support::nats_support::{cluster, shared_turn, unique};
use crate::support::ports::free_port;

#[test]
fn a_forged_progress_record_from_another_client_drops_no_later_event() {
    let Some(c) = cluster() else { return };
    let _turn = shared_turn();
    let tmp = tempfile::tempdir().unwrap();
    let s = stream(c, &unique("FORGED"), 120.0);
    let port = free_port();
    let conf = edge_conf(tmp.path(), &c.url(), port, &s, "");
    let agent = start_edge(tmp.path(), &conf, port, &[]);
    let first = two_services(0, 10);
    send(port, &first);
    let got = wait_stored(c, &s, first.len(), &[&agent]);
    let id = got[0].header("Nats-Msg-Id").unwrap();
    let origin = id.split(':').next().unwrap();
    // Another client of the stream (any edge of the scale-out recipe may publish there)
    // claims every id of the origin stored, in the record format of Sluice before issue 87
    // and in the signed one with a made-up MAC.
    let subject = format!("sluice.progress.{s}.{origin}");
    c.py_ok(&["pub", &subject, "sluice-progress 1 0-4000000000"]);
    let later = two_services(10, 250);
    send(port, &later);
    c.py_ok(&[
        "pub",
        &subject,
        "sluice-progress 2 key=00000000 0-4000000000 mac=00",
    ]);
    let last = two_services(260, 250);
    send(port, &last);
    let want = [first, later, last].concat();
    let got = wait_stored(c, &s, want.len(), &[&agent]);
    assert_exactly_once(&got, &want);
    let log = agent.proc.log_text();
    assert!(
        log.contains("WARN") && log.contains("refused the progress record"),
        "{log}"
    );
    assert!(log.contains(&subject), "the WARN names the subject: {log}");
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let refused = counter(agent.http, "SINK.k1", "ProgressRecordRefusedCount");
        let drained = counter(agent.http, "SINK.k1", "EventDrainSuccessCount");
        if refused >= 1 && drained == want.len() as u64 {
            break;
        }
        assert!(
            Instant::now() < end,
            "refused {refused}, drained {drained} of {}",
            want.len()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        counter(agent.http, "SINK.k1", "EventAlreadyStoredCount"),
        0,
        "nothing was dropped as stored"
    );
}
