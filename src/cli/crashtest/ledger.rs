//! The crashtest's books: what producers had acknowledged, what takers were handed, and what
//! the channel still held at the end; from them, lost, duplicated and out-of-order events.
//!
//! An event counts as recovered once any taker was handed it (a take whose commit was cut
//! short may or may not have become final) or it is in the channel at the end. Lost means
//! acknowledged and never seen again. Order is checked per producer on first appearances.

use std::collections::HashMap;

use anyhow::Context;
use sluice_core::FileChannel;

use super::parse_body;

/// The totals a run ends with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// Crash rounds run.
    pub rounds: u64,
    /// Events whose put commit was acknowledged.
    pub acked: u64,
    /// Acknowledged events seen again (taken or still queued).
    pub recovered: u64,
    /// Acknowledged events never seen again.
    pub lost: u64,
    /// Deliveries beyond the first of an event.
    pub duplicated: u64,
    /// First appearances that came before an earlier event of the same producer.
    pub misordered: u64,
    /// Events that no producer of this run put.
    pub foreign: u64,
}

/// The books.
#[derive(Debug, Default)]
pub struct Ledger {
    /// producer -> number of its events acknowledged (seqs `0..n`).
    acked: HashMap<u64, u64>,
    /// (producer, seq) -> times delivered.
    seen: HashMap<(u64, u64), u64>,
    /// producer -> highest seq seen so far (first appearances).
    last_first: HashMap<u64, u64>,
    misordered: u64,
    foreign: u64,
    /// `--exactly-once`: what takers were handed, in order, as the sink's output; cut back to
    /// the taker's committed cursor at each start, booked at the end.
    output: Option<Vec<Vec<u8>>>,
}

impl Ledger {
    /// Books that take a taker's lines as delivered at once, or (`exactly_once`) as an output
    /// cut back to the cursor each worker reports.
    pub fn new(exactly_once: bool) -> Self {
        Ledger {
            output: exactly_once.then(Vec::new),
            ..Ledger::default()
        }
    }

    /// A taker was handed this event (its take may or may not commit).
    pub fn took(&mut self, body: &[u8]) {
        match self.output.as_mut() {
            Some(out) => out.push(body.to_vec()),
            None => self.deliver(body),
        }
    }

    /// The committed takes account for the first `n` lines: the rest are cut.
    pub fn cut_back(&mut self, n: u64) {
        if let Some(out) = self.output.as_mut() {
            out.truncate(usize::try_from(n).unwrap_or(usize::MAX));
        }
    }

    /// Books the output (at the end, before the drain).
    pub fn settle(&mut self) {
        for body in self.output.take().unwrap_or_default() {
            self.deliver(&body);
        }
    }
    /// Producer `p` had its events `0..count` acknowledged.
    pub fn ack(&mut self, producer: u64, count: u64) {
        let e = self.acked.entry(producer).or_insert(0);
        *e = (*e).max(count);
    }

    /// An event was handed to a taker (or found at the end).
    pub fn deliver(&mut self, body: &[u8]) {
        let Some((p, seq)) = parse_body(body) else {
            self.foreign += 1;
            return;
        };
        let n = self.seen.entry((p, seq)).or_insert(0);
        *n += 1;
        if *n == 1 {
            let last = self.last_first.entry(p).or_insert(seq);
            if seq < *last {
                self.misordered += 1;
            }
            *last = (*last).max(seq);
        }
    }

    /// Acknowledged events so far.
    pub fn acked_total(&self) -> u64 {
        self.acked.values().sum()
    }

    /// Takes everything left in the channel, booking each event; returns how many.
    pub fn drain(&mut self, ch: &FileChannel) -> anyhow::Result<u64> {
        let mut n = 0;
        loop {
            let mut tx = ch.transaction();
            let mut got = 0;
            while got < 500 {
                match tx.take().context("final take")? {
                    Some(e) => {
                        self.deliver(&e.body);
                        got += 1;
                    }
                    None => break,
                }
            }
            tx.commit().context("final commit")?;
            n += got;
            if got == 0 {
                return Ok(n);
            }
        }
    }

    /// The totals.
    pub fn report(&self, rounds: u64) -> Report {
        let acked = self.acked_total();
        let recovered = self
            .acked
            .iter()
            .map(|(&p, &n)| (0..n).filter(|&s| self.seen.contains_key(&(p, s))).count() as u64)
            .sum();
        Report {
            rounds,
            acked,
            recovered,
            lost: acked - recovered,
            duplicated: self.seen.values().map(|n| n - 1).sum(),
            misordered: self.misordered,
            foreign: self.foreign,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::crashtest::event_body;

    #[test]
    fn an_acknowledged_event_never_seen_is_lost_and_a_redelivery_is_a_duplicate() {
        let mut l = Ledger::default();
        l.ack(1, 3);
        l.deliver(&event_body(1, 0));
        l.deliver(&event_body(1, 0));
        l.deliver(&event_body(1, 2));
        let r = l.report(1);
        assert_eq!((r.acked, r.recovered, r.lost, r.duplicated), (3, 2, 1, 1));
        assert_eq!(r.misordered, 0);
    }

    #[test]
    fn an_event_first_seen_after_a_later_one_of_its_producer_is_out_of_order() {
        let mut l = Ledger::default();
        l.deliver(&event_body(4, 5));
        l.deliver(&event_body(4, 3));
        l.deliver(b"garbage");
        let r = l.report(1);
        assert_eq!((r.misordered, r.foreign), (1, 1));
    }
}
