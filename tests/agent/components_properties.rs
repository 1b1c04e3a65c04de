//! Property tests of the routing invariants over random configurations and event sequences:
//! a selection never names a channel twice or outside the source; a sink order never names a
//! sink twice, and a sink is missing from it only while it is penalised.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use sluice::agent::component::Props;
use sluice::agent::processor::{FailoverPolicy, LoadBalancePolicy};
use sluice::agent::selector::ChannelSelector;
use sluice_core::Event;

const CHANNELS: [&str; 4] = ["c0", "c1", "c2", "c3"];
const VALUES: [&str; 4] = ["a", "b", "c", " "];

fn channel_list() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(CHANNELS.to_vec()), 0..5).prop_map(|v| v.join(" "))
}

/// Random multiplexing (or replicating) selector properties over four channels.
fn selector_props() -> impl Strategy<Value = Props> {
    (
        any::<bool>(),
        prop::collection::vec(
            (prop::sample::select(VALUES[..3].to_vec()), channel_list()),
            0..4,
        ),
        prop::collection::vec(
            (prop::sample::select(VALUES.to_vec()), channel_list()),
            0..4,
        ),
        channel_list(),
    )
        .prop_map(|(multiplexing, mapping, optional, default)| {
            let mut p = Props::new();
            if multiplexing {
                p.insert("type".into(), "multiplexing".into());
                p.insert("header".into(), "h".into());
                for (v, list) in mapping {
                    // An empty mapping is a configuration error; give it one channel.
                    let list = if list.is_empty() {
                        "c0".to_string()
                    } else {
                        list
                    };
                    p.insert(format!("mapping.{v}"), list);
                }
                for (v, list) in optional {
                    p.insert(format!("optional.{v}"), list);
                }
                p.insert("default".into(), default);
            } else {
                p.insert("optional".into(), default);
            }
            p
        })
}

proptest! {
    #[test]
    fn a_selection_never_repeats_a_channel_or_names_one_outside_the_source(
        props in selector_props(),
        header in prop::option::of(prop::sample::select(VALUES.to_vec())),
    ) {
        let channels: Vec<String> = CHANNELS.iter().map(|c| c.to_string()).collect();
        let selector = ChannelSelector::from_props(&props, &channels).unwrap();
        let mut e = Event::new("x");
        if let Some(v) = header {
            e = e.header("h", v);
        }
        let s = selector.select(&e);
        let all: Vec<&String> = s.required.iter().chain(&s.optional).collect();
        let distinct: BTreeSet<&String> = all.iter().copied().collect();
        prop_assert_eq!(distinct.len(), all.len(), "{:?}", s);
        prop_assert!(all.iter().all(|c| channels.contains(c)));
    }

    #[test]
    fn a_failover_order_is_duplicate_free_and_omits_only_penalised_sinks(
        events in prop::collection::vec((0usize..4, any::<bool>(), 0u64..5000), 1..60),
    ) {
        let sinks: Vec<String> = (0..4).map(|i| format!("k{i}")).collect();
        let mut props = Props::new();
        props.insert("maxpenalty".into(), "8000".into());
        let mut policy = FailoverPolicy::from_props(&props, &sinks).unwrap();
        let mut now = Instant::now();
        for (sink, failed, advance_ms) in events {
            now += Duration::from_millis(advance_ms);
            let order = policy.order(now);
            let distinct: BTreeSet<&String> = order.iter().collect();
            prop_assert_eq!(distinct.len(), order.len());
            for s in &sinks {
                if !order.contains(s) {
                    let retry = policy.retry_at(s);
                    prop_assert!(retry.is_some_and(|r| r >= now), "{} missing at {:?}", s, now);
                }
            }
            if failed {
                policy.report_failure(&sinks[sink], now);
                if let Some(r) = policy.retry_at(&sinks[sink]) {
                    prop_assert!(r > now && r <= now + Duration::from_millis(8000));
                }
            } else {
                policy.report_success(&sinks[sink]);
                prop_assert_eq!(policy.retry_at(&sinks[sink]), None);
            }
        }
    }

    #[test]
    fn a_load_balance_order_is_duplicate_free_and_omits_only_backed_off_sinks(
        random in any::<bool>(),
        seed in any::<u64>(),
        events in prop::collection::vec((0usize..3, any::<bool>(), 0u64..5000), 1..60),
    ) {
        let sinks: Vec<String> = (0..3).map(|i| format!("k{i}")).collect();
        let mut props = Props::new();
        props.insert("backoff".into(), "true".into());
        props.insert("selector".into(), if random { "random" } else { "round_robin" }.into());
        let mut policy = LoadBalancePolicy::from_props(&props, &sinks).unwrap().with_seed(seed);
        let mut now = Instant::now();
        for (sink, failed, advance_ms) in events {
            now += Duration::from_millis(advance_ms);
            let order = policy.order(now);
            let distinct: BTreeSet<&String> = order.iter().collect();
            prop_assert_eq!(distinct.len(), order.len());
            for s in &sinks {
                let backing_off = policy.restore_at(s).is_some_and(|r| r >= now);
                prop_assert_eq!(order.contains(s), !backing_off);
            }
            if failed {
                policy.report_failure(&sinks[sink], now);
                let r = policy.restore_at(&sinks[sink]).unwrap();
                prop_assert!(r > now && r <= now + Duration::from_millis(30_000));
            }
        }
    }
}
