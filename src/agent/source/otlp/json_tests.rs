//! OTLP/JSON: the time fields as strings or numbers, and what a body costs to decode.

use super::*;

fn body(time: &str) -> String {
    format!(
        r#"{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[{{"timeUnixNano":{time},"observedTimeUnixNano":{time},"body":{{"stringValue":"hello"}},"attributes":[{{"key":"n","value":{{"intValue":7}}}}]}}]}}]}}]}}"#
    )
}

fn decoded(text: &str) -> Result<ExportLogsServiceRequest, serde_json::Error> {
    let s = scan(text.as_bytes()).unwrap();
    decode(text.as_bytes(), &s)
}

fn first_record(r: &ExportLogsServiceRequest) -> (u64, u64) {
    let rec = &r.resource_logs[0].scope_logs[0].log_records[0];
    (rec.time_unix_nano, rec.observed_time_unix_nano)
}

#[test]
fn the_time_fields_read_as_strings_and_as_numbers_alike() {
    let nanos = 1_764_000_000_123_456_789u64;
    let as_string = decoded(&body(&format!("\"{nanos}\""))).unwrap();
    let numeric = body(&nanos.to_string());
    // What the quoting is for: the generated types alone refuse the numbers.
    assert!(serde_json::from_str::<ExportLogsServiceRequest>(&numeric).is_err());
    let as_number = decoded(&numeric).unwrap();
    assert_eq!(first_record(&as_string), (nanos, nanos));
    assert_eq!(as_number, as_string);
}

#[test]
fn a_body_that_is_not_a_request_is_refused() {
    for bad in [
        "{",
        "[1,2]",
        r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":-5}]}]}]}"#,
    ] {
        assert!(decoded(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn each_element_and_each_token_inside_a_value_is_counted() {
    let text = body("\"1\"");
    let s = scan(text.as_bytes()).unwrap();
    // One resource, scope, record and attribute; 3 tokens in the body ({, key, value) and 3
    // in the attribute's value.
    let want = 3 * text.len() as u64
        + element_bytes(b"resourceLogs")
        + element_bytes(b"scopeLogs")
        + element_bytes(b"logRecords")
        + element_bytes(b"attributes")
        + 6 * TOKEN_BYTES;
    assert_eq!(s.cost, want);
    assert!(
        element_bytes(b"logRecords") > 400,
        "{}",
        element_bytes(b"logRecords")
    );
}

#[test]
fn eight_mb_of_empty_attributes_cost_more_than_half_a_gib_and_an_escaped_key_counts_most() {
    let mut text = String::from(r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"attributes":["#);
    text.push_str(&"{},".repeat((8 << 20) / 3));
    text.push_str("{}]}]}]}]}");
    let s = scan(text.as_bytes()).unwrap();
    assert!(s.cost > 512 << 20, "{}", s.cost);
    let escaped = r#"{"resourceLogs":[{"scopeLogs":[{"log\u0052ecords":[{},{}]}]}]}"#;
    let plain = escaped.replace("\\u0052", "R");
    let (e, p) = (
        scan(escaped.as_bytes()).unwrap(),
        scan(plain.as_bytes()).unwrap(),
    );
    assert!(e.cost - 3 * escaped.len() as u64 >= p.cost - 3 * plain.len() as u64);
}

#[test]
fn nesting_past_the_limit_is_refused_before_decoding() {
    let deep = "[".repeat(DEPTH_MAX + 1);
    assert_eq!(scan(deep.as_bytes()), Err(ScanError::TooDeep));
}
