//! An event's headers: string keys and values, unique keys, iterated in key order, and in
//! the order they were inserted ([`Headers::iter_inserted`]).
//!
//! Flume's events carry a few short headers (a timestamp, a host), and a map of separately
//! allocated strings cost an allocation and a free per key and per value, plus a tree node:
//! at 2 headers, more than a third of an RPC receiver's CPU per event. [`Headers`] keeps every
//! key and value in one text buffer and a sorted index of where each pair lies, so decoding an
//! event's headers costs one allocation (the text) up to three pairs, whose index is held
//! inline, and two beyond; a lookup is a binary search. Removing a pair leaves its old text
//! unused until the unused part outgrows the used one, then the buffer is rebuilt.
//!
//! The text holds the pairs in insertion order (a new key is appended, a replaced value is
//! rewritten where it is, a rebuild keeps the order): Flume prints headers in the order of a
//! Java `HashMap`, which keeps the pairs of one bucket in the order they were put
//! (`sluice_wire::java_map`), so the encoders (the WAL's put records, the RPC clients) write
//! pairs in insertion order and the next reader rebuilds the same sequence.

mod traits;

use traits::InsertedOrder;
pub use traits::{InsertedIter, Iter};

use std::cmp::Ordering;
use std::collections::BTreeMap;

use smallvec::SmallVec;

/// Pairs indexed inside the event itself, without an allocation of their own.
const INDEX_INLINE: usize = 3;

/// Text bytes the first pair reserves beyond its estimate: an event id (`sluiceId` and
/// `ORIGIN:SEQ`, about 33 bytes) or a short header added on the way.
pub const TEXT_SPARE_BYTES: usize = 40;

/// Where one pair's key and value lie in the text buffer.
#[derive(Clone, Copy, Debug)]
struct Entry {
    key_at: usize,
    key_len: usize,
    value_len: usize,
}

impl Entry {
    fn value_at(&self) -> usize {
        self.key_at + self.key_len
    }

    /// The pair's whole text (key then value).
    fn pair<'t>(&self, text: &'t str) -> &'t str {
        &text[self.key_at..self.value_at() + self.value_len]
    }

    fn key<'t>(&self, text: &'t str) -> &'t str {
        &text[self.key_at..self.value_at()]
    }

    /// The key's bytes: what lookups compare (`str` orders as its bytes do, and slicing bytes
    /// skips the two char-boundary checks a `str` slice makes).
    fn key_bytes<'t>(&self, text: &'t str) -> &'t [u8] {
        text.as_bytes()
            .get(self.key_at..self.value_at())
            .unwrap_or_default()
    }

    fn value<'t>(&self, text: &'t str) -> &'t str {
        &text[self.value_at()..self.value_at() + self.value_len]
    }
}

/// Orders two keys as `str` does (by their bytes), inline: header keys are short and mostly
/// differ in their first byte, where a call to the C library's `memcmp` per comparison cost
/// more than the comparison (5-9 % of a syslog agent's CPU, in every lookup and insert).
#[inline]
fn key_cmp(a: &[u8], b: &[u8]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

/// String headers with unique keys, in key order (as a `BTreeMap<String, String>` iterates).
#[derive(Clone, Default)]
pub struct Headers {
    text: String,
    /// In key order; inline up to [`INDEX_INLINE`] pairs.
    index: SmallVec<[Entry; INDEX_INLINE]>,
    /// Bytes of `text` no entry points at any more.
    unused: usize,
}

impl Headers {
    /// No headers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Room for `pairs` pairs in the index (the text buffer sizes itself at the first pair).
    pub fn with_capacity(pairs: usize) -> Self {
        Headers {
            text: String::new(),
            index: SmallVec::with_capacity(pairs),
            unused: 0,
        }
    }

    /// Room for `pairs` pairs in the index and `text` bytes of keys and values, for a
    /// decoder that knows what it will insert: no estimate at the first pair, no growth after.
    pub fn with_capacity_text(pairs: usize, text: usize) -> Self {
        Headers {
            text: String::with_capacity(text),
            index: SmallVec::with_capacity(pairs),
            unused: 0,
        }
    }

    /// A copy with room for `pairs` more pairs and `text` more bytes of keys and values
    /// (and [`TEXT_SPARE_BYTES`] for the event id a file channel adds): a source that makes
    /// the headers its events share once, then copies them per event, adds the few that
    /// differ without growing either buffer.
    pub fn clone_with_room(&self, pairs: usize, text: usize) -> Headers {
        let mut t = String::with_capacity(
            self.text
                .len()
                .saturating_add(text)
                .saturating_add(TEXT_SPARE_BYTES),
        );
        t.push_str(&self.text);
        let mut index = SmallVec::with_capacity(self.index.len().saturating_add(pairs));
        index.extend_from_slice(&self.index);
        Headers {
            text: t,
            index,
            unused: self.unused,
        }
    }

    /// Room for `pairs` more pairs in the index (the text buffer sizes itself at the first pair).
    pub fn reserve(&mut self, pairs: usize) {
        self.index.reserve(pairs);
    }

    /// How many pairs.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    fn key_of(&self, e: &Entry) -> &str {
        e.key(&self.text)
    }

    fn value_of(&self, e: &Entry) -> &str {
        e.value(&self.text)
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        let key = key.as_bytes();
        self.index
            .binary_search_by(|e| key_cmp(e.key_bytes(&self.text), key))
    }

    /// Where `key` is or goes, trying the end first: decoders meet keys in order (the log and
    /// Sluice peers write them so), and an event's id header is usually added last, or just
    /// before a `timestamp` (which sorts after `sluiceId`), so the last two are tried before
    /// a search.
    fn slot(&self, key: &str) -> Result<usize, usize> {
        let n = self.index.len();
        let Some(last) = self.index.last() else {
            return Err(0);
        };
        let k = key.as_bytes();
        match key_cmp(last.key_bytes(&self.text), k) {
            Ordering::Less => return Err(n),
            Ordering::Equal => return Ok(n - 1),
            Ordering::Greater => {}
        }
        match n
            .checked_sub(2)
            .and_then(|i| self.index.get(i).map(|e| (i, e)))
        {
            Some((i, e)) => match key_cmp(e.key_bytes(&self.text), k) {
                Ordering::Less => Err(i + 1),
                Ordering::Equal => Ok(i),
                Ordering::Greater => self.find(key),
            },
            None => Err(0),
        }
    }

    /// The value of `key` (the last two pairs are tried before a search: [`Self::slot`]).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.slot(key).ok().map(|i| self.value_of(&self.index[i]))
    }

    /// Whether `key` has a value.
    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// Sets `key` to `value`, replacing any value it had (the key keeps its place in the
    /// insertion order).
    pub fn insert(&mut self, key: impl AsRef<str>, value: impl AsRef<str>) {
        let (key, value) = (key.as_ref(), value.as_ref());
        let i = match self.slot(key) {
            Ok(i) => return self.replace_value(i, value),
            Err(i) => i,
        };
        if self.text.capacity() == 0 {
            // The first pair sizes the buffer for as many like it as the index has room for,
            // and one short pair more: the event id a file channel adds to every put, or the
            // timestamp or host an interceptor adds, then fit without moving the text.
            let pairs = self.index.capacity().max(1);
            self.text.reserve(
                (key.len() + value.len())
                    .saturating_mul(pairs)
                    .saturating_add(TEXT_SPARE_BYTES),
            );
        }
        let key_at = self.text.len();
        self.text.push_str(key);
        self.text.push_str(value);
        let entry = Entry {
            key_at,
            key_len: key.len(),
            value_len: value.len(),
        };
        self.index.insert(i, entry);
    }

    /// Rewrites the value of the pair at index `i` where it lies (the text after it moves by
    /// the difference in length), so the text stays in insertion order.
    fn replace_value(&mut self, i: usize, value: &str) {
        let Some(&old) = self.index.get(i) else {
            return;
        };
        let at = old.value_at();
        self.text.replace_range(at..at + old.value_len, value);
        if value.len() != old.value_len {
            let after = at + old.value_len;
            // Every pair whose text starts at or after the old value's end moves, but the
            // pair itself: an empty key with an empty value starts where its value ends, as
            // does the pair put after it.
            for (j, e) in self.index.iter_mut().enumerate() {
                if j != i && e.key_at >= after {
                    e.key_at = e.key_at - old.value_len + value.len();
                }
            }
        }
        if let Some(e) = self.index.get_mut(i) {
            e.value_len = value.len();
        }
    }

    /// Sets `key` to `value()` unless it has a value already (Flume's `preserveExisting`).
    pub fn insert_if_absent<V: AsRef<str>>(
        &mut self,
        key: impl AsRef<str>,
        value: impl FnOnce() -> V,
    ) {
        if !self.contains_key(key.as_ref()) {
            self.insert(key, value());
        }
    }

    /// Removes `key`; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let i = self.find(key).ok()?;
        let old = self.index.remove(i);
        let value = self.value_of(&old).to_owned();
        self.forget(old);
        Some(value)
    }

    /// Keeps only the pairs `keep` says yes to.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &str) -> bool) {
        let before = self.index.len();
        let mut dropped = 0;
        let text = &self.text;
        self.index.retain(|e| {
            let kept = keep(e.key(text), e.value(text));
            if !kept {
                dropped += e.key_len + e.value_len;
            }
            kept
        });
        if self.index.len() != before {
            self.unused += dropped;
            self.compact_if_sparse();
        }
    }

    /// Removes every pair.
    pub fn clear(&mut self) {
        self.text.clear();
        self.index.clear();
        self.unused = 0;
    }

    /// The pairs in key order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            headers: self,
            at: 0,
        }
    }

    /// The pairs in the order their keys were first inserted: a replaced value keeps its
    /// key's place, a key removed and inserted again goes last (as in a Java `HashMap`'s
    /// bucket). Walks the index as it is when the keys were inserted in key order, or when
    /// only the pair inserted last is out of it (an event id added after a `timestamp`);
    /// sorts otherwise.
    pub fn iter_inserted(&self) -> InsertedIter<'_> {
        let order = match self.late_pair() {
            Some(late) => InsertedOrder::Walk { late },
            None => {
                // Room for 24 on the stack: a Kubernetes container's event has 18 or more.
                let mut order: SmallVec<[usize; 24]> = (0..self.index.len()).collect();
                order.sort_by_key(|&i| {
                    self.index
                        .get(i)
                        .map_or((0, 0), |e| (e.key_at, e.key_len + e.value_len))
                });
                InsertedOrder::Sorted(order)
            }
        };
        InsertedIter {
            headers: self,
            order,
            at: 0,
        }
    }

    /// When the index, less at most one pair, is in text (insertion) order and that pair's
    /// text comes last: `Some(Some(i))` for that pair at `i`, `Some(None)` when the whole index
    /// is in text order. `None` when the pairs must be sorted.
    fn late_pair(&self) -> Option<Option<usize>> {
        let mut late = None;
        let mut prev_at: Option<usize> = None;
        for (i, e) in self.index.iter().enumerate() {
            if prev_at.is_some_and(|p| e.key_at < p) {
                // Out of order: only the previous pair, whose text is the later of the two,
                // can be the late one, and only once.
                let before = i.checked_sub(2).and_then(|j| self.index.get(j));
                if late.is_some() || before.is_some_and(|b| b.key_at > e.key_at) {
                    return None;
                }
                late = Some(i - 1);
            }
            prev_at = Some(e.key_at);
        }
        match late {
            None => Some(None),
            Some(l) => {
                let at = self.index.get(l)?.key_at;
                let last = self
                    .index
                    .iter()
                    .enumerate()
                    .all(|(i, e)| i == l || e.key_at < at);
                last.then_some(Some(l))
            }
        }
    }

    /// The keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.iter().map(|(k, _)| k)
    }

    /// The values in key order.
    pub fn values(&self) -> impl Iterator<Item = &str> + '_ {
        self.iter().map(|(_, v)| v)
    }

    /// Bytes of all keys and values.
    pub fn text_bytes(&self) -> usize {
        self.text.len() - self.unused
    }

    /// The same pairs as a map.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    fn forget(&mut self, old: Entry) {
        self.unused += old.key_len + old.value_len;
        self.compact_if_sparse();
    }

    fn compact_if_sparse(&mut self) {
        if self.index.is_empty() {
            self.clear();
        } else if self.unused > self.text.len() / 2 {
            // Copy the live pairs into a fresh buffer in text (insertion) order; the index
            // moves with them.
            let mut text = String::with_capacity(self.text.len() - self.unused);
            let mut order: SmallVec<[usize; 24]> = (0..self.index.len()).collect();
            order.sort_by_key(|&i| {
                self.index
                    .get(i)
                    .map_or((0, 0), |e| (e.key_at, e.key_len + e.value_len))
            });
            for i in order {
                if let Some(e) = self.index.get_mut(i) {
                    let at = text.len();
                    text.push_str(e.pair(&self.text));
                    e.key_at = at;
                }
            }
            self.text = text;
            self.unused = 0;
        }
    }
}

#[cfg(test)]
#[path = "headers_tests.rs"]
mod tests;
