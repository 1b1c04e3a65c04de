//! Users' own Flume plugins (sources, sinks, interceptors, serializers, selectors, sink
//! processors) run by Sluice: a `type` that is a Java class name rather than one of Sluice's
//! types is run in a JVM of its own, a child process that runs Sluice's host program over the
//! Flume-API shim (`java/` in the repository), and talks to the agent in [`frame`]s over its
//! stdin and stdout. docs/java-plugins.md has the user's view, DESIGN.md the invariants.
//!
//! - [`frame`]: the pure codec of the frames (the messages in `messages.rs`); [`sources`]: the
//!   embedded Java sources; [`shim`]: building the shim jar into a cache; [`jvm`]: finding
//!   `java`, the classpath (`plugins.d`, `-C`, `FLUME_CLASSPATH`), `JAVA_OPTS`;
//! - [`session`]: one JVM run (configure, start, serve, stop or kill); [`supervise`]: restarts
//!   with backoff; [`call`]: calls into a plugin the agent drives ([`interceptor`],
//!   [`serializer`], [`selector`]); [`counts`]: the plugin's Flume counters in `/metrics`;
//!   [`check`]: `config check`'s class look-up and configure run; [`status`]: whether each
//!   plugin runs (for `/health`, `/ready` and its callers); [`hint`]: where a missing jar goes.
//!
//! This folder is plumbing below the components: the components built on it live with their
//! kind (`source/java.rs`, `sink/java.rs`, and `sink/java_group.rs`, a sink processor that
//! drives the agent's sinks), so nothing here imports a source, a sink or the router.

pub(crate) mod call;
pub mod check;
pub use call::CallError;
pub(crate) mod config;
pub(crate) mod counts;
pub(crate) mod hint;
pub use sluice_wire::java::frame;
pub(crate) mod interceptor;
pub mod jvm;
pub(crate) mod selector;
pub mod serializer;
pub(crate) mod session;
pub mod shim;
pub(crate) mod sources;
pub(crate) mod status;
pub(crate) mod supervise;

#[cfg(test)]
mod tests {
    use crate::agent::component::is_class_name;

    #[test]
    fn class_names_are_dotted_java_identifiers() {
        assert!(is_class_name("com.atguigu.source.SQLSource"));
        assert!(is_class_name("a.B$Inner"));
        assert!(!is_class_name("netcat"));
        assert!(!is_class_name("com..x"));
        assert!(!is_class_name("1com.x"));
        assert!(!is_class_name("com.x y"));
    }
}
