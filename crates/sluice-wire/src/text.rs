//! Peer text (header keys and values) as UTF-8: borrowed when valid, which `str::from_utf8`
//! checks a word at a time, and only otherwise with U+FFFD for each bad sequence, as Java's
//! decoder does (`String::from_utf8_lossy` walks every input byte by byte through its chunks).

use std::borrow::Cow;

/// `b` as text, invalid sequences replaced.
pub fn lossy(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_text_is_borrowed_and_bad_bytes_are_replaced() {
        assert!(matches!(lossy(b"host"), Cow::Borrowed("host")));
        assert_eq!(lossy(b"a\xffb"), "a\u{FFFD}b");
        assert_eq!(lossy("café".as_bytes()), "café");
    }
}
