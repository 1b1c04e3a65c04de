//! The task that reads the JVM's frames: a frame's first byte may wait as long as the plugin
//! is idle, the rest of it must arrive within [`FRAME_READ_TIMEOUT`].

use tokio::io::{AsyncReadExt, BufReader};
use tokio::process::ChildStdout;
use tokio::sync::mpsc;

use super::FRAME_READ_TIMEOUT;
use crate::agent::java::frame::{self, FromJvm, LEN_BYTES};
use crate::agent::java::jvm::JavaError;

pub(super) async fn read_frames(
    stdout: ChildStdout,
    tx: mpsc::Sender<Result<FromJvm, JavaError>>,
    label: String,
) {
    let mut r = BufReader::with_capacity(64 << 10, stdout);
    loop {
        let mut prefix = [0u8; LEN_BYTES];
        // The first byte may take as long as the plugin is idle; the rest has a deadline.
        match r.read(&mut prefix[..1]).await {
            Ok(1) => {}
            _ => return, // end of stream: the receiver sees the channel closed
        }
        let deadline = tokio::time::Instant::now() + FRAME_READ_TIMEOUT;
        let partial = |part, got, want| {
            Err(JavaError::PartialFrame {
                plugin: label.clone(),
                part,
                got,
                want,
                within: FRAME_READ_TIMEOUT,
            })
        };
        let next = match read_by(&mut r, &mut prefix, 1, deadline).await {
            Fill::Eof => return,
            Fill::Late(got) => partial("length prefix", got, LEN_BYTES),
            Fill::Done => match frame::frame_len(prefix) {
                Ok(n) => {
                    let mut body = vec![0u8; n];
                    match read_by(&mut r, &mut body, 0, deadline).await {
                        Fill::Eof => return,
                        Fill::Late(got) => partial("body", got, n),
                        Fill::Done => frame::decode_from_jvm(&body)
                            .map_err(|e| JavaError::Protocol(format!("{label}: {e}"))),
                    }
                }
                Err(e) => Err(JavaError::Protocol(format!("{label}: {e}"))),
            },
        };
        let bad = next.is_err();
        if tx.send(next).await.is_err() || bad {
            return;
        }
    }
}

/// How a [`read_by`] ended.
enum Fill {
    /// The buffer is full.
    Done,
    /// The stream ended or failed.
    Eof,
    /// The deadline passed with this many bytes of the buffer filled.
    Late(usize),
}

/// Fills `buf` from byte `from` on, by `deadline`.
async fn read_by<R: tokio::io::AsyncRead + Unpin>(
    r: &mut R,
    buf: &mut [u8],
    from: usize,
    deadline: tokio::time::Instant,
) -> Fill {
    let mut got = from;
    while let Some(rest) = buf.get_mut(got..).filter(|b| !b.is_empty()) {
        match tokio::time::timeout_at(deadline, r.read(rest)).await {
            Err(_) => return Fill::Late(got),
            Ok(Ok(0)) | Ok(Err(_)) => return Fill::Eof,
            Ok(Ok(n)) => got += n,
        }
    }
    Fill::Done
}
