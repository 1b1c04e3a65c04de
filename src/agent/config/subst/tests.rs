//! Substitution against Flume 1.11's own examples (flume-ng-node's `map-resolver.properties`,
//! `flume-conf-with-envLookup.properties`, `flume-conf-with-envvars.properties`) and Commons
//! Text's rules.

use std::collections::{BTreeMap, BTreeSet};

use super::*;

struct World {
    keys: BTreeMap<String, String>,
    env: BTreeMap<String, String>,
    sys: BTreeMap<String, String>,
    bare_env: bool,
    filters: BTreeSet<String>,
    keep_bare: bool,
}

impl World {
    fn new(keys: &[(&str, &str)]) -> Self {
        World {
            keys: pairs(keys),
            env: pairs(&[
                ("NC_PORT", "6667"),
                ("DATA", "/srv/data"),
                ("WHICH", "DATA"),
            ]),
            sys: pairs(&[("name", "FLUME")]),
            bare_env: false,
            filters: BTreeSet::new(),
            keep_bare: false,
        }
    }

    fn get(&self, key: &str) -> Result<String, SubstError> {
        let env = |n: &str| self.env.get(n).cloned();
        let date = |p: &str| Ok(format!("<{p}>"));
        let src = Sources {
            keys: &self.keys,
            env: &env,
            sys: &self.sys,
            date: &date,
            bare_env: self.bare_env,
            filters: &self.filters,
            keep_bare: self.keep_bare,
        };
        let raw = self.keys.get(key).cloned().unwrap_or_default();
        resolve(key, &raw, &src).value
    }
}

fn pairs(p: &[(&str, &str)]) -> BTreeMap<String, String> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn flumes_map_resolver_example_reads_a_system_property() {
    let w = World::new(&[("name", "${sys:name}")]);
    assert_eq!(w.get("name").unwrap(), "FLUME");
}

#[test]
fn flumes_unknown_lookup_example_is_an_error_where_flume_keeps_the_literal() {
    let w = World::new(&[(
        "const",
        "${const:org.apache.flume.node.TestMapResolver.TEST_CONST}",
    )]);
    match w.get("const") {
        Err(SubstError::Unresolved { var, why }) => {
            assert_eq!(
                var,
                "const:org.apache.flume.node.TestMapResolver.TEST_CONST"
            );
            assert!(why.contains("const: is no lookup"), "{why}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn java_lookups_are_refused() {
    let w = World::new(&[("version", "${java:version}")]);
    assert!(matches!(w.get("version"), Err(SubstError::Refused { .. })));
}

#[test]
fn flumes_env_lookup_example_gives_the_port() {
    let w = World::new(&[("a1.sources.r1.port", "${env:NC_PORT}")]);
    assert_eq!(w.get("a1.sources.r1.port").unwrap(), "6667");
    let w = World::new(&[("a1.sources.r1.port", "${ENV:NC_PORT}")]);
    assert_eq!(w.get("a1.sources.r1.port").unwrap(), "6667");
}

#[test]
fn a_bare_name_reads_the_environment_only_in_env_var_resolver_mode() {
    let mut w = World::new(&[("a1.sources.r1.port", "${NC_PORT}")]);
    assert!(matches!(
        w.get("a1.sources.r1.port"),
        Err(SubstError::Unresolved { .. })
    ));
    w.bare_env = true;
    assert_eq!(w.get("a1.sources.r1.port").unwrap(), "6667");
}

#[test]
fn a_key_refers_to_another_key_of_the_file_whatever_their_order() {
    let w = World::new(&[
        ("a1.channels.c1.checkpointDir", "${base}/checkpoint"),
        ("base", "${env:DATA}/flume"),
    ]);
    assert_eq!(
        w.get("a1.channels.c1.checkpointDir").unwrap(),
        "/srv/data/flume/checkpoint"
    );
}

#[test]
fn an_unset_env_variable_falls_back_to_the_key_of_that_name() {
    let w = World::new(&[("k", "${env:LOG_OUT}/roll"), ("LOG_OUT", "/var/log/out")]);
    assert_eq!(w.get("k").unwrap(), "/var/log/out/roll");
}

#[test]
fn nested_names_resolve_inside_first() {
    let w = World::new(&[("k", "${env:${env:WHICH}}")]);
    assert_eq!(w.get("k").unwrap(), "/srv/data");
}

#[test]
fn defaults_apply_only_when_nothing_resolves() {
    let w = World::new(&[("k", "${env:NOPE:-/tmp/x} ${env:DATA:-/tmp/y}")]);
    assert_eq!(w.get("k").unwrap(), "/tmp/x /srv/data");
    let w = World::new(&[("k", "${env:NOPE:-}")]);
    assert_eq!(w.get("k").unwrap(), "");
}

#[test]
fn a_doubled_dollar_escapes_and_a_lone_dollar_is_kept() {
    let w = World::new(&[("k", "$${env:DATA} costs $5 and $$ ${env:DATA}")]);
    assert_eq!(w.get("k").unwrap(), "${env:DATA} costs $5 and $$ /srv/data");
}

#[test]
fn cycles_are_refused_with_their_chain() {
    let w = World::new(&[("a", "${b}"), ("b", "x${a}")]);
    match w.get("a") {
        Err(SubstError::Cycle { chain, .. }) => assert_eq!(chain, "a -> b -> a"),
        other => panic!("{other:?}"),
    }
    let w = World::new(&[("a", "${a:-d}")]);
    assert!(matches!(w.get("a"), Err(SubstError::Cycle { .. })));
}

#[test]
fn an_unclosed_variable_is_refused() {
    let w = World::new(&[("k", "/data/${env:DATA")]);
    assert_eq!(w.get("k"), Err(SubstError::Unclosed { at: 6 }));
}

#[test]
fn filter_references_are_left_for_the_filter_stage() {
    let mut w = World::new(&[("k", "${f1['db_password']} ${f2[x]}")]);
    w.filters.insert("f1".into());
    assert!(w.get("k").is_err(), "f2 is no filter");
    w.keys
        .insert("k".into(), "${f1['db_password']}/${env:DATA}".into());
    assert_eq!(w.get("k").unwrap(), "${f1['db_password']}//srv/data");
}

#[test]
fn date_lookups_are_formatted_by_the_date_source() {
    let w = World::new(&[("k", "/logs/${date:yyyy-MM-dd}")]);
    assert_eq!(w.get("k").unwrap(), "/logs/<yyyy-MM-dd>");
    assert!(date_lookup("yyyy-MM-dd").unwrap().len() == 10);
    assert!(date_lookup("yyyy z").is_err());
}

#[test]
fn unicode_text_around_variables_is_kept() {
    let w = World::new(&[("k", "é${env:DATA}ü")]);
    assert_eq!(w.get("k").unwrap(), "é/srv/dataü");
}

#[test]
fn a_kept_bare_name_stays_as_written_but_lookups_still_resolve() {
    let mut w = World::new(&[("k", "${year}-${env:DATA}")]);
    assert!(w.get("k").is_err());
    w.keep_bare = true;
    assert_eq!(w.get("k").unwrap(), "${year}-/srv/data");
    w.keys.insert("k".into(), "${env:NOPE}".into());
    assert!(w.get("k").is_err(), "a lookup is never kept");
}

#[test]
fn names_nested_twenty_thousand_deep_are_refused_at_the_depth_limit_with_a_short_error() {
    // A test thread has a 2 MiB stack, as a tokio worker: recursion per level would overflow.
    let deep = format!("{}x{}", "${".repeat(20_000), "}".repeat(20_000));
    let w = World::new(&[("k", &deep)]);
    let err = w.get("k").unwrap_err();
    assert!(matches!(err, SubstError::TooDeep { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("SUBST_DEPTH_MAX"), "{text}");
    assert!(
        text.len() < 400,
        "the error shows the start of the name only: {text}"
    );
}

#[test]
fn references_of_references_count_against_the_same_depth_as_nesting() {
    let chain = |n: usize| -> Vec<(String, String)> {
        (0..n)
            .map(|i| (format!("v{i}"), format!("${{v{}}}", i + 1)))
            .chain([(format!("v{n}"), "end".to_owned())])
            .collect()
    };
    let keys = chain(SUBST_DEPTH_MAX - 1);
    let refs: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(World::new(&refs).get("v0").unwrap(), "end");
    let keys = chain(SUBST_DEPTH_MAX + 1);
    let refs: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert!(matches!(
        World::new(&refs).get("v0"),
        Err(SubstError::TooDeep { .. })
    ));
}

#[test]
fn references_that_multiply_stop_at_the_files_budget() {
    // v0 = ${v1}${v1}, v1 = ${v2}${v2}, ...: 2^30 variables, each a kilobyte.
    let leaf = "x".repeat(1024);
    let mut keys: Vec<(String, String)> = (0..30)
        .map(|i| (format!("v{i}"), format!("${{v{n}}}${{v{n}}}", n = i + 1)))
        .collect();
    keys.push(("v30".into(), leaf));
    let refs: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    match World::new(&refs).get("v0") {
        Err(SubstError::OverBudget { name, .. }) => assert_eq!(name, "SUBST_BYTES_MAX"),
        other => panic!("{:?}", other.map(|v| v.len())),
    }
    // Empty leaves cost no bytes of output but one variable each.
    keys[30].1 = String::new();
    let refs: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    match World::new(&refs).get("v0") {
        Err(SubstError::OverBudget { name, .. }) => assert_eq!(name, "SUBST_LOOKUPS_MAX"),
        other => panic!("{other:?}"),
    }
}
