//! A fill-percentage alarm on the real binary: a netcat source fills a memory channel that no
//! sink drains; the alarm is raised once (after `for`), shown at `GET /alarms` and POSTed to
//! a local webhook; a reload adds a sink that drains the channel and the alarm clears once.
//! Two more notifiers answer 500 and never answer: they are retried and given up, and events
//! keep moving all along.

use crate::support::alarm_support;

use std::path::Path;
use std::time::Duration;

use alarm_support::*;

fn conf(root: &Path, nc: u16, hooks: &[&Webhook; 3], with_sink: bool) -> String {
    let mut c = format!(
        "a1.sources = r1\na1.channels = c1\n\
         a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\n\
         a1.sources.r1.port = {nc}\na1.sources.r1.channels = c1\n\
         a1.channels.c1.type = memory\na1.channels.c1.capacity = 100\n\
         a1.channels.c1.transactionCapacity = 100\n\
         a1.alarms = fill\n\
         a1.alarms.fill.metric = CHANNEL.c1.ChannelFillPercentage\n\
         a1.alarms.fill.above = 80\na1.alarms.fill.for = 2s\na1.alarms.fill.clearBelow = 60\n\
         a1.alarms.fill.severity = error\n\
         a1.notifiers = good bad hang\n\
         a1.notifiers.good.type = webhook\na1.notifiers.good.url = {}\n\
         a1.notifiers.bad.type = webhook\na1.notifiers.bad.url = {}\n\
         a1.notifiers.bad.retries = 2\na1.notifiers.bad.backoff = 100ms\n\
         a1.notifiers.hang.type = webhook\na1.notifiers.hang.url = {}\n\
         a1.notifiers.hang.timeout = 1s\na1.notifiers.hang.retries = 1\n\
         a1.notifiers.hang.backoff = 100ms\n",
        hooks[0].url(),
        hooks[1].url(),
        hooks[2].url()
    );
    if with_sink {
        c.push_str(&format!(
            "a1.sinks = k1\na1.sinks.k1.type = file_roll\na1.sinks.k1.channel = c1\n\
             a1.sinks.k1.sink.directory = {}\na1.sinks.k1.sink.rollInterval = 0\n",
            root.join("out").display()
        ));
    }
    c
}

fn states(bodies: &[serde_json::Value]) -> Vec<String> {
    bodies
        .iter()
        .map(|b| {
            format!(
                "{}:{}",
                b["name"].as_str().unwrap_or("?"),
                b["state"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

#[test]
fn a_fill_alarm_is_raised_and_cleared_once_while_events_keep_moving() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join("out")).unwrap();
    let good = Webhook::start(Answer::Ok);
    let bad = Webhook::start(Answer::Fail);
    let hang = Webhook::start(Answer::Hang);
    let hooks = [&good, &bad, &hang];
    let (nc, http_port) = (free_port(), free_port());
    let agent = Agent::start_reloading(root, "a1", &conf(root, nc, &hooks, false), http_port);

    // 90 events in a channel of 100 that nothing drains: 90 % > 80 %.
    let first = lines("a", 0..90);
    let end = std::time::Instant::now() + WAIT;
    while netcat_send(nc, &first[..1]) == 0 {
        assert!(
            std::time::Instant::now() < end,
            "netcat source never answered"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(netcat_send(nc, &first[1..]), 89);
    let active = agent.wait_alarms("the fill alarm", |a| !a.is_empty());
    assert_eq!(active.len(), 1, "{active:?}");
    let a = &active[0];
    assert_eq!(a["name"], "fill");
    assert_eq!(a["metric"], "CHANNEL.c1.ChannelFillPercentage");
    assert_eq!(a["value"], 90.0);
    assert_eq!(a["threshold"], 80.0);
    assert_eq!(a["severity"], "error");
    assert!(
        a["raisedAt"].as_str().is_some_and(|s| s.ends_with('Z')),
        "{a}"
    );
    assert!(a["message"].as_str().is_some_and(|m| !m.is_empty()), "{a}");
    let raised = good.wait("the raised notice", |b| !b.is_empty());
    assert_eq!(states(&raised), ["fill:raised"]);
    assert_eq!(raised[0]["agent"], "a1");
    assert!(raised[0]["clearedAt"].is_null(), "{:?}", raised[0]);

    // A sink appears (reload) and drains the channel: the alarm clears, once.
    agent.rewrite(&conf(root, nc, &hooks, true));
    wait_written(&root.join("out"), &first, &agent);
    agent.wait_alarms("the clear", |a| a.is_empty());
    let both = good.wait("the cleared notice", |b| b.len() >= 2);
    assert_eq!(states(&both), ["fill:raised", "fill:cleared"]);
    assert!(both[1]["clearedAt"].as_str().is_some(), "{:?}", both[1]);
    assert_eq!(both[1]["value"], 0.0);

    // Events keep moving while the failing and hanging notifiers retry.
    let more = lines("b", 0..50);
    assert_eq!(netcat_send(nc, &more), 50);
    wait_written(&root.join("out"), &more, &agent);
    // The 500 server is asked 1 + 2 retries times per notice; the hanging one 1 + 1 times.
    bad.wait("every retry of the failing notifier", |b| b.len() >= 6);
    hang.wait("the hanging notifier's retries", |b| b.len() >= 2);
    // Nothing flapped: still one raise and one clear.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(states(&good.bodies()), ["fill:raised", "fill:cleared"]);
    let m = agent.metrics();
    assert_eq!(m["ALARMS.notifiers"]["AlarmsRaised"], "1", "{m}");
    assert_eq!(m["ALARMS.notifiers"]["AlarmsCleared"], "1", "{m}");
    assert!(
        agent.log_text().contains("alarm raised"),
        "{}",
        agent.log_text()
    );
}
