//! The `kubernetes` source: the node agent's input. It reads every container's log under
//! kubelet's `podLogsDir` (`<namespace>_<pod>_<uid>/<container>/<restart>.log`, with the files
//! kubelet rotated, and the ones it gzipped before they were read), in either runtime format
//! (CRI, docker json-file), partial lines joined, each message an event whose body is the
//! message alone, with the runtime's time in `timestamp` and the path's metadata under
//! OpenTelemetry's names. See docs/kubernetes.md.
//!
//! It is TAILDIR's machinery with a layout (`taildir/layout.rs`), not a copy of it: the same
//! tailer, positions after commit, rotation by rename, spool, `catchUpBytes`, loss counted to
//! the line and event ids from byte ranges; this folder adds only what a node's tree needs.
//!
//! Pieces: [`config`] (keys), [`path`] (the path's metadata, globs), [`format`] (the two
//! formats and partial lines), [`node`] (the layout: discovery, events), [`gunzip`] (a rotated
//! file's content found again in its `.gz`), [`api`] (the pods' metadata from the API
//! server: list and watch of the node's pods).

#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "the kubernetes source reads the node's log tree on the real disk, as TAILDIR does (DESIGN.md, the agent's std::fs rule)"
)]

pub(crate) mod api;
pub(crate) mod config;
pub(crate) mod format;
pub(crate) mod gunzip;
pub(crate) mod join;
pub(crate) mod node;
pub(crate) mod path;
mod rfc3339;

pub use config::KubernetesConfig;

impl crate::agent::source::BuildSource for KubernetesConfig {
    fn batch_size(&self) -> usize {
        self.tail.batch_size
    }

    fn reports_loss(&self) -> bool {
        true
    }

    fn run(&self, ctx: crate::agent::source::SourceCtx) -> crate::agent::source::SourceTask {
        let watch = self
            .api
            .as_ref()
            .map(|(cfg, store)| (cfg.clone(), store.0.clone()));
        let tail = self.tail.clone();
        Box::pin(async move {
            // The watch runs while the source does (aborted when it ends).
            let _watch = watch.map(|(cfg, store)| api::WatchTask::spawn(cfg, store));
            crate::agent::source::taildir::run(tail, ctx).await
        })
    }
}
