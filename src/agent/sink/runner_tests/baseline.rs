//! The baseline cursor ([`Sink::baseline`]) on a real file channel: committed before the
//! sink's first take when the channel holds no cursor, tried again while it fails (nothing
//! taken meanwhile), and not asked for when the channel holds one (the sink restores it) or
//! keeps none (a memory channel).

use std::sync::{Arc, Mutex};

use super::*;
use crate::agent::future::BoxFuture;
use crate::agent::sink::SinkError;

/// What the test sink saw: the channel's cursor at each delivery, the baselines asked for,
/// the cursor it was restored to.
#[derive(Debug, Default)]
struct Seen {
    cursor_at_delivery: Vec<Option<Vec<u8>>>,
    baselines: usize,
    restored: Option<Vec<u8>>,
    delivered: usize,
}

/// A sink with a cursor: `after-N` after N events; its baseline fails `fail_first` times.
#[derive(Debug)]
struct CursorSink {
    channel: Arc<dyn AgentChannel>,
    seen: Arc<Mutex<Seen>>,
    fail_first: usize,
    /// Each cursor padded to this many bytes (0: not).
    pad: usize,
}

impl Sink for CursorSink {
    fn baseline(&mut self) -> BoxFuture<'_, Result<Option<Vec<u8>>, SinkError>> {
        let mut seen = self.seen.lock().unwrap();
        seen.baselines += 1;
        let r = if seen.baselines <= self.fail_first {
            Err(SinkError::disk("k", "the output is not ready"))
        } else {
            Ok(Some(b"base".to_vec()))
        };
        Box::pin(std::future::ready(r))
    }

    fn restore(&mut self, cursor: Vec<u8>) -> BoxFuture<'_, Result<bool, SinkError>> {
        // A cursor of another output ("elsewhere") is not this sink's.
        let ours = cursor != b"elsewhere";
        self.seen.lock().unwrap().restored = Some(cursor);
        Box::pin(std::future::ready(Ok(ours)))
    }

    fn deliver(&mut self, events: Vec<Event>) -> BoxFuture<'_, Result<Delivery, SinkError>> {
        let mut seen = self.seen.lock().unwrap();
        seen.cursor_at_delivery.push(self.channel.cursor("k"));
        seen.delivered += events.len();
        Box::pin(std::future::ready(Ok(Delivery::Done)))
    }

    fn cursor(&mut self) -> Option<Vec<u8>> {
        let c = format!("after-{}", self.seen.lock().unwrap().delivered);
        Some(format!("{c:<width$}", width = self.pad).into_bytes())
    }
}

async fn file_channel(dir: &std::path::Path, n: usize) -> Arc<dyn AgentChannel> {
    let ch = crate::agent::channel::file::open_for_test(dir).await;
    let mut tx = ch.begin();
    tx.put_all(events(n)).await.unwrap();
    tx.commit().await.unwrap();
    ch
}

/// A [`CursorSink`] named `k` on `ch`, and what it sees.
fn cursor_unit(
    ch: &Arc<dyn AgentChannel>,
    fail_first: usize,
    pad: usize,
) -> (BTreeMap<String, SinkUnit>, Arc<Mutex<Seen>>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let sink = CursorSink {
        channel: ch.clone(),
        seen: seen.clone(),
        fail_first,
        pad,
    };
    let unit = SinkUnit::new(
        Box::new(sink),
        ch.clone(),
        BATCH,
        CounterGroup::sink(),
        crate::agent::sink::poison::PoisonHandler::new("k", None),
    );
    (BTreeMap::from([("k".to_owned(), unit)]), seen)
}

/// Runs a [`CursorSink`] named `k` until it has delivered `n` events.
async fn run_sink(ch: &Arc<dyn AgentChannel>, fail_first: usize, n: usize) -> Arc<Mutex<Seen>> {
    run_padded(ch, fail_first, n, 0).await
}

/// [`run_sink`] with each cursor padded to `pad` bytes.
async fn run_padded(
    ch: &Arc<dyn AgentChannel>,
    fail_first: usize,
    n: usize,
    pad: usize,
) -> Arc<Mutex<Seen>> {
    let (units, seen) = cursor_unit(ch, fail_first, pad);
    let s = seen.clone();
    run_until(units, SinkPolicy::Default("k".into()), move || {
        s.lock().unwrap().delivered >= n
    })
    .await;
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_baseline_is_committed_before_the_first_take_of_a_channel_without_a_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let ch = file_channel(dir.path(), 10).await;
    assert_eq!(ch.cursor("k"), None);
    let seen = run_sink(&ch, 0, 10).await;
    let seen = seen.lock().unwrap();
    assert_eq!(seen.baselines, 1);
    assert_eq!(seen.restored, None);
    assert_eq!(
        seen.cursor_at_delivery.first(),
        Some(&Some(b"base".to_vec())),
        "the first batch was delivered before the baseline was committed"
    );
    assert_eq!(seen.delivered, 10);
    // Every take committed its own cursor after the baseline.
    assert_eq!(ch.cursor("k"), Some(b"after-10".to_vec()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_baseline_takes_nothing_and_is_tried_again() {
    let dir = tempfile::tempdir().unwrap();
    let ch = file_channel(dir.path(), 6).await;
    let seen = run_sink(&ch, 2, 6).await;
    let seen = seen.lock().unwrap();
    assert_eq!(seen.baselines, 3, "two failures, then the baseline");
    assert_eq!(
        seen.cursor_at_delivery.first(),
        Some(&Some(b"base".to_vec()))
    );
    assert_eq!(
        seen.delivered, 6,
        "every event once, none while the baseline failed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_holding_a_cursor_restores_it_and_asks_no_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let ch = file_channel(dir.path(), 4).await;
    let mut tx = ch.begin();
    assert!(tx.set_cursor("k", b"committed".to_vec()));
    tx.commit().await.unwrap();
    let seen = run_sink(&ch, 0, 4).await;
    let seen = seen.lock().unwrap();
    assert_eq!(seen.baselines, 0);
    assert_eq!(seen.restored, Some(b"committed".to_vec()));
    assert_eq!(
        seen.cursor_at_delivery.first(),
        Some(&Some(b"committed".to_vec()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_that_keeps_no_cursors_asks_no_baseline() {
    let ch: Arc<dyn AgentChannel> = memory_channel(events(4)).await;
    let seen = run_sink(&ch, 0, 4).await;
    let seen = seen.lock().unwrap();
    assert_eq!((seen.baselines, seen.delivered), (0, 4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_channel_asks_no_baseline_until_its_first_event() {
    let dir = tempfile::tempdir().unwrap();
    let ch = file_channel(dir.path(), 0).await;
    let (units, seen) = cursor_unit(&ch, 0, 0);
    let (h, stop) = crate::agent::stop::channel();
    let task = tokio::spawn(run(
        "r".into(),
        units,
        SinkPolicy::Default("k".into()),
        stop,
    ));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        seen.lock().unwrap().baselines,
        0,
        "asked while the channel was empty"
    );
    let mut tx = ch.begin();
    tx.put_all(events(3)).await.unwrap();
    tx.commit().await.unwrap();
    for _ in 0..500 {
        if seen.lock().unwrap().delivered >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    h.stop();
    tokio::time::timeout(std::time::Duration::from_secs(10), task)
        .await
        .expect("the runner stops")
        .unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!((seen.baselines, seen.delivered), (1, 3));
    assert_eq!(
        seen.cursor_at_delivery.first(),
        Some(&Some(b"base".to_vec()))
    );
}

/// A cursor the channel refuses (past its 4 KiB) must not leave the older one in place: a
/// restart would cut the output back to it, removing what the takes since committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cursor_the_channel_refuses_forgets_the_older_one_instead_of_keeping_it() {
    let dir = tempfile::tempdir().unwrap();
    let ch = file_channel(dir.path(), 4).await;
    let mut tx = ch.begin();
    assert!(tx.set_cursor("k", b"committed".to_vec()));
    tx.commit().await.unwrap();
    let seen = run_padded(&ch, 0, 4, 5000).await;
    assert_eq!(seen.lock().unwrap().delivered, 4);
    assert_eq!(ch.cursor("k"), None, "the older cursor was kept");
}

/// A cursor of another output (the sink's directory changed) asks for a baseline before the
/// first take, as no cursor does: else a crash before the first commit leaves the takes in
/// flight written twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cursor_of_another_output_is_replaced_by_a_baseline_before_the_first_take() {
    let dir = tempfile::tempdir().unwrap();
    let ch = file_channel(dir.path(), 4).await;
    let mut tx = ch.begin();
    assert!(tx.set_cursor("k", b"elsewhere".to_vec()));
    tx.commit().await.unwrap();
    let seen = run_sink(&ch, 0, 4).await;
    let seen = seen.lock().unwrap();
    assert_eq!(seen.restored, Some(b"elsewhere".to_vec()));
    assert_eq!(seen.baselines, 1);
    assert_eq!(
        seen.cursor_at_delivery.first(),
        Some(&Some(b"base".to_vec()))
    );
}
