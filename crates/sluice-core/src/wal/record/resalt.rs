//! Moving whole frames from one segment's CRC salt to another's (a transaction encoded for one
//! segment that lands in the next after a roll).

use byteorder::{ByteOrder, LittleEndian as LE};

use super::{decode_meta, frame_len, record_crc, FRAME_CRC_AT, FRAME_LEN_AT};

/// Rewrites the CRC of every record in `bytes` (whole frames, as one transaction's encoding)
/// with `salt`: for bytes encoded for one segment that land in another (a roll happened
/// between the encoding and the append; rare). Panics on bytes that are not whole frames,
/// which only a bug produces.
pub fn resalt(bytes: &mut [u8], salt: u32) {
    let mut pos = 0;
    // Each step moves past one frame of at least RECORD_HEADER_BYTES bytes.
    while pos < bytes.len() {
        let Ok(total) = frame_len(&bytes[pos..]) else {
            panic!("resalt of bytes that are not whole frames (at {pos})");
        };
        assert!(pos + total <= bytes.len(), "a frame runs past the bytes");
        let crc = record_crc(salt, &bytes[pos + FRAME_LEN_AT.start..pos + total]);
        LE::write_u32(
            &mut bytes[pos + FRAME_CRC_AT.start..pos + FRAME_CRC_AT.end],
            crc,
        );
        pos += total;
    }
}

/// Whether the first frame of `bytes` checks out with `salt` (for assertions).
pub fn first_frame_salted_with(bytes: &[u8], salt: u32) -> bool {
    decode_meta(bytes, salt).is_ok()
}
