//! The HTTP source's handlers, pure functions from a request's bytes to events.
//!
//! - `JSONHandler` (Flume's default, json.rs): the body is a JSON array of
//!   `{"headers": {"k": "v", ...}, "body": "text"}`; numbers and booleans are taken as their
//!   text (as Gson does), a missing body is empty. The request charset comes from
//!   `Content-Type` (`charset=UTF-8` when absent); as in Flume only UTF-8, UTF-16 and UTF-32
//!   are accepted, and each event body is its text encoded in the request charset the way
//!   Java's `String.getBytes` does it (UTF-16: big-endian with a `FE FF` mark; UTF-32:
//!   big-endian).
//! - `BlobHandler`: the whole body is one event, cut at `maxBlobLength` bytes; the query
//!   parameters are its headers (the last value of a repeated name wins).

use sluice_core::Headers;
use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use sluice_core::Event;

/// Why a request's charset or text is refused (the JSON handler answers 400 with it).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CharsetError {
    /// `Content-Type` names another charset.
    #[error("unsupported charset {0:?}: the JSON handler supports UTF-8, UTF-16 and UTF-32 only")]
    Unsupported(String),
    /// Not UTF-8 from this byte on.
    #[error("request body is not valid UTF-8 (at byte {0})")]
    Utf8(usize),
    /// UTF-16 of an odd length.
    #[error("request body is not valid UTF-16 (odd length)")]
    Utf16Length,
    /// A lone surrogate.
    #[error("request body is not valid UTF-16: {0}")]
    Utf16(std::char::DecodeUtf16Error),
    /// UTF-32 whose length is not a multiple of 4.
    #[error("request body is not valid UTF-32 (length not a multiple of 4)")]
    Utf32Length,
    /// Not a Unicode scalar value.
    #[error("request body is not valid UTF-32 (code point {0:#x})")]
    Utf32(u32),
}

/// A request charset the JSON handler accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Charset {
    /// UTF-8 (the default).
    Utf8,
    /// UTF-16 (a byte-order mark picks the order; big-endian without one).
    Utf16,
    /// UTF-32 (likewise).
    Utf32,
}

/// The charset named by a `Content-Type` value.
pub(crate) fn charset_of(content_type: Option<&str>) -> Result<Charset, CharsetError> {
    let Some(ct) = content_type else {
        return Ok(Charset::Utf8);
    };
    let param = ct.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"').to_owned())
    });
    match param {
        None => Ok(Charset::Utf8),
        Some(c) if c.eq_ignore_ascii_case("utf-8") => Ok(Charset::Utf8),
        Some(c) if c.eq_ignore_ascii_case("utf-16") => Ok(Charset::Utf16),
        Some(c) if c.eq_ignore_ascii_case("utf-32") => Ok(Charset::Utf32),
        Some(c) => Err(CharsetError::Unsupported(c)),
    }
}

/// The request body as text (borrowed when it is UTF-8 already).
pub(crate) fn decode(body: &[u8], cs: Charset) -> Result<Cow<'_, str>, CharsetError> {
    match cs {
        Charset::Utf8 => {
            let b = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
            std::str::from_utf8(b)
                .map(Cow::Borrowed)
                .map_err(|e| CharsetError::Utf8(e.valid_up_to()))
        }
        Charset::Utf16 => {
            let (le, b) = match body {
                [0xFE, 0xFF, rest @ ..] => (false, rest),
                [0xFF, 0xFE, rest @ ..] => (true, rest),
                _ => (false, body),
            };
            if b.len() % 2 != 0 {
                return Err(CharsetError::Utf16Length);
            }
            let units = b.chunks_exact(2).map(|c| {
                let pair = [c[0], c[1]];
                if le {
                    u16::from_le_bytes(pair)
                } else {
                    u16::from_be_bytes(pair)
                }
            });
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .map(Cow::Owned)
                .map_err(CharsetError::Utf16)
        }
        Charset::Utf32 => {
            let (le, b) = match body {
                [0, 0, 0xFE, 0xFF, rest @ ..] => (false, rest),
                [0xFF, 0xFE, 0, 0, rest @ ..] => (true, rest),
                _ => (false, body),
            };
            if b.len() % 4 != 0 {
                return Err(CharsetError::Utf32Length);
            }
            b.chunks_exact(4)
                .map(|c| {
                    let q = [c[0], c[1], c[2], c[3]];
                    let n = if le {
                        u32::from_le_bytes(q)
                    } else {
                        u32::from_be_bytes(q)
                    };
                    char::from_u32(n).ok_or(CharsetError::Utf32(n))
                })
                .collect::<Result<String, _>>()
                .map(Cow::Owned)
        }
    }
}

/// `text` as Java's `String.getBytes(charset)` encodes it.
pub(crate) fn encode(text: &str, cs: Charset) -> Vec<u8> {
    match cs {
        Charset::Utf8 => text.as_bytes().to_vec(),
        Charset::Utf16 => {
            let mut out = vec![0xFE, 0xFF];
            for u in text.encode_utf16() {
                out.extend_from_slice(&u.to_be_bytes());
            }
            out
        }
        Charset::Utf32 => text
            .chars()
            .flat_map(|c| (c as u32).to_be_bytes())
            .collect(),
    }
}

/// A JSON string, number or boolean, as text; `null` is absent.
pub(super) struct Scalar(pub(super) Option<String>);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(Some(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar(Some(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(Some(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(Some(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(Some(v.to_string())))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(Some(v.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// `BlobHandler`: the body (cut at `max_blob_length` bytes) with the query parameters as
/// headers.
pub(crate) fn blob_event(body: &[u8], query: Option<&str>, max_blob_length: usize) -> Event {
    let mut headers = Headers::new();
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        headers.insert(percent_decode(k), percent_decode(v));
    }
    let n = body.len().min(max_blob_length);
    if n < body.len() {
        tracing::warn!(
            max_blob_length,
            "request length exceeds maxBlobLength; truncating BLOB event"
        );
    }
    Event::with_headers(headers, body.get(..n).unwrap_or_default().to_vec())
}

/// `application/x-www-form-urlencoded` decoding (`+` is a space; bad escapes stay as they are).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(v) = hex {
                    out.push(v);
                    i += 3;
                    continue;
                }
                out.push(c);
            }
            _ => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_is_one_event_cut_at_max_length_with_query_headers() {
        let e = blob_event(b"0123456789", Some("a=1&b=x%20y+z&a=2&flag"), 4);
        assert_eq!(e.body, &b"0123"[..]);
        assert_eq!(e.headers.get("a").unwrap(), "2");
        assert_eq!(e.headers.get("b").unwrap(), "x y z");
        assert_eq!(e.headers.get("flag").unwrap(), "");
    }
}
