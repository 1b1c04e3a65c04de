//! Tests of the frame codec and the frame reader: round trips over every split of the
//! bytes, limits checked from the headers, the sender's split head.

use super::*;

fn limits() -> FrameLimits {
    FrameLimits {
        frame_bytes_max: 1000,
        buffers_max: 8,
    }
}

#[test]
fn the_head_and_the_last_buffer_are_the_frame_byte_for_byte() {
    let cases: [&[&[u8]]; 4] = [&[], &[b""], &[b"abc"], &[b"hand", b"", b"events"]];
    for bufs in cases {
        let mut whole = Vec::new();
        encode_frame(7, bufs, &mut whole);
        let mut split = Vec::new();
        encode_frame_head(7, bufs, &mut split);
        split.extend_from_slice(bufs.last().copied().unwrap_or_default());
        assert_eq!(split, whole, "{bufs:?}");
    }
    let mut golden = Vec::new();
    encode_frame_head(1, &[b"ab".as_slice(), b"xyz"], &mut golden);
    assert_eq!(
        golden,
        [0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, b'a', b'b', 0, 0, 0, 3]
    );
}

#[test]
fn a_frame_round_trips_through_every_split_of_its_bytes() {
    let mut bytes = Vec::new();
    encode_frame(7, &[&b"ab"[..], b"", b"cde"], &mut bytes);
    encode_frame(8, &[&b""[..]], &mut bytes);
    for cut in 0..=bytes.len() {
        let mut r = FrameReader::new(limits());
        let mut frames = Vec::new();
        for part in [&bytes[..cut], &[][..], &bytes[cut..]] {
            r.push(part);
            while let Some(f) = r.next_frame().unwrap() {
                frames.push(f);
            }
        }
        assert_eq!(
            frames,
            vec![
                Frame {
                    serial: 7,
                    payload: b"abcde".to_vec().into()
                },
                Frame {
                    serial: 8,
                    payload: Vec::new().into()
                }
            ],
            "cut at {cut}"
        );
        assert_eq!(r.pending(), 0);
    }
}

#[test]
fn buffers_are_gathered_around_the_largest_which_does_not_move() {
    let layouts: [&[&[u8]]; 5] = [
        &[b"head", b"the largest buffer", b"t"],
        &[b"the largest buffer", b"a", b"bc"],
        &[b"a", b"", b"bc", b"the largest buffer"],
        &[b"same", b"same", b"same"],
        &[b"", b""],
    ];
    for buffers in layouts {
        let mut bytes = Vec::new();
        encode_frame(3, buffers, &mut bytes);
        // Where the largest (first of equals) buffer's bytes are in the frame.
        let (mut at, mut big) = (FRAME_HEADER_BYTES + 4, (0, 0));
        for (i, b) in buffers.iter().enumerate() {
            if i == 0 || b.len() > big.1 {
                big = (at, b.len());
            }
            at += b.len() + 4;
        }
        let (from, to) = gather(&mut bytes, FRAME_HEADER_BYTES, buffers.len());
        assert_eq!(&bytes[from..to], &buffers.concat()[..], "{buffers:?}");
        let offset_in_payload = big.0 - from;
        let want: Vec<u8> = buffers.concat();
        assert_eq!(
            &want[offset_in_payload..offset_in_payload + big.1],
            &bytes[big.0..big.0 + big.1],
            "the largest buffer stays at {} ({buffers:?})",
            big.0
        );
        // Read through the reader, the same payload.
        let mut again = Vec::new();
        encode_frame(3, buffers, &mut again);
        let mut r = FrameReader::new(limits());
        r.push(&again);
        assert_eq!(r.next_frame().unwrap().unwrap().payload, want);
    }
}

#[test]
fn a_big_frame_does_not_leave_its_buffer_allocated() {
    let mut r = FrameReader::new(FrameLimits::default());
    let mut bytes = Vec::new();
    encode_frame(1, &[vec![7u8; 3 << 20]], &mut bytes);
    r.read_buffer(bytes.len()).extend_from_slice(&bytes);
    assert_eq!(r.next_frame().unwrap().unwrap().payload.len(), 3 << 20);
    assert_eq!(r.next_frame().unwrap(), None);
    assert_eq!(r.capacity(), 0);
}

#[test]
fn a_frame_announcing_two_gibibytes_is_refused_from_its_header_alone() {
    let mut b = Vec::new();
    b.extend_from_slice(&1i32.to_be_bytes());
    b.extend_from_slice(&1i32.to_be_bytes());
    b.extend_from_slice(&i32::MAX.to_be_bytes());
    let e = decode_frame(&b, &FrameLimits::default(), 0).unwrap_err();
    assert!(matches!(e, AvroError::FrameTooLarge { len, .. } if len == i32::MAX as u64));
}

#[test]
fn too_many_or_negative_buffers_are_refused() {
    let mut b = Vec::new();
    b.extend_from_slice(&1i32.to_be_bytes());
    b.extend_from_slice(&9i32.to_be_bytes());
    assert!(matches!(
        decode_frame(&b, &limits(), 0),
        Err(AvroError::TooManyBuffers { count: 9, max: 8 })
    ));
    b[4..8].copy_from_slice(&(-1i32).to_be_bytes());
    assert!(matches!(
        decode_frame(&b, &limits(), 0),
        Err(AvroError::NegativeFrameField { .. })
    ));
}

#[test]
fn many_small_buffers_adding_up_past_the_limit_are_refused() {
    let mut b = Vec::new();
    b.extend_from_slice(&1i32.to_be_bytes());
    b.extend_from_slice(&2i32.to_be_bytes());
    b.extend_from_slice(&600i32.to_be_bytes());
    b.extend_from_slice(&[0u8; 600]);
    b.extend_from_slice(&600i32.to_be_bytes());
    assert!(matches!(
        decode_frame(&b, &limits(), 0),
        Err(AvroError::FrameTooLarge { len: 1200, .. })
    ));
}
