//! Alarm configuration follows a reload (in process, on the runtime): a rule added by a reload
//! raises its alarm, a changed rule clears it, an unchanged rule keeps its state across a
//! reload of something else, and the shipped example configuration loads without a problem.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice::agent::metrics::Registry;
use sluice::agent::runtime::Agent;
use sluice::agent::topology::{load, AgentConfig};

const BASE: &str = "\
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = seq
a1.sources.r1.totalEvents = 10
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 100
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
";

fn cfg(text: &str) -> AgentConfig {
    let l = load(text, "a1", &[]);
    l.config.unwrap_or_else(|| panic!("{:?}", l.problems))
}

fn rule(above: u64) -> String {
    format!(
        "a1.alarms = cap\na1.alarms.cap.metric = CHANNEL.c1.ChannelCapacity\n\
         a1.alarms.cap.above = {above}\na1.notifiers = log\na1.notifiers.log.type = log\n"
    )
}

async fn wait_until(what: &str, f: impl Fn() -> bool) {
    let end = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_adds_changes_and_keeps_alarm_rules() {
    let reg = Arc::new(Registry::default());
    let mut agent = Agent::start(cfg(BASE), reg.clone()).await.unwrap();
    let board = agent.alarm_board();
    assert!(
        reg.get("ALARMS.notifiers").is_none(),
        "no alarms: Flume's types only"
    );

    // Added by a reload: capacity 100 > 10 raises at the next sample.
    agent
        .apply(cfg(&format!("{BASE}{}", rule(10))))
        .await
        .unwrap();
    wait_until("the alarm", || board.is_active("cap")).await;
    let raised_at = board.active()[0].raised_at_ms;
    let counters = reg.get("ALARMS.notifiers").expect("alarm counters shown");

    // A reload of something else keeps it raised, without a second raise.
    let other = BASE.replace("totalEvents = 10", "totalEvents = 20");
    agent
        .apply(cfg(&format!("{other}{}", rule(10))))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(board.is_active("cap"));
    assert_eq!(board.active()[0].raised_at_ms, raised_at);
    assert_eq!(counters.get("AlarmsRaised"), 1);

    // A changed rule (100 is not above 1000) clears it and does not raise it again.
    agent
        .apply(cfg(&format!("{other}{}", rule(1000))))
        .await
        .unwrap();
    wait_until("the clear", || !board.is_active("cap")).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(board.active().is_empty(), "{:?}", board.active());
    assert_eq!(counters.get("AlarmsCleared"), 1);
    assert_eq!(counters.get("AlarmsRaised"), 1);
    agent.shutdown().await;
}

#[test]
fn the_alarm_example_loads_without_a_problem() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/alarms.properties");
    let text = std::fs::read_to_string(path).unwrap();
    let l = load(&text, "collector", &[]);
    assert!(l.problems.is_empty(), "{:?}", l.problems);
    let c = l.config.unwrap();
    assert_eq!(c.alarms.rules.len(), 3);
    assert_eq!(c.alarms.notifiers.len(), 2);
}
