//! Differential tests against `apache-avro` (the Apache Avro project's Rust implementation) as
//! the oracle: random events encoded by it decode with Sluice's codec to the same events, and
//! Sluice's encodings decode with it to the same values. Also the IPC handshake records.

use std::collections::HashMap;

use apache_avro::types::Value;
use apache_avro::{from_avro_datum, to_avro_datum, Schema};
use proptest::prelude::*;
use sluice_core::{Event, Headers};
use sluice_wire::avro::binary::Reader;
use sluice_wire::avro::call::{put_events, read_events, CallLimits};
use sluice_wire::avro::{HandshakeMatch, HandshakeRequest, HandshakeResponse};

const EVENTS: &str = r#"{"type":"array","items":{"type":"record","name":"AvroFlumeEvent","namespace":"org.apache.flume.source.avro","fields":[{"name":"headers","type":{"type":"map","values":"string"}},{"name":"body","type":"bytes"}]}}"#;

const HANDSHAKE_REQUEST: &str = r#"{"type":"record","name":"HandshakeRequest","namespace":"org.apache.avro.ipc","fields":[{"name":"clientHash","type":{"type":"fixed","name":"MD5","size":16}},{"name":"clientProtocol","type":["null","string"]},{"name":"serverHash","type":"MD5"},{"name":"meta","type":["null",{"type":"map","values":"bytes"}]}]}"#;

const HANDSHAKE_RESPONSE: &str = r#"{"type":"record","name":"HandshakeResponse","namespace":"org.apache.avro.ipc","fields":[{"name":"match","type":{"type":"enum","name":"HandshakeMatch","symbols":["BOTH","CLIENT","NONE"]}},{"name":"serverProtocol","type":["null","string"]},{"name":"serverHash","type":["null",{"type":"fixed","name":"MD5","size":16}]},{"name":"meta","type":["null",{"type":"map","values":"bytes"}]}]}"#;

fn value_of(events: &[Event]) -> Value {
    Value::Array(
        events
            .iter()
            .map(|e| {
                let headers: HashMap<String, Value> = e
                    .headers
                    .iter()
                    .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
                    .collect();
                Value::Record(vec![
                    ("headers".into(), Value::Map(headers)),
                    ("body".into(), Value::Bytes(e.body.to_vec())),
                ])
            })
            .collect(),
    )
}

fn events_of(v: Value) -> Vec<Event> {
    let Value::Array(items) = v else {
        panic!("not an array: {v:?}");
    };
    items
        .into_iter()
        .map(|item| {
            let Value::Record(fields) = item else {
                panic!("not a record");
            };
            let mut e = Event::default();
            for (name, f) in fields {
                match (name.as_str(), f) {
                    ("headers", Value::Map(m)) => {
                        e.headers = m
                            .into_iter()
                            .map(|(k, v)| match v {
                                Value::String(s) => (k, s),
                                other => panic!("header {other:?}"),
                            })
                            .collect::<Headers>()
                    }
                    ("body", Value::Bytes(b)) => e.body = b.into(),
                    other => panic!("field {other:?}"),
                }
            }
            e
        })
        .collect()
}

fn arb_events() -> impl Strategy<Value = Vec<Event>> {
    let event = (
        prop::collection::btree_map(".{0,12}", ".{0,20}", 0..6),
        prop::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|(headers, body)| Event::with_headers(headers, body));
    prop::collection::vec(event, 0..20)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn events_encoded_by_apache_avro_decode_to_the_same_events(events in arb_events()) {
        let schema = Schema::parse_str(EVENTS).unwrap();
        let bytes = to_avro_datum(&schema, value_of(&events)).unwrap();
        let mut r = Reader::new(&bytes);
        let got = read_events(&mut r, &CallLimits::default()).unwrap();
        r.finish("events").unwrap();
        prop_assert_eq!(got, events);
    }

    #[test]
    fn events_encoded_by_sluice_decode_with_apache_avro(events in arb_events()) {
        let schema = Schema::parse_str(EVENTS).unwrap();
        let mut bytes = Vec::new();
        put_events(&mut bytes, &events);
        let v = from_avro_datum(&schema, &mut &bytes[..], None).unwrap();
        prop_assert_eq!(events_of(v), events);
    }
}

#[test]
fn handshake_records_agree_with_apache_avro_both_ways() {
    let req_schema = Schema::parse_str(HANDSHAKE_REQUEST).unwrap();
    let resp_schema = Schema::parse_str(HANDSHAKE_RESPONSE).unwrap();
    for req in [
        HandshakeRequest::flume(),
        HandshakeRequest::flume_with_text([5; 16]),
    ] {
        let mut ours = Vec::new();
        req.encode(&mut ours);
        let v = from_avro_datum(&req_schema, &mut &ours[..], None).unwrap();
        let theirs = to_avro_datum(&req_schema, v).unwrap();
        assert_eq!(theirs, ours, "re-encoded by apache-avro");
        let mut r = Reader::new(&theirs);
        assert_eq!(HandshakeRequest::decode(&mut r).unwrap(), req);
    }
    let mut with_meta = HandshakeResponse::with_protocol(HandshakeMatch::Client);
    with_meta.meta = Some(vec![("k".into(), vec![1, 2, 3])]);
    for resp in [
        HandshakeResponse::both(),
        HandshakeResponse::with_protocol(HandshakeMatch::None),
        with_meta,
    ] {
        let mut ours = Vec::new();
        resp.encode(&mut ours);
        let v = from_avro_datum(&resp_schema, &mut &ours[..], None).unwrap();
        let theirs = to_avro_datum(&resp_schema, v).unwrap();
        assert_eq!(theirs, ours, "re-encoded by apache-avro");
        let mut r = Reader::new(&theirs);
        assert_eq!(HandshakeResponse::decode(&mut r).unwrap(), resp);
    }
}
