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

pub(crate) mod ctx;
pub(crate) mod duration;
pub mod files;
pub(crate) mod filters;
pub(crate) mod joda;
pub(crate) mod limits;
pub(crate) mod problem;
pub mod properties;
pub(crate) mod raw;
pub mod read;
pub(crate) mod resolution;
pub mod secret;
pub(crate) mod subst;
pub(crate) mod values;

pub(crate) use ctx::Ctx;
pub use files::ConfFile;
pub use problem::{has_errors, Origin, Problem, Severity};
