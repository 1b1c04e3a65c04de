//! Encoders and the valid-prefix scans of every layout.

use super::*;

fn ev(body: &str) -> Event {
    Event::new(body.as_bytes().to_vec()).header("k", "v")
}

fn encode(layout: Layout, batches: &[&[&str]]) -> Vec<u8> {
    let mut enc = Encoder::new(layout, 7);
    let mut file = enc.header();
    for b in batches {
        for body in b.iter() {
            enc.add(&ev(body), 1_600_000_000_000).unwrap();
        }
        file.extend(enc.take_batch().unwrap());
    }
    file
}

#[test]
fn header_and_text_writes_javas_map_string_before_the_body() {
    let f = encode(
        Layout::Stream {
            with_headers: true,
            newline: true,
            codec: None,
            keep_id: false,
        },
        &[&["a"]],
    );
    assert_eq!(f, b"{k=v} a\n");
}

#[test]
fn header_and_text_prints_headers_in_flumes_order_without_the_event_id() {
    let e = Event::new("a")
        .header("timestamp", "1795746851140")
        .header("host", "pub-clean-stop")
        .header("sluiceId", "0000000000000007:3");
    let mut enc = Encoder::new(
        Layout::Stream {
            with_headers: true,
            newline: true,
            codec: None,
            keep_id: false,
        },
        7,
    );
    enc.add(&e, 0).unwrap();
    // Flume's truth-headers.txt of the adopted fixtures, byte for byte.
    assert_eq!(
        enc.take_batch().unwrap(),
        b"{host=pub-clean-stop, timestamp=1795746851140} a\n"
    );
}

#[test]
fn text_recovery_cuts_after_the_last_newline() {
    let l = Layout::Stream {
        with_headers: false,
        newline: true,
        codec: None,
        keep_id: false,
    };
    assert_eq!(valid_prefix(l, b"one\ntwo\nthr"), Some(8));
    assert_eq!(valid_prefix(l, b"thr"), Some(0));
}

#[test]
fn vlongs_round_trip_like_hadoops_writable_utils() {
    for v in [
        0i64,
        1,
        -1,
        127,
        -112,
        128,
        -113,
        255,
        256,
        65_536,
        1 << 40,
        i64::MAX,
        i64::MIN,
    ] {
        let mut b = Vec::new();
        write_vlong(&mut b, v);
        assert_eq!(read_vlong(&b), Some((v, b.len())), "{v}");
    }
    let mut b = Vec::new();
    write_vlong(&mut b, 300);
    assert_eq!(b, [0x8e, 0x01, 0x2c]);
}

#[test]
fn a_sequence_file_has_hadoops_header_and_records_with_sync_escapes() {
    let bodies: Vec<String> = (0..200).map(|i| format!("event number {i}")).collect();
    let refs: Vec<&str> = bodies.iter().map(|s| s.as_str()).collect();
    let l = Layout::Sequence { text: false };
    let f = encode(l, &[&refs[..100], &refs[100..]]);
    assert_eq!(&f[..4], b"SEQ\x06");
    assert_eq!(f[4] as usize, SEQ_KEY_CLASS.len());
    assert_eq!(&f[5..5 + SEQ_KEY_CLASS.len()], SEQ_KEY_CLASS.as_bytes());
    assert_eq!(valid_prefix(l, &f), Some(f.len()));
    let syncs = f.windows(4).filter(|w| *w == [0xff; 4]).count();
    assert!(syncs >= 2, "expected sync escapes, found {syncs}");
    assert!(valid_prefix(l, &f[..f.len() - 3]).unwrap() < f.len() - 3);
    assert_eq!(valid_prefix(l, b"nope, not a sequence file"), None);
}

#[test]
fn an_avro_container_cut_mid_block_keeps_the_whole_blocks() {
    let l = Layout::Avro {
        sync_interval: 2_048_000,
        keep_id: false,
    };
    let one = encode(l, &[&["a", "b"]]);
    let two = encode(l, &[&["a", "b"], &["c"]]);
    assert_eq!(valid_prefix(l, &two), Some(two.len()));
    assert_eq!(valid_prefix(l, &two[..two.len() - 1]), Some(one.len()));
    assert_eq!(valid_prefix(l, &one[..10]), Some(0));
}

#[test]
fn the_apache_avro_reader_reads_our_container_with_flumes_schema() {
    use apache_avro::types::Value;
    let l = Layout::Avro {
        sync_interval: 64,
        keep_id: false,
    };
    let bodies: Vec<String> = (0..20).map(|i| format!("body {i}")).collect();
    let refs: Vec<&str> = bodies.iter().map(|s| s.as_str()).collect();
    let f = encode(l, &[&refs[..7], &refs[7..]]);
    let reader = apache_avro::Reader::new(&f[..]).unwrap();
    let mut got = Vec::new();
    for v in reader {
        let Value::Record(fields) = v.unwrap() else {
            panic!("not a record")
        };
        assert_eq!(fields[0].0, "headers");
        let Value::Map(h) = &fields[0].1 else {
            panic!("headers not a map")
        };
        assert_eq!(h.get("k"), Some(&Value::String("v".into())));
        let Value::Bytes(b) = &fields[1].1 else {
            panic!("body not bytes")
        };
        got.push(String::from_utf8(b.clone()).unwrap());
    }
    assert_eq!(got, bodies);
}
