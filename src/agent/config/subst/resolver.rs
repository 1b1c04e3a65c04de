//! The walk of one value: each `${...}` found (nested ones counted to find its `}`), its name
//! resolved inside out, looked up (`env:`, `sys:`, `date:`, `java:`, a key of the file), and
//! the value found resolved again; the chain of keys being resolved catches a cycle, the depth
//! and the file's [`Budget`] bound the work.

use std::collections::BTreeSet;

use super::{cut, shown, Budget, NotFound, Sources, SubstError, SUBST_DEPTH_MAX, WHY_SHOWN_MAX};

/// A resolved value (or why not) and the keys its references read, so that a variable line
/// (`data = /srv`) is not reported as a key without an agent prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resolved {
    /// The value with every `${...}` replaced.
    pub value: Result<String, SubstError>,
    /// Keys of the file read through `${NAME}`, also when resolution failed later.
    pub keys_read: BTreeSet<String>,
}

/// Resolves every `${...}` of `value`, the value of key `key` (a reference back to `key` is
/// a cycle), with a budget of its own.
#[cfg(test)]
pub(crate) fn resolve(key: &str, value: &str, src: &Sources<'_>) -> Resolved {
    resolve_within(key, value, src, &mut Budget::default())
}

/// [`resolve`] spending the file's `budget`.
pub(crate) fn resolve_within(
    key: &str,
    value: &str,
    src: &Sources<'_>,
    budget: &mut Budget,
) -> Resolved {
    let mut r = Resolver {
        src,
        chain: vec![key.to_owned()],
        depth: 0,
        budget,
        keys_read: BTreeSet::new(),
    };
    let value = r.subst(value, key);
    Resolved {
        value,
        keys_read: r.keys_read,
    }
}

struct Resolver<'s, 'a> {
    src: &'s Sources<'a>,
    /// The keys being resolved, outermost first (a cycle comes back to one of them).
    chain: Vec<String>,
    /// How many [`Resolver::variable`] calls are open: the recursion's depth.
    depth: usize,
    budget: &'s mut Budget,
    keys_read: BTreeSet<String>,
}

impl Resolver<'_, '_> {
    /// `s` with its variables replaced; `var` names what `s` is for the budget's error.
    fn subst(&mut self, s: &str, var: &str) -> Result<String, SubstError> {
        self.budget.read(s.len(), var)?;
        let mut out = String::with_capacity(s.len());
        let mut i = 0;
        while i < s.len() {
            let rest = &s[i..];
            if rest.starts_with("$${") {
                out.push_str("${");
                i += 3;
            } else if rest.starts_with("${") {
                let end = closing(s, i + 2).ok_or(SubstError::Unclosed { at: i })?;
                let inner = &s[i + 2..end];
                if self.is_filter_ref(inner) {
                    out.push_str(&s[i..=end]);
                } else {
                    out.push_str(&self.variable(inner)?);
                }
                i = end + 1;
            } else {
                let c = rest.chars().next().unwrap_or_default();
                out.push(c);
                i += c.len_utf8().max(1);
            }
        }
        Ok(out)
    }

    /// The value of one `${inner}`: the depth is checked before anything recurses.
    fn variable(&mut self, inner: &str) -> Result<String, SubstError> {
        if self.depth >= SUBST_DEPTH_MAX {
            return Err(SubstError::TooDeep { var: shown(inner) });
        }
        self.budget.lookup(inner)?;
        self.depth += 1;
        let v = self.variable_within(inner);
        self.depth -= 1;
        v
    }

    /// [`Resolver::variable`] one level down.
    fn variable_within(&mut self, inner: &str) -> Result<String, SubstError> {
        let expr = self.subst(inner, inner)?;
        let (name, default) = match expr.split_once(":-") {
            Some((n, d)) => (n.to_owned(), Some(d.to_owned())),
            None => (expr.clone(), None),
        };
        if self.chain.contains(&name) {
            let mut chain = self.chain.clone();
            chain.push(name.clone());
            return Err(SubstError::Cycle {
                var: shown(&name),
                chain: chain
                    .iter()
                    .map(|k| shown(k))
                    .collect::<Vec<_>>()
                    .join(" -> "),
            });
        }
        match self.lookup(&name)? {
            Ok(raw) => {
                self.chain.push(name);
                let v = self.subst(&raw, &expr);
                self.chain.pop();
                v
            }
            Err(_) if default.is_none() && self.src.keep_bare && !name.contains(':') => {
                Ok(format!("${{{expr}}}"))
            }
            Err(why) => default.ok_or_else(|| SubstError::Unresolved {
                var: shown(&expr),
                why: cut(&why.0, WHY_SHOWN_MAX),
            }),
        }
    }

    /// `Ok(Ok(raw value))`, `Ok(Err(what was looked at))` when nothing has it.
    fn lookup(&mut self, name: &str) -> Result<Result<String, NotFound>, SubstError> {
        let Some((prefix, rest)) = name.split_once(':') else {
            return Ok(self.bare(name));
        };
        let found = match prefix.to_ascii_lowercase().as_str() {
            "env" => (self.src.env)(rest)
                .ok_or(NotFound(format!("environment variable {rest} is not set"))),
            "sys" => self.src.sys.get(rest).cloned().ok_or(NotFound(format!(
                "system property {rest} is not set (Sluice: a -D{rest}=VALUE define)"
            ))),
            "date" => {
                return (self.src.date)(rest)
                    .map(Ok)
                    .map_err(|why| SubstError::Refused {
                        var: name.into(),
                        why: why.to_string(),
                    })
            }
            "java" => {
                return Err(SubstError::Refused {
                    var: name.into(),
                    why: "java: lookups describe a JVM, and Sluice's agent is none".into(),
                })
            }
            other => Err(NotFound(format!(
                "{other}: is no lookup (Flume 1.11 has env, sys, java and date)"
            ))),
        };
        // Commons Text's interpolator falls back to the default lookup with the rest.
        Ok(match found {
            Ok(v) => Ok(v),
            Err(why) => self
                .bare(rest)
                .map_err(|also| NotFound(format!("{why}, and {also}"))),
        })
    }

    /// A bare name: a key of the file (or the environment in `EnvVarResolverProperties` mode).
    fn bare(&mut self, name: &str) -> Result<String, NotFound> {
        if let Some(v) = self.src.keys.get(name) {
            self.keys_read.insert(name.to_owned());
            return Ok(v.clone());
        }
        if self.src.bare_env {
            return (self.src.env)(name).ok_or(NotFound(format!(
                "no key {name} in the file and no environment variable {name}"
            )));
        }
        Err(NotFound(format!("no key {name} in the file")))
    }

    fn is_filter_ref(&self, inner: &str) -> bool {
        inner
            .split_once('[')
            .is_some_and(|(f, tail)| tail.ends_with(']') && self.src.filters.contains(f))
    }
}

/// The index of the `}` closing a `${` whose inside starts at `from` (nested `${` counted).
fn closing(s: &str, from: usize) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut depth = 0usize;
    let mut i = from;
    while i < bytes.len() {
        match bytes.get(i..i + 2) {
            Some(b"${") => {
                depth += 1;
                i += 2;
                continue;
            }
            _ if bytes[i] == b'}' => {
                if depth == 0 {
                    return Some(i);
                }
                depth -= 1;
            }
            _ => {}
        }
        i += 1;
    }
    None
}
