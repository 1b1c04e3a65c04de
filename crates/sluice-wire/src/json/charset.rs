//! The request charsets of Flume's `JSONHandler`: the charset named by `Content-Type`
//! (`charset=UTF-8` when absent; as in Flume only UTF-8, UTF-16 and UTF-32 are accepted), the
//! body as text, and an event body encoded as Java's `String.getBytes` does it (UTF-16:
//! big-endian with a `FE FF` mark; UTF-32: big-endian); and a JSON scalar as its text.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use super::BadJson;

/// A request charset the JSON handler accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Charset {
    /// UTF-8 (the default).
    Utf8,
    /// UTF-16 (a byte-order mark picks the order; big-endian without one).
    Utf16,
    /// UTF-32 (likewise).
    Utf32,
}

/// The charset named by a `Content-Type` value.
pub fn charset_of(content_type: Option<&str>) -> Result<Charset, BadJson> {
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
        Some(c) => Err(BadJson::UnsupportedCharset(c)),
    }
}

/// The request body as text (borrowed when it is UTF-8 already).
pub fn decode(body: &[u8], cs: Charset) -> Result<Cow<'_, str>, BadJson> {
    match cs {
        Charset::Utf8 => {
            let b = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
            std::str::from_utf8(b)
                .map(Cow::Borrowed)
                .map_err(|e| BadJson::NotUtf8 {
                    valid_up_to: e.valid_up_to(),
                })
        }
        Charset::Utf16 => {
            let (le, b) = match body {
                [0xFE, 0xFF, rest @ ..] => (false, rest),
                [0xFF, 0xFE, rest @ ..] => (true, rest),
                _ => (false, body),
            };
            if b.len() % 2 != 0 {
                return Err(BadJson::Utf16OddLength);
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
                .map_err(BadJson::NotUtf16)
        }
        Charset::Utf32 => {
            let (le, b) = match body {
                [0, 0, 0xFE, 0xFF, rest @ ..] => (false, rest),
                [0xFF, 0xFE, 0, 0, rest @ ..] => (true, rest),
                _ => (false, body),
            };
            if b.len() % 4 != 0 {
                return Err(BadJson::Utf32Length);
            }
            b.chunks_exact(4)
                .map(|c| {
                    let q = [c[0], c[1], c[2], c[3]];
                    let n = if le {
                        u32::from_le_bytes(q)
                    } else {
                        u32::from_be_bytes(q)
                    };
                    char::from_u32(n).ok_or(BadJson::NotUtf32(n))
                })
                .collect::<Result<String, _>>()
                .map(Cow::Owned)
        }
    }
}

/// `text` as Java's `String.getBytes(charset)` encodes it.
pub fn encode(text: &str, cs: Charset) -> Vec<u8> {
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
