//! Unit tests of the load-balance policy, driven by a synthetic clock.

use super::*;

use crate::agent::component::props_of as props;

fn sinks(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn policy(pairs: &[(&str, &str)]) -> LoadBalancePolicy {
    LoadBalancePolicy::from_props(&props(pairs), &sinks(&["k1", "k2", "k3"])).unwrap()
}

#[test]
fn round_robin_starts_after_the_sink_that_delivered_last() {
    let mut p = policy(&[]);
    let t = Instant::now();
    assert_eq!(p.order(t), ["k1", "k2", "k3"]);
    p.report_success("k1");
    assert_eq!(p.order(t), ["k2", "k3", "k1"]);
    p.report_success("k2");
    assert_eq!(p.order(t), ["k3", "k1", "k2"]);
    p.report_success("k3");
    assert_eq!(p.order(t), ["k1", "k2", "k3"]);
}

#[test]
fn round_robin_stays_put_through_calls_that_deliver_nothing() {
    // Light traffic: every delivered line is followed by empty polls, which must not step
    // the rotation (with two sinks they used to hand every line to the first).
    let mut p = LoadBalancePolicy::from_props(&props(&[]), &sinks(&["k1", "k2"])).unwrap();
    let t = Instant::now();
    let mut delivered = Vec::new();
    for _ in 0..6 {
        let first = p.order(t)[0].clone();
        p.report_success(&first);
        delivered.push(first);
        for _ in 0..3 {
            let _ = p.order(t); // empty polls
        }
    }
    assert_eq!(delivered, ["k1", "k2", "k1", "k2", "k1", "k2"]);
}

#[test]
fn round_robin_skips_a_failing_sink_without_losing_its_turn_order() {
    let mut p = policy(&[]);
    let t = Instant::now();
    p.report_success("k1");
    // k2 fails, k3 delivers: the next round starts after k3.
    assert_eq!(p.order(t), ["k2", "k3", "k1"]);
    p.report_failure("k2", t);
    p.report_success("k3");
    assert_eq!(p.order(t), ["k1", "k2", "k3"]);
}

#[test]
fn without_backoff_failures_do_not_remove_a_sink() {
    let mut p = policy(&[("selector", "ROUND_ROBIN")]);
    let t = Instant::now();
    p.report_failure("k1", t);
    assert_eq!(p.order(t), ["k1", "k2", "k3"]);
    assert_eq!(p.restore_at("k1"), None);
}

#[test]
fn with_backoff_a_failed_sink_leaves_the_rotation_for_two_seconds() {
    let mut p = policy(&[("backoff", "true")]);
    let t = Instant::now();
    p.report_failure("k2", t);
    assert_eq!(p.restore_at("k2"), Some(t + ms(2000)));
    assert_eq!(p.order(t + ms(2000)), ["k1", "k3"]);
    p.report_success("k1");
    assert_eq!(p.order(t + ms(2000)), ["k3", "k1"]);
    let back = p.order(t + ms(2001));
    assert_eq!(back.len(), 3);
    assert!(back.contains(&"k2".to_string()));
}

#[test]
fn round_robin_restarts_when_the_rotation_shrinks() {
    let mut p = policy(&[("backoff", "true")]);
    let t = Instant::now();
    assert_eq!(p.order(t), ["k1", "k2", "k3"]);
    p.report_success("k1");
    assert_eq!(p.order(t), ["k2", "k3", "k1"]);
    p.report_success("k3");
    // k1 backs off: after k3 the rotation wraps to k2.
    p.report_failure("k1", t);
    assert_eq!(p.order(t), ["k2", "k3"]);
    p.report_success("k2");
    assert_eq!(p.order(t), ["k3", "k2"]);
}

#[test]
fn consecutive_failures_double_the_backoff_up_to_max_timeout() {
    let mut p = policy(&[("backoff", "true"), ("selector.maxTimeOut", "10000")]);
    let mut t = Instant::now();
    let mut seen = Vec::new();
    for _ in 0..5 {
        p.report_failure("k1", t);
        let restore = p.restore_at("k1").unwrap();
        seen.push((restore - t).as_millis());
        t = restore + ms(1);
    }
    assert_eq!(seen, [2000, 4000, 8000, 10000, 10000]);
}

#[test]
fn the_failure_count_stops_at_sixteen() {
    let mut p = policy(&[("backoff", "true"), ("selector.maxTimeOut", "86400000")]);
    let t = Instant::now();
    for _ in 0..40 {
        p.report_failure("k1", t);
    }
    assert_eq!(p.restore_at("k1"), Some(t + ms(1000 << 16)));
}

#[test]
fn a_failure_long_after_the_last_backoff_starts_the_count_over() {
    let mut p = policy(&[("backoff", "true")]);
    let t = Instant::now();
    p.report_failure("k1", t);
    p.report_failure("k1", t + ms(10));
    assert_eq!(p.restore_at("k1"), Some(t + ms(10) + ms(4000)));
    // Last backoff 4 s + one hour: a failure within that window is consecutive ...
    let within = t + ms(10) + ms(4000) + CONSIDER_SEQUENTIAL - ms(1);
    p.report_failure("k1", within);
    assert_eq!(p.restore_at("k1"), Some(within + ms(8000)));
    // ... and one after it is not.
    let after = within + ms(8000) + CONSIDER_SEQUENTIAL;
    p.report_failure("k1", after);
    assert_eq!(p.restore_at("k1"), Some(after + ms(2000)));
}

#[test]
fn success_does_not_reset_the_failure_count() {
    let mut p = policy(&[("backoff", "true")]);
    let t = Instant::now();
    p.report_failure("k1", t);
    p.report_success("k1");
    let t2 = t + ms(2500);
    p.report_failure("k1", t2);
    assert_eq!(p.restore_at("k1"), Some(t2 + ms(4000)));
}

#[test]
fn when_every_sink_backs_off_the_order_is_empty() {
    let mut p = policy(&[("backoff", "true"), ("selector", "random")]);
    let t = Instant::now();
    for k in ["k1", "k2", "k3"] {
        p.report_failure(k, t);
    }
    assert!(p.order(t + ms(1)).is_empty());
    assert_eq!(p.order(t + ms(2001)).len(), 3);
}

#[test]
fn random_orders_are_permutations_that_vary_and_reproduce_with_a_seed() {
    let mut a = policy(&[("selector", "random")]).with_seed(7);
    let mut b = policy(&[("selector", "random")]).with_seed(7);
    let t = Instant::now();
    let mut firsts = std::collections::BTreeSet::new();
    for _ in 0..200 {
        let o = a.order(t);
        assert_eq!(o, b.order(t));
        let mut sorted = o.clone();
        sorted.sort();
        assert_eq!(sorted, ["k1", "k2", "k3"]);
        firsts.insert(o[0].clone());
    }
    assert_eq!(firsts.len(), 3, "every sink should lead some order");
}

#[test]
fn configuration_errors_name_the_key() {
    let s = sinks(&["k1", "k2"]);
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("selector", "com.example.MySelector")], "selector"),
        (&[("backoff", "yes")], "backoff"),
        (&[("selector.maxTimeOut", "-1")], "selector.maxTimeOut"),
    ];
    for (pairs, key) in cases {
        let err = LoadBalanceConfig::from_props(&props(pairs), &s).unwrap_err();
        assert_eq!(&err.key, key, "{pairs:?}: {err}");
    }
    let err = LoadBalanceConfig::from_props(&Props::new(), &sinks(&["k1"])).unwrap_err();
    assert_eq!(err.key, "sinks");
    let err = LoadBalanceConfig::from_props(&Props::new(), &sinks(&["k1", "k1"])).unwrap_err();
    assert_eq!(err.key, "sinks");
}

#[test]
fn defaults_are_flumes_and_zero_max_timeout_means_the_default() {
    let s = sinks(&["k1", "k2"]);
    let c = LoadBalanceConfig::from_props(&Props::new(), &s).unwrap();
    assert_eq!(
        (c.selection, c.backoff, c.max_timeout_ms),
        (Selection::RoundRobin, false, 30_000)
    );
    let c = LoadBalanceConfig::from_props(&props(&[("selector.maxTimeOut", "0")]), &s).unwrap();
    assert_eq!(c.max_timeout_ms, 30_000);
}
