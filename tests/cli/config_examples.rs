//! Every properties example the project shows reads without a warning: each `examples/*.properties`
//! file, and each fenced block of `docs/*.md` that is tagged `properties` or is untagged and
//! made only of `dotted.key = value` lines (and comments).
//!
//! The convention (keep it simple):
//! - A block that lists a section of its agent (`a1.channels = c1`) is a whole file: it is run
//!   through `sluice config check` and must exit 0 with no `warning:` line.
//! - Any other block is a fragment: it is read as the file would read it
//!   (`sluice::agent::config::read::resolve`: escapes, `${...}`, end-of-line comments) and
//!   must give no problem at all.
//! - A block right after a line `<!-- config-check: fragment -->`, or an examples/ file with a
//!   comment line holding `config-check: fragment`, is read as a fragment although it lists
//!   sections (a grammar sketch; a file that needs generated keys before it can start).
//! - A block right after a line `<!-- config-check: skip -->` is not checked (one that runs a
//!   command through a config filter, say). Skips are counted, so a skip is deliberate.
//!
//! The agent of a block or file is the first segment of its first key (every agent of an
//! examples/ file with a section list is checked).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::support::cli_support::{outcome, sluice};

const SKIP: &str = "<!-- config-check: skip -->";
const FRAGMENT: &str = "<!-- config-check: fragment -->";
const SECTIONS: [&str; 4] = ["sources", "channels", "sinks", "sinkgroups"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One example: where it is, its text, whether it was marked to skip or as a fragment.
struct Example {
    place: String,
    text: String,
    skip: bool,
    fragment: bool,
}

fn looks_like_properties(body: &[&str]) -> bool {
    let mut continued = false;
    let mut keys = 0;
    for line in body.iter().map(|l| l.trim()) {
        let ok = continued
            || line.is_empty()
            || line.starts_with(['#', '!'])
            || line.split_once(['=', ':']).is_some_and(|(k, _)| {
                let k = k.trim();
                keys += 1;
                k.contains('.')
                    && k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "._-[]".contains(c))
            });
        if !ok {
            return false;
        }
        continued = line.ends_with('\\') && !line.starts_with(['#', '!']);
    }
    keys > 0
}

fn doc_blocks(page: &Path) -> Vec<Example> {
    let text = std::fs::read_to_string(page).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(lang) = lines[i].trim_start().strip_prefix("```") else {
            i += 1;
            continue;
        };
        let end = (i + 1..lines.len())
            .find(|&j| lines[j].trim_start().starts_with("```"))
            .unwrap_or(lines.len());
        let body = &lines[i + 1..end];
        if lang.trim() == "properties" || (lang.trim().is_empty() && looks_like_properties(body)) {
            out.push(Example {
                place: format!("{}:{}", page.display(), i + 1),
                text: body.join("\n") + "\n",
                skip: i > 0 && lines[i - 1].trim() == SKIP,
                fragment: i > 0 && lines[i - 1].trim() == FRAGMENT,
            });
        }
        i = end + 1;
    }
    out
}

fn examples() -> Vec<Example> {
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "properties"))
        .collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let fragment = text
            .lines()
            .any(|l| l.starts_with('#') && l.contains("config-check: fragment"));
        out.push(Example {
            place: f.display().to_string(),
            text,
            skip: false,
            fragment,
        });
    }
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    pages.push(root().join("README.md"));
    pages.sort();
    for p in pages {
        out.extend(doc_blocks(&p));
    }
    out
}

/// Agents that list a section (`AGENT.sources = ...`), and the first key's agent.
fn agents(text: &str) -> (BTreeSet<String>, Option<String>) {
    let entries = sluice::agent::config::properties::parse(text);
    let listed = entries
        .iter()
        .filter_map(|e| {
            let (agent, section) = e.key.split_once('.')?;
            SECTIONS.contains(&section).then(|| agent.to_owned())
        })
        .collect();
    let first = entries
        .iter()
        .find_map(|e| e.key.split_once('.').map(|(a, _)| a.to_owned()));
    (listed, first)
}

fn check_whole(ex: &Example, agent: &str, dir: &Path) -> Option<String> {
    let conf = dir.join("example.properties");
    std::fs::write(&conf, &ex.text).unwrap();
    let args = ["config", "check", "-n", agent, "-f", conf.to_str().unwrap()];
    let o = if ex.text.contains("type = kubernetes") {
        // The node agent's examples are for a pod: its API server comes from the service's
        // variables there (docs/kubernetes.md), so they are checked as in one.
        std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
            .current_dir(dir)
            .args(args)
            .env_remove("RUST_LOG")
            .env("KUBERNETES_SERVICE_HOST", "10.96.0.1")
            .env("KUBERNETES_SERVICE_PORT", "443")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    } else {
        sluice(dir, &args)
    };
    let (code, out, err) = outcome(&o);
    (code != 0 || out.contains("warning:"))
        .then(|| format!("{} (agent {agent}): exit {code}\n{out}{err}", ex.place))
}

fn check_fragment(ex: &Example, agent: &str) -> Option<String> {
    let res = sluice::agent::config::read::resolve(&ex.text, agent, &[]);
    (!res.problems.is_empty()).then(|| {
        let lines: Vec<String> = res.problems.iter().map(|p| p.render(&ex.place)).collect();
        format!("{} (fragment of {agent}):\n{}", ex.place, lines.join("\n"))
    })
}

#[test]
fn every_properties_example_in_docs_and_examples_reads_without_a_warning() {
    let all = examples();
    assert!(all.len() >= 25, "found only {} examples", all.len());
    let tmp = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut skipped = Vec::new();
    for ex in &all {
        if ex.skip {
            skipped.push(ex.place.clone());
            continue;
        }
        let (listed, first) = agents(&ex.text);
        if listed.is_empty() || ex.fragment {
            let agent = first.unwrap_or_else(|| panic!("{}: no key", ex.place));
            failures.extend(check_fragment(ex, &agent));
        }
        for agent in listed.iter().filter(|_| !ex.fragment) {
            failures.extend(check_whole(ex, agent, tmp.path()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(
        skipped.len() <= 1,
        "more skips than the filter example: {skipped:?}"
    );
}

#[test]
fn a_dropped_backslash_in_a_fragment_would_be_caught() {
    let ex = Example {
        place: "inline".into(),
        text: "a1.sources.r1.multiline.pattern = ^\\d{4}\n".into(),
        skip: false,
        fragment: true,
    };
    let got = check_fragment(&ex, "a1").unwrap_or_default();
    assert!(got.contains("written `^\\d{4}`, read as `^d{4}`"), "{got}");
}
