//! How much of an `hdfs` sink file left by a crash is whole: the end of its last complete
//! unit (a line, a compressed unit, a SequenceFile record, an Avro block) for each layout.
//! Recovery cuts the file there.

use super::{Layout, AVRO_MAGIC, SEQ_MAGIC};

/// How much of a file left by a crash is whole: `None` when its start is not this layout
/// (then nothing should be cut), else the length of the prefix made of whole units.
pub fn valid_prefix(layout: Layout, data: &[u8]) -> Option<usize> {
    match layout {
        Layout::Stream { codec: Some(c), .. } => Some(c.valid_prefix(data)),
        Layout::Stream { newline: true, .. } => {
            Some(data.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1))
        }
        Layout::Stream { newline: false, .. } => Some(data.len()),
        Layout::Sequence { .. } => sequence_prefix(data),
        Layout::Avro { .. } => avro_prefix(data),
        Layout::Rows { .. } => Some(crate::agent::sink::rolling::parquet::stage::valid_prefix(
            data,
        )),
    }
}

/// Hadoop's `WritableUtils.readVLong`: the value and its length.
pub fn read_vlong(data: &[u8]) -> Option<(i64, usize)> {
    let first = *data.first()? as i8;
    if first >= -112 {
        return Some((first as i64, 1));
    }
    let (neg, n) = if first < -120 {
        (true, (-119 - first as i32) as usize)
    } else {
        (false, (-111 - first as i32) as usize)
    };
    let bytes = data.get(1..n)?;
    let mut v: i64 = 0;
    for b in bytes {
        v = (v << 8) | *b as i64;
    }
    Some((if neg { !v } else { v }, n))
}

fn be_u32(data: &[u8], at: usize) -> Option<u32> {
    let b = data.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn sequence_prefix(data: &[u8]) -> Option<usize> {
    if data.len() < SEQ_MAGIC.len() {
        return Some(0);
    }
    if &data[..4] != SEQ_MAGIC {
        return None;
    }
    let mut at = 4;
    for _ in 0..2 {
        let Some((len, n)) = read_vlong(&data[at..]) else {
            return Some(0);
        };
        at += n + usize::try_from(len).ok()?;
    }
    let Some(flags) = data.get(at..at + 2) else {
        return Some(0);
    };
    if flags != [0, 0] {
        return None;
    }
    at += 2;
    let Some(meta) = be_u32(data, at) else {
        return Some(0);
    };
    at += 4;
    for _ in 0..meta.saturating_mul(2) {
        let Some((len, n)) = read_vlong(data.get(at..)?) else {
            return Some(0);
        };
        at += n + usize::try_from(len).ok()?;
    }
    let Some(sync) = data.get(at..at + 16) else {
        return Some(0);
    };
    at += 16;
    let mut good = at;
    loop {
        let Some(len) = be_u32(data, at) else {
            return Some(good);
        };
        if len == u32::MAX {
            if data.get(at + 4..at + 20) != Some(sync) {
                return Some(good);
            }
            at += 20;
        } else {
            let Some(key_len) = be_u32(data, at + 4) else {
                return Some(good);
            };
            if key_len > len || data.len() < at + 8 + len as usize {
                return Some(good);
            }
            at += 8 + len as usize;
        }
        good = at;
    }
}

fn read_avro_long(data: &[u8], at: &mut usize) -> Option<i64> {
    let mut z: u64 = 0;
    for shift in (0..64).step_by(7) {
        let b = *data.get(*at)?;
        *at += 1;
        z |= ((b & 0x7f) as u64) << shift;
        if b & 0x80 == 0 {
            return Some((z >> 1) as i64 ^ -((z & 1) as i64));
        }
    }
    None
}

fn avro_prefix(data: &[u8]) -> Option<usize> {
    if data.len() < 4 {
        return Some(0);
    }
    if &data[..4] != AVRO_MAGIC {
        return None;
    }
    let mut at = 4;
    let torn = Some(0);
    loop {
        let Some(mut count) = read_avro_long(data, &mut at) else {
            return torn;
        };
        if count == 0 {
            break;
        }
        if count < 0 {
            count = -count;
            if read_avro_long(data, &mut at).is_none() {
                return torn;
            }
        }
        for _ in 0..count.min(1024) * 2 {
            let Some(len) = read_avro_long(data, &mut at) else {
                return torn;
            };
            at = at.checked_add(usize::try_from(len).ok()?)?;
        }
    }
    let Some(sync) = data.get(at..at + 16) else {
        return torn;
    };
    at += 16;
    let mut good = at;
    loop {
        let Some(_count) = read_avro_long(data, &mut at) else {
            return Some(good);
        };
        let Some(size) = read_avro_long(data, &mut at) else {
            return Some(good);
        };
        let Ok(size) = usize::try_from(size) else {
            return Some(good);
        };
        let end = at.saturating_add(size);
        if data.get(end..end + 16) != Some(sync) {
            return Some(good);
        }
        at = end + 16;
        good = at;
    }
}
