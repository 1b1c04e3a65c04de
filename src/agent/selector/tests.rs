//! Tests of the channel selectors: replicating and multiplexing as Flume's, with the
//! tightening (no channel twice, no required channel as optional), and their config errors.

use super::*;

use crate::agent::component::props_of as props;

fn chans(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn ev(header: Option<&str>) -> Event {
    let e = Event::new("x");
    match header {
        Some(v) => e.header("State", v),
        None => e,
    }
}

fn sel(required: &[&str], optional: &[&str]) -> Selection {
    Selection {
        required: chans(required),
        optional: chans(optional),
    }
}

#[test]
fn replicating_is_the_default_and_requires_every_channel() {
    let s = ChannelSelector::from_props(&props(&[]), &chans(&["c1", "c2"])).unwrap();
    assert_eq!(s.select(&ev(None)), sel(&["c1", "c2"], &[]));
}

#[test]
fn replicating_moves_listed_channels_to_optional() {
    let p = props(&[("type", "replicating"), ("optional", "c3  c2 c3")]);
    let s = ChannelSelector::from_props(&p, &chans(&["c1", "c2", "c3"])).unwrap();
    assert_eq!(s.select(&ev(Some("CA"))), sel(&["c1"], &["c3", "c2"]));
}

#[test]
fn replicating_accepts_the_java_class_name_in_any_case() {
    let p = props(&[
        (
            "type",
            "org.apache.flume.channel.ReplicatingChannelSelector",
        ),
        ("optional", "c2"),
    ]);
    let s = ChannelSelector::from_props(&p, &chans(&["c1", "c2"])).unwrap();
    assert_eq!(s.select(&ev(None)), sel(&["c1"], &["c2"]));
    let p = props(&[("type", "RePlIcAtInG")]);
    assert!(ChannelSelector::from_props(&p, &chans(&["c1"])).is_ok());
}

#[test]
fn replicating_rejects_an_optional_channel_the_source_does_not_have() {
    let p = props(&[("optional", "c9")]);
    let err = ChannelSelector::from_props(&p, &chans(&["c1"])).unwrap_err();
    assert_eq!(err.key, "optional");
    assert!(err.message.contains("c9"), "{err}");
}

#[test]
fn unknown_selector_type_names_the_supported_ones() {
    let p = props(&[("type", "load_balancing")]);
    let err = ChannelSelector::from_props(&p, &chans(&["c1"])).unwrap_err();
    assert_eq!(err.key, "type");
    assert!(err.message.contains("replicating, multiplexing"), "{err}");
}

fn multiplexing_example() -> ChannelSelector {
    let p = props(&[
        ("type", "multiplexing"),
        ("header", "State"),
        ("mapping.CA", "c1"),
        ("mapping.AZ", "c2 c3"),
        ("mapping.NY", "c1 c2"),
        ("optional.CA", "c1 c2"),
        ("optional.XX", "c3 c4"),
        ("default", "c4"),
    ]);
    ChannelSelector::from_props(&p, &chans(&["c1", "c2", "c3", "c4"])).unwrap()
}

#[test]
fn multiplexing_routes_by_header_value() {
    let s = multiplexing_example();
    assert_eq!(s.select(&ev(Some("AZ"))), sel(&["c2", "c3"], &[]));
    assert_eq!(s.select(&ev(Some("NY"))), sel(&["c1", "c2"], &[]));
}

#[test]
fn multiplexing_optional_channels_never_repeat_a_required_one() {
    let s = multiplexing_example();
    // CA requires c1; c1 is also listed as optional for CA and must not appear twice.
    assert_eq!(s.select(&ev(Some("CA"))), sel(&["c1"], &["c2"]));
}

#[test]
fn multiplexing_unmapped_value_goes_to_default_plus_its_optional() {
    let s = multiplexing_example();
    // XX has no mapping: required is the default (c4), which is removed from optional.
    assert_eq!(s.select(&ev(Some("XX"))), sel(&["c4"], &["c3"]));
    assert_eq!(s.select(&ev(Some("TX"))), sel(&["c4"], &[]));
}

#[test]
fn multiplexing_missing_or_blank_header_goes_to_default() {
    let s = multiplexing_example();
    assert_eq!(s.select(&ev(None)), sel(&["c4"], &[]));
    assert_eq!(s.select(&ev(Some("  "))), sel(&["c4"], &[]));
}

#[test]
fn multiplexing_header_lookup_is_case_sensitive() {
    let s = multiplexing_example();
    assert_eq!(s.select(&ev(Some("ca"))), sel(&["c4"], &[]));
}

#[test]
fn multiplexing_defaults_to_flume_selector_header() {
    let p = props(&[
        ("type", "multiplexing"),
        ("mapping.a", "c2"),
        ("default", "c1"),
    ]);
    let s = ChannelSelector::from_props(&p, &chans(&["c1", "c2"])).unwrap();
    let e = Event::new("x").header(DEFAULT_MULTIPLEX_HEADER, "a");
    assert_eq!(s.select(&e), sel(&["c2"], &[]));
    assert_eq!(s.select(&ev(Some("a"))), sel(&["c1"], &[]));
}

#[test]
fn multiplexing_without_default_selects_no_required_channel_for_unmapped_values() {
    let p = props(&[
        (
            "type",
            "org.apache.flume.channel.MultiplexingChannelSelector",
        ),
        ("header", "State"),
        ("mapping.CA", "c1"),
        ("optional.TX", "c2"),
    ]);
    let s = ChannelSelector::from_props(&p, &chans(&["c1", "c2"])).unwrap();
    assert_eq!(s.select(&ev(Some("TX"))), sel(&[], &["c2"]));
    assert_eq!(s.select(&ev(None)), sel(&[], &[]));
}

#[test]
fn unknown_keys_depend_on_the_selector_type() {
    let c = chans(&["c1", "c2"]);
    let p = props(&[("optional", "c2"), ("optional.x", "c2"), ("header", "h")]);
    let s = ChannelSelector::from_props(&p, &c).unwrap();
    assert_eq!(s.unknown_keys(&p), ["header", "optional.x"]);
    let mut p = p;
    p.insert("type".into(), "multiplexing".into());
    p.insert("mappping.a".into(), "c1".into());
    let s = ChannelSelector::from_props(&p, &c).unwrap();
    assert_eq!(s.unknown_keys(&p), ["mappping.a", "optional"]);
}

#[test]
fn multiplexing_errors_name_the_key() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("mapping.CA", "c9")], "mapping.CA"),
        (&[("mapping.CA", " ")], "mapping.CA"),
        (&[("optional.CA", "c1 c9")], "optional.CA"),
        (&[("default", "c9")], "default"),
        (&[("header", " ")], "header"),
    ];
    for (pairs, key) in cases {
        let mut p = props(pairs);
        p.insert("type".into(), "multiplexing".into());
        let err = ChannelSelector::from_props(&p, &chans(&["c1", "c2"])).unwrap_err();
        assert_eq!(&err.key, key, "{pairs:?}");
    }
}
