//! OTLP/JSON request bodies. The protobuf JSON mapping writes 64-bit integers as decimal
//! strings and lets readers take JSON numbers too; `opentelemetry-proto` reads a log record's
//! `timeUnixNano` and `observedTimeUnixNano` only as strings. A body that does not decode is
//! read a second time with those two fields' numbers turned into strings (the common body,
//! strings already, costs nothing more); anything else keeps the first error.

use serde_json::Value;

use crate::agent::otlp::proto::ExportLogsServiceRequest;

/// The fields `opentelemetry-proto` reads as strings only.
const U64_FIELDS: [&str; 2] = ["timeUnixNano", "observedTimeUnixNano"];

/// Decodes an OTLP/JSON logs request, taking the 64-bit time fields as numbers or strings.
pub fn decode(bytes: &[u8]) -> Result<ExportLogsServiceRequest, serde_json::Error> {
    let first = match serde_json::from_slice(bytes) {
        Ok(r) => return Ok(r),
        Err(e) => e,
    };
    let Ok(mut v) = serde_json::from_slice::<Value>(bytes) else {
        return Err(first);
    };
    if !numbers_to_strings(&mut v) {
        return Err(first);
    }
    serde_json::from_value(v).map_err(|_| first)
}

/// Turns the numbers of [`U64_FIELDS`] anywhere in `v` into their decimal strings; whether
/// any was. Iterative: the parser's depth limit bounds the value, not this walk's stack.
fn numbers_to_strings(v: &mut Value) -> bool {
    let mut changed = false;
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                for (k, field) in map.iter_mut() {
                    match field {
                        Value::Number(n) if U64_FIELDS.contains(&k.as_str()) => {
                            *field = Value::String(n.to_string());
                            changed = true;
                        }
                        other => stack.push(other),
                    }
                }
            }
            Value::Array(items) => stack.extend(items.iter_mut()),
            _ => {}
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(time: &str) -> String {
        format!(
            r#"{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[{{"timeUnixNano":{time},"observedTimeUnixNano":{time},"body":{{"stringValue":"hello"}},"attributes":[{{"key":"n","value":{{"intValue":7}}}}]}}]}}]}}]}}"#
        )
    }

    fn first_record(r: &ExportLogsServiceRequest) -> (u64, u64) {
        let rec = &r.resource_logs[0].scope_logs[0].log_records[0];
        (rec.time_unix_nano, rec.observed_time_unix_nano)
    }

    #[test]
    fn the_time_fields_read_as_strings_and_as_numbers_alike() {
        let nanos = 1_764_000_000_123_456_789u64;
        let as_string = decode(body(&format!("\"{nanos}\"")).as_bytes()).unwrap();
        let numeric = body(&nanos.to_string());
        // What this module is for: the generated types alone refuse the numbers.
        assert!(serde_json::from_str::<ExportLogsServiceRequest>(&numeric).is_err());
        let as_number = decode(numeric.as_bytes()).unwrap();
        assert_eq!(first_record(&as_string), (nanos, nanos));
        assert_eq!(as_number, as_string);
    }

    #[test]
    fn a_body_that_is_not_a_request_keeps_the_first_error() {
        for bad in [
            &b"{"[..],
            b"[1,2]",
            br#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":-5}]}]}]}"#,
        ] {
            assert!(decode(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
