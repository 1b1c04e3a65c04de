//! What the compact and binary protocols have in common: the value types, the message head,
//! and the reading ([`ProtoIn`]) and writing ([`ProtoOut`]) operations the call codec uses,
//! plus [`skip`], which steps over a value of any type (unknown fields) within a nesting
//! limit. The protocols differ only in how these are laid out in bytes.

use super::error::ThriftError;

/// Deepest nesting of structs, lists, sets and maps accepted in a skipped value (Thrift's
/// own libraries use 64).
pub const NESTING_MAX: usize = 64;
/// Longest method name accepted (Flume's are `append` and `appendBatch`).
pub const METHOD_NAME_BYTES_MAX: usize = 256;

/// The value types of Thrift's type system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TType {
    /// `bool`.
    Bool,
    /// `byte` (i8).
    Byte,
    /// `i16`.
    I16,
    /// `i32` (and enums).
    I32,
    /// `i64`.
    I64,
    /// `double`.
    Double,
    /// `string` and `binary`.
    Binary,
    /// `struct` (and exceptions, unions).
    Struct,
    /// `map`.
    Map,
    /// `set`.
    Set,
    /// `list`.
    List,
    /// `uuid` (16 bytes).
    Uuid,
}

/// The kinds of RPC message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    /// A call that expects a reply.
    Call = 1,
    /// The reply to a call.
    Reply = 2,
    /// A `TApplicationException` instead of a reply.
    Exception = 3,
    /// A call that expects no reply.
    Oneway = 4,
}

impl MessageType {
    const ALL: [MessageType; 4] = [
        MessageType::Call,
        MessageType::Reply,
        MessageType::Exception,
        MessageType::Oneway,
    ];

    /// The type of this wire code (the code is the variant's discriminant).
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|t| *t as u8 == code)
    }
}

/// The head of a message: its name, type and sequence id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageHead<'a> {
    /// The method name (raw bytes; Flume's are ASCII).
    pub name: &'a [u8],
    /// Call, reply, exception or oneway (a code outside 1-4 is refused when read).
    pub kind: MessageType,
    /// The sequence id the reply echoes.
    pub seqid: i32,
}

/// Reading one protocol's values from a payload (a whole frame: "truncated" is final).
pub trait ProtoIn<'a> {
    /// Offset of the next byte in the payload.
    fn offset(&self) -> usize;
    /// Bytes not read yet.
    fn remaining(&self) -> usize;
    /// The message head.
    fn message_begin(&mut self) -> Result<MessageHead<'a>, ThriftError>;
    /// Enters a struct.
    fn struct_begin(&mut self);
    /// Leaves a struct (after its stop field).
    fn struct_end(&mut self);
    /// The next field's type and id, or `None` at the struct's stop field.
    fn field_begin(&mut self) -> Result<Option<(TType, i16)>, ThriftError>;
    /// A list or set header: element type and count (the count is at most the bytes left).
    fn list_begin(&mut self) -> Result<(TType, usize), ThriftError>;
    /// A map header: key type, value type and count (at most the bytes left).
    fn map_begin(&mut self) -> Result<(TType, TType, usize), ThriftError>;
    /// A `bool` (a field's own, or a collection element).
    fn bool(&mut self) -> Result<bool, ThriftError>;
    /// A `byte`.
    fn byte(&mut self) -> Result<i8, ThriftError>;
    /// An `i16`.
    fn i16(&mut self) -> Result<i16, ThriftError>;
    /// An `i32`.
    fn i32(&mut self) -> Result<i32, ThriftError>;
    /// An `i64`.
    fn i64(&mut self) -> Result<i64, ThriftError>;
    /// A `double` (its 8 bytes, skipped).
    fn double(&mut self) -> Result<(), ThriftError>;
    /// A `uuid` (its 16 bytes, skipped).
    fn uuid(&mut self) -> Result<(), ThriftError>;
    /// A `string` or `binary`, borrowed from the payload.
    fn bytes(&mut self, what: &'static str) -> Result<&'a [u8], ThriftError>;
}

/// Writing one protocol's values.
pub trait ProtoOut {
    /// A message head.
    fn message_begin(&mut self, name: &str, kind: MessageType, seqid: i32);
    /// Enters a struct.
    fn struct_begin(&mut self);
    /// Writes the stop field and leaves the struct.
    fn struct_end(&mut self);
    /// A field header (for a `bool` field, use [`ProtoOut::bool_field`]).
    fn field_begin(&mut self, ty: TType, id: i16);
    /// A `bool` field with its value.
    fn bool_field(&mut self, id: i16, value: bool);
    /// A list header.
    fn list_begin(&mut self, elem: TType, count: usize);
    /// A map header.
    fn map_begin(&mut self, key: TType, value: TType, count: usize);
    /// An `i32`.
    fn i32(&mut self, v: i32);
    /// A `string` or `binary`.
    fn bytes(&mut self, b: &[u8]) {
        self.bytes_head(b.len());
        self.extend(b);
    }
    /// A `string` or `binary` up to its bytes (its length), which the caller writes itself.
    fn bytes_head(&mut self, len: usize);
    /// Raw bytes.
    fn extend(&mut self, b: &[u8]);
    /// Bytes written so far.
    fn written(&self) -> usize;
}

/// Steps over one value of type `ty` (an unknown field), at most [`NESTING_MAX`] deep.
pub fn skip<'a, P: ProtoIn<'a>>(p: &mut P, ty: TType, depth: usize) -> Result<(), ThriftError> {
    if depth >= NESTING_MAX {
        return Err(ThriftError::TooDeep {
            max: NESTING_MAX,
            offset: p.offset(),
        });
    }
    match ty {
        TType::Bool => p.bool().map(drop),
        TType::Byte => p.byte().map(drop),
        TType::I16 => p.i16().map(drop),
        TType::I32 => p.i32().map(drop),
        TType::I64 => p.i64().map(drop),
        TType::Double => p.double(),
        TType::Uuid => p.uuid(),
        TType::Binary => p.bytes("skipped binary").map(drop),
        TType::Struct => {
            p.struct_begin();
            while let Some((t, _)) = p.field_begin()? {
                skip(p, t, depth + 1)?;
            }
            p.struct_end();
            Ok(())
        }
        TType::List | TType::Set => {
            let (t, n) = p.list_begin()?;
            for _ in 0..n {
                skip(p, t, depth + 1)?;
            }
            Ok(())
        }
        TType::Map => {
            let (k, v, n) = p.map_begin()?;
            for _ in 0..n {
                skip(p, k, depth + 1)?;
                skip(p, v, depth + 1)?;
            }
            Ok(())
        }
    }
}

/// A count checked against the bytes left (every element takes at least one byte in
/// both protocols, so a larger count is a lie told to make the reader allocate).
pub(crate) fn checked_count(
    what: &'static str,
    count: i64,
    remaining: usize,
    offset: usize,
) -> Result<usize, ThriftError> {
    if count < 0 {
        return Err(ThriftError::NegativeLength {
            what,
            len: count,
            offset,
        });
    }
    if count as u64 > remaining as u64 {
        return Err(ThriftError::TooLong {
            what,
            len: count as u64,
            max: remaining as u64,
            offset,
        });
    }
    Ok(count as usize)
}
