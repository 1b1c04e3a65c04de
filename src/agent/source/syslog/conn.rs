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
//!
//! Memory is bounded per source, not per connection: before every read a connection holds,
//! from the source's byte budget (`maxBufferedBytes`), what it would then keep (the group it
//! commits and the one it parses, each message counted twice for its parsed event, the bytes
//! not yet framed, and a full read); past the budget it waits before reading, so the sender
//! waits in TCP. A commit needs nothing from the budget and gives its bytes back, so the
//! waits always end.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt};

use super::budgeted::{budgeted_read, reserve_read};
use super::config::SyslogTcpConfig;
use super::frame::{Frame, Framer};
use crate::agent::source::budget::{self, Budget, Held};
use crate::agent::source::pace::pace;
use crate::agent::source::read_buf::ReadBuf;
use crate::agent::source::SourceCtx;
use sluice_core::Event;

/// Batches of `batchSize` events put as one group commit (each its own transaction; one
/// fdatasync for all on a file channel).
pub(crate) const GROUP_BATCHES_MAX: usize = 16;

/// Message bytes after which a group takes no more batches: a connection holds at most two
/// groups (one committing, one parsed), so this bounds what a busy connection keeps in
/// memory at about what four batches of the largest default messages (2,500 bytes) did
/// before groups grew to 16 batches; 16 batches of W1's 200-byte lines are 320 KiB.
pub(crate) const GROUP_BYTES_MAX: usize = 1 << 20;

/// What a connection has received and not yet put.
struct Intake {
    framer: Framer,
    chunk: ReadBuf,
    /// The peer closed (or the connection failed or idled out): the framer's rest is final.
    eof: bool,
    /// The group being parsed for the next commit.
    next: Vec<Vec<Event>>,
    /// Message bytes in `next`.
    next_bytes: usize,
    cfg: Arc<SyslogTcpConfig>,
    extra: Vec<(String, String)>,
    /// The source's byte budget and what this connection holds of it.
    budget: Arc<Budget>,
    held: Option<Held>,
    /// Message bytes of the group being committed.
    committing: usize,
}

/// A parsed event counted against the budget as this many times its message's bytes.
const PARSED_FACTOR: usize = 2;

impl Intake {
    /// Bytes this connection may keep until its next commit if it reads now: the group it
    /// commits and the one it parses (counted [`PARSED_FACTOR`] times), the framer's buffer
    /// and a full read; at most the whole budget.
    fn need(&self) -> u64 {
        let bytes = PARSED_FACTOR * (self.committing + self.next_bytes)
            + self.framer.capacity()
            + self.chunk.capacity();
        (bytes as u64).min(self.budget.total())
    }

    /// Gives back what it holds beyond [`Intake::need`] (after a commit).
    fn release(&mut self) {
        let need = self.need();
        if let Some(h) = self.held.as_mut() {
            budget::shrink_to(h, need);
        }
    }
    /// Whether the next group has room for more events.
    fn wants(&self) -> bool {
        self.next_bytes < GROUP_BYTES_MAX
            && (self.next.len() < GROUP_BATCHES_MAX
                || self
                    .next
                    .last()
                    .is_some_and(|b| b.len() < self.cfg.batch_size))
    }

    /// The next group, taken for its commit.
    fn take_group(&mut self) -> Vec<Vec<Event>> {
        self.committing = self.next_bytes;
        self.next_bytes = 0;
        std::mem::take(&mut self.next)
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
                Some(f) => {
                    self.next_bytes += f.bytes.len();
                    frames.push(f);
                    if self.next_bytes >= GROUP_BYTES_MAX {
                        break;
                    }
                }
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
    budget: Arc<Budget>,
) {
    let mut stop = ctx.stop.clone();
    let mut intake = Intake {
        framer: Framer::new(cfg.syslog.event_size, true),
        chunk: ReadBuf::new(cfg.read_buffer_size),
        eof: false,
        next: Vec::new(),
        next_bytes: 0,
        cfg,
        extra,
        budget,
        held: None,
        committing: 0,
    };
    loop {
        while intake.wants() && intake.parse_some() {}
        if intake.next.is_empty() {
            if intake.eof {
                return;
            }
            let idle = intake.cfg.idle_timeout;
            // The wait for the budget is not idleness: the sender is waiting on us.
            let need = intake.need();
            tokio::select! {
                _ = stop.wait() => return,
                () = reserve_read(&mut intake.held, &intake.budget, need, &mut intake.chunk, &mut intake.framer) => {}
            }
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
        // A sink that keeps up is not outrun past the channel's event cache (pace.rs). A
        // stop ends the wait, not the put: what was read is still offered, and the next read
        // (above) sees the stop.
        let _stopped = pace(&ctx).await;
        let group = intake.take_group();
        if !commit_while_parsing(&mut ctx, group, &mut stream, &mut intake, peer).await {
            return;
        }
        intake.committing = 0;
        intake.release();
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
    // Once stopped, nothing more is read: the buffered rest is put and the connection ends.
    let stop = ctx.stop.clone();
    let commit = ctx.put_group_with_retry(group);
    tokio::pin!(commit);
    // Nothing complete is buffered: only a read can bring more.
    let mut starved = false;
    loop {
        let wants = intake.wants();
        let need = intake.need();
        tokio::select! {
            biased;
            committed = &mut commit => return committed,
            () = std::future::ready(()), if wants && !starved => {
                starved = !intake.parse_some();
            }
            // Cancel safe: a read dropped unfinished has consumed nothing, and a wait for the
            // budget dropped unfinished holds nothing more.
            r = budgeted_read(&mut intake.held, &intake.budget, need, stream, &mut intake.chunk, &mut intake.framer), if wants && starved && !intake.eof && !stop.is_set() => {
                intake.took(r, &name, peer);
                starved = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::registry::kinds::SourceKind;

    fn intake(batch_size: usize) -> Intake {
        let props = format!(
            "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
             a1.sources.r1.type = syslogtcp\na1.sources.r1.port = 1\n\
             a1.sources.r1.channels = c1\na1.sources.r1.batchSize = {batch_size}\n\
             a1.sources.r1.eventSize = 20000\n\
             a1.channels.c1.type = memory\na1.sinks.k1.type = null\na1.sinks.k1.channel = c1\n"
        );
        let agent = crate::agent::topology::load(&props, "a1", &[])
            .config
            .unwrap();
        let SourceKind::SyslogTcp(cfg) = agent.sources["r1"].kind.clone() else {
            panic!("not a syslogtcp source");
        };
        Intake {
            framer: Framer::new(cfg.syslog.event_size, true),
            chunk: ReadBuf::new(cfg.read_buffer_size),
            eof: false,
            next: Vec::new(),
            next_bytes: 0,
            budget: Arc::new(Budget::new(cfg.max_buffered_bytes)),
            cfg: Arc::new(cfg),
            extra: Vec::new(),
            held: None,
            committing: 0,
        }
    }

    /// Parses what is buffered into the next group, as far as it wants; its events.
    fn fill(i: &mut Intake) -> usize {
        while i.wants() && i.parse_some() {}
        i.next.iter().map(Vec::len).sum()
    }

    #[test]
    fn connections_wait_for_the_sources_budget_and_a_commit_gives_it_back() {
        use super::super::budgeted::reserve;
        use futures::FutureExt;
        let mut a = intake(100);
        let mut b = intake(100);
        let shared = Arc::new(Budget::new(BUFFERED_BYTES_MIN_FOR_TEST));
        a.budget = shared.clone();
        b.budget = shared.clone();
        // `a` commits a group of 1 MiB and parses the next: it needs the whole budget.
        a.committing = 1 << 20;
        a.next_bytes = 1 << 20;
        assert_eq!(a.need(), shared.total());
        let need = a.need();
        assert!(reserve(&mut a.held, &a.budget, need)
            .now_or_never()
            .is_some());
        // `b` wants only a read's worth, and waits: the budget is all held.
        let need = b.need();
        assert!(need > 0 && need < shared.total());
        let mut b_held = None;
        assert!(reserve(&mut b_held, &b.budget, need)
            .now_or_never()
            .is_none());
        // `a`'s commit ends: it keeps what its parsed group and a read need, the rest is free.
        a.committing = 0;
        a.release();
        assert!(budget::bytes(&a.held) < shared.total());
        assert!(reserve(&mut b_held, &b.budget, need)
            .now_or_never()
            .is_some());
        assert_eq!(budget::bytes(&b_held), need);
    }

    /// `maxBufferedBytes` at its least.
    const BUFFERED_BYTES_MIN_FOR_TEST: u64 = super::super::config::BUFFERED_BYTES_MIN;

    #[test]
    fn a_group_holds_sixteen_batches_of_short_lines() {
        let mut i = intake(100);
        i.framer.push(
            "<13>Oct 11 22:14:15 h short line\n"
                .repeat(2_000)
                .as_bytes(),
        );
        assert_eq!(fill(&mut i), GROUP_BATCHES_MAX * 100);
        assert_eq!(i.take_group().len(), GROUP_BATCHES_MAX);
        assert_eq!(
            fill(&mut i),
            2_000 - GROUP_BATCHES_MAX * 100,
            "the rest, next group"
        );
    }

    #[test]
    fn a_group_of_long_messages_stops_at_its_byte_bound() {
        let mut i = intake(100);
        let line = format!("<13>Oct 11 22:14:15 h {}\n", "x".repeat(9_977));
        i.framer.push(line.repeat(400).as_bytes());
        let per = line.len() - 1;
        let bound = GROUP_BYTES_MAX.div_ceil(per);
        assert_eq!(fill(&mut i), bound, "one message past the bound, no more");
        assert_eq!(i.take_group().len(), bound.div_ceil(100));
        assert_eq!(i.next_bytes, 0);
        assert_eq!(fill(&mut i), bound, "the next group likewise");
    }
}
