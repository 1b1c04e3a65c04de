//! The write-ahead log: pure record and segment codecs, per-directory writers with group
//! commit, and the replay that rebuilds the channel's queue from the segments.
//!
//! Byte layouts are in `docs/format.md`; what survives which crash is in `docs/recovery.md`.

pub mod acked;
pub mod aligned;
pub mod assemble;
pub mod buffer_pool;
pub mod head;
pub mod policy;
pub mod readahead;
pub mod record;
pub mod replay;
pub mod seal;
pub mod segment;
pub mod table;
pub mod writer;

pub use policy::RecoveryPolicy;
pub use record::{EventPtr, RecordKind};
