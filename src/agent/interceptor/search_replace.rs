//! `search_replace`: replaces every match of `searchPattern` in the body with `replaceString`
//! (Java `Matcher.replaceAll` syntax: `$1`, `${name}`, `\$` for a literal dollar), reading and
//! writing the body in `charset` (UTF-8 by default; ISO-8859-1 and US-ASCII also supported).

use std::borrow::Cow;

use regex::Regex;

use super::{compile, required_prop, Interceptor};
use crate::agent::component::{ComponentError, Props};
use sluice_core::Event;

/// The body encodings the interceptor can decode and re-encode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Charset {
    Utf8,
    Latin1,
    Ascii,
}

impl Charset {
    fn parse(name: &str) -> Option<Charset> {
        match name.trim().to_ascii_uppercase().replace('_', "-").as_str() {
            "UTF-8" | "UTF8" => Some(Charset::Utf8),
            "ISO-8859-1" | "ISO8859-1" | "LATIN1" => Some(Charset::Latin1),
            "US-ASCII" | "ASCII" => Some(Charset::Ascii),
            _ => None,
        }
    }

    /// Decodes like Java's `new String(bytes, charset)`: malformed input becomes U+FFFD.
    fn decode<'a>(self, bytes: &'a [u8]) -> Cow<'a, str> {
        match self {
            Charset::Utf8 => String::from_utf8_lossy(bytes),
            Charset::Latin1 => Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()),
            Charset::Ascii => Cow::Owned(
                bytes
                    .iter()
                    .map(|&b| {
                        if b.is_ascii() {
                            char::from(b)
                        } else {
                            '\u{fffd}'
                        }
                    })
                    .collect(),
            ),
        }
    }

    /// Encodes like Java's `String.getBytes(charset)`: unmappable characters become `?`.
    fn encode(self, s: &str) -> Vec<u8> {
        match self {
            Charset::Utf8 => s.as_bytes().to_vec(),
            Charset::Latin1 => s
                .chars()
                .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
                .collect(),
            Charset::Ascii => s
                .chars()
                .map(|c| if c.is_ascii() { c as u8 } else { b'?' })
                .collect(),
        }
    }
}

/// Search-and-replace on the body.
#[derive(Debug, Clone)]
pub(crate) struct SearchReplaceInterceptor {
    search: Regex,
    replace: String,
    charset: Charset,
}

impl SearchReplaceInterceptor {
    /// Builds from properties: `searchPattern` (required, not empty), `replaceString`
    /// (required, may be empty), `charset` (default UTF-8).
    pub(crate) fn from_props(props: &Props) -> Result<Self, ComponentError> {
        let search = compile("searchPattern", required_prop(props, "searchPattern")?)?;
        let java = props.get("replaceString").ok_or_else(|| {
            ComponentError::new("replaceString", "is required (an empty value is allowed)")
        })?;
        let replace = java_replacement(java, &search)
            .map_err(|m| ComponentError::new("replaceString", m.to_string()))?;
        let charset = match props.get("charset") {
            Some(name) => Charset::parse(name).ok_or_else(|| {
                ComponentError::new(
                    "charset",
                    format!("unsupported charset {name:?}; supported: UTF-8, ISO-8859-1, US-ASCII"),
                )
            })?,
            None => Charset::Utf8,
        };
        Ok(SearchReplaceInterceptor {
            search,
            replace,
            charset,
        })
    }
}

impl Interceptor for SearchReplaceInterceptor {
    fn intercept(&self, mut e: Event) -> Option<Event> {
        let body = self.charset.decode(&e.body);
        if let Cow::Owned(new) = self.search.replace_all(&body, self.replace.as_str()) {
            e.body = self.charset.encode(&new).into();
        }
        Some(e)
    }
}

/// Why a Java replacement string is refused (Java's own messages).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum ReplacementError {
    #[error("character to be escaped is missing at the end")]
    TrailingEscape,
    #[error("group name is missing its closing '}}'")]
    UnclosedName,
    #[error("invalid group name ${{{0}}}")]
    InvalidName(String),
    #[error("no group named {0:?} in searchPattern")]
    NoSuchName(String),
    #[error("illegal group reference: '$' must be followed by a digit or '{{'")]
    BadReference,
    #[error("no group {0} in searchPattern")]
    NoSuchGroup(usize),
}

/// Translates a Java replacement string into the `regex` crate's syntax, checking every group
/// reference against `re` (Java fails on a bad reference at the first match; Sluice at start).
fn java_replacement(java: &str, re: &Regex) -> Result<String, ReplacementError> {
    let groups = re.captures_len() - 1;
    let mut out = String::with_capacity(java.len());
    let mut chars = java.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(other) => out.push(other),
                None => return Err(ReplacementError::TrailingEscape),
            },
            '$' if chars.peek() == Some(&'{') => {
                chars.next();
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => name.push(c),
                        None => return Err(ReplacementError::UnclosedName),
                    }
                }
                let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                    && name.chars().all(|c| c.is_ascii_alphanumeric());
                if !valid {
                    return Err(ReplacementError::InvalidName(name));
                }
                if !re.capture_names().flatten().any(|n| n == name) {
                    return Err(ReplacementError::NoSuchName(name));
                }
                out.push_str(&format!("${{{name}}}"));
            }
            '$' => {
                let first = chars
                    .next()
                    .and_then(|d| d.to_digit(10))
                    .ok_or(ReplacementError::BadReference)?;
                let mut group = first as usize;
                if group > groups {
                    return Err(ReplacementError::NoSuchGroup(group));
                }
                // Java takes further digits only while the number stays a valid group.
                while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                    let longer = group * 10 + d as usize;
                    if longer > groups {
                        break;
                    }
                    group = longer;
                    chars.next();
                }
                out.push_str(&format!("${{{group}}}"));
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interceptor(pairs: &[(&str, &str)]) -> Result<SearchReplaceInterceptor, ComponentError> {
        let p: Props = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        SearchReplaceInterceptor::from_props(&p)
    }

    fn body(i: &SearchReplaceInterceptor, b: &[u8]) -> Vec<u8> {
        i.intercept(Event::new(b.to_vec()))
            .unwrap()
            .into_parts()
            .1
            .to_vec()
    }

    #[test]
    fn removes_a_prefix_like_the_flume_guide_example() {
        let i = interceptor(&[("searchPattern", "^[A-Za-z0-9_]+"), ("replaceString", "")]).unwrap();
        assert_eq!(body(&i, b"lorem ipsum"), b" ipsum");
    }

    #[test]
    fn replaces_every_match_with_numbered_and_named_groups() {
        let i = interceptor(&[
            ("searchPattern", r"(?P<k>\w+)=(\d+)"),
            ("replaceString", "$2:${k}"),
        ])
        .unwrap();
        assert_eq!(body(&i, b"a=1 b=22"), b"1:a 22:b");
    }

    #[test]
    fn escaped_dollar_and_backslash_are_literal() {
        let i = interceptor(&[("searchPattern", "USD"), ("replaceString", r"\$\\")]).unwrap();
        assert_eq!(body(&i, b"5 USD"), b"5 $\\");
    }

    #[test]
    fn group_number_takes_digits_only_while_the_group_exists() {
        // One group: "$10" is group 1 followed by a literal 0, as in Java.
        let i = interceptor(&[("searchPattern", "(a)"), ("replaceString", "$10")]).unwrap();
        assert_eq!(body(&i, b"xa"), b"xa0");
    }

    #[test]
    fn bad_replacements_are_errors_on_replace_string() {
        for bad in ["$2", "$x", "${nope}", "tail\\", "${1a}", "${k", "$"] {
            let err = interceptor(&[("searchPattern", "(a)"), ("replaceString", bad)]).unwrap_err();
            assert_eq!(err.key, "replaceString", "{bad}");
        }
        let err =
            interceptor(&[("searchPattern", "(?P<k>a)"), ("replaceString", "${k")]).unwrap_err();
        assert!(err.message.contains("closing"), "{err}");
    }

    #[test]
    fn missing_keys_are_errors_naming_them() {
        let err = interceptor(&[("replaceString", "")]).unwrap_err();
        assert_eq!(err.key, "searchPattern");
        let err = interceptor(&[("searchPattern", ""), ("replaceString", "")]).unwrap_err();
        assert_eq!(err.key, "searchPattern");
        let err = interceptor(&[("searchPattern", "a")]).unwrap_err();
        assert_eq!(err.key, "replaceString");
        let err = interceptor(&[
            ("searchPattern", "a"),
            ("replaceString", ""),
            ("charset", "EBCDIC"),
        ])
        .unwrap_err();
        assert_eq!(err.key, "charset");
    }

    #[test]
    fn latin1_bodies_round_trip_bytes_that_are_not_utf8() {
        let i = interceptor(&[
            ("searchPattern", "caf\u{e9}"),
            ("replaceString", "tea"),
            ("charset", "iso-8859-1"),
        ])
        .unwrap();
        assert_eq!(body(&i, b"caf\xe9 \xff"), b"tea \xff");
    }

    #[test]
    fn a_body_without_a_match_is_left_byte_for_byte() {
        let i = interceptor(&[("searchPattern", "zzz"), ("replaceString", "y")]).unwrap();
        assert_eq!(body(&i, b"\xff\xfe raw"), b"\xff\xfe raw");
    }

    #[test]
    fn ascii_charset_turns_unmappable_characters_into_question_marks() {
        let i = interceptor(&[
            ("searchPattern", "a"),
            ("replaceString", "\u{e9}"),
            ("charset", "US-ASCII"),
        ])
        .unwrap();
        assert_eq!(body(&i, b"ba"), b"b?");
    }
}
