//! Fuzz body: record decoding. `decode` and `decode_meta` must agree on every input, and a
//! decoded record must re-encode to bytes that decode to the same record. When the first
//! byte is odd, the record's CRC is fixed up first so the body parser is reached.

use sluice_core::internals::wal::record::RecordBody;
use sluice_core::internals::wal::record::{
    decode, decode_meta, encode_commit_with, encode_put, encode_rollback, encode_take, CommitExtras,
};

/// Rewrites the CRC field of the frame at the start of `b` to match its bytes.
pub fn fix_record_crc(b: &mut [u8]) {
    if b.len() < 8 {
        return;
    }
    let len = u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as usize;
    let end = len.saturating_add(8).min(b.len());
    let crc = crc32fast::hash(&b[4..end]);
    b[0..4].copy_from_slice(&crc.to_le_bytes());
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut bytes = rest.to_vec();
    if mode & 1 == 1 {
        fix_record_crc(&mut bytes);
    }
    let full = decode(&bytes, 0);
    let meta = decode_meta(&bytes, 0);
    let (rec, len) = match (full, meta) {
        (Ok((rec, len)), Ok((meta, mlen))) => {
            assert_eq!(len, mlen, "decode and decode_meta disagree on the length");
            assert_eq!((rec.txid, rec.seq), (meta.txid, meta.seq));
            assert_eq!(rec.kind(), meta.kind);
            (rec, len)
        }
        (Ok(_), Err(e)) => panic!("decode accepted a record decode_meta refuses: {e}"),
        // decode_meta skips the event body, so it may accept what decode refuses.
        (Err(_), _) => return,
    };
    assert!(len <= bytes.len());
    let mut again = Vec::new();
    match &rec.body {
        RecordBody::Put(ev) => encode_put(&mut again, 0, rec.txid, rec.seq, ev),
        RecordBody::Take { put_seq, ptr } => {
            encode_take(&mut again, 0, rec.txid, rec.seq, *put_seq, *ptr)
        }
        RecordBody::Commit {
            puts,
            takes,
            ids,
            cursors,
        } => {
            let extras = CommitExtras { ids, cursors };
            encode_commit_with(&mut again, 0, rec.txid, rec.seq, (*puts, *takes), &extras)
        }
        RecordBody::Rollback => encode_rollback(&mut again, 0, rec.txid, rec.seq),
    }
    let (back, back_len) = decode(&again, 0).expect("a re-encoded record decodes");
    assert_eq!(back, rec, "re-encoding changed the record");
    assert_eq!(back_len, again.len());
}
