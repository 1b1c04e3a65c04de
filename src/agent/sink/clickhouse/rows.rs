//! Events as JSONEachRow rows: one JSON object per line, the columns in the table's order,
//! every value a JSON string (ClickHouse parses the text for the column's type; a value that
//! does not parse refuses the INSERT: [`bad_value`]). A missing header
//! leaves its column out (its default). The encoding is a pure function of the event and the
//! columns, so a take sent again is the same block byte for byte (what Replicated*MergeTree's
//! block deduplication compares).

use sluice_core::dedup::{IdSpan, EVENT_ID_HEADER};
use sluice_core::Event;

use super::config::Source;
use super::json::json_string;
use super::schema::{Column, TsUnit};

/// ClickHouse's codes for a value that does not parse for its column (the row is poison):
/// CANNOT_PARSE_TEXT 6, CANNOT_PARSE_ESCAPE_SEQUENCE 25, CANNOT_PARSE_QUOTED_STRING 26,
/// CANNOT_PARSE_INPUT_ASSERTION_FAILED 27, CANNOT_PARSE_DATE 38, CANNOT_PARSE_DATETIME 41,
/// CANNOT_PARSE_NUMBER 72, INCORRECT_DATA 117, TOO_LARGE_STRING_SIZE 131, CANNOT_PARSE_UUID
/// 376, UNKNOWN_ELEMENT_OF_ENUM 691 (as 18.16 and later answer them).
const BAD_VALUE_CODES: [u32; 11] = [6, 25, 26, 27, 38, 41, 72, 117, 131, 376, 691];

/// LOGICAL_ERROR: what 18.16 answers for a value no element of an `Enum` column names
/// (`Unknown element 'x' for type Enum8(...)`); a row error only when the message names it.
const LOGICAL_ERROR: u32 = 49;

/// Whether ClickHouse's error `code` with `message` refuses a row for its value (poison):
/// one of [`BAD_VALUE_CODES`], or [`LOGICAL_ERROR`] naming an unknown enum element or the
/// key or row being read.
pub(crate) fn bad_value(code: u32, message: &str) -> bool {
    BAD_VALUE_CODES.contains(&code)
        || (code == LOGICAL_ERROR
            && (message.contains("Unknown element")
                || refused_column(message).is_some()
                || refused_row(message).is_some()))
}

/// One event's row and id.
#[derive(Clone, Debug)]
pub(crate) struct Row {
    /// The row, with its line break.
    pub bytes: Vec<u8>,
    /// The event's id, if it has one Sluice gave.
    pub id: Option<IdSpan>,
}

/// `e`'s row for `columns`.
pub(crate) fn row(columns: &[Column], e: &Event) -> Row {
    let id = e
        .headers
        .get(EVENT_ID_HEADER)
        .and_then(IdSpan::parse)
        .filter(IdSpan::plausible);
    let mut b = Vec::with_capacity(e.body.len() + 64 * columns.len());
    b.push(b'{');
    let mut first = true;
    for c in columns {
        let value: Option<std::borrow::Cow<'_, [u8]>> = match &c.source {
            Source::Body => Some(e.body.as_ref().into()),
            Source::Id => id.map(|s| s.text().as_str().as_bytes().to_vec().into()),
            Source::Header(h) => e.headers.get(h).map(|v| v.as_bytes().into()),
            Source::Timestamp => e
                .headers
                .get("timestamp")
                .map(|v| timestamp(v, c.unit).into()),
        };
        let Some(v) = value else { continue };
        if !first {
            b.push(b',');
        }
        first = false;
        b.extend_from_slice(&c.key);
        json_string(&mut b, &v);
    }
    b.extend_from_slice(b"}\n");
    Row { bytes: b, id }
}

/// The `timestamp` header (ms) for a column of `unit`; a value that is not a number goes as
/// it is (ClickHouse refuses it, naming the column).
fn timestamp(v: &str, unit: TsUnit) -> Vec<u8> {
    match (unit, v.trim().parse::<u64>()) {
        (TsUnit::Seconds, Ok(ms)) => (ms / 1000).to_string().into_bytes(),
        (TsUnit::Millis, Ok(ms)) => ms.to_string().into_bytes(),
        _ => v.as_bytes().to_vec(),
    }
}

/// The 1-based row ClickHouse's message names (`(at row N)`), if any.
pub(crate) fn refused_row(message: &str) -> Option<usize> {
    let rest = message.split("(at row ").nth(1)?;
    rest.split(')').next()?.trim().parse().ok()
}

/// The column ClickHouse's message names (`(while read the value of key NAME)`), if any.
pub(crate) fn refused_column(message: &str) -> Option<&str> {
    let rest = message.split("(while read the value of key ").nth(1)?;
    rest.split(')').next().map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::sink::clickhouse::schema::{parse_describe, plan};

    #[test]
    fn a_row_holds_the_columns_in_order_and_leaves_missing_headers_out() {
        let d = parse_describe("body\tString\t\t\t\ntimestamp\tDateTime\t\t\t\nsluice_id\tString\t\t\t\nhost\tString\t\t\t\nn\tUInt32\t\t\t\n");
        let cols = plan("d.t", &d, &[]).unwrap();
        let e = Event::new("a \"q\"\n\u{1}é")
            .header("timestamp", "1700000000123")
            .header("host", "h1")
            .header(EVENT_ID_HEADER, "00000000000000ab:7");
        let r = row(&cols, &e);
        assert_eq!(
            String::from_utf8(r.bytes.clone()).unwrap(),
            "{\"body\":\"a \\\"q\\\"\\n\\u0001é\",\"timestamp\":\"1700000000\",\"sluice_id\":\"00000000000000ab:7\",\"host\":\"h1\"}\n"
        );
        assert_eq!(r.id, IdSpan::one(0xab, 7));
        assert_eq!(
            row(&cols, &e).bytes,
            r.bytes,
            "the same event, the same bytes"
        );
    }

    #[test]
    fn the_refused_row_and_column_are_read_from_the_message() {
        let m = "Cannot parse input: expected \" before: abc\"}: (while read the value of key n): (at row 2)";
        assert_eq!(refused_row(m), Some(2));
        assert_eq!(refused_column(m), Some("n"));
        assert_eq!(refused_row("Code 60"), None);
    }

    #[test]
    fn an_unknown_enum_element_is_a_bad_value_and_other_logical_errors_are_not() {
        let m = "Unknown element 'zzz' for type Enum8('info' = 1, 'warn' = 2): (while read the value of key level)";
        assert!(bad_value(49, m));
        assert_eq!(refused_column(m), Some("level"));
        assert!(!bad_value(49, "Part 20230101_1_1_0 is broken"));
        assert!(bad_value(27, "anything"));
        assert!(!bad_value(252, "Too many parts (300)"));
    }
}
