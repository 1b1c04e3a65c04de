//! The rows of a Parquet file being written, staged in its in-use file as records a crash
//! can only cut at the end (pure functions of events and bytes). A record is
//! `u32 LE payload length`, `u32 LE CRC-32 of the payload`, then the payload:
//! `u32 LE header count`, per header `u32 LE key length, key, u32 LE value length, value`
//! (UTF-8, in the event's insertion order, the event id only with `keepEventId`), and the
//! body (the rest). A batch is whole records, so what an fsync covered reads back whole;
//! [`valid_prefix`] finds the end of the last whole record of a file a crash left.

use sluice_core::Event;

/// Bytes of a record's frame (length and CRC).
pub const FRAME_BYTES: usize = 8;

/// Largest payload a record may declare (a bigger one is a torn or foreign file).
pub const PAYLOAD_MAX_BYTES: usize = 1 << 30;

/// One staged row: an event's headers and body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Row {
    /// The headers, in the event's insertion order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// Appends the records of `events` to `out`.
pub fn encode_batch(out: &mut Vec<u8>, events: &[Event], keep_id: bool) {
    for e in events {
        let start = out.len();
        out.extend_from_slice(&[0u8; FRAME_BYTES]);
        // The header count, written once the headers are.
        let count_at = out.len();
        put_u32(out, 0);
        let mut count = 0u32;
        let pairs = e.headers.iter_inserted();
        for (k, v) in pairs.filter(|(k, _)| keep_id || *k != sluice_core::dedup::EVENT_ID_HEADER) {
            put_u32(out, k.len());
            out.extend_from_slice(k.as_bytes());
            put_u32(out, v.len());
            out.extend_from_slice(v.as_bytes());
            count += 1;
        }
        out[count_at..count_at + 4].copy_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&e.body);
        let payload = &out[start + FRAME_BYTES..];
        let len = (payload.len() as u32).to_le_bytes();
        let crc = crc32fast::hash(payload).to_le_bytes();
        out[start..start + 4].copy_from_slice(&len);
        out[start + 4..start + FRAME_BYTES].copy_from_slice(&crc);
    }
}

fn put_u32(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&(n as u32).to_le_bytes());
}

/// What starts at some offset of a staged file.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// A whole record: its row and its length in bytes (frame included).
    Whole(Row, usize),
    /// Not enough bytes for the record announced (read more, or a torn tail).
    Short,
    /// Bytes that are not a record (a torn or foreign tail).
    Bad,
}

/// The record at the start of `buf`.
pub fn next(buf: &[u8]) -> Next {
    let (Some(len), Some(crc)) = (le_u32(buf, 0), le_u32(buf, 4)) else {
        return Next::Short;
    };
    let len = len as usize;
    if len > PAYLOAD_MAX_BYTES {
        return Next::Bad;
    }
    let Some(payload) = buf.get(FRAME_BYTES..FRAME_BYTES + len) else {
        return Next::Short;
    };
    if crc32fast::hash(payload) != crc {
        return Next::Bad;
    }
    match decode(payload) {
        Some(row) => Next::Whole(row, FRAME_BYTES + len),
        None => Next::Bad,
    }
}

fn le_u32(buf: &[u8], at: usize) -> Option<u32> {
    let b: [u8; 4] = buf.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_le_bytes(b))
}

/// A record's payload as a row; `None` when it is not one.
fn decode(payload: &[u8]) -> Option<Row> {
    let count = le_u32(payload, 0)? as usize;
    let mut at = 4;
    let mut headers = Vec::with_capacity(count.min(1024));
    let text = |at: &mut usize| -> Option<String> {
        let n = le_u32(payload, *at)? as usize;
        let s = payload.get(*at + 4..*at + 4 + n)?;
        *at += 4 + n;
        String::from_utf8(s.to_vec()).ok()
    };
    for _ in 0..count {
        let k = text(&mut at)?;
        let v = text(&mut at)?;
        headers.push((k, v));
    }
    Some(Row {
        headers,
        body: payload.get(at..)?.to_vec(),
    })
}

/// The length of the whole records at the start of `buf`: where a file a crash left is cut.
pub fn valid_prefix(buf: &[u8]) -> usize {
    let mut at = 0;
    while let Next::Whole(_, n) = next(&buf[at..]) {
        at += n;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(body: &[u8], headers: &[(&str, &str)]) -> Event {
        let map: std::collections::BTreeMap<String, String> = headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Event::with_headers(map, body)
    }

    #[test]
    fn records_read_back_as_their_events_and_a_torn_tail_is_not_a_record() {
        let events = [
            event(b"one", &[("timestamp", "17"), ("host", "h\u{e9}")]),
            event(b"", &[]),
            event(&[0xff, 0, 0xfe], &[("k", "")]),
        ];
        let mut buf = Vec::new();
        encode_batch(&mut buf, &events, false);
        let mut at = 0;
        let mut rows = Vec::new();
        while let Next::Whole(row, n) = next(&buf[at..]) {
            rows.push(row);
            at += n;
        }
        assert_eq!(at, buf.len());
        assert_eq!(rows.len(), 3);
        assert!(rows[0]
            .headers
            .contains(&("host".to_owned(), "h\u{e9}".to_owned())));
        assert_eq!(rows[2].body, vec![0xff, 0, 0xfe]);
        let whole = buf.len();
        buf.extend_from_within(..10);
        assert_eq!(valid_prefix(&buf), whole);
        buf.truncate(whole);
        buf[whole - 1] ^= 1;
        assert!(
            valid_prefix(&buf) < whole,
            "a flipped byte ends the valid prefix"
        );
    }
}
