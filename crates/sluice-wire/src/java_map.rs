//! Java's `HashMap<String, String>` as Flume prints it: the order in which a map made with
//! `new HashMap<>()` (Guava's `Maps.newHashMap()`) and filled pair by pair iterates, and
//! `AbstractMap.toString()` (`{k=v, k2=v2}`). Flume's `HEADER_AND_TEXT` serializer, its `logger`
//! sink and its `avro_event` serializer write an event's headers in that order (its file channel
//! and its RPC sources rebuild every event's headers in such a map), so a sink that must match
//! Flume's output byte for byte writes them the same way.
//!
//! The order is Java 17's `HashMap` replayed ([`table`]): 16 buckets that double past 3/4
//! full (or when a bin reaches 9 nodes while the table is under 64 buckets), a pair in bucket
//! `spread(hash) & (size - 1)`, each bucket in insertion order, a doubling keeping that order;
//! and a bin of 9 or more colliding keys in a table of 64 or more becomes a red-black tree
//! ([`tree`]) whose list puts the root first and each later key right after its tree parent.
//! Checked against a real JVM over 10,000 random key sets (`tests/java/hashmap_order.rs`).
//!
//! What sequence Flume's map was filled in: the headers as the event got them. An avro or
//! thrift source decodes a map in wire order (Avro's `HashMap<>(size)` first: no larger than
//! the final map's table, so pairs that share a final bucket keep wire order), interceptors put
//! theirs in their order, and Flume's file channel writes and reads them in the map's own
//! order, which a new map filled that way iterates the same. Sluice's `Headers` keeps the
//! insertion order and its encoders write it ([`sluice_core::Headers::iter_inserted`]).
//! Not modelled: a map that had keys removed (`remove_header`): it may keep a larger table
//! than one filled with what is left.

mod arena;
mod table;
mod tree;

/// Java's `String.hashCode()`: `s[0]*31^(n-1) + ... + s[n-1]` over UTF-16 code units, wrapping.
pub fn string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// `HashMap.hash()`: the high half folded into the low one.
fn spread(h: i32) -> u32 {
    let h = h as u32;
    h ^ (h >> 16)
}

/// Most pairs that always fit a 16-bucket table with no bin long enough to change it: their
/// order is the bucket order, ties in insertion order (no table to replay).
const PAIRS_IN_FIRST_TABLE_MAX: usize = 8;

/// The pairs in the order a Java `HashMap` filled with them in the given order iterates.
/// Keys are expected unique (a later duplicate is left out; Java would replace the value).
pub fn hashmap_order<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<(&'a str, &'a str)> {
    let pairs: Vec<(&str, &str)> = pairs.into_iter().collect();
    if pairs.len() < 2 {
        return pairs;
    }
    let order: Vec<usize> = if pairs.len() <= PAIRS_IN_FIRST_TABLE_MAX {
        let mut order: Vec<usize> = (0..pairs.len()).collect();
        // Stable: pairs of one bucket stay in insertion order.
        order.sort_by_key(|&i| pairs.get(i).map_or(0, |(k, _)| spread(string_hash(k)) & 15));
        order
    } else {
        let mut t = arena::Table::default();
        for (i, (k, _)) in pairs.iter().enumerate() {
            t.put(spread(string_hash(k)) as i32, k.encode_utf16().collect(), i);
        }
        t.order()
    };
    order
        .into_iter()
        .filter_map(|i| pairs.get(i).copied())
        .collect()
}

/// Appends `AbstractMap.toString()` of the pairs in the given order: `{k=v, k2=v2}`.
pub fn write_map_string(out: &mut Vec<u8>, pairs: &[(&str, &str)]) {
    out.push(b'{');
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        out.extend_from_slice(k.as_bytes());
        out.push(b'=');
        out.extend_from_slice(v.as_bytes());
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_hash_matches_javas_for_ascii_and_beyond_the_basic_plane() {
        // Values printed by Java 17's "...".hashCode().
        assert_eq!(string_hash(""), 0);
        assert_eq!(string_hash("host"), 3_208_616);
        assert_eq!(string_hash("timestamp"), 55_126_294);
        assert_eq!(string_hash("hello world"), 1_794_106_052);
        // Wraps past i32::MAX.
        assert_eq!(string_hash("a very long header key name"), -1_423_621_146);
        // A character outside the BMP counts as its two UTF-16 code units.
        assert_eq!(string_hash("\u{1F600}"), 1_772_899);
    }

    fn keys_of(pairs: &[(&str, &str)]) -> Vec<String> {
        keys(pairs)
    }

    fn keys(pairs: &[(&str, &str)]) -> Vec<String> {
        pairs.iter().map(|(k, _)| (*k).to_owned()).collect()
    }

    #[test]
    fn flumes_usual_headers_come_out_as_flume_prints_them() {
        // Flume's HEADER_AND_TEXT of the adopted fixtures: `{host=..., timestamp=...}`.
        let got = hashmap_order([("timestamp", "1"), ("host", "h")]);
        assert_eq!(keys(&got), ["host", "timestamp"]);
        let mut out = Vec::new();
        write_map_string(&mut out, &got);
        assert_eq!(out, b"{host=h, timestamp=1}");
    }

    #[test]
    fn an_empty_map_prints_as_two_braces() {
        let mut out = Vec::new();
        write_map_string(&mut out, &hashmap_order([]));
        assert_eq!(out, b"{}");
    }

    /// A key whose spread hash is `h` (two UTF-16 units, `c0 * 31 + c1`, the second in
    /// 62..93; spreading leaves a hash under 2^16 as it is), for `h` from 1,200 to 60,000.
    fn key_of_hash(h: u32) -> String {
        let c1 = h % 31 + 62;
        char::decode_utf16([((h - c1) / 31) as u16, c1 as u16])
            .map(|c| c.unwrap_or('?'))
            .collect()
    }

    #[test]
    fn a_long_bin_doubles_a_small_table_then_becomes_a_tree_with_its_root_first() {
        // Ten keys in bucket 0 of every table up to 64 buckets: the 9th doubles 16 to 32,
        // the 10th 32 to 64, an 11th makes the bin a tree (root moved to the front).
        let keys: Vec<String> = (1..=11)
            .map(|i| key_of_hash(i * 1024 + 7 * 31 + 1200))
            .collect();
        assert!(keys.iter().all(|k| spread(string_hash(k)) & 63 == 9));
        let got = hashmap_order(keys.iter().map(|k| (k.as_str(), "v")));
        let got: Vec<String> = keys_of(&got);
        let mut want: Vec<String> = keys.clone();
        // Java 17 iterates them 3 0 1 2 4 5 ...: after the red-black insertions of the first
        // nine (ascending hashes) the root is the 4th key.
        let root = want.remove(3);
        want.insert(0, root);
        assert_eq!(got, want);
    }
    /// 300 key sets (up to 39 keys: tables of 16, 32 and 64 buckets; ASCII, Cyrillic, CJK and
    /// a character beyond the BMP) with the order Java 17's `HashMap` iterated them in, made by
    /// `tests/fixtures/java_map_gen/Gen.java`: pairs of lines, the insertion order then
    /// Java's.
    #[test]
    fn the_order_equals_javas_for_300_key_sets() {
        let text = include_str!("../tests/fixtures/java_hashmap_order.tsv");
        let lines: Vec<&str> = text.split('\n').collect();
        let mut checked = 0;
        for pair in lines.chunks(2) {
            let [put, java] = pair else { continue };
            let split = |l: &str| -> Vec<String> {
                l.split('\t')
                    .filter(|k| !k.is_empty())
                    .map(str::to_owned)
                    .collect()
            };
            let put = split(put);
            let got = hashmap_order(put.iter().map(|k| (k.as_str(), "v")));
            assert_eq!(keys(&got), split(java), "inserted {put:?}");
            checked += 1;
        }
        assert_eq!(checked, 300);
    }
}
