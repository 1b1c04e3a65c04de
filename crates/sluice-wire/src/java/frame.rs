//! The frames between the agent and a Java host (Sluice's own JVM program that runs one
//! Flume plugin), as pure functions of bytes: fuzzable and golden-tested. Layout
//! (docs/java-plugins.md): a 4-byte big-endian length of what follows (at most
//! [`MAX_FRAME_BYTES`]), a type byte, the payload. Strings and byte strings are a 4-byte
//! big-endian length and the bytes; an event is its header count, each key and value, and
//! its body. Big-endian because the other end is Java's `DataInputStream`; nothing here is
//! ever stored on disk.

use sluice_core::{Event, Headers};

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
            for (k, v) in &e.headers {
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

struct In<'a> {
    ty: u8,
    rest: &'a [u8],
}

impl<'a> In<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], FrameError> {
        if self.rest.len() < n {
            return Err(FrameError::Short(self.ty));
        }
        let (a, b) = self.rest.split_at(n);
        self.rest = b;
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, FrameError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<usize, FrameError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }
    fn u64(&mut self) -> Result<u64, FrameError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }
    fn bytes(&mut self) -> Result<&'a [u8], FrameError> {
        let n = self.u32()?;
        self.take(n)
    }
    fn str(&mut self) -> Result<&'a str, FrameError> {
        let ty = self.ty;
        std::str::from_utf8(self.bytes()?).map_err(|_| FrameError::Utf8(ty))
    }
    fn string(&mut self) -> Result<String, FrameError> {
        self.str().map(str::to_owned)
    }
    /// A count, checked against `max` and against the bytes left (each item at least
    /// `min_item` bytes), so a forged count never sizes an allocation.
    fn count(&mut self, max: usize, min_item: usize) -> Result<usize, FrameError> {
        let n = self.u32()?;
        if n > max {
            return Err(FrameError::Count(self.ty, n, max));
        }
        if n.saturating_mul(min_item) > self.rest.len() {
            return Err(FrameError::Short(self.ty));
        }
        Ok(n)
    }
    fn status(&mut self) -> Result<Status, FrameError> {
        match self.u8()? {
            0 => Ok(Status::Ok),
            1 => Ok(Status::Full),
            2 => Ok(Status::Error),
            v => Err(FrameError::Value(self.ty, v)),
        }
    }
    fn events(&mut self) -> Result<Vec<Event>, FrameError> {
        let n = self.count(MAX_EVENTS, 8)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let h = self.count(MAX_ENTRIES, 8)?;
            let mut headers = Headers::new();
            headers.reserve(h);
            for _ in 0..h {
                let k = self.str()?;
                headers.insert(k, self.str()?);
            }
            out.push(Event::with_headers(headers, self.bytes()?.to_vec()));
        }
        Ok(out)
    }
    fn indexes(&mut self) -> Result<Vec<u32>, FrameError> {
        let n = self.count(MAX_ENTRIES, 4)?;
        (0..n).map(|_| self.u32().map(|v| v as u32)).collect()
    }
    fn end<T>(self, v: T) -> Result<T, FrameError> {
        if self.rest.is_empty() {
            Ok(v)
        } else {
            Err(FrameError::Trailing(self.ty, self.rest.len()))
        }
    }
}

/// Decodes a frame from the JVM: `body` is what follows the length prefix (type byte first).
pub fn decode_from_jvm(body: &[u8]) -> Result<FromJvm, FrameError> {
    let (&ty, rest) = body.split_first().ok_or(FrameError::Length(0))?;
    let mut i = In { ty, rest };
    let msg = match ty {
        code::ACK => FromJvm::Ack(i.status()?, i.string()?),
        code::PUT => FromJvm::Put(i.events()?),
        code::TAKE => FromJvm::Take(i.u32()? as u32),
        code::COMMIT => FromJvm::Commit(i.u32()? as u32),
        code::ROLLBACK => FromJvm::Rollback,
        code::COUNTERS => {
            let n = i.count(MAX_ENTRIES, 12)?;
            let mut groups = Vec::with_capacity(n);
            for _ in 0..n {
                let kind = i.string()?;
                let name = i.string()?;
                let c = i.count(MAX_ENTRIES, 12)?;
                let mut counts = Vec::with_capacity(c);
                for _ in 0..c {
                    let k = i.string()?;
                    counts.push((k, i.u64()?));
                }
                groups.push(GroupCounts { kind, name, counts });
            }
            FromJvm::Counters(groups)
        }
        code::FAILED => FromJvm::Failed(i.string()?),
        code::INTERCEPTED => FromJvm::Intercepted(i.events()?),
        code::WRITTEN => FromJvm::Written(i.bytes()?.to_vec()),
        code::SELECTED => {
            let n = i.count(MAX_EVENTS, 8)?;
            let mut choices = Vec::with_capacity(n);
            for _ in 0..n {
                let required = i.indexes()?;
                let optional = i.indexes()?;
                choices.push(Choice { required, optional });
            }
            FromJvm::Selected(choices)
        }
        code::THREW => FromJvm::Threw(i.string()?),
        code::PROCESS => FromJvm::Process(i.u32()? as u32),
        other => return Err(FrameError::Type(other)),
    };
    i.end(msg)
}

/// Decodes a frame for the JVM (tests, fuzzing): `body` is what follows the length prefix.
pub fn decode_to_jvm(body: &[u8]) -> Result<ToJvm, FrameError> {
    let (&ty, rest) = body.split_first().ok_or(FrameError::Length(0))?;
    let mut i = In { ty, rest };
    let msg = match ty {
        code::CONFIGURE => {
            let v = i.u8()?;
            let role = Role::from_u8(v).ok_or(FrameError::Value(ty, v))?;
            let class = i.string()?;
            let name = i.string()?;
            let n = i.count(MAX_ENTRIES, 8)?;
            let mut props = Vec::with_capacity(n);
            for _ in 0..n {
                let k = i.string()?;
                props.push((k, i.string()?));
            }
            ToJvm::Configure {
                role,
                class,
                name,
                props,
            }
        }
        code::START => ToJvm::Start,
        code::STOP => ToJvm::Stop,
        code::PUT_DONE => ToJvm::PutDone(i.status()?, i.string()?),
        code::TAKEN => ToJvm::Taken(i.events()?),
        code::TX_DONE => ToJvm::TxDone(i.status()?, i.string()?),
        code::INTERCEPT => ToJvm::Intercept(i.events()?),
        code::SERIALIZE => {
            let stream = i.u32()? as u32;
            let op = match i.u8()? {
                0 => SerializeOp::Create,
                1 => SerializeOp::Reopen,
                2 => SerializeOp::Write,
                3 => SerializeOp::Close,
                v => return Err(FrameError::Value(ty, v)),
            };
            let events = i.events()?;
            ToJvm::Serialize { stream, op, events }
        }
        code::SELECT => ToJvm::Select(i.events()?),
        code::PROCESSED => {
            let v = i.u8()?;
            let m = i.string()?;
            ToJvm::Processed(match v {
                0 => Processed::Ready,
                1 => Processed::Backoff,
                2 => Processed::Failed(m),
                v => return Err(FrameError::Value(ty, v)),
            })
        }
        other => return Err(FrameError::Type(other)),
    };
    i.end(msg)
}

#[cfg(test)]
#[path = "frame_tests.rs"]
mod tests;
