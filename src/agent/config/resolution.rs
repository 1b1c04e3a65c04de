//! What reading resolves for one agent: its keys with their values resolved and the problems
//! found doing it. A leaf that `read.rs` fills and `filters/` adds to, so neither imports the
//! other.

use std::collections::BTreeSet;

use super::files::Override;
use super::problem::{Origin, Problem};

/// One agent's keys with their values resolved.
#[derive(Debug, Default)]
pub struct Resolution {
    /// `(key, resolved value, origin)` of the file's and the overrides' keys of the agent,
    /// in file order (duplicates kept; a key that could not be resolved keeps its text).
    pub entries: Vec<(String, String, Origin)>,
    /// Problems: unresolvable values, dropped backslashes, comment hints, filter errors.
    pub problems: Vec<Problem>,
    /// Keys whose value could not be resolved (their other errors are noise).
    pub failed: BTreeSet<String>,
    /// Keys whose value came (in part) from a config filter: secrets, masked when printed.
    pub filtered: BTreeSet<String>,
    /// Keys a later file set again (the earlier files' entries are not in `entries`).
    pub overridden: Vec<Override>,
}
