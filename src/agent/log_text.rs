//! Text that came from a peer, made safe to log: every control character (C0, DEL, C1),
//! the Unicode line and paragraph separators and the bidirectional overrides are written
//! as escapes (`\n`, `\u{1b}`, `\u{202e}`), so a newline cannot start a forged log line
//! and an ESC sequence never reaches the terminal. Anything else is left as it is.

use std::borrow::Cow;

/// Whether `c` must not reach a log line as itself.
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// `s` with its unsafe characters escaped (borrowed when there are none).
pub(crate) fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_are_borrowed_unchanged() {
        assert!(matches!(escape("edge-01.example/k1 ü"), Cow::Borrowed(_)));
    }

    #[test]
    fn newlines_escapes_and_bidi_overrides_are_escaped() {
        let forged = "a\n2026-01-01 ERROR forged\u{1b}[31mred\r\u{9b}\u{202e}x\u{2028}";
        let e = escape(forged);
        assert_eq!(
            e,
            "a\\n2026-01-01 ERROR forged\\u{1b}[31mred\\r\\u{9b}\\u{202e}x\\u{2028}"
        );
        assert!(!e.chars().any(unsafe_char));
    }
}
