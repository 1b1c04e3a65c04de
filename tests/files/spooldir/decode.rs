//! The spooldir reader's decoding: invalid UTF-8 under each decode policy, input and output
//! charsets, a 100 MB line cut at `maxLineLength` with bounded memory, and BLOB.

use super::{bodies, config, drain, spooler};
use sluice::agent::source::spooldir::spooler::Step;

#[test]
fn invalid_utf8_fails_the_file_under_fail_after_sending_the_lines_before_it() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("a.log"), b"good\nb\xFFad\nafter\n").unwrap();
    std::fs::write(d.path().join("b.log"), b"other\n").unwrap();
    let ev = drain(&mut spooler(config(d.path(), "")));
    assert_eq!(bodies(&ev), ["good", "other"]);
    assert!(
        d.path().join("a.log").exists(),
        "the bad file keeps its name"
    );
}

#[test]
fn invalid_utf8_is_replaced_under_replace_and_dropped_under_ignore() {
    for (policy, want) in [("REPLACE", "b\u{FFFD}ad"), ("IGNORE", "bad")] {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a.log"), b"b\xFFad\n").unwrap();
        let cfg = config(
            d.path(),
            &format!("a1.sources.r1.decodeErrorPolicy = {policy}\n"),
        );
        assert_eq!(bodies(&drain(&mut spooler(cfg))), [want], "{policy}");
    }
}

#[test]
fn input_and_output_charsets_convert_the_text() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("a.log"), b"caf\xE9\n").unwrap();
    let cfg = config(
        d.path(),
        "a1.sources.r1.inputCharset = ISO-8859-1\na1.sources.r1.deserializer.outputCharset = UTF-16BE\n",
    );
    let ev = drain(&mut spooler(cfg));
    let want: Vec<u8> = "café".encode_utf16().flat_map(u16::to_be_bytes).collect();
    assert_eq!(ev[0].body, want);
}

#[test]
fn a_100_mb_line_is_cut_at_max_line_length_with_bounded_memory() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("huge.log");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..100 {
            f.write_all(&chunk).unwrap();
        }
        f.write_all(b"\nnext\n").unwrap();
    }
    let cfg = config(d.path(), "a1.sources.r1.batchSize = 1000\n");
    let mut s = spooler(cfg);
    let (mut n, mut bytes, mut last) = (0usize, 0usize, Vec::new());
    loop {
        match s.next_step().unwrap() {
            Step::Events { events, pos } => {
                for e in &events {
                    assert!(e.body.len() <= 2048);
                    n += 1;
                    bytes += e.body.len();
                }
                last = events.last().unwrap().body.to_vec();
                s.committed(pos).unwrap();
            }
            Step::Done => s.complete().unwrap(),
            Step::Idle => break,
        }
    }
    assert_eq!(bytes, 100 * (1 << 20) + 4);
    assert_eq!(n, 100 * (1 << 20) / 2048 + 1);
    assert_eq!(last, b"next");
}

#[test]
fn blob_makes_one_event_per_file_up_to_max_blob_length() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("a.bin"), vec![7u8; 2500]).unwrap();
    let cfg = config(
        d.path(),
        "a1.sources.r1.deserializer = org.apache.flume.sink.solr.morphline.BlobDeserializer$Builder\n\
         a1.sources.r1.deserializer.maxBlobLength = 1000\n",
    );
    let ev = drain(&mut spooler(cfg));
    let sizes: Vec<usize> = ev.iter().map(|e| e.body.len()).collect();
    assert_eq!(sizes, [1000, 1000, 500]);
}
