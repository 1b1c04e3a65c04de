//! Deterministic bench events: the body is the event id (8 bytes, little-endian) followed by
//! a slice of a fixed pseudo-random pool chosen by the id, and the headers are derived from the
//! id too, so any taker can check an event is intact without remembering what was put.

use sluice_core::dedup::{IdSpan, EVENT_ID_HEADER};
use sluice_core::Headers;

use anyhow::bail;
use sluice_core::Event;

use super::args::{splitmix, SizeDist, BODY_BYTES_MIN};

/// Bytes of pool beyond the largest body, so slices can start at varied offsets.
const POOL_SLACK_BYTES: usize = 64 * 1024;
/// Bytes of each header value (hex digits of a 32-bit hash of the id and header index).
const HEADER_VALUE_BYTES: usize = 8;

/// Makes and checks bench events.
#[derive(Debug)]
pub struct Payload {
    sizes: SizeDist,
    headers: usize,
    pool: Vec<u8>,
    /// Header keys, made once: generation cost belongs to the harness, not the channel.
    keys: Vec<String>,
    /// The origin of the event ids the events carry, as an upstream Sluice's would.
    upstream: Option<u64>,
}

impl Payload {
    /// A generator for bodies drawn from `sizes` with `headers` headers each.
    pub fn new(sizes: SizeDist, headers: usize) -> Payload {
        let len = sizes.max + POOL_SLACK_BYTES;
        let mut pool = Vec::with_capacity(len + 8);
        let mut i = 0u64;
        while pool.len() < len {
            pool.extend_from_slice(&splitmix(i ^ 0x5EED).to_le_bytes());
            i += 1;
        }
        Payload {
            sizes,
            headers,
            pool,
            keys: (0..headers).map(|k| format!("header{k:02}")).collect(),
            upstream: None,
        }
    }

    /// Events that carry event ids of `origin`, as events from an upstream Sluice whose file
    /// channel has `eventIds` (the sender numbers each call's events: [`Payload::number`]).
    pub fn with_upstream_ids(mut self, origin: u64) -> Payload {
        self.upstream = Some(origin);
        self
    }

    fn offset(&self, id: u64) -> usize {
        (splitmix(id.rotate_left(17)) % POOL_SLACK_BYTES as u64) as usize
    }

    /// The 8 lowercase hex digits of header `k` of event `id`, written straight into an
    /// array: building them through a `char` iterator was ≈ 7 % of a tmpfs run's samples.
    fn header_digits(id: u64, k: usize) -> [u8; HEADER_VALUE_BYTES] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let v = splitmix(id ^ ((k as u64) << 48)) as u32;
        let mut out = [0u8; HEADER_VALUE_BYTES];
        for (i, d) in out.iter_mut().enumerate() {
            *d = HEX[((v >> (28 - 4 * i)) & 0xF) as usize];
        }
        out
    }

    /// Header `k` of event `id` as the `String` an event owns: one allocation of its exact
    /// size, no growth.
    fn header_value(id: u64, k: usize) -> String {
        let digits = Self::header_digits(id, k);
        let mut v = String::with_capacity(HEADER_VALUE_BYTES);
        // Hex digits are ASCII, so this never takes the empty fallback; verify would catch it.
        v.push_str(std::str::from_utf8(&digits).unwrap_or_default());
        v
    }

    /// The origin of the event ids the events carry, if they do.
    pub fn upstream_ids(&self) -> Option<u64> {
        self.upstream
    }

    /// Gives `events` the event ids of `origin` after `first` (`first + 1`, `first + 2`, ...).
    pub fn number(events: &mut [Event], origin: u64, first: u64) {
        for (k, e) in (first..).zip(events.iter_mut()) {
            if let Some(span) = IdSpan::one(origin, k + 1) {
                e.headers.insert(EVENT_ID_HEADER, span.text().as_str());
            }
        }
    }

    /// The event with the given id.
    pub fn event(&self, id: u64) -> Event {
        let size = self.sizes.size_of(id);
        let mut body = Vec::with_capacity(size);
        body.extend_from_slice(&id.to_le_bytes());
        let off = self.offset(id);
        body.extend_from_slice(&self.pool[off..off + size - BODY_BYTES_MIN]);
        let mut headers = Headers::new();
        headers.reserve(self.keys.len());
        for (k, key) in self.keys.iter().enumerate() {
            headers.insert(key, Self::header_value(id, k));
        }
        Event::with_headers(headers, body)
    }

    /// Payload bytes of the event with the given id (body plus header keys and values).
    pub fn payload_bytes(&self, id: u64) -> usize {
        self.sizes.size_of(id) + self.headers * (8 + HEADER_VALUE_BYTES)
    }

    /// Checks an event and returns its id. With `check_size`, the body length must also be
    /// the one the size distribution gives this id (a run that put the events itself).
    pub fn verify(&self, e: &Event, check_size: bool) -> anyhow::Result<u64> {
        let Some(id_bytes) = e.body.get(..BODY_BYTES_MIN) else {
            bail!("body of {} bytes is too short to carry an id", e.body.len());
        };
        let mut b = [0u8; 8];
        b.copy_from_slice(id_bytes);
        let id = u64::from_le_bytes(b);
        if check_size && e.body.len() != self.sizes.size_of(id) {
            bail!(
                "event {id}: body of {} bytes, expected {}",
                e.body.len(),
                self.sizes.size_of(id)
            );
        }
        let off = self.offset(id);
        let rest = &e.body[BODY_BYTES_MIN..];
        if self.pool.get(off..off + rest.len()) != Some(rest) {
            bail!("event {id}: body bytes differ from what was put");
        }
        // A file channel's event id (`eventIds`) is the one header the channel adds.
        let put = || e.headers.iter().filter(|(key, _)| *key != EVENT_ID_HEADER);
        if put().count() != self.headers
            || put().enumerate().any(|(k, (key, v))| {
                self.keys.get(k).map(String::as_str) != Some(key)
                    || v.as_bytes() != Self::header_digits(id, k)
            })
        {
            bail!("event {id}: headers differ from what was put");
        }
        if let Some(v) = e.headers.get(EVENT_ID_HEADER) {
            if IdSpan::parse(v).is_none() {
                bail!("event {id}: {EVENT_ID_HEADER} {v:?} is not an event id");
            }
        }
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_verify_and_damage_is_caught() {
        let p = Payload::new(SizeDist::parse("16..300").unwrap(), 2);
        for id in [0u64, 1, 77, u64::MAX / 3] {
            let e = p.event(id);
            assert_eq!(p.verify(&e, true).unwrap(), id);
            assert_eq!(e.payload_bytes(), p.payload_bytes(id));
            let mut bad = e.clone();
            let mut body = bad.body.to_vec();
            let last = body.len() - 1;
            body[last] ^= 1;
            bad.body = body.into();
            assert!(p.verify(&bad, false).is_err());
            let mut bad = e.clone();
            bad.headers.insert("header01", "x");
            assert!(p.verify(&bad, false).is_err());
        }
    }

    #[test]
    fn header_values_are_the_hex_digits_of_their_hash_and_one_changed_digit_is_caught() {
        let p = Payload::new(SizeDist::parse("1024").unwrap(), 2);
        for id in [0u64, 5, 1 << 40] {
            let e = p.event(id);
            for (k, v) in e.headers.values().enumerate() {
                let hash = splitmix(id ^ ((k as u64) << 48)) as u32;
                assert_eq!(v, format!("{hash:08x}"));
                assert_eq!(v.len(), HEADER_VALUE_BYTES);
            }
            let mut bad = e.clone();
            if let Some(v) = bad.headers.get("header01").map(str::to_owned) {
                let flipped = if v.starts_with('0') { "1" } else { "0" };
                bad.headers
                    .insert("header01", format!("{flipped}{}", &v[1..]));
            }
            assert_ne!(bad, e);
            assert!(p.verify(&bad, true).is_err());
        }
    }
}
