//! Assertions at the agent's stated invariants (DESIGN.md, "Sinks and sources", "Network
//! edges"): takes commit in the order taken and a group commits a prefix, answers go out in
//! call order, counted budgets never go below zero, a file source's position never moves back
//! within one file, the router acknowledges only what every required channel committed.
//!
//! They are `assert!`s, on in every build: each runs once per batch, call or connection, never
//! per event, so its cost is nothing next to the commit it guards; a broken one is a bug that
//! would lose or duplicate acknowledged events, and stopping the task (the supervisor restarts
//! it, nothing uncommitted is acknowledged) is the safe answer. Each is tested to fire.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Asserts that `results` are a prefix of successes followed only by failures: what a group
/// commit or an in-order group of puts may answer (after the first failure nothing later was
/// committed). `what` names the group in the panic.
pub(crate) fn ok_prefix<T, E>(results: &[Result<T, E>], what: &str) {
    if let Some(first_err) = results.iter().position(Result::is_err) {
        let later_ok = results[first_err..].iter().position(Result::is_ok);
        assert!(
            later_ok.is_none(),
            "invariant: {what}: item {} succeeded after item {} failed (a group commits a prefix)",
            first_err + later_ok.unwrap_or(0) + 1,
            first_err + 1,
        );
    }
}

/// Asserts that `next` comes strictly after `prev` (take numbers, call numbers).
pub(crate) fn after(prev: u64, next: u64, what: &str) {
    assert!(
        next > prev,
        "invariant: {what}: {next} does not come after {prev} (out of order)"
    );
}

/// Asserts that a position in one file moves forward or stays (`to >= from`).
pub(crate) fn not_back(from: u64, to: u64, what: &str) {
    assert!(
        to >= from,
        "invariant: {what}: position moved back from {from} to {to}"
    );
}

/// Takes `n` from a counted budget, asserting it held at least `n` (it never goes negative).
pub(crate) fn release(held: &AtomicUsize, n: usize, what: &str) -> usize {
    let before = held.fetch_sub(n, Ordering::AcqRel);
    assert!(
        before >= n,
        "invariant: {what}: gave back {n} but only {before} were held"
    );
    before - n
}

/// A process-wide sequence: each call returns a number greater than every earlier one.
#[derive(Debug, Default)]
pub(crate) struct Sequence(AtomicU64);

impl Sequence {
    /// A sequence whose first number is 1.
    pub(crate) const fn new() -> Self {
        Sequence(AtomicU64::new(0))
    }

    /// The next number (from 1).
    pub(crate) fn next(&self) -> u64 {
        self.0.fetch_add(1, Ordering::Relaxed) + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_passes() {
        ok_prefix::<(), ()>(&[Ok(()), Ok(()), Err(()), Err(())], "group");
        ok_prefix::<(), ()>(&[], "group");
        ok_prefix::<(), ()>(&[Err(())], "group");
    }

    #[test]
    #[should_panic(expected = "item 3 succeeded after item 2 failed")]
    fn a_success_after_a_failure_fires() {
        ok_prefix::<(), ()>(&[Ok(()), Err(()), Ok(())], "group");
    }

    #[test]
    #[should_panic(expected = "out of order")]
    fn a_number_out_of_order_fires() {
        after(7, 7, "takes");
    }

    #[test]
    #[should_panic(expected = "moved back from 10 to 9")]
    fn a_position_moving_back_fires() {
        not_back(10, 10, "position");
        not_back(10, 9, "position");
    }

    #[test]
    fn release_counts_down() {
        let held = AtomicUsize::new(3);
        assert_eq!(release(&held, 2, "budget"), 1);
        assert_eq!(release(&held, 1, "budget"), 0);
    }

    #[test]
    #[should_panic(expected = "gave back 2 but only 1 were held")]
    fn releasing_more_than_held_fires() {
        let held = AtomicUsize::new(1);
        release(&held, 2, "budget");
    }

    #[test]
    fn a_sequence_grows() {
        let s = Sequence::default();
        let (a, b) = (s.next(), s.next());
        after(a, b, "sequence");
    }
}
