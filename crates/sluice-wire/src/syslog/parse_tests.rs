//! Flume's `SyslogUtils` outputs on RFC 3164 and RFC 5424 samples (expected values written
//! from its patterns and date formats), in UTC with a fixed "now".

use super::*;
use chrono::FixedOffset;

fn clock() -> Clock {
    Clock::at(
        "2026-11-23T00:00:00Z".parse().unwrap(),
        FixedOffset::east_opt(0),
    )
}

fn run(msg: &str, keep: &str) -> Event {
    let opts = ParseOptions {
        keep: KeepFields::parse(keep),
    };
    parse(msg.as_bytes(), false, &opts, &clock())
}

fn h<'a>(e: &'a Event, k: &str) -> Option<&'a str> {
    e.headers.get(k)
}

#[test]
fn an_rfc5424_message_gets_flumes_headers_and_the_text_after_the_host_as_body() {
    let e = run(
        "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed",
        "none",
    );
    assert_eq!(h(&e, "Facility"), Some("4"));
    assert_eq!(h(&e, "Severity"), Some("2"));
    assert_eq!(h(&e, "priority"), Some("34"));
    assert_eq!(h(&e, "version"), Some("1"));
    assert_eq!(h(&e, "timestamp"), Some("1065910455003"));
    assert_eq!(h(&e, "host"), Some("mymachine.example.com"));
    assert_eq!(h(&e, STATUS), None);
    assert_eq!(e.body, &b"su - ID47 - 'su root' failed"[..]);
    assert_eq!(e.headers.len(), 6);
}

#[test]
fn an_rfc5424_offset_is_applied_and_microseconds_are_cut_to_millis() {
    let e = run(
        "<10>2012-04-13T11:11:11-02:00 ubuntu-11.cloudera.com some msg",
        "none",
    );
    assert_eq!(h(&e, "Facility"), Some("1"));
    assert_eq!(h(&e, "Severity"), Some("2"));
    assert_eq!(h(&e, "version"), None, "an empty version is not a header");
    assert_eq!(h(&e, "timestamp"), Some("1334322671000"));
    assert_eq!(e.body, &b"some msg"[..]);
    let e = run("<10>1 2012-04-13T11:11:11.123456Z host.x some msg", "none");
    assert_eq!(h(&e, "timestamp"), Some("1334315471123"));
}

#[test]
fn an_rfc5424_nil_timestamp_and_host_add_no_headers() {
    let e = run("<165>1 - - app - - hello", "none");
    assert_eq!(h(&e, "Facility"), Some("20"));
    assert_eq!(h(&e, "Severity"), Some("5"));
    assert_eq!(h(&e, "timestamp"), None);
    assert_eq!(h(&e, "host"), None);
    assert_eq!(e.body, &b"app - - hello"[..]);
}

#[test]
fn an_rfc3164_message_gets_this_years_timestamp_host_and_body() {
    let e = run(
        "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
        "none",
    );
    assert_eq!(h(&e, "Facility"), Some("4"));
    assert_eq!(h(&e, "Severity"), Some("2"));
    assert_eq!(h(&e, "priority"), Some("34"));
    assert_eq!(h(&e, "version"), None);
    assert_eq!(h(&e, "timestamp"), Some("1791756855000"));
    assert_eq!(h(&e, "host"), Some("mymachine"));
    assert_eq!(
        e.body,
        &b"su: 'su root' failed for lonvick on /dev/pts/8"[..]
    );
}

#[test]
fn an_rfc3164_date_more_than_a_month_ahead_is_last_year() {
    let e = run("<13>Dec 25 08:00:00 host msg", "none");
    assert_eq!(h(&e, "timestamp"), Some("1766649600000"));
    let e = run("<13>Jan  5 01:02:03 host msg", "none");
    assert_eq!(
        h(&e, "timestamp"),
        Some("1767574923000"),
        "two spaces before a 1-digit day"
    );
}

#[test]
fn one_clock_reading_many_lines_gives_each_stamp_what_a_fresh_clock_gives() {
    // The clock keeps the last stamp it read: repeats, changes, the same text in the other
    // format, and a line without a stamp between them must each read as on their own.
    let lines = [
        "<34>Oct 11 22:14:15 mymachine su: a",
        "<34>Oct 11 22:14:15 mymachine su: b",
        "<34>Dec 25 00:00:00 mymachine su: c",
        "<34>Oct 11 22:14:15 mymachine su: d",
        "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 - e",
        "<165>1 - mymachine.example.com evntslog - ID47 - f",
        "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 - g",
        "<34>Oct 11 22:14:15 mymachine su: h",
    ];
    let opts = ParseOptions {
        keep: KeepFields::parse("none"),
    };
    let shared = clock();
    for line in lines {
        let alone = parse(line.as_bytes(), false, &opts, &clock());
        let e = parse(line.as_bytes(), false, &opts, &shared);
        assert_eq!(h(&e, "timestamp"), h(&alone, "timestamp"), "{line}");
    }
    let stamps: Vec<_> = lines
        .iter()
        .map(|l| h(&parse(l.as_bytes(), false, &opts, &shared), "timestamp").map(str::to_owned))
        .collect();
    assert_eq!(stamps[0], stamps[1]);
    assert_ne!(stamps[0], stamps[2]);
    assert_eq!(stamps[5], None);
    assert!(stamps.iter().all(|s| s.as_deref() != Some("")));
}

#[test]
fn a_message_without_a_priority_is_invalid_and_kept_whole() {
    for msg in [
        "hello world",
        "<>x",
        "<1234>Oct 11 22:14:15 h m",
        "<1a>x",
        "<12",
    ] {
        let e = run(msg, "none");
        assert_eq!(h(&e, "Facility"), Some("0"), "{msg}");
        assert_eq!(h(&e, "Severity"), Some("0"), "{msg}");
        assert_eq!(h(&e, STATUS), Some(STATUS_INVALID), "{msg}");
        assert_eq!(e.body, msg.as_bytes(), "{msg}");
        assert_eq!(e.headers.len(), 3, "{msg}");
    }
}

#[test]
fn a_priority_with_an_unknown_layout_keeps_the_raw_message_without_status() {
    let e = run("<13>hello there", "none");
    assert_eq!(h(&e, "Facility"), Some("1"));
    assert_eq!(h(&e, "Severity"), Some("5"));
    assert_eq!(h(&e, "priority"), None);
    assert_eq!(h(&e, STATUS), None);
    assert_eq!(e.body, &b"<13>hello there"[..]);
}

#[test]
fn a_cut_message_is_incomplete_and_still_parsed() {
    let opts = ParseOptions {
        keep: KeepFields::default(),
    };
    let e = parse(
        b"<34>Oct 11 22:14:15 mymachine su: cut he",
        true,
        &opts,
        &clock(),
    );
    assert_eq!(h(&e, STATUS), Some(STATUS_INCOMPLETE));
    assert_eq!(h(&e, "host"), Some("mymachine"));
    assert_eq!(e.body, &b"su: cut he"[..]);
}

#[test]
fn keep_fields_all_keeps_the_raw_message_as_body() {
    let msg = "<34>1 2003-10-11T22:14:15.003Z mymachine su - - - x";
    for keep in ["all", "true", " ALL "] {
        let e = run(msg, keep);
        assert_eq!(e.body, msg.as_bytes());
        assert_eq!(h(&e, "host"), Some("mymachine"), "headers are still set");
    }
}

#[test]
fn keep_fields_lists_put_the_named_fields_back_in_flumes_order() {
    let msg = "<34>1 2003-10-11T22:14:15.003Z mymachine su - - - x";
    assert_eq!(run(msg, "hostname").body, &b"mymachine su - - - x"[..]);
    assert_eq!(
        run(msg, "timestamp hostname").body,
        &b"2003-10-11T22:14:15.003Z mymachine su - - - x"[..]
    );
    assert_eq!(
        run(msg, "priority version timestamp hostname").body,
        msg.as_bytes()
    );
    assert_eq!(run(msg, "priority").body, &b"<34>su - - - x"[..]);
    assert_eq!(run(msg, "none").body, &b"su - - - x"[..]);
    assert_eq!(run(msg, "false").body, &b"su - - - x"[..]);
}

#[test]
fn keep_fields_parses_flumes_spellings() {
    assert_eq!(KeepFields::parse("none"), KeepFields::default());
    assert!(KeepFields::parse("true").all);
    let k = KeepFields::parse("version, hostname");
    assert!(k.version && k.hostname && !k.priority && !k.timestamp && !k.all);
}

#[test]
fn non_utf8_bytes_in_the_body_are_kept_as_received() {
    let mut msg = b"<13>Oct 11 22:14:15 host caf\xe9 \xff".to_vec();
    let opts = ParseOptions {
        keep: KeepFields::default(),
    };
    let e = parse(&msg, false, &opts, &clock());
    assert_eq!(h(&e, "host"), Some("host"));
    assert_eq!(e.body, &b"caf\xe9 \xff"[..]);
    msg.push(b'\r');
    let e = parse(&msg, false, &opts, &clock());
    assert_eq!(
        e.body, msg,
        "a carriage return inside does not match Flume's pattern"
    );
}

#[test]
fn a_handed_over_frame_becomes_the_body_without_a_copy() {
    let opts = ParseOptions {
        keep: KeepFields::default(),
    };
    let frame = Bytes::from(b"<34>Oct 11 22:14:15 mymachine su: hi".to_vec());
    let start = frame.as_ptr() as usize;
    let e = parse_bytes(frame.clone(), false, &opts, &clock());
    assert_eq!(e.body, &b"su: hi"[..]);
    assert_eq!(
        e.body.as_ptr() as usize,
        start + 30,
        "the body is the frame's own bytes"
    );
    assert_eq!(e, parse(&frame, false, &opts, &clock()));
}

#[test]
fn headers_hold_every_integer_as_text() {
    let e = run("<191>Oct 11 22:14:15 h x", "none");
    assert_eq!(
        (h(&e, "Facility"), h(&e, "Severity")),
        (Some("23"), Some("7"))
    );
    let e = run("<0>1 1900-01-01T00:00:00Z h x", "none");
    assert_eq!(
        (h(&e, "Facility"), h(&e, "Severity")),
        (Some("0"), Some("0"))
    );
    assert_eq!(h(&e, "timestamp"), Some("-2208988800000"));
    let e = run("<13>1 1970-01-01T00:00:00Z h x", "none");
    assert_eq!(h(&e, "timestamp"), Some("0"));
}
