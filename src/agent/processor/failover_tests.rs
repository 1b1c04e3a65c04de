//! Unit tests of the failover policy, driven by a synthetic clock.

use super::*;

use crate::agent::component::props_of as props;

fn sinks(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// k1 (5), k2 (10), k3 (1): k2 goes first, then k1, then k3.
fn policy(max_penalty: &str) -> FailoverPolicy {
    let p = props(&[
        ("priority.k1", "5"),
        ("priority.k2", "10"),
        ("priority.k3", "1"),
        ("maxpenalty", max_penalty),
    ]);
    FailoverPolicy::from_props(&p, &sinks(&["k1", "k2", "k3"])).unwrap()
}

#[test]
fn sinks_are_tried_by_priority_highest_first() {
    let p = policy("30000");
    let t = Instant::now();
    assert_eq!(p.order(t), ["k2", "k1", "k3"]);
    assert_eq!(p.next(t).as_deref(), Some("k2"));
    assert_eq!(p.active(), Some("k2"));
}

#[test]
fn sinks_without_priority_go_in_list_order_after_positive_priorities() {
    let p = props(&[("priority.b", "1")]);
    let p = FailoverPolicy::from_props(&p, &sinks(&["a", "b", "c"])).unwrap();
    assert_eq!(p.order(Instant::now()), ["b", "a", "c"]);
}

#[test]
fn a_failed_sink_is_parked_for_two_seconds_then_retried_first() {
    let mut p = policy("30000");
    let t = Instant::now();
    p.report_failure("k2", t);
    assert_eq!(p.order(t), ["k1", "k3"]);
    assert_eq!(p.active(), Some("k1"));
    assert_eq!(p.retry_at("k2"), Some(t + ms(2000)));
    // Flume retries only once the penalty has strictly passed.
    assert_eq!(p.order(t + ms(2000)), ["k1", "k3"]);
    assert_eq!(p.order(t + ms(2001)), ["k2", "k1", "k3"]);
}

#[test]
fn the_penalty_doubles_on_each_failed_retry_up_to_maxpenalty() {
    let mut p = policy("10000");
    let mut t = Instant::now();
    p.report_failure("k2", t);
    let mut seen = Vec::new();
    for _ in 0..5 {
        let due = p.retry_at("k2").unwrap();
        seen.push((due - t).as_millis());
        t = due + ms(1);
        assert_eq!(p.next(t).as_deref(), Some("k2"));
        p.report_failure("k2", t);
    }
    assert_eq!(seen, [2000, 4000, 8000, 10000, 10000]);
}

#[test]
fn a_recovered_sink_becomes_active_again_and_its_penalty_starts_over() {
    let mut p = policy("30000");
    let t = Instant::now();
    p.report_failure("k2", t);
    p.report_failure("k2", t + ms(2001));
    assert_eq!(p.retry_at("k2"), Some(t + ms(2001) + ms(4000)));
    let later = t + ms(7000);
    assert_eq!(p.next(later).as_deref(), Some("k2"));
    p.report_success("k2");
    assert_eq!(p.active(), Some("k2"));
    assert_eq!(p.order(later), ["k2", "k1", "k3"]);
    assert_eq!(p.retry_at("k2"), None);
    p.report_failure("k2", later);
    assert_eq!(p.retry_at("k2"), Some(later + ms(2000)));
}

#[test]
fn a_recovered_sink_rejoins_in_priority_order() {
    let mut p = policy("30000");
    let t = Instant::now();
    p.report_failure("k1", t);
    p.report_success("k1");
    assert_eq!(p.order(t), ["k2", "k1", "k3"]);
}

#[test]
fn when_every_sink_is_penalised_there_is_nothing_to_try() {
    let mut p = policy("30000");
    let t = Instant::now();
    for k in ["k2", "k1", "k3"] {
        p.report_failure(k, t);
    }
    assert!(p.order(t + ms(1000)).is_empty());
    assert_eq!(p.next(t + ms(1000)), None);
    assert_eq!(p.active(), None);
    // After the penalty all three are due, earliest first; same time: higher priority first.
    assert_eq!(p.order(t + ms(2001)), ["k2", "k1", "k3"]);
}

#[test]
fn due_parked_sinks_are_retried_in_order_of_their_retry_time() {
    let mut p = policy("30000");
    let t = Instant::now();
    p.report_failure("k3", t);
    p.report_failure("k2", t + ms(500));
    assert_eq!(p.order(t + ms(3000)), ["k3", "k2", "k1"]);
}

#[test]
fn success_of_a_live_sink_and_reports_about_unknown_sinks_change_nothing() {
    let mut p = policy("30000");
    let t = Instant::now();
    p.report_success("k1");
    p.report_failure("nope", t);
    p.report_success("nope");
    assert_eq!(p.order(t), ["k2", "k1", "k3"]);
}

#[test]
fn a_zero_maxpenalty_makes_a_failed_sink_due_immediately_after() {
    let mut p = policy("0");
    let t = Instant::now();
    p.report_failure("k2", t);
    assert_eq!(p.order(t), ["k1", "k3"]);
    assert_eq!(p.order(t + ms(1)), ["k2", "k1", "k3"]);
}

#[test]
fn penalty_saturates_instead_of_overflowing() {
    let max = ms(30_000);
    assert_eq!(penalty(31, max), max);
    assert_eq!(penalty(64, max), max);
    assert_eq!(penalty(u32::MAX, max), max);
    assert_eq!(penalty(1, max), ms(2000));
}

#[test]
fn configuration_errors_name_the_key() {
    let s = sinks(&["k1", "k2"]);
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("priority.k1", "high")], "priority.k1"),
        (&[("priority.k1", "3"), ("priority.k2", "3")], "priority.k2"),
        (&[("priority.k2", "-1")], "priority.k2"),
        (&[("maxpenalty", "-5")], "maxpenalty"),
        (&[("maxpenalty", "10s")], "maxpenalty"),
    ];
    for (pairs, key) in cases {
        let err = FailoverConfig::from_props(&props(pairs), &s).unwrap_err();
        assert_eq!(&err.key, key, "{pairs:?}: {err}");
    }
    let err = FailoverConfig::from_props(&Props::new(), &[]).unwrap_err();
    assert_eq!(err.key, "sinks");
    let err = FailoverConfig::from_props(&Props::new(), &sinks(&["a", "a"])).unwrap_err();
    assert_eq!(err.key, "sinks");
}

#[test]
fn defaults_are_flumes() {
    let c = FailoverConfig::from_props(&Props::new(), &sinks(&["a", "b"])).unwrap();
    assert_eq!(c.max_penalty_ms, 30_000);
    assert_eq!(c.sinks, [("a".to_string(), -1), ("b".to_string(), -2)]);
}
