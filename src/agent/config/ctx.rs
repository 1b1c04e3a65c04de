//! Reading one component's properties: typed getters that report bad values as errors with
//! the key's line, and a final pass that warns about every key nobody read.

use std::collections::BTreeSet;

use super::problem::{Origin, Problem};
use super::raw::RawComponent;

/// Reads the properties of one component and collects problems.
#[derive(Debug)]
pub struct Ctx<'a> {
    comp: &'a RawComponent,
    problems: &'a mut Vec<Problem>,
    used: BTreeSet<String>,
    used_prefixes: Vec<String>,
    errors: usize,
}

impl<'a> Ctx<'a> {
    /// Starts reading `comp`.
    pub(crate) fn new(comp: &'a RawComponent, problems: &'a mut Vec<Problem>) -> Self {
        let mut used = BTreeSet::new();
        used.insert("type".to_owned());
        Ctx {
            comp,
            problems,
            used,
            used_prefixes: Vec::new(),
            errors: 0,
        }
    }

    /// The component.
    pub(crate) fn comp(&self) -> &RawComponent {
        self.comp
    }

    /// Whether an error was reported through this context.
    pub(crate) fn failed(&self) -> bool {
        self.errors > 0
    }

    /// Where a property is (or where the component is listed).
    pub(crate) fn origin(&self, key: &str) -> Origin {
        self.comp.origin_of(key)
    }

    /// Reports an error about `key`.
    pub(crate) fn error(&mut self, key: &str, message: impl Into<String>) {
        self.errors += 1;
        let p = Problem::error(self.origin(key), self.comp.full_key(key), message);
        self.problems.push(p);
    }

    /// Reports a warning about `key`.
    pub(crate) fn warn(&mut self, key: &str, message: impl Into<String>) {
        let p = Problem::warning(self.origin(key), self.comp.full_key(key), message);
        self.problems.push(p);
    }

    /// Reports a problem found elsewhere (a component that reads its keys through another
    /// component's parser translates that parser's problems to its own keys).
    pub(crate) fn report(&mut self, p: Problem) {
        if p.severity == super::problem::Severity::Error {
            self.errors += 1;
        }
        self.problems.push(p);
    }

    /// Whether `key` was read (or lies under a prefix marked read).
    pub(crate) fn was_read(&self, key: &str) -> bool {
        self.used.contains(key)
            || self
                .used_prefixes
                .iter()
                .any(|p| key.starts_with(p.as_str()))
    }

    /// The keys read so far.
    pub(crate) fn read_keys(&self) -> impl Iterator<Item = &str> {
        self.used.iter().map(String::as_str)
    }

    /// Marks every key starting with `prefix` as read.
    pub(crate) fn use_prefix(&mut self, prefix: &str) {
        self.used_prefixes.push(prefix.to_owned());
    }

    /// The value of `key`, if set.
    pub(crate) fn get(&mut self, key: &str) -> Option<String> {
        self.used.insert(key.to_owned());
        self.comp.props.get(key).map(|v| v.value.clone())
    }

    /// The value of a required key; an error if it is missing, at the line of a key that looks
    /// like a misspelling of it (`channel` for `channels`) when there is one.
    pub(crate) fn required(&mut self, key: &str) -> Option<String> {
        let v = self.get(key);
        if v.is_none() {
            let near = self
                .comp
                .props
                .keys()
                .find(|k| !self.used.contains(*k) && near_miss(k, key))
                .cloned();
            match near {
                Some(k) => {
                    self.used.insert(k.clone());
                    self.errors += 1;
                    let p = Problem::error(
                        self.comp.origin_of(&k),
                        self.comp.full_key(&k),
                        format!(
                            "unknown key; did you mean `{key}`? (`{key}` is required and missing)"
                        ),
                    );
                    self.problems.push(p);
                }
                None => self.error(key, "required key is missing"),
            }
        }
        v
    }

    /// An integer in `min..=max`, or `default` when absent (and after an error, which names
    /// the range).
    pub(crate) fn u64(&mut self, key: &str, default: u64, min: u64, max: u64) -> u64 {
        let Some(v) = self.get(key) else {
            return default;
        };
        match v.trim().parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => n,
            Ok(n) => {
                self.error(key, format!("must be between {min} and {max}, got {n}"));
                default
            }
            Err(_) => {
                self.error(
                    key,
                    format!("expected a whole number between {min} and {max}, got {v:?}"),
                );
                default
            }
        }
    }

    /// `true` or `false` (any case), or `default` when absent (and after an error).
    pub(crate) fn bool(&mut self, key: &str, default: bool) -> bool {
        let Some(v) = self.get(key) else {
            return default;
        };
        match v.to_ascii_lowercase().as_str() {
            "true" => true,
            "false" => false,
            _ => {
                self.error(key, format!("expected true or false, got {v:?}"));
                default
            }
        }
    }

    /// Warns about every property that was not read. Returns whether no error was reported.
    pub(crate) fn finish(self, what: &str) -> bool {
        let unknown: Vec<String> = self
            .comp
            .props
            .keys()
            .filter(|k| !self.used.contains(*k))
            .filter(|k| !self.used_prefixes.iter().any(|p| k.starts_with(p.as_str())))
            .cloned()
            .collect();
        for k in unknown {
            let hint = did_you_mean(&k, self.used.iter().map(String::as_str));
            let p = Problem::warning(
                self.comp.origin_of(&k),
                self.comp.full_key(&k),
                format!("unknown key for {what}; ignored{hint}"),
            );
            self.problems.push(p);
        }
        self.errors == 0
    }
}

/// ` (did you mean `K`?)` for the first of `known` that `written` looks like a misspelling of
/// ([`near_miss`]), else nothing. A known `prefix.*` matches a written key whose first segment
/// is a misspelling of `prefix` (`mappping.CA` -> `mapping.CA`).
pub(crate) fn did_you_mean<'k>(written: &str, known: impl IntoIterator<Item = &'k str>) -> String {
    let tail = written.split_once('.');
    for k in known {
        match (k.strip_suffix(".*"), tail) {
            (Some(prefix), Some((head, rest))) if near_miss(head, prefix) => {
                return format!(" (did you mean `{prefix}.{rest}`?)");
            }
            (None, _) if near_miss(written, k) => return format!(" (did you mean `{k}`?)"),
            _ => {}
        }
    }
    String::new()
}

/// Whether `written` looks like a misspelling of `known`: another case, a plural `s` added or
/// dropped, or at most two edits apart (for keys longer than four characters).
pub(crate) fn near_miss(written: &str, known: &str) -> bool {
    if written == known {
        return false;
    }
    if written.eq_ignore_ascii_case(known)
        || written.strip_suffix('s') == Some(known)
        || known.strip_suffix('s') == Some(written)
    {
        return true;
    }
    known.len() > 4
        && edit_distance(&written.to_ascii_lowercase(), &known.to_ascii_lowercase()) <= 2
}

/// Levenshtein distance over chars (keys are short: this is O(len²) on tens of chars).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::near_miss;

    #[test]
    fn did_you_mean_names_the_known_key_a_typo_is_closest_to() {
        use super::did_you_mean;
        let known = ["key", "value", "preserveExisting"];
        assert_eq!(did_you_mean("vaule", known), " (did you mean `value`?)");
        assert_eq!(
            did_you_mean("transactioncapacity", ["capacity", "transactionCapacity"]),
            " (did you mean `transactionCapacity`?)"
        );
        assert_eq!(
            did_you_mean("mappping.CA", ["header", "mapping.*"]),
            " (did you mean `mapping.CA`?)"
        );
        assert_eq!(did_you_mean("colour", known), "");
    }

    #[test]
    fn near_misses_are_plurals_case_and_small_typos_only() {
        assert!(near_miss("channel", "channels"));
        assert!(near_miss("channels", "channel"));
        assert!(near_miss("sink.directry", "sink.directory"));
        assert!(near_miss("batchsize", "batchSize"));
        assert!(!near_miss("port", "bind"));
        assert!(!near_miss("type", "type"));
        assert!(!near_miss("sink.rollInterval", "sink.directory"));
    }
}
