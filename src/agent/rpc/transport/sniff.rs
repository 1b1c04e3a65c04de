//! What the first bytes of a connection look like: a pure classification, so a peer that
//! speaks TLS to a plain port, plain text to a TLS port, deflate to a plain port (or Thrift to
//! an Avro port) is refused with one log line that says so, rather than "garbage" or an
//! "oversized frame" decoded from a TLS record header.

/// How many bytes [`classify`] looks at (it decides from fewer).
pub(crate) const SNIFF_BYTES: usize = 8;

/// What a connection's first bytes look like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Opening {
    /// A TLS handshake record (`16 03 ..`): a ClientHello.
    Tls,
    /// A zlib (RFC 1950) stream header (`78 9c`, `78 01`, ...): `compression-type = deflate`.
    Deflate,
    /// An HTTP request line (`GET `, `POST`, ...).
    Http,
    /// A framed Thrift message: a length, then the compact (`82`) or binary (`80 01`)
    /// protocol's first byte.
    Thrift,
    /// Anything else (plain Avro begins with a 4-byte serial, usually `00 00 00 ..`).
    Other,
}

impl Opening {
    /// How a log line names it.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Opening::Tls => "a TLS handshake (a ClientHello: the peer has ssl = true)",
            Opening::Deflate => "a zlib stream header (the peer has compression-type = deflate)",
            Opening::Http => "an HTTP request",
            Opening::Thrift => "a framed Thrift message (the peer is a Thrift client)",
            Opening::Other => "plain (unencrypted, uncompressed) data",
        }
    }
}

/// Classifies the first bytes of a connection (at least one byte; more makes it surer).
pub(crate) fn classify(first: &[u8]) -> Opening {
    let b = |i: usize| first.get(i).copied();
    match (b(0), b(1)) {
        // A TLS record: content type 22 (handshake), then the major version 3.
        (Some(0x16), None | Some(0x03)) => return Opening::Tls,
        (Some(cmf), Some(flg)) if is_zlib_header(cmf, flg) => return Opening::Deflate,
        (Some(0x78), None) => return Opening::Deflate,
        _ => {}
    }
    const METHODS: [&[u8]; 6] = [b"GET ", b"POST", b"PUT ", b"HEAD", b"DELE", b"OPTI"];
    if first.len() >= 4 && METHODS.iter().any(|m| first.starts_with(m)) {
        return Opening::Http;
    }
    match (b(4), b(5)) {
        (Some(0x82), _) | (Some(0x80), Some(0x01)) => Opening::Thrift,
        _ => Opening::Other,
    }
}

/// RFC 1950: compression method 8 (deflate), window at most 32 KiB, header check bits.
fn is_zlib_header(cmf: u8, flg: u8) -> bool {
    cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(cmf) * 256 + u16::from(flg)) % 31 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_deflate_http_thrift_and_avro_openings_are_told_apart() {
        // A TLS 1.2/1.3 ClientHello record header.
        assert_eq!(
            classify(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]),
            Opening::Tls
        );
        assert_eq!(classify(&[0x16]), Opening::Tls);
        // Flume's deflate stream (Netty JZlibEncoder, level 6) and other levels.
        assert_eq!(classify(&[0x78, 0x9c, 0x62, 0x60]), Opening::Deflate);
        assert_eq!(classify(&[0x78, 0x01]), Opening::Deflate);
        assert_eq!(classify(&[0x78, 0xda]), Opening::Deflate);
        assert_eq!(classify(b"POST / HTTP/1.1"), Opening::Http);
        // Flume's ThriftRpcClient: frame length, then the compact protocol id.
        assert_eq!(
            classify(&[0, 0, 0, 0x46, 0x82, 0x21, 0x01]),
            Opening::Thrift
        );
        assert_eq!(
            classify(&[0, 0, 0, 0x46, 0x80, 0x01, 0, 1]),
            Opening::Thrift
        );
        // Flume's avro client: serial 1, two buffers.
        assert_eq!(classify(&[0, 0, 0, 1, 0, 0, 0, 2]), Opening::Other);
        assert_eq!(classify(&[0]), Opening::Other);
    }
}
