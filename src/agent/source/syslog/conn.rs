//! One syslog TCP connection's loop: read, frame, parse, commit, with the next group parsed
//! while the last one commits. At most one group is committing at a time (so the channel
//! sees a connection's events in the order they arrived); while it waits for its fdatasync
//! the connection frames and parses what is already buffered, and reads more when that runs
//! out, into the next group, which is put as soon as the first is committed. Parsing and
//! the commit then overlap on two threads instead of following one another. Before each
//! group the connection waits while a sink that is taking lags by more than half the
//! channel's event cache (pace.rs), as the file sources do: what the sender has not yet
//! handed over waits in its own socket instead of being read back from the disk by every
//! take.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt};

use super::config::SyslogTcpConfig;
use super::frame::{Frame, Framer};
use crate::agent::source::pace::pace;
use crate::agent::source::read_buf::ReadBuf;
use crate::agent::source::SourceCtx;
use sluice_core::Event;

/// Batches of `batchSize` events put as one group commit (each its own transaction; one
/// fdatasync for all on a file channel).
pub(crate) const GROUP_BATCHES_MAX: usize = 16;

/// What a connection has received and not yet put.
struct Intake {
    framer: Framer,
    chunk: ReadBuf,
    /// The peer closed (or the connection failed or idled out): the framer's rest is final.
    eof: bool,
    /// The group being parsed for the next commit.
    next: Vec<Vec<Event>>,
    cfg: Arc<SyslogTcpConfig>,
    extra: Vec<(String, String)>,
}

impl Intake {
    /// Whether the next group has room for more events.
    fn wants(&self) -> bool {
        self.next.len() < GROUP_BATCHES_MAX
            || self
                .next
                .last()
                .is_some_and(|b| b.len() < self.cfg.batch_size)
    }

    /// Parses up to one batch of buffered frames into the next group (topping up its last
    /// batch first); false when no complete frame was buffered.
    fn parse_some(&mut self) -> bool {
        let top_up = self
            .next
            .last()
            .map_or(0, |b| self.cfg.batch_size.saturating_sub(b.len()));
        let room = if top_up > 0 {
            top_up
        } else if self.next.len() < GROUP_BATCHES_MAX {
            self.cfg.batch_size
        } else {
            return false;
        };
        let mut frames: Vec<Frame> = Vec::with_capacity(room.min(self.cfg.batch_size));
        while frames.len() < room {
            let f = if self.eof {
                self.framer.finish()
            } else {
                self.framer.next_frame()
            };
            match f {
                Some(f) => frames.push(f),
                None => break,
            }
        }
        if frames.is_empty() {
            return false;
        }
        let events = super::events(frames, &self.cfg.syslog, &self.extra);
        match self.next.last_mut() {
            Some(last) if top_up > 0 => last.extend(events),
            _ => self.next.push(events),
        }
        true
    }

    /// Takes a read's outcome: bytes to frame, or the end of the stream.
    fn took(&mut self, read: std::io::Result<usize>, source: &str, peer: SocketAddr) {
        match read {
            Ok(0) => self.eof = true,
            Ok(n) => {
                let framer = &mut self.framer;
                self.chunk.consume(n, |bytes| framer.push(bytes));
            }
            Err(e) => {
                tracing::debug!(source, %peer, error = %e, "read failed");
                self.eof = true;
            }
        }
    }
}

/// Runs one connection until the peer closes it, it idles out, or the source stops.
pub(super) async fn run<S: AsyncRead + Unpin>(
    mut stream: S,
    peer: SocketAddr,
    cfg: Arc<SyslogTcpConfig>,
    mut ctx: SourceCtx,
    extra: Vec<(String, String)>,
) {
    let mut stop = ctx.stop.clone();
    let mut intake = Intake {
        framer: Framer::new(cfg.syslog.event_size, true),
        chunk: ReadBuf::new(cfg.read_buffer_size),
        eof: false,
        next: Vec::new(),
        cfg,
        extra,
    };
    loop {
        while intake.wants() && intake.parse_some() {}
        if intake.next.is_empty() {
            if intake.eof {
                return;
            }
            let idle = intake.cfg.idle_timeout;
            let read = tokio::select! {
                _ = stop.wait() => return,
                r = tokio::time::timeout(idle, stream.read(intake.chunk.space())) => r,
            };
            match read {
                Ok(r) => intake.took(r, &ctx.name, peer),
                Err(_) => {
                    tracing::debug!(source = %ctx.name, %peer, "idle connection closed");
                    intake.eof = true;
                }
            }
            continue;
        }
        // A sink that keeps up is not outrun past the channel's event cache (pace.rs).
        if pace(&ctx).await {
            return;
        }
        let group = std::mem::take(&mut intake.next);
        if !commit_while_parsing(&mut ctx, group, &mut stream, &mut intake, peer).await {
            return;
        }
    }
}

/// Puts `group` and, until it is committed, parses (and reads when nothing complete is
/// buffered) the next group into `intake`. Returns whether the group was committed.
async fn commit_while_parsing<S: AsyncRead + Unpin>(
    ctx: &mut SourceCtx,
    group: Vec<Vec<Event>>,
    stream: &mut S,
    intake: &mut Intake,
    peer: SocketAddr,
) -> bool {
    let name = ctx.name.clone();
    let commit = ctx.put_group_with_retry(group);
    tokio::pin!(commit);
    // Nothing complete is buffered: only a read can bring more.
    let mut starved = false;
    loop {
        let wants = intake.wants();
        tokio::select! {
            biased;
            committed = &mut commit => return committed,
            () = std::future::ready(()), if wants && !starved => {
                starved = !intake.parse_some();
            }
            // Cancel safe: a read dropped unfinished has consumed nothing.
            r = stream.read(intake.chunk.space()), if wants && starved && !intake.eof => {
                intake.took(r, &name, peer);
                starved = false;
            }
        }
    }
}
