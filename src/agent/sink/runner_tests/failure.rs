//! The runner when a delivery or a take commit fails, or a sink asks to back off: only the
//! failed batch rolls back and comes again, a failed commit returns its batch, "commit but
//! back off" commits then pauses, and each failure is treated by its kind.

use super::super::batch::{on_failure, OnFailure};
use super::*;
use crate::agent::sink::SinkError;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_delivery_rolls_back_only_its_batch_which_comes_again_next() {
    let sent = events(20);
    let mem = memory_channel(sent.clone()).await;
    let sink = ScriptedSink {
        fail: BTreeSet::from([2]),
        ..Default::default()
    };
    let (u, counters) = unit(&sink, mem.clone());
    let units = BTreeMap::from([("k1".to_owned(), u)]);
    let (m, c) = (mem.clone(), counters.clone());
    run_until(units, SinkPolicy::Default("k1".into()), move || {
        m.is_empty() && c.get("EventDrainSuccessCount") == 20
    })
    .await;
    let calls = sink.calls.lock().clone();
    assert!(!calls[2].ok);
    assert_eq!(
        calls[3].events, calls[2].events,
        "the failed batch is the next one delivered"
    );
    // Batch 1 was delivered but not committed when batch 2 failed: it still committed, so
    // nothing is delivered twice.
    assert_eq!(sink.delivered(), sent);
    assert_eq!(counters.get("EventWriteFail"), 1);
    assert_eq!(counters.get("EventDrainSuccessCount"), 20);
    assert_eq!(counters.get("EventDrainAttemptCount"), 24);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_take_commit_returns_its_batch_which_is_delivered_again() {
    let sent = events(20);
    let mem = memory_channel(sent.clone()).await;
    let ch = Arc::new(FailingCommits {
        inner: mem.clone(),
        fail: Arc::new(BTreeSet::from([1])),
        takes: Arc::default(),
    });
    let sink = ScriptedSink::default();
    let (u, counters) = unit(&sink, ch);
    let units = BTreeMap::from([("k1".to_owned(), u)]);
    let (m, c) = (mem.clone(), counters.clone());
    run_until(units, SinkPolicy::Default("k1".into()), move || {
        m.is_empty() && c.get("EventDrainSuccessCount") == 20
    })
    .await;
    let delivered = sink.delivered();
    // Every event at least once, the first time in order; exactly batch 1 twice.
    let mut firsts = Vec::new();
    let mut seen = BTreeMap::<Vec<u8>, usize>::new();
    for e in &delivered {
        let n = seen.entry(e.body.to_vec()).or_default();
        if *n == 0 {
            firsts.push(e.clone());
        }
        *n += 1;
    }
    assert_eq!(firsts, sent);
    let twice: Vec<Event> = sent
        .iter()
        .filter(|e| seen[&e.body[..]] == 2)
        .cloned()
        .collect();
    assert_eq!(twice, sent[BATCH..2 * BATCH].to_vec());
    assert_eq!(delivered.len(), 20 + BATCH);
    assert!(mem.is_empty());
    assert_eq!(counters.get("ChannelReadFail"), 1);
    assert_eq!(counters.get("EventDrainSuccessCount"), 20);
    // The batch taken while batch 1's commit failed still committed: only batch 1 came twice.
    assert_eq!(seen[&sent[2 * BATCH].body[..]], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_but_back_off_commits_the_batch_then_pauses_the_runner() {
    let sent = events(8);
    let mem = memory_channel(sent.clone()).await;
    let sink = ScriptedSink {
        back_off: BTreeSet::from([0]),
        ..Default::default()
    };
    let (u, counters) = unit(&sink, mem.clone());
    let units = BTreeMap::from([("k1".to_owned(), u)]);
    let (m, c) = (mem.clone(), counters.clone());
    run_until(units, SinkPolicy::Default("k1".into()), move || {
        m.is_empty() && c.get("EventDrainSuccessCount") == 8
    })
    .await;
    let calls = sink.calls.lock().clone();
    assert_eq!(
        sink.delivered(),
        sent,
        "the backed-off batch was committed, not sent again"
    );
    assert_eq!(calls.len(), 2);
    assert!(
        calls[1].at.duration_since(calls[0].at) >= FAIL_BACKOFF_STEP,
        "the runner backed off before the next batch"
    );
    assert_eq!(counters.get("EventWriteFail"), 0);
}

#[test]
fn the_runner_treats_a_failure_by_its_kind() {
    let e = SinkError::connect("k1", "connection refused");
    assert_eq!(on_failure(&e), OnFailure::Retry);
    let e = SinkError::config("k1", "the truststore cannot be read");
    assert_eq!(on_failure(&e), OnFailure::NeedsChange);
    let e = SinkError::stopped("k1", "stopping: no answer within 2000 ms");
    assert_eq!(on_failure(&e), OnFailure::Stopping);
}

/// Bytes the dead letter of [`all_poison`] may hold (8 events' lines take about 600).
const DEAD_LETTER_MAX: usize = 4096;

/// A sink whose every event is poison, its dead letter `dir` bounded at [`DEAD_LETTER_MAX`].
fn all_poison(
    sent: &[Event],
    mem: Arc<MemoryChannel>,
    dir: &std::path::Path,
) -> (ScriptedSink, SinkUnit, Arc<CounterGroup>) {
    let sink = ScriptedSink {
        poison: sent.iter().map(|e| e.body.to_vec()).collect(),
        ..Default::default()
    };
    let (mut u, counters) = unit(&sink, mem);
    u.poison = PoisonHandler::with(
        "k1",
        crate::agent::sink::poison::DeadLetter::Write {
            dir: dir.to_owned(),
            max_bytes: DEAD_LETTER_MAX as u64,
        },
    );
    (sink, u, counters)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_dead_letter_rolls_its_batch_back_and_commits_nothing_until_there_is_room() {
    let sent = events(8);
    let mem = memory_channel(sent.clone()).await;
    let d = tempfile::tempdir().unwrap();
    let file = d.path().join("k1.deadletter.jsonl");
    std::fs::write(&file, vec![b'x'; DEAD_LETTER_MAX]).unwrap();
    let (_, u, counters) = all_poison(&sent, mem.clone(), d.path());
    let c = counters.clone();
    run_until(
        BTreeMap::from([("k1".to_owned(), u)]),
        SinkPolicy::Default("k1".into()),
        move || c.get("EventWriteFail") >= 2,
    )
    .await;
    assert_eq!(mem.len(), 8, "every event is still in the channel");
    assert_eq!(
        counters.get("EventWriteFail"),
        2,
        "retried after the backoff"
    );
    assert_eq!(counters.get("EventPoisonCount"), 0);
    assert_eq!(counters.get("EventDeadLetterCount"), 0);
    assert_eq!(
        std::fs::read(&file).unwrap().len(),
        DEAD_LETTER_MAX,
        "nothing over the bound"
    );
    // The operator moves the file away: the same events go to a new one.
    std::fs::rename(&file, d.path().join("old")).unwrap();
    let (_, u, counters) = all_poison(&sent, mem.clone(), d.path());
    let (m, c) = (mem.clone(), counters.clone());
    run_until(
        BTreeMap::from([("k1".to_owned(), u)]),
        SinkPolicy::Default("k1".into()),
        move || m.is_empty() && c.get("EventDeadLetterCount") == 8,
    )
    .await;
    assert_eq!(counters.get("EventDeadLetterCount"), 8);
    let kept = std::fs::read_to_string(&file).unwrap();
    assert_eq!(kept.lines().count(), 8, "{kept}");
}
