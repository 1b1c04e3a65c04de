//! What a Flume user meets in the first minutes, on the real binary: Flume's `-C`/`--classpath`
//! is accepted with a warning, `sluice send` reports a silent source in words, and the
//! `--help` examples print one command per line, and `--version` says which build it is.

use crate::support::agent_proc::Proc;
use crate::support::cli_support;

use cli_support::*;

fn memory_logger_conf(dir: &std::path::Path) -> String {
    let (ch, sink) = MEMORY_LOGGER;
    std::fs::write(
        dir.join("a1.properties"),
        netcat_conf(free_port(), ch, sink),
    )
    .unwrap();
    "a1.properties".into()
}

#[test]
fn flume_classpath_option_is_accepted_by_agent_and_noted() {
    let tmp = tempfile::tempdir().unwrap();
    let c = memory_logger_conf(tmp.path());
    let mut a = start_agent(tmp.path(), &c, &["-c", "conf", "-C", "conf/"], "agent.log");
    let log = a.log.clone();
    let text = a.wait_file(&log, "agent started");
    assert!(
        text.contains("-C conf/: added to the classpath of Java plugins"),
        "{text}"
    );
    assert_eq!(a.terminate(), Some(0));
}

#[test]
fn flume_classpath_option_is_accepted_by_config_check_in_both_spellings() {
    let tmp = tempfile::tempdir().unwrap();
    let c = memory_logger_conf(tmp.path());
    for flag in ["-C", "--classpath"] {
        let (code, out, err) = outcome(&sluice(
            tmp.path(),
            &["config", "check", "-n", "a1", flag, "lib/*:conf", "-f", &c],
        ));
        assert_eq!(code, 0, "{flag}: {out}{err}");
        assert!(out.contains(": OK"), "{out}");
        assert!(
            err.starts_with("note: -C lib/*:conf: added to the classpath of Java plugins"),
            "{err}"
        );
    }
}

#[test]
fn send_to_a_source_that_never_answers_says_so_in_words() {
    let tmp = tempfile::tempdir().unwrap();
    // Accepts connections (the kernel's backlog) and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port().to_string();
    let (code, _, err) = outcome(&sluice(
        tmp.path(),
        &[
            "send",
            "-H",
            "127.0.0.1",
            "-p",
            &port,
            "--timeout",
            "1",
            "hello",
        ],
    ));
    assert_eq!(code, 3, "{err}");
    assert_eq!(
        err,
        "sluice: error: no reply to line 1 within 1 s (is the agent overloaded, or is this not a \
         netcat source? --timeout sets the wait)\n"
    );
}

#[test]
fn help_examples_print_one_command_per_line() {
    let tmp = tempfile::tempdir().unwrap();
    for (cmd, line) in [
        (
            "send",
            "  printf 'a\\nb\\n' | sluice send -H 127.0.0.1 -p 44444",
        ),
        (
            "avro-client",
            "  printf 'a\\nb\\n' | sluice avro-client -H localhost -p 41414 --header host=web1",
        ),
    ] {
        let (code, out, _) = outcome(&sluice(tmp.path(), &[cmd, "--help"]));
        assert_eq!(code, 0);
        assert!(out.lines().any(|l| l == line), "{cmd}:\n{out}");
        assert!(!out.lines().any(|l| l.starts_with("b")), "{cmd}:\n{out}");
    }
}

/// `examples/NAME` copied into `dir`.
fn example(dir: &std::path::Path, name: &str) -> String {
    let from = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name);
    std::fs::copy(from, dir.join(name)).unwrap();
    name.to_owned()
}

#[test]
fn the_hdfs_alternatives_examples_check_clean() {
    let tmp = tempfile::tempdir().unwrap();
    for name in ["hdfs-nfs-gateway.properties", "hdfs-staged.properties"] {
        let conf = example(tmp.path(), name);
        let (code, out, err) = outcome(&sluice(
            tmp.path(),
            &["config", "check", "-n", "a2", "-f", &conf],
        ));
        assert_eq!(code, 0, "{name}: {out}{err}");
        assert!(!out.contains("warning"), "{name}: {out}");
    }
}

#[test]
fn the_staged_hdfs_example_leaves_closed_files_where_the_uploader_looks() {
    let tmp = tempfile::tempdir().unwrap();
    let conf = example(tmp.path(), "hdfs-staged.properties");
    let mut agent = Proc::builder(tmp.path())
        .name("a2")
        .cwd(tmp.path())
        .conf_file(&conf)
        .log("agent.log")
        .arg("-Da2.sources.r2.command=printf 'one\\ntwo\\n'")
        .arg("-Da2.sinks.k2.hdfs.rollInterval=1")
        .no_rust_log()
        .wait(WAIT)
        .spawn();
    agent.wait_log("Renaming ");
    assert_eq!(agent.terminate(), Some(0));
    // What `hdfs-upload.sh` would copy: every file not named `_*` or `*.tmp`.
    let mut closed = Vec::new();
    let mut in_use = Vec::new();
    let mut stack = vec![tmp.path().join("data/hdfs-staging")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                stack.push(p);
            } else if name.starts_with('_') || name.ends_with(".tmp") {
                in_use.push(name);
            } else {
                assert!(name.starts_with("logs-."), "{name}");
                closed.push(std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    assert!(in_use.is_empty(), "{in_use:?}");
    assert_eq!(closed.concat(), "one\ntwo\n");
}

#[test]
fn version_names_the_commit_the_build_date_the_target_and_librdkafka() {
    let tmp = tempfile::tempdir().unwrap();
    // The commit this test binary was built from, as git says (CI builds from a clone).
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    let (code, out, _) = outcome(&sluice(tmp.path(), &["--version"]));
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        concat!("sluice ", env!("CARGO_PKG_VERSION")),
        "{out}"
    );
    let field = |k: &str| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(k))
            .unwrap_or_else(|| panic!("no {k} in {out}"))
            .to_owned()
    };
    let commit = field("commit: ");
    if std::env::var_os("SLUICE_COMMIT").is_none() {
        if let Some(head) = &head {
            assert_eq!(&commit, head, "{out}");
        }
    }
    let built = field("built: ");
    assert!(
        built.len() == 10 && built.as_bytes()[4] == b'-' && built.starts_with("20"),
        "{out}"
    );
    assert!(field("target: ").contains("linux"), "{out}");
    let rdkafka = field("librdkafka: ");
    assert!(
        rdkafka.split('.').count() >= 3 && rdkafka.starts_with(char::is_numeric),
        "{out}"
    );
    let (code, short, _) = outcome(&sluice(tmp.path(), &["-V"]));
    assert_eq!(code, 0);
    assert_eq!(
        short.trim(),
        format!(
            "sluice {} ({commit}, built {built})",
            env!("CARGO_PKG_VERSION")
        )
    );
}
