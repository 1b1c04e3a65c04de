//! What the first bytes of a connection that is not speaking framed Thrift in the expected
//! protocol most probably are, so the one log line of a refused connection names the cause
//! ("a TLS handshake: the peer has ssl = true") rather than only "oversized frame".
//!
//! Pure and conservative: it answers only for patterns that the framed Thrift protocol this
//! side expects cannot produce, from the first [`SNIFF_BYTES`] bytes of the connection.

use super::compact;
use super::service::Protocol;

/// Bytes of a connection's start kept for [`probable_cause`].
pub const SNIFF_BYTES: usize = 16;

const HTTP_METHODS: &[&[u8]] = &[
    b"GET ",
    b"POST ",
    b"PUT ",
    b"HEAD ",
    b"DELETE ",
    b"OPTIONS ",
    b"PATCH ",
    b"CONNECT ",
    b"PRI * HTTP/2",
];

/// A guess at what `first` (the first bytes a peer sent) is, when it is not a framed Thrift
/// message in `expected`: `None` when nothing recognisable.
pub fn probable_cause(first: &[u8], expected: Protocol) -> Option<String> {
    not_thrift(first)
        .or_else(|| unframed_thrift(first))
        .or_else(|| framed_other_protocol(first, expected))
        .or_else(|| avro_framing(first))
        .map(str::to_owned)
}

/// TLS, HTTP or zlib.
fn not_thrift(first: &[u8]) -> Option<&'static str> {
    let b = |i: usize| first.get(i).copied();
    // TLS record: handshake (22), version 3.x.
    if b(0) == Some(0x16) && b(1) == Some(0x03) {
        return Some("a TLS handshake: the peer has ssl = true and this port is plain");
    }
    if HTTP_METHODS.iter().any(|m| first.starts_with(m)) {
        return Some("an HTTP request: the peer speaks HTTP, not Thrift");
    }
    // zlib header: CMF 0x78 and a check value (FCHECK) that makes CMF*256+FLG a multiple of 31.
    if b(0) == Some(0x78)
        && b(1).is_some_and(|f| (0x7800u16 | u16::from(f)) % 31 == 0 && f & 0x20 == 0)
    {
        return Some(
            "a zlib stream: the peer compresses (compression-type = deflate), this source does not",
        );
    }
    None
}

/// Unframed Thrift: the message head comes first.
fn unframed_thrift(first: &[u8]) -> Option<&'static str> {
    let b = |i: usize| first.get(i).copied();
    if b(0) == Some(compact::PROTOCOL_ID) && b(1).is_some_and(|v| v & 0x1f == compact::VERSION) {
        return Some("an unframed Thrift compact message: the peer must use the framed transport");
    }
    if b(0) == Some(0x80) && b(1) == Some(0x01) && b(2) == Some(0) {
        return Some("an unframed Thrift binary message: the peer must use the framed transport");
    }
    None
}

/// Whether the payload after a frame length starts with a compact, or a binary, Thrift head.
fn framed_heads(first: &[u8]) -> (bool, bool) {
    let payload = first.get(4..).unwrap_or_default();
    let compact_head = payload.first() == Some(&compact::PROTOCOL_ID);
    let binary_head = payload.starts_with(&[0x80, 0x01, 0x00]);
    (compact_head, binary_head)
}

/// Framed Thrift in the other protocol.
fn framed_other_protocol(first: &[u8], expected: Protocol) -> Option<&'static str> {
    let (compact_head, binary_head) = framed_heads(first);
    match expected {
        Protocol::Binary if compact_head => Some(
            "Thrift in the compact protocol: the peer has protocol = compact (the default) \
             and this side protocol = binary",
        ),
        Protocol::Compact if binary_head => Some(
            "Thrift in the binary protocol: the peer has protocol = binary and this side \
             protocol = compact (the default)",
        ),
        _ => None,
    }
}

/// Avro's Netty framing: serial (small), buffer count (Flume's client sends 2), a length.
fn avro_framing(first: &[u8]) -> Option<&'static str> {
    let (compact_head, binary_head) = framed_heads(first);
    let word = |i: usize| {
        first
            .get(i..i + 4)
            .map(|w| i32::from_be_bytes([w[0], w[1], w[2], w[3]]))
    };
    let (serial, count) = (word(0)?, word(4)?);
    let netty = (0..1 << 16).contains(&serial) && (1..=64).contains(&count);
    (netty && !compact_head && !binary_head).then_some(
        "Avro RPC (Netty framing): the peer is an avro sink or client; point it at an \
         avro source or use a thrift sink",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cause(b: &[u8], p: Protocol) -> String {
        probable_cause(b, p).unwrap_or_default()
    }

    #[test]
    fn the_first_bytes_of_other_protocols_are_named() {
        let c = Protocol::Compact;
        assert!(cause(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01], c).contains("TLS"));
        assert!(cause(b"POST / HTTP/1.1\r\n", c).contains("HTTP"));
        assert!(cause(&[0x78, 0x9c, 0x62, 0x60], c).contains("zlib"));
        // The first bytes of Flume's avro client (crates/sluice-wire/tests/fixtures/wire/avro-conn-c2s.bin).
        let avro = [
            0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0x30, 0x80, 0x76, 0xc5, 0x37,
        ];
        assert!(
            cause(&avro[..SNIFF_BYTES], c).contains("Avro"),
            "{:?}",
            cause(&avro[..SNIFF_BYTES], c)
        );
        assert!(cause(&[0x82, 0x21, 0x01, 0x06], c).contains("unframed"));
        assert!(cause(&[0, 0, 0, 0x1f, 0x82, 0x21, 0x02], Protocol::Binary).contains("compact"));
        assert!(cause(&[0, 0, 0, 0x1f, 0x80, 0x01, 0x00, 0x01], c).contains("binary"));
    }

    #[test]
    fn framed_thrift_in_the_expected_protocol_is_not_blamed_on_anything() {
        assert_eq!(
            probable_cause(&[0, 0, 0, 0x1f, 0x82, 0x21, 0x02], Protocol::Compact),
            None
        );
        assert_eq!(
            probable_cause(&[0, 0, 0, 0x1f, 0x80, 0x01, 0x00, 0x01], Protocol::Binary),
            None
        );
    }
}
