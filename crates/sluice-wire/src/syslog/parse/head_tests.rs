//! The hand-written matchers against their oracle, Flume's two regular expressions run by the
//! `regex` crate: the same captures (or the same failure) for frames built from the
//! patterns' pieces, mutated frames, arbitrary bytes and real lines.

use std::sync::OnceLock;

use proptest::prelude::*;
use regex::bytes::Regex;

use super::w1_line::w1_line;
use super::{rfc3164, rfc5424, Fields};

const RFC5424: &str = concat!(
    r"(?-u)\A<([0-9]{1,3})>(?:([0-9]?)[ \t\n\x0B\x0C\r]?)",
    r"(?:([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?",
    r"(?:[+-][0-9]{2}:[0-9]{2}|Z)?)|-)[ \t\n\x0B\x0C\r]",
    r"(?:([A-Za-z0-9_][A-Za-z0-9_.@-]*)|-)[ \t\n\x0B\x0C\r]([^\r\n]*)\z"
);
const RFC3164: &str = concat!(
    r"(?-u)\A<([0-9]{1,3})>(?:([0-9])?[ \t\n\x0B\x0C\r]?)",
    r"([A-Z][a-z][a-z][ \t\n\x0B\x0C\r]{1,2}[0-9]{1,2}[ \t\n\x0B\x0C\r]",
    r"[0-9]{2}:[0-9]{2}:[0-9]{2})[ \t\n\x0B\x0C\r]",
    r"([A-Za-z0-9_][A-Za-z0-9_.@-]*)[ \t\n\x0B\x0C\r]([^\r\n]*)\z"
);

/// Flume's patterns, compiled once: RFC 5424's then RFC 3164's.
fn oracles() -> &'static [Regex; 2] {
    static P: OnceLock<[Regex; 2]> = OnceLock::new();
    P.get_or_init(|| [Regex::new(RFC5424).unwrap(), Regex::new(RFC3164).unwrap()])
}

/// Groups 1 to 4 and where the body starts, as the pattern captures them.
type Captured = Option<(Vec<Option<Vec<u8>>>, usize)>;

fn by_regex(re: &Regex, frame: &[u8]) -> Captured {
    let c = re.captures(frame)?;
    let groups = (1..=4)
        .map(|i| c.get(i).map(|m| m.as_bytes().to_vec()))
        .collect();
    let body = c.get(5)?;
    assert_eq!(body.end(), frame.len(), "the body runs to the end");
    Some((groups, body.start()))
}

fn by_hand(f: Option<Fields<'_>>) -> Captured {
    let f = f?;
    let groups = [f.priority, f.version, f.stamp, f.host]
        .iter()
        .map(|b| b.map(<[u8]>::to_vec))
        .collect();
    Some((groups, f.body_at))
}

/// Both formats agree with their pattern on `frame`.
fn same(frame: &[u8]) -> Result<(), TestCaseError> {
    let [re5424, re3164] = oracles();
    let shown = String::from_utf8_lossy(frame);
    prop_assert_eq!(
        by_hand(rfc5424(frame)),
        by_regex(re5424, frame),
        "5424 {:?}",
        shown
    );
    prop_assert_eq!(
        by_hand(rfc3164(frame)),
        by_regex(re3164, frame),
        "3164 {:?}",
        shown
    );
    Ok(())
}

fn assert_same(frame: &[u8]) {
    if let Err(e) = same(frame) {
        panic!("{e}");
    }
}

/// One of a few strings.
fn one_of(items: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    proptest::sample::select(items).prop_map(|s| s.as_bytes().to_vec())
}

/// Mostly one of `good`, sometimes one of `bad`: frames that get deep into the patterns.
fn mostly(
    good: &'static [&'static str],
    bad: &'static [&'static str],
) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![4 => one_of(good), 1 => one_of(bad)]
}

const SPACE: &[&str] = &[
    "", " ", "  ", "   ", "\n", "\r", "\t", "\x0b", "\x0c", " \n", "\r\n", "\t ",
];

fn space() -> impl Strategy<Value = Vec<u8>> {
    mostly(&[" "], SPACE)
}

/// Digits, 0 to 8 of them.
fn digits() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(b'0'..=b'9', 0..=8)
}

fn stamp_5424() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![1 => digits(), 4 => one_of(&["2026"])],
        mostly(&["-"], &["", "x"]),
        mostly(
            &["11-25T12:00:00"],
            &["1-25T12:00:00", "11-25t12:00:00", "11-25T12:00"],
        ),
        prop_oneof![
            one_of(&["", "."]),
            digits().prop_map(|d| [b".".to_vec(), d].concat())
        ],
        one_of(&[
            "", "Z", "+01:00", "-02:30", "+1:00", "+01:0", "+0100", "z", "ZZ",
        ]),
    )
        .prop_map(|(y, dash, rest, frac, zone)| [y, dash, rest, frac, zone].concat())
}

fn stamp_3164() -> impl Strategy<Value = Vec<u8>> {
    (
        mostly(&["Nov", "Jan"], &["nov", "NOV", "No", "Nov1"]),
        space(),
        mostly(&["5", "25", "05"], &["125", "", "x"]),
        space(),
        mostly(&["12:00:00"], &["1:00:00", "12:00", "12:00:001"]),
    )
        .prop_map(|(m, s1, d, s2, t)| [m, s1, d, s2, t].concat())
}

/// A field of either format, or something near it.
fn piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        stamp_5424(),
        stamp_3164(),
        one_of(&[
            "-",
            "",
            "host",
            "h.example.com",
            "a@b-c_d",
            "_x",
            ".x",
            "@",
            "a\nb",
            "é",
            "-x"
        ]),
        one_of(&["1", "12", "", "x", "0", "9"]),
        space(),
        digits(),
    ]
}

/// A body: text, nothing, CR or LF inside or at the end, bytes that are not UTF-8.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        one_of(&[
            "",
            "msg",
            "app: one two",
            "a\nb",
            "x\r",
            "\n",
            "é",
            "-",
            " lead",
            "\r\n"
        ]),
        proptest::collection::vec(any::<u8>(), 0..12),
    ]
}

/// A frame built from the formats' pieces in their order.
fn built() -> impl Strategy<Value = Vec<u8>> {
    (
        mostly(
            &["<13>", "<1>", "<999>"],
            &["<0013>", "<>", "13>", "", "<1a>", "<13"],
        ),
        one_of(&["", "1", "12", "x", "2", "0"]),
        prop::sample::select(SPACE).prop_map(|s| s.as_bytes().to_vec()),
        prop_oneof![2 => stamp_5424(), 2 => stamp_3164(), 1 => one_of(&["-", "", "--"])],
        space(),
        mostly(
            &[
                "host",
                "h.example",
                "-",
                "loadgen",
                "1.2.3.4",
                "h-",
                "a@b_c",
            ],
            &["", "a\nb", "é", "-h", ".h"],
        ),
        space(),
        body(),
    )
        .prop_map(|(p, v, w1, s, w2, h, w3, b)| [p, v, w1, s, w2, h, w3, b].concat())
}

/// A built frame changed by a few edits: bytes inserted, removed or replaced anywhere.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    let edit = (any::<prop::sample::Index>(), 0u8..3, piece(), any::<u8>());
    (built(), proptest::collection::vec(edit, 1..4)).prop_map(|(mut frame, edits)| {
        for (at, kind, piece, byte) in edits {
            let i = at.index(frame.len() + 1);
            match kind {
                0 => {
                    frame.splice(i..i, piece);
                }
                1 if i < frame.len() => {
                    frame.remove(i);
                }
                _ if i < frame.len() => frame[i] = byte,
                _ => frame.push(byte),
            }
        }
        frame
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn frames_built_from_the_patterns_pieces_match_as_the_regexes_do(frame in built()) {
        same(&frame)?;
    }

    #[test]
    fn mutated_frames_match_as_the_regexes_do(frame in mutated()) {
        same(&frame)?;
    }

    #[test]
    fn arbitrary_bytes_after_a_priority_match_as_the_regexes_do(
        pri in one_of(&["<13>", "<1>", "<191>", ""]),
        rest in proptest::collection::vec(
            prop_oneof![any::<u8>(), prop::sample::select(b" \t\n\r-:.T0123456789NovZ+".to_vec())],
            0..48,
        ),
    ) {
        same(&[pri, rest].concat())?;
    }

    #[test]
    fn arbitrary_bytes_match_as_the_regexes_do(frame in proptest::collection::vec(any::<u8>(), 0..64)) {
        same(&frame)?;
    }

    #[test]
    fn w1_lines_match_as_the_regexes_do(i in 0u64..2_000_000_000, size in 60usize..1100) {
        same(&w1_line(i, size))?;
    }
}

#[test]
fn the_awkward_cases_match_as_the_regexes_do() {
    for frame in [
        // The version digit that is the year's first digit; a version then a year.
        "<13>2026-11-25T12:00:00Z host msg",
        "<13>12026-11-25T12:00:00Z host msg",
        "<13>1 2026-11-25T12:00:00Z host msg",
        "<13>1  2026-11-25T12:00:00Z host msg",
        "<13> 2026-11-25T12:00:00Z host msg",
        "<13>1\n- - msg",
        "<13>1- - msg",
        "<13>- - msg",
        "<13>1 - - ",
        "<13>1 - -",
        // Fractions and zones.
        "<13>1 2026-11-25T12:00:00.1234567Z h m",
        "<13>1 2026-11-25T12:00:00.Z h m",
        "<13>1 2026-11-25T12:00:00.123456+01:00 h m",
        "<13>1 2026-11-25T12:00:00+01:0 h m",
        // RFC 3164 dates and versions.
        "<13>Nov  5 12:00:00 host msg",
        "<13>Nov   5 12:00:00 host msg",
        "<13>Nov 125 12:00:00 host msg",
        "<13>1Nov 25 12:00:00 host msg",
        "<13>1 Nov 25 12:00:00 host msg",
        "<13>12 Nov 25 12:00:00 host msg",
        // Line breaks in the body, a head alone, priorities.
        "<13>Nov 25 12:00:00 host app: one\ntwo",
        "<13>Nov 25 12:00:00 host\nmsg",
        "<13>1 2026-11-25T12:00:00Z host\rmsg",
        "<13>Nov 25 12:00:00 host msg\r",
        "<13>Nov 25 12:00:00 host ",
        "<1234>Nov 25 12:00:00 host msg",
        "<>Nov 25 12:00:00 host msg",
        "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed",
        "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
        "<165>1 - - app - - hello",
    ] {
        assert_same(frame.as_bytes());
    }
}

#[test]
fn the_parse_tests_fixtures_match_as_the_regexes_do() {
    let text = include_str!("../parse_tests.rs");
    let mut n = 0;
    for quoted in text.split('"').skip(1).step_by(2) {
        if quoted.starts_with('<') {
            let frame = quoted.replace("\\n", "\n").replace("\\r", "\r");
            assert_same(frame.as_bytes());
            n += 1;
        }
    }
    assert!(n >= 20, "{n} fixtures");
}
