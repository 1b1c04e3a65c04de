//! Thrift's binary protocol (`TBinaryProtocol`, Flume's `protocol = binary`): big-endian
//! fixed-width integers, `i32` lengths.
//!
//! Message head (strict, as every current writer sends it): `i32 0x8001_0000 | type`, the
//! name, `i32 seqid`; the old non-strict head (`name`, `byte type`, `i32 seqid`, which
//! Java's reader still accepts by default) is read too. Field header: `byte type, i16 id`;
//! `0` is the stop field. Lists: `byte type, i32 count`; maps: `byte key, byte value, i32
//! count`.

use super::cursor::{check_method_name, Cursor, TypeCodes};
use super::error::ThriftError;
use super::proto::{checked_count, MessageHead, MessageType, ProtoIn, ProtoOut, TType};

/// The high half of a strict message head: version 1.
pub const VERSION_1: u32 = 0x8001_0000;
const VERSION_MASK: u32 = 0xffff_0000;

/// The binary protocol's type codes.
pub(super) const TYPES: TypeCodes = TypeCodes(&[
    (2, TType::Bool),
    (3, TType::Byte),
    (4, TType::Double),
    (6, TType::I16),
    (8, TType::I32),
    (10, TType::I64),
    (11, TType::Binary),
    (12, TType::Struct),
    (13, TType::Map),
    (14, TType::Set),
    (15, TType::List),
    (16, TType::Uuid),
]);

/// Reads binary-protocol values from one payload.
#[derive(Debug)]
pub struct BinaryIn<'a> {
    cur: Cursor<'a>,
}

impl<'a> BinaryIn<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        BinaryIn {
            cur: Cursor::new(buf),
        }
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], ThriftError> {
        let s = self.cur.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn be_i32(&mut self, what: &'static str) -> Result<i32, ThriftError> {
        Ok(i32::from_be_bytes(self.array(what)?))
    }

    fn counted(&mut self, what: &'static str) -> Result<&'a [u8], ThriftError> {
        let at = self.cur.at;
        let len = self.be_i32(what)?;
        let len = checked_count(what, i64::from(len), self.remaining(), at)?;
        self.cur.take(len, what)
    }
}

impl<'a> ProtoIn<'a> for BinaryIn<'a> {
    fn offset(&self) -> usize {
        self.cur.at
    }

    fn remaining(&self) -> usize {
        self.cur.remaining()
    }

    fn message_begin(&mut self) -> Result<MessageHead<'a>, ThriftError> {
        let first = self.be_i32("message head")?;
        let (name, code, seqid) = if first < 0 {
            let v = first as u32;
            if v & VERSION_MASK != VERSION_1 {
                return Err(ThriftError::BadMessageHead {
                    protocol: "binary",
                    reason: format!("version 0x{:08x}, not 0x{VERSION_1:08x}", v & VERSION_MASK),
                });
            }
            let at = self.cur.at;
            let name = self.counted("method name")?;
            check_method_name(name.len(), at)?;
            (name, (v & 0xff) as u8, self.be_i32("seqid")?)
        } else {
            // Non-strict: the name's length comes first.
            let len = first as usize;
            if len > super::proto::METHOD_NAME_BYTES_MAX {
                return Err(ThriftError::BadMessageHead {
                    protocol: "binary",
                    reason: format!(
                        "first word 0x{first:08x} is neither a version nor a method name length"
                    ),
                });
            }
            let name = self.cur.take(len, "method name")?;
            (name, self.cur.u8("message type")?, self.be_i32("seqid")?)
        };
        let kind = MessageType::from_code(code).ok_or(ThriftError::BadMessageType {
            kind: code,
            expected: "1-4",
        })?;
        Ok(MessageHead { name, kind, seqid })
    }

    fn struct_begin(&mut self) {}

    fn struct_end(&mut self) {}

    fn field_begin(&mut self) -> Result<Option<(TType, i16)>, ThriftError> {
        let at = self.cur.at;
        let t = self.cur.u8("field header")?;
        if t == 0 {
            return Ok(None);
        }
        let ty = TYPES.ttype(t, at, "field type")?;
        let id = i16::from_be_bytes(self.array("field id")?);
        Ok(Some((ty, id)))
    }

    fn list_begin(&mut self) -> Result<(TType, usize), ThriftError> {
        let at = self.cur.at;
        let ty = TYPES.ttype(self.cur.u8("list header")?, at, "list element type")?;
        let n = self.be_i32("list size")?;
        Ok((
            ty,
            checked_count("list size", i64::from(n), self.remaining(), at)?,
        ))
    }

    fn map_begin(&mut self) -> Result<(TType, TType, usize), ThriftError> {
        let at = self.cur.at;
        let k = TYPES.ttype(self.cur.u8("map header")?, at, "map key type")?;
        let v = TYPES.ttype(self.cur.u8("map header")?, at + 1, "map value type")?;
        let n = self.be_i32("map size")?;
        Ok((
            k,
            v,
            checked_count("map size", i64::from(n), self.remaining(), at)?,
        ))
    }

    fn bool(&mut self) -> Result<bool, ThriftError> {
        Ok(self.cur.u8("bool")? != 0)
    }

    fn byte(&mut self) -> Result<i8, ThriftError> {
        Ok(self.cur.u8("byte")? as i8)
    }

    fn i16(&mut self) -> Result<i16, ThriftError> {
        Ok(i16::from_be_bytes(self.array("i16")?))
    }

    fn i32(&mut self) -> Result<i32, ThriftError> {
        self.be_i32("i32")
    }

    fn i64(&mut self) -> Result<i64, ThriftError> {
        Ok(i64::from_be_bytes(self.array("i64")?))
    }

    fn double(&mut self) -> Result<(), ThriftError> {
        self.cur.take(8, "double").map(drop)
    }

    fn uuid(&mut self) -> Result<(), ThriftError> {
        self.cur.take(16, "uuid").map(drop)
    }

    fn bytes(&mut self, what: &'static str) -> Result<&'a [u8], ThriftError> {
        self.counted(what)
    }
}

/// Writes binary-protocol values (strict message heads) into a buffer.
#[derive(Debug)]
pub struct BinaryOut<'o> {
    out: &'o mut Vec<u8>,
}

impl<'o> BinaryOut<'o> {
    /// A writer appending to `out`.
    pub fn new(out: &'o mut Vec<u8>) -> Self {
        BinaryOut { out }
    }
}

impl ProtoOut for BinaryOut<'_> {
    fn message_begin(&mut self, name: &str, kind: MessageType, seqid: i32) {
        self.out
            .extend_from_slice(&(VERSION_1 | kind as u32).to_be_bytes());
        self.bytes(name.as_bytes());
        self.out.extend_from_slice(&seqid.to_be_bytes());
    }

    fn struct_begin(&mut self) {}

    fn struct_end(&mut self) {
        self.out.push(0);
    }

    fn field_begin(&mut self, ty: TType, id: i16) {
        self.out.push(TYPES.code(ty));
        self.out.extend_from_slice(&id.to_be_bytes());
    }

    fn bool_field(&mut self, id: i16, value: bool) {
        self.field_begin(TType::Bool, id);
        self.out.push(u8::from(value));
    }

    fn list_begin(&mut self, elem: TType, count: usize) {
        self.out.push(TYPES.code(elem));
        self.out.extend_from_slice(&(count as i32).to_be_bytes());
    }

    fn map_begin(&mut self, key: TType, value: TType, count: usize) {
        self.out.push(TYPES.code(key));
        self.out.push(TYPES.code(value));
        self.out.extend_from_slice(&(count as i32).to_be_bytes());
    }

    fn i32(&mut self, v: i32) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    fn bytes_head(&mut self, len: usize) {
        self.out.extend_from_slice(&(len as i32).to_be_bytes());
    }

    fn extend(&mut self, b: &[u8]) {
        self.out.extend_from_slice(b);
    }

    fn written(&self) -> usize {
        self.out.len()
    }
}
