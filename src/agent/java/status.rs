//! Whether each Java plugin of the process runs: a [`Board`] of every supervised JVM's
//! [`State`], read by `/health` and `/ready` (a plugin that cannot start makes the agent
//! unhealthy and not ready, naming it and its exception) and by the callers of interceptors,
//! serializers and selectors (a call to a plugin that cannot start fails at once instead of
//! waiting for a JVM that will fail again). The supervisor ([`super::supervise`]) holds each
//! plugin's [`Entry`]; dropping it (the plugin stopped, a reload removed it) takes the plugin
//! off the board.
//!
//! The board is process-wide, as the JVMs are: one agent runs per process.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

use parking_lot::Mutex;

use super::frame::Role;

/// Where a plugin's JVM is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// Its first JVM is starting (calls wait for it).
    Starting,
    /// It configured and started.
    Running,
    /// It ran, then its JVM ended; a new one is starting (calls wait for it).
    Restarting,
    /// Its last start failed (configure or start threw, a class was missing, the JVM ended
    /// before it started): why. Calls fail at once until a start succeeds.
    Failing(String),
}

/// One plugin's state, shared by its supervisor and its callers.
#[derive(Debug)]
pub(crate) struct Status {
    /// `KIND.name` as `/health` names it (`INTERCEPTOR.i1`, `SOURCE.r1`).
    key: String,
    /// The plugin's class.
    class: String,
    state: Mutex<State>,
}

impl Status {
    /// Its current state.
    pub(crate) fn state(&self) -> State {
        self.state.lock().clone()
    }

    /// Why its last start failed, while it is [`State::Failing`].
    pub(crate) fn failing(&self) -> Option<String> {
        match &*self.state.lock() {
            State::Failing(why) => Some(why.clone()),
            _ => None,
        }
    }

    /// Sets its state.
    pub(crate) fn set(&self, state: State) {
        *self.state.lock() = state;
    }

    /// `KIND.name`.
    #[cfg(test)]
    pub(crate) fn key(&self) -> &str {
        &self.key
    }
}

/// Every plugin of the process, by registration number.
type Board = Mutex<BTreeMap<u64, Arc<Status>>>;

static BOARD: LazyLock<Board> = LazyLock::new(Board::default);
static NEXT: AtomicU64 = AtomicU64::new(0);

/// A plugin's place on the board; dropping it takes the plugin off.
#[derive(Debug)]
pub(crate) struct Entry {
    id: u64,
    status: Arc<Status>,
}

impl Entry {
    /// The shared state.
    pub(crate) fn status(&self) -> &Arc<Status> {
        &self.status
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        BOARD.lock().remove(&self.id);
    }
}

/// The word `/health` uses for a plugin of `role`.
fn kind(role: Role) -> &'static str {
    match role {
        Role::Source => "SOURCE",
        Role::Sink => "SINK",
        Role::Interceptor => "INTERCEPTOR",
        Role::Serializer => "SERIALIZER",
        Role::Selector => "SELECTOR",
        Role::Processor => "SINKGROUP",
    }
}

/// Puts a plugin (`role`, its component `name` as the supervisor names it, its `class`) on
/// the board, [`State::Starting`].
pub(crate) fn register(role: Role, name: &str, class: &str) -> Entry {
    let name = name.strip_prefix("interceptors.").unwrap_or(name);
    let status = Arc::new(Status {
        key: format!("{}.{name}", kind(role)),
        class: class.to_owned(),
        state: Mutex::new(State::Starting),
    });
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    BOARD.lock().insert(id, status.clone());
    Entry { id, status }
}

/// One plugin that cannot start: `KIND.name` and why (its class and exception).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Down {
    /// `KIND.name`.
    pub component: String,
    /// Why, for a person.
    pub reason: String,
}

/// Every plugin whose last start failed, in `KIND.name` order.
pub(crate) fn failing() -> Vec<Down> {
    listed(false)
}

/// Every plugin whose last start failed or whose first JVM is still starting, in
/// `KIND.name` order (what keeps `/ready` at 503).
pub(crate) fn not_started() -> Vec<Down> {
    listed(true)
}

/// The failing plugins, and the starting ones when `starting`.
fn listed(starting: bool) -> Vec<Down> {
    let mut v: Vec<Down> = BOARD
        .lock()
        .values()
        .filter_map(|s| {
            let reason = match s.state() {
                State::Failing(why) => format!("Java plugin {} cannot start: {why}", s.class),
                State::Starting if starting => format!("Java plugin {} is starting", s.class),
                _ => return None,
            };
            Some(Down {
                component: s.key.clone(),
                reason,
            })
        })
        .collect();
    v.sort_by(|a, b| a.component.cmp(&b.component));
    v
}

/// The class a `NoClassDefFoundError` or `ClassNotFoundException` in `error` names (dotted),
/// when it names one.
pub(crate) fn missing_class(error: &str) -> Option<String> {
    for word in [
        "java.lang.NoClassDefFoundError: ",
        "java.lang.ClassNotFoundException: ",
    ] {
        if let Some(at) = error.find(word) {
            let rest = &error[at + word.len()..];
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || matches!(c, '.' | '/' | '$' | '_')))
                .unwrap_or(rest.len());
            let class = rest[..end].replace('/', ".");
            if !class.is_empty() {
                return Some(class);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_plugin_is_listed_until_its_entry_is_dropped() {
        let e = register(
            Role::Interceptor,
            "interceptors.zz-status-test",
            "a.B$Builder",
        );
        assert_eq!(e.status().key(), "INTERCEPTOR.zz-status-test");
        let mine = |v: Vec<Down>| {
            v.into_iter()
                .any(|d| d.component == "INTERCEPTOR.zz-status-test")
        };
        assert!(!mine(failing()), "a starting plugin is not failing");
        assert!(mine(not_started()), "a starting plugin has not started");
        e.status().set(State::Failing("configure failed: x".into()));
        let down = failing();
        let d = down
            .iter()
            .find(|d| d.component == "INTERCEPTOR.zz-status-test")
            .unwrap();
        assert!(d.reason.contains("a.B$Builder") && d.reason.contains("configure failed: x"));
        e.status().set(State::Running);
        assert!(!mine(failing()) && !mine(not_started()));
        e.status().set(State::Failing("again".into()));
        drop(e);
        assert!(!mine(failing()), "a dropped entry leaves the board");
    }

    #[test]
    fn the_missing_class_is_read_from_either_exception() {
        let e = "configure failed: java.lang.NoClassDefFoundError: com/google/common/base/Strings (caused by java.lang.ClassNotFoundException: com.google.common.base.Strings)";
        assert_eq!(
            missing_class(e).as_deref(),
            Some("com.google.common.base.Strings")
        );
        let e = "java.lang.ClassNotFoundException: a.B$C; the JVM ended with status 0";
        assert_eq!(missing_class(e).as_deref(), Some("a.B$C"));
        assert_eq!(missing_class("java.lang.IllegalStateException: boom"), None);
    }
}
