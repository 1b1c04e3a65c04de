//! Unit tests of the joiner: the canonical Java stack trace and Python traceback, `before`,
//! the limits, pieces of long lines, time-outs, and restarts at the safe offset.

use super::*;
use crate::agent::source::file_lines::LineBuf;

/// Beats' documented pattern for Java stack traces.
pub(crate) const JAVA: &str = r"^[[:space:]]+(at|\.{3})[[:space:]]+\b|^Caused by:";
/// A line starting with a date starts an event (Python's logging with a traceback after it).
pub(crate) const DATED: &str = r"^\d{4}-\d{2}-\d{2} ";

pub(crate) const JAVA_LOG: &str = "\
2026-11-22 10:00:00 INFO starting
Exception in thread \"main\" java.lang.IllegalStateException: A book has a null property
\tat com.example.myproject.Author.getBookIds(Author.java:38)
\tat com.example.myproject.Bootstrap.main(Bootstrap.java:14)
Caused by: java.lang.NullPointerException
\tat com.example.myproject.Book.getId(Book.java:22)
\t... 1 more
2026-11-22 10:00:01 INFO next
";

pub(crate) const PYTHON_LOG: &str = "\
2026-11-22 10:00:00,001 ERROR request failed
Traceback (most recent call last):
  File \"/srv/app.py\", line 12, in handle
    result = compute(x)
  File \"/srv/app.py\", line 7, in compute
    return 1 / x
ZeroDivisionError: division by zero
2026-11-22 10:00:00,002 INFO next request
";

fn cfg(pattern: &str, negate: bool, match_: Match) -> MultilineConfig {
    MultilineConfig {
        pattern: pattern.into(),
        negate,
        match_,
        timeout: Duration::from_secs(5),
        max_lines: 500,
        max_bytes: 1 << 20,
        max_held_bytes: 64 << 20,
    }
}

fn lines_of(text: &str, max_line: usize) -> Vec<Line> {
    let mut b = LineBuf::new(0, max_line, true);
    b.push(text.as_bytes());
    let mut out: Vec<Line> = std::iter::from_fn(|| b.next_line()).collect();
    out.extend(b.take_rest());
    out
}

/// Everything `text` gives, flushed at its end.
fn join_all(c: &MultilineConfig, text: &str) -> Vec<Joined> {
    let mut j = Joiner::new(Rules::new(c).unwrap());
    let now = Instant::now();
    let mut out: Vec<Joined> = lines_of(text, 1 << 20)
        .into_iter()
        .flat_map(|l| j.push(l, now))
        .flatten()
        .collect();
    out.extend(j.flush());
    out
}

fn bodies(evs: &[Joined]) -> Vec<String> {
    evs.iter()
        .map(|e| String::from_utf8_lossy(&e.bytes).into_owned())
        .collect()
}

#[test]
fn a_java_stack_trace_is_one_event_with_the_lines_around_it_their_own() {
    let c = cfg(JAVA, false, Match::After);
    let got = join_all(&c, JAVA_LOG);
    let b = bodies(&got);
    assert_eq!(b.len(), 3, "{b:#?}");
    assert_eq!(b[0], "2026-11-22 10:00:00 INFO starting");
    assert!(b[1].starts_with("Exception in thread"), "{}", b[1]);
    assert!(b[1].ends_with("\t... 1 more"), "{}", b[1]);
    assert_eq!(b[1].lines().count(), 6);
    assert_eq!(b[2], "2026-11-22 10:00:01 INFO next");
    // Offsets: each event from its first line to after its last, covering the whole text.
    assert_eq!(got[0].offset, 0);
    assert_eq!(got[1].offset, got[0].end);
    assert_eq!(got[2].offset, got[1].end);
    assert_eq!(got[2].end, JAVA_LOG.len() as u64);
    assert_eq!(got[1].lines, 6);
}

#[test]
fn a_python_traceback_joins_the_dated_line_it_follows() {
    let c = cfg(DATED, true, Match::After);
    let b = bodies(&join_all(&c, PYTHON_LOG));
    assert_eq!(b.len(), 2, "{b:#?}");
    assert!(b[0].starts_with("2026-11-22 10:00:00,001 ERROR request failed\nTraceback"));
    assert!(
        b[0].ends_with("ZeroDivisionError: division by zero"),
        "{}",
        b[0]
    );
    assert_eq!(b[0].lines().count(), 7);
    assert_eq!(b[1], "2026-11-22 10:00:00,002 INFO next request");
}

#[test]
fn match_before_joins_lines_ending_in_a_backslash_with_the_line_after() {
    let c = cfg(r"\\$", false, Match::Before);
    let b = bodies(&join_all(&c, "one \\\ntwo \\\nthree\nfour\nfive \\\n"));
    assert_eq!(b, ["one \\\ntwo \\\nthree", "four", "five \\"]);
}

#[test]
fn negate_with_match_before_holds_lines_until_the_matching_one() {
    let c = cfg(r"^END", true, Match::Before);
    let b = bodies(&join_all(&c, "a\nb\nEND 1\nEND 2\nc\n"));
    assert_eq!(b, ["a\nb\nEND 1", "END 2", "c"]);
}

#[test]
fn lines_past_max_lines_are_dropped_but_consumed() {
    let mut c = cfg(r"^\s", false, Match::After);
    c.max_lines = 3;
    let got = join_all(&c, "head\n 1\n 2\n 3\n 4\nnext\n");
    assert_eq!(bodies(&got), ["head\n 1\n 2", "next"]);
    assert!(got[0].truncated);
    assert_eq!(got[0].lines, 5);
    assert_eq!(got[1].offset, got[0].end);
}

#[test]
fn bytes_past_max_bytes_are_cut() {
    let mut c = cfg(r"^\s", false, Match::After);
    c.max_bytes = 8;
    let got = join_all(&c, "head\n 12345\nnext\n");
    assert_eq!(bodies(&got), ["head\n 12", "next"]);
    assert!(got[0].truncated);
    assert!(!got[1].truncated);
}

#[test]
fn pieces_of_a_long_line_are_glued_and_only_the_first_is_matched() {
    let c = cfg(r"^\s", false, Match::After);
    let mut j = Joiner::new(Rules::new(&c).unwrap());
    let now = Instant::now();
    // Line limit 4: " abcdef" arrives as " abc", "def" (a piece starting with no space must
    // not start an event) and "start" as "star", "t".
    let mut got: Vec<Joined> = lines_of("head\n abcdef\nstart\n", 4)
        .into_iter()
        .flat_map(|l| j.push(l, now))
        .flatten()
        .collect();
    got.extend(j.flush());
    assert_eq!(bodies(&got), ["head\n abcdef", "start"]);
}

#[test]
fn the_held_event_expires_after_the_timeout_since_its_last_line() {
    let c = cfg(JAVA, false, Match::After);
    let mut j = Joiner::new(Rules::new(&c).unwrap());
    let t0 = Instant::now();
    for l in lines_of("Exception\n\tat a.b(C.java:1)\n", 100) {
        assert_eq!(j.push(l, t0), [None, None]);
    }
    assert!(!j.expired(t0 + Duration::from_millis(4999)));
    assert!(j.expired(t0 + Duration::from_secs(5)));
    assert_eq!(j.safe_offset(99), 0);
    let ev = j.flush().unwrap();
    assert_eq!(ev.bytes, b"Exception\n\tat a.b(C.java:1)");
    assert!(!j.expired(t0 + Duration::from_secs(60)));
    assert_eq!(j.safe_offset(99), 99);
}

/// A restart at the safe offset after any number of lines gives, with the events handed out
/// before, exactly the events of an uninterrupted run: none split, none lost, none twice
/// (the ones handed out but not committed are re-read, which the source counts as a re-send
/// of an uncommitted batch, not covered here).
#[test]
fn a_restart_at_the_safe_offset_after_any_line_rebuilds_whole_events() {
    for (pattern, negate, m, text) in [
        (JAVA, false, Match::After, JAVA_LOG),
        (DATED, true, Match::After, PYTHON_LOG),
        (r"\\$", false, Match::Before, "a \\\nb\nc \\\nd \\\ne\n"),
    ] {
        let c = cfg(pattern, negate, m);
        let whole = join_all(&c, text);
        let lines = lines_of(text, 1 << 20);
        for cut in 0..=lines.len() {
            let mut j = Joiner::new(Rules::new(&c).unwrap());
            let now = Instant::now();
            let mut got: Vec<Joined> = Vec::new();
            let mut read_to = 0;
            for l in lines.iter().take(cut) {
                read_to = l.offset + l.consumed;
                got.extend(j.push(l.clone(), now).into_iter().flatten());
            }
            let safe = j.safe_offset(read_to) as usize;
            // Killed here: what was handed out is committed; the rest is read again.
            got.extend(join_all(&c, &text[safe..]).into_iter().map(|mut e| {
                e.offset += safe as u64;
                e.end += safe as u64;
                e
            }));
            assert_eq!(got, whole, "pattern {pattern:?}, killed after {cut} lines");
        }
    }
}

/// 48 files each holding a large open event (a Java trace that has not ended), joined by one
/// source: the held sum stays within `multiline.maxHeldBytes`, and every line comes out once,
/// in order, in the file it was read from.
#[test]
fn many_files_holding_open_events_stay_within_the_held_budget_and_lose_no_line() {
    let mut c = cfg(JAVA, false, Match::After);
    c.max_held_bytes = 64 * 1024;
    let rules = Rules::new(&c).unwrap();
    let now = Instant::now();
    let mut joiners: Vec<Joiner> = (0..48).map(|_| Joiner::new(rules.clone())).collect();
    let mut texts = vec![String::new(); 48];
    let mut got: Vec<Vec<Joined>> = vec![Vec::new(); 48];
    let mut offsets = vec![0u64; 48];
    for round in 0..120 {
        for (f, j) in joiners.iter_mut().enumerate() {
            let line = if round == 0 {
                format!("Exception in file {f}\n")
            } else {
                format!(
                    "\tat frame{round:03}.of(File{f}.java:{round}) {}\n",
                    "x".repeat(40)
                )
            };
            texts[f].push_str(&line);
            let l = Line {
                offset: offsets[f],
                consumed: line.len() as u64,
                bytes: line.trim_end_matches('\n').as_bytes().to_vec(),
                complete: true,
            };
            offsets[f] += line.len() as u64;
            got[f].extend(j.push(l, now).into_iter().flatten());
            assert!(
                rules.held().bytes() <= 64 * 1024,
                "held {}",
                rules.held().bytes()
            );
        }
    }
    // Without the budget the files would hold about 48 * 120 * 80 bytes, 7 times it.
    assert!(rules.held().peak_bytes() <= 64 * 1024);
    assert!(rules.held().peak_bytes() > 32 * 1024);
    for (f, j) in joiners.iter_mut().enumerate() {
        got[f].extend(j.flush());
        let lines: Vec<String> = got[f]
            .iter()
            .flat_map(|e| {
                String::from_utf8_lossy(&e.bytes)
                    .lines()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect();
        let want: Vec<&str> = texts[f].lines().collect();
        assert_eq!(lines, want, "file {f}: every line once, in order");
        // Events tile the file: each starts where the one before ended.
        let mut at = 0;
        for e in &got[f] {
            assert_eq!(e.offset, at);
            at = e.end;
        }
        assert_eq!(at, offsets[f]);
    }
    assert_eq!(rules.held().bytes(), 0);
}

#[test]
fn one_file_keeps_its_whole_event_under_the_default_budget() {
    let c = cfg(JAVA, false, Match::After);
    assert!(c.max_held_bytes >= c.max_bytes as u64);
    let text = format!("Exception\n{}next\n", "\tat a.b(C.java:1)\n".repeat(20_000));
    let evs = join_all(&c, &text);
    assert_eq!(evs.len(), 2);
    assert_eq!(evs[0].lines, 20_001);
}
