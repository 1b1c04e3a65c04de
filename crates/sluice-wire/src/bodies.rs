//! Where a decoded event's body lives: its own copy of the bytes, or a slice of the frame it
//! arrived in ([`Bodies::Share`]), which costs a reference count instead of an allocation and
//! a copy per event. A shared body keeps its whole frame alive; the channel processor gives a
//! body its own buffer when only a small part of a frame's events go on to a channel
//! ([`sluice_core::Event::detach_body`]).

use sluice_core::Bytes;

/// How a decoder makes event bodies.
#[derive(Debug, Clone, Copy)]
pub enum Bodies<'f> {
    /// Each body copied into a buffer of its own.
    Copy,
    /// Bodies are slices of this frame (the bytes being decoded).
    Share(&'f Bytes),
}

impl Bodies<'_> {
    /// A body holding `bytes`: a slice of the shared frame when `bytes` lie within it, else
    /// a copy.
    pub fn body(self, bytes: &[u8]) -> Bytes {
        match self {
            Bodies::Share(frame) => match offset_within(frame, bytes) {
                Some(at) => frame.slice(at..at + bytes.len()),
                None => Bytes::copy_from_slice(bytes),
            },
            Bodies::Copy => Bytes::copy_from_slice(bytes),
        }
    }
}

/// Where `part` starts within `whole`, if it lies entirely within it.
fn offset_within(whole: &[u8], part: &[u8]) -> Option<usize> {
    let base = whole.as_ptr() as usize;
    let at = (part.as_ptr() as usize).checked_sub(base)?;
    (at.checked_add(part.len())? <= whole.len()).then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_body_is_a_slice_of_the_frame_and_an_outside_one_a_copy() {
        let frame = Bytes::from(b"..hello..".to_vec());
        let body = Bodies::Share(&frame).body(&frame[2..7]);
        assert_eq!(&body[..], b"hello");
        assert_eq!(body.as_ptr(), frame[2..].as_ptr(), "no copy");
        let elsewhere = b"hello".to_vec();
        let copied = Bodies::Share(&frame).body(&elsewhere);
        assert_eq!(&copied[..], b"hello");
        assert_ne!(copied.as_ptr(), elsewhere.as_ptr());
        let empty = Bodies::Share(&frame).body(&frame[9..]);
        assert!(empty.is_empty());
        let copy = Bodies::Copy.body(&frame[2..7]);
        assert_ne!(copy.as_ptr(), frame[2..].as_ptr());
    }
}
