//! Charsets of the spooldir LINE deserializer: `inputCharset` with Flume's
//! `decodeErrorPolicy` (FAIL, REPLACE, IGNORE) and `deserializer.outputCharset`.
//!
//! UTF-8, US-ASCII and ISO-8859-1 are handled here with Java's meanings; any other input
//! label goes to `encoding_rs` (WHATWG labels, e.g. `windows-1252`, `Shift_JIS`, `GBK`).
//! Lines are split at the byte `\n`, so an input charset must be ASCII-compatible: UTF-16
//! and UTF-32 inputs are refused at configuration time. Output charsets: UTF-8, US-ASCII,
//! ISO-8859-1 (unmappable characters become `?`, as Java's encoder does), UTF-16BE, UTF-16LE
//! and UTF-16 (big-endian with a byte-order mark, as Java).

use encoding_rs::{DecoderResult, Encoding};

/// Flume's `decodeErrorPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeErrorPolicy {
    /// Stop at the malformed input (the file is set aside with an error).
    Fail,
    /// Replace malformed input by U+FFFD.
    Replace,
    /// Drop malformed input.
    Ignore,
}

impl DecodeErrorPolicy {
    /// Parses FAIL, REPLACE or IGNORE (any case).
    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "FAIL" => Some(Self::Fail),
            "REPLACE" => Some(Self::Replace),
            "IGNORE" => Some(Self::Ignore),
            _ => None,
        }
    }
}

/// An input charset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputCharset {
    /// UTF-8.
    Utf8,
    /// US-ASCII: bytes above 0x7F are malformed.
    Ascii,
    /// ISO-8859-1: every byte is the character of that number.
    Latin1,
    /// Another ASCII-compatible charset from `encoding_rs`.
    Other(&'static Encoding),
}

/// A charset name that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CharsetError {
    /// No charset has the name.
    #[error("unknown charset {0:?}")]
    Unknown(String),
    /// Lines are split at the byte `\n`, which this charset does not keep.
    #[error("charset {0:?} is not ASCII-compatible; lines are split at the byte \\n")]
    NotAsciiCompatible(String),
    /// Not one of the output charsets.
    #[error("unsupported output charset {0:?}; supported: UTF-8, US-ASCII, ISO-8859-1, UTF-16, UTF-16BE, UTF-16LE")]
    UnsupportedOutput(String),
}

impl InputCharset {
    /// Resolves a Java or WHATWG charset name; `Err` says why it cannot be used.
    pub(crate) fn parse(label: &str) -> Result<Self, CharsetError> {
        match label.to_ascii_uppercase().replace('_', "-").as_str() {
            "UTF-8" | "UTF8" => return Ok(Self::Utf8),
            "US-ASCII" | "ASCII" => return Ok(Self::Ascii),
            "ISO-8859-1" | "ISO8859-1" | "LATIN1" => return Ok(Self::Latin1),
            _ => {}
        }
        let enc = Encoding::for_label(label.as_bytes())
            .ok_or_else(|| CharsetError::Unknown(label.to_owned()))?;
        if !enc.is_ascii_compatible() {
            return Err(CharsetError::NotAsciiCompatible(label.to_owned()));
        }
        Ok(if enc == encoding_rs::UTF_8 {
            Self::Utf8
        } else {
            Self::Other(enc)
        })
    }

    /// Decodes one line. `Err(i)`: malformed input at byte `i` of the line under FAIL.
    pub(crate) fn decode(self, bytes: &[u8], policy: DecodeErrorPolicy) -> Result<String, usize> {
        match self {
            Self::Utf8 => decode_utf8(bytes, policy),
            Self::Ascii => {
                let mut s = String::with_capacity(bytes.len());
                for (i, &b) in bytes.iter().enumerate() {
                    if b < 0x80 {
                        s.push(b as char);
                    } else {
                        match policy {
                            DecodeErrorPolicy::Fail => return Err(i),
                            DecodeErrorPolicy::Replace => s.push('\u{FFFD}'),
                            DecodeErrorPolicy::Ignore => {}
                        }
                    }
                }
                Ok(s)
            }
            Self::Latin1 => Ok(bytes.iter().map(|&b| b as char).collect()),
            Self::Other(enc) => decode_other(enc, bytes, policy),
        }
    }
}

impl InputCharset {
    /// [`InputCharset::decode`] of a line the caller hands over: valid UTF-8 input becomes the
    /// text without a copy (the line's own buffer), so a UTF-8 line is copied once on its way
    /// from the file to its event (out of the read buffer), not twice.
    pub(crate) fn decode_owned(
        self,
        bytes: Vec<u8>,
        policy: DecodeErrorPolicy,
    ) -> Result<String, usize> {
        if self != Self::Utf8 {
            return self.decode(&bytes, policy);
        }
        String::from_utf8(bytes).or_else(|e| decode_utf8(e.as_bytes(), policy))
    }
}

fn decode_utf8(bytes: &[u8], policy: DecodeErrorPolicy) -> Result<String, usize> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_owned()),
        Err(e) => match policy {
            DecodeErrorPolicy::Fail => Err(e.valid_up_to()),
            DecodeErrorPolicy::Replace => Ok(String::from_utf8_lossy(bytes).into_owned()),
            DecodeErrorPolicy::Ignore => Ok(bytes.utf8_chunks().map(|c| c.valid()).collect()),
        },
    }
}

fn decode_other(
    enc: &'static Encoding,
    bytes: &[u8],
    policy: DecodeErrorPolicy,
) -> Result<String, usize> {
    let mut dec = enc.new_decoder_without_bom_handling();
    let mut out = String::with_capacity(bytes.len() * 2 + 16);
    let mut at = 0;
    loop {
        if let Some(need) = dec.max_utf8_buffer_length_without_replacement(bytes.len() - at) {
            out.reserve(need);
        }
        let (res, read) = dec.decode_to_string_without_replacement(&bytes[at..], &mut out, true);
        at += read;
        match res {
            DecoderResult::InputEmpty => return Ok(out),
            DecoderResult::OutputFull => out.reserve(64),
            DecoderResult::Malformed(bad, _) => match policy {
                DecodeErrorPolicy::Fail => return Err(at.saturating_sub(bad as usize)),
                DecodeErrorPolicy::Replace => out.push('\u{FFFD}'),
                DecodeErrorPolicy::Ignore => {}
            },
        }
    }
}

/// An output charset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputCharset {
    /// UTF-8.
    Utf8,
    /// US-ASCII (`?` for anything else).
    Ascii,
    /// ISO-8859-1 (`?` for anything else).
    Latin1,
    /// UTF-16 big-endian.
    Utf16Be,
    /// UTF-16 little-endian.
    Utf16Le,
    /// UTF-16 big-endian with a byte-order mark.
    Utf16,
}

impl OutputCharset {
    /// Resolves a Java charset name.
    pub(crate) fn parse(label: &str) -> Result<Self, CharsetError> {
        Ok(
            match label.to_ascii_uppercase().replace('_', "-").as_str() {
                "UTF-8" | "UTF8" => Self::Utf8,
                "US-ASCII" | "ASCII" => Self::Ascii,
                "ISO-8859-1" | "ISO8859-1" | "LATIN1" => Self::Latin1,
                "UTF-16BE" => Self::Utf16Be,
                "UTF-16LE" => Self::Utf16Le,
                "UTF-16" => Self::Utf16,
                _ => return Err(CharsetError::UnsupportedOutput(label.to_owned())),
            },
        )
    }

    /// Encodes a decoded line.
    pub(crate) fn encode(self, s: String) -> Vec<u8> {
        match self {
            Self::Utf8 => s.into_bytes(),
            Self::Ascii => s
                .chars()
                .map(|c| if c.is_ascii() { c as u8 } else { b'?' })
                .collect(),
            Self::Latin1 => s
                .chars()
                .map(|c| if (c as u32) < 256 { c as u8 } else { b'?' })
                .collect(),
            Self::Utf16Be => s.encode_utf16().flat_map(u16::to_be_bytes).collect(),
            Self::Utf16Le => s.encode_utf16().flat_map(u16::to_le_bytes).collect(),
            Self::Utf16 => [0xFE, 0xFF]
                .into_iter()
                .chain(s.encode_utf16().flat_map(u16::to_be_bytes))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DecodeErrorPolicy::*;

    const BAD: &[u8] = b"ab\xFFcd\xC3";

    #[test]
    fn a_line_handed_over_decodes_as_a_borrowed_one() {
        let latin = InputCharset::parse("windows-1252").unwrap();
        let inputs: [&[u8]; 4] = [BAD, b"plain", "caf\u{e9}".as_bytes(), b""];
        for cs in [
            InputCharset::Utf8,
            InputCharset::Ascii,
            InputCharset::Latin1,
            latin,
        ] {
            for policy in [Fail, Replace, Ignore] {
                for input in inputs {
                    assert_eq!(
                        cs.decode_owned(input.to_vec(), policy),
                        cs.decode(input, policy),
                        "{cs:?} {policy:?} {input:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn invalid_utf8_fails_with_its_offset_under_fail() {
        assert_eq!(InputCharset::Utf8.decode(BAD, Fail), Err(2));
        assert_eq!(InputCharset::Utf8.decode(b"ok", Fail).unwrap(), "ok");
    }

    #[test]
    fn invalid_utf8_becomes_replacement_characters_under_replace() {
        assert_eq!(
            InputCharset::Utf8.decode(BAD, Replace).unwrap(),
            "ab\u{FFFD}cd\u{FFFD}"
        );
    }

    #[test]
    fn invalid_utf8_is_dropped_under_ignore() {
        assert_eq!(InputCharset::Utf8.decode(BAD, Ignore).unwrap(), "abcd");
    }

    #[test]
    fn ascii_refuses_high_bytes_and_latin1_takes_every_byte() {
        assert_eq!(InputCharset::Ascii.decode(b"a\xE9", Fail), Err(1));
        assert_eq!(InputCharset::Ascii.decode(b"a\xE9", Ignore).unwrap(), "a");
        assert_eq!(InputCharset::Latin1.decode(b"a\xE9", Fail).unwrap(), "aé");
    }

    #[test]
    fn other_charsets_decode_through_encoding_rs_with_each_policy() {
        let sjis = InputCharset::parse("Shift_JIS").unwrap();
        assert_eq!(sjis.decode(b"\x82\xa0", Fail).unwrap(), "あ");
        assert_eq!(sjis.decode(b"a\x82", Fail), Err(1));
        assert_eq!(sjis.decode(b"a\x82", Replace).unwrap(), "a\u{FFFD}");
        assert_eq!(sjis.decode(b"a\x82", Ignore).unwrap(), "a");
    }

    #[test]
    fn utf16_input_is_refused_and_unknown_names_are_reported() {
        assert_eq!(
            InputCharset::parse("UTF-16"),
            Err(CharsetError::NotAsciiCompatible("UTF-16".into()))
        );
        assert!(InputCharset::parse("no-such")
            .unwrap_err()
            .to_string()
            .contains("unknown"));
        assert_eq!(InputCharset::parse("utf-8").unwrap(), InputCharset::Utf8);
    }

    #[test]
    fn output_charsets_encode_like_java() {
        let s = || "aé€".to_owned();
        assert_eq!(OutputCharset::Utf8.encode(s()), "aé€".as_bytes());
        assert_eq!(OutputCharset::Latin1.encode(s()), b"a\xE9?");
        assert_eq!(OutputCharset::Ascii.encode(s()), b"a??");
        assert_eq!(OutputCharset::Utf16Be.encode("a".into()), [0, b'a']);
        assert_eq!(
            OutputCharset::Utf16.encode("a".into()),
            [0xFE, 0xFF, 0, b'a']
        );
        assert!(OutputCharset::parse("KOI8-R").is_err());
    }
}
