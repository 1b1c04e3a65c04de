//! Netty framing of Avro IPC (Avro's `NettyTransportCodec`), both directions:
//! `serial:i32 BE | count:i32 BE | count × (len:i32 BE | len bytes)`.
//!
//! The payload is the concatenation of the buffers; where it is split carries no meaning, and
//! zero-length buffers are legal. The decoder works over a growing receive buffer: it returns
//! [`Decoded::NeedMore`] until a whole frame is there, and checks the buffer count and every
//! announced length against [`FrameLimits`] as soon as their headers arrive, before the bytes
//! they announce are waited for, so a peer announcing 2 GiB costs nothing.

use bytes::Bytes;

use super::error::AvroError;
use crate::recv_buf::{recv_buf_methods, BufferHome, RecvBuf};

/// Bytes of the frame header (serial and buffer count).
pub const FRAME_HEADER_BYTES: usize = 8;
/// Default largest frame payload (64 MiB, the file channel's record limit).
pub const FRAME_BYTES_MAX_DEFAULT: usize = 64 << 20;
/// Default most buffers in one frame (Flume's client sends 2, its server 3).
pub const FRAME_BUFFERS_MAX_DEFAULT: usize = 4096;
/// Most bytes of a frame that are not payload: its header and a length per buffer, at
/// [`FRAME_BUFFERS_MAX_DEFAULT`] buffers.
pub const FRAME_OVERHEAD_BYTES_MAX: usize = FRAME_HEADER_BYTES + 4 * FRAME_BUFFERS_MAX_DEFAULT;

/// The limits a decoder enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLimits {
    /// Largest payload (sum of the buffer lengths) in bytes.
    pub frame_bytes_max: usize,
    /// Most buffers in one frame.
    pub buffers_max: usize,
}

impl Default for FrameLimits {
    fn default() -> Self {
        FrameLimits {
            frame_bytes_max: FRAME_BYTES_MAX_DEFAULT,
            buffers_max: FRAME_BUFFERS_MAX_DEFAULT,
        }
    }
}

/// One decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The call's serial, echoed in its response.
    pub serial: i32,
    /// The buffers, concatenated (a view of the receive buffer it was gathered in).
    pub payload: Bytes,
}

/// The outcome of looking for a frame at the start of a receive buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// Not a whole frame yet; nothing was consumed.
    NeedMore,
    /// A frame and how many bytes of the buffer it used.
    Frame {
        /// The frame.
        frame: Frame,
        /// Bytes consumed from the start of the buffer.
        consumed: usize,
    },
}

fn be_i32(b: &[u8], at: usize) -> Option<i32> {
    let s = b.get(at..at + 4)?;
    Some(i32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// Gathers a frame's `count` buffers (each a big-endian length, then its bytes; the first
/// length at `at`, all within `buf`, as the reader checked) into one run in place and returns
/// it. The largest buffer (the first of equal ones) stays where it is: those before it move up
/// to end where it starts, those after it down to follow it, so a sender's one large buffer
/// (Sluice's: the head, then the events) costs no move, and equal buffers (Avro's 8 KiB
/// chunks) move as before.
fn gather(buf: &mut [u8], at: usize, count: usize) -> (usize, usize) {
    let len_at = |buf: &[u8], p: usize| be_i32(buf, p).unwrap_or(0).max(0) as usize;
    let (mut big, mut big_at, mut big_len) = (0, at + 4, 0);
    let mut p = at;
    for i in 0..count {
        let len = len_at(buf, p);
        if i == 0 || len > big_len {
            (big, big_at, big_len) = (i, p + 4, len);
        }
        p += 4 + len;
    }
    if count == 0 {
        return (at, at);
    }
    // Before the largest: their places, then each moved up, the nearest first.
    let mut before = Vec::with_capacity(big);
    let mut p = at;
    for _ in 0..big {
        let len = len_at(buf, p);
        before.push((p + 4, len));
        p += 4 + len;
    }
    let mut from = big_at;
    for &(start, len) in before.iter().rev() {
        from -= len;
        if start != from {
            buf.copy_within(start..start + len, from);
        }
    }
    // After the largest: each moved down behind it.
    let mut to = big_at + big_len;
    let mut p = to;
    for _ in big + 1..count {
        let len = len_at(buf, p);
        buf.copy_within(p + 4..p + 4 + len, to);
        to += len;
        p += 4 + len;
    }
    (from, to)
}

/// Looks for one frame at the start of `buf` (`stream_offset` is where `buf` starts in the
/// connection, for error messages). Errors are final: the stream cannot be resynchronised.
pub fn decode_frame(
    buf: &[u8],
    limits: &FrameLimits,
    stream_offset: usize,
) -> Result<Decoded, AvroError> {
    let (Some(serial), Some(count)) = (be_i32(buf, 0), be_i32(buf, 4)) else {
        return Ok(Decoded::NeedMore);
    };
    if count < 0 {
        return Err(AvroError::NegativeFrameField {
            what: "buffer count",
            value: i64::from(count),
            offset: stream_offset + 4,
        });
    }
    if count as usize > limits.buffers_max {
        return Err(AvroError::TooManyBuffers {
            count: i64::from(count),
            max: limits.buffers_max,
        });
    }
    let mut at = FRAME_HEADER_BYTES;
    let mut total: u64 = 0;
    for _ in 0..count {
        let Some(len) = be_i32(buf, at) else {
            return Ok(Decoded::NeedMore);
        };
        if len < 0 {
            return Err(AvroError::NegativeFrameField {
                what: "buffer length",
                value: i64::from(len),
                offset: stream_offset + at,
            });
        }
        total += len as u64;
        if total > limits.frame_bytes_max as u64 {
            return Err(AvroError::FrameTooLarge {
                len: total,
                max: limits.frame_bytes_max,
            });
        }
        at += 4 + len as usize;
        if at > buf.len() {
            return Ok(Decoded::NeedMore);
        }
    }
    // The whole frame is in `buf`: copy the buffers out once.
    let mut payload = Vec::with_capacity(total as usize);
    let mut at = FRAME_HEADER_BYTES;
    for _ in 0..count {
        let len = be_i32(buf, at).unwrap_or(0) as usize;
        payload.extend_from_slice(&buf[at + 4..at + 4 + len]);
        at += 4 + len;
    }
    Ok(Decoded::Frame {
        frame: Frame {
            serial,
            payload: payload.into(),
        },
        consumed: at,
    })
}

/// Appends one frame made of `buffers` to `out`.
pub fn encode_frame<B: AsRef<[u8]>>(serial: i32, buffers: &[B], out: &mut Vec<u8>) {
    encode_frame_head(serial, buffers, out);
    if let Some(last) = buffers.last() {
        out.extend_from_slice(last.as_ref());
    }
}

/// Appends what [`encode_frame`] writes before the last buffer's bytes: the frame header,
/// every other buffer with its length, and the last one's length. A caller then sends the
/// last buffer from where it is instead of copying it (a client's batch of events).
pub fn encode_frame_head<B: AsRef<[u8]>>(serial: i32, buffers: &[B], out: &mut Vec<u8>) {
    match buffers.split_last() {
        Some((last, rest)) => encode_frame_head_len(serial, rest, Some(last.as_ref().len()), out),
        None => encode_frame_head_len(serial, buffers, None, out),
    }
}

/// [`encode_frame_head`] of a frame whose buffers are `rest` and then one of `last` bytes
/// (if any), which the caller sends itself (from several places: a spliced request).
pub fn encode_frame_head_len<B: AsRef<[u8]>>(
    serial: i32,
    rest: &[B],
    last: Option<usize>,
    out: &mut Vec<u8>,
) {
    let total: usize = rest.iter().map(|b| 4 + b.as_ref().len()).sum();
    out.reserve(FRAME_HEADER_BYTES + total + 4);
    out.extend_from_slice(&serial.to_be_bytes());
    let count = rest.len() + usize::from(last.is_some());
    out.extend_from_slice(&(count as i32).to_be_bytes());
    for b in rest {
        let b = b.as_ref();
        out.extend_from_slice(&(b.len() as i32).to_be_bytes());
        out.extend_from_slice(b);
    }
    if let Some(last) = last {
        out.extend_from_slice(&(last as i32).to_be_bytes());
    }
}

/// A receive buffer that yields frames: bytes are pushed as they arrive, frames taken out.
/// The headers of the frame being received are checked as they arrive (once each), so the
/// reader always knows how many bytes of that frame are announced ([`FrameReader::announced`]);
/// a caller that reads no further than that holds at most one frame plus one small read.
#[derive(Debug, Default)]
pub struct FrameReader {
    limits: FrameLimits,
    rx: RecvBuf,
    consumed_total: usize,
    walk: Walk,
}

/// How far the headers of the frame at `start` have been checked.
#[derive(Debug, Default, Clone, Copy)]
struct Walk {
    /// The buffer count, once the frame header is in.
    count: Option<usize>,
    /// Buffers whose length was read.
    seen: usize,
    /// Offset from `start` just past the last announced buffer (or the frame header).
    end: usize,
    /// Payload bytes announced so far.
    total: u64,
}

impl FrameReader {
    /// An empty reader with these limits.
    pub fn new(limits: FrameLimits) -> Self {
        FrameReader {
            limits,
            ..FrameReader::default()
        }
    }

    recv_buf_methods!();

    /// Bytes of the frame being received that are announced so far: its header, every
    /// buffer length read and the bytes those lengths announce (0 before its header).
    /// Grows as [`FrameReader::next_frame`] reads further headers; never beyond the limits.
    pub fn announced(&self) -> usize {
        self.walk.end
    }

    /// Checks the headers that arrived since the last call.
    fn walk(&mut self) -> Result<(), AvroError> {
        let b = self.rx.buf.get(self.rx.start..).unwrap_or_default();
        let count = match self.walk.count {
            Some(c) => c,
            None => {
                let Some(count) = be_i32(b, 4) else {
                    return Ok(());
                };
                if count < 0 {
                    return Err(AvroError::NegativeFrameField {
                        what: "buffer count",
                        value: i64::from(count),
                        offset: self.consumed_total + 4,
                    });
                }
                if count as usize > self.limits.buffers_max {
                    return Err(AvroError::TooManyBuffers {
                        count: i64::from(count),
                        max: self.limits.buffers_max,
                    });
                }
                self.walk = Walk {
                    count: Some(count as usize),
                    seen: 0,
                    end: FRAME_HEADER_BYTES,
                    total: 0,
                };
                count as usize
            }
        };
        while self.walk.seen < count && self.walk.end <= b.len() {
            let at = self.walk.end;
            let Some(len) = be_i32(b, at) else {
                return Ok(());
            };
            if len < 0 {
                return Err(AvroError::NegativeFrameField {
                    what: "buffer length",
                    value: i64::from(len),
                    offset: self.consumed_total + at,
                });
            }
            self.walk.total += len as u64;
            if self.walk.total > self.limits.frame_bytes_max as u64 {
                return Err(AvroError::FrameTooLarge {
                    len: self.walk.total,
                    max: self.limits.frame_bytes_max,
                });
            }
            self.walk.end = at + 4 + len as usize;
            self.walk.seen += 1;
        }
        Ok(())
    }

    /// The next whole frame, if there is one. The payload is gathered in place around the
    /// largest buffer ([`gather`]: the buffer lengths between the buffers squeezed out) and
    /// handed over without a copy of a large frame.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, AvroError> {
        self.walk()?;
        let whole = self.walk.count.is_some_and(|c| self.walk.seen == c)
            && self.rx.start + self.walk.end <= self.rx.buf.len();
        if !whole {
            self.rx.compact();
            return Ok(None);
        }
        let (frame_start, frame_end) = (self.rx.start, self.rx.start + self.walk.end);
        let serial = be_i32(&self.rx.buf, frame_start).unwrap_or(0);
        let (from, to) = gather(
            &mut self.rx.buf,
            frame_start + FRAME_HEADER_BYTES,
            self.walk.seen,
        );
        let to = to.min(frame_end);
        let from = from.min(to);
        let rest = self.rx.buf.len() - frame_end;
        let payload = if rest <= to - from {
            // The usual case: little or nothing after the frame. Keep the rest, hand over the buffer.
            let tail = self.rx.buf.get(frame_end..).unwrap_or_default().to_vec();
            self.rx.buf.truncate(to);
            let whole = std::mem::replace(&mut self.rx.buf, tail);
            self.rx.start = 0;
            self.rx.hand_over(whole).slice(from..to)
        } else {
            let payload = Bytes::copy_from_slice(self.rx.buf.get(from..to).unwrap_or_default());
            self.rx.start = frame_end;
            payload
        };
        self.consumed_total += frame_end - frame_start;
        self.walk = Walk::default();
        Ok(Some(Frame { serial, payload }))
    }
}

#[cfg(test)]
#[path = "frame_tests.rs"]
mod tests;
