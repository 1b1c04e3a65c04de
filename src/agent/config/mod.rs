//! Flume-compatible agent configuration: a `.properties` file (plus `-D` overrides) to a
//! typed [`AgentConfig`], with every problem reported by line and full key.
//!
//! Stages: [`properties`] (text to entries with line numbers) -> [`raw`] (the
//! `<agent>.<section>.<component>.<property>` grammar) -> typed components ([`build`],
//! [`routing`]) -> cross-component checks (dangling references, batch sizes).

pub mod alarms;
pub mod build;
pub mod ctx;
pub mod dirs;
pub mod duration;
pub mod limits;
pub mod net;
pub mod problem;
pub mod properties;
pub mod raw;
pub mod routing;
pub mod tls;
pub mod types;

use std::collections::{BTreeMap, BTreeSet};

use crate::agent::component::Props;
use crate::agent::processor::SinkProcessorConfig;
use crate::agent::selector::ChannelSelector;
pub use problem::{has_errors, Origin, Problem, Severity};
use raw::{RawComponent, Section};
pub use routing::InterceptorSpec;
use types::{resolve, supported, TypeTable, CHANNEL_TYPES, SINK_TYPES, SOURCE_TYPES};
pub use types::{ChannelKind, SinkKind, SourceKind};

/// A source: its settings, channels and routing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceConfig {
    /// Its own settings.
    pub kind: SourceKind,
    /// `channels`, in order.
    pub channels: Vec<String>,
    /// The channel selector.
    pub selector: ChannelSelector,
    /// The interceptor chain.
    pub interceptors: Vec<InterceptorSpec>,
    /// Every property as written (a change restarts the source).
    pub props: Props,
}

/// A channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelConfig {
    /// Its settings.
    pub kind: ChannelKind,
    /// Every property as written.
    pub props: Props,
}

/// A sink.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SinkConfig {
    /// Its settings.
    pub kind: SinkKind,
    /// `channel`.
    pub channel: String,
    /// `deadLetter.directory` (Sluice): where poison events are written; `None` drops them.
    pub dead_letter: Option<std::path::PathBuf>,
    /// Every property as written.
    pub props: Props,
}

/// A sink group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SinkGroupConfig {
    /// `sinks`, in order.
    pub sinks: Vec<String>,
    /// The sink processor.
    pub processor: SinkProcessorConfig,
    /// Every property as written (a change restarts the group).
    pub props: Props,
}

/// One agent's configuration, every reference checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgentConfig {
    /// The agent name.
    pub name: String,
    /// Sources by name.
    pub sources: BTreeMap<String, SourceConfig>,
    /// Channels by name.
    pub channels: BTreeMap<String, ChannelConfig>,
    /// Sinks by name.
    pub sinks: BTreeMap<String, SinkConfig>,
    /// Sink groups by name.
    pub sinkgroups: BTreeMap<String, SinkGroupConfig>,
    /// Alarm rules and notifiers (`<agent>.alarms`, `<agent>.notifiers`).
    pub alarms: alarms::AlarmsConfig,
}

/// The result of loading: the configuration (when there is no error) and every problem.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The typed configuration, if no problem is an error.
    pub config: Option<AgentConfig>,
    /// Problems in file order.
    pub problems: Vec<Problem>,
}

/// Loads agent `agent` from properties text; `overrides` are `-D` pairs whose key starts with
/// `<agent>.` (others are ignored here) and win over the file.
pub fn load(text: &str, agent: &str, overrides: &[(String, String)]) -> Loaded {
    let parsed = properties::parse(text);
    let prefix = format!("{agent}.");
    let mut problems: Vec<Problem> = parsed
        .iter()
        .filter(|e| e.key.starts_with(&prefix))
        .filter_map(comment_hint)
        .collect();
    let mut entries: Vec<(String, String, Origin)> = parsed
        .into_iter()
        .map(|e| (e.key, e.value, Origin::Line(e.line)))
        .collect();
    for (k, v) in overrides {
        if k.starts_with(&prefix) {
            entries.push((
                k.trim().to_owned(),
                v.trim().to_owned(),
                Origin::CommandLine,
            ));
        }
    }
    let (raw, grouping) = raw::group(&entries, agent);
    problems.extend(grouping);
    let mut cfg = AgentConfig {
        name: agent.to_owned(),
        ..AgentConfig::default()
    };
    for comp in raw.section(Section::Channels) {
        // A channel with an error is left out: its refused values were replaced by defaults,
        // which would make the batch-size checks against it say wrong things.
        if let Some((kind, true)) = typed(
            comp,
            CHANNEL_TYPES,
            "channel",
            &mut problems,
            build::channel,
        ) {
            let props = comp.plain();
            cfg.channels
                .insert(comp.name.clone(), ChannelConfig { kind, props });
        }
    }
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
        if let Some(s) = sink(comp, &channel_names, &mut problems) {
            cfg.sinks.insert(comp.name.clone(), s);
        }
    }
    let sink_names: BTreeSet<String> = raw
        .section(Section::Sinks)
        .map(|c| c.name.clone())
        .collect();
    let mut grouped: BTreeMap<String, String> = BTreeMap::new();
    for comp in raw.section(Section::SinkGroups) {
        let mut cx = ctx::Ctx::new(comp, &mut problems);
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
        let processor = routing::processor(&mut cx, &sinks);
        if cx.finish("a sink group") {
            if let Some(processor) = processor {
                let props = comp.plain();
                let g = SinkGroupConfig {
                    sinks,
                    processor,
                    props,
                };
                cfg.sinkgroups.insert(comp.name.clone(), g);
            }
        }
    }
    cfg.alarms = alarms::build(&raw, &mut problems);
    cross_checks(&raw, &cfg, agent, &mut problems);
    problems.sort_by_key(|p| p.origin);
    let config = (!has_errors(&problems)).then_some(cfg);
    Loaded { config, problems }
}

/// Builds one component with `f`: its settings and whether it had no error. Settings built
/// despite an error (a builder reads every key and returns what it can, with defaults in place
/// of refused values) are kept for the cross-component checks only: an error anywhere makes
/// [`load`] return no configuration.
fn typed<T>(
    comp: &RawComponent,
    table: TypeTable,
    what: &str,
    problems: &mut Vec<Problem>,
    f: impl FnOnce(&mut ctx::Ctx<'_>, &str) -> Option<T>,
) -> Option<(T, bool)> {
    let mut cx = ctx::Ctx::new(comp, problems);
    let t = cx.required("type")?;
    let java = resolve(table, &t).is_none() && crate::agent::java::is_class_name(&t);
    let Some(short) = resolve(table, &t).or(java.then_some("java")) else {
        // A Java class name (`org.example.MySource`, `MySink`): custom Flume components.
        let custom = if t.contains('.') || t.starts_with(|c: char| c.is_ascii_uppercase()) {
            "; a Java plugin's type is its full class name (docs/java-plugins.md)"
        } else {
            ""
        };
        cx.error(
            "type",
            format!(
                "unknown {what} type {t:?}{custom}; supported: {}",
                supported(table)
            ),
        );
        return None;
    };
    let kind = f(&mut cx, short);
    let ok = cx.finish(&format!("a {short} {what}"));
    kind.map(|k| (k, ok))
}

fn source(
    comp: &RawComponent,
    channels: &BTreeSet<String>,
    problems: &mut Vec<Problem>,
) -> Option<SourceConfig> {
    let mut wiring = None;
    let kind = typed(comp, SOURCE_TYPES, "source", problems, |cx, short| {
        let kind = build::source(cx, short);
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
        let selector = routing::selector(cx, &list);
        let interceptors = routing::interceptors(cx);
        wiring = Some((list, selector, interceptors));
        kind
    })?
    .0;
    let (channels, selector, interceptors) = wiring?;
    let selector = selector?;
    Some(SourceConfig {
        kind,
        channels,
        selector,
        interceptors,
        props: comp.plain(),
    })
}

fn sink(
    comp: &RawComponent,
    channels: &BTreeSet<String>,
    problems: &mut Vec<Problem>,
) -> Option<SinkConfig> {
    let mut channel = None;
    let mut dead_letter = None;
    let kind = typed(comp, SINK_TYPES, "sink", problems, |cx, short| {
        let kind = build::sink(cx, short);
        dead_letter = build::dead_letter(cx);
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
    })?
    .0;
    Some(SinkConfig {
        kind,
        channel: channel?,
        dead_letter,
        props: comp.plain(),
    })
}

fn cross_checks(raw: &raw::RawAgent, cfg: &AgentConfig, agent: &str, problems: &mut Vec<Problem>) {
    let comp = |s: Section, n: &str| raw.sections.get(&s).and_then(|m| m.get(n));
    if raw.section(Section::Channels).next().is_none() {
        problems.push(Problem::error(
            Origin::Line(1),
            format!("{agent}.channels"),
            format!("agent {agent} has no channels (is -n {agent} the right agent name?)"),
        ));
    }
    if raw.section(Section::Sources).next().is_none()
        && raw.section(Section::Sinks).next().is_none()
    {
        problems.push(Problem::error(
            Origin::Line(1),
            format!("{agent}.sources"),
            format!("agent {agent} has no sources and no sinks"),
        ));
    }
    for (name, g) in &cfg.sinkgroups {
        let java: Vec<&String> = g
            .sinks
            .iter()
            .filter(|s| matches!(cfg.sinks.get(*s).map(|c| &c.kind), Some(SinkKind::Java(_))))
            .collect();
        if let (Some(first), Some(rc)) = (java.first(), comp(Section::SinkGroups, name)) {
            if g.sinks.len() > 1 {
                problems.push(Problem::error(
                    rc.origin_of("sinks"),
                    rc.full_key("sinks"),
                    format!(
                        "sink {first} is a Java plugin; Java sinks run alone, not in a sink group"
                    ),
                ));
            }
        }
    }
    for (name, s) in &cfg.sinks {
        let (Some(ch), Some(rc)) = (cfg.channels.get(&s.channel), comp(Section::Sinks, name))
        else {
            continue;
        };
        let (batch, cap) = (s.kind.batch_size() as u64, ch.kind.transaction_capacity());
        let key = batch_key(&s.kind);
        if batch > cap && !has_error_at(problems, &rc.full_key(key)) {
            problems.push(Problem::error(
                rc.origin_of(key),
                rc.full_key(key),
                format!(
                    "batch size {batch} exceeds transactionCapacity {cap} of channel {}",
                    s.channel
                ),
            ));
        }
    }
    for (name, s) in &cfg.sources {
        let Some(rc) = comp(Section::Sources, name) else {
            continue;
        };
        for c in &s.channels {
            let Some(ch) = cfg.channels.get(c) else {
                continue;
            };
            if let (SourceKind::SpoolDir(sd), ChannelKind::File(_)) = (&s.kind, &ch.kind) {
                let key = "deserializer.maxBlobLength";
                if let Some(m) =
                    crate::agent::source::spooldir::config::blob_over_file_channel(sd, c)
                {
                    problems.push(Problem::warning(rc.origin_of(key), rc.full_key(key), m));
                }
            }
            let (batch, cap) = (s.kind.batch_size() as u64, ch.kind.transaction_capacity());
            if batch > cap && !has_error_at(problems, &rc.full_key("batchSize")) {
                problems.push(Problem::error(
                    rc.origin_of("batchSize"),
                    rc.full_key("batchSize"),
                    format!("batch size {batch} exceeds transactionCapacity {cap} of channel {c}"),
                ));
            }
        }
    }
    dirs::check(raw, cfg, problems);
    // Wiring as written (`channel` or `channels`, even misspelt), so a source or sink refused
    // for another reason (an unsupported type, a misspelt key) still counts as a user.
    let names = |c: &RawComponent| -> Vec<String> {
        ["channels", "channel"]
            .iter()
            .filter_map(|k| c.props.get(*k))
            .flat_map(|v| {
                v.value
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    for rc in raw.section(Section::Channels) {
        let used = raw
            .section(Section::Sources)
            .chain(raw.section(Section::Sinks))
            .any(|c| names(c).contains(&rc.name));
        if !used && cfg.channels.contains_key(&rc.name) {
            problems.push(Problem::warning(
                rc.listed_at,
                rc.full_key("").trim_end_matches('.').to_owned(),
                "no source or sink uses this channel",
            ));
        }
    }
}

/// The end-of-line comment hint: Java properties (so Flume) keep ` # ...` in the value.
fn comment_hint(e: &properties::Entry) -> Option<Problem> {
    let at = [" #", "\t#", " !", "\t!"]
        .iter()
        .filter_map(|m| e.value.find(m))
        .min()?;
    Some(Problem::warning(
        Origin::Line(e.line),
        e.key.as_str(),
        format!(
            "this looks like an end-of-line comment ({:?}); properties files only allow \
             comments on their own line, so it is read as part of the value: move it to a line \
             of its own",
            e.value[at..].trim_start()
        ),
    ))
}

/// Whether an error was already reported at `full_key` (a refused batch size falls back to
/// its default, which must not be reported a second time against a channel).
fn has_error_at(problems: &[Problem], full_key: &str) -> bool {
    problems
        .iter()
        .any(|p| p.severity == Severity::Error && p.key == full_key)
}

fn batch_key(kind: &SinkKind) -> &'static str {
    match kind {
        SinkKind::FileRoll(_) => "sink.batchSize",
        SinkKind::Hdfs(_) => "hdfs.batchSize",
        SinkKind::Avro(_) => "batch-size",
        SinkKind::Kafka(_) => "flumeBatchSize",
        _ => "batchSize",
    }
}
