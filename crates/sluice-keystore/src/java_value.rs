//! The values [`super::java_ser`] reads from a Java serialization stream: class descriptors,
//! objects with their fields by name, strings, byte arrays (in zeroizing buffers, since they
//! may hold key material) and enum constants. Shared through `Rc`, so a back-reference costs
//! one pointer, never a copy.

use std::rc::Rc;

use zeroize::Zeroizing;

/// A class descriptor: name, flags, field declarations and the superclass's descriptor.
#[derive(Debug)]
pub(crate) struct ClassDesc {
    pub(crate) name: String,
    pub(crate) flags: u8,
    pub(crate) fields: Vec<FieldDesc>,
    pub(crate) superclass: Option<Rc<ClassDesc>>,
}

/// One field declaration: its type code (`B`, `I`, `L`, `[`...) and name.
#[derive(Debug)]
pub(crate) struct FieldDesc {
    pub(crate) type_code: u8,
    /// Shared with every object's field list, so a long name costs its bytes once.
    pub(crate) name: Rc<str>,
}

/// An object's class and its serialized fields, the superclasses' first.
#[derive(Debug)]
pub(crate) struct Object {
    pub(crate) class: Rc<ClassDesc>,
    pub(crate) fields: Vec<(Rc<str>, Rc<Value>)>,
}

impl Object {
    /// The value of the field `name` (the most derived class's if two declare it).
    pub(crate) fn field(&self, name: &str) -> Option<&Value> {
        self.fields
            .iter()
            .rev()
            .find(|(n, _)| n.as_ref() == name)
            .map(|(_, v)| v.as_ref())
    }

    /// The field `name` as a string.
    pub(crate) fn string(&self, name: &str) -> Option<&str> {
        match self.field(name)? {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The field `name` as a byte array.
    pub(crate) fn bytes(&self, name: &str) -> Option<&[u8]> {
        match self.field(name)? {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }
}

/// A value of the stream.
#[derive(Debug)]
pub(crate) enum Value {
    /// `null`.
    Null,
    /// A primitive field's value (not kept: nothing Sluice reads is primitive).
    Primitive,
    /// A string.
    String(String),
    /// A `byte[]`.
    Bytes(Zeroizing<Vec<u8>>),
    /// An array of anything else (elements not kept).
    OtherArray,
    /// An object.
    Object(Object),
    /// An enum constant: its class name and constant name.
    Enum { class: String, name: String },
    /// A class descriptor used as a value (`TC_CLASS`).
    Class,
}

impl Value {
    /// The object, if this is one.
    pub(crate) fn as_object(&self) -> Option<&Object> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }
}

/// A slot of the stream's handle table.
#[derive(Debug, Clone)]
pub(crate) enum Handle {
    /// Assigned, its contents still being read: a reference to it is refused (no cycles).
    Pending,
    Desc(Rc<ClassDesc>),
    Value(Rc<Value>),
}
