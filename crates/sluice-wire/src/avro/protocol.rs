//! Flume's `AvroSourceProtocol`: the exact protocol text Flume 1.11 prints (its MD5 is the
//! hash every Flume peer sends in the handshake) and the structural comparison used to accept
//! a client that describes the same protocol in other words (no `doc`, full names, Java
//! string properties, `{"type": "string"}` for `"string"`, other key order).

use serde_json::Value;

/// The protocol text, byte for byte as Flume's generated `AvroSourceProtocol.PROTOCOL` prints.
pub const PROTOCOL_JSON: &str = include_str!("avro-protocol.json");

/// MD5 of [`PROTOCOL_JSON`]: the hash in every Flume handshake.
pub const PROTOCOL_MD5: [u8; 16] = [
    0x80, 0x76, 0xc5, 0x37, 0x14, 0xe0, 0x1f, 0x6e, 0x2c, 0x1d, 0xeb, 0x95, 0x44, 0xe7, 0xb1, 0xfe,
];

/// The namespace whose short names are equivalent to full names.
const NAMESPACE: &str = "org.apache.flume.source.avro";

/// Keys that do not change the wire format.
const IGNORED_KEYS: &[&str] = &["doc", "aliases", "avro.java.string", "java-class"];

/// Why a client's protocol text is not Flume's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolMismatch {
    /// The text is not JSON.
    #[error("not a JSON protocol: {detail}")]
    NotJson {
        /// The JSON parser's reason, with its line and column.
        detail: String,
    },
    /// The built-in protocol text does not parse (a build fault, never the client's).
    #[error("built-in protocol: {detail}")]
    BuiltIn {
        /// The JSON parser's reason.
        detail: String,
    },
    /// A protocol of other types or messages.
    #[error("protocol {name:?} differs from AvroSourceProtocol (types or messages)")]
    Differs {
        /// The name the client's protocol gives itself (`?` when none).
        name: String,
    },
}

/// Whether `text` is Flume's protocol, up to documentation and spelling. `Err` says why not.
pub fn check_compatible(text: &str) -> Result<(), ProtocolMismatch> {
    let theirs: Value = serde_json::from_str(text).map_err(|e| ProtocolMismatch::NotJson {
        detail: e.to_string(),
    })?;
    let ours: Value =
        serde_json::from_str(PROTOCOL_JSON).map_err(|e| ProtocolMismatch::BuiltIn {
            detail: e.to_string(),
        })?;
    let (theirs, ours) = (normalize(theirs, None), normalize(ours, None));
    if theirs == ours {
        return Ok(());
    }
    let name = theirs
        .get("protocol")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_owned();
    Err(ProtocolMismatch::Differs { name })
}

/// Drops ignored keys, writes primitive `{"type": p}` as `p`, and strips Flume's namespace
/// from names so short and full names compare equal.
fn normalize(v: Value, key: Option<&str>) -> Value {
    match v {
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                if IGNORED_KEYS.contains(&k.as_str()) || (k == "namespace" && key.is_some()) {
                    continue;
                }
                let nv = normalize(v, Some(&k));
                out.insert(k, nv);
            }
            if out.len() == 1 {
                if let Some(Value::String(t)) = out.get("type") {
                    if is_primitive(t) {
                        return Value::String(t.clone());
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(|i| normalize(i, key)).collect()),
        Value::String(s)
            if matches!(key, Some("type" | "items" | "values" | "name" | "response")) =>
        {
            let prefix = format!("{NAMESPACE}.");
            Value::String(s.strip_prefix(&prefix).map(str::to_owned).unwrap_or(s))
        }
        other => other,
    }
}

fn is_primitive(t: &str) -> bool {
    matches!(
        t,
        "null" | "boolean" | "int" | "long" | "float" | "double" | "bytes" | "string"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_protocol_text_is_flumes_1289_bytes() {
        assert_eq!(PROTOCOL_JSON.len(), 1289);
        assert!(PROTOCOL_JSON.starts_with("{\"protocol\":\"AvroSourceProtocol\""));
    }

    #[test]
    fn the_protocol_without_doc_and_with_full_names_is_compatible() {
        let nodoc = r#"{"protocol":"AvroSourceProtocol","namespace":"org.apache.flume.source.avro","types":[{"type":"enum","name":"Status","symbols":["OK","FAILED","UNKNOWN"]},{"type":"record","name":"AvroFlumeEvent","fields":[{"name":"headers","type":{"type":"map","values":{"type":"string","avro.java.string":"String"}}},{"name":"body","type":"bytes"}]}],"messages":{"appendBatch":{"request":[{"name":"events","type":{"type":"array","items":"org.apache.flume.source.avro.AvroFlumeEvent"}}],"response":"Status"},"append":{"request":[{"name":"event","type":"AvroFlumeEvent"}],"response":"Status"}}}"#;
        check_compatible(nodoc).unwrap();
        check_compatible(PROTOCOL_JSON).unwrap();
    }

    #[test]
    fn a_protocol_with_another_status_enum_is_refused() {
        let other = PROTOCOL_JSON.replace("\"UNKNOWN\"", "\"MAYBE\"");
        assert!(check_compatible(&other).is_err());
        assert!(check_compatible("not json").is_err());
        assert!(check_compatible(r#"{"protocol":"Mail","messages":{}}"#).is_err());
    }

    #[test]
    fn a_refused_protocol_is_named_and_text_that_is_not_json_is_told_apart() {
        let mail = check_compatible(r#"{"protocol":"Mail","messages":{}}"#);
        let name = "Mail".to_owned();
        assert_eq!(mail, Err(ProtocolMismatch::Differs { name }));
        let text = check_compatible("not json").unwrap_err();
        assert!(matches!(text, ProtocolMismatch::NotJson { .. }), "{text}");
        assert!(
            text.to_string().starts_with("not a JSON protocol: "),
            "{text}"
        );
    }
}
