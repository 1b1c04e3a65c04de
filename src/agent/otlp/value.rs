//! An `AnyValue` as text: a header value or an event body. Strings stay as they are, bytes are
//! base64 in a header and raw in a body, every other value is JSON (`42`, `true`, `1.5`,
//! `[..]`, `{..}`; bytes inside an array or a list are base64 strings, a non-finite double
//! the string `"NaN"`, `"inf"` or `"-inf"`). Nesting deeper than [`VALUE_DEPTH_MAX`] is an
//! error, so a hostile value costs bounded stack and time.

use std::borrow::Cow;

use base64::Engine;
use serde_json::Value as Json;

use super::proto::{any_value::Value, AnyValue};

/// Deepest `AnyValue` nesting the mapping follows (an array in an array is depth 2).
pub(crate) const VALUE_DEPTH_MAX: usize = 32;

/// An `AnyValue` nested deeper than [`VALUE_DEPTH_MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("value nested deeper than {VALUE_DEPTH_MAX} levels")]
pub(crate) struct TooDeep;

/// The value as a header's text.
pub(crate) fn header_text(v: Option<&AnyValue>) -> Result<Cow<'_, str>, TooDeep> {
    // A string (the usual attribute) is borrowed: the headers copy it into their own buffer.
    match v.and_then(|v| v.value.as_ref()) {
        None => Ok(Cow::Borrowed("")),
        Some(Value::StringValue(s)) => Ok(Cow::Borrowed(s)),
        Some(Value::BytesValue(b)) => Ok(Cow::Owned(
            base64::engine::general_purpose::STANDARD.encode(b),
        )),
        Some(other) => Ok(Cow::Owned(json(other, 1)?.to_string())),
    }
}

/// The value as an event body.
#[cfg(test)]
pub(crate) fn body_bytes(v: Option<&AnyValue>) -> Result<Vec<u8>, TooDeep> {
    match v.and_then(|v| v.value.as_ref()) {
        None => Ok(Vec::new()),
        Some(Value::StringValue(s)) => Ok(s.clone().into_bytes()),
        Some(Value::BytesValue(b)) => Ok(b.clone()),
        Some(other) => Ok(json(other, 1)?.to_string().into_bytes()),
    }
}

/// [`body_bytes`] of a value given up: a string's or bytes' buffer is taken, not copied.
pub(crate) fn body_owned(v: Option<AnyValue>) -> Result<Vec<u8>, TooDeep> {
    match v.and_then(|v| v.value) {
        None => Ok(Vec::new()),
        Some(Value::StringValue(s)) => Ok(s.into_bytes()),
        Some(Value::BytesValue(b)) => Ok(b),
        Some(other) => Ok(json(&other, 1)?.to_string().into_bytes()),
    }
}

/// The value as JSON, at nesting `depth`.
fn json(v: &Value, depth: usize) -> Result<Json, TooDeep> {
    if depth > VALUE_DEPTH_MAX {
        return Err(TooDeep);
    }
    let inner = |v: Option<&AnyValue>| match v.and_then(|v| v.value.as_ref()) {
        None => Ok(Json::Null),
        Some(x) => json(x, depth + 1),
    };
    Ok(match v {
        Value::StringValue(s) => Json::String(s.clone()),
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
                .map(|kv| Ok((kv.key.clone(), inner(kv.value.as_ref())?)))
                .collect::<Result<_, TooDeep>>()?,
        ),
    })
}

/// A string `AnyValue`.
pub(crate) fn string(s: &str) -> AnyValue {
    AnyValue {
        value: Some(Value::StringValue(s.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::otlp::proto::{ArrayValue, KeyValue, KeyValueList};

    fn v(x: Value) -> AnyValue {
        AnyValue { value: Some(x) }
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
        assert_eq!(header_text(Some(&string("a b"))).unwrap(), "a b");
        assert_eq!(header_text(None).unwrap(), "");
        let b = v(Value::BytesValue(vec![0, 255]));
        assert_eq!(header_text(Some(&b)).unwrap(), "AP8=");
        assert_eq!(body_bytes(Some(&b)).unwrap(), vec![0, 255]);
    }

    #[test]
    fn structured_values_are_json() {
        let list = v(Value::KvlistValue(KeyValueList {
            values: vec![
                KeyValue {
                    key: "a".into(),
                    value: Some(v(Value::ArrayValue(ArrayValue {
                        values: vec![v(Value::IntValue(1)), string("x")],
                    }))),
                },
                KeyValue {
                    key: "n".into(),
                    value: None,
                },
            ],
        }));
        assert_eq!(
            body_bytes(Some(&list)).unwrap(),
            br#"{"a":[1,"x"],"n":null}"#.to_vec()
        );
    }

    #[test]
    fn nesting_past_the_limit_is_refused() {
        let mut x = string("leaf");
        for _ in 0..VALUE_DEPTH_MAX {
            x = v(Value::ArrayValue(ArrayValue { values: vec![x] }));
        }
        assert_eq!(body_bytes(Some(&x)), Err(TooDeep));
        let ArrayValue { values } = match x.value {
            Some(Value::ArrayValue(a)) => a,
            _ => unreachable!(),
        };
        assert!(body_bytes(values.first()).is_ok());
    }
}
