//! Parsing of the `alarms` and `notifiers` sections: defaults, and a problem per bad value.

use crate::agent::config::{has_errors, Problem};
use crate::agent::topology::load;

const BASE: &str = "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
    a1.sources.r1.type = seq\na1.sources.r1.channels = c1\n\
    a1.channels.c1.type = memory\na1.sinks.k1.type = null\na1.sinks.k1.channel = c1\n";

fn problems(extra: &str) -> Vec<Problem> {
    load(&format!("{BASE}{extra}"), "a1", &[]).problems
}

#[test]
fn the_issue_example_parses_with_every_default() {
    let text = format!(
        "{BASE}a1.alarms = fill\n\
         a1.alarms.fill.metric = CHANNEL.c1.ChannelFillPercentage\n\
         a1.alarms.fill.above = 80\na1.alarms.fill.for = 60s\n\
         a1.alarms.fill.clearBelow = 60\na1.alarms.fill.notifiers = hook\n\
         a1.notifiers = hook ding\n\
         a1.notifiers.hook.type = webhook\na1.notifiers.hook.url = http://127.0.0.1:9000/alarms\n\
         a1.notifiers.ding.type = dingtalk\na1.notifiers.ding.url = https://oapi.dingtalk.com/robot/send?access_token=x\n\
         a1.notifiers.ding.secret = SEC\n"
    );
    let l = load(&text, "a1", &[]);
    assert!(l.problems.is_empty(), "{:?}", l.problems);
    let cfg = l.config.unwrap();
    let r = &cfg.alarms.rules["fill"];
    assert_eq!(r.metric(), "CHANNEL.c1.ChannelFillPercentage");
    assert_eq!(r.trigger, super::Trigger::Above(80.0));
    assert_eq!(r.clear, Some(60.0));
    assert_eq!(r.hold, std::time::Duration::from_secs(60));
    assert_eq!(r.severity, super::AlarmSeverity::Warn);
    assert_eq!(r.notifiers.as_deref(), Some(&["hook".to_owned()][..]));
    let d = &cfg.alarms.notifiers["ding"];
    assert_eq!(d.kind, super::NotifierKind::DingTalk);
    assert_eq!(d.secret.as_deref(), Some("SEC"));
    assert_eq!(d.retries, super::notifier::NOTIFY_RETRIES_DEFAULT);
}

#[test]
fn each_mistake_is_an_error_at_its_line() {
    let cases = [
        ("a1.alarms = x\na1.alarms.x.metric = CHANNEL.c9.ChannelSize\na1.alarms.x.above = 1\n", 10, "c9 is not defined"),
        ("a1.alarms = x\na1.alarms.x.metric = CHANNEL.c1.ChannelSize\na1.alarms.x.above = 1\na1.alarms.x.below = 0\n", 12, "both set"),
        ("a1.alarms = x\na1.alarms.x.metric = CHANNEL.c1.ChannelSize\na1.alarms.x.above = 10\na1.alarms.x.clearBelow = 20\n", 12, "must not be above"),
        ("a1.alarms = x\na1.alarms.x.metric = CHANNEL.c1.ChannelSize\na1.alarms.x.below = 10\na1.alarms.x.clearAbove = 5\n", 12, "must not be below"),
        ("a1.alarms = x\na1.alarms.x.metric = CHANNEL.c1.ChannelSize\na1.alarms.x.above = 1\na1.alarms.x.for = 3 weeks\n", 12, "expected a duration"),
        ("a1.alarms = x\na1.alarms.x.metric = CHANNEL.c1.ChannelSize\na1.alarms.x.above = 1\na1.alarms.x.notifiers = nope\n", 12, "notifier nope is not defined"),
        ("a1.alarms = x\na1.alarms.x.metric = QUEUE.c1.ChannelSize\na1.alarms.x.above = 1\n", 10, "unknown component type"),
    ];
    for (extra, line, what) in cases {
        let p = problems(extra);
        assert!(has_errors(&p), "{extra}: {p:?}");
        let hit = p
            .iter()
            .find(|p| p.message.contains(what))
            .unwrap_or_else(|| panic!("{extra}: no {what:?} in {p:?}"));
        assert_eq!(
            hit.origin,
            crate::agent::config::Origin::Line(line),
            "{extra}: {hit:?}"
        );
    }
}

#[test]
fn an_unknown_metric_key_is_only_a_warning() {
    let p = problems(
        "a1.alarms = x\na1.alarms.x.metric = CHANNEL.c1.Whatever\na1.alarms.x.above = 1\n",
    );
    assert!(!has_errors(&p), "{p:?}");
    assert!(p.iter().any(|p| p.message.contains("Whatever")), "{p:?}");
}
