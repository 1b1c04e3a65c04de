//! One exit code per failure class across subcommands (0 ok, 1 the checked thing is bad, 2
//! usage, 3 could not run), `config check -c`, an example in every `--help`, `sluice send`
//! against a running agent, and a second agent on a channel in use saying why once.
//! Real binary.

use crate::support::cli_support;

use cli_support::*;

use std::path::Path;

const GOOD: &str = "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
    a1.sources.r1.type = seq\na1.sources.r1.channels = c1\n\
    a1.channels.c1.type = memory\na1.sinks.k1.type = null\na1.sinks.k1.channel = c1\n";

#[test]
fn each_failure_class_has_its_own_exit_code_in_every_subcommand() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::create_dir(d.join("conf")).unwrap();
    std::fs::write(d.join("conf/good.properties"), GOOD).unwrap();
    std::fs::write(d.join("bad.properties"), GOOD.replace("= null", "= nosuch")).unwrap();
    let mut cases = config_and_agent_cases(d);
    cases.extend(channel_and_send_cases(d));
    for (what, (code, out, err), want) in cases {
        assert_eq!(code, want, "{what}: {out}{err}");
    }
    let (_, _, err) = outcome(&sluice(
        d,
        &["agent", "-n", "a1", "-f", "x", "--worker-threads", "1025"],
    ));
    assert!(
        err.contains("--worker-threads") && err.contains("1..=1024"),
        "{err}"
    );
    let (code, _, err) = outcome(&sluice(
        d,
        &[
            "agent",
            "-n",
            "a1",
            "-f",
            "conf/good.properties",
            "-Dsluice.tailCacheTotal=16m",
        ],
    ));
    assert!(
        code == 2 && err.contains("-Dsluice.tailCacheTotal=16m: expected a number of bytes"),
        "{code}: {err}"
    );
    let (_, _, err) = check(d, &["-f", "missing.properties"]);
    assert!(
        err.starts_with("sluice: error: reading missing.properties: "),
        "{err}"
    );
}

/// A case: what it is, the run's (code, stdout, stderr), the code it must exit with.
type Case = (&'static str, (i32, String, String), i32);

/// `sluice config check -n a1` with `args`, in `d`.
fn check(d: &Path, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["config", "check", "-n", "a1"];
    all.extend_from_slice(args);
    outcome(&sluice(d, &all))
}

/// `config check` and `agent`: ok, errors, usage, missing file.
fn config_and_agent_cases(d: &Path) -> Vec<Case> {
    vec![
        (
            "config check -c",
            check(d, &["-c", "conf", "-f", "conf/good.properties"]),
            0,
        ),
        ("config errors", check(d, &["-f", "bad.properties"]), 1),
        (
            "unknown option",
            check(d, &["-f", "bad.properties", "-x"]),
            2,
        ),
        ("missing file", check(d, &["-f", "missing.properties"]), 3),
        (
            "agent config errors",
            outcome(&sluice(d, &["agent", "-n", "a1", "-f", "bad.properties"])),
            1,
        ),
        (
            "agent without workers",
            outcome(&sluice(
                d,
                &[
                    "agent",
                    "-n",
                    "a1",
                    "-f",
                    "conf/good.properties",
                    "--worker-threads",
                    "0",
                ],
            )),
            2,
        ),
        (
            "agent missing file",
            outcome(&sluice(d, &["agent", "-n", "a1", "-f", "nope"])),
            3,
        ),
    ]
}

/// `channel verify` and `send`: missing dirs, a bad `--set`, nobody listening.
fn channel_and_send_cases(d: &Path) -> Vec<Case> {
    vec![
        (
            "verify missing dirs",
            outcome(&sluice(
                d,
                &[
                    "channel",
                    "verify",
                    "--checkpoint-dir",
                    "c",
                    "--data-dirs",
                    "x",
                ],
            )),
            3,
        ),
        (
            "verify bad --set",
            outcome(&sluice(
                d,
                &[
                    "channel",
                    "verify",
                    "--checkpoint-dir",
                    "c",
                    "--data-dirs",
                    "x",
                    "--set",
                    "capacity",
                ],
            )),
            2,
        ),
        (
            "send to nobody",
            outcome(&sluice(d, &["send", "-p", &free_port().to_string(), "x"])),
            3,
        ),
    ]
}

#[test]
fn every_subcommand_help_shows_an_example() {
    let tmp = tempfile::tempdir().unwrap();
    for cmd in [
        &["agent"][..],
        &["config", "check"],
        &["send"],
        &["avro-client"],
        &["crashtest"],
        &["bench"],
        &["channel", "put"],
        &["channel", "take"],
        &["channel", "inspect"],
        &["channel", "verify"],
        &["channel", "dump"],
        &["channel", "salvage"],
    ] {
        let mut args = cmd.to_vec();
        args.push("--help");
        let (code, out, _) = outcome(&sluice(tmp.path(), &args));
        assert_eq!(code, 0, "{cmd:?}");
        let example = format!("sluice {} ", cmd.join(" "));
        assert!(
            out.contains("Example") && out.contains(&example),
            "{cmd:?}: {out}"
        );
    }
}

#[test]
fn send_delivers_lines_through_the_readme_agent_and_a_second_agent_says_why_once() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let port = free_port();
    let readme = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/netcat-file-roll.properties"),
    )
    .unwrap()
    .replace("port = 44444", &format!("port = {port}"))
    .replace("bind = localhost", "bind = 127.0.0.1");
    std::fs::write(d.join("a1.properties"), &readme).unwrap();
    let mut a = start_agent(d, "a1.properties", &[], "agent.log");
    let log = a.log.clone();
    a.wait_file(&log, "agent started");
    let (code, out, err) = outcome(&sluice(
        d,
        &[
            "send",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "hello",
            "world",
        ],
    ));
    assert_eq!((code, out.as_str()), (0, "OK\nOK\n"), "{err}");
    assert_eq!(err, "sluice send: 2 lines sent, 2 OK, 0 FAILED\n");
    send_from_stdin_with_a_refused_line(d, port);
    a_second_agent_on_the_channel_says_why_once(d, &readme, port);
    assert_eq!(wait_delivered(d), "hello\nworld\nmore\nlast\n");
    assert_eq!(a.terminate(), Some(0));
}

/// `sluice send` from stdin (the last line without its newline), with a line the source
/// refuses: exit 1, the refused line named.
fn send_from_stdin_with_a_refused_line(d: &Path, port: u16) {
    let long = "y".repeat(600);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .current_dir(d)
        .args(["send", "-p", &port.to_string()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    let input = format!("more\n{long}\nlast");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let (code, out, err) = outcome(&child.wait_with_output().unwrap());
    assert_eq!((code, out.as_str()), (1, "OK\nOK\n"), "{err}");
    assert!(
        err.starts_with("sluice send: line 2: FAILED: Event exceeds the maximum length"),
        "{err}"
    );
    assert!(
        err.ends_with("sluice send: 3 lines sent, 2 OK, 1 FAILED\n"),
        "{err}"
    );
}

/// A second agent on the same channel (another port) refuses to start, saying why once.
fn a_second_agent_on_the_channel_says_why_once(d: &Path, readme: &str, port: u16) {
    std::fs::write(
        d.join("a2.properties"),
        readme.replace(&port.to_string(), &free_port().to_string()),
    )
    .unwrap();
    let (code, _, err) = outcome(&sluice(d, &["agent", "-n", "a1", "-f", "a2.properties"]));
    assert_eq!(code, 3, "{err}");
    let last = err.lines().last().unwrap();
    assert_eq!(
        last,
        "sluice: error: starting the agent: channel c1: ./data/checkpoint is in use by another \
         Sluice channel or process (lock file ./data/checkpoint/in_use.lock); stop it first or \
         point this channel at other directories"
    );
}

/// What the file_roll sink wrote once it holds the four lines (it polls the channel; wait,
/// bounded).
fn wait_delivered(d: &Path) -> String {
    let out_dir = d.join("data/out");
    let end = std::time::Instant::now() + WAIT;
    loop {
        let mut text = String::new();
        for e in std::fs::read_dir(&out_dir).into_iter().flatten() {
            text.push_str(&std::fs::read_to_string(e.unwrap().path()).unwrap_or_default());
        }
        if text == "hello\nworld\nmore\nlast\n" || std::time::Instant::now() > end {
            return text;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
