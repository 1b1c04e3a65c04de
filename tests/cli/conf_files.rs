//! Several `-f` files on the real binary: a later file's key replaces the earlier one's,
//! `config check` names the file and line each problem and each printed value came from and
//! notes every override, and SIGHUP reads every file again (a file_roll directory set in the
//! second file moves).

use std::path::PathBuf;

use crate::support::cli_support::{
    free_port, outcome, send_line, sluice, start_agent, wait_line_in,
};

/// The base file: netcat on `port` → memory → file_roll into `out1`.
fn base(port: u16) -> String {
    format!(
        "a1.sources = r1\n\
         a1.channels = c1\n\
         a1.sinks = k1\n\
         a1.sources.r1.type = netcat\n\
         a1.sources.r1.bind = 127.0.0.1\n\
         a1.sources.r1.port = {port}\n\
         a1.sources.r1.channels = c1\n\
         a1.channels.c1.type = memory\n\
         a1.sinks.k1.type = file_roll\n\
         a1.sinks.k1.sink.directory = out1\n\
         a1.sinks.k1.sink.rollInterval = 0\n\
         a1.sinks.k1.channel = c1\n"
    )
}

#[test]
fn config_check_names_the_file_each_value_and_problem_came_from() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("base.properties"), base(44444)).unwrap();
    let site = "# site overrides\na1.sinks.k1.sink.directory = out2\n";
    std::fs::write(tmp.path().join("site.properties"), site).unwrap();
    let args = [
        "config",
        "check",
        "-n",
        "a1",
        "-f",
        "base.properties",
        "-f",
        "site.properties",
        "--print",
    ];
    let (code, out, err) = outcome(&sluice(tmp.path(), &args));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("site.properties:2: a1.sinks.k1.sink.directory = out2\n"),
        "the later file's value, at its line:\n{out}"
    );
    assert!(
        out.contains("base.properties:6: a1.sources.r1.port = 44444\n"),
        "{out}"
    );
    assert!(
        out.contains(
            "site.properties:2: a1.sinks.k1.sink.directory: note: overrides base.properties:10\n"
        ),
        "{out}"
    );
    assert!(
        !out.contains("warning"),
        "an override is no warning:\n{out}"
    );
    // A bad value in the second file: the error names that file and line.
    let bad = format!("{site}a1.sources.r1.port = lots\n");
    std::fs::write(tmp.path().join("site.properties"), bad).unwrap();
    let (code, out, err) = outcome(&sluice(tmp.path(), &args[..8]));
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("site.properties:3: a1.sources.r1.port: "),
        "{out}"
    );
    assert!(
        !out.contains("base.properties:6: a1.sources.r1.port:"),
        "{out}"
    );
}

#[test]
fn a_missing_second_file_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("base.properties"), base(44444)).unwrap();
    for cmd in [&["config", "check"][..], &["agent"][..]] {
        let mut args = cmd.to_vec();
        args.extend([
            "-n",
            "a1",
            "-f",
            "base.properties",
            "-f",
            "nowhere.properties",
        ]);
        let (code, out, err) = outcome(&sluice(tmp.path(), &args));
        assert_eq!(code, 3, "{cmd:?}: {out}{err}");
        assert!(err.contains("reading nowhere.properties"), "{err}");
    }
}

#[test]
fn sighup_reads_every_file_again_and_the_later_file_wins() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    std::fs::write(tmp.path().join("base.properties"), base(port)).unwrap();
    let site: PathBuf = tmp.path().join("site.properties");
    std::fs::write(&site, "a1.sinks.k1.sink.directory = out2\n").unwrap();
    let extra = ["-f", "site.properties", "--no-reload-conf"];
    let mut agent = start_agent(tmp.path(), "base.properties", &extra, "agent.log");
    let log = agent.log.clone();
    agent.wait_file(&log, "agent started");
    send_line(tmp.path(), port, "one");
    wait_line_in(&mut agent, &tmp.path().join("out2"), "one");
    assert!(
        !tmp.path().join("out1").exists(),
        "the base file's directory is overridden"
    );
    std::fs::write(&site, "a1.sinks.k1.sink.directory = out3\n").unwrap();
    unsafe { libc::kill(agent.child.id() as i32, libc::SIGHUP) };
    agent.wait_file(&log, "the new configuration was applied");
    send_line(tmp.path(), port, "two");
    wait_line_in(&mut agent, &tmp.path().join("out3"), "two");
    assert_eq!(agent.terminate(), Some(0));
}
