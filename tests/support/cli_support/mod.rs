//! Helpers for tests that run the real `sluice` binary the way a newcomer does: an agent in a
//! directory of its own, its stderr in a file, waits bounded by [`WAIT`].
#![allow(dead_code)]

use crate::support::agent_proc::{AgentBuilder, Proc};
use crate::support::ports;
pub use ports::free_port;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// The longest any wait in these tests lasts.
pub const WAIT: Duration = Duration::from_secs(30);

/// `sluice ARGS` run to completion in `dir`, without `RUST_LOG`.
pub fn sluice(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
        .current_dir(dir)
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Exit code, stdout and stderr.
pub fn outcome(o: &Output) -> (i32, String, String) {
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A netcat → CHANNEL → SINK agent config on `port` (channel and sink lines given).
pub fn netcat_conf(port: u16, channel: &str, sink: &str) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\n\
         a1.sources.r1.port = {port}\na1.sources.r1.channels = c1\n\
         {channel}{sink}a1.sinks.k1.channel = c1\n"
    )
}

/// A memory channel and a logger sink, for [`netcat_conf`].
pub const MEMORY_LOGGER: (&str, &str) = (
    "a1.channels.c1.type = memory\n",
    "a1.sinks.k1.type = logger\n",
);

/// Starts `sluice agent -n a1 -f CONF EXTRA...` in `dir` without `RUST_LOG`, stderr to
/// `dir/<log_name>`; not waited for.
pub fn start_agent(dir: &Path, conf: &str, extra: &[&str], log_name: &str) -> Proc {
    agent_in(dir, log_name).conf_file(conf).args(extra).spawn()
}

/// `sluice agent -n a1 ARGS` in `dir`, stderr to `log`.
pub fn agent(dir: &Path, args: &[&str], log: &str) -> Proc {
    agent_in(dir, log).args(args).spawn()
}

/// An agent run the way a newcomer does: in `dir`, without `RUST_LOG`, stderr to `dir/<log>`.
fn agent_in(dir: &Path, log: &str) -> AgentBuilder {
    Proc::builder(dir)
        .cwd(dir)
        .log(log)
        .no_rust_log()
        .wait(WAIT)
}

/// Waits until some file in `dir` holds the line `line`; panics if the agent exits or after
/// [`WAIT`].
pub fn wait_line_in(agent: &mut Proc, dir: &Path, line: &str) {
    agent.wait_running(&format!("{line:?} in {}", dir.display()), |_| {
        holds_line(dir, line)
    });
}

/// Whether some file in `dir` holds the line `line`.
fn holds_line(dir: &Path, line: &str) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| {
            std::fs::read_to_string(e.path())
                .unwrap_or_default()
                .lines()
                .any(|l| l == line)
        })
}

/// `sluice send -p PORT LINE` from `dir`, which must succeed.
pub fn send_line(dir: &Path, port: u16, line: &str) {
    let (code, out, err) = outcome(&sluice(dir, &["send", "-p", &port.to_string(), line]));
    assert_eq!(code, 0, "{out}{err}");
}
