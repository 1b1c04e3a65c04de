//! The docs' commands are the binary's (issue 79 item 7): every `sluice ...` command line shown
//! in README.md, docs/, the examples' READMEs and the examples' own comments names a subcommand the binary has and only
//! options its `--help` lists, and the ones that only read files of this repository
//! (`config check -f examples/...`, `test -f examples/...`) are run and exit 0.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::support::cli_support::{outcome, sluice};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Files under `dir` that show commands: Markdown pages (only READMEs with `readme_only`),
/// and with it the examples' configs, tests and scripts, whose comments show how to run them.
fn md_under(dir: &Path, out: &mut Vec<PathBuf>, readme_only: bool) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            md_under(&p, out, readme_only);
        } else if (p.extension().is_some_and(|x| x == "md")
            && (!readme_only || p.file_name().is_some_and(|n| n == "README.md")))
            || (readme_only
                && p.extension()
                    .is_some_and(|x| x == "properties" || x == "toml" || x == "sh"))
        {
            out.push(p);
        }
    }
}

/// README.md, every page of docs/, every README under examples/ and the examples' files.
fn pages() -> Vec<PathBuf> {
    let mut out = vec![root().join("README.md")];
    md_under(&root().join("docs"), &mut out, false);
    md_under(&root().join("examples"), &mut out, true);
    out
}

/// Where a command may start on a line: the line's start (after a `$ ` prompt), a code span,
/// or after `&& ` / `| ` in a pipeline.
fn starts(line: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let lead = line.len() - line.trim_start().len();
    let first = line[lead..].strip_prefix("$ ").map_or(lead, |_| lead + 2);
    out.push(first);
    for pat in ["`", "&& ", "| "] {
        out.extend(line.match_indices(pat).map(|(i, m)| i + m.len()));
    }
    out
}

/// Every `sluice ...` command of `text`, with its line number, cut at the end of its span or
/// at a shell operator or comment.
fn commands(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        // A comment of a config, a tests file or a script shows a command after its `#`.
        let line = line
            .trim_start()
            .strip_prefix('#')
            .map_or(line, str::trim_start);
        for s in starts(line) {
            let Some(rest) = line[s..].strip_prefix("sluice ") else {
                continue;
            };
            let end = rest.find(['`', '|', ';', '&', '#']).unwrap_or(rest.len());
            let cmd = rest[..end].trim().trim_end_matches('\\').trim();
            if !cmd.is_empty() && cmd.starts_with(|c: char| c.is_ascii_lowercase() || c == '-') {
                out.push((n + 1, cmd.to_owned()));
            }
        }
    }
    out
}

/// `sluice PATH --help`: its exit code and text, asked once per path.
struct Helps(HashMap<Vec<String>, (i32, String)>);

impl Helps {
    fn get(&mut self, path: &[String]) -> &(i32, String) {
        self.0.entry(path.to_vec()).or_insert_with(|| {
            let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
            args.push("--help");
            let (code, out, _) = outcome(&sluice(&root(), &args));
            (code, out)
        })
    }

    /// The longest run of leading words that the binary takes as subcommands.
    fn path_of(&mut self, words: &[&str]) -> Vec<String> {
        let mut path: Vec<String> = Vec::new();
        for w in words {
            if w.starts_with('-') || !w.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
                break;
            }
            let mut next = path.clone();
            next.push((*w).to_owned());
            if self.get(&next).0 != 0 {
                break;
            }
            path = next;
        }
        path
    }
}

/// The option a word names (`--set=a` → `--set`, `-Dkey=v` → `-D`, `-n` → `-n`), if any.
fn option_of(word: &str) -> Option<String> {
    let w = word.trim_start_matches(['[', '(']);
    if let Some(long) = w.strip_prefix("--") {
        let name: String = long
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        return (!name.is_empty()).then(|| format!("--{name}"));
    }
    let short = w.strip_prefix('-')?.chars().next()?;
    short.is_ascii_alphabetic().then(|| format!("-{short}"))
}

/// Whether `help` lists `opt` as an option (`  -n, --name <NAME>`, `--once`, `-D <KEY=VALUE>`).
fn lists(help: &str, opt: &str) -> bool {
    help.lines().any(|l| {
        let l = l.trim_start();
        l.starts_with('-')
            && l.split([' ', ',', '=', '[', '<'])
                .take_while(|w| w.is_empty() || w.starts_with('-'))
                .any(|w| w == opt)
    })
}

#[test]
fn every_command_the_docs_show_names_a_subcommand_and_options_the_binary_has() {
    let mut helps = Helps(HashMap::new());
    let mut wrong = Vec::new();
    let mut seen = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let name = page.strip_prefix(root()).unwrap().display().to_string();
        for (line, cmd) in commands(&text) {
            seen += 1;
            let words: Vec<&str> = cmd.split_whitespace().collect();
            let path = helps.path_of(&words);
            if path.is_empty() && !words[0].starts_with('-') {
                wrong.push(format!("{name}:{line}: `sluice {cmd}`: no such command"));
                continue;
            }
            let help = helps.get(&path).1.clone();
            for opt in words[path.len()..].iter().filter_map(|w| option_of(w)) {
                if !lists(&help, &opt) {
                    wrong.push(format!(
                        "{name}:{line}: `sluice {cmd}`: `sluice {} --help` has no {opt}",
                        path.join(" ")
                    ));
                }
            }
        }
    }
    assert!(
        seen > 100,
        "found only {seen} commands: is the extraction broken?"
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The commands that read only this repository's files: `config check` or `test` whose every
/// `-f` names a file of the repository, with nothing in capitals (placeholders like FILE).
fn runnable(cmd: &str) -> Option<Vec<String>> {
    let words: Vec<&str> = cmd.split_whitespace().collect();
    let reads_only = cmd.starts_with("config check ") || cmd.starts_with("test ");
    if !reads_only || cmd.chars().any(|c| c.is_ascii_uppercase() || c == '[') {
        return None;
    }
    let files: Vec<&&str> = words
        .windows(2)
        .filter(|w| w[0] == "-f")
        .map(|w| &w[1])
        .collect();
    let ok = !files.is_empty() && files.iter().all(|f| root().join(f).is_file());
    ok.then(|| words.iter().map(|w| (*w).to_owned()).collect())
}

#[test]
fn the_docs_commands_on_the_repositorys_own_files_run_and_exit_0() {
    let mut ran = Vec::new();
    let mut failed = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let name = page.strip_prefix(root()).unwrap().display().to_string();
        for (line, cmd) in commands(&text) {
            let Some(args) = runnable(&cmd) else {
                continue;
            };
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let (code, out, err) = outcome(&sluice(&root(), &args));
            ran.push(cmd.clone());
            if code != 0 {
                failed.push(format!(
                    "{name}:{line}: `sluice {cmd}` exited {code}:\n{out}{err}"
                ));
            }
        }
    }
    assert!(
        ran.len() >= 3,
        "ran only {ran:?}: is the extraction broken?"
    );
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
