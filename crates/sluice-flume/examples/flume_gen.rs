//! Writes an Apache Flume file channel (format v3, logs only, so an adopter runs Flume's full
//! replay) of N committed puts of SIZE-byte bodies with a `timestamp` header, in transactions of
//! 100, into `DIR/checkpoint` and `DIR/data`: the input of the adoption benchmark
//! (`benches/adopt-cost.sh`, docs/performance.md).
//!
//! Run with `cargo run --release -p sluice-flume --example flume_gen -- DIR N SIZE`.

#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "a tool writing Flume's files as Flume does, not the channel: no Fs seam to keep"
)]

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use prost::Message;
use sluice_flume::proto::{Commit, FlumeEvent, FlumeEventHeader, Put, TransactionEventHeader};

/// Events per transaction.
const TXN_EVENTS: u64 = 100;
/// Bytes per log file at most (Flume's pointers hold 31-bit offsets).
const FILE_BYTES_MAX: u64 = 1_500_000_000;

/// A log file being written, and the write order shared by all.
struct Log {
    out: BufWriter<std::fs::File>,
    woid: i64,
}

impl Log {
    fn record(&mut self, typ: i32, txid: i64, body: &[u8]) -> std::io::Result<()> {
        self.woid += 1;
        let mut p = TransactionEventHeader {
            r#type: typ,
            transaction_id: txid,
            write_order_id: self.woid,
        }
        .encode_length_delimited_to_vec();
        p.extend_from_slice(body);
        p.push(0);
        self.out.write_all(&[0x7F])?;
        self.out.write_all(&(p.len() as u32).to_be_bytes())?;
        self.out.write_all(&p)
    }
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = || std::io::Error::other("usage: flume_gen DIR EVENTS BODY_BYTES");
    let dir = PathBuf::from(args.next().ok_or_else(usage)?);
    let n: u64 = args.next().and_then(|a| a.parse().ok()).ok_or_else(usage)?;
    let size: usize = args.next().and_then(|a| a.parse().ok()).ok_or_else(usage)?;
    std::fs::create_dir_all(dir.join("checkpoint"))?;
    std::fs::create_dir_all(dir.join("data"))?;
    let per_file = FILE_BYTES_MAX / (size as u64 + 64);
    let open = |id: u32| -> std::io::Result<BufWriter<std::fs::File>> {
        let f = std::fs::File::create(dir.join(format!("data/log-{id}")))?;
        Ok(BufWriter::with_capacity(1 << 20, f))
    };
    let (mut file_id, mut in_file, mut txid) = (1u32, 0u64, 1i64);
    let mut log = Log {
        out: open(file_id)?,
        woid: 1_000,
    };
    let body: Vec<u8> = (0..size).map(|i| b'a' + (i % 26) as u8).collect();
    let mut i = 0u64;
    while i < n {
        if in_file >= per_file {
            log.out.flush()?;
            file_id += 1;
            in_file = 0;
            log.out = open(file_id)?;
        }
        for _ in 0..TXN_EVENTS.min(n - i) {
            let mut b = body.clone();
            let tag = format!("{i:012}");
            let k = tag.len().min(b.len());
            b[..k].copy_from_slice(&tag.as_bytes()[..k]);
            let put = Put {
                event: Some(FlumeEvent {
                    headers: vec![FlumeEventHeader {
                        key: "timestamp".into(),
                        value: Some("1795746208855".into()),
                    }],
                    body: b.clone().into(),
                }),
                checksum: Some(i64::from(crc32fast::hash(&b))),
            };
            log.record(1, txid, &put.encode_length_delimited_to_vec())?;
            i += 1;
            in_file += 1;
        }
        log.record(
            4,
            txid,
            &Commit { r#type: 1 }.encode_length_delimited_to_vec(),
        )?;
        txid += 1;
    }
    log.out.flush()?;
    println!("{n} events in {file_id} log files under {}", dir.display());
    Ok(())
}
