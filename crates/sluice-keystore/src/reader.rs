//! [`Reader`]: a bounded big-endian cursor over a byte slice (Java's `DataInput`), whose every
//! read checks its length against the bytes that remain and fails with a [`Malformed`] that
//! carries the offset.

use crate::invariant::hot_assert;

/// A structural fault at a byte offset, before it is given the store's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Malformed {
    /// Offset of the read that failed, from the start of the reader's bytes.
    pub(crate) offset: u64,
    /// What was wrong.
    pub(crate) reason: String,
}

impl Malformed {
    pub(crate) fn new(offset: usize, reason: impl Into<String>) -> Self {
        Malformed {
            offset: offset as u64,
            reason: reason.into(),
        }
    }
}

/// A cursor over bytes; reads are big-endian as Java writes them.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    /// Offset of the next byte.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// A fault at the current offset.
    pub(crate) fn fault(&self, reason: impl Into<String>) -> Malformed {
        Malformed::new(self.pos, reason)
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], Malformed> {
        if n > self.remaining() {
            return Err(self.fault(format!(
                "{what}: {n} bytes needed, {} left",
                self.remaining()
            )));
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        hot_assert!(
            out.len() == n && self.pos <= self.bytes.len(),
            "a take gives what was asked and the cursor stays within its bytes"
        );
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], Malformed> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    /// The next byte, not consumed.
    pub(crate) fn peek_u8(&self, what: &str) -> Result<u8, Malformed> {
        self.bytes
            .get(self.pos)
            .copied()
            .ok_or_else(|| self.fault(format!("{what}: 1 byte needed, 0 left")))
    }

    pub(crate) fn u8(&mut self, what: &str) -> Result<u8, Malformed> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(crate) fn u16(&mut self, what: &str) -> Result<u16, Malformed> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    pub(crate) fn u32(&mut self, what: &str) -> Result<u32, Malformed> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    pub(crate) fn u64(&mut self, what: &str) -> Result<u64, Malformed> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    /// A length written as a Java `int`: negative is a fault, and so is a length longer than
    /// what remains (nothing is allocated for it before that check).
    pub(crate) fn len_u32(&mut self, what: &str) -> Result<usize, Malformed> {
        let at = self.pos;
        let n = self.u32(what)?;
        if n > i32::MAX as u32 {
            return Err(Malformed::new(at, format!("{what}: negative length")));
        }
        let n = n as usize;
        if n > self.remaining() {
            return Err(Malformed::new(
                at,
                format!(
                    "{what}: length {n} beyond the {} bytes left",
                    self.remaining()
                ),
            ));
        }
        Ok(n)
    }

    /// A string as `DataOutput.writeUTF` writes it: a 2-byte length, then modified UTF-8.
    pub(crate) fn utf(&mut self, what: &str) -> Result<String, Malformed> {
        let n = usize::from(self.u16(what)?);
        let at = self.pos;
        let raw = self.take(n, what)?;
        hot_assert!(self.pos == at + n, "a string consumes its stated length");
        decode_modified_utf8(raw).ok_or_else(|| Malformed::new(at, format!("{what}: bad UTF")))
    }
}

/// Decodes Java's modified UTF-8 (NUL as `C0 80`, characters beyond the BMP as two encoded
/// surrogates); `None` when the bytes are not well formed.
pub(crate) fn decode_modified_utf8(raw: &[u8]) -> Option<String> {
    if let Ok(s) = std::str::from_utf8(raw) {
        if !s.contains('\0') {
            return Some(s.to_owned());
        }
    }
    let mut units: Vec<u16> = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        let (unit, used) = match b {
            0x01..=0x7F => (u16::from(b), 1),
            0xC0..=0xDF => {
                let b1 = *raw.get(i + 1)?;
                (cont(b1)? | (u16::from(b & 0x1F) << 6), 2)
            }
            0xE0..=0xEF => {
                let (b1, b2) = (*raw.get(i + 1)?, *raw.get(i + 2)?);
                let unit = (u16::from(b & 0x0F) << 12) | (cont(b1)? << 6) | cont(b2)?;
                (unit, 3)
            }
            _ => return None,
        };
        units.push(unit);
        i += used;
    }
    hot_assert!(
        i == raw.len() && units.len() <= raw.len(),
        "every byte decoded once, at most one UTF-16 unit per byte"
    );
    String::from_utf16(&units).ok()
}

fn cont(b: u8) -> Option<u16> {
    (b & 0xC0 == 0x80).then_some(u16::from(b & 0x3F))
}
