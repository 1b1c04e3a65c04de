//! The stated maximum of every length and count read from Flume's files. Each is checked,
//! together with the file's own size, before anything is allocated for it, so a damaged or
//! planted file (a record claiming 1 GiB in a sparse log, a sparse 1 GiB checkpoint) costs a
//! typed error naming the file and the offset, never memory.

/// The most bytes of a log record's payload read: a Flume event past it could not be put
/// into a Sluice channel anyway (its records hold at most `wal` `RECORD_BYTES_MAX`).
pub const RECORD_PAYLOAD_BYTES_MAX: u64 = sluice_core::RECORD_BYTES_MAX as u64;

/// The most bytes of a `log-N.meta` or a `checkpoint.meta` (Flume writes a few dozen, and a
/// few more per active log).
pub const META_BYTES_MAX: u64 = 1 << 20;

/// The largest checkpoint capacity (slots) read: Flume's capacity is a Java `int`.
pub const CHECKPOINT_CAPACITY_MAX: u64 = i32::MAX as u64;

/// The most events a checkpoint's queue may claim: Sluice's own capacity limit (the core's
/// `CAPACITY_MAX`; asserted equal below at compile time). A queue also may not claim more
/// events than its logs could hold ([`PUT_RECORD_BYTES_MIN`] bytes each).
pub const QUEUE_EVENTS_MAX: u64 = 1_000_000_000;
const _: () = assert!(QUEUE_EVENTS_MAX == sluice_core::CAPACITY_MAX);

/// The fewest bytes a put record takes in a log: the op byte, the length, and the smallest
/// header and put Flume encodes. What bounds a queue by the logs' size.
pub const PUT_RECORD_BYTES_MIN: u64 = 8;

/// The most bytes of an `inflightputs` or `inflighttakes` file: 2 M pointers in flight (Flume
/// holds a transaction's events in memory; its default transaction is 10,000 events).
pub const INFLIGHT_BYTES_MAX: u64 = 16 << 20;
