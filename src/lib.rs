//! Sluice: a log-transport agent built around a durable, striped file channel.
//!
//! The **core** (`io`, `wal`, `checkpoint`, `channel`, `event`) lives in its own crate,
//! `sluice-core` (crates/sluice-core): synchronous, deterministic, free of tokio. This crate is
//! the **agent** (`agent`, async, tokio) and the wire codecs (`wire`); it reaches the channel
//! only through `sluice_core`'s API.
//!
//! See `DESIGN.md` for the module map and the invariants.

pub mod agent;
pub use sluice_wire as wire;
