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

/// Each section's list of names and where it was set.
type Lists = BTreeMap<Section, (Vec<String>, Origin)>;
/// Each component's properties, by section and name.
type Props = BTreeMap<(Section, String), BTreeMap<String, RawValue>>;

/// Groups the entries of one agent. Keys of other agents are skipped silently.
pub(crate) fn group(entries: &[(String, String, Origin)], agent: &str) -> (RawAgent, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut lists = Lists::new();
    let mut props = Props::new();
    for (key, value, origin) in entries {
        let Some((section, tail)) = section_of(key, value, *origin, agent, &mut problems) else {
            continue;
        };
        match tail {
            None => list_entry(&mut lists, section, key, value, *origin, &mut problems),
            Some(tail) => prop_entry(
                &mut props,
                (section, tail),
                key,
                value,
                *origin,
                &mut problems,
            ),
        }
    }
    let mut raw = RawAgent::default();
    place_listed(&mut raw, &lists, &mut props, agent, &mut problems);
    warn_unlisted(props, agent, &mut problems);
    (raw, problems)
}

/// The section of one of `agent`'s keys and the rest after it (`None` for the section's list
/// itself); `None` for another agent's key, a key to skip (`configfilters`), or a bad one
/// (the problem pushed).
fn section_of<'k>(
    key: &'k str,
    value: &str,
    origin: Origin,
    agent: &str,
    problems: &mut Vec<Problem>,
) -> Option<(Section, Option<&'k str>)> {
    let Some((agent_name, rest)) = key.split_once('.') else {
        problems.push(Problem::error(
            origin,
            key,
            "key without an agent prefix (expected <agent>.<section>...)",
        ));
        return None;
    };
    if agent_name != agent {
        return None;
    }
    if value.is_empty() {
        problems.push(Problem::error(origin, key, "empty value"));
        return None;
    }
    let (word, tail) = match rest.split_once('.') {
        Some((w, t)) => (w, Some(t)),
        None => (rest, None),
    };
    if word == "configfilters" {
        // Read (and checked) by `crate::agent::config::filters`.
        return None;
    }
    let Some(section) = Section::parse(word) else {
        let msg = "unknown key ignored (sections are sources, channels, sinks, sinkgroups, alarms, notifiers, configfilters)";
        problems.push(Problem::warning(origin, key, msg));
        return None;
    };
    Some((section, tail))
}

/// A section's list of names (`<agent>.<section> = a b c`); a second list is an error.
fn list_entry(
    lists: &mut Lists,
    section: Section,
    key: &str,
    value: &str,
    origin: Origin,
    problems: &mut Vec<Problem>,
) {
    if let Some((_, first)) = lists.get(&section) {
        problems.push(Problem::error(
            origin,
            key,
            format!("listed twice (first at line {first}); only one list per section"),
        ));
        return;
    }
    let names: Vec<String> = value.split_whitespace().map(str::to_owned).collect();
    lists.insert(section, (names, origin));
}

/// A component's property (`<agent>.<section>.<name>.<prop> = value`, `tail` being
/// `<name>.<prop>`); a later value wins, with a warning unless it came from the command line.
fn prop_entry(
    props: &mut Props,
    (section, tail): (Section, &str),
    key: &str,
    value: &str,
    origin: Origin,
    problems: &mut Vec<Problem>,
) {
    let Some((name, prop)) = tail
        .split_once('.')
        .filter(|(n, p)| !n.is_empty() && !p.is_empty())
    else {
        problems.push(Problem::warning(
            origin,
            key,
            "no component property in this key; ignored",
        ));
        return;
    };
    let map = props.entry((section, name.to_owned())).or_default();
    let new = RawValue {
        value: value.to_owned(),
        origin,
    };
    if let Some(old) = map.insert(prop.to_owned(), new) {
        if origin != Origin::CommandLine {
            problems.push(Problem::warning(
                origin,
                key,
                format!("also set at line {}; this later value wins", old.origin),
            ));
        }
    }
}

/// Every listed component with its properties (taken out of `props`); a name listed twice
/// is warned about once and kept once.
fn place_listed(
    raw: &mut RawAgent,
    lists: &Lists,
    props: &mut Props,
    agent: &str,
    problems: &mut Vec<Problem>,
) {
    for (section, (names, listed_at)) in lists {
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
}

/// A warning for each configured component no list names, at its first property's line.
fn warn_unlisted(props: Props, agent: &str, problems: &mut Vec<Problem>) {
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
}
