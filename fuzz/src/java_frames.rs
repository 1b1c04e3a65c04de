//! Fuzz body: the Java host's frames (`sluice_wire::java::frame`). The bytes are read as a
//! stream of length-prefixed frames, as the agent reads the JVM's stdout; every frame body
//! goes through both decoders. Nothing may panic; a frame that decodes must re-encode to bytes
//! that decode to the same frame.

use sluice_wire::java::frame::{
    decode_from_jvm, decode_to_jvm, encode_from_jvm, encode_to_jvm, frame_len, LEN_BYTES,
};

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut rest = data;
    while rest.len() >= LEN_BYTES {
        let prefix = [rest[0], rest[1], rest[2], rest[3]];
        let Ok(n) = frame_len(prefix) else {
            return;
        };
        let Some(body) = rest.get(LEN_BYTES..LEN_BYTES + n) else {
            return;
        };
        // Headers are a map (a repeated key keeps its last value, keys come out sorted), so a
        // decoded frame re-encodes to bytes that decode to the same frame, not to the same bytes.
        if let Ok(m) = decode_from_jvm(body) {
            let again = encode_from_jvm(&m);
            assert_eq!(decode_from_jvm(&again[LEN_BYTES..]).ok(), Some(m));
        }
        if let Ok(m) = decode_to_jvm(body) {
            let again = encode_to_jvm(&m);
            assert_eq!(decode_to_jvm(&again[LEN_BYTES..]).ok(), Some(m));
        }
        rest = &rest[LEN_BYTES + n..];
    }
}
