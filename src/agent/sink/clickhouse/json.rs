//! JSON strings as the sink writes them into `JSONEachRow` rows and lookups: bytes kept as
//! they are (a ClickHouse String holds bytes), quotes, backslashes and control bytes escaped.
//!
//! A body is mostly bytes that need no escape: the scan looks at 8 bytes at a time
//! ([`next_escape`]) and copies each run of plain bytes at once.

/// Every byte of a word set to the same value (`0x01` times a byte).
const ONES: u64 = 0x0101_0101_0101_0101;
/// The high bit of every byte of a word.
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Appends `v` as a JSON string: `"` and `\` escaped, control bytes as `\u00XX`, every
/// other byte as it is (ClickHouse stores a String's bytes; a body need not be UTF-8).
pub(crate) fn json_string(out: &mut Vec<u8>, v: &[u8]) {
    out.reserve(v.len() + 2);
    out.push(b'"');
    let mut rest = v;
    while let Some(i) = next_escape(rest) {
        let (plain, tail) = rest.split_at(i);
        out.extend_from_slice(plain);
        let Some((&c, tail)) = tail.split_first() else {
            break;
        };
        escape(out, c);
        rest = tail;
    }
    out.extend_from_slice(rest);
    out.push(b'"');
}

/// Whether byte `c` is written escaped.
fn escaped(c: u8) -> bool {
    c < 0x20 || c == b'"' || c == b'\\'
}

/// Appends byte `c` (one that is [`escaped`]) as its escape.
fn escape(out: &mut Vec<u8>, c: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let short: &[u8] = match c {
        b'"' => b"\\\"",
        b'\\' => b"\\\\",
        b'\n' => b"\\n",
        b'\r' => b"\\r",
        b'\t' => b"\\t",
        _ => b"",
    };
    if short.is_empty() {
        out.extend_from_slice(b"\\u00");
        out.push(HEX[usize::from(c >> 4)]);
        out.push(HEX[usize::from(c & 0xf)]);
    } else {
        out.extend_from_slice(short);
    }
}

/// The index of the first byte of `v` that is [`escaped`], looking at 8 bytes at a time.
fn next_escape(v: &[u8]) -> Option<usize> {
    let mut rest = v;
    let mut at = 0;
    while let Some((w, tail)) = rest.split_first_chunk::<8>() {
        let m = escapes_in(u64::from_le_bytes(*w));
        if m != 0 {
            // Byte 0 is the lowest: the lowest flag is the first byte to escape.
            return Some(at + (m.trailing_zeros() / 8) as usize);
        }
        at += 8;
        rest = tail;
    }
    rest.iter().position(|&c| escaped(c)).map(|i| at + i)
}

/// The high bit set in each byte of `w` that is below 0x20, `"` or `\`. A borrow can set
/// flags only above a byte that is flagged rightly, so the lowest flag is always right.
fn escapes_in(w: u64) -> u64 {
    let below_space = w.wrapping_sub(ONES * 0x20) & !w;
    let quote = w ^ (ONES * u64::from(b'"'));
    let quote = quote.wrapping_sub(ONES) & !quote;
    let backslash = w ^ (ONES * u64::from(b'\\'));
    let backslash = backslash.wrapping_sub(ONES) & !backslash;
    (below_space | quote | backslash) & HIGHS
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The escaper as it was (a byte at a time), word for word: the reference.
    fn json_string_bytewise(out: &mut Vec<u8>, v: &[u8]) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        out.push(b'"');
        let mut start = 0;
        for (i, &c) in v.iter().enumerate() {
            let esc: &[u8] = match c {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                b'\t' => b"\\t",
                0..=0x1f => &[],
                _ => continue,
            };
            out.extend_from_slice(&v[start..i]);
            if esc.is_empty() {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(c >> 4)]);
                out.push(HEX[usize::from(c & 0xf)]);
            } else {
                out.extend_from_slice(esc);
            }
            start = i + 1;
        }
        out.extend_from_slice(&v[start..]);
        out.push(b'"');
    }

    fn both(v: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let (mut a, mut b) = (b"x".to_vec(), b"x".to_vec());
        json_string(&mut a, v);
        json_string_bytewise(&mut b, v);
        (a, b)
    }

    /// Bytes often escaped, often not, at any offset in a word.
    fn bytes() -> impl Strategy<Value = Vec<u8>> {
        let byte = prop_oneof![
            4 => 0x20u8..=0xff,
            1 => Just(b'"'),
            1 => Just(b'\\'),
            1 => 0u8..0x20,
        ];
        prop::collection::vec(byte, 0..80)
    }

    #[test]
    fn quotes_backslashes_and_control_bytes_are_escaped_and_the_rest_kept() {
        let mut out = Vec::new();
        json_string(
            &mut out,
            b"a \"q\" \\ \n\r\t\x01\x1f\x7f \xff\xc3\xa9 0123456789",
        );
        assert_eq!(
            out,
            b"\"a \\\"q\\\" \\\\ \\n\\r\\t\\u0001\\u001f\x7f \xff\xc3\xa9 0123456789\"".to_vec()
        );
    }

    proptest! {
        #[test]
        fn the_word_scan_writes_what_the_byte_scan_writes(v in bytes()) {
            let (a, b) = both(&v);
            prop_assert_eq!(a, b);
        }

        #[test]
        fn any_bytes_are_written_as_the_byte_scan_writes_them(v in prop::collection::vec(any::<u8>(), 0..80)) {
            let (a, b) = both(&v);
            prop_assert_eq!(a, b);
        }

        #[test]
        fn serde_json_reads_back_the_text_that_was_written(s in "(?s).{0,60}") {
            let mut out = Vec::new();
            json_string(&mut out, s.as_bytes());
            let back: String = serde_json::from_slice(&out).unwrap();
            prop_assert_eq!(back, s);
        }
    }
}
