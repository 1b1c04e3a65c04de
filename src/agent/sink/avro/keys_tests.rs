//! The avro sink's keys (Flume's defaults, `compression-type`, refused values) and the call
//! metadata that names the agent and the sink.

use super::*;

#[test]
fn call_metadata_names_the_agent_and_the_sink() {
    use crate::wire::avro::binary::Reader;
    use crate::wire::avro::call::read_call;
    use crate::wire::avro::client::ClientConn;
    use crate::wire::avro::{HandshakeRequest, Message};
    let mut c = ClientConn::new();
    c.set_call_meta(vec![
        (META_AGENT.into(), b"edge".to_vec()),
        (META_SINK.into(), b"k1".to_vec()),
    ]);
    let bufs = c.request(Message::AppendBatch, &events(2));
    let payload = bufs.concat();
    let mut r = Reader::new(&payload);
    HandshakeRequest::decode(&mut r).unwrap();
    let call = read_call(&mut r, &CallLimits::default()).unwrap();
    assert_eq!(
        call.meta,
        vec![
            ("sluice.agent".to_owned(), b"edge".to_vec()),
            ("sluice.sink".to_owned(), b"k1".to_vec()),
        ]
    );
}

#[test]
fn avro_sink_keys_have_flumes_defaults_and_deflate_is_read() {
    use crate::agent::registry::SinkKind;
    use crate::agent::topology::load;
    let base = "a1.channels = c1\na1.channels.c1.type = memory\na1.sinks = k1\n\
                a1.sinks.k1.channel = c1\na1.sinks.k1.type = avro\n";
    let text = format!("{base}a1.sinks.k1.hostname = collector\na1.sinks.k1.port = 4141\n");
    let loaded = load(&text, "a1", &[]);
    let cfg = loaded.config.expect("valid");
    let SinkKind::Avro(c) = &cfg.sinks["k1"].kind else {
        panic!("not an avro sink")
    };
    assert_eq!(c, &AvroSinkConfig::new("a1", "collector", 4141));
    assert_eq!(c.batch_size, 100);
    assert_eq!(c.timings.connect_timeout, Duration::from_secs(20));
    assert_eq!(c.timings.request_timeout, Duration::from_secs(20));
    assert_eq!(c.timings.reset_connection_interval, None);
    assert!(c.timings.reconnect_backoff_max <= Duration::from_secs(5));
    let text = format!(
        "{base}a1.sinks.k1.type = org.apache.flume.sink.AvroSink\na1.sinks.k1.hostname = h\n\
         a1.sinks.k1.port = 1\na1.sinks.k1.compression-type = deflate\n"
    );
    let loaded = load(&text, "a1", &[]);
    let cfg = loaded.config.expect("deflate is Flume's and accepted");
    let SinkKind::Avro(c) = &cfg.sinks["k1"].kind else {
        panic!("not an avro sink")
    };
    assert_eq!(
        c.security.compression,
        crate::agent::rpc::transport::Compression::Deflate { level: 6 }
    );
    let text = text.replace("deflate", "gzip");
    let loaded = load(&text, "a1", &[]);
    assert!(loaded.config.is_none());
    let p = loaded
        .problems
        .iter()
        .find(|p| p.key == "a1.sinks.k1.compression-type")
        .expect("gzip refused");
    assert!(
        p.message.contains("supported: none, deflate"),
        "{}",
        p.message
    );
    let text = format!("{base}a1.sinks.k1.port = 99999\na1.sinks.k1.batch-size = 500\n");
    let loaded = load(&text, "a1", &[]);
    let keys: Vec<&str> = loaded.problems.iter().map(|p| p.key.as_str()).collect();
    assert!(keys.contains(&"a1.sinks.k1.hostname"), "{keys:?}");
    assert!(keys.contains(&"a1.sinks.k1.port"), "{keys:?}");
}
