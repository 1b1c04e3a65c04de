//! Several configuration files read as one (`-f` repeated, `--conf-uri` repeated): Flume 1.11
//! loads them one after the other into one `Properties`, so a key set in a later file replaces
//! the earlier files' value. Here every file is parsed on its own (a continuation line never
//! runs into the next file), each entry keeps its file and line, and the entries of a key
//! that a later file sets again are dropped, each drop recorded as an [`Override`].

use std::collections::BTreeMap;

use super::problem::Origin;
use super::properties::{self, Entry};

/// Most files one configuration is read from (`u16` file indices, and a bound on the work).
pub const FILES_MAX: usize = 64;

/// One configuration text and the name it is reported under (a path, a URI, a znode).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfFile {
    /// The name in problems and in `config check --print` (`conf/base.properties`).
    pub name: String,
    /// The properties text.
    pub text: String,
}

/// A key set in an earlier file and again in a later one: the later value wins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Override {
    /// The full key.
    pub key: String,
    /// Where the value that is used was set.
    pub winner: Origin,
    /// Where the replaced value was set.
    pub replaced: Origin,
}

/// The entries of all files in reading order, each with its origin, less the entries a later
/// file replaced; and the replacements. Files past [`FILES_MAX`] are not read (the caller
/// refuses more).
pub fn merge(files: &[ConfFile]) -> (Vec<(Entry, Origin)>, Vec<Override>) {
    let parsed: Vec<(Entry, Origin)> = files
        .iter()
        .take(FILES_MAX)
        .enumerate()
        .flat_map(|(i, f)| {
            let file = u16::try_from(i).unwrap_or(u16::MAX);
            properties::parse(&f.text).into_iter().map(move |e| {
                let o = Origin::at(file, e.line);
                (e, o)
            })
        })
        .collect();
    // The last file that sets each key, and where in it.
    let mut last: BTreeMap<&str, Origin> = BTreeMap::new();
    for (e, o) in &parsed {
        last.insert(e.key.as_str(), *o);
    }
    let mut overrides = Vec::new();
    let mut kept = Vec::with_capacity(parsed.len());
    for (e, o) in &parsed {
        let winner = last.get(e.key.as_str()).copied().unwrap_or(*o);
        if winner.file() != o.file() {
            overrides.push(Override {
                key: e.key.clone(),
                winner,
                replaced: *o,
            });
        } else {
            kept.push((e.clone(), *o));
        }
    }
    (kept, overrides)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> ConfFile {
        ConfFile {
            name: name.to_owned(),
            text: text.to_owned(),
        }
    }

    #[test]
    fn a_later_file_replaces_an_earlier_files_key_and_keeps_the_rest() {
        let (kept, over) = merge(&[
            file("base", "a.x = 1\na.y = 2\n"),
            file("site", "\na.y = 3\n"),
        ]);
        let got: Vec<(&str, &str, Origin)> = kept
            .iter()
            .map(|(e, o)| (e.key.as_str(), e.value.as_str(), *o))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a.x", "1", Origin::Line(1)),
                ("a.y", "3", Origin::FileLine { file: 1, line: 2 })
            ]
        );
        assert_eq!(
            over,
            vec![Override {
                key: "a.y".into(),
                winner: Origin::FileLine { file: 1, line: 2 },
                replaced: Origin::Line(2),
            }]
        );
    }

    #[test]
    fn duplicates_within_one_file_are_kept_for_the_grammar_to_report() {
        let (kept, over) = merge(&[file("one", "a.x = 1\na.x = 2\n")]);
        assert_eq!(kept.len(), 2);
        assert!(over.is_empty());
    }

    #[test]
    fn a_continuation_at_the_end_of_a_file_does_not_swallow_the_next_file() {
        let (kept, _) = merge(&[file("a", "a.x = 1 \\\n"), file("b", "a.y = 2\n")]);
        let keys: Vec<&str> = kept.iter().map(|(e, _)| e.key.as_str()).collect();
        assert_eq!(keys, vec!["a.x", "a.y"]);
    }
}
