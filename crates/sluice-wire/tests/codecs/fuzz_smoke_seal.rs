//! A bounded, deterministic smoke run of the sealed-segment fuzz body
//! (`fuzz/src/sealed_frame.rs`, included by path): seeded random bytes and mutations of a
//! sealed put, none of which may panic.

#[path = "../../../../fuzz/src/sealed_frame.rs"]
mod sealed_frame;

#[test]
fn sealed_frame_smoke() {
    let mut state = 0x5EA1_u64;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    for _ in 0..2_000 {
        let len = (next() % 400) as usize;
        let input: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        sealed_frame::run(&input);
    }
}
