//! `config check` of Java components: runs the host's `--check` once for every configured
//! Java class (only when there is one) and answers, per class, whether it loads and is what
//! its place needs (a source, a sink, an interceptor's builder, ...), and where it was looked
//! for.

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
