//! The exposition's names, units and both text formats.

use super::*;
use crate::agent::histogram::PUT_BATCH;

fn registry() -> Registry {
    let r = Registry::for_agent("a1");
    let ch = CounterGroup::channel();
    ch.add(crate::agent::metrics::ChannelCounter::PutSuccess, 5);
    ch.set_gauges(Box::new(|| {
        vec![
            ("ChannelSize", "3".to_owned()),
            ("ChannelFillPercentage", "3.0".to_owned()),
            ("Open", "true".to_owned()),
        ]
    }));
    ch.histogram(&PUT_BATCH).observe(5);
    r.register("c1", ch);
    let sink = CounterGroup::sink();
    sink.set_gauges(Box::new(|| {
        vec![("ConnectionDownMillis", "1500".to_owned())]
    }));
    r.register("k1", sink);
    r
}

#[test]
fn names_follow_the_documented_scheme() {
    assert_eq!(
        sample_name("CHANNEL", "EventPutSuccessCount", true),
        "flume_channel_event_put_success_total"
    );
    assert_eq!(
        sample_name("CHANNEL", "ChannelFillPercentage", false),
        "flume_channel_fill_percentage"
    );
    assert_eq!(
        sample_name("SOURCE", "OpenConnectionCount", false),
        "flume_source_open_connections"
    );
    assert_eq!(
        sample_name("SOURCE", "UpstreamPeerCount", false),
        "flume_source_upstream_peers"
    );
    assert_eq!(
        sample_name("CHANNEL", "TailCacheHitCount", true),
        "flume_channel_tail_cache_hit_total"
    );
    assert_eq!(
        sample_name("SINK", "ConnectionDownMillis", false),
        "flume_sink_connection_down_seconds"
    );
    assert_eq!(
        sample_name("SOURCE", "KafkaPartitionsAssigned", false),
        "flume_source_kafka_partitions_assigned"
    );
    assert_eq!(
        sample_name("SOURCE", "EventReadFail", true),
        "flume_source_event_read_fail_total"
    );
    assert_eq!(
        sample_name("SINK", "StartTime", false),
        "flume_sink_start_time_seconds"
    );
}

#[test]
fn openmetrics_has_typed_families_with_labels_and_ends_with_eof() {
    let om = openmetrics(&registry());
    assert!(om.ends_with("# EOF\n"), "{om}");
    assert!(
        om.contains("# TYPE flume_channel_event_put_success counter\n"),
        "{om}"
    );
    assert!(om.contains("flume_channel_event_put_success_total{agent=\"a1\",component=\"c1\",type=\"CHANNEL\"} 5\n"), "{om}");
    assert!(om.contains("# TYPE flume_channel_size gauge\n"), "{om}");
    assert!(
        om.contains("flume_channel_open{agent=\"a1\",component=\"c1\",type=\"CHANNEL\"} 1"),
        "{om}"
    );
    assert!(
        om.contains(
            "flume_sink_connection_down_seconds{agent=\"a1\",component=\"k1\",type=\"SINK\"} 1.5"
        ),
        "{om}"
    );
    assert!(om.contains("flume_channel_put_batch_size_events_bucket{le=\"5.0\",agent=\"a1\",component=\"c1\",type=\"CHANNEL\"} 1"), "{om}");
}

#[test]
fn text_004_names_counters_by_their_samples_and_drops_openmetrics_lines() {
    let t = render(&registry(), Format::Text004);
    assert!(
        t.contains("# HELP flume_channel_event_put_success_total Events put by committed transactions. Per channel (JSON key EventPutSuccessCount).\n"),
        "{t}"
    );
    assert!(
        t.contains("# TYPE flume_channel_event_put_success_total counter\n"),
        "{t}"
    );
    assert!(!t.contains("# EOF"), "{t}");
    assert!(!t.contains("# UNIT"), "{t}");
    assert!(t.contains("# TYPE flume_channel_size gauge\n"), "{t}");
}

#[test]
fn accept_headers_choose_the_format() {
    let prom = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    assert_eq!(Format::from_accept(prom), Some(Format::OpenMetrics));
    assert_eq!(
        Format::from_accept("text/plain;version=0.0.4"),
        Some(Format::Text004)
    );
    assert_eq!(
        Format::from_accept("text/plain; version=0.0.4; q=0.9"),
        Some(Format::Text004)
    );
    assert_eq!(Format::from_accept("text/plain"), None);
    assert_eq!(Format::from_accept("*/*"), None);
    assert_eq!(Format::from_accept("application/json"), None);
}

#[test]
fn the_exposition_carries_build_info_and_process_series() {
    let t = render(&registry(), Format::Text004);
    let build = format!(
        "sluice_build_info{{version=\"{}\",commit=\"{}\",target=\"{}\"}} 1\n",
        env!("CARGO_PKG_VERSION"),
        process::GIT_COMMIT,
        process::TARGET
    );
    assert!(t.contains(&build), "{t}");
    for name in [
        "# TYPE process_cpu_seconds_total counter\n",
        "# TYPE process_resident_memory_bytes gauge\n",
        "# TYPE sluice_process_resident_memory_bytes gauge\n",
        "# TYPE sluice_process_resident_memory_peak_bytes gauge\n",
        "# TYPE process_virtual_memory_bytes gauge\n",
        "# TYPE process_open_fds gauge\n",
        "# TYPE process_max_fds gauge\n",
        "# TYPE process_start_time_seconds gauge\n",
    ] {
        assert!(t.contains(name), "no {name:?} in\n{t}");
    }
    assert!(!t.contains("Flume's"), "{t}");
}
