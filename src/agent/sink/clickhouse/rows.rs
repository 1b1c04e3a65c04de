//! Events as JSONEachRow rows: one JSON object per line, the columns in the table's order,
//! every value a JSON string (ClickHouse parses the text for the column's type; a value that
//! does not parse refuses the INSERT: [`bad_value`]). A missing header
//! leaves its column out (its default). The encoding is a pure function of the event and the
//! columns, so a take sent again is the same block byte for byte (what Replicated*MergeTree's
//! block deduplication compares).

use bytes::Bytes;
use sluice_core::dedup::{IdSpan, EVENT_ID_HEADER};
use sluice_core::Event;

use super::config::Source;
use super::json::json_string;
use super::schema::{Column, TsUnit};

/// ClickHouse's codes for a value that does not parse or fit its column (the row is poison):
/// CANNOT_PARSE_TEXT 6, CANNOT_PARSE_ESCAPE_SEQUENCE 25, CANNOT_PARSE_QUOTED_STRING 26,
/// CANNOT_PARSE_INPUT_ASSERTION_FAILED 27, CANNOT_PARSE_DATE 38, CANNOT_PARSE_DATETIME 41,
/// CANNOT_PARSE_NUMBER 72, INCORRECT_DATA 117, TOO_LARGE_ARRAY_SIZE 128,
/// CANNOT_READ_ARRAY_FROM_TEXT 130, TOO_LARGE_STRING_SIZE 131,
/// VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE 321, CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN 349,
/// CANNOT_PARSE_UUID 376, DECIMAL_OVERFLOW 407, CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING 441,
/// CANNOT_PARSE_BOOL 467, UNEXPECTED_DATA_AFTER_PARSED_VALUE 632, CANNOT_PARSE_IPV4 675,
/// CANNOT_PARSE_IPV6 676, UNKNOWN_ELEMENT_OF_ENUM 691 (18.16 answers the older ones; newer
/// servers name more). Left out on purpose: errors of the table's shape, which refuse every
/// row alike (TYPE_MISMATCH 53, NO_SUCH_COLUMN_IN_TABLE 16, THERE_IS_NO_COLUMN 8, ...): those
/// are retried and named on `/health`, never a batch dead-lettered a row at a time.
const BAD_VALUE_CODES: [u32; 21] = [
    6, 25, 26, 27, 38, 41, 72, 117, 128, 130, 131, 321, 349, 376, 407, 441, 467, 632, 675, 676, 691,
];

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

/// A take's rows, one after another in one buffer, with where each ends and its event's id
/// (if Sluice gave it one). An INSERT of consecutive rows is a slice of the buffer
/// ([`Rows::body`]), not a copy.
#[derive(Debug)]
pub(crate) struct Rows {
    buf: Bytes,
    ends: Vec<usize>,
    ids: Vec<Option<IdSpan>>,
}

impl Rows {
    /// The rows of `events` for `columns`, encoded into `buf` (emptied first: a buffer an
    /// earlier take gave back, `pool.rs`, so its pages are not mapped anew).
    pub(crate) fn encode(columns: &[Column], events: &[Event], mut buf: Vec<u8>) -> Rows {
        buf.clear();
        buf.reserve(
            events
                .iter()
                .map(|e| e.body.len() + 64 * columns.len())
                .sum(),
        );
        let mut ends = Vec::with_capacity(events.len());
        let mut ids = Vec::with_capacity(events.len());
        for e in events {
            ids.push(encode_row(&mut buf, columns, e));
            ends.push(buf.len());
        }
        Rows {
            buf: Bytes::from(buf),
            ends,
            ids,
        }
    }

    /// How many rows.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    fn start(&self, i: usize) -> usize {
        i.checked_sub(1).map_or(0, |p| self.ends[p])
    }

    /// Row `i`, with its line break.
    pub(crate) fn row(&self, i: usize) -> &[u8] {
        &self.buf[self.start(i)..self.ends[i]]
    }

    /// Row `i`'s event's id.
    pub(crate) fn id(&self, i: usize) -> Option<IdSpan> {
        self.ids[i]
    }

    /// Every row's event's id.
    pub(crate) fn ids(&self) -> impl Iterator<Item = IdSpan> + '_ {
        self.ids.iter().flatten().copied()
    }

    /// The rows `idx` (in that order) as one INSERT's body: a slice of the buffer when they
    /// are consecutive (a take's INSERT but after a read-back left rows out), else a copy.
    pub(crate) fn body(&self, idx: &[usize]) -> Bytes {
        let consecutive = idx.windows(2).all(|w| w[1] == w[0] + 1);
        match (idx.first(), idx.last()) {
            (Some(&a), Some(&b)) if consecutive => self.buf.slice(self.start(a)..self.ends[b]),
            _ => {
                let mut body = Vec::with_capacity(idx.iter().map(|&i| self.row(i).len()).sum());
                for &i in idx {
                    body.extend_from_slice(self.row(i));
                }
                Bytes::from(body)
            }
        }
    }

    /// The buffer, to give back once no INSERT holds a slice of it.
    pub(crate) fn into_buf(self) -> Bytes {
        self.buf
    }
}

/// Appends `e`'s row for `columns` to `b`; `e`'s id.
fn encode_row(b: &mut Vec<u8>, columns: &[Column], e: &Event) -> Option<IdSpan> {
    let id = e
        .headers
        .get(EVENT_ID_HEADER)
        .and_then(IdSpan::parse)
        .filter(IdSpan::plausible);
    let id_text = id.map(|s| s.text());
    let mut digits = itoa::Buffer::new();
    b.push(b'{');
    let mut first = true;
    for c in columns {
        let value: &[u8] = match &c.source {
            Source::Body => &e.body,
            Source::Id => match &id_text {
                Some(t) => t.as_str().as_bytes(),
                None => continue,
            },
            Source::Header(h) => match e.headers.get(h) {
                Some(v) => v.as_bytes(),
                None => continue,
            },
            Source::Timestamp => match e.headers.get("timestamp") {
                Some(v) => timestamp(v, c.unit, &mut digits),
                None => continue,
            },
        };
        if !first {
            b.push(b',');
        }
        first = false;
        b.extend_from_slice(&c.key);
        json_string(b, value);
    }
    b.extend_from_slice(b"}\n");
    id
}

/// The `timestamp` header (ms) as a column of `unit` holds it, written into `digits`; a
/// value that is not a number goes as it is (ClickHouse refuses it, naming the column).
fn timestamp<'a>(v: &'a str, unit: TsUnit, digits: &'a mut itoa::Buffer) -> &'a [u8] {
    match (unit, v.trim().parse::<u64>()) {
        (TsUnit::Seconds, Ok(ms)) => digits.format(ms / 1000).as_bytes(),
        (TsUnit::Millis, Ok(ms)) => digits.format(ms).as_bytes(),
        _ => v.as_bytes(),
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
        let one = "{\"body\":\"a \\\"q\\\"\\n\\u0001é\",\"timestamp\":\"1700000000\",\"sluice_id\":\"00000000000000ab:7\",\"host\":\"h1\"}\n";
        let r = Rows::encode(
            &cols,
            &[e.clone(), Event::new("x"), e.clone()],
            b"old".to_vec(),
        );
        assert_eq!(std::str::from_utf8(r.row(0)).unwrap(), one);
        assert_eq!(r.row(1), b"{\"body\":\"x\"}\n");
        assert_eq!(r.id(0), IdSpan::one(0xab, 7));
        assert_eq!(r.id(1), None);
        assert_eq!(r.row(2), r.row(0), "the same event, the same bytes");
        assert_eq!(
            r.body(&[0, 1, 2]),
            r.into_buf(),
            "all of them: the whole buffer"
        );
    }

    #[test]
    fn a_timestamp_is_written_in_the_column_s_unit_and_a_bad_one_as_it_is() {
        let mut d = itoa::Buffer::new();
        assert_eq!(
            timestamp("1700000000123", TsUnit::Seconds, &mut d),
            b"1700000000"
        );
        assert_eq!(timestamp(" 0042 ", TsUnit::Millis, &mut d), b"42");
        assert_eq!(timestamp("0", TsUnit::Seconds, &mut d), b"0");
        let max = u64::MAX.to_string();
        assert_eq!(timestamp(&max, TsUnit::Millis, &mut d), max.as_bytes());
        assert_eq!(timestamp("soon", TsUnit::Millis, &mut d), b"soon");
        assert_eq!(timestamp(" 5", TsUnit::Text, &mut d), b" 5");
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
    }

    #[test]
    fn value_errors_of_newer_servers_are_bad_values_and_errors_of_the_table_shape_are_not() {
        // A value out of its type's range, a bad IPv4/IPv6/Bool/Decimal: the row's fault.
        for code in [321, 349, 407, 441, 467, 632, 675, 676] {
            assert!(bad_value(code, "Cannot parse"), "{code}");
        }
        // TYPE_MISMATCH, NO_SUCH_COLUMN_IN_TABLE, THERE_IS_NO_COLUMN, TOO_MANY_PARTS,
        // READONLY: every row alike; retried, never split into the dead letter.
        for code in [53, 16, 8, 252, 164] {
            assert!(!bad_value(code, "Cannot parse"), "{code}");
        }
        assert!(!bad_value(252, "Too many parts (300)"));
    }
}
