//! The registry's one table of plugins whose `type` is a class name rather than one of
//! Sluice's types: each such source, sink, interceptor and selector is a user's Flume plugin
//! run in a JVM of its own (`agent::java`). This file is the one place a generic module names
//! that host; everything else sees the shapes it implements (`BuildSource`, `BuildSink` with
//! its own loop, `AsyncInterceptor`, `AsyncSelector`, a sink processor that runs its own loop)
//! and, for `/health` and `/ready`, the plugins that cannot start.

use std::collections::BTreeMap;

use crate::agent::component::Props;
use crate::agent::config::Ctx;
use crate::agent::future::BoxFuture;
use crate::agent::interceptor::AsyncInterceptor;
use crate::agent::java;
use crate::agent::processor::OwnLoopSpec;
use crate::agent::router::PluginHost;
use crate::agent::selector::{AsyncSelector, AsyncSelectorSpec};
use crate::agent::sink::runner::SinkUnit;
use crate::agent::stop::Stop;

/// The configuration of a source or sink whose `type` is a user's class: the class and every
/// key it was given.
pub type ClassConfig = java::config::JavaConfig;

/// A plugin that cannot start, or has not started yet: its component (`KIND.name`) and why.
pub(crate) use java::status::Down;

/// Reads the keys of a source or sink whose `type` is a user's class (every key is its own).
pub(crate) fn parse(cx: &mut Ctx<'_>) -> Option<ClassConfig> {
    java::config::parse(cx)
}

/// What starts the class-named interceptors and selectors a source's router is wired with.
pub const PLUGIN_HOST: &dyn PluginHost = &JavaHost;

/// Starts each plugin in a supervised JVM of its own.
#[derive(Debug)]
struct JavaHost;

impl PluginHost for JavaHost {
    fn interceptor(&self, name: &str, class: &str, props: &Props) -> Box<dyn AsyncInterceptor> {
        Box::new(java::interceptor::JavaInterceptor::start(
            name, class, props,
        ))
    }

    fn selector(&self, spec: &AsyncSelectorSpec) -> Box<dyn AsyncSelector> {
        Box::new(java::selector::JavaSelector::start(spec))
    }
}

/// The loop of sink group `name` whose processor runs its own loop over the group's `units`
/// (a user's `SinkProcessor`), until `stop`.
pub(crate) fn processor_loop(
    name: String,
    units: BTreeMap<String, SinkUnit>,
    spec: OwnLoopSpec,
    stop: Stop,
) -> BoxFuture<'static, ()> {
    Box::pin(crate::agent::sink::java_group::run(name, units, spec, stop))
}

/// Every plugin of the process whose last start failed (for `/health`).
pub(crate) fn failing() -> Vec<Down> {
    java::status::failing()
}

/// Every plugin of the process that has not started yet or cannot start (for `/ready`).
pub(crate) fn not_started() -> Vec<Down> {
    java::status::not_started()
}
