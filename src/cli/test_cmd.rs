//! `sluice test -f CONFIG [TESTS...]`: runs the test files (TOML, see docs/testing-configs.md)
//! against a configuration, in process and without sockets or disks: each test's inputs go
//! through its source's interceptors and selector into capturing channels, then to the sinks
//! as their runners and sink processors take them (`sluice::agent::harness`). Prints one line
//! per test and every failing expectation with the event, the component and a diff.
//!
//! Exit codes: 0 every test passed, 1 a test failed or the configuration has errors, 2 bad
//! arguments, 3 a file cannot be read or a test file is malformed.

use std::path::{Path, PathBuf};

use anyhow::Context;
use sluice::agent::config::Severity;
use sluice::agent::harness::{check, run_case, TestFile};
use sluice::agent::topology as config;

use crate::cli::exit;

/// Arguments of `sluice test`.
#[derive(clap::Args, Debug)]
pub struct TestArgs {
    /// The agent name (default: `agent` in the test file).
    #[arg(short = 'n', long = "name")]
    pub name: Option<String>,
    /// The properties file under test; repeat for several, read in order (a later file's key
    /// replaces the earlier value).
    #[arg(short = 'f', long = "conf-file", required = true)]
    pub conf_file: Vec<PathBuf>,
    /// Test files (default: the first properties file with `.tests.toml` for its extension).
    pub tests: Vec<PathBuf>,
    /// `-D<agent>.<key>=value` overrides, as `sluice agent` takes them.
    #[arg(short = 'D', value_name = "KEY=VALUE", value_parser = super::agent::parse_define)]
    pub defines: Vec<(String, String)>,
}

/// `examples/a.properties` -> `examples/a.tests.toml`.
pub fn default_tests(conf: &Path) -> PathBuf {
    conf.with_extension("tests.toml")
}

/// Runs the subcommand.
pub fn run(args: TestArgs) -> anyhow::Result<i32> {
    let first = args
        .conf_file
        .first()
        .map_or(Path::new("."), PathBuf::as_path);
    let files = if args.tests.is_empty() {
        vec![default_tests(first)]
    } else {
        args.tests.clone()
    };
    let confs = crate::cli::conf_files::read(&args.conf_file)?;
    let names = crate::cli::conf_files::names(&confs);
    let conf_name = first.display().to_string();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let (mut passed, mut failed) = (0usize, 0usize);
    for path in &files {
        let spec =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let spec = TestFile::parse(&spec).with_context(|| format!("{}", path.display()))?;
        let Some(agent) = args.name.clone().or(spec.agent.clone()) else {
            return Err(exit::Usage(format!(
                "{}: no agent name: give -n NAME or `agent = \"NAME\"` in the test file",
                path.display()
            ))
            .into());
        };
        let loaded = config::load_files(&confs, &agent, &args.defines);
        let Some(cfg) = loaded.config else {
            for p in loaded
                .problems
                .iter()
                .filter(|p| p.severity == Severity::Error)
            {
                println!("{}", p.render_in(&names));
            }
            println!("{conf_name}: the configuration has errors; no test ran");
            return Ok(exit::FAILED_CHECK);
        };
        for case in &spec.tests {
            let result = rt.block_on(run_case(&cfg, case));
            let failures = match result {
                Ok(got) => check(case, &got),
                Err(e) => {
                    println!("FAIL {:?}: {e}", case.name);
                    failed += 1;
                    continue;
                }
            };
            if failures.is_empty() {
                println!("ok   {:?}", case.name);
                passed += 1;
            } else {
                for f in &failures {
                    print!("{f}");
                }
                failed += 1;
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 {
        exit::OK
    } else {
        exit::FAILED_CHECK
    })
}
