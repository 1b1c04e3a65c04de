//! Configuration diagnostics a newcomer meets first: end-of-line comments, `channel` versus
//! `channels`, custom Java classes, a misspelt key, and no false "unused channel" warning
//! after a refused source or sink. Each asserts the exact line and wording.

use sluice::agent::config::Severity;
use sluice::agent::topology::load;

/// `(line, key, severity, message)` of every problem.
fn problems(text: &str) -> Vec<(String, String, Severity, String)> {
    load(text, "a1", &[])
        .problems
        .into_iter()
        .map(|p| (p.origin.to_string(), p.key, p.severity, p.message))
        .collect()
}

const WIRED: &str = "\
a1.channels = c1
a1.channels.c1.type = memory
";

#[test]
fn an_end_of_line_comment_is_named_at_its_line_before_the_errors_it_causes() {
    let text = format!(
        "{WIRED}a1.sources = r1 r2   # whitespace-separated lists\n\
         a1.sinks = k1\na1.sinks.k1.type = logger\na1.sinks.k1.channel = c1\n\
         a1.sources.r1.type = seq\na1.sources.r1.channels = c1\n\
         a1.sources.r2.type = seq\na1.sources.r2.channels = c1\n"
    );
    let got = problems(&text);
    let first = &got[0];
    assert_eq!(
        (first.0.as_str(), first.1.as_str(), first.2),
        ("3", "a1.sources", Severity::Warning)
    );
    assert_eq!(
        first.3,
        "this looks like an end-of-line comment (\"# whitespace-separated lists\"); properties \
         files only allow comments on their own line, so it is read as part of the value: move \
         it to a line of its own"
    );
    // Flume's reading of the value is kept: `#` is a source name, and has no type.
    assert!(
        got.iter()
            .any(|p| p.1 == "a1.sources.#.type" && p.3 == "required key is missing"),
        "{got:?}"
    );
}

#[test]
fn a_comment_on_a_value_that_still_works_is_a_warning_only() {
    let text = format!(
        "{WIRED}a1.sources = r1\na1.sinks = k1\n\
         a1.sources.r1.type = seq\na1.sources.r1.channels = c1\n\
         a1.sinks.k1.type = logger\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.maxBytesToLog = 16 ! bytes\n"
    );
    let loaded = load(&text, "a1", &[]);
    assert!(loaded.config.is_none(), "16 ! bytes is not a number");
    let hint = loaded
        .problems
        .iter()
        .find(|p| {
            p.message
                .starts_with("this looks like an end-of-line comment")
        })
        .unwrap();
    assert_eq!(hint.origin.to_string(), "9");
}

#[test]
fn channel_on_a_source_and_channels_on_a_sink_get_did_you_mean_at_their_line() {
    let text = format!(
        "{WIRED}a1.sources = r1\na1.sinks = k1\n\
         a1.sources.r1.type = seq\na1.sources.r1.channel = c1\n\
         a1.sinks.k1.type = logger\na1.sinks.k1.channels = c1\n"
    );
    let got = problems(&text);
    assert_eq!(
        got,
        vec![
            (
                "6".into(),
                "a1.sources.r1.channel".into(),
                Severity::Error,
                "unknown key; did you mean `channels`? (`channels` is required and missing)".into()
            ),
            (
                "8".into(),
                "a1.sinks.k1.channels".into(),
                Severity::Error,
                "unknown key; did you mean `channel`? (`channel` is required and missing)".into()
            ),
        ]
    );
}

#[test]
fn unsupported_types_do_not_add_a_warning_that_the_channel_is_unused() {
    let text = format!(
        "{WIRED}a1.sources = r1\na1.sinks = k1\n\
         a1.sources.r1.type = jms\na1.sources.r1.channels = c1\n\
         a1.sinks.k1.type = hive\na1.sinks.k1.channel = c1\n"
    );
    let got = problems(&text);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got.iter().all(|p| p.1.ends_with(".type")), "{got:?}");
}

#[test]
fn a_java_class_name_is_a_java_plugin_and_a_bare_name_points_to_the_plugins_page() {
    let text = format!(
        "{WIRED}a1.sources = r1\na1.sinks = k1\n\
         a1.sources.r1.type = com.example.MySource\na1.sources.r1.channels = c1\n\
         a1.sources.r1.anyKey = x\n\
         a1.sinks.k1.type = MySink\na1.sinks.k1.channel = c1\n"
    );
    let got = problems(&text);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "8");
    assert!(
        got[0].3.starts_with(
            "unknown sink type \"MySink\"; a Java plugin's type is its full class name (docs/java-plugins.md)"
        ),
        "{got:?}"
    );
}

#[test]
fn a_misspelt_optional_key_is_ignored_with_a_suggestion() {
    let text = format!(
        "{WIRED}a1.sources = r1\na1.sinks = k1\n\
         a1.sources.r1.type = seq\na1.sources.r1.channels = c1\na1.sources.r1.batchsize = 5\n\
         a1.sinks.k1.type = logger\na1.sinks.k1.channel = c1\n"
    );
    let got = problems(&text);
    assert_eq!(
        got,
        vec![(
            "7".into(),
            "a1.sources.r1.batchsize".into(),
            Severity::Warning,
            "unknown key for a seq source; ignored (did you mean `batchSize`?)".into()
        )]
    );
}
