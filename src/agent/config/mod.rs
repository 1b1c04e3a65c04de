//! Flume's configuration grammar, and nothing that names a component: a `.properties` file
//! (plus `-D` overrides) read into the listed components of one agent ([`read`]), every
//! problem reported by line and full key ([`problem`]), and [`ctx::Ctx`], the key reader a
//! component's own parser uses (typed getters in [`values`], ranges in [`limits`]).
//!
//! Stages: [`properties`] (text to entries with line numbers; several files merged by
//! [`files`], a later file's key replacing an earlier one's) -> [`subst`] (`${...}` in
//! every value, Flume 1.11's rules) and [`filters`] (`${filter['key']}`) -> [`raw`] (the
//! `<agent>.<section>.<component>.<property>` grammar) -> each component's parser, in the
//! component's own folder, found through `crate::agent::registry` -> the checked topology
//! (`crate::agent::topology`).
//!
//! Architecture Invariant: nothing here imports a component, the registry or the topology;
//! they import this.

pub mod ctx;
pub mod duration;
pub mod files;
pub mod filters;
pub mod joda;
pub mod limits;
pub mod problem;
pub mod properties;
pub mod raw;
pub mod read;
pub mod resolution;
pub mod secret;
pub mod subst;
pub mod values;

pub use ctx::Ctx;
pub use files::ConfFile;
pub use problem::{has_errors, Origin, Problem, Severity};
