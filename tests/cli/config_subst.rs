//! `${...}` substitution and config filters through the real binary: resolved values shown by
//! `config check --print` (secrets masked), unresolved variables in a path, a port and a host
//! refused by `config check` and by `agent` with FILE:LINE, the key and the variable; cycles
//! refused; the `$${` escape; Flume's `propertiesImplementation` switch.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::cli_support::outcome;

const CONF: &str = "\
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = netcat
a1.sources.r1.bind = ${sys:listen.host}
a1.sources.r1.port = ${env:SLUICE_T_PORT}
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.sinks.k1.type = file_roll
a1.sinks.k1.channel = c1
a1.sinks.k1.sink.directory = ${out}/roll
out = ${env:SLUICE_T_OUT}
";

/// `sluice ARGS` in `dir` with the environment `env` (and no other `SLUICE_T_` variable).
fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sluice"));
    c.current_dir(dir)
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("SLUICE_T_PORT")
        .env_remove("SLUICE_T_OUT")
        .stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    outcome(&c.output().unwrap())
}

fn write(dir: &Path, text: &str) -> String {
    std::fs::write(dir.join("a.properties"), text).unwrap();
    "a.properties".to_owned()
}

#[test]
fn env_sys_and_key_references_resolve_and_print_resolved() {
    let tmp = tempfile::tempdir().unwrap();
    let f = write(tmp.path(), CONF);
    let args = [
        "config",
        "check",
        "-n",
        "a1",
        "-f",
        &f,
        "--print",
        "-Dlisten.host=127.0.0.1",
    ];
    let env = [("SLUICE_T_PORT", "6667"), ("SLUICE_T_OUT", "/srv/out")];
    let (code, out, err) = run(tmp.path(), &args, &env);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("a.properties:5: a1.sources.r1.bind = 127.0.0.1\n"),
        "{out}"
    );
    assert!(
        out.contains("a.properties:6: a1.sources.r1.port = 6667\n"),
        "{out}"
    );
    assert!(
        out.contains("a.properties:11: a1.sinks.k1.sink.directory = /srv/out/roll\n"),
        "{out}"
    );
    assert!(!out.contains("warning"), "{out}");
    assert!(
        !out.contains("out = "),
        "a variable line is no key of the agent: {out}"
    );
}

#[test]
fn unresolved_variables_in_a_host_a_port_and_a_path_are_refused_with_line_key_and_variable() {
    let tmp = tempfile::tempdir().unwrap();
    let f = write(tmp.path(), CONF);
    let (code, out, err) = run(tmp.path(), &["config", "check", "-n", "a1", "-f", &f], &[]);
    assert_eq!(code, 1, "{out}{err}");
    let want = [
        "a.properties:5: a1.sources.r1.bind: ${sys:listen.host} cannot be resolved: system property listen.host is not set",
        "a.properties:6: a1.sources.r1.port: ${env:SLUICE_T_PORT} cannot be resolved: environment variable SLUICE_T_PORT is not set",
        "a.properties:11: a1.sinks.k1.sink.directory: ${env:SLUICE_T_OUT} cannot be resolved: environment variable SLUICE_T_OUT is not set",
    ];
    for w in want {
        assert!(out.contains(w), "missing {w:?} in\n{out}");
    }
    assert_eq!(
        out.lines().count(),
        3,
        "only the three variables, no noise: {out}"
    );
    // The agent refuses to start the same way, and creates no literal directory.
    let (code, _, err) = run(tmp.path(), &["agent", "-n", "a1", "-f", &f], &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(want[2]), "{err}");
    assert!(!tmp.path().join("${env:SLUICE_T_OUT}").exists());
}

#[test]
fn a_cycle_is_refused_and_the_escape_is_kept_literally() {
    let tmp = tempfile::tempdir().unwrap();
    let text = CONF.replace(
        "out = ${env:SLUICE_T_OUT}",
        "out = ${again}\nagain = ${out}",
    );
    let f = write(tmp.path(), &text);
    let env = [("SLUICE_T_PORT", "6667")];
    let args = ["config", "check", "-n", "a1", "-f", &f, "-Dlisten.host=::1"];
    let (code, out, _) = run(tmp.path(), &args, &env);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("a.properties:11: a1.sinks.k1.sink.directory: ${out} refers back to itself: a1.sinks.k1.sink.directory -> out -> again -> out"),
        "{out}"
    );
    let text = CONF
        .replace("${out}/roll", "./$${out}")
        .replace("out = ${env:SLUICE_T_OUT}\n", "");
    write(tmp.path(), &text);
    let mut args = args.to_vec();
    args.push("--print");
    let (code, out, _) = run(tmp.path(), &args, &env);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("a1.sinks.k1.sink.directory = ./${out}\n"),
        "{out}"
    );
}

#[test]
fn secrets_and_filter_values_are_masked_in_print() {
    let tmp = tempfile::tempdir().unwrap();
    let text = format!(
        "{CONF}a1.sources.r1.interceptors = i1\n\
         a1.sources.r1.interceptors.i1.type = static\n\
         a1.sources.r1.interceptors.i1.key = stage\n\
         a1.sources.r1.interceptors.i1.value = ${{f1['SLUICE_T_SECRET']}}\n\
         a1.configfilters = f1\n\
         a1.configfilters.f1.type = env\n"
    );
    let f = write(tmp.path(), &text);
    let env = [
        ("SLUICE_T_PORT", "6667"),
        ("SLUICE_T_OUT", "/o"),
        ("SLUICE_T_SECRET", "hunter2"),
    ];
    let args = [
        "config",
        "check",
        "-n",
        "a1",
        "-f",
        &f,
        "--print",
        "-Dlisten.host=h",
    ];
    let (code, out, err) = run(tmp.path(), &args, &env);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("a1.sources.r1.interceptors.i1.value = ********\n"),
        "{out}"
    );
    assert!(
        out.contains("a1.sources.r1.interceptors.i1.key = ********\n"),
        "{out}"
    );
    assert!(!out.contains("hunter2"), "{out}");
    assert!(
        !out.contains("warning"),
        "configfilters keys are read: {out}"
    );
}

#[test]
fn flumes_env_var_resolver_switch_reads_bare_names_and_others_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let text = CONF.replace("${env:SLUICE_T_PORT}", "${SLUICE_T_PORT}");
    let f = write(tmp.path(), &text);
    let env = [("SLUICE_T_PORT", "6667"), ("SLUICE_T_OUT", "/o")];
    let base = ["config", "check", "-n", "a1", "-f", &f, "-Dlisten.host=h"];
    let (code, out, _) = run(tmp.path(), &base, &env);
    assert_eq!(code, 1, "without the switch a bare name is a key: {out}");
    assert!(out.contains("no key SLUICE_T_PORT in the file"), "{out}");
    let mut on = base.to_vec();
    on.push("-DpropertiesImplementation=org.apache.flume.node.EnvVarResolverProperties");
    let (code, out, _) = run(tmp.path(), &on, &env);
    assert_eq!(code, 0, "{out}");
    let mut other = base.to_vec();
    other.push("-DpropertiesImplementation=com.example.MyProperties");
    let (code, out, _) = run(tmp.path(), &other, &env);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("a.properties:-D: propertiesImplementation: -DpropertiesImplementation=com.example.MyProperties"),
        "{out}"
    );
}
