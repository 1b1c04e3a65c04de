//! Flume's key grammar: splits `<agent>.<section>.<component>.<property>` keys into the
//! listed components of one agent, each with its properties and where each came from.

use std::collections::BTreeMap;

use super::problem::{Origin, Problem};

/// The four component sections of an agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Section {
    /// `sources`
    Sources,
    /// `channels`
    Channels,
    /// `sinks`
    Sinks,
    /// `sinkgroups`
    SinkGroups,
    /// `alarms` (Sluice: alarm rules, `crate::agent::alarm::config`)
    Alarms,
    /// `notifiers` (Sluice: where alarms are sent, `crate::agent::alarm::config`)
    Notifiers,
}

impl Section {
    /// Every section, in start order of the runtime's dependencies.
    pub(crate) const ALL: [Section; 4] = [
        Section::Channels,
        Section::Sinks,
        Section::SinkGroups,
        Section::Sources,
    ];

    /// The key word.
    pub(crate) fn word(self) -> &'static str {
        match self {
            Section::Sources => "sources",
            Section::Channels => "channels",
            Section::Sinks => "sinks",
            Section::SinkGroups => "sinkgroups",
            Section::Alarms => "alarms",
            Section::Notifiers => "notifiers",
        }
    }

    fn parse(word: &str) -> Option<Section> {
        Section::ALL
            .into_iter()
            .chain([Section::Alarms, Section::Notifiers])
            .find(|s| s.word() == word)
    }
}

/// A value and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RawValue {
    /// The trimmed value.
    pub value: String,
    /// File line or command line.
    pub origin: Origin,
}

/// One listed component: its properties relative to it (`type`, `channels`, `sink.directory`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RawComponent {
    /// The component name.
    pub name: String,
    /// Its section.
    pub section: Section,
    /// Where it is listed (`a1.sources = r1`).
    pub listed_at: Origin,
    /// Its properties.
    pub props: BTreeMap<String, RawValue>,
    /// `<agent>.<section>.<name>.`, to rebuild full keys.
    pub key_prefix: String,
}

impl RawComponent {
    /// The full key of a property.
    pub(crate) fn full_key(&self, prop: &str) -> String {
        format!("{}{prop}", self.key_prefix)
    }

    /// Where a property came from, or where the component is listed if it is absent.
    pub(crate) fn origin_of(&self, prop: &str) -> Origin {
        self.props
            .get(prop)
            .map(|v| v.origin)
            .unwrap_or(self.listed_at)
    }

    /// The properties as a plain map (for component constructors and change detection).
    pub(crate) fn plain(&self) -> BTreeMap<String, String> {
        self.props
            .iter()
            .map(|(k, v)| (k.clone(), v.value.clone()))
            .collect()
    }
}

/// An agent's listed components, by section and name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct RawAgent {
    /// Components by section, then by name (only listed ones).
    pub sections: BTreeMap<Section, BTreeMap<String, RawComponent>>,
}

impl RawAgent {
    /// The components of a section.
    pub(crate) fn section(&self, s: Section) -> impl Iterator<Item = &RawComponent> {
        self.sections.get(&s).into_iter().flat_map(|m| m.values())
    }
}

/// Groups the entries of one agent. Keys of other agents are skipped silently.
pub(crate) fn group(entries: &[(String, String, Origin)], agent: &str) -> (RawAgent, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut lists: BTreeMap<Section, (Vec<String>, Origin)> = BTreeMap::new();
    let mut props: BTreeMap<(Section, String), BTreeMap<String, RawValue>> = BTreeMap::new();
    for (key, value, origin) in entries {
        let Some((agent_name, rest)) = key.split_once('.') else {
            problems.push(Problem::error(
                *origin,
                key.as_str(),
                "key without an agent prefix (expected <agent>.<section>...)",
            ));
            continue;
        };
        if agent_name != agent {
            continue;
        }
        if value.is_empty() {
            problems.push(Problem::error(*origin, key.as_str(), "empty value"));
            continue;
        }
        let (word, tail) = match rest.split_once('.') {
            Some((w, t)) => (w, Some(t)),
            None => (rest, None),
        };
        if word == "configfilters" {
            // Read (and checked) by `crate::agent::config::filters`.
            continue;
        }
        let Some(section) = Section::parse(word) else {
            let msg = "unknown key ignored (sections are sources, channels, sinks, sinkgroups, alarms, notifiers, configfilters)";
            problems.push(Problem::warning(*origin, key.as_str(), msg));
            continue;
        };
        match tail {
            None => {
                if let Some((_, first)) = lists.get(&section) {
                    problems.push(Problem::error(
                        *origin,
                        key.as_str(),
                        format!("listed twice (first at line {first}); only one list per section"),
                    ));
                    continue;
                }
                let names: Vec<String> = value.split_whitespace().map(str::to_owned).collect();
                lists.insert(section, (names, *origin));
            }
            Some(tail) => {
                let Some((name, prop)) = tail
                    .split_once('.')
                    .filter(|(n, p)| !n.is_empty() && !p.is_empty())
                else {
                    problems.push(Problem::warning(
                        *origin,
                        key.as_str(),
                        "no component property in this key; ignored",
                    ));
                    continue;
                };
                let map = props.entry((section, name.to_owned())).or_default();
                let new = RawValue {
                    value: value.clone(),
                    origin: *origin,
                };
                if let Some(old) = map.insert(prop.to_owned(), new) {
                    if *origin != Origin::CommandLine {
                        problems.push(Problem::warning(
                            *origin,
                            key.as_str(),
                            format!("also set at line {}; this later value wins", old.origin),
                        ));
                    }
                }
            }
        }
    }
    let mut raw = RawAgent::default();
    for (section, (names, listed_at)) in &lists {
        let list_key = format!("{agent}.{}", section.word());
        let comps = raw.sections.entry(*section).or_default();
        for name in names {
            if comps.contains_key(name) {
                problems.push(Problem::warning(
                    *listed_at,
                    list_key.as_str(),
                    format!("{name} is listed twice"),
                ));
                continue;
            }
            let key_prefix = format!("{list_key}.{name}.");
            let p = props.remove(&(*section, name.clone())).unwrap_or_default();
            comps.insert(
                name.clone(),
                RawComponent {
                    name: name.clone(),
                    section: *section,
                    listed_at: *listed_at,
                    props: p,
                    key_prefix,
                },
            );
        }
    }
    for ((section, name), leftover) in props {
        let origin = leftover
            .values()
            .map(|v| v.origin)
            .min()
            .unwrap_or(Origin::CommandLine);
        problems.push(Problem::warning(
            origin,
            format!("{agent}.{}.{name}", section.word()),
            format!(
                "{name} is configured but not listed in {agent}.{}; ignored",
                section.word()
            ),
        ));
    }
    (raw, problems)
}
