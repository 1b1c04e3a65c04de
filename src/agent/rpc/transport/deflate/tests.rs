//! Tests of [`Deflate`](super::Deflate): Flume's reference streams, cut streams, the ratio cap
//! and a round trip.

use super::*;
use flate2::FlushCompress;
use std::sync::atomic::Ordering;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn reference(name: &str) -> Vec<u8> {
    // Copied from ../shared/reference/wire (tests/wire/avro_wire_golden.rs checks they match).
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("crates/sluice-wire/tests/fixtures/wire")
        .join(name);
    std::fs::read(p).unwrap()
}

async fn inflate_all(compressed: Vec<u8>) -> io::Result<Vec<u8>> {
    let (mut a, b) = tokio::io::duplex(1 << 16);
    let writer = tokio::spawn(async move {
        // Dribble the bytes in small pieces: the reader must not care how they arrive.
        for piece in compressed.chunks(7) {
            a.write_all(piece).await.unwrap();
        }
    });
    let mut d = Deflate::new(b, LEVEL_DEFAULT);
    let mut out = Vec::new();
    let r = d.read_to_end(&mut out).await;
    writer.await.unwrap();
    r.map(|_| out)
}

#[tokio::test]
async fn flumes_deflate_streams_inflate_to_the_plain_frames() {
    for dir in ["c2s", "s2c"] {
        let got = inflate_all(reference(&format!("avro-deflate-conn-{dir}.bin")))
            .await
            .unwrap();
        assert_eq!(
            got,
            reference(&format!("avro-deflate-conn-{dir}.inflated.bin"))
        );
        assert_eq!(got, reference(&format!("avro-conn-{dir}.bin")));
    }
}

#[tokio::test]
async fn a_stream_cut_mid_way_is_a_clear_error_and_a_flushed_end_is_not() {
    let full = reference("avro-deflate-conn-s2c.bin");
    // Flume's server never finishes its stream: it ends on a SYNC flush.
    assert!(full.ends_with(&SYNC_MARKER));
    let cut = full[..full.len() - 6].to_vec();
    let e = inflate_all(cut).await.unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{e}");
    assert!(
        matches!(DeflateError::of(&e), Some(DeflateError::Cut(_))),
        "{e}"
    );
    assert!(e.to_string().contains("cut mid-way"), "{e}");
    let e = inflate_all(reference("avro-conn-c2s.bin"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
    assert!(e.to_string().contains("compression-type = deflate"), "{e}");
}

/// `data` as one zlib stream ending with a SYNC flush.
fn zlib(data: &[u8], level: u32) -> Vec<u8> {
    let mut z = Compress::new(Compression::new(level), true);
    let mut out = Vec::with_capacity(data.len() + 1024);
    z.compress_vec(data, &mut out, FlushCompress::Sync).unwrap();
    out
}

/// Reads all of `compressed` through a capped reader: what was inflated, or the error.
async fn inflate_capped(compressed: Vec<u8>, ratio: u64) -> (io::Result<usize>, u64) {
    let (mut a, b) = tokio::io::duplex(1 << 16);
    tokio::spawn(async move {
        let _ = a.write_all(&compressed).await;
    });
    let refused = Arc::new(AtomicU64::new(0));
    let mut d = Deflate::new(b, LEVEL_DEFAULT).with_ratio_cap(ratio, refused.clone());
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0;
    let r = loop {
        match d.read(&mut buf).await {
            Ok(0) => break Ok(total),
            Ok(n) => total += n,
            Err(e) => break Err(e),
        }
    };
    (r, refused.load(Ordering::Relaxed))
}

#[tokio::test]
async fn a_bomb_is_refused_within_its_allowance_and_ordinary_text_is_not() {
    // 16 MiB of zeros: about 16 KiB compressed, so at most 256 KiB + 100 x that inflates.
    let bomb = zlib(&vec![0u8; 16 << 20], 9);
    let allowance = INFLATE_FLOOR_BYTES + 100 * bomb.len() as u64;
    let (r, refused) = inflate_capped(bomb, 100).await;
    let e = r.unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
    match DeflateError::of(&e) {
        Some(DeflateError::Ratio { inflated, .. }) => assert!(*inflated <= allowance + 1),
        other => panic!("{other:?}: {e}"),
    }
    assert!(e.to_string().contains("at most 100:1"), "{e}");
    assert_eq!(refused, 1);
    // Log-like lines compress far less than 100:1: all of them come through.
    let text: Vec<u8> = (0..200_000u32)
        .flat_map(|i| {
            format!(
                "2026-11-25 host{} app[{}]: request {i} served\n",
                i % 7,
                i % 13
            )
            .into_bytes()
        })
        .collect();
    let (r, refused) = inflate_capped(zlib(&text, 6), 100).await;
    assert_eq!(r.unwrap(), text.len());
    assert_eq!(refused, 0);
}

#[tokio::test]
async fn what_one_side_writes_the_other_reads_frame_by_frame() {
    let (a, b) = tokio::io::duplex(1 << 12);
    let (mut a, mut b) = (Deflate::new(a, 1), Deflate::new(b, 6));
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let sent = big.clone();
    let w = tokio::spawn(async move {
        a.write_all(b"hello").await.unwrap();
        a.flush().await.unwrap();
        a.write_all(&sent).await.unwrap();
        a.shutdown().await.unwrap();
        a
    });
    let mut first = [0u8; 5];
    b.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"hello");
    let mut rest = Vec::new();
    b.read_to_end(&mut rest).await.unwrap();
    assert_eq!(rest, big);
    // The stream began with a zlib header.
    let _ = w.await.unwrap();
}
