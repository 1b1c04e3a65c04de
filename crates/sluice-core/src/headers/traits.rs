//! What makes [`Headers`] read like a map: iteration in key order ([`Iter`]) and in
//! insertion order ([`InsertedIter`]), indexing by key, building from pairs and maps, equality by pairs, and `Debug` as a map.

use std::collections::BTreeMap;
use std::fmt;

use smallvec::SmallVec;

use super::Headers;

/// The pairs of [`Headers`] in key order.
#[derive(Debug)]
pub struct Iter<'a> {
    pub(super) headers: &'a Headers,
    pub(super) at: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let e = self.headers.index.get(self.at)?;
        self.at += 1;
        Some((self.headers.key_of(e), self.headers.value_of(e)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.headers.index.len() - self.at;
        (left, Some(left))
    }
}

impl ExactSizeIterator for Iter<'_> {}

/// The pairs of [`Headers`] in insertion order ([`Headers::iter_inserted`]).
#[derive(Debug)]
pub struct InsertedIter<'a> {
    pub(super) headers: &'a Headers,
    pub(super) order: InsertedOrder,
    /// Pairs yielded so far.
    pub(super) at: usize,
}

/// How [`InsertedIter`] finds the next pair.
#[derive(Debug)]
pub(super) enum InsertedOrder {
    /// The index's order, but `late` (when some) after every other pair.
    Walk { late: Option<usize> },
    /// Index positions in insertion order.
    Sorted(SmallVec<[usize; 24]>),
}

impl<'a> Iterator for InsertedIter<'a> {
    type Item = (&'a str, &'a str);

    // Inlined into the WAL's encoder, which walks an event's pairs with it.
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let n = self.headers.index.len();
        let i = match &self.order {
            InsertedOrder::Sorted(order) => *order.get(self.at)?,
            InsertedOrder::Walk { late: None } => self.at,
            InsertedOrder::Walk { late: Some(l) } => {
                if self.at + 1 == n {
                    *l
                } else if self.at >= *l {
                    self.at + 1
                } else {
                    self.at
                }
            }
        };
        if self.at >= n {
            return None;
        }
        self.at += 1;
        let e = self.headers.index.get(i)?;
        Some((self.headers.key_of(e), self.headers.value_of(e)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.headers.index.len().saturating_sub(self.at);
        (left, Some(left))
    }
}

impl ExactSizeIterator for InsertedIter<'_> {}

impl<'a> IntoIterator for &'a Headers {
    type Item = (&'a str, &'a str);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl std::ops::Index<&str> for Headers {
    type Output = str;

    /// # Panics
    /// When `key` has no value, as a map's index does.
    fn index(&self, key: &str) -> &str {
        self.get(key).unwrap_or_else(|| panic!("no header {key:?}"))
    }
}

impl<K: AsRef<str>, V: AsRef<str>> Extend<(K, V)> for Headers {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, pairs: I) {
        for (k, v) in pairs {
            self.insert(k, v);
        }
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        let mut h = Headers::new();
        h.extend(pairs);
        h
    }
}

impl From<BTreeMap<String, String>> for Headers {
    fn from(map: BTreeMap<String, String>) -> Self {
        map.into_iter().collect()
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> From<[(K, V); N]> for Headers {
    fn from(pairs: [(K, V); N]) -> Self {
        pairs.into_iter().collect()
    }
}

impl PartialEq for Headers {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Headers {}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}
