//! Thrift's framed transport (`TFramedTransport`/`TFastFramedTransport`): each message is a
//! big-endian `i32` length and that many bytes of payload.
//!
//! [`FrameReader`] works over a growing receive buffer: the length is checked against the
//! limit as soon as its four bytes arrive, before the bytes it announces are waited for, so a
//! peer announcing 2 GiB costs nothing; [`FrameReader::announced`] tells a caller how much of
//! the frame being received to reserve and read.

use bytes::Bytes;

use super::error::ThriftError;
use crate::recv_buf::{recv_buf_methods, BufferHome, RecvBuf};

/// Bytes of the length prefix.
pub const FRAME_HEADER_BYTES: usize = 4;
/// Default largest frame payload (64 MiB, the file channel's record limit, as the avro
/// source's `max-frame-size`; Thrift's Java default is 16,384,000).
pub const FRAME_BYTES_MAX_DEFAULT: usize = 64 << 20;

/// Appends an empty length prefix to `out`; [`end_frame`] fills it in.
pub fn begin_frame(out: &mut Vec<u8>) -> usize {
    let at = out.len();
    out.extend_from_slice(&[0; FRAME_HEADER_BYTES]);
    at
}

/// Fills in the length prefix written at `at` by [`begin_frame`].
pub fn end_frame(out: &mut [u8], at: usize) {
    let len = out.len() - at - FRAME_HEADER_BYTES;
    set_frame_len(out, at, len);
}

/// Writes `len` into the length prefix at `at` (a frame whose bytes are not all in `out`).
pub fn set_frame_len(out: &mut [u8], at: usize, len: usize) {
    if let Some(p) = out.get_mut(at..at + FRAME_HEADER_BYTES) {
        p.copy_from_slice(&(len as u32).to_be_bytes());
    }
}

/// A receive buffer that yields frames' payloads.
#[derive(Debug, Default)]
pub struct FrameReader {
    frame_bytes_max: usize,
    rx: RecvBuf,
    consumed_total: usize,
    /// Payload length of the frame at `start`, once its prefix is in and checked.
    len: Option<usize>,
}

impl FrameReader {
    /// An empty reader refusing frames over `frame_bytes_max` bytes of payload.
    pub fn new(frame_bytes_max: usize) -> Self {
        FrameReader {
            frame_bytes_max,
            ..FrameReader::default()
        }
    }

    recv_buf_methods!();

    /// Bytes of the frame being received, prefix included, once its prefix is in (else 0).
    pub fn announced(&self) -> usize {
        self.len.map_or(0, |l| l + FRAME_HEADER_BYTES)
    }

    /// The next whole frame's payload, if there is one. Errors are final.
    pub fn next_frame(&mut self) -> Result<Option<Bytes>, ThriftError> {
        let len = match self.len {
            Some(l) => l,
            None => {
                let Some(p) = self
                    .rx
                    .buf
                    .get(self.rx.start..self.rx.start + FRAME_HEADER_BYTES)
                else {
                    self.rx.compact();
                    return Ok(None);
                };
                let n = i32::from_be_bytes([p[0], p[1], p[2], p[3]]);
                if n < 0 {
                    return Err(ThriftError::NegativeFrame {
                        len: n,
                        offset: self.consumed_total,
                    });
                }
                if n as usize > self.frame_bytes_max {
                    return Err(ThriftError::FrameTooLarge {
                        len: n as u64,
                        max: self.frame_bytes_max,
                    });
                }
                self.len = Some(n as usize);
                n as usize
            }
        };
        let end = self.rx.start + FRAME_HEADER_BYTES + len;
        if end > self.rx.buf.len() {
            self.rx.compact();
            return Ok(None);
        }
        let from = self.rx.start + FRAME_HEADER_BYTES;
        let rest = self.rx.buf.len() - end;
        let payload = if self.rx.start == 0 && rest <= len {
            // The usual case: little or nothing after the frame. Hand the buffer over (the
            // payload a view of it past the length prefix: no byte moves).
            let tail = self.rx.buf.get(end..).unwrap_or_default().to_vec();
            self.rx.buf.truncate(end);
            let whole = std::mem::replace(&mut self.rx.buf, tail);
            self.rx.start = 0;
            self.rx.hand_over(whole).slice(from..end)
        } else {
            let payload = Bytes::copy_from_slice(self.rx.buf.get(from..end).unwrap_or_default());
            self.rx.start = end;
            payload
        };
        self.consumed_total += FRAME_HEADER_BYTES + len;
        self.len = None;
        Ok(Some(payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recv_buf::RETAINED_BYTES_MAX;

    fn framed(payloads: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in payloads {
            let at = begin_frame(&mut out);
            out.extend_from_slice(p);
            end_frame(&mut out, at);
        }
        out
    }

    #[test]
    fn frames_come_out_whole_through_every_split_of_the_stream() {
        let bytes = framed(&[b"abc", b"", b"defgh"]);
        for cut in 0..=bytes.len() {
            let mut r = FrameReader::new(100);
            let mut got = Vec::new();
            for part in [&bytes[..cut], &bytes[cut..]] {
                r.push(part);
                while let Some(f) = r.next_frame().unwrap() {
                    got.push(f);
                }
            }
            assert_eq!(
                got,
                vec![b"abc".to_vec(), vec![], b"defgh".to_vec()],
                "cut {cut}"
            );
            assert_eq!(r.pending(), 0);
        }
    }

    #[test]
    fn a_frame_announcing_two_gibibytes_is_refused_from_its_prefix_alone() {
        let mut r = FrameReader::new(FRAME_BYTES_MAX_DEFAULT);
        r.push(&i32::MAX.to_be_bytes());
        assert!(matches!(
            r.next_frame(),
            Err(ThriftError::FrameTooLarge { len, .. }) if len == i32::MAX as u64
        ));
        let mut r = FrameReader::new(FRAME_BYTES_MAX_DEFAULT);
        r.push(&(-5i32).to_be_bytes());
        assert!(matches!(
            r.next_frame(),
            Err(ThriftError::NegativeFrame { len: -5, .. })
        ));
    }

    #[test]
    fn announced_counts_the_prefix_and_the_payload_once_the_prefix_is_in() {
        let mut r = FrameReader::new(100);
        r.push(&[0, 0]);
        assert_eq!(r.next_frame().unwrap(), None);
        assert_eq!(r.announced(), 0);
        r.push(&[0, 10, 1]);
        assert_eq!(r.next_frame().unwrap(), None);
        assert_eq!(r.announced(), 14);
    }

    #[test]
    fn a_big_frame_does_not_leave_its_buffer_allocated() {
        let mut r = FrameReader::new(FRAME_BYTES_MAX_DEFAULT);
        let bytes = framed(&[&vec![7u8; 3 << 20]]);
        r.read_buffer_exact(bytes.len()).extend_from_slice(&bytes);
        assert_eq!(r.next_frame().unwrap().unwrap().len(), 3 << 20);
        assert_eq!(r.next_frame().unwrap(), None);
        assert!(r.capacity() <= RETAINED_BYTES_MAX);
    }
}
