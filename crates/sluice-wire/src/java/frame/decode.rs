//! Decoding the frames: a reader over one frame's payload that checks every length and
//! count against what is left before it allocates, and the two decoders, one per direction.

use sluice_core::{Event, Headers};

use super::code;
use super::{
    Choice, FrameError, FromJvm, GroupCounts, Processed, Role, SerializeOp, Status, ToJvm,
    MAX_ENTRIES, MAX_EVENTS,
};

/// One frame's type byte and the payload not read yet.
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
