//! The HTTP source's handlers, pure functions from a request's bytes to events.
//!
//! - `JSONHandler` (Flume's default, `wire::json`): the body is a JSON array of
//!   `{"headers": {"k": "v", ...}, "body": "text"}`; numbers and booleans are taken as their
//!   text (as Gson does), a missing body is empty. The request charset comes from
//!   `Content-Type` (`charset=UTF-8` when absent); as in Flume only UTF-8, UTF-16 and UTF-32
//!   are accepted, and each event body is its text encoded in the request charset the way
//!   Java's `String.getBytes` does it (UTF-16: big-endian with a `FE FF` mark; UTF-32:
//!   big-endian).
//! - `BlobHandler`: the whole body is one event, cut at `maxBlobLength` bytes; the query
//!   parameters are its headers (the last value of a repeated name wins).

use sluice_core::Headers;

use sluice_core::Event;

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
