//! Issue 47, item 13: a Java plugin that writes the start of a frame to the agent's protocol
//! pipe and never finishes it no longer hangs its component: the frame deadline ends the
//! session with an error naming the plugin, the bytes received and the length announced,
//! the supervisor logs it and starts the plugin again, and a native pipeline beside it flows.

use crate::support::agent_proc;
use crate::support::java_support;

use std::process::Command;

use agent_proc::Proc;
use java_support::*;

fn send(port: u16, line: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["send", "-H", "127.0.0.1", "-p", &port.to_string(), line])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "send: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_plugin_that_leaves_a_partial_frame_is_restarted_with_the_reason_logged() {
    let tmp = tempfile::tempdir().unwrap();
    let src = java_files(&test_plugins().join("sluicetest"));
    plugin(&tmp.path().join("plugins.d"), "partial", &src, &[], &[]);
    let port = free_port();
    let conf = format!(
        "a1.sources = rp rn\na1.channels = c1 c2\na1.sinks = k1 k2\n\
         a1.sources.rp.type = sluicetest.PartialFrameSource\na1.sources.rp.channels = c1\n\
         a1.sources.rn.type = netcat\na1.sources.rn.bind = 127.0.0.1\n\
         a1.sources.rn.port = {port}\na1.sources.rn.channels = c2\n\
         a1.channels.c1.type = memory\na1.channels.c2.type = memory\n\
         a1.sinks.k1.type = logger\na1.sinks.k1.channel = c1\n\
         a1.sinks.k2.type = logger\na1.sinks.k2.channel = c2\n"
    );
    let mut env = agent_env();
    env.push(("JAVA_OPTS".into(), "-Xmx32m -XX:+UseSerialGC".into()));
    let mut a = Proc::spawn_env(tmp.path(), "a1", &conf, Vec::new(), env, Some(port));
    send(port, "native-before");
    // The frame deadline (10 s) after the plugin's first poll, then a restart 1 s later.
    a.wait_until(
        "the partial frame reported and the plugin started again",
        || {
            let t = a.log_text();
            t.lines().any(|l| {
                l.contains("restarting")
                    && l.contains("sluicetest.PartialFrameSource")
                    && l.contains("partial frame")
                    && l.contains("of 1048576 bytes")
            }) && t.matches("starting Java plugin").count() >= 2
        },
    );
    send(port, "native-after");
    a.wait_until("the native pipeline delivered beside it", || {
        a.log_text().contains("native-after")
    });
    assert!(a.log_text().contains("native-before"));
    assert_eq!(a.terminate(), Some(0));
}
