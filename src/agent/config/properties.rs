//! A Java `.properties` parser that keeps the line number of every entry.
//!
//! Follows `java.util.Properties.load`: `#` and `!` start comment lines; a line ending in an
//! odd number of backslashes continues on the next line (whose leading whitespace is
//! skipped); the key ends at the first unescaped `=`, `:` or whitespace, and one `=` or `:`
//! with whitespace around it separates it from the value; `\t \n \r \f \uXXXX` and `\x` (any
//! other character, taken literally) are unescaped in keys and values. Keys and values are
//! trimmed, as Flume does. [`store`] writes entries back so that [`parse`] reads them
//! unchanged (the `--conf-uri` backup file).

/// One `key = value` entry and the line it starts on (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The unescaped, trimmed key.
    pub key: String,
    /// The unescaped, trimmed value.
    pub value: String,
    /// The physical line the entry starts on (1-based).
    pub line: usize,
    /// The value as written (escapes kept), when reading it dropped a backslash before a
    /// character that is no escape (`\d` read as `d`); `None` otherwise.
    pub dropped_backslash: Option<String>,
}

/// Parses the text of a properties file into its entries, in file order (duplicates kept).
pub fn parse(text: &str) -> Vec<Entry> {
    let mut entries = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((idx, first)) = lines.next() {
        let trimmed = first.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('!') {
            continue;
        }
        let mut logical = String::new();
        let mut current = trimmed;
        loop {
            if ends_with_continuation(current) {
                logical.push_str(&current[..current.len() - 1]);
                match lines.next() {
                    Some((_, next)) => current = next.trim_start(),
                    None => break,
                }
            } else {
                logical.push_str(current);
                break;
            }
        }
        let (key, value) = split_entry(&logical);
        entries.push(Entry {
            key: unescape(&key).trim().to_owned(),
            value: unescape(&value).trim().to_owned(),
            line: idx + 1,
            dropped_backslash: drops_backslash(&value).then(|| value.trim().to_owned()),
        });
    }
    entries
}

fn ends_with_continuation(line: &str) -> bool {
    line.chars().rev().take_while(|&c| c == '\\').count() % 2 == 1
}

/// Splits a logical line into its raw (still escaped) key and value.
fn split_entry(line: &str) -> (String, String) {
    let mut key = String::new();
    let mut chars = line.char_indices().peekable();
    let mut rest_at = line.len();
    while let Some((i, c)) = chars.next() {
        if c == '\\' {
            key.push(c);
            if let Some((_, n)) = chars.next() {
                key.push(n);
            }
            continue;
        }
        if c == '=' || c == ':' || c.is_whitespace() {
            rest_at = i;
            break;
        }
        key.push(c);
    }
    let rest = &line[rest_at..];
    let rest = rest.trim_start();
    let rest = rest
        .strip_prefix('=')
        .or_else(|| rest.strip_prefix(':'))
        .unwrap_or(rest);
    (key, rest.trim_start().to_owned())
}

/// Whether unescaping `raw` drops a backslash before a character that has no escape meaning
/// (the escapes are `\t \n \r \f \uXXXX`, and `\` before `\ = : # !` and whitespace).
fn drops_backslash(raw: &str) -> bool {
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            continue;
        }
        match chars.next() {
            Some('t' | 'n' | 'r' | 'f' | 'u' | '\\' | '=' | ':' | '#' | '!') | None => {}
            Some(w) if w.is_whitespace() => {}
            Some(_) => return true,
        }
    }
    false
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.clone().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) if hex.len() == 4 => {
                        out.push(ch);
                        for _ in 0..4 {
                            chars.next();
                        }
                    }
                    _ => out.push('u'),
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// Properties text holding `entries` (key, value) in order, one per line, escaped so that
/// [`parse`] gives them back as they are (line breaks included; [`parse`] trims values, so
/// a value read by it has no blanks at its ends to keep).
pub(crate) fn store(entries: &[(String, String)]) -> String {
    let mut out = String::new();
    for (k, v) in entries {
        escape_into(&mut out, k, true);
        out.push_str(" = ");
        escape_into(&mut out, v, false);
        out.push('\n');
    }
    out
}

/// Escapes `s`: `\`, line breaks, tabs and form feeds always; in a key also blanks and the
/// separators `=` `:` and the comment marks `#` `!`.
fn escape_into(out: &mut String, s: &str, key: bool) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{c}' => out.push_str("\\f"),
            ' ' if key => out.push_str("\\ "),
            '=' | ':' | '#' | '!' if key => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_then_parse_gives_the_entries_back() {
        let entries: Vec<(String, String)> = [
            ("a.b", "plain"),
            ("k e=y:#!", "lead, \\d, tab\there"),
            ("multi", "one\ntwo\r\u{c}end"),
            ("empty", ""),
            ("#not.comment", "x = y # z"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let text = store(&entries);
        let back: Vec<(String, String)> =
            parse(&text).into_iter().map(|e| (e.key, e.value)).collect();
        assert_eq!(back, entries, "{text}");
        assert!(parse(&text).iter().all(|e| e.dropped_backslash.is_none()));
    }

    fn kv(text: &str) -> Vec<(String, String, usize)> {
        parse(text)
            .into_iter()
            .map(|e| (e.key, e.value, e.line))
            .collect()
    }

    #[test]
    fn separators_equals_colon_and_whitespace_are_all_accepted() {
        let got = kv("a=1\nb : 2\nc 3\n  d\t=  4  \n");
        let want = vec![
            ("a".into(), "1".into(), 1),
            ("b".into(), "2".into(), 2),
            ("c".into(), "3".into(), 3),
            ("d".into(), "4".into(), 4),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn comments_and_blank_lines_are_skipped_and_lines_still_count() {
        let got = kv("# one\n! two\n\n   \nk = v\n");
        assert_eq!(got, vec![("k".into(), "v".into(), 5)]);
    }

    #[test]
    fn continuation_joins_lines_and_keeps_the_first_line_number() {
        let got = kv("x = 1\nlist = r1 \\\n    r2 \\\n  r3\ny = 2\n");
        assert_eq!(got[1], ("list".into(), "r1 r2 r3".into(), 2));
        assert_eq!(got[2], ("y".into(), "2".into(), 5));
    }

    #[test]
    fn an_escaped_backslash_at_the_end_does_not_continue() {
        let got = kv("path = c:\\\\\nnext = 1\n");
        assert_eq!(got[0].1, "c:\\");
        assert_eq!(got[1].0, "next");
    }

    #[test]
    fn escapes_in_keys_and_values_are_decoded() {
        let got = kv("my\\ key\\=x = tab\\there \\u0041\\q\n");
        assert_eq!(got[0].0, "my key=x");
        assert_eq!(got[0].1, "tab\there Aq");
    }

    #[test]
    fn a_dropped_backslash_is_reported_with_the_value_as_written() {
        let got = parse("p = ^\\d{4} \\\\d\nq = a\\:b\\ c\\\\d\\tx\n");
        assert_eq!(got[0].value, "^d{4} \\d");
        assert_eq!(got[0].dropped_backslash.as_deref(), Some("^\\d{4} \\\\d"));
        assert_eq!(got[1].value, "a:b c\\d\tx");
        assert_eq!(got[1].dropped_backslash, None);
    }

    #[test]
    fn a_key_alone_has_an_empty_value() {
        assert_eq!(kv("lonely\n"), vec![("lonely".into(), String::new(), 1)]);
    }
}
