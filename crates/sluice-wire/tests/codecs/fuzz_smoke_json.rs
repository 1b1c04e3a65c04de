//! A bounded, deterministic smoke run of the `http_json` fuzz target's body
//! (`fuzz/src/http_json.rs`, included by path): seeded random bytes and mutations of valid
//! JSON requests, none of which may panic. The real fuzzing is `cargo fuzz run http_json` in
//! `fuzz/`.

#[path = "../../../../fuzz/src/http_json.rs"]
mod http_json;

use super::smoke_rng::XorShift as Rng;

const SEEDS: &[&str] = &[
    r#"[{"headers":{"a":"b","n":5,"t":true,"z":null},"body":"caf\u00e9"},{"body":"x"},{}]"#,
    r#"[{"x":[1,{}],"body":"b","headers":null},{"headers":{"k":"v"},"body":12.5}]"#,
    r#"  [ {"body":"a","body":"b"} ]"#,
    r#"{"headers":{},"body":"x"}"#,
    "[{},{},{},{},{},{},{},{}]",
];

/// `text` as the first byte's charset encodes it (UTF-16 and UTF-32 big-endian, UTF-8 else).
fn encoded(text: &str, mode: u8) -> Vec<u8> {
    match mode % 6 {
        2 => text.encode_utf16().flat_map(u16::to_be_bytes).collect(),
        3 => text
            .chars()
            .flat_map(|c| (c as u32).to_be_bytes())
            .collect(),
        _ => text.as_bytes().to_vec(),
    }
}

#[test]
fn http_json_requests_survive_random_and_mutated_bodies_and_count_as_they_decode() {
    let mut rng = Rng(0x0750_5EED);
    for _ in 0..3_000 {
        let mode = rng.next() as u8;
        let mut input = vec![mode, rng.next() as u8];
        if rng.below(5) == 0 {
            input.extend((0..rng.below(200)).map(|_| rng.next() as u8));
        } else {
            let mut b = encoded(SEEDS[rng.below(SEEDS.len())], mode);
            for _ in 0..rng.below(4) {
                if b.is_empty() {
                    break;
                }
                let i = rng.below(b.len());
                match rng.below(4) {
                    0 => b[i] ^= 1 << rng.below(8),
                    1 => b.truncate(i),
                    2 => b[i] = [b'[', b']', b'{', b'"', b',', 0xFF][rng.below(6)],
                    _ => {
                        let dup = b[i..].to_vec();
                        b.extend(dup);
                    }
                }
            }
            input.extend(b);
        }
        http_json::run(&input);
    }
}
