//! What the compact and binary readers share below their encodings: [`Cursor`], the position
//! in one payload that bytes are taken from (running past its end is final: the payload is a
//! whole frame), and [`TypeCodes`], a protocol's table of type codes, read and written by one
//! lookup so each protocol only states its codes.

use super::error::ThriftError;
use super::proto::{TType, METHOD_NAME_BYTES_MAX};

/// A read position in one payload.
#[derive(Debug)]
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    /// Offset of the next byte.
    pub(crate) at: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `buf`.
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, at: 0 }
    }

    /// Bytes not taken yet.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.at)
    }

    /// The next `n` bytes, borrowed from the payload; `what` names them when they are not all
    /// there.
    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ThriftError> {
        let start = self.at;
        let s = start
            .checked_add(n)
            .and_then(|end| self.buf.get(start..end))
            .ok_or(ThriftError::Truncated {
                what,
                offset: start,
            })?;
        self.at += n;
        Ok(s)
    }

    /// The next byte.
    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, ThriftError> {
        let b = *self.buf.get(self.at).ok_or(ThriftError::Truncated {
            what,
            offset: self.at,
        })?;
        self.at += 1;
        Ok(b)
    }
}

/// A protocol's type codes as `(code, type)` pairs; a type's first pair gives the code written
/// for it, and every pair's code reads as its type.
#[derive(Debug)]
pub(crate) struct TypeCodes(pub(crate) &'static [(u8, TType)]);

impl TypeCodes {
    /// The type of `code` (read at `offset` for `what`).
    pub(crate) fn ttype(
        &self,
        code: u8,
        offset: usize,
        what: &'static str,
    ) -> Result<TType, ThriftError> {
        self.0
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, t)| *t)
            .ok_or(ThriftError::BadType { what, code, offset })
    }

    /// The code written for `ty` (every table names every type: the tests check it).
    pub(crate) fn code(&self, ty: TType) -> u8 {
        self.0.iter().find(|(_, t)| *t == ty).map_or(0, |(c, _)| *c)
    }
}

/// Refuses a method name longer than [`METHOD_NAME_BYTES_MAX`] (read at `at`).
pub(crate) fn check_method_name(len: usize, at: usize) -> Result<(), ThriftError> {
    if len > METHOD_NAME_BYTES_MAX {
        return Err(ThriftError::TooLong {
            what: "method name",
            len: len as u64,
            max: METHOD_NAME_BYTES_MAX as u64,
            offset: at,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [TType; 12] = [
        TType::Bool,
        TType::Byte,
        TType::I16,
        TType::I32,
        TType::I64,
        TType::Double,
        TType::Binary,
        TType::Struct,
        TType::Map,
        TType::Set,
        TType::List,
        TType::Uuid,
    ];

    #[test]
    fn every_type_has_a_code_in_both_protocols_that_reads_back_as_it() {
        for table in [&super::super::binary::TYPES, &super::super::compact::TYPES] {
            for ty in ALL {
                let code = table.code(ty);
                assert_ne!(code, 0, "{ty:?}");
                assert_eq!(table.ttype(code, 0, "t"), Ok(ty));
            }
        }
        assert_eq!(
            super::super::compact::TYPES.ttype(2, 0, "t"),
            Ok(TType::Bool)
        );
        assert!(matches!(
            super::super::binary::TYPES.ttype(1, 7, "t"),
            Err(ThriftError::BadType {
                code: 1,
                offset: 7,
                ..
            })
        ));
    }

    #[test]
    fn a_cursor_names_the_field_and_offset_it_ran_out_in() {
        let mut c = Cursor::new(b"abc");
        assert_eq!(c.take(2, "x"), Ok(&b"ab"[..]));
        assert_eq!(c.remaining(), 1);
        assert_eq!(
            c.take(2, "y"),
            Err(ThriftError::Truncated {
                what: "y",
                offset: 2
            })
        );
        assert_eq!(c.u8("z"), Ok(b'c'));
        assert!(matches!(
            c.u8("w"),
            Err(ThriftError::Truncated {
                what: "w",
                offset: 3
            })
        ));
    }
}
