//! The in-process runtime: applying a changed configuration restarts exactly the components
//! whose configuration (or whose channel) changed, and a failing component is restarted
//! without stopping the rest.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice::agent::metrics::Registry;
use sluice::agent::runtime::Agent;
use sluice::agent::topology::{load, AgentConfig};

const BASE: &str = "\
a1.sources = r1 r2
a1.channels = c1 c2
a1.sinks = k1 k2
a1.sources.r1.type = seq
a1.sources.r1.totalEvents = 100
a1.sources.r1.channels = c1
a1.sources.r2.type = seq
a1.sources.r2.totalEvents = 100
a1.sources.r2.channels = c2
a1.channels.c1.type = memory
a1.channels.c2.type = memory
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
a1.sinks.k2.type = null
a1.sinks.k2.channel = c2
";

fn cfg(text: &str) -> AgentConfig {
    let l = load(text, "a1", &[]);
    l.config.unwrap_or_else(|| panic!("{:?}", l.problems))
}

/// Which registered groups are the same objects as before.
fn same(reg: &Registry, before: &[(&str, Arc<sluice::agent::metrics::CounterGroup>)]) -> Vec<bool> {
    before
        .iter()
        .map(|(k, g)| reg.get(k).is_some_and(|now| Arc::ptr_eq(&now, g)))
        .collect()
}

fn snapshot(reg: &Registry) -> Vec<(&'static str, Arc<sluice::agent::metrics::CounterGroup>)> {
    [
        "SOURCE.r1",
        "SOURCE.r2",
        "CHANNEL.c1",
        "CHANNEL.c2",
        "SINK.k1",
        "SINK.k2",
    ]
    .into_iter()
    .map(|k| (k, reg.get(k).unwrap()))
    .collect()
}

#[tokio::test]
async fn reload_restarts_only_what_changed() {
    let reg = Arc::new(Registry::default());
    let mut agent = Agent::start(cfg(BASE), reg.clone()).await.unwrap();
    let before = snapshot(&reg);
    agent.apply(cfg(BASE)).await.unwrap();
    assert_eq!(
        same(&reg, &before),
        [true; 6],
        "an unchanged file restarts nothing"
    );

    let sink_changed = format!("{BASE}a1.sinks.k2.batchSize = 7\n");
    agent.apply(cfg(&sink_changed)).await.unwrap();
    assert_eq!(same(&reg, &before), [true, true, true, true, true, false]);

    let before = snapshot(&reg);
    let channel_changed = format!("{sink_changed}a1.channels.c1.capacity = 500\n");
    agent.apply(cfg(&channel_changed)).await.unwrap();
    // c1 changed: it, its source r1 and its sink k1 restart; r2, c2, k2 keep running.
    assert_eq!(same(&reg, &before), [false, true, false, true, false, true]);
    agent.shutdown().await;
}

#[tokio::test]
async fn a_failing_source_is_restarted_while_the_rest_keeps_running() {
    let blocker = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = blocker.local_addr().unwrap().port();
    let text = format!(
        "{BASE}a1.sources = r1 r2 r3\na1.sources.r3.type = netcat\n\
         a1.sources.r3.bind = 127.0.0.1\na1.sources.r3.port = {port}\na1.sources.r3.channels = c1\n"
    )
    .replace("a1.sources = r1 r2\n", "");
    let reg = Arc::new(Registry::default());
    let agent = Agent::start(cfg(&text), reg.clone()).await.unwrap();
    // r3 cannot bind while the port is taken; r1 and r2 still deliver everything.
    let end = Instant::now() + Duration::from_secs(20);
    let drained = |k: &str| {
        reg.get(k)
            .map(|g| g.get("EventDrainSuccessCount"))
            .unwrap_or(0)
    };
    while drained("SINK.k1") < 100 || drained("SINK.k2") < 100 {
        assert!(Instant::now() < end, "sinks did not drain the seq sources");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The port is still the blocker's: a new connection lands there, not in r3.
    let _probe = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    blocker.set_nonblocking(true).unwrap();
    let end = Instant::now() + Duration::from_secs(20);
    while blocker.accept().is_err() {
        assert!(Instant::now() < end, "the probe did not reach the blocker");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(blocker);
    let end = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < end,
            "r3 was not restarted after its port was freed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    agent.shutdown().await;
}
