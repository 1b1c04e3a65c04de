//! An idle sink runner is woken by the next committed put instead of sleeping out its idle
//! backoff. Virtual time (`start_paused`), so the test waits for no clock: without the wake-up
//! the event would reach the sink only when the backoff (by then a second) ends.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::agent::channel::instrumented::Instrumented;
use crate::agent::channel::memory::{MemoryChannel, MemoryConfig};
use crate::agent::sink::scripted::ScriptedSink;
use sluice_core::Event;

#[tokio::test(start_paused = true)]
async fn a_put_wakes_a_sink_runner_parked_on_an_empty_channel_at_once() {
    let ch: Arc<dyn AgentChannel> = Arc::new(Instrumented::new(Arc::new(MemoryChannel::new(
        "c1",
        MemoryConfig::sized(100, 10, Duration::from_secs(1)),
    ))));
    let sink = ScriptedSink::default();
    let unit = SinkUnit::new(
        Box::new(sink.clone()),
        ch.clone(),
        10,
        CounterGroup::sink(),
        crate::agent::sink::poison::PoisonHandler::new("k", None),
    );
    let (h, stop) = crate::agent::stop::channel();
    let task = tokio::spawn(run(
        "r".into(),
        BTreeMap::from([("k1".to_owned(), unit)]),
        SinkPolicy::Default("k1".into()),
        stop,
    ));
    // Idle long enough for the backoff to reach its longest (100 ms more per empty round).
    tokio::time::sleep(Duration::from_secs(20)).await;
    let mut tx = ch.begin();
    tx.put_all(vec![Event::new("late")]).await.unwrap();
    tx.commit().await.unwrap();
    // A few virtual milliseconds: far less than the backoff the runner is in.
    for _ in 0..50 {
        if !sink.delivered().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(
        sink.delivered()
            .iter()
            .map(|e| e.body.clone())
            .collect::<Vec<_>>(),
        vec![b"late".to_vec()],
        "the runner slept through the put"
    );
    h.stop();
    task.await.unwrap();
}
