//! `sluice config check`: validates Flume properties files (`-f` repeated: later files
//! override earlier keys, each override printed as a note) and prints every problem as
//! `FILE:LINE: key: message`, FILE being the file the key came from; exits 1 when any
//! problem is an error (or, with `--strict`, a warning), 3 when a file cannot be read (see
//! `crate::cli::exit`). A TAILDIR spool on another file system than its logs is warned about
//! (`check_spool.rs`). With `--verify-channels` a valid configuration's file
//! channels are verified too (`verify_channels.rs`); with `--print` the agent's keys are
//! printed as read (escapes decoded, `${...}` and config filters resolved), secrets masked.

use std::path::{Path, PathBuf};

use sluice::agent::config::files::{self, Override};
use sluice::agent::config::read::{self, Resolution};
use sluice::agent::config::{Origin, Severity};
use sluice::agent::topology as config;

use crate::cli::conf_files;
use crate::cli::plugins::JavaPluginArgs;

/// Arguments of `sluice config check`.
#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// The agent name (the first part of every key).
    #[arg(short = 'n', long = "name")]
    pub name: String,
    /// The properties file; repeat for several, read in order (a later file's key replaces
    /// the earlier value).
    #[arg(short = 'f', long = "conf-file", required = true)]
    pub conf_file: Vec<PathBuf>,
    /// Where Java plugins are found (`-c`, `-C`, `--plugins-path`, as `sluice agent` takes them).
    #[command(flatten)]
    pub plugins: JavaPluginArgs,
    /// Overrides: `-D<agent>.<key>=value` (other -D keys are accepted and ignored).
    #[arg(short = 'D', value_name = "KEY=VALUE", value_parser = super::agent::parse_define)]
    pub defines: Vec<(String, String)>,
    /// Also verify every file channel's directories (read-only, as `sluice channel verify`;
    /// refused while an agent holds them).
    #[arg(long = "verify-channels")]
    pub verify_channels: bool,
    /// Also print every key of the agent as read: `${...}` and config filters resolved,
    /// secrets (passwords, tokens, keys, filter values) masked.
    #[arg(long = "print")]
    pub print: bool,
    /// Warnings are errors: an unknown key (a typo such as `postionFile`), an override
    /// ignored, a TAILDIR spool on another file system... each fails the check (exit 1), for
    /// CI. Without it they are printed and the check passes, as the agent starts with them.
    #[arg(long = "strict")]
    pub strict: bool,
}

/// Runs the subcommand.
pub fn run(args: CheckArgs) -> anyhow::Result<i32> {
    let files = conf_files::read(&args.conf_file)?;
    let loaded = config::load_files(&files, &args.name, &args.defines);
    let names = conf_files::names(&files);
    let first = args
        .conf_file
        .first()
        .map_or(Path::new("."), PathBuf::as_path);
    let file = first.display().to_string();
    if let Some(note) = args.plugins.classpath_note() {
        crate::cli::pipe::eprint_line(&format!("note: {note}"));
    }
    for p in &loaded.problems {
        println!("{}", conf_files::render(p, &names));
    }
    print_overrides(&files::merge(&files).1, &args.name, &names);
    if args.print {
        let res = read::resolve_files(&files, &args.name, &args.defines);
        print_resolved(&res, &args.name, &names);
    }
    args.plugins.set_java_env(first);
    // Java classes are looked up (by running `java`) only when the configuration names some.
    let mut java_problems = match &loaded.config {
        Some(c) => super::plugins::check_classes(c)?,
        None => Vec::new(),
    };
    // Every class loads: each Java component's configure() runs (in a JVM then stopped), so
    // one that would throw at the agent's start fails the check.
    if java_problems.is_empty() {
        if let Some(c) = &loaded.config {
            java_problems = super::plugins::configure_components(c)?;
        }
    }
    for p in &java_problems {
        println!("{file}: {p}");
    }
    if !java_problems.is_empty() {
        println!("{}", super::plugins::JAR_PLACEMENT);
        eprintln!("{file}: {} error(s)", java_problems.len());
        return Ok(crate::cli::exit::FAILED_CHECK);
    }
    let warnings = loaded
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Warning)
        .count();
    match &loaded.config {
        Some(c) => Ok(checked(c, &file, warnings, &args)),
        None => {
            let n = loaded
                .problems
                .iter()
                .filter(|p| p.severity == Severity::Error)
                .count();
            eprintln!("{file}: {n} error(s)");
            Ok(crate::cli::exit::FAILED_CHECK)
        }
    }
}

/// The checks of a configuration that loaded: its keystores, its TAILDIR spools, `--strict`,
/// then the `OK` line and `--verify-channels`. `warnings` were printed already.
fn checked(c: &config::AgentConfig, file: &str, warnings: usize, args: &CheckArgs) -> i32 {
    let key_failures = crate::cli::check_keys::run(c, file);
    if key_failures > 0 {
        eprintln!("{file}: {key_failures} error(s)");
        return crate::cli::exit::FAILED_CHECK;
    }
    let warnings = warnings + crate::cli::check_spool::run(c, file);
    if args.strict && warnings > 0 {
        eprintln!("{file}: {warnings} warning(s), errors under --strict");
        return crate::cli::exit::FAILED_CHECK;
    }
    println!(
        "{file}: agent {}: {} sources, {} channels, {} sinks, {} sink groups: OK",
        c.name,
        c.sources.len(),
        c.channels.len(),
        c.sinks.len(),
        c.sinkgroups.len()
    );
    if args.verify_channels {
        return crate::cli::verify_channels::run(c);
    }
    crate::cli::exit::OK
}

/// Prints `FILE:LINE: key: note: overrides FILE:LINE` for every key of the agent a later file
/// set again (not a problem: overriding is what several files are for).
fn print_overrides(overridden: &[Override], agent: &str, names: &[String]) {
    let prefix = format!("{agent}.");
    for o in overridden.iter().filter(|o| o.key.starts_with(&prefix)) {
        println!(
            "{}: {}: note: overrides {}",
            o.winner.describe(names),
            o.key,
            o.replaced.describe(names)
        );
    }
}

/// Prints `FILE:LINE: key = value` for every key of the agent (the last of duplicates), as
/// read, with secrets masked.
fn print_resolved(res: &Resolution, agent: &str, names: &[String]) {
    use sluice::agent::config::secret;
    let mut last = std::collections::BTreeMap::new();
    for (k, v, o) in &res.entries {
        last.insert(k.as_str(), (*o, v.as_str()));
    }
    let mut rows: Vec<_> = last
        .into_iter()
        .filter(|(k, _)| k.starts_with(&format!("{agent}.")))
        .collect();
    rows.sort_by_key(|(_, (o, _))| *o);
    for (key, (origin, value)) in rows {
        let shown = if secret::is_secret(key) || res.filtered.contains(key) {
            secret::MASK
        } else {
            value
        };
        let at = match origin {
            Origin::CommandLine => format!("{}:-D", names.first().map_or("?", String::as_str)),
            o => o.describe(names),
        };
        println!("{at}: {key} = {shown}");
    }
}
