//! The agent's channels (memory and file behind one async interface) and the channel
//! processor's routing: required channels fail the batch, optional ones never do.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use sluice::agent::channel::file::FileChannelAdapter;
use sluice::agent::channel::memory::MemoryChannel;
use sluice::agent::channel::memory::MemoryConfig;
use sluice::agent::channel::{put_batch, AgentChannel, AgentChannelError};
use sluice::agent::router::ChannelProcessor;
use sluice::agent::topology::load;
use sluice_core::{Event, FileChannelConfig};

fn mem(capacity: u64, tx: u64, byte_capacity: Option<u64>) -> MemoryChannel {
    MemoryChannel::new(
        "m",
        MemoryConfig {
            capacity,
            transaction_capacity: tx,
            keep_alive: Duration::ZERO,
            byte_capacity,
            byte_capacity_buffer_percentage: 0,
            drain_timeout: Duration::ZERO,
        },
    )
}

fn events(prefix: &str, n: usize) -> Vec<Event> {
    (0..n).map(|i| Event::new(format!("{prefix}{i}"))).collect()
}

fn bodies(v: &[Event]) -> Vec<String> {
    v.iter()
        .map(|e| String::from_utf8_lossy(&e.body).into_owned())
        .collect()
}

async fn take_all(ch: &dyn AgentChannel, max: usize) -> Vec<Event> {
    let mut tx = ch.begin();
    let got = tx.take_up_to(max).await.unwrap();
    tx.commit().await.unwrap();
    got
}

#[tokio::test]
async fn memory_channel_rollback_puts_taken_events_back_at_the_head_in_order() {
    let ch = mem(100, 100, None);
    put_batch(&ch, events("e", 5)).await.unwrap();
    let mut tx = ch.begin();
    let first = tx.take_up_to(3).await.unwrap();
    assert_eq!(bodies(&first), ["e0", "e1", "e2"]);
    tx.rollback().await;
    let all = take_all(&ch, 10).await;
    assert_eq!(bodies(&all), ["e0", "e1", "e2", "e3", "e4"]);
    assert_eq!(ch.counters().get("EventTakeSuccessCount"), 5);
    assert_eq!(ch.counters().get("EventPutSuccessCount"), 5);
}

#[tokio::test]
async fn a_memory_channel_says_what_it_holds_and_counts_it_lost_once_at_its_close() {
    let ch = mem(100, 100, None);
    put_batch(&ch, events("e", 5)).await.unwrap();
    let mut tx = ch.begin();
    assert_eq!(tx.take_up_to(2).await.unwrap().len(), 2);
    // Queued and taken by an open transaction: both would be lost now.
    assert_eq!(ch.volatile().map(|v| v.held), Some(5));
    drop(tx);
    ch.close().await.unwrap();
    ch.close().await.unwrap();
    assert_eq!(ch.counters().get("EventsLostAtStopCount"), 5);
    let file = tempfile::tempdir().unwrap();
    let cfg = FileChannelConfig::with_dirs(file.path().join("ck"), vec![file.path().join("d")]);
    let durable = FileChannelAdapter::open("f", cfg).await.unwrap();
    assert_eq!(durable.volatile(), None, "a file channel is never drained");
}

#[tokio::test]
async fn memory_channel_refuses_puts_beyond_capacity_and_keeps_its_events() {
    let ch = mem(4, 4, None);
    put_batch(&ch, events("a", 3)).await.unwrap();
    let err = put_batch(&ch, events("b", 2)).await.unwrap_err();
    assert!(
        matches!(err, AgentChannelError::Full { capacity: 4, .. }),
        "{err}"
    );
    // Taken-but-uncommitted events still count against capacity.
    let mut tx = ch.begin();
    assert_eq!(tx.take_up_to(3).await.unwrap().len(), 3);
    assert!(put_batch(&ch, events("c", 2)).await.is_err());
    tx.commit().await.unwrap();
    put_batch(&ch, events("d", 4)).await.unwrap();
    assert_eq!(ch.len(), 4);
}

#[tokio::test]
async fn memory_channel_enforces_transaction_and_byte_capacity() {
    let ch = mem(100, 3, None);
    let err = put_batch(&ch, events("x", 4)).await.unwrap_err();
    assert!(matches!(
        err,
        AgentChannelError::TransactionFull { capacity: 3, .. }
    ));
    assert!(ch.is_empty());
    let ch = mem(100, 100, Some(10));
    put_batch(&ch, vec![Event::new(vec![0u8; 8])])
        .await
        .unwrap();
    let err = put_batch(&ch, vec![Event::new(vec![0u8; 3])])
        .await
        .unwrap_err();
    assert!(matches!(err, AgentChannelError::Full { .. }), "{err}");
    take_all(&ch, 1).await;
    put_batch(&ch, vec![Event::new(vec![0u8; 3])])
        .await
        .unwrap();
}

#[tokio::test]
async fn file_channel_adapter_commits_durably_and_rolls_back_takes() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = FileChannelConfig {
        minimum_required_space_bytes: 1 << 20,
        ..FileChannelConfig::with_dirs(tmp.path().join("ck"), vec![tmp.path().join("d")])
    };
    let ch = FileChannelAdapter::open("f", cfg.clone()).await.unwrap();
    put_batch(&ch, events("p", 4)).await.unwrap();
    let mut tx = ch.begin();
    assert_eq!(tx.take_up_to(2).await.unwrap().len(), 2);
    tx.rollback().await;
    let mut tx = ch.begin();
    assert_eq!(bodies(&tx.take_up_to(1).await.unwrap()), ["p0"]);
    tx.commit().await.unwrap();
    ch.close().await.unwrap();
    let ch = FileChannelAdapter::open("f", cfg).await.unwrap();
    assert_eq!(bodies(&take_all(&ch, 10).await), ["p1", "p2", "p3"]);
    ch.close().await.unwrap();
}

const ROUTED: &str = "\
a1.sources = r1
a1.channels = req opt
a1.sinks = k1
a1.sources.r1.type = seq
a1.sources.r1.channels = req opt
a1.sources.r1.selector.optional = opt
a1.sources.r1.interceptors = i1
a1.sources.r1.interceptors.i1.type = static
a1.sources.r1.interceptors.i1.key = dc
a1.sources.r1.interceptors.i1.value = east
a1.channels.req.type = memory
a1.channels.opt.type = memory
a1.sinks.k1.type = null
a1.sinks.k1.channel = req
";

fn processor(req: &MemoryChannel, opt: &MemoryChannel) -> ChannelProcessor {
    let cfg = load(ROUTED, "a1", &[]).config.unwrap();
    let mut chans: BTreeMap<String, Arc<dyn AgentChannel>> = BTreeMap::new();
    chans.insert("req".into(), Arc::new(req.clone()));
    chans.insert("opt".into(), Arc::new(opt.clone()));
    ChannelProcessor::new(&cfg.sources["r1"], &chans).unwrap()
}

#[tokio::test]
async fn a_full_optional_channel_does_not_fail_the_batch() {
    let (req, opt) = (mem(100, 100, None), mem(1, 1, None));
    let p = processor(&req, &opt);
    p.process(events("o", 5)).await.unwrap();
    let got = take_all(&req, 10).await;
    assert_eq!(got.len(), 5);
    assert_eq!(got[0].headers.get("dc"), Some("east"));
    assert!(opt.len() <= 1);
}

#[tokio::test]
async fn a_full_required_channel_fails_the_batch() {
    let (req, opt) = (mem(2, 2, None), mem(100, 100, None));
    let p = processor(&req, &opt);
    let err = p.process(events("r", 5)).await.unwrap_err();
    assert_eq!(err.channel(), Some("req"));
    assert!(req.is_empty(), "the failed transaction was rolled back");
}

#[tokio::test]
async fn a_replicating_selector_gives_every_channel_the_whole_batch_in_order() {
    let text = "\
a1.sources = r1
a1.channels = a b o
a1.sinks = k1
a1.sources.r1.type = seq
a1.sources.r1.channels = a b o
a1.sources.r1.selector.optional = o
a1.channels.a.type = memory
a1.channels.b.type = memory
a1.channels.o.type = memory
a1.sinks.k1.type = null
a1.sinks.k1.channel = a
";
    let cfg = load(text, "a1", &[]).config.unwrap();
    let (a, b, o) = (
        mem(100, 100, None),
        mem(100, 100, None),
        mem(100, 100, None),
    );
    let mut chans: BTreeMap<String, Arc<dyn AgentChannel>> = BTreeMap::new();
    chans.insert("a".into(), Arc::new(a.clone()));
    chans.insert("b".into(), Arc::new(b.clone()));
    chans.insert("o".into(), Arc::new(o.clone()));
    let p = ChannelProcessor::new(&cfg.sources["r1"], &chans).unwrap();
    p.process(Vec::new()).await.unwrap();
    assert!(a.is_empty() && b.is_empty(), "an empty batch puts nothing");
    p.process(events("e", 3)).await.unwrap();
    let want = ["e0", "e1", "e2"];
    assert_eq!(bodies(&take_all(&a, 10).await), want);
    assert_eq!(bodies(&take_all(&b, 10).await), want);
    // The optional channel is written by a detached task.
    let mut got = Vec::new();
    for _ in 0..200 {
        got.extend(take_all(&o, 10).await);
        if got.len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(bodies(&got), want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_blocking_put_runs_on_the_calling_thread_as_process_would() {
    // One file channel behind an interceptor: intercepted, put and committed on the blocking
    // thread itself (the avro source's path for a large call).
    let tmp = tempfile::tempdir().unwrap();
    let cfg = FileChannelConfig {
        minimum_required_space_bytes: 1 << 20,
        ..FileChannelConfig::with_dirs(tmp.path().join("ck"), vec![tmp.path().join("d")])
    };
    let file: Arc<dyn AgentChannel> = Arc::new(FileChannelAdapter::open("f", cfg).await.unwrap());
    let text = "\
a1.sources = r1
a1.channels = f
a1.sinks = k1
a1.sources.r1.type = seq
a1.sources.r1.channels = f
a1.sources.r1.interceptors = i1
a1.sources.r1.interceptors.i1.type = static
a1.sources.r1.interceptors.i1.key = dc
a1.sources.r1.interceptors.i1.value = east
a1.channels.f.type = file
a1.sinks.k1.type = null
a1.sinks.k1.channel = f
";
    let cfg = load(text, "a1", &[]).config.unwrap();
    let chans = BTreeMap::from([("f".to_owned(), file.clone())]);
    let p = Arc::new(ChannelProcessor::new(&cfg.sources["r1"], &chans).unwrap());
    let q = p
        .blocking()
        .expect("one file channel: a source puts from its decode thread");
    tokio::task::spawn_blocking(move || q.process(events("b", 3)))
        .await
        .unwrap()
        .unwrap();
    let got = take_all(file.as_ref(), 10).await;
    assert_eq!(bodies(&got), ["b0", "b1", "b2"]);
    assert!(got.iter().all(|e| &e.headers["dc"] == "east"));
    file.close().await.unwrap();

    // A required and an optional memory channel: no blocking put is handed out; the general
    // path runs as an async task.
    let (req, opt) = (mem(100, 100, None), mem(100, 100, None));
    let p = Arc::new(processor(&req, &opt));
    assert!(
        p.blocking().is_none(),
        "memory channels: the put stays an async task"
    );
    p.process(events("m", 2)).await.unwrap();
    assert_eq!(bodies(&take_all(&req, 10).await), ["m0", "m1"]);
    // A full required channel fails the batch on this path too.
    let (req, opt) = (mem(1, 100, None), mem(100, 100, None));
    let p = Arc::new(processor(&req, &opt));
    let err = p.process(events("r", 5)).await.unwrap_err();
    assert_eq!(err.channel(), Some("req"));
    assert!(req.is_empty());
}

/// Ten events whose 100-byte bodies are slices of one received frame (as an RPC source
/// decodes them); the first has header `kind=a`, the others `kind=b`.
fn framed_events() -> (sluice_core::Bytes, Vec<Event>) {
    let frame = sluice_core::Bytes::from(vec![b'x'; 1000]);
    let events = (0..10)
        .map(|i| {
            let kind = if i == 0 { "a" } else { "b" };
            Event::new(frame.slice(i * 100..(i + 1) * 100)).header("kind", kind)
        })
        .collect();
    (frame, events)
}

/// Whether `e`'s body lies within `frame`'s bytes.
fn borrows(e: &Event, frame: &[u8]) -> bool {
    let at = e.body.as_ptr() as usize;
    let base = frame.as_ptr() as usize;
    at >= base && at < base + frame.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_getting_a_small_part_of_a_frame_gets_bodies_of_their_own() {
    // Multiplexing: one event of ten to `few`, nine to `many`.
    let text = "\
a1.sources = r1
a1.channels = few many
a1.sinks = k1
a1.sources.r1.type = seq
a1.sources.r1.channels = few many
a1.sources.r1.selector.type = multiplexing
a1.sources.r1.selector.header = kind
a1.sources.r1.selector.mapping.a = few
a1.sources.r1.selector.mapping.b = many
a1.channels.few.type = memory
a1.channels.many.type = memory
a1.sinks.k1.type = null
a1.sinks.k1.channel = many
";
    let cfg = load(text, "a1", &[]).config.unwrap();
    let (few, many) = (mem(100, 100, None), mem(100, 100, None));
    let chans = BTreeMap::from([
        (
            "few".to_owned(),
            Arc::new(few.clone()) as Arc<dyn AgentChannel>,
        ),
        (
            "many".to_owned(),
            Arc::new(many.clone()) as Arc<dyn AgentChannel>,
        ),
    ]);
    let p = ChannelProcessor::new(&cfg.sources["r1"], &chans).unwrap();
    let (frame, batch) = framed_events();
    p.process(batch).await.unwrap();
    let got_few = take_all(&few, 10).await;
    let got_many = take_all(&many, 10).await;
    assert_eq!((got_few.len(), got_many.len()), (1, 9));
    assert!(
        !borrows(&got_few[0], &frame),
        "a copy: the frame is not kept"
    );
    assert_eq!(got_few[0].body, &frame[..100]);
    assert!(
        got_many.iter().all(|e| borrows(e, &frame)),
        "most of the frame: shared"
    );

    a_filter_keeping_a_tenth_of_a_frame_copies_it().await;
}

/// A filter interceptor dropping nine of ten on the single-channel path: the one kept is a
/// copy.
async fn a_filter_keeping_a_tenth_of_a_frame_copies_it() {
    let text = "\
a1.sources = r1
a1.channels = c
a1.sinks = k1
a1.sources.r1.type = seq
a1.sources.r1.channels = c
a1.sources.r1.interceptors = f
a1.sources.r1.interceptors.f.type = regex_filter
a1.sources.r1.interceptors.f.regex = ^x+$
a1.sources.r1.interceptors.f.excludeEvents = true
a1.channels.c.type = memory
a1.sinks.k1.type = null
a1.sinks.k1.channel = c
";
    let cfg = load(text, "a1", &[]).config.unwrap();
    let c = mem(100, 100, None);
    let chans = BTreeMap::from([("c".to_owned(), Arc::new(c.clone()) as Arc<dyn AgentChannel>)]);
    let p = Arc::new(ChannelProcessor::new(&cfg.sources["r1"], &chans).unwrap());
    // Only the first body ("k" then x's) survives the filter: a tenth of the frame.
    let mut bytes = vec![b'x'; 1000];
    bytes[0] = b'k';
    let frame = sluice_core::Bytes::from(bytes);
    let batch: Vec<Event> = (0..10)
        .map(|i| Event::new(frame.slice(i * 100..(i + 1) * 100)))
        .collect();
    p.process(batch).await.unwrap();
    let got = take_all(&c, 10).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, &frame[..100]);
    assert!(!borrows(&got[0], &frame), "a copy: the frame is not kept");
}
