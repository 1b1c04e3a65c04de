//! One record of a `log-N` file: its op byte and prefix, what it does ([`Op`]) and where it
//! sits ([`Record`]), the steps of a sequential read ([`Next`], [`Stop`]), and the decoding of
//! its header and body.

use prost::Message;

use crate::proto;
use crate::refusal::RecordDamage;
use sluice_core::Bytes;

/// The op byte of a record.
pub const OP_RECORD: u8 = 0x7F;
/// The op byte of a record Flume's integrity tool voided.
pub const OP_NOOP: u8 = 0x00;
/// The op byte Flume fills the unwritten end of a file with.
pub const OP_EOF: u8 = 0x80;
/// Bytes before a record's payload: the op byte and the length.
pub const RECORD_PREFIX: u64 = 5;

/// What a record does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// An event put (its pointer is the record's own place).
    Put,
    /// The event at this pointer taken.
    Take(u64),
    /// The transaction rolled back.
    Rollback,
    /// The transaction committed; `true` for a take transaction.
    Commit(bool),
}

/// One record's place and meaning (a put's event is read later, by pointer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// Its offset: the op byte.
    pub offset: u64,
    /// Its transaction.
    pub txid: i64,
    /// Its place in the channel's write order.
    pub woid: i64,
    /// What it does.
    pub op: Op,
}

/// Where a sequential read of a file stopped, when it was not the end Flume marks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stop {
    /// The offset.
    pub offset: u64,
    /// Why: a torn record, an unknown op byte, bytes that do not decode.
    pub why: RecordDamage,
}

/// The next step of a sequential read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// A record.
    Record(Record),
    /// A record voided by Flume's integrity tool, skipped.
    Voided,
    /// The end Flume marks (OP_EOF or the file's end at a record boundary).
    End,
    /// Damage: nothing after it is read.
    Stopped(Stop),
}

pub(super) fn stop(offset: u64, why: RecordDamage) -> Next {
    Next::Stopped(Stop { offset, why })
}

/// Decodes a record's header and, for takes and commits, its body.
pub(super) fn decode_op(mut buf: Bytes, at: u64) -> Result<Record, RecordDamage> {
    let undecodable = |part| move |decode| RecordDamage::Undecodable { part, decode };
    let h = proto::TransactionEventHeader::decode_length_delimited(&mut buf)
        .map_err(undecodable("record header"))?;
    let op = match h.r#type {
        1 => Op::Put,
        2 => {
            let t = proto::Take::decode_length_delimited(&mut buf).map_err(undecodable("take"))?;
            Op::Take((u64::from(t.file_id as u32) << 32) | u64::from(t.offset as u32))
        }
        3 => Op::Rollback,
        4 => {
            let c =
                proto::Commit::decode_length_delimited(&mut buf).map_err(undecodable("commit"))?;
            match c.r#type {
                1 => Op::Commit(false),
                2 => Op::Commit(true),
                kind => return Err(RecordDamage::CommitType { kind }),
            }
        }
        kind => return Err(RecordDamage::RecordType { kind }),
    };
    Ok(Record {
        offset: at,
        txid: h.transaction_id,
        woid: h.write_order_id,
        op,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(kind: i32) -> Vec<u8> {
        proto::TransactionEventHeader {
            r#type: kind,
            transaction_id: 7,
            write_order_id: 9,
        }
        .encode_length_delimited_to_vec()
    }

    #[test]
    fn a_record_flume_does_not_write_is_damage_that_names_what_was_read() {
        let got = decode_op(Bytes::from(header(9)), 0);
        assert_eq!(got, Err(RecordDamage::RecordType { kind: 9 }));
        let mut commit = header(4);
        commit.extend(proto::Commit { r#type: 5 }.encode_length_delimited_to_vec());
        let got = decode_op(Bytes::from(commit), 0);
        assert_eq!(got, Err(RecordDamage::CommitType { kind: 5 }));
        let Err(damage) = decode_op(Bytes::from(header(2)), 0) else {
            panic!("a take without its body decoded");
        };
        assert!(
            matches!(damage, RecordDamage::Undecodable { part: "take", .. }),
            "{damage}"
        );
        assert!(damage
            .to_string()
            .starts_with("a take that does not decode"));
    }

    #[test]
    fn a_commit_of_a_take_transaction_decodes_with_its_place() {
        let mut commit = header(4);
        commit.extend(proto::Commit { r#type: 2 }.encode_length_delimited_to_vec());
        let want = Record {
            offset: 40,
            txid: 7,
            woid: 9,
            op: Op::Commit(true),
        };
        assert_eq!(decode_op(Bytes::from(commit), 40), Ok(want));
    }
}
