//! The frames between the agent and a Java host (Sluice's own JVM program that runs one
//! Flume plugin), as pure functions of bytes: fuzzable and golden-tested. Layout
//! (docs/java-plugins.md): a 4-byte big-endian length of what follows (at most
//! [`MAX_FRAME_BYTES`]), a type byte, the payload. Strings and byte strings are a 4-byte
//! big-endian length and the bytes; an event is its header count, each key and value, and
//! its body. Big-endian because the other end is Java's `DataInputStream`; nothing here is
//! ever stored on disk. The encoders are here, the decoders in `decode.rs`.

mod decode;

pub use decode::{decode_from_jvm, decode_to_jvm};

use sluice_core::Event;

pub use super::messages::{
    Choice, FrameError, FromJvm, GroupCounts, Processed, Role, SerializeOp, Status, ToJvm,
    MAX_FRAME_BYTES,
};

/// Most events in one PUT or TAKEN frame.
pub const MAX_EVENTS: usize = 100_000;
/// Most keys in a CONFIGURE frame or counters in a COUNTERS frame.
pub const MAX_ENTRIES: usize = 100_000;

/// Bytes of the length prefix.
pub const LEN_BYTES: usize = 4;

mod code {
    pub const CONFIGURE: u8 = 0x01;
    pub const START: u8 = 0x02;
    pub const STOP: u8 = 0x03;
    pub const PUT_DONE: u8 = 0x10;
    pub const TAKEN: u8 = 0x11;
    pub const TX_DONE: u8 = 0x12;
    pub const INTERCEPT: u8 = 0x13;
    pub const SERIALIZE: u8 = 0x14;
    pub const SELECT: u8 = 0x15;
    pub const PROCESSED: u8 = 0x16;
    pub const ACK: u8 = 0x80;
    pub const PUT: u8 = 0x90;
    pub const TAKE: u8 = 0x91;
    pub const COMMIT: u8 = 0x92;
    pub const ROLLBACK: u8 = 0x93;
    pub const PROCESS: u8 = 0x94;
    pub const COUNTERS: u8 = 0xA0;
    pub const FAILED: u8 = 0xA1;
    pub const INTERCEPTED: u8 = 0xB0;
    pub const WRITTEN: u8 = 0xB1;
    pub const SELECTED: u8 = 0xB2;
    pub const THREW: u8 = 0xB3;
}

/// The payload length a frame's 4-byte prefix announces (type byte included), checked.
pub fn frame_len(prefix: [u8; LEN_BYTES]) -> Result<usize, FrameError> {
    let n = u32::from_be_bytes(prefix) as usize;
    if n == 0 || n > MAX_FRAME_BYTES {
        return Err(FrameError::Length(n));
    }
    Ok(n)
}

struct Out(Vec<u8>);

impl Out {
    fn start(ty: u8) -> Self {
        let mut v = Vec::with_capacity(64);
        v.extend_from_slice(&[0; LEN_BYTES]);
        v.push(ty);
        Out(v)
    }
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: usize) {
        self.0.extend_from_slice(&(v as u32).to_be_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.u32(b.len());
        self.0.extend_from_slice(b);
    }
    fn events(&mut self, events: &[Event]) {
        self.u32(events.len());
        for e in events {
            self.u32(e.headers.len());
            // In insertion order: the plugin's `HashMap` is filled in it, as Flume's would be.
            for (k, v) in e.headers.iter_inserted() {
                self.bytes(k.as_bytes());
                self.bytes(v.as_bytes());
            }
            self.bytes(&e.body);
        }
    }
    fn done(mut self) -> Vec<u8> {
        let n = (self.0.len() - LEN_BYTES) as u32;
        self.0[..LEN_BYTES].copy_from_slice(&n.to_be_bytes());
        self.0
    }
}

/// A whole frame (prefix included) for the JVM.
pub fn encode_to_jvm(msg: &ToJvm) -> Vec<u8> {
    let mut o;
    match msg {
        ToJvm::Configure {
            role,
            class,
            name,
            props,
        } => {
            o = Out::start(code::CONFIGURE);
            o.u8(*role as u8);
            o.bytes(class.as_bytes());
            o.bytes(name.as_bytes());
            o.u32(props.len());
            for (k, v) in props {
                o.bytes(k.as_bytes());
                o.bytes(v.as_bytes());
            }
        }
        ToJvm::Start => o = Out::start(code::START),
        ToJvm::Stop => o = Out::start(code::STOP),
        ToJvm::PutDone(s, m) => {
            o = Out::start(code::PUT_DONE);
            o.u8(*s as u8);
            o.bytes(m.as_bytes());
        }
        ToJvm::Taken(events) => return encode_taken(events),
        ToJvm::TxDone(s, m) => {
            o = Out::start(code::TX_DONE);
            o.u8(*s as u8);
            o.bytes(m.as_bytes());
        }
        ToJvm::Intercept(events) => return encode_events(code::INTERCEPT, events),
        ToJvm::Serialize { stream, op, events } => return encode_serialize(*stream, *op, events),
        ToJvm::Select(events) => return encode_events(code::SELECT, events),
        ToJvm::Processed(p) => {
            o = Out::start(code::PROCESSED);
            let (v, m) = match p {
                Processed::Ready => (0, ""),
                Processed::Backoff => (1, ""),
                Processed::Failed(m) => (2, m.as_str()),
            };
            o.u8(v);
            o.bytes(m.as_bytes());
        }
    }
    o.done()
}

/// Bytes `events` take in a frame (what [`encode_to_jvm`] adds for them), so a caller can
/// cut a batch into frames under [`MAX_FRAME_BYTES`].
pub fn events_bytes(events: &[Event]) -> usize {
    events.iter().map(event_bytes).sum::<usize>() + 4
}

/// Bytes one event takes in a frame.
pub fn event_bytes(e: &Event) -> usize {
    8 + e.body.len()
        + e.headers
            .iter()
            .map(|(k, v)| 8 + k.len() + v.len())
            .sum::<usize>()
}

/// A whole INTERCEPT frame of `events` (borrowed: [`ToJvm::Intercept`] without a copy).
pub fn encode_intercept(events: &[Event]) -> Vec<u8> {
    encode_events(code::INTERCEPT, events)
}

/// A whole SELECT frame of `events` (borrowed: [`ToJvm::Select`] without a copy).
pub fn encode_select(events: &[Event]) -> Vec<u8> {
    encode_events(code::SELECT, events)
}

fn encode_events(ty: u8, events: &[Event]) -> Vec<u8> {
    let mut o = Out::start(ty);
    o.events(events);
    o.done()
}

/// A whole SERIALIZE frame (the events borrowed: a sink keeps its batch until it commits).
pub fn encode_serialize(stream: u32, op: SerializeOp, events: &[Event]) -> Vec<u8> {
    let mut o = Out::start(code::SERIALIZE);
    o.u32(stream as usize);
    o.u8(op as u8);
    o.events(events);
    o.done()
}

/// A whole TAKEN frame of `events` (the sink keeps them: the plugin may leave some unused).
pub fn encode_taken(events: &[Event]) -> Vec<u8> {
    let mut o = Out::start(code::TAKEN);
    o.events(events);
    o.done()
}

/// A whole frame (prefix included) as the JVM sends it (tests, fuzzing, tools).
pub fn encode_from_jvm(msg: &FromJvm) -> Vec<u8> {
    let mut o;
    match msg {
        FromJvm::Ack(s, m) => {
            o = Out::start(code::ACK);
            o.u8(*s as u8);
            o.bytes(m.as_bytes());
        }
        FromJvm::Put(events) => {
            o = Out::start(code::PUT);
            o.events(events);
        }
        FromJvm::Take(n) => {
            o = Out::start(code::TAKE);
            o.u32(*n as usize);
        }
        FromJvm::Commit(n) => {
            o = Out::start(code::COMMIT);
            o.u32(*n as usize);
        }
        FromJvm::Rollback => o = Out::start(code::ROLLBACK),
        FromJvm::Counters(groups) => {
            o = Out::start(code::COUNTERS);
            o.u32(groups.len());
            for g in groups {
                o.bytes(g.kind.as_bytes());
                o.bytes(g.name.as_bytes());
                o.u32(g.counts.len());
                for (k, v) in &g.counts {
                    o.bytes(k.as_bytes());
                    o.u64(*v);
                }
            }
        }
        FromJvm::Failed(m) => {
            o = Out::start(code::FAILED);
            o.bytes(m.as_bytes());
        }
        FromJvm::Intercepted(events) => {
            o = Out::start(code::INTERCEPTED);
            o.events(events);
        }
        FromJvm::Written(bytes) => {
            o = Out::start(code::WRITTEN);
            o.bytes(bytes);
        }
        FromJvm::Selected(choices) => {
            o = Out::start(code::SELECTED);
            o.u32(choices.len());
            for c in choices {
                for list in [&c.required, &c.optional] {
                    o.u32(list.len());
                    for i in list {
                        o.u32(*i as usize);
                    }
                }
            }
        }
        FromJvm::Threw(m) => {
            o = Out::start(code::THREW);
            o.bytes(m.as_bytes());
        }
        FromJvm::Process(i) => {
            o = Out::start(code::PROCESS);
            o.u32(*i as usize);
        }
    }
    o.done()
}

#[cfg(test)]
#[path = "frame_tests.rs"]
mod tests;
