//! The routing pieces working together through the public API, as the agent runtime uses them:
//! a source's interceptor chain feeding its channel selector, and a sink group's policy driven
//! by a simulated sink runner with a virtual clock.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use sluice::agent::component::Props;
use sluice::agent::interceptor::Chain;
use sluice::agent::processor::SinkProcessorConfig;
use sluice::agent::selector::ChannelSelector;
use sluice_core::Event;

fn props(pairs: &[(&str, &str)]) -> Props {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// `a1.sources.r1.*` with the prefix stripped, as the config layer hands it over.
fn source_props() -> Props {
    props(&[
        ("type", "netcat"),
        ("channels", "c_err c_all c_audit"),
        ("interceptors", "drop level ts"),
        ("interceptors.drop.type", "regex_filter"),
        ("interceptors.drop.regex", "^DEBUG"),
        ("interceptors.drop.excludeEvents", "true"),
        ("interceptors.level.type", "regex_extractor"),
        ("interceptors.level.regex", r"^(\w+) "),
        ("interceptors.level.serializers", "l"),
        ("interceptors.level.serializers.l.name", "level"),
        ("interceptors.ts.type", "static"),
        ("interceptors.ts.key", "dc"),
        ("interceptors.ts.value", "eu-1"),
        ("selector.type", "multiplexing"),
        ("selector.header", "level"),
        ("selector.mapping.ERROR", "c_err c_all"),
        ("selector.optional.ERROR", "c_all c_audit"),
        ("selector.default", "c_all"),
    ])
}

fn selector_props(source: &Props) -> Props {
    source
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("selector.")
                .map(|r| (r.to_string(), v.clone()))
        })
        .collect()
}

#[test]
fn a_batch_is_intercepted_then_routed_by_an_extracted_header() {
    let source = source_props();
    let channels = strings(&["c_err", "c_all", "c_audit"]);
    let chain = Chain::from_source_props(&source).unwrap();
    let selector = ChannelSelector::from_props(&selector_props(&source), &channels).unwrap();

    let batch = vec![
        Event::new("ERROR disk full"),
        Event::new("DEBUG noise"),
        Event::new("INFO started"),
        Event::new("no level here"),
    ];
    let kept = chain.apply_native(batch).unwrap();
    assert_eq!(kept.len(), 3, "the DEBUG line is dropped");
    assert!(kept.iter().all(|e| e.headers.get("dc") == Some("eu-1")));

    // Group the batch per channel, the way the channel processor builds one transaction per
    // channel: required and optional separately.
    let mut required: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    let mut optional: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    for e in &kept {
        let s = selector.select(e);
        for c in s.required {
            required.entry(c).or_default().push(e.body.to_vec());
        }
        for c in s.optional {
            optional.entry(c).or_default().push(e.body.to_vec());
        }
    }
    let b = |s: &str| s.as_bytes().to_vec();
    assert_eq!(required["c_err"], [b("ERROR disk full")]);
    assert_eq!(
        required["c_all"],
        [b("ERROR disk full"), b("INFO started"), b("no level here")]
    );
    assert!(!required.contains_key("c_audit"));
    // c_all is required for ERROR, so it is not listed again as optional.
    assert_eq!(optional.keys().collect::<Vec<_>>(), ["c_audit"]);
    assert_eq!(optional["c_audit"], [b("ERROR disk full")]);
}

/// A sink that fails while `down` says so at the virtual time.
struct FakeSink {
    name: &'static str,
    down: fn(Duration) -> bool,
    delivered: usize,
}

#[test]
fn a_failover_group_delivers_every_batch_across_an_outage_of_the_primary() {
    let group = props(&[
        ("type", "failover"),
        ("priority.primary", "10"),
        ("priority.backup", "5"),
        ("maxpenalty", "8000"),
    ]);
    let config = SinkProcessorConfig::from_props(&group, &strings(&["primary", "backup"])).unwrap();
    let mut policy = config.policy();
    // The primary is down from 10 s to 40 s of virtual time.
    let mut sinks = [
        FakeSink {
            name: "primary",
            down: |t| t >= Duration::from_secs(10) && t < Duration::from_secs(40),
            delivered: 0,
        },
        FakeSink {
            name: "backup",
            down: |_| false,
            delivered: 0,
        },
    ];
    let start = Instant::now();
    let mut primary_attempts_during_outage = 0;
    // One batch every 500 ms for 60 s.
    for step in 0..120u64 {
        let t = Duration::from_millis(step * 500);
        let now = start + t;
        let mut delivered = false;
        for name in policy.order(now) {
            let sink = sinks.iter_mut().find(|s| s.name == name).unwrap();
            if (sink.down)(t) {
                if name == "primary" {
                    primary_attempts_during_outage += 1;
                }
                policy.report_failure(&name, now);
                continue;
            }
            sink.delivered += 1;
            policy.report_success(&name);
            delivered = true;
            break;
        }
        assert!(delivered, "batch at {t:?} was not delivered");
    }
    // The primary fails at 10 s and is retried once its penalty has passed: at 12.5 s (2 s),
    // 17 s (4 s), 25.5 s (8 s), 34 s (8 s, capped by maxpenalty) and 42.5 s, when it is back.
    assert_eq!(primary_attempts_during_outage, 5);
    // So it takes the 20 batches before the outage and the 35 from 42.5 s on; the backup
    // takes the rest, and nothing is lost.
    assert_eq!(sinks[0].delivered, 55);
    assert_eq!(sinks[1].delivered, 65);
    // After recovery the primary is active again: the last batch went to it.
    assert_eq!(policy.order(start + Duration::from_secs(61))[0], "primary");
}
