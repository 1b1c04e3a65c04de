//! Avro binary encoding primitives: zig-zag varint longs, length-prefixed bytes and strings,
//! booleans, enums and union indexes, and block counts of maps and arrays. The reader checks
//! every length against the bytes that remain before it allocates anything.

use super::error::AvroError;
use crate::text::lossy;

/// Longest zig-zag varint of a 64-bit long (10 bytes).
const VARINT_BYTES_MAX: usize = 10;

/// A cursor over one Avro datum.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// A reader at offset `pos` of `buf` (offsets in errors stay those of `buf`).
    pub fn at(buf: &'a [u8], pos: usize) -> Self {
        Reader {
            buf,
            pos: pos.min(buf.len()),
        }
    }

    /// Offset of the next byte.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// A zig-zag varint long.
    pub fn long(&mut self, what: &'static str) -> Result<i64, AvroError> {
        let start = self.pos;
        let mut value: u64 = 0;
        for i in 0..VARINT_BYTES_MAX {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(AvroError::Truncated {
                    what,
                    offset: start,
                });
            };
            self.pos += 1;
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(((value >> 1) as i64) ^ -((value & 1) as i64));
            }
        }
        Err(AvroError::BadVarint {
            what,
            offset: start,
        })
    }

    /// A length (of bytes, a string or a block) that must be non-negative and at most `max`.
    fn length(&mut self, what: &'static str, max: usize) -> Result<usize, AvroError> {
        let offset = self.pos;
        let n = self.long(what)?;
        if n < 0 {
            return Err(AvroError::NegativeLength {
                what,
                len: n,
                offset,
            });
        }
        if n as u64 > max as u64 {
            return Err(AvroError::TooLong {
                what,
                len: n as u64,
                max: max as u64,
                offset,
            });
        }
        Ok(n as usize)
    }

    /// `n` raw bytes (an Avro `fixed`).
    pub fn fixed(&mut self, what: &'static str, n: usize) -> Result<&'a [u8], AvroError> {
        if self.remaining() < n {
            return Err(AvroError::Truncated {
                what,
                offset: self.pos,
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Avro `bytes`: a length, checked against what remains, then the bytes.
    pub fn bytes(&mut self, what: &'static str) -> Result<&'a [u8], AvroError> {
        let offset = self.pos;
        let n = self.length(what, usize::MAX)?;
        if n > self.remaining() {
            return Err(AvroError::Truncated { what, offset });
        }
        self.fixed(what, n)
    }

    /// Avro `bytes` of at most `max` bytes: a longer length is refused from the length alone.
    pub fn bytes_max(&mut self, what: &'static str, max: usize) -> Result<&'a [u8], AvroError> {
        let offset = self.pos;
        let n = self.length(what, max)?;
        if n > self.remaining() {
            return Err(AvroError::Truncated { what, offset });
        }
        self.fixed(what, n)
    }

    /// Avro `string`. Invalid UTF-8 is replaced (U+FFFD), as Java's decoder does.
    pub fn string(&mut self, what: &'static str) -> Result<String, AvroError> {
        let b = self.bytes(what)?;
        Ok(lossy(b).into_owned())
    }

    /// Avro `string` of at most `max` bytes (checked before anything is allocated).
    pub fn string_max(&mut self, what: &'static str, max: usize) -> Result<String, AvroError> {
        let b = self.bytes_max(what, max)?;
        Ok(lossy(b).into_owned())
    }

    /// Avro `boolean` (one byte, 0 or 1).
    pub fn boolean(&mut self, what: &'static str) -> Result<bool, AvroError> {
        let offset = self.pos;
        match self.fixed(what, 1)? {
            [0] => Ok(false),
            [1] => Ok(true),
            [b] => Err(AvroError::BadIndex {
                what,
                index: i64::from(*b),
                offset,
            }),
            _ => unreachable_len(what, offset),
        }
    }

    /// An enum symbol or union branch index below `count`.
    pub fn index(&mut self, what: &'static str, count: usize) -> Result<usize, AvroError> {
        let offset = self.pos;
        let i = self.long(what)?;
        if i < 0 || i as u64 >= count as u64 {
            return Err(AvroError::BadIndex {
                what,
                index: i,
                offset,
            });
        }
        Ok(i as usize)
    }

    /// The item count of the next map or array block (0 ends it). A negative count is
    /// followed by the block's size in bytes, which is read and ignored. Every item takes at
    /// least `item_bytes_min` bytes, so a count that cannot fit in what remains is refused
    /// before anything is allocated for it.
    pub fn block(
        &mut self,
        what: &'static str,
        max: usize,
        item_bytes_min: usize,
    ) -> Result<usize, AvroError> {
        let offset = self.pos;
        let n = self.long(what)?;
        let count = if n < 0 {
            let _size = self.long(what)?;
            n.unsigned_abs()
        } else {
            n as u64
        };
        if count > max as u64 {
            return Err(AvroError::TooLong {
                what,
                len: count,
                max: max as u64,
                offset,
            });
        }
        if count.saturating_mul(item_bytes_min as u64) > self.remaining() as u64 {
            return Err(AvroError::Truncated { what, offset });
        }
        Ok(count as usize)
    }

    /// Fails unless every byte was read.
    pub fn finish(&self, what: &'static str) -> Result<(), AvroError> {
        if self.remaining() != 0 {
            return Err(AvroError::TrailingBytes {
                what,
                count: self.remaining(),
                offset: self.pos,
            });
        }
        Ok(())
    }
}

fn unreachable_len<T>(what: &'static str, offset: usize) -> Result<T, AvroError> {
    Err(AvroError::Truncated { what, offset })
}

/// Appends a zig-zag varint long.
pub fn put_long(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

/// Appends Avro `bytes` (or a `string`'s UTF-8).
pub fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_long(out, b.len() as i64);
    out.extend_from_slice(b);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longs_round_trip_with_the_zigzag_bytes_of_the_spec() {
        for (v, bytes) in [
            (0i64, vec![0x00]),
            (-1, vec![0x01]),
            (1, vec![0x02]),
            (3, vec![0x06]),
            (-64, vec![0x7f]),
            (64, vec![0x80, 0x01]),
            (1289, vec![0x92, 0x14]),
        ] {
            let mut out = Vec::new();
            put_long(&mut out, v);
            assert_eq!(out, bytes, "{v}");
            assert_eq!(Reader::new(&out).long("x").unwrap(), v);
        }
        for v in [i64::MIN, i64::MAX, -123_456_789, 987_654_321] {
            let mut out = Vec::new();
            put_long(&mut out, v);
            assert_eq!(Reader::new(&out).long("x").unwrap(), v);
        }
    }

    #[test]
    fn an_eleven_byte_varint_is_refused() {
        let b = [0xffu8; 11];
        assert!(matches!(
            Reader::new(&b).long("x"),
            Err(AvroError::BadVarint { .. })
        ));
    }

    #[test]
    fn a_length_beyond_the_remaining_bytes_is_truncation_not_allocation() {
        let mut b = Vec::new();
        put_long(&mut b, 1 << 40);
        b.push(0);
        assert!(matches!(
            Reader::new(&b).bytes("body"),
            Err(AvroError::Truncated { what: "body", .. })
        ));
        let mut b = Vec::new();
        put_long(&mut b, 1 << 40);
        assert!(matches!(
            Reader::new(&b).block("events", usize::MAX, 2),
            Err(AvroError::Truncated { .. })
        ));
    }
}
