//! Java's `HashMap<String, String>` as Flume prints it: the order in which a map made with
//! `new HashMap<>()` (Guava's `Maps.newHashMap()`) and filled pair by pair iterates, and
//! `AbstractMap.toString()` (`{k=v, k2=v2}`). Flume's `HEADER_AND_TEXT` serializer, its `logger`
//! sink and its `avro_event` serializer write an event's headers in that order (its file channel
//! and its RPC sources rebuild every event's headers in such a map), so a sink that must match
//! Flume's output byte for byte writes them the same way.
//!
//! The order: the table starts at 16 buckets and doubles when it holds more than 3/4 of its
//! size, or when a bucket would reach 9 entries while the table is under 64 buckets; a pair
//! lies in bucket `spread(hash) & (size - 1)`; iteration walks the buckets in order and each
//! bucket in insertion order (a doubling keeps the relative order of a bucket's pairs).
//! Not modelled: a bucket of 9 or more colliding keys in a table of 64 or more buckets, which
//! Java turns into a tree whose later insertions do not go last (it takes dozens of headers
//! whose hashes collide).

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

/// A new `HashMap`'s bucket count.
const TABLE_INITIAL: usize = 16;
/// A bucket that reaches this many entries is turned into a tree (or the table doubles).
const BUCKET_TREEIFY: usize = 9;
/// Below this many buckets a long bucket doubles the table instead of becoming a tree.
const TABLE_TREEIFY_MIN: usize = 64;

/// The bucket count of a `HashMap` after the keys with these spread hashes were put in order.
fn table_size(hashes: &[u32]) -> usize {
    let mut size = TABLE_INITIAL;
    for (n, &h) in hashes.iter().enumerate() {
        // Each pair is new (header keys are unique): it goes last in its bucket.
        let in_bucket = hashes[..n]
            .iter()
            .filter(|&&o| (o ^ h) as usize & (size - 1) == 0)
            .count()
            + 1;
        if in_bucket >= BUCKET_TREEIFY && size < TABLE_TREEIFY_MIN {
            size *= 2;
        }
        if n + 1 > size / 4 * 3 {
            size *= 2;
        }
    }
    size
}

/// The pairs in the order a Java `HashMap` filled with them in the given order iterates.
/// Keys are expected unique (a later duplicate would replace the earlier value in Java).
pub fn hashmap_order<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<(&'a str, &'a str)> {
    let mut pairs: Vec<(&str, &str)> = pairs.into_iter().collect();
    if pairs.len() < 2 {
        return pairs;
    }
    let hashes: Vec<u32> = pairs.iter().map(|(k, _)| spread(string_hash(k))).collect();
    let mask = table_size(&hashes) - 1;
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    // Stable: pairs of one bucket stay in insertion order.
    order.sort_by_key(|&i| hashes.get(i).map_or(0, |&h| h as usize & mask));
    let sorted: Vec<(&str, &str)> = order
        .iter()
        .filter_map(|&i| pairs.get(i).copied())
        .collect();
    debug_assert_eq!(sorted.len(), pairs.len());
    pairs = sorted;
    pairs
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

    #[test]
    fn the_table_doubles_past_three_quarters_and_for_a_long_bucket() {
        let thirteen: Vec<u32> = (0..13).collect();
        assert_eq!(table_size(&thirteen[..12]), 16);
        assert_eq!(table_size(&thirteen), 32);
        // Nine keys in bucket 0 of a 16-bucket table: doubled to 32 by the ninth, and to 64
        // by a tenth that still lands beside them.
        let colliding: Vec<u32> = (0..10).map(|i| i * 128).collect();
        assert_eq!(table_size(&colliding[..9]), 32);
        assert_eq!(table_size(&colliding), 64);
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
