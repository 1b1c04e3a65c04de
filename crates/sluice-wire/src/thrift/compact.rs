//! Thrift's compact protocol (`TCompactProtocol`, Flume's default): varints, zigzag integers,
//! field ids as deltas in the type byte, short list headers.
//!
//! Message head: `0x82 | version 1 + type << 5 | seqid varint | name`. Field header: one byte
//! `delta << 4 | type`, or `type` then a zigzag `i16` id when the delta is not 1-15; `0` is
//! the stop field. A `bool` field's value is its type (1 true, 2 false). Lists: one byte
//! `count << 4 | type`, or `0xf_ | type` then a varint count. Maps: a varint count, then
//! (when not empty) one byte `key type << 4 | value type`.

use super::cursor::{check_method_name, Cursor, TypeCodes};
use super::error::ThriftError;
use super::proto::{checked_count, MessageHead, MessageType, ProtoIn, ProtoOut, TType};

/// The first byte of every compact message.
pub const PROTOCOL_ID: u8 = 0x82;
/// The protocol version in the second byte.
pub const VERSION: u8 = 1;
const VERSION_MASK: u8 = 0x1f;
const TYPE_SHIFT: u8 = 5;

/// Deepest struct nesting whose field ids are tracked without allocating.
const STACK_INLINE: usize = 8;

/// The compact protocol's type codes (`2` is a `bool` too: a false one, in a field header).
pub(super) const TYPES: TypeCodes = TypeCodes(&[
    (1, TType::Bool),
    (2, TType::Bool),
    (3, TType::Byte),
    (4, TType::I16),
    (5, TType::I32),
    (6, TType::I64),
    (7, TType::Double),
    (8, TType::Binary),
    (9, TType::List),
    (10, TType::Set),
    (11, TType::Map),
    (12, TType::Struct),
    (13, TType::Uuid),
]);

fn unzigzag(n: u64) -> i64 {
    ((n >> 1) as i64) ^ -((n & 1) as i64)
}

/// Reads compact-protocol values from one payload.
#[derive(Debug)]
pub struct CompactIn<'a> {
    cur: Cursor<'a>,
    /// The last field id of each struct being read (the deltas are relative to it).
    last_ids: Vec<i16>,
    last_id: i16,
    /// A `bool` field's value, carried by its header.
    pending_bool: Option<bool>,
}

impl<'a> CompactIn<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        CompactIn {
            cur: Cursor::new(buf),
            last_ids: Vec::with_capacity(STACK_INLINE),
            last_id: 0,
            pending_bool: None,
        }
    }

    /// An unsigned varint of at most `max_bytes` bytes.
    fn varint(&mut self, what: &'static str, max_bytes: usize) -> Result<u64, ThriftError> {
        let start = self.cur.at;
        let mut v: u64 = 0;
        for i in 0..max_bytes {
            let b = self.cur.u8(what)?;
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(ThriftError::BadVarint {
            what,
            offset: start,
        })
    }

    fn varint32(&mut self, what: &'static str) -> Result<u32, ThriftError> {
        Ok(self.varint(what, 5)? as u32)
    }
}

impl<'a> ProtoIn<'a> for CompactIn<'a> {
    fn offset(&self) -> usize {
        self.cur.at
    }

    fn remaining(&self) -> usize {
        self.cur.remaining()
    }

    fn message_begin(&mut self) -> Result<MessageHead<'a>, ThriftError> {
        let id = self.cur.u8("protocol id")?;
        if id != PROTOCOL_ID {
            return Err(ThriftError::BadMessageHead {
                protocol: "compact",
                reason: format!("protocol id 0x{id:02x}, not 0x{PROTOCOL_ID:02x}"),
            });
        }
        let vt = self.cur.u8("version and type")?;
        if vt & VERSION_MASK != VERSION {
            return Err(ThriftError::BadMessageHead {
                protocol: "compact",
                reason: format!("version {}, not {VERSION}", vt & VERSION_MASK),
            });
        }
        let code = vt >> TYPE_SHIFT;
        let kind = MessageType::from_code(code).ok_or(ThriftError::BadMessageType {
            kind: code,
            expected: "1-4",
        })?;
        let seqid = self.varint32("seqid")? as i32;
        let at = self.cur.at;
        let len = self.varint32("method name")? as i32;
        let len = checked_count("method name", i64::from(len), self.remaining(), at)?;
        check_method_name(len, at)?;
        let name = self.cur.take(len, "method name")?;
        Ok(MessageHead { name, kind, seqid })
    }

    fn struct_begin(&mut self) {
        self.last_ids.push(self.last_id);
        self.last_id = 0;
    }

    fn struct_end(&mut self) {
        self.last_id = self.last_ids.pop().unwrap_or(0);
    }

    fn field_begin(&mut self) -> Result<Option<(TType, i16)>, ThriftError> {
        let at = self.cur.at;
        let b = self.cur.u8("field header")?;
        if b == 0 {
            return Ok(None);
        }
        let ty = TYPES.ttype(b & 0x0f, at, "field type")?;
        let delta = b >> 4;
        let id = if delta == 0 {
            let raw = self.varint("field id", 3)?;
            let id = unzigzag(raw);
            i16::try_from(id).map_err(|_| ThriftError::BadValue {
                what: "field id",
                value: id,
            })?
        } else {
            self.last_id.wrapping_add(i16::from(delta))
        };
        if ty == TType::Bool {
            self.pending_bool = Some(b & 0x0f == 1);
        }
        self.last_id = id;
        Ok(Some((ty, id)))
    }

    fn list_begin(&mut self) -> Result<(TType, usize), ThriftError> {
        let at = self.cur.at;
        let b = self.cur.u8("list header")?;
        let ty = TYPES.ttype(b & 0x0f, at, "list element type")?;
        let short = b >> 4;
        let n = if short == 15 {
            i64::from(self.varint32("list size")? as i32)
        } else {
            i64::from(short)
        };
        Ok((ty, checked_count("list size", n, self.remaining(), at)?))
    }

    fn map_begin(&mut self) -> Result<(TType, TType, usize), ThriftError> {
        let at = self.cur.at;
        let n = i64::from(self.varint32("map size")? as i32);
        let n = checked_count("map size", n, self.remaining(), at)?;
        if n == 0 {
            return Ok((TType::Binary, TType::Binary, 0));
        }
        let kv_at = self.cur.at;
        let kv = self.cur.u8("map types")?;
        let k = TYPES.ttype(kv >> 4, kv_at, "map key type")?;
        let v = TYPES.ttype(kv & 0x0f, kv_at, "map value type")?;
        Ok((k, v, n))
    }

    fn bool(&mut self) -> Result<bool, ThriftError> {
        if let Some(b) = self.pending_bool.take() {
            return Ok(b);
        }
        Ok(self.cur.u8("bool")? == 1)
    }

    fn byte(&mut self) -> Result<i8, ThriftError> {
        Ok(self.cur.u8("byte")? as i8)
    }

    fn i16(&mut self) -> Result<i16, ThriftError> {
        Ok(unzigzag(self.varint("i16", 3)?) as i16)
    }

    fn i32(&mut self) -> Result<i32, ThriftError> {
        Ok(unzigzag(u64::from(self.varint32("i32")?)) as i32)
    }

    fn i64(&mut self) -> Result<i64, ThriftError> {
        Ok(unzigzag(self.varint("i64", 10)?))
    }

    fn double(&mut self) -> Result<(), ThriftError> {
        self.cur.take(8, "double").map(drop)
    }

    fn uuid(&mut self) -> Result<(), ThriftError> {
        self.cur.take(16, "uuid").map(drop)
    }

    fn bytes(&mut self, what: &'static str) -> Result<&'a [u8], ThriftError> {
        let at = self.cur.at;
        let len = i64::from(self.varint32(what)? as i32);
        let len = checked_count(what, len, self.remaining(), at)?;
        self.cur.take(len, what)
    }
}

/// Writes compact-protocol values into a buffer.
#[derive(Debug)]
pub struct CompactOut<'o> {
    out: &'o mut Vec<u8>,
    last_ids: Vec<i16>,
    last_id: i16,
}

impl<'o> CompactOut<'o> {
    /// A writer appending to `out`.
    pub fn new(out: &'o mut Vec<u8>) -> Self {
        CompactOut {
            out,
            last_ids: Vec::with_capacity(STACK_INLINE),
            last_id: 0,
        }
    }

    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.out.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.out.push(v as u8);
    }

    fn zigzag(&mut self, v: i64) {
        self.varint(((v << 1) ^ (v >> 63)) as u64);
    }

    fn header(&mut self, type_code: u8, id: i16) {
        if id > self.last_id && id - self.last_id <= 15 {
            self.out
                .push((((id - self.last_id) as u8) << 4) | type_code);
        } else {
            self.out.push(type_code);
            self.zigzag(i64::from(id));
        }
        self.last_id = id;
    }
}

impl ProtoOut for CompactOut<'_> {
    fn message_begin(&mut self, name: &str, kind: MessageType, seqid: i32) {
        self.out.push(PROTOCOL_ID);
        self.out.push(VERSION | ((kind as u8) << TYPE_SHIFT));
        self.varint(u64::from(seqid as u32));
        self.bytes(name.as_bytes());
    }

    fn struct_begin(&mut self) {
        self.last_ids.push(self.last_id);
        self.last_id = 0;
    }

    fn struct_end(&mut self) {
        self.out.push(0);
        self.last_id = self.last_ids.pop().unwrap_or(0);
    }

    fn field_begin(&mut self, ty: TType, id: i16) {
        self.header(TYPES.code(ty), id);
    }

    fn bool_field(&mut self, id: i16, value: bool) {
        self.header(if value { 1 } else { 2 }, id);
    }

    fn list_begin(&mut self, elem: TType, count: usize) {
        if count < 15 {
            self.out.push(((count as u8) << 4) | TYPES.code(elem));
        } else {
            self.out.push(0xf0 | TYPES.code(elem));
            self.varint(count as u64);
        }
    }

    fn map_begin(&mut self, key: TType, value: TType, count: usize) {
        self.varint(count as u64);
        if count > 0 {
            self.out.push((TYPES.code(key) << 4) | TYPES.code(value));
        }
    }

    fn i32(&mut self, v: i32) {
        self.zigzag(i64::from(v));
    }

    fn bytes_head(&mut self, len: usize) {
        self.varint(len as u64);
    }

    fn extend(&mut self, b: &[u8]) {
        self.out.extend_from_slice(b);
    }

    fn written(&self) -> usize {
        self.out.len()
    }
}
