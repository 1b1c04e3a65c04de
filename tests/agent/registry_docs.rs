//! The docs name exactly the components the registry has: the component table of
//! docs/coming-from-flume.md (its "exists" column equals the registry, per kind, and its "not
//! yet" column names none of it), and the reference pages docs/configuration.md and
//! docs/components.md (every `### \`type\` (\`class\`)` heading and every row of a
//! "Type | Java class" table is a registry row, and every registry row is documented there).
//! The README's "What is in the box" line lists exactly the registry's sources, channels and
//! sinks. The checkers are tested on planted mismatches, so a test that cannot fail is not one.

use std::collections::BTreeSet;

use sluice::agent::component::TypeTable;
use sluice::agent::registry::{self, Entry};

/// A component kind, as the docs name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Source,
    Channel,
    Sink,
    Interceptor,
    Selector,
    Processor,
}

impl Kind {
    const ALL: [Kind; 6] = [
        Kind::Source,
        Kind::Channel,
        Kind::Sink,
        Kind::Interceptor,
        Kind::Selector,
        Kind::Processor,
    ];

    /// The row label of coming-from-flume.md's component table.
    fn label(self) -> &'static str {
        match self {
            Kind::Source => "sources",
            Kind::Channel => "channels",
            Kind::Sink => "sinks",
            Kind::Interceptor => "interceptors",
            Kind::Selector => "channel selectors",
            Kind::Processor => "sink processors",
        }
    }
}

/// One registry row: (kind, Flume short name, Java class name).
type Row = (Kind, String, String);

fn entries<K>(kind: Kind, table: &'static [Entry<K>]) -> Vec<Row> {
    table
        .iter()
        .map(|e| (kind, e.name.to_owned(), e.class.to_owned()))
        .collect()
}

fn types(kind: Kind, table: TypeTable) -> Vec<Row> {
    table
        .iter()
        .map(|(n, c)| (kind, (*n).to_owned(), (*c).to_owned()))
        .collect()
}

/// Every component type the binary runs, read from the registry.
fn registry_rows() -> Vec<Row> {
    let mut rows = entries(Kind::Source, registry::SOURCES);
    rows.extend(entries(Kind::Channel, registry::CHANNELS));
    rows.extend(entries(Kind::Sink, registry::SINKS));
    rows.extend(types(Kind::Interceptor, registry::INTERCEPTORS));
    rows.extend(types(Kind::Selector, registry::SELECTORS));
    rows.extend(types(Kind::Processor, registry::PROCESSORS));
    rows
}

/// The words between backticks, in order.
fn ticked(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// The cells of a table row (`| a | b |` -> `["a", "b"]`).
fn cells(line: &str) -> Vec<&str> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    inner.split('|').map(str::trim).collect()
}

/// What is wrong with coming-from-flume.md's component table (`page` is the whole page).
fn check_flume_table(page: &str, rows: &[Row]) -> Vec<String> {
    let mut out = Vec::new();
    let Some(start) = page.find("\n## Components\n") else {
        return vec!["no \"## Components\" section".to_owned()];
    };
    let section = &page[start + 1..];
    let end = section[3..].find("\n## ").map_or(section.len(), |i| i + 3);
    let section = &section[..end];
    for kind in Kind::ALL {
        let line = section
            .lines()
            .find(|l| cells(l).first() == Some(&kind.label()) && l.trim_start().starts_with('|'));
        let Some(line) = line else {
            out.push(format!("the component table has no `{}` row", kind.label()));
            continue;
        };
        let c = cells(line);
        let exists: BTreeSet<&str> = ticked(c.get(1).copied().unwrap_or(""))
            .into_iter()
            .collect();
        let not_yet: BTreeSet<&str> = ticked(c.get(2).copied().unwrap_or(""))
            .into_iter()
            .collect();
        let have: BTreeSet<&str> = rows
            .iter()
            .filter(|r| r.0 == kind)
            .map(|r| r.1.as_str())
            .collect();
        for n in exists.difference(&have) {
            out.push(format!(
                "{}: the table says `{n}` exists; the registry lacks it",
                kind.label()
            ));
        }
        for n in have.difference(&exists) {
            out.push(format!(
                "{}: the registry has `{n}`; the table's \"exists\" column misses it",
                kind.label()
            ));
        }
        for n in not_yet.intersection(&have) {
            out.push(format!(
                "{}: the table says `{n}` does not exist yet; the registry has it",
                kind.label()
            ));
        }
    }
    out
}

/// The (type, class) pairs a reference page documents: `### \`type\` (\`class\`)` headings
/// and the rows of "| Type | Java class | ..." tables.
fn documented(page: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut in_type_table = false;
    for line in page.lines() {
        let t = line.trim_start();
        if !t.starts_with('|') {
            in_type_table = false;
        }
        let pair = if let Some(h) = t.strip_prefix("### ") {
            let w = ticked(h);
            // Flume's classes, and Sluice's own types' registry keys (`io.sluice.`).
            let class = |c: &str| c.starts_with("org.apache.flume.") || c.starts_with("io.sluice.");
            (w.len() == 2 && class(w[1])).then(|| (w[0], w[1]))
        } else if t.starts_with('|') {
            let c = cells(t);
            if c.first() == Some(&"Type") && c.get(1) == Some(&"Java class") {
                in_type_table = true;
                None
            } else if in_type_table {
                match (c.first().map(|x| ticked(x)), c.get(1).map(|x| ticked(x))) {
                    (Some(n), Some(k)) if !n.is_empty() && k.len() == 1 => Some((n[0], k[0])),
                    _ => None,
                }
            } else {
                None
            }
        } else {
            None
        };
        if let Some((n, k)) = pair {
            out.push((n.to_owned(), k.to_owned()));
        }
    }
    out
}

/// What is wrong between the reference pages (all `pages` together) and the registry.
fn check_reference(pages: &[(&str, &str)], rows: &[Row]) -> Vec<String> {
    let mut out = Vec::new();
    let mut docs: BTreeSet<(String, String)> = BTreeSet::new();
    for (file, page) in pages {
        for (n, k) in documented(page) {
            if !rows.iter().any(|r| r.1 == n && r.2 == k) {
                out.push(format!(
                    "{file} documents `{n}` (`{k}`); the registry has no such type"
                ));
            }
            docs.insert((n, k));
        }
    }
    for (kind, n, k) in rows {
        if !docs.contains(&(n.clone(), k.clone())) {
            out.push(format!(
                "the registry has {kind:?} `{n}` (`{k}`); no reference page documents it"
            ));
        }
    }
    out
}

/// What is wrong with the README's list of sources, channels and sinks ("(sources `a`, ...;
/// channels ...; sinks ...; selectors"): each kind's names are the registry's.
fn check_readme(readme: &str, rows: &[Row]) -> Vec<String> {
    let Some(start) = readme.find("(sources ") else {
        return vec!["the README has no \"(sources ...\" list".to_owned()];
    };
    let list = &readme[start + 1..];
    let list = &list[..list.find("; selectors").unwrap_or(list.len())];
    // The parts: "sources ...; channels ...; sinks ..." (a part may hold "; " of its own).
    let at = |label: &str| list.find(label).unwrap_or(list.len());
    let (channels, sinks) = (at("; channels "), at("; sinks "));
    let mut out = Vec::new();
    for (kind, label, part) in [
        (Kind::Source, "sources", &list[..channels.min(sinks)]),
        (Kind::Channel, "channels", &list[channels.min(sinks)..sinks]),
        (Kind::Sink, "sinks", &list[sinks..]),
    ] {
        // Type names only: ticked words without a space (`hdfs dfs -put` is a command).
        let listed: BTreeSet<&str> = ticked(part)
            .into_iter()
            .filter(|w| !w.contains(' '))
            .collect();
        let have: BTreeSet<&str> = rows
            .iter()
            .filter(|r| r.0 == kind)
            .map(|r| r.1.as_str())
            .collect();
        for n in listed.difference(&have) {
            out.push(format!(
                "README {label}: lists `{n}`; the registry lacks it"
            ));
        }
        for n in have.difference(&listed) {
            out.push(format!(
                "README {label}: the registry has `{n}`; the list misses it"
            ));
        }
    }
    out
}

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_flume_page_component_table_matches_the_registry() {
    let problems = check_flume_table(&read("docs/coming-from-flume.md"), &registry_rows());
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_reference_pages_document_exactly_the_registry() {
    let (config, components) = (read("docs/configuration.md"), read("docs/components.md"));
    let pages = [
        ("docs/configuration.md", config.as_str()),
        ("docs/components.md", components.as_str()),
    ];
    let problems = check_reference(&pages, &registry_rows());
    assert!(problems.is_empty(), "{problems:#?}");
}

/// A small registry for the planted mismatches.
fn planted_rows() -> Vec<Row> {
    let row = |k, n: &str, c: &str| (k, n.to_owned(), c.to_owned());
    vec![
        row(
            Kind::Source,
            "netcat",
            "org.apache.flume.source.NetcatSource",
        ),
        row(
            Kind::Channel,
            "memory",
            "org.apache.flume.channel.MemoryChannel",
        ),
        row(Kind::Sink, "avro", "org.apache.flume.sink.AvroSink"),
        row(
            Kind::Interceptor,
            "host",
            "org.apache.flume.interceptor.HostInterceptor$Builder",
        ),
        row(
            Kind::Selector,
            "replicating",
            "org.apache.flume.channel.ReplicatingChannelSelector",
        ),
        row(
            Kind::Processor,
            "default",
            "org.apache.flume.sink.DefaultSinkProcessor",
        ),
    ]
}

const PLANTED_TABLE: &str = "intro\n\n## Components\n\n| | exists | not yet |\n|---|---|---|\n\
| sources | `netcat` | `thrift` |\n| channels | `memory` | `jdbc` |\n| sinks | `avro` | `hdfs` |\n\
| interceptors | `host` | |\n| channel selectors | `replicating` | |\n\
| sink processors | `default` | |\n\n## Next\n\n| sinks | `nothing` | |\n";

#[test]
fn the_table_checker_accepts_a_table_that_matches() {
    assert_eq!(
        check_flume_table(PLANTED_TABLE, &planted_rows()),
        Vec::<String>::new()
    );
}

#[test]
fn the_table_checker_fails_on_a_planted_mismatch() {
    // `avro` moved to "not yet", a `jms` source that does not exist, the selector row gone.
    let page = PLANTED_TABLE
        .replace(
            "| sinks | `avro` | `hdfs` |",
            "| sinks | | `avro`, `hdfs` |",
        )
        .replace("| sources | `netcat` |", "| sources | `netcat`, `jms` |")
        .replace("| channel selectors | `replicating` | |\n", "");
    let problems = check_flume_table(&page, &planted_rows());
    assert_eq!(
        problems,
        vec![
            "sources: the table says `jms` exists; the registry lacks it",
            "sinks: the registry has `avro`; the table's \"exists\" column misses it",
            "sinks: the table says `avro` does not exist yet; the registry has it",
            "the component table has no `channel selectors` row",
        ]
    );
}

const PLANTED_REFERENCE: &str = "# Page\n\n### `netcat` (`org.apache.flume.source.NetcatSource`)\n\n\
| key | default |\n|---|---|\n| `handler` | `org.apache.flume.source.http.JSONHandler` |\n\n\
### `memory` (`org.apache.flume.channel.MemoryChannel`)\n### `avro` (`org.apache.flume.sink.AvroSink`)\n\n\
| Type | Java class | Keys |\n|---|---|---|\n\
| `host` | `org.apache.flume.interceptor.HostInterceptor$Builder` | |\n\
| `replicating` (default) | `org.apache.flume.channel.ReplicatingChannelSelector` | |\n\
| `default` | `org.apache.flume.sink.DefaultSinkProcessor` | |\n";

#[test]
fn the_reference_checker_accepts_pages_that_match() {
    let pages = [("a.md", PLANTED_REFERENCE)];
    assert_eq!(
        check_reference(&pages, &planted_rows()),
        Vec::<String>::new()
    );
}

#[test]
fn the_reference_checker_fails_on_a_planted_mismatch() {
    // The avro sink undocumented, a `thrift` sink documented that the registry lacks.
    let page = PLANTED_REFERENCE.replace(
        "### `avro` (`org.apache.flume.sink.AvroSink`)",
        "### `thrift` (`org.apache.flume.sink.ThriftSink`)",
    );
    let pages = [("a.md", page.as_str())];
    assert_eq!(
        check_reference(&pages, &planted_rows()),
        vec![
            "a.md documents `thrift` (`org.apache.flume.sink.ThriftSink`); the registry has no such type",
            "the registry has Sink `avro` (`org.apache.flume.sink.AvroSink`); no reference page documents it",
        ]
    );
}

#[test]
fn the_readme_lists_exactly_the_registrys_sources_channels_and_sinks() {
    let problems = check_readme(&read("README.md"), &registry_rows());
    assert!(problems.is_empty(), "{problems:#?}");
}

const PLANTED_README: &str = "- `sluice agent`: an agent (sources `netcat`; channels `memory`; \
sinks `avro` (staged, `hdfs dfs -put`); selectors, sink processors and interceptors).";

#[test]
fn the_readme_checker_accepts_a_list_that_matches_and_fails_on_a_planted_mismatch() {
    assert_eq!(
        check_readme(PLANTED_README, &planted_rows()),
        Vec::<String>::new()
    );
    // The avro sink missing, a `jms` source the registry lacks.
    let page = PLANTED_README
        .replace("sinks `avro`", "sinks")
        .replace("sources `netcat`", "sources `netcat`, `jms`");
    assert_eq!(
        check_readme(&page, &planted_rows()),
        vec![
            "README sources: lists `jms`; the registry lacks it",
            "README sinks: the registry has `avro`; the list misses it",
        ]
    );
}
