//! `config check` of Java components: runs the host's `--check` once for every configured
//! Java class (only when there is one) and answers, per class, whether it loads and is what
//! its place needs (a source, a sink, an interceptor's builder, ...), and where it was looked
//! for; then [`configure`] runs each component's `configure()` with its keys in a JVM it then
//! stops, so a plugin that would throw at the agent's start (a missing dependency, a bad key)
//! fails the check (a systemd `ExecStartPre=sluice config check`).

use std::process::Stdio;
use std::time::Duration;

use super::frame::Role;
use super::jvm::{self, JavaError};
use super::shim;

/// Longest a check may take (JVM start and class loading).
pub(crate) const CHECK_TIMEOUT: Duration = Duration::from_secs(60);

/// One class that is not usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// The class.
    pub class: String,
    /// Why (the JVM's words).
    pub reason: String,
}

/// Checks `classes` in one JVM; answers the unusable ones and the description of where
/// classes were looked for.
pub async fn check(classes: &[(Role, String)]) -> Result<(Vec<Missing>, String), JavaError> {
    let root = shim::cache_root();
    let jar = tokio::task::spawn_blocking(move || shim::ensure_jar(&root))
        .await
        .map_err(|e| JavaError::Plugin(format!("building the shim: {e}")))??;
    let env = jvm::env();
    let mut cmd = jvm::java_command(&env, &jar);
    cmd.arg("--check");
    for (role, class) in classes {
        cmd.arg(format!("{}={class}", role.word()));
    }
    cmd.stdin(Stdio::null()).kill_on_drop(true);
    let out = tokio::time::timeout(CHECK_TIMEOUT, cmd.output())
        .await
        .map_err(|_| JavaError::Timeout("--check", CHECK_TIMEOUT))?
        .map_err(|e| JavaError::Tool {
            tool: "java",
            message: format!("cannot start {:?}: {e}", jvm::jdk_tool("java")),
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut missing = Vec::new();
    for (_, class) in classes {
        let line = text.lines().find(|l| {
            let mut w = l.split(' ');
            w.nth(2) == Some(class.as_str())
        });
        match line {
            Some(l) if l.starts_with("ok ") => {}
            Some(l) => missing.push(Missing {
                class: class.clone(),
                reason: l.splitn(4, ' ').nth(3).unwrap_or("").to_owned(),
            }),
            None => missing.push(Missing {
                class: class.clone(),
                reason: format!(
                    "the JVM gave no answer ({}): {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            }),
        }
    }
    Ok((missing, jvm::searched(&env, &jar)))
}

/// A Java component `config check` configures: what the agent would run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    /// Its place (source, sink, interceptor, ...).
    pub role: Role,
    /// Its class.
    pub class: String,
    /// Its name as the agent's log names it (`r1`, `interceptors.i1`).
    pub name: String,
    /// Its keys, as Flume's `Context` gets them.
    pub props: Vec<(String, String)>,
}

/// Runs each component's `configure()` in a JVM of its own that is then stopped (never
/// started): answers, per component that failed, its index in `components` and why (its
/// exception's class and message, and where the missing jar goes when a class is missing).
pub async fn configure(components: &[Component]) -> Vec<(usize, String)> {
    let mut failed = Vec::new();
    for (i, c) in components.iter().enumerate() {
        let spec = super::session::Spec {
            role: c.role,
            class: c.class.clone(),
            name: c.name.clone(),
            props: c.props.clone(),
        };
        let mut refuse = Refuse;
        let run = super::session::configure_only(&spec, &mut refuse);
        let why = match tokio::time::timeout(CHECK_TIMEOUT, run).await {
            Ok(Ok(())) => continue,
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("configure() did not return within {CHECK_TIMEOUT:?}"),
        };
        let hint = super::hint::jar_hint(&why, &c.class, &jvm::env());
        failed.push((
            i,
            match hint {
                Some(h) => format!("{why} ({h})"),
                None => why,
            },
        ));
    }
    failed
}

/// What a plugin being configured asks of the agent is refused (nothing runs yet).
struct Refuse;

impl super::session::Serve for Refuse {
    fn handle(
        &mut self,
        _msg: super::frame::FromJvm,
    ) -> crate::agent::future::BoxFuture<'_, Option<Vec<u8>>> {
        let m = "config check: nothing runs while a plugin is configured".to_owned();
        let answer = super::frame::encode_to_jvm(&super::frame::ToJvm::TxDone(
            super::frame::Status::Error,
            m,
        ));
        Box::pin(std::future::ready(Some(answer)))
    }

    fn counts(&mut self, _groups: Vec<super::frame::GroupCounts>) {}

    fn abandon(&mut self) -> crate::agent::future::BoxFuture<'_, ()> {
        Box::pin(std::future::ready(()))
    }
}

/// The key under which a Java selector's `configure()` gets the source's channels.
pub const SELECTOR_CHANNELS_KEY: &str = super::selector::CHANNELS_KEY;
/// The key under which a Java sink processor's `configure()` gets the group's sinks (the
/// host removes it before it builds the processor's Context).
pub const PROCESSOR_SINKS_KEY: &str = "sluice.sinks";
