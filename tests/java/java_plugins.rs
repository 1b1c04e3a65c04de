//! Users' Flume plugins on a real JVM (issue 27): the tutorial's `MySource` and `MySink`
//! compiled against Sluice's shim into a `plugins.d` layout and run with the tutorial's own
//! configurations (ports localized only); plugins that exit or run out of memory beside a
//! native pipeline; a Java sink's transactions and counters; `config check` of a class that
//! is not there. The SQL source is in java_plugins_sql.rs, kill -9 in java_plugins_kill.rs.

use crate::support::agent_proc;
use crate::support::java_support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use agent_proc::{counter, HttpAgent, Proc};
use java_support::*;

fn send(port: u16, lines: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["send", "-H", "127.0.0.1", "-p", &port.to_string()])
        .args(lines)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "send: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn tutorial_plugin(plugins_d: &Path, name: &str, dir: &str) {
    let src = java_files(&reference().join("flume-plugins").join(dir));
    plugin(plugins_d, name, &src, &[], &[]);
}

#[test]
fn the_tutorials_mysource_runs_from_plugins_d_with_its_own_configuration() {
    let tmp = tempfile::tempdir().unwrap();
    tutorial_plugin(&tmp.path().join("plugins.d"), "mysource", "mysource");
    let conf = tutorial_config("16-mysource.properties", &[]);
    let mut a = Proc::spawn_env(tmp.path(), "a1", &conf, Vec::new(), agent_env(), None);
    // MySource puts "mySource-0" .. "mySource-4" a second apart; the logger sink prints them.
    a.wait_until("MySource's second event logged", || {
        a.log_text().contains("mySource-1")
    });
    assert!(a.log_text().contains("mySource-0"));
    assert_eq!(a.terminate(), Some(0), "{}", a.log_text());
}

#[test]
fn the_tutorials_mysink_logs_each_line_and_the_agent_stops_in_10_s_though_it_never_returns() {
    let tmp = tempfile::tempdir().unwrap();
    tutorial_plugin(&tmp.path().join("plugins.d"), "mysink", "mysink");
    let port = free_port();
    let conf = tutorial_config(
        "17-mysink.properties",
        &[
            ("bind = localhost", "bind = 127.0.0.1"),
            ("44444", &port.to_string()),
        ],
    );
    let mut a = Proc::spawn_env(tmp.path(), "a1", &conf, Vec::new(), agent_env(), Some(port));
    send(port, &["hello", "world"]);
    a.wait_until("MySink logged both lines", || {
        let t = a.log_text();
        t.contains("mysinkprefix:hello:myskinsuffix")
            && t.contains("mysinkprefix:world:myskinsuffix")
    });
    // MySink now spins in process() on an empty channel and never returns (as in Flume).
    std::thread::sleep(Duration::from_millis(500));
    let began = Instant::now();
    let code = a.terminate();
    let took = began.elapsed();
    assert_eq!(code, Some(0), "{}", a.log_text());
    assert!(took < Duration::from_secs(10), "stop took {took:?}");
}

#[test]
fn plugins_that_exit_or_run_out_of_memory_are_restarted_while_a_native_pipeline_flows() {
    let tmp = tempfile::tempdir().unwrap();
    let src = java_files(&test_plugins().join("sluicetest"));
    plugin(&tmp.path().join("plugins.d"), "faulty", &src, &[], &[]);
    let port = free_port();
    let conf = format!(
        "a1.sources = rx ro rn\na1.channels = c1 c2\na1.sinks = k1 k2\n\
         a1.sources.rx.type = sluicetest.ExitSource\na1.sources.rx.exitAfter = 2\n\
         a1.sources.rx.channels = c1\n\
         a1.sources.ro.type = sluicetest.OomSource\na1.sources.ro.channels = c1\n\
         a1.sources.rn.type = netcat\na1.sources.rn.bind = 127.0.0.1\n\
         a1.sources.rn.port = {port}\na1.sources.rn.channels = c2\n\
         a1.channels.c1.type = memory\na1.channels.c2.type = memory\n\
         a1.sinks.k1.type = logger\na1.sinks.k1.channel = c1\n\
         a1.sinks.k2.type = logger\na1.sinks.k2.channel = c2\n"
    );
    let mut env = agent_env();
    env.push(("JAVA_OPTS".into(), "-Xmx32m -XX:+UseSerialGC".into()));
    let mut a = Proc::spawn_env(tmp.path(), "a1", &conf, Vec::new(), env, Some(port));
    send(port, &["native-before"]);
    a.wait_until("both plugins failed and ran again", || {
        let t = a.log_text();
        t.matches("exit-0").count() >= 2 && t.matches(" oom }").count() >= 2
    });
    let t = a.log_text();
    assert!(
        t.lines().any(|l| l.contains("restarting")
            && l.contains("sluicetest.ExitSource")
            && l.contains("status 1")),
        "{t}"
    );
    assert!(
        t.lines().any(|l| l.contains("restarting")
            && l.contains("sluicetest.OomSource")
            && l.contains("OutOfMemoryError")),
        "{t}"
    );
    send(port, &["native-after"]);
    a.wait_until("the native pipeline delivered after the failures", || {
        a.log_text().contains("native-after")
    });
    assert!(a.log_text().contains("native-before"));
    assert_eq!(a.terminate(), Some(0));
}

#[test]
fn a_java_sink_drains_every_event_in_its_transactions_and_its_counters_reach_metrics() {
    let tmp = tempfile::tempdir().unwrap();
    let src = java_files(&test_plugins().join("sluicetest"));
    plugin(&tmp.path().join("plugins.d"), "test", &src, &[], &[]);
    let conf = "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = seq\na1.sources.r1.totalEvents = 5000\na1.sources.r1.batchSize = 50\n\
         a1.sources.r1.channels = c1\n\
         a1.channels.c1.type = memory\na1.channels.c1.capacity = 1000\n\
         a1.channels.c1.transactionCapacity = 100\n\
         a1.sinks.k1.type = sluicetest.DiscardSink\na1.sinks.k1.batchSize = 70\n\
         a1.sinks.k1.channel = c1\n";
    let http = free_port();
    let mut a = HttpAgent::spawn_env(tmp.path(), "a1", conf, Vec::new(), agent_env(), http, None);
    a.wait_until("the plugin counted 5000 events drained", || {
        counter(http, "SINK.k1", "EventDrainSuccessCount") == 5000
    });
    a.wait_until("the channel is empty", || {
        counter(http, "CHANNEL.c1", "EventTakeSuccessCount") == 5000
    });
    assert_eq!(counter(http, "CHANNEL.c1", "ChannelSize"), 0);
    assert_eq!(a.terminate(), Some(0));
}

#[test]
fn config_check_names_a_class_it_cannot_load_and_where_it_looked() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("plugins.d/empty/lib")).unwrap();
    let conf = tmp.path().join("a1.properties");
    std::fs::write(
        &conf,
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = com.example.NoSuchSource\na1.sources.r1.channels = c1\n\
         a1.channels.c1.type = memory\n\
         a1.sinks.k1.type = logger\na1.sinks.k1.channel = c1\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["config", "check", "-n", "a1", "-f"])
        .arg(&conf)
        .env("SLUICE_JAVA_CACHE", cache())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(
            "a1.sources.r1.type: error: Java class com.example.NoSuchSource cannot be used"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(&tmp.path().join("plugins.d").display().to_string()),
        "{stdout}"
    );
}

#[test]
fn an_agent_whose_java_class_is_in_flumes_lib_does_not_start_and_says_where_the_jar_belongs() {
    // The tutorial's jar built into `plugins.d/mysource/lib/`, then moved to Flume's `lib/`,
    // where a new user puts it: the agent must refuse to start, not log `agent started` and
    // restart its JVM forever.
    let tmp = tempfile::tempdir().unwrap();
    let built = tmp.path().join("build");
    tutorial_plugin(&built, "mysource", "mysource");
    let lib = tmp.path().join("lib");
    std::fs::create_dir_all(&lib).unwrap();
    std::fs::rename(
        built.join("mysource/lib/mysource.jar"),
        lib.join("mysource.jar"),
    )
    .unwrap();
    std::fs::create_dir_all(tmp.path().join("plugins.d")).unwrap();
    let conf = tmp.path().join("a1.properties");
    std::fs::write(&conf, tutorial_config("16-mysource.properties", &[])).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["agent", "-n", "a1", "-f"])
        .arg(&conf)
        .envs(agent_env())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Bounded: a JVM start and a class look-up, then the exit.
    let end = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > end {
            let _ = child.kill();
            panic!("the agent is still running with a class it cannot load");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(status.code(), Some(1), "{text}");
    assert!(!text.contains("agent started"), "{text}");
    assert!(
        text.contains("Java class") && text.contains("cannot be used"),
        "{text}"
    );
    assert!(text.contains("plugins.d/NAME/lib/"), "{text}");
    assert!(
        text.contains(&tmp.path().join("plugins.d").display().to_string()),
        "{text}"
    );
}
