//! Loading one agent: the grammar of `crate::agent::config` read into typed components
//! through the registry (each component parses its own keys), then the wiring checked
//! (dangling channel and sink references, batch sizes against `transactionCapacity`,
//! colliding file channel directories, unused channels).

use std::collections::{BTreeMap, BTreeSet};

use super::checks::cross_checks;
use super::graph::{AgentConfig, ChannelConfig, Loaded, SinkConfig, SinkGroupConfig, SourceConfig};
use crate::agent::alarm::config as alarms;
use crate::agent::config::raw::{RawAgent, RawComponent, Section};
use crate::agent::config::{ctx, has_errors, read, ConfFile, Problem};
use crate::agent::registry::{self, ChannelKind, Entry, SinkKind, SourceKind};
use crate::agent::sink::poison;
use crate::agent::{id_trust, interceptor, processor, selector};

/// Loads agent `agent` from properties text; `overrides` are `-D` pairs whose key starts with
/// `<agent>.` (others are ignored here) and win over the file.
pub fn load(text: &str, agent: &str, overrides: &[(String, String)]) -> Loaded {
    let file = ConfFile {
        name: String::new(),
        text: text.to_owned(),
    };
    load_files(&[file], agent, overrides)
}

/// [`load`] of several files read in order: a key a later file sets replaces the earlier
/// files' value (`config::files`); problems name the file by its index (`Problem::render_in`).
pub fn load_files(files: &[ConfFile], agent: &str, overrides: &[(String, String)]) -> Loaded {
    let (raw, reading) = read::read_files(files, agent, overrides);
    let mut problems = reading.problems;
    let first_component_problem = problems.len();
    let mut cfg = AgentConfig {
        name: agent.to_owned(),
        ..AgentConfig::default()
    };
    cfg.channels = channels(&raw, &mut problems);
    let channel_names: BTreeSet<String> = raw
        .section(Section::Channels)
        .map(|c| c.name.clone())
        .collect();
    for comp in raw.section(Section::Sources) {
        if let Some(s) = source(comp, &channel_names, &mut problems) {
            cfg.sources.insert(comp.name.clone(), s);
        }
    }
    for comp in raw.section(Section::Sinks) {
        if let Some(s) = sink(comp, &channel_names, &cfg.channels, &mut problems) {
            cfg.sinks.insert(comp.name.clone(), s);
        }
    }
    cfg.sinkgroups = sink_groups(&raw, agent, &mut problems);
    cfg.alarms = alarms::build(&raw, &mut problems);
    cross_checks(&raw, &cfg, agent, &mut problems);
    // A value that could not be resolved was reported as such; what its parser says about
    // the unresolved text (`${env:PORT}` is no port) is noise.
    let mut i = 0;
    problems.retain(|p| {
        i += 1;
        i <= first_component_problem || !reading.failed.contains(&p.key)
    });
    problems.sort_by_key(|p| p.origin);
    let config = (!has_errors(&problems)).then_some(cfg);
    Loaded { config, problems }
}

/// The channels without an error. One with an error is left out: its refused values were
/// replaced by defaults, which would make the batch-size checks against it say wrong things.
fn channels(raw: &RawAgent, problems: &mut Vec<Problem>) -> BTreeMap<String, ChannelConfig> {
    let mut out = BTreeMap::new();
    for comp in raw.section(Section::Channels) {
        if let Some((kind, true)) = typed(
            comp,
            registry::CHANNELS,
            None,
            "channel",
            problems,
            |cx, e| (e.parse)(cx),
        ) {
            let props = comp.plain();
            out.insert(comp.name.clone(), ChannelConfig { kind, props });
        }
    }
    out
}

/// The sink groups: each names defined sinks, none in two groups, and a processor.
fn sink_groups(
    raw: &RawAgent,
    agent: &str,
    problems: &mut Vec<Problem>,
) -> BTreeMap<String, SinkGroupConfig> {
    let sink_names: BTreeSet<String> = raw
        .section(Section::Sinks)
        .map(|c| c.name.clone())
        .collect();
    let mut grouped: BTreeMap<String, String> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for comp in raw.section(Section::SinkGroups) {
        let mut cx = ctx::Ctx::new(comp, problems);
        let sinks: Vec<String> = match cx.required("sinks") {
            Some(v) => v.split_whitespace().map(str::to_owned).collect(),
            None => Vec::new(),
        };
        for s in &sinks {
            if !sink_names.contains(s) {
                cx.error("sinks", format!("sink {s} is not defined in {agent}.sinks"));
            } else if let Some(other) = grouped.insert(s.clone(), comp.name.clone()) {
                cx.error(
                    "sinks",
                    format!("sink {s} is already in sink group {other}"),
                );
            }
        }
        let processor = processor::config::parse(&mut cx, &sinks);
        if cx.finish("a sink group") {
            if let Some(processor) = processor {
                let props = comp.plain();
                let g = SinkGroupConfig {
                    sinks,
                    processor,
                    props,
                };
                out.insert(comp.name.clone(), g);
            }
        }
    }
    out
}

/// Builds one component with `f`: its settings and whether it had no error. Settings built
/// despite an error (a parser reads every key and returns what it can, with defaults in place
/// of refused values) are kept for the cross-component checks only: an error anywhere makes
/// [`load`] return no configuration.
fn typed<K, T>(
    comp: &RawComponent,
    table: &'static [Entry<K>],
    java: Option<&'static Entry<K>>,
    what: &str,
    problems: &mut Vec<Problem>,
    f: impl FnOnce(&mut ctx::Ctx<'_>, &'static Entry<K>) -> Option<T>,
) -> Option<(T, bool)> {
    let mut cx = ctx::Ctx::new(comp, problems);
    let t = cx.required("type")?;
    // A Java class name that is none of Sluice's types: a Flume plugin (registry/plugins.rs).
    let plugin = java.filter(|_| crate::agent::component::is_class_name(&t));
    let Some(entry) = registry::find(table, &t).or(plugin) else {
        let custom = if t.contains('.') || t.starts_with(|c: char| c.is_ascii_uppercase()) {
            "; a Java plugin's type is its full class name (docs/java-plugins.md)"
        } else {
            ""
        };
        cx.error(
            "type",
            format!(
                "unknown {what} type {t:?}{custom}; supported: {}",
                registry::supported(table)
            ),
        );
        return None;
    };
    let short = entry.name;
    let kind = f(&mut cx, entry);
    let ok = cx.finish(&format!("a {short} {what}"));
    kind.map(|k| (k, ok))
}

fn source(
    comp: &RawComponent,
    channels: &BTreeSet<String>,
    problems: &mut Vec<Problem>,
) -> Option<SourceConfig> {
    let mut wiring = None;
    let kind = typed(
        comp,
        registry::SOURCES,
        Some(&registry::JAVA_SOURCE),
        "source",
        problems,
        |cx, e| {
            let kind: Option<SourceKind> = (e.parse)(cx);
            let list: Vec<String> = match cx.required("channels") {
                Some(v) => v.split_whitespace().map(str::to_owned).collect(),
                None => Vec::new(),
            };
            for c in &list {
                if !channels.contains(c) {
                    cx.error(
                        "channels",
                        format!("channel {c} is not defined in the channels list"),
                    );
                }
            }
            let selector = selector::config::parse(cx, &list);
            let interceptors = interceptor::config::parse(cx);
            let trust = cx.bool(id_trust::TRUST_KEY, id_trust::trusted_by_default(e.name));
            wiring = Some((list, selector, interceptors, trust));
            kind
        },
    )?
    .0;
    let (channels, selector, interceptors, trust_ids) = wiring?;
    let selector = selector?;
    Some(SourceConfig {
        kind,
        channels,
        selector,
        interceptors,
        trust_ids,
        props: comp.plain(),
    })
}

fn sink(
    comp: &RawComponent,
    channels: &BTreeSet<String>,
    channel_cfgs: &BTreeMap<String, ChannelConfig>,
    problems: &mut Vec<Problem>,
) -> Option<SinkConfig> {
    let mut channel: Option<String> = None;
    let mut dead_letter = None;
    let kind = typed(
        comp,
        registry::SINKS,
        Some(&registry::JAVA_SINK),
        "sink",
        problems,
        |cx, e| {
            let kind: Option<SinkKind> = (e.parse)(cx);
            dead_letter = Some(poison::dead_letter::parse(cx));
            if let Some(c) = cx.required("channel") {
                if c.split_whitespace().count() != 1 {
                    cx.error(
                        "channel",
                        format!("a sink reads exactly one channel, got {c:?}"),
                    );
                } else if !channels.contains(&c) {
                    cx.error(
                        "channel",
                        format!("channel {c} is not defined in the channels list"),
                    );
                } else {
                    channel = Some(c);
                }
            }
            kind
        },
    )?
    .0;
    let channel = channel?;
    let checkpoint_dir = match channel_cfgs.get(&channel).map(|c| &c.kind) {
        Some(ChannelKind::File(fc)) => Some(fc.checkpoint_dir.as_path()),
        _ => None,
    };
    let dead_letter = dead_letter?.resolve(checkpoint_dir);
    let mut kind = kind;
    if let SinkKind::Nats(n) = &mut kind {
        n.beside_channel(checkpoint_dir);
    }
    Some(SinkConfig {
        kind,
        channel,
        dead_letter,
        props: comp.plain(),
    })
}
