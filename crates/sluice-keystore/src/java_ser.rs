//! A bounded reader of the Java object serialization stream grammar (the part JCEKS needs):
//! objects of `Serializable` classes, class descriptors, strings, arrays, enums, references
//! and block data. Nesting is limited to [`DEPTH_MAX`]; every length is checked against the
//! bytes that remain before anything is allocated; a back-reference shares the value (`Rc`),
//! so no input costs more memory than a small multiple of its size, and none loops.

use std::rc::Rc;

use zeroize::Zeroizing;

use super::java_value::{ClassDesc, FieldDesc, Handle, Object, Value};
use super::reader::{Malformed, Reader};
use crate::invariant::hot_assert;

/// How deeply contents may nest (objects in fields, superclass chains, annotations).
pub(crate) const DEPTH_MAX: usize = 24;

const STREAM_MAGIC: u16 = 0xACED;
const STREAM_VERSION: u16 = 5;
const BASE_WIRE_HANDLE: u32 = 0x7E_0000;
const TC_NULL: u8 = 0x70;
const TC_REFERENCE: u8 = 0x71;
const TC_CLASSDESC: u8 = 0x72;
const TC_OBJECT: u8 = 0x73;
const TC_STRING: u8 = 0x74;
const TC_ARRAY: u8 = 0x75;
const TC_CLASS: u8 = 0x76;
const TC_BLOCKDATA: u8 = 0x77;
const TC_ENDBLOCKDATA: u8 = 0x78;
const TC_BLOCKDATALONG: u8 = 0x7A;
const TC_LONGSTRING: u8 = 0x7C;
const TC_ENUM: u8 = 0x7E;
const SC_WRITE_METHOD: u8 = 0x01;
const SC_SERIALIZABLE: u8 = 0x02;

/// Reads the stream header and one object from `r`, leaving `r` after it.
pub(crate) fn read_stream_object(r: &mut Reader<'_>) -> Result<Rc<Value>, Malformed> {
    let at = r.pos();
    if r.u16("serialization magic")? != STREAM_MAGIC {
        return Err(Malformed::new(at, "not a Java serialization stream"));
    }
    if r.u16("serialization version")? != STREAM_VERSION {
        return Err(Malformed::new(at + 2, "unknown serialization version"));
    }
    let value = Stream::default().content(r, 0)?;
    hot_assert!(
        r.pos() > at + 4,
        "an object read consumed its type code after the stream header"
    );
    Ok(value)
}

struct Stream {
    handles: Vec<Handle>,
    /// One shared value for every null and primitive field.
    null: Rc<Value>,
    primitive: Rc<Value>,
}

impl Default for Stream {
    fn default() -> Self {
        Stream {
            handles: Vec::new(),
            null: Rc::new(Value::Null),
            primitive: Rc::new(Value::Primitive),
        }
    }
}

impl Stream {
    fn new_handle(&mut self) -> usize {
        self.handles.push(Handle::Pending);
        self.handles.len() - 1
    }

    fn reference(&self, r: &mut Reader<'_>) -> Result<Handle, Malformed> {
        let at = r.pos();
        let wire = r.u32("handle")?;
        let slot = wire.checked_sub(BASE_WIRE_HANDLE).map(|i| i as usize);
        match slot.and_then(|i| self.handles.get(i)) {
            Some(Handle::Pending) | None => Err(Malformed::new(at, "reference to no handle")),
            Some(h) => Ok(h.clone()),
        }
    }

    /// One content item that is a value (an object, string, array, enum, class or null).
    fn content(&mut self, r: &mut Reader<'_>, depth: usize) -> Result<Rc<Value>, Malformed> {
        if depth > DEPTH_MAX {
            return Err(r.fault("objects nested too deeply"));
        }
        let at = r.pos();
        match r.u8("type code")? {
            TC_NULL => Ok(self.null.clone()),
            TC_REFERENCE => match self.reference(r)? {
                Handle::Value(v) => Ok(v),
                _ => Err(Malformed::new(
                    at,
                    "reference to a class descriptor as a value",
                )),
            },
            TC_STRING => {
                let s = r.utf("string")?;
                self.keep(Value::String(s))
            }
            TC_LONGSTRING => {
                let n = r.u64("long string length")?;
                let n = usize::try_from(n).map_err(|_| r.fault("long string too long"))?;
                let raw = r.take(n, "long string")?;
                let s = super::reader::decode_modified_utf8(raw)
                    .ok_or_else(|| Malformed::new(at, "bad UTF in a long string"))?;
                self.keep(Value::String(s))
            }
            TC_OBJECT => self.object(r, depth),
            TC_ARRAY => self.array(r, depth),
            TC_ENUM => {
                let desc = self
                    .class_desc(r, depth + 1)?
                    .ok_or_else(|| r.fault("enum of no class"))?;
                let slot = self.new_handle();
                let name = self.content(r, depth + 1)?;
                let Value::String(name) = name.as_ref() else {
                    return Err(r.fault("enum constant name is not a string"));
                };
                let value = Value::Enum {
                    class: desc.name.clone(),
                    name: name.clone(),
                };
                self.fill(slot, value)
            }
            TC_CLASS => {
                self.class_desc(r, depth + 1)?;
                self.keep(Value::Class)
            }
            other => Err(Malformed::new(
                at,
                format!("unexpected type code {other:#04x}"),
            )),
        }
    }

    fn keep(&mut self, value: Value) -> Result<Rc<Value>, Malformed> {
        let slot = self.new_handle();
        self.fill(slot, value)
    }

    fn fill(&mut self, slot: usize, value: Value) -> Result<Rc<Value>, Malformed> {
        hot_assert!(slot < self.handles.len(), "a slot filled was handed out");
        let value = Rc::new(value);
        if let Some(h) = self.handles.get_mut(slot) {
            *h = Handle::Value(value.clone());
        }
        Ok(value)
    }

    /// A class descriptor: new, a reference to one, or null.
    fn class_desc(
        &mut self,
        r: &mut Reader<'_>,
        depth: usize,
    ) -> Result<Option<Rc<ClassDesc>>, Malformed> {
        if depth > DEPTH_MAX {
            return Err(r.fault("class hierarchy too deep"));
        }
        let at = r.pos();
        match r.u8("class descriptor")? {
            TC_NULL => Ok(None),
            TC_REFERENCE => match self.reference(r)? {
                Handle::Desc(d) => Ok(Some(d)),
                _ => Err(Malformed::new(
                    at,
                    "reference to a value as a class descriptor",
                )),
            },
            TC_CLASSDESC => {
                let name = r.utf("class name")?;
                r.u64("serialVersionUID")?;
                let slot = self.new_handle();
                let flags = r.u8("class flags")?;
                let count = r.u16("field count")?;
                let mut fields = Vec::new();
                for _ in 0..count {
                    let type_code = r.u8("field type")?;
                    let name = r.utf("field name")?;
                    if matches!(type_code, b'L' | b'[') {
                        self.content(r, depth + 1)?; // the field's class name
                    } else if prim_len(type_code).is_none() {
                        return Err(r.fault(format!("unknown field type {type_code:#04x}")));
                    }
                    fields.push(FieldDesc {
                        type_code,
                        name: name.into(),
                    });
                }
                hot_assert!(
                    fields.len() == usize::from(count),
                    "one field descriptor per count"
                );
                self.annotations(r, depth + 1)?;
                let superclass = self.class_desc(r, depth + 1)?;
                let desc = Rc::new(ClassDesc {
                    name,
                    flags,
                    fields,
                    superclass,
                });
                if let Some(h) = self.handles.get_mut(slot) {
                    *h = Handle::Desc(desc.clone());
                }
                Ok(Some(desc))
            }
            other => Err(Malformed::new(
                at,
                format!("unexpected class descriptor {other:#04x}"),
            )),
        }
    }

    /// Contents up to `TC_ENDBLOCKDATA` (class and object annotations), skipped.
    fn annotations(&mut self, r: &mut Reader<'_>, depth: usize) -> Result<(), Malformed> {
        loop {
            match r.peek_u8("annotation")? {
                TC_ENDBLOCKDATA => {
                    r.u8("end of block data")?;
                    return Ok(());
                }
                TC_BLOCKDATA => {
                    r.u8("block data")?;
                    let n = usize::from(r.u8("block length")?);
                    r.take(n, "block data")?;
                }
                TC_BLOCKDATALONG => {
                    r.u8("block data")?;
                    let n = r.len_u32("block length")?;
                    r.take(n, "block data")?;
                }
                _ => {
                    self.content(r, depth + 1)?;
                }
            }
        }
    }

    fn object(&mut self, r: &mut Reader<'_>, depth: usize) -> Result<Rc<Value>, Malformed> {
        let class = self
            .class_desc(r, depth + 1)?
            .ok_or_else(|| r.fault("object of no class"))?;
        let slot = self.new_handle();
        let mut chain = Vec::new();
        let mut next = Some(class.clone());
        while let Some(c) = next {
            if chain.len() > DEPTH_MAX {
                return Err(r.fault("class hierarchy too deep"));
            }
            next = c.superclass.clone();
            chain.push(c);
        }
        hot_assert!(
            !chain.is_empty() && chain.len() <= DEPTH_MAX + 1,
            "a class chain of at least the object's class, within the depth bound"
        );
        let mut fields = Vec::new();
        for c in chain.iter().rev() {
            if c.flags & SC_SERIALIZABLE == 0 {
                return Err(r.fault(format!("class {} is not plainly Serializable", c.name)));
            }
            for f in &c.fields {
                let value = match prim_len(f.type_code) {
                    Some(n) => {
                        r.take(n, "primitive field")?;
                        self.primitive.clone()
                    }
                    None => self.content(r, depth + 1)?,
                };
                fields.push((f.name.clone(), value));
            }
            if c.flags & SC_WRITE_METHOD != 0 {
                self.annotations(r, depth + 1)?;
            }
        }
        self.fill(slot, Value::Object(Object { class, fields }))
    }

    fn array(&mut self, r: &mut Reader<'_>, depth: usize) -> Result<Rc<Value>, Malformed> {
        let class = self
            .class_desc(r, depth + 1)?
            .ok_or_else(|| r.fault("array of no class"))?;
        let slot = self.new_handle();
        let at = r.pos();
        let count = r.u32("array length")?;
        let count = usize::try_from(count)
            .ok()
            .filter(|&n| n <= i32::MAX as usize)
            .ok_or_else(|| Malformed::new(at, "negative array length"))?;
        let element = class.name.as_bytes().get(1).copied().unwrap_or(0);
        let value = match (class.name.as_str(), prim_len(element)) {
            ("[B", _) => Value::Bytes(Zeroizing::new(r.take(count, "byte array")?.to_vec())),
            (_, Some(n)) => {
                let total = count
                    .checked_mul(n)
                    .ok_or_else(|| r.fault("array too long"))?;
                r.take(total, "primitive array")?;
                Value::OtherArray
            }
            _ => {
                for _ in 0..count {
                    self.content(r, depth + 1)?;
                }
                Value::OtherArray
            }
        };
        self.fill(slot, value)
    }
}

/// Size in bytes of a primitive field of type code `t`, `None` for objects and arrays.
fn prim_len(t: u8) -> Option<usize> {
    match t {
        b'B' | b'Z' => Some(1),
        b'C' | b'S' => Some(2),
        b'I' | b'F' => Some(4),
        b'J' | b'D' => Some(8),
        _ => None,
    }
}
