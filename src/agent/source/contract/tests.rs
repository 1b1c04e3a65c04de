//! Tests of the put helpers: a refused batch handed back whole, retried until committed once,
//! and intercepted once per attempt (and the wiring the group-commit tests share).

use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::agent::backoff::Backoff;
use crate::agent::channel::instrumented::Instrumented;
use crate::agent::channel::memory::{MemoryChannel, MemoryConfig};
use crate::agent::channel::{put_batch, AgentChannel};
use crate::agent::component::props_of;
use crate::agent::interceptor::config::InterceptorSpec;
use crate::agent::metrics::SourceCounter;
use crate::agent::router::Wiring;
use crate::agent::selector::ChannelSelector;
use sluice_core::Event;

/// A source wired to channel `c1` alone, with the given interceptors.
pub(super) struct OneChannel(Vec<InterceptorSpec>, Vec<String>, ChannelSelector);

impl Wiring for OneChannel {
    fn interceptors(&self) -> &[InterceptorSpec] {
        &self.0
    }
    fn selector(&self) -> &ChannelSelector {
        &self.2
    }
    fn channels(&self) -> &[String] {
        &self.1
    }
}

/// Source `r1` putting through `router`, with its counters and its stop handle.
pub(super) fn ctx_for(
    router: Arc<ChannelProcessor>,
) -> (SourceCtx, Arc<CounterGroup>, crate::agent::stop::StopHandle) {
    let (handle, stop) = crate::agent::stop::channel();
    let counters = CounterGroup::source();
    let ctx = SourceCtx {
        name: "r1".into(),
        router,
        counters: counters.clone(),
        stop,
        alarms: Arc::default(),
        ready: crate::agent::source::ready::Ready::detached(),
    };
    (ctx, counters, handle)
}

pub(super) fn wiring(interceptors: Vec<InterceptorSpec>) -> OneChannel {
    let channels = vec!["c1".to_owned()];
    let selector = ChannelSelector::from_props(&BTreeMap::new(), &channels).unwrap();
    OneChannel(interceptors, channels, selector)
}

/// A memory channel of capacity 2 already holding two events: every put is refused at once.
async fn full_channel() -> Arc<dyn AgentChannel> {
    let cfg = MemoryConfig::sized(2, 10, Duration::ZERO);
    let ch: Arc<dyn AgentChannel> =
        Arc::new(Instrumented::new(Arc::new(MemoryChannel::new("c1", cfg))));
    put_batch(ch.as_ref(), old()).await.unwrap();
    ch
}

fn old() -> Vec<Event> {
    vec![Event::new("old 1"), Event::new("old 2")]
}

fn batch() -> Vec<Event> {
    vec![Event::new("a").header("h", "1"), Event::new("b")]
}

async fn take_all(ch: &dyn AgentChannel) -> Vec<Event> {
    let mut tx = ch.begin();
    let got = tx.take_up_to(100).await.unwrap();
    tx.commit().await.unwrap();
    got
}

#[tokio::test]
async fn a_full_channel_hands_the_refused_batch_back_whole() {
    let ch = full_channel().await;
    let chans = BTreeMap::from([("c1".to_owned(), ch.clone())]);
    let router = ChannelProcessor::new(&wiring(Vec::new()), &chans).unwrap();
    let rejected = router.put(batch()).await.unwrap_err();
    assert!(
        matches!(
            rejected.error.channel_error(),
            Some(crate::agent::channel::AgentChannelError::Full { .. })
        ),
        "{:?}",
        rejected.error
    );
    assert_eq!(rejected.events, batch());
    assert_eq!(take_all(ch.as_ref()).await, old());
}

/// Retries `batch()` into a full channel, drains it once the source has been refused, and
/// answers what the channel then holds and what the source counted.
async fn retried_into_a_full_channel(
    interceptors: Vec<InterceptorSpec>,
) -> (bool, Vec<Event>, u64) {
    let ch = full_channel().await;
    let chans = BTreeMap::from([("c1".to_owned(), ch.clone())]);
    let router = Arc::new(ChannelProcessor::new(&wiring(interceptors), &chans).unwrap());
    let (mut ctx, counters, _stop_handle) = ctx_for(router);
    let backoff = Backoff::linear(Duration::from_millis(20), Duration::from_millis(20));
    let put = tokio::spawn(async move { ctx.put_with_backoff(batch(), backoff).await });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while counters.count(SourceCounter::ChannelWriteFail) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "never refused");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(take_all(ch.as_ref()).await, old());
    let committed = tokio::time::timeout(Duration::from_secs(10), put)
        .await
        .expect("the refused batch was never committed")
        .unwrap();
    let accepted = counters.count(SourceCounter::EventAccepted);
    (committed, take_all(ch.as_ref()).await, accepted)
}

#[tokio::test]
async fn a_refused_batch_is_retried_until_committed_once_and_unchanged() {
    let (committed, held, accepted) = retried_into_a_full_channel(Vec::new()).await;
    assert!(committed);
    assert_eq!(held, batch());
    assert_eq!(accepted, 2);
}

#[tokio::test]
async fn with_interceptors_the_source_keeps_its_own_copy_and_each_attempt_is_intercepted_once() {
    let spec = InterceptorSpec {
        name: "i1".into(),
        kind: "static".into(),
        props: props_of(&[("type", "static"), ("key", "k"), ("value", "v")]),
    };
    let (committed, held, accepted) = retried_into_a_full_channel(vec![spec]).await;
    assert!(committed);
    let want: Vec<Event> = batch().into_iter().map(|e| e.header("k", "v")).collect();
    assert_eq!(held, want);
    assert_eq!(accepted, 2);
}

#[tokio::test]
async fn with_interceptors_the_router_hands_back_the_batch_as_the_source_gave_it() {
    let spec = InterceptorSpec {
        name: "i1".into(),
        kind: "static".into(),
        props: props_of(&[("type", "static"), ("key", "k"), ("value", "v")]),
    };
    let ch = full_channel().await;
    let chans = BTreeMap::from([("c1".to_owned(), ch.clone())]);
    let router = ChannelProcessor::new(&wiring(vec![spec]), &chans).unwrap();
    let rejected = router.put(batch()).await.unwrap_err();
    assert!(rejected.error.is_full(), "{:?}", rejected.error);
    assert!(!rejected.lost());
    assert_eq!(
        rejected.events,
        batch(),
        "not intercepted: the retry is intercepted afresh"
    );
    assert_eq!(take_all(ch.as_ref()).await, old());
}
