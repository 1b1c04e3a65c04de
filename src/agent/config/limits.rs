//! The range of every numeric configuration key, in one place. `config check` and the agent
//! refuse a value outside its range, naming the line, the key and the range, so no setting can
//! overflow a duration, an `Instant` or a buffer later.

/// Longest duration any key may give, in seconds (one day): keeps `Instant + duration` far
/// from overflow and every wait short enough to be worth waiting out.
pub(crate) const DURATION_S_MAX: u64 = 86_400;
/// [`DURATION_S_MAX`] in milliseconds, for keys given in milliseconds.
pub(crate) const DURATION_MS_MAX: u64 = DURATION_S_MAX * 1000;
/// Largest `capacity` or `transactionCapacity` (Flume calls capacities above 500 million
/// unsupported; we allow a little more).
pub(crate) const CAPACITY_MAX: u64 = 1_000_000_000;
/// Largest memory channel `byteCapacity` (1 PiB).
pub(crate) const BYTE_CAPACITY_MAX: u64 = 1 << 50;
/// Largest line or body size a source accepts or a sink logs: one event must fit one record.
pub(crate) const LINE_BYTES_MAX: u64 = sluice_core::RECORD_BYTES_MAX as u64;
/// Largest per-source connection limit.
pub(crate) const CONNECTIONS_MAX: u64 = 65_536;
/// Largest batch size accepted anywhere (a limit on memory held by one transaction).
pub(crate) const BATCH_SIZE_MAX: u64 = 1_000_000;
/// Most worker threads a component may be configured to use.
pub(crate) const THREADS_MAX: u64 = 1024;
