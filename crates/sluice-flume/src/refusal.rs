//! Why a Flume file is not taken as it stands, as typed values: where a sequential read of a
//! log stops ([`RecordDamage`]), why a checkpoint is refused the way Flume's
//! `BadCheckpointException` refuses it ([`CheckpointRefusal`]), and why an in-flight file is
//! not whole ([`InflightDamage`]). None of them stops the replay: the caller records the
//! damage (the file and the offset beside it) or falls back to another checkpoint, so they are
//! values, not [`super::FlumeError`]s; their messages are what the replay's report prints.

/// Why a sequential read of a `log-N` file stopped at a record (nothing after it is read).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordDamage {
    /// The op byte is none Flume writes.
    #[error("an unknown op byte 0x{op:02x}")]
    UnknownOp {
        /// The byte.
        op: u8,
    },
    /// The length's top bit is set (a Java `int` below zero).
    #[error("a negative record length {len}")]
    NegativeLength {
        /// The length as Java reads it.
        len: i32,
    },
    /// The record's stated length runs past the file's end.
    #[error("a record of {len} bytes torn by the file's end at {file_bytes}")]
    Torn {
        /// The stated payload length.
        len: u32,
        /// The file's length.
        file_bytes: u64,
    },
    /// Fewer bytes than a record's prefix remain, and not all of them are OP_EOF.
    #[error("{left} bytes too short for a record")]
    ShortTail {
        /// The bytes left in the file.
        left: u64,
    },
    /// The key given for an encrypted file is not an AES key's length.
    #[error("an AES key of {key_bytes} bytes")]
    KeyLength {
        /// The key's length.
        key_bytes: usize,
    },
    /// A protobuf message of the record does not decode.
    #[error("a {part} that does not decode: {decode}")]
    Undecodable {
        /// Which message ("record header", "take", "commit").
        part: &'static str,
        /// prost's reason.
        decode: prost::DecodeError,
    },
    /// A commit record of a transaction type Flume does not write.
    #[error("a commit of transaction type {kind}")]
    CommitType {
        /// The type read.
        kind: i32,
    },
    /// A record type Flume does not write.
    #[error("a record of type {kind}")]
    RecordType {
        /// The type read.
        kind: i32,
    },
}

/// Why an `inflightputs` or `inflighttakes` file is not whole.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InflightDamage {
    /// Shorter than the MD5 it starts with.
    #[error("{bytes} bytes, shorter than its MD5")]
    Short {
        /// The file's length.
        bytes: usize,
    },
    /// The MD5 is not that of the rest.
    #[error("its MD5 does not match its contents")]
    Digest,
    /// The rest is not whole longs.
    #[error("{bytes} bytes of longs, not a multiple of 8")]
    Ragged {
        /// The bytes after the MD5.
        bytes: usize,
    },
    /// A transaction id is the file's last long.
    #[error("transaction at long {long} has no pointer count")]
    NoCount {
        /// The index of the id, in longs after the MD5.
        long: usize,
    },
    /// A pointer count below zero or past the longs left.
    #[error("transaction {txid} claims {count} pointers, more than remain")]
    Count {
        /// The transaction.
        txid: i64,
        /// The count read.
        count: i64,
    },
}

/// Why a checkpoint directory's checkpoint is refused (Flume's `BadCheckpointException`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointRefusal {
    /// A `checkpoint.meta` but no `checkpoint`.
    #[error("checkpoint.meta without a checkpoint file")]
    MetaWithoutCheckpoint,
    /// A `checkpoint` but no `checkpoint.meta`.
    #[error("no checkpoint.meta beside checkpoint")]
    NoMeta,
    /// An in-flight file that is not whole.
    #[error("{file}: {damage}")]
    Inflight {
        /// `inflightputs` or `inflighttakes`.
        file: &'static str,
        /// What is wrong with it.
        damage: InflightDamage,
    },
    /// The `checkpoint` file is not a header and whole slots.
    #[error("checkpoint is {len} bytes, not 8 x (1029 + capacity)")]
    Size {
        /// The file's length.
        len: u64,
    },
    /// A version other than 3 in the `checkpoint` file.
    #[error("checkpoint version {version}, not 3")]
    Version {
        /// The version read (long 0).
        version: i64,
    },
    /// The complete marker (long 4) is not 0.
    #[error("checkpoint is marked incomplete (the agent stopped while writing it)")]
    Incomplete,
    /// `checkpoint.meta` does not decode.
    #[error("checkpoint.meta is not a Checkpoint message: {decode}")]
    MetaUndecodable {
        /// prost's reason.
        decode: prost::DecodeError,
    },
    /// A version other than 3 in `checkpoint.meta`.
    #[error("checkpoint.meta version {version}, not 3")]
    MetaVersion {
        /// The version read.
        version: i32,
    },
    /// `checkpoint.meta` is of another checkpoint.
    #[error("checkpoint.meta's write-order id {meta} differs from checkpoint's {file}")]
    WriteOrder {
        /// The meta's write-order id.
        meta: i64,
        /// The `checkpoint` file's (long 1).
        file: i64,
    },
    /// A queue size or head below zero.
    #[error("checkpoint.meta has a negative queue size or head")]
    NegativeQueue,
    /// A queue that does not fit the ring.
    #[error(
        "checkpoint.meta's queue (size {size}, head {head}) does not fit the capacity {capacity}"
    )]
    QueueOutsideRing {
        /// Events queued.
        size: u64,
        /// The head's slot.
        head: u64,
        /// Slots in the ring.
        capacity: u64,
    },
}
