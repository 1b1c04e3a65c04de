//! An `AnyValue` of a received request (`borrowed.rs`'s types) as text: a header value or an
//! event body. Strings stay as they are, bytes are base64 in a header and raw in a body, every
//! other value is JSON (`42`, `true`, `1.5`, `[..]`, `{..}`; bytes inside an array or a list
//! are base64 strings, a non-finite double the string `"NaN"`, `"inf"` or `"-inf"`). A string
//! must be UTF-8 (protobuf's rule for `string` fields, checked here because the types read
//! them as bytes). Nesting deeper than [`VALUE_DEPTH_MAX`] is an error, so a hostile value
//! costs bounded stack and time.

use std::borrow::Cow;

use base64::Engine;
use bytes::Bytes;
use serde_json::Value as Json;

use super::borrowed::{AnyValue, Value};

/// Deepest `AnyValue` nesting the mapping follows (an array in an array is depth 2).
pub const VALUE_DEPTH_MAX: usize = 32;

/// Why a value cannot be text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// An `AnyValue` nested deeper than [`VALUE_DEPTH_MAX`].
    #[error("value nested deeper than {VALUE_DEPTH_MAX} levels")]
    TooDeep,
    /// A `string` field whose bytes are not UTF-8.
    #[error("a string that is not valid UTF-8")]
    NotUtf8,
}

/// A `string` field's text (checked with SIMD: a 1 KiB body costs a few ns, not ~100).
pub fn text(b: &[u8]) -> Result<&str, ValueError> {
    simdutf8::basic::from_utf8(b).map_err(|_| ValueError::NotUtf8)
}

/// The value as a header's text.
pub fn header_text(v: Option<&AnyValue>) -> Result<Cow<'_, str>, ValueError> {
    // A string (the usual attribute) is borrowed: the headers copy it into their own buffer.
    match v.and_then(|v| v.value.as_ref()) {
        None => Ok(Cow::Borrowed("")),
        Some(Value::StringValue(s)) => Ok(Cow::Borrowed(text(s)?)),
        Some(Value::BytesValue(b)) => Ok(Cow::Owned(
            base64::engine::general_purpose::STANDARD.encode(b),
        )),
        Some(other) => Ok(Cow::Owned(json(other, 1)?.to_string())),
    }
}

/// The value as an event body: a string's or bytes' slice of the request as it is.
pub fn body(v: Option<AnyValue>) -> Result<Bytes, ValueError> {
    match v.and_then(|v| v.value) {
        None => Ok(Bytes::new()),
        Some(Value::StringValue(s)) => {
            text(&s)?;
            Ok(s)
        }
        Some(Value::BytesValue(b)) => Ok(b),
        Some(other) => Ok(json(&other, 1)?.to_string().into()),
    }
}

/// The value as JSON, at nesting `depth`.
fn json(v: &Value, depth: usize) -> Result<Json, ValueError> {
    if depth > VALUE_DEPTH_MAX {
        return Err(ValueError::TooDeep);
    }
    let inner = |v: Option<&AnyValue>| match v.and_then(|v| v.value.as_ref()) {
        None => Ok(Json::Null),
        Some(x) => json(x, depth + 1),
    };
    Ok(match v {
        Value::StringValue(s) => Json::String(text(s)?.to_owned()),
        Value::BoolValue(b) => Json::Bool(*b),
        Value::IntValue(i) => Json::from(*i),
        Value::DoubleValue(d) => match serde_json::Number::from_f64(*d) {
            Some(n) => Json::Number(n),
            None => Json::String(d.to_string()),
        },
        Value::BytesValue(b) => Json::String(base64::engine::general_purpose::STANDARD.encode(b)),
        Value::ArrayValue(a) => Json::Array(
            a.values
                .iter()
                .map(|x| inner(Some(x)))
                .collect::<Result<_, _>>()?,
        ),
        Value::KvlistValue(l) => Json::Object(
            l.values
                .iter()
                .map(|kv| Ok((text(&kv.key)?.to_owned(), inner(kv.value.as_ref())?)))
                .collect::<Result<_, ValueError>>()?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otlp::borrowed::{ArrayValue, KeyValue, KeyValueList};

    fn v(x: Value) -> AnyValue {
        AnyValue { value: Some(x) }
    }

    fn s(x: &'static str) -> AnyValue {
        v(Value::StringValue(Bytes::from_static(x.as_bytes())))
    }

    #[test]
    fn scalars_are_their_text_and_bytes_are_base64_in_headers_raw_in_bodies() {
        assert_eq!(header_text(Some(&v(Value::IntValue(-7)))).unwrap(), "-7");
        assert_eq!(
            header_text(Some(&v(Value::BoolValue(true)))).unwrap(),
            "true"
        );
        assert_eq!(
            header_text(Some(&v(Value::DoubleValue(1.5)))).unwrap(),
            "1.5"
        );
        assert_eq!(header_text(Some(&s("a b"))).unwrap(), "a b");
        assert_eq!(header_text(None).unwrap(), "");
        let b = v(Value::BytesValue(Bytes::from_static(&[0, 255])));
        assert_eq!(header_text(Some(&b)).unwrap(), "AP8=");
        assert_eq!(body(Some(b)).unwrap(), &[0, 255][..]);
    }

    #[test]
    fn structured_values_are_json() {
        let list = v(Value::KvlistValue(KeyValueList {
            values: vec![
                KeyValue {
                    key: Bytes::from_static(b"a"),
                    value: Some(v(Value::ArrayValue(ArrayValue {
                        values: vec![v(Value::IntValue(1)), s("x")],
                    }))),
                },
                KeyValue {
                    key: Bytes::from_static(b"n"),
                    value: None,
                },
            ],
        }));
        assert_eq!(body(Some(list)).unwrap(), &br#"{"a":[1,"x"],"n":null}"#[..]);
    }

    #[test]
    fn a_string_that_is_not_utf8_is_refused_in_a_body_a_header_and_json() {
        let bad = v(Value::StringValue(Bytes::from_static(&[b'a', 0xff])));
        assert_eq!(body(Some(bad.clone())), Err(ValueError::NotUtf8));
        assert_eq!(header_text(Some(&bad)), Err(ValueError::NotUtf8));
        let list = v(Value::ArrayValue(ArrayValue { values: vec![bad] }));
        assert_eq!(body(Some(list)), Err(ValueError::NotUtf8));
    }

    #[test]
    fn nesting_past_the_limit_is_refused() {
        let mut x = s("leaf");
        for _ in 0..VALUE_DEPTH_MAX {
            x = v(Value::ArrayValue(ArrayValue { values: vec![x] }));
        }
        assert_eq!(body(Some(x.clone())), Err(ValueError::TooDeep));
        let ArrayValue { values } = match x.value {
            Some(Value::ArrayValue(a)) => a,
            _ => unreachable!(),
        };
        assert!(body(values.into_iter().next()).is_ok());
    }
}
