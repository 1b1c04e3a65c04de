//! JSON strings as the sink writes them into `JSONEachRow` rows and lookups: bytes kept as
//! they are (a ClickHouse String holds bytes), quotes, backslashes and control bytes escaped.

/// Appends `v` as a JSON string: `"` and `\` escaped, control bytes as `\u00XX`, every
/// other byte as it is (ClickHouse stores a String's bytes; a body need not be UTF-8).
pub(crate) fn json_string(out: &mut Vec<u8>, v: &[u8]) {
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
