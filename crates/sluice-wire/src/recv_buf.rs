//! The receive buffer under the Avro and Thrift frame readers: bytes pushed or read in as they
//! arrive, frames taken from the front. Bytes already returned in frames are dropped before
//! more are read in, and an empty buffer that once held a large frame gives its memory back,
//! so an idle connection keeps at most [`RETAINED_BYTES_MAX`] of capacity.
//!
//! A buffer handed over in a frame ([`RecvBuf::hand_over`]) becomes a [`Bytes`] that the
//! decoded events' bodies slice; with a [`BufferHome`] set, the buffer goes there when the
//! last of them is dropped (a source's pool of frame buffers), wherever that happens.

use std::sync::Weak;

use bytes::Bytes;

/// Capacity an empty receive buffer may keep (a larger one is freed).
pub const RETAINED_BYTES_MAX: usize = 1 << 20;

/// Where buffers handed over in frames go once nothing views them any more.
pub trait BufferHome: Send + Sync {
    /// Takes a buffer back (its bytes no longer matter).
    fn give(&self, buf: Vec<u8>);
}

/// Received bytes; `buf[start..]` are not yet returned in a frame.
#[derive(Debug, Default)]
pub struct RecvBuf {
    /// The bytes held.
    pub buf: Vec<u8>,
    /// Offset of the first byte not yet returned in a frame.
    pub start: usize,
    /// Where handed-over buffers go back to, if anywhere.
    pub home: Option<Weak<dyn BufferHome>>,
}

/// A handed-over buffer that goes home when its last view is dropped.
struct Homed {
    buf: Vec<u8>,
    home: Weak<dyn BufferHome>,
}

impl AsRef<[u8]> for Homed {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Homed {
    fn drop(&mut self) {
        if let Some(home) = self.home.upgrade() {
            home.give(std::mem::take(&mut self.buf));
        }
    }
}

impl RecvBuf {
    /// `whole` (a buffer taken out of this one) as shared bytes, going back to the home
    /// when the last view of it is dropped.
    pub fn hand_over(&self, whole: Vec<u8>) -> Bytes {
        match &self.home {
            Some(home) => Bytes::from_owner(Homed {
                buf: whole,
                home: home.clone(),
            }),
            None => Bytes::from(whole),
        }
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The buffer to read more bytes into (`read_buf` appends to it), with room for at least
    /// `n` more; bytes already returned in frames are dropped first.
    pub fn read_buffer(&mut self, n: usize) -> &mut Vec<u8> {
        self.compact();
        self.buf.reserve(n);
        &mut self.buf
    }

    /// Like [`RecvBuf::read_buffer`], but grows the buffer to exactly `n` more bytes when it
    /// has less room (for a caller that asks for the rest of an announced frame, so a large
    /// frame is allocated once at its size rather than doubled into).
    pub fn read_buffer_exact(&mut self, n: usize) -> &mut Vec<u8> {
        self.compact();
        self.buf.reserve_exact(n);
        &mut self.buf
    }

    /// Moves the bytes not yet returned into `v` (cleared first) and keeps `v` as the buffer:
    /// a reader about to receive a large frame takes memory it was given back instead of
    /// growing its own. The old buffer is dropped.
    pub fn adopt(&mut self, mut v: Vec<u8>) {
        v.clear();
        v.extend_from_slice(self.buf.get(self.start..).unwrap_or_default());
        self.buf = v;
        self.start = 0;
    }

    /// Drops the bytes already returned; a large buffer left empty is freed.
    pub fn compact(&mut self) {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        if self.buf.is_empty() && self.buf.capacity() > RETAINED_BYTES_MAX {
            self.buf = Vec::new();
        }
    }

    /// Bytes the buffer holds allocated.
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Bytes received and not yet returned in a frame.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.start
    }
}

/// The methods a frame reader hands straight to its [`RecvBuf`] (a field named `rx`), written
/// once for the Avro and Thrift readers: their framing differs, their receive buffer does not.
macro_rules! recv_buf_methods {
    () => {
        /// Appends received bytes.
        pub fn push(&mut self, bytes: &[u8]) {
            self.rx.push(bytes);
        }

        /// See [`RecvBuf::read_buffer`].
        pub fn read_buffer(&mut self, n: usize) -> &mut Vec<u8> {
            self.rx.read_buffer(n)
        }

        /// See [`RecvBuf::read_buffer_exact`].
        pub fn read_buffer_exact(&mut self, n: usize) -> &mut Vec<u8> {
            self.rx.read_buffer_exact(n)
        }

        /// See [`RecvBuf::adopt`].
        pub fn adopt_buffer(&mut self, v: Vec<u8>) {
            self.rx.adopt(v);
        }

        /// Where buffers handed over in frames go back to once the last view of them is
        /// dropped ([`RecvBuf::hand_over`]).
        pub fn set_home(&mut self, home: std::sync::Weak<dyn BufferHome>) {
            self.rx.home = Some(home);
        }

        /// Bytes the receive buffer holds allocated.
        pub fn capacity(&self) -> usize {
            self.rx.capacity()
        }

        /// Bytes received and not yet returned in a frame.
        pub fn pending(&self) -> usize {
            self.rx.pending()
        }
    };
}
pub(crate) use recv_buf_methods;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returned_bytes_are_dropped_before_a_read_and_a_large_empty_buffer_is_freed() {
        let mut r = RecvBuf::default();
        r.push(b"abcdef");
        r.start = 4;
        assert_eq!(r.pending(), 2);
        r.read_buffer(10).extend_from_slice(b"gh");
        assert_eq!((r.buf.as_slice(), r.start), (&b"efgh"[..], 0));
        r.start = 4;
        r.push(b"x");
        assert_eq!(r.buf, b"x", "a fully returned buffer restarts");
        r.push(b"yz");
        r.start = 1;
        r.adopt(Vec::with_capacity(4096));
        assert_eq!(
            (r.buf.as_slice(), r.start),
            (&b"yz"[..], 0),
            "pending bytes move over"
        );
        assert!(r.capacity() >= 4096);
        r.start = 1;
        r.read_buffer_exact(RETAINED_BYTES_MAX * 2);
        assert!(r.capacity() >= RETAINED_BYTES_MAX * 2);
        r.read_buffer(1);
        assert!(
            r.capacity() > RETAINED_BYTES_MAX,
            "holding a byte, it keeps its memory"
        );
        r.start = 1;
        r.read_buffer(1);
        assert!(r.capacity() <= RETAINED_BYTES_MAX, "{}", r.capacity());
    }

    #[derive(Default)]
    struct Kept(parking_lot::Mutex<Vec<Vec<u8>>>);

    impl BufferHome for Kept {
        fn give(&self, buf: Vec<u8>) {
            self.0.lock().push(buf);
        }
    }

    #[test]
    fn a_handed_over_buffer_goes_home_when_its_last_view_is_dropped() {
        let home = std::sync::Arc::new(Kept::default());
        let weak = std::sync::Arc::downgrade(&home);
        let r = RecvBuf {
            home: Some(weak),
            ..RecvBuf::default()
        };
        let mut v = Vec::with_capacity(100);
        v.extend_from_slice(b"frame bytes");
        let frame = r.hand_over(v).slice(6..);
        let body = frame.slice(0..5);
        drop(frame);
        assert!(home.0.lock().is_empty(), "a body still views it");
        assert_eq!(&body[..], b"bytes");
        drop(body);
        let back = home.0.lock().pop().unwrap_or_default();
        assert_eq!(back.capacity(), 100);
        // Without a home (or once it is gone) the buffer is only freed.
        let plain = RecvBuf::default().hand_over(b"x".to_vec());
        assert_eq!(&plain[..], b"x");
    }
}
