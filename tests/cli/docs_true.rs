//! The docs say what is there: every repository path a page names in code spans (`src/...`,
//! `tests/...`, `crates/...`, ...) and every relative link exists, README's component list is
//! the registry's (`sluice --help`), and every command `sluice --help` lists is in README.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::support::cli_support::{outcome, sluice};

/// Where a path a doc names may start.
const ROOTS: &[&str] = &[
    "src/",
    "tests/",
    "crates/",
    "benches/",
    "fuzz/",
    "examples/",
    "packaging/",
    ".ci/",
    "java/",
    "docs/",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn pages() -> Vec<PathBuf> {
    let mut out = vec![root().join("README.md"), root().join("DESIGN.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    out.extend(docs);
    out
}

/// The text of every `code span` of a page (fenced blocks skipped: they hold examples).
fn code_spans(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let mut parts = line.split('`');
        parts.next();
        while let (Some(inside), Some(_)) = (parts.next(), parts.next()) {
            out.push(inside.to_owned());
        }
    }
    out
}

/// Whether `path` (relative to the root; may end in `/`, hold a `*`, or name `file.rs:123`
/// or `file.rs::item`) exists.
fn exists(path: &str) -> bool {
    let path = path.split("::").next().unwrap_or(path);
    let path = path.split(':').next().unwrap_or(path);
    if let Some((dir, pattern)) = path.rsplit_once('/').filter(|(_, f)| f.contains('*')) {
        let (pre, post) = pattern.split_once('*').unwrap_or((pattern, ""));
        return std::fs::read_dir(root().join(dir)).is_ok_and(|mut d| {
            d.any(|e| {
                e.ok().is_some_and(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    n.starts_with(pre) && n.ends_with(post)
                })
            })
        });
    }
    root().join(path).exists()
}

#[test]
fn every_repository_path_a_doc_names_exists() {
    let mut missing = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).expect("page");
        let name = page
            .strip_prefix(root())
            .unwrap_or(&page)
            .display()
            .to_string();
        for span in code_spans(&text) {
            let first = span.split_whitespace().next().unwrap_or_default();
            let first = first.trim_end_matches([',', '.', ')', ';']);
            if ROOTS.iter().any(|r| first.starts_with(r))
                && !first.contains(['<', '{', '$'])
                // Written by proptest when a case fails, for the page to say "commit it".
                && !first.ends_with(".proptest-regressions")
                && !exists(first)
            {
                missing.push(format!("{name}: `{first}`"));
            }
        }
        for target in relative_links(&text) {
            let dir = page.parent().unwrap_or(Path::new("."));
            if !dir.join(&target).exists() {
                missing.push(format!("{name}: link ({target})"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "named but missing:\n{}",
        missing.join("\n")
    );
}

/// The file part of every relative markdown link `](target)` of a page.
fn relative_links(text: &str) -> Vec<String> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .map(|t| t.split('#').next().unwrap_or(t).trim().to_owned())
        .filter(|t| !t.is_empty() && !t.contains("://") && !t.starts_with("mailto:"))
        .collect()
}

/// The type names `sluice --help` lists for one kind (`sources:`).
fn registry(help: &str, kind: &str) -> BTreeSet<String> {
    help.lines()
        .find_map(|l| l.trim().strip_prefix(kind))
        .expect("the kind in --help")
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// The `names` README's "What is in the box" gives after `kind` up to the next `;`.
fn readme_names(readme: &str, kind: &str) -> BTreeSet<String> {
    let start = readme
        .find(&format!("({kind} `"))
        .or_else(|| readme.find(&format!("; {kind} `")));
    let rest = &readme[start.expect("the kind in README") + kind.len() + 2..];
    let mut names = BTreeSet::new();
    let mut depth = 0;
    let mut parts = rest.split('`');
    let mut outside = true;
    for part in parts.by_ref() {
        if outside {
            depth += part.matches('(').count() as i32 - part.matches(')').count() as i32;
            if depth <= 0 && part.contains(';') {
                break;
            }
        } else if depth <= 0 {
            names.insert(part.to_owned());
        }
        outside = !outside;
    }
    names
}

#[test]
fn readme_lists_every_component_and_command_the_binary_has() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, help, _) = outcome(&sluice(dir.path(), &["--help"]));
    assert_eq!(code, 0);
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    for kind in ["sources", "channels", "sinks"] {
        assert_eq!(
            readme_names(&readme, kind),
            registry(&help, &format!("{kind}:")),
            "README's {kind} against `sluice --help`"
        );
    }
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(
        commands.len() > 5,
        "commands parsed from --help: {commands:?}"
    );
    for c in commands {
        assert!(
            readme.contains(&format!("`sluice {c}")),
            "README names `sluice {c}`"
        );
    }
}
