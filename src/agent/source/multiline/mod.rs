//! Multiline events for the file sources (`TAILDIR`, `spooldir`): lines that belong together
//! (a Java stack trace, a Python traceback) become one event, with the keys and meaning of
//! Beats' `multiline.*` (`pattern`, `negate`, `match = after|before`, `timeout`, `maxLines`,
//! `maxBytes`), and a source-wide budget of held bytes, `maxHeldBytes` ([`held`]).
//!
//! Pieces: [`config`] (the keys, read with line-numbered errors) and [`joiner`] (a pure state
//! machine fed lines with their file offsets; it hands out whole events with the offset after
//! their last line, and tells the caller the offset before which everything was handed out,
//! the only position a source may make durable).

pub(crate) mod config;
pub(crate) mod held;
pub(crate) mod joiner;

pub(crate) use config::MultilineConfig;
pub(crate) use joiner::{Joiner, Rules};
