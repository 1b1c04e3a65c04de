//! A bounded, deterministic smoke run of the `syslog_frames` fuzz target's body
//! (`fuzz/src/syslog_frames.rs`, included by path): seeded random bytes and mutations of
//! valid syslog streams, none of which may panic. The real fuzzing is
//! `cargo fuzz run syslog_frames` in `fuzz/`.

#[path = "../../../../fuzz/src/syslog_frames.rs"]
mod syslog_frames;

use super::smoke_rng::XorShift as Rng;

const SEEDS: &[&[u8]] = &[
    b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed\n<13>Jan  5 01:02:03 h x\r\n",
    b"<165>1 2003-10-11T22:14:15.003Z host app - - - hi\n",
    b"52 <165>1 2003-10-11T22:14:15.003+02:00 host app - hi11 <13>abcdefg",
    b"<10>2012-04-13T11:11:11-02:00 ubuntu-11.cloudera.com some msg\n\n\n",
    b"garbage\xff\xfe\n<999>x\n<1234>y\n<>\n<1",
];

#[test]
fn syslog_framing_and_parsing_survive_random_and_mutated_streams() {
    let mut rng = Rng(0x5EED_5157);
    for _ in 0..3_000 {
        let mut input = vec![rng.next() as u8, rng.next() as u8];
        if rng.below(4) == 0 {
            let n = rng.below(300);
            input.extend((0..n).map(|_| rng.next() as u8));
        } else {
            let mut b = SEEDS[rng.below(SEEDS.len())].to_vec();
            for _ in 0..1 + rng.below(4) {
                if b.is_empty() {
                    break;
                }
                let i = rng.below(b.len());
                match rng.below(4) {
                    0 => b[i] ^= 1 << rng.below(8),
                    1 => b.truncate(i),
                    2 => b[i] = [b'\n', b' ', b'<', b'>', b'9'][rng.below(5)],
                    _ => {
                        let dup = b[..i].to_vec();
                        b.extend(dup);
                    }
                }
            }
            input.extend(b);
        }
        syslog_frames::run(&input);
    }
}
