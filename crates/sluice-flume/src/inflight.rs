//! Flume's `inflightputs` and `inflighttakes`: the transactions a checkpoint caught open. The
//! file is a 16-byte MD5 of the rest, then per transaction its id, the number `n` of pointers
//! and the `n` pointers, as big-endian longs (Flume's `FlumeEventQueue.InflightEventWrapper`).
//! Transactions come out in the file's order (Flume reads them into a hash map, so its own
//! order among several open transactions is the map's); a transaction with no pointers (the
//! zero pair Flume ends the file with) is no transaction.

use md5::{Digest, Md5};

use super::refusal::InflightDamage;
use crate::invariant::hot_assert;

/// One open transaction: its id and its event pointers, in the file's order.
pub type InflightTxn = (i64, Vec<u64>);

/// Bytes of the MD5 at the start of the file.
const DIGEST_BYTES: usize = 16;

/// Parses an in-flight file's bytes; `Err` says why it is not whole (Flume then refuses the
/// checkpoint: `BadCheckpointException`).
pub fn parse(bytes: &[u8]) -> Result<Vec<InflightTxn>, InflightDamage> {
    let Some((digest, rest)) = bytes.split_at_checked(DIGEST_BYTES) else {
        return Err(InflightDamage::Short { bytes: bytes.len() });
    };
    if Md5::digest(rest).as_slice() != digest {
        return Err(InflightDamage::Digest);
    }
    if rest.len() % 8 != 0 {
        return Err(InflightDamage::Ragged { bytes: rest.len() });
    }
    // Read in place (no copy of the file as longs): a count is checked against the longs
    // that remain before its pointers are collected.
    let count = rest.len() / 8;
    let long = |i: usize| {
        rest.get(i * 8..i * 8 + 8)
            .map(|c| i64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
    };
    let mut txns = Vec::new();
    let mut i = 0;
    while i < count {
        let (Some(txid), Some(n)) = (long(i), long(i + 1)) else {
            return Err(InflightDamage::NoCount { long: i });
        };
        let n = usize::try_from(n)
            .ok()
            .filter(|n| *n <= count.saturating_sub(i + 2))
            .ok_or(InflightDamage::Count { txid, count: n })?;
        hot_assert!(i + 2 + n <= count, "a checked count stays inside the file");
        let ptrs = (i + 2..i + 2 + n)
            .filter_map(long)
            .map(|p| p as u64)
            .collect::<Vec<_>>();
        if !ptrs.is_empty() {
            txns.push((txid, ptrs));
        }
        i += 2 + n;
    }
    hot_assert!(i == count, "the transactions tile the file's longs");
    Ok(txns)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(longs: &[i64]) -> Vec<u8> {
        let body: Vec<u8> = longs.iter().flat_map(|l| l.to_be_bytes()).collect();
        let mut out = Md5::digest(&body).to_vec();
        out.extend_from_slice(&body);
        out
    }

    #[test]
    fn transactions_come_out_in_file_order_and_the_zero_pair_is_none() {
        let bytes = file(&[
            7,
            2,
            0x1_0000_0010,
            0x1_0000_0020,
            9,
            1,
            0x2_0000_0000,
            0,
            0,
        ]);
        let txns = parse(&bytes).unwrap();
        assert_eq!(
            txns,
            vec![
                (7, vec![0x1_0000_0010, 0x1_0000_0020]),
                (9, vec![0x2_0000_0000])
            ]
        );
        assert!(parse(&file(&[0, 0])).unwrap().is_empty());
    }

    #[test]
    fn a_changed_byte_a_short_file_or_a_lying_count_is_refused() {
        let mut bytes = file(&[7, 1, 5]);
        bytes[20] ^= 1;
        assert!(parse(&bytes).unwrap_err().to_string().contains("MD5"));
        assert!(parse(&bytes[..10]).is_err());
        assert!(parse(&file(&[7, 3, 5]))
            .unwrap_err()
            .to_string()
            .contains("more than remain"));
        assert!(parse(&file(&[7, -1])).is_err());
        assert!(parse(&file(&[7])).is_err());
    }
}
