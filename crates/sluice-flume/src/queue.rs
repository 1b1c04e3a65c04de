//! The queue a Flume replay builds: appends at the tail, returns at the head, and removes
//! of a pointer from anywhere (a committed take). Removes are tombstones applied when the
//! queue is read out, so a replay of many takes is linear, not Flume's scan per take; the
//! first occurrence from the head is the one removed, as Flume's `remove` does.

use std::collections::{HashMap, VecDeque};

use crate::invariant::hot_assert;

/// The replayed queue of event pointers.
#[derive(Debug, Default)]
pub struct ReplayQueue {
    order: VecDeque<u64>,
    live: HashMap<u64, u32>,
    dead: HashMap<u64, u32>,
}

impl ReplayQueue {
    /// A queue holding `ptrs`, head first.
    pub fn from_head(ptrs: &[u64]) -> ReplayQueue {
        let mut q = ReplayQueue::default();
        for p in ptrs {
            q.add_tail(*p);
        }
        q
    }

    /// Appends `ptr`.
    pub fn add_tail(&mut self, ptr: u64) {
        self.order.push_back(ptr);
        *self.live.entry(ptr).or_default() += 1;
    }

    /// Puts `ptr` in front.
    pub fn add_head(&mut self, ptr: u64) {
        self.order.push_front(ptr);
        *self.live.entry(ptr).or_default() += 1;
    }

    /// Removes `ptr`; `false` when it is not queued.
    pub fn remove(&mut self, ptr: u64) -> bool {
        match self.live.get_mut(&ptr) {
            Some(n) if *n > 0 => {
                *n -= 1;
                *self.dead.entry(ptr).or_default() += 1;
                true
            }
            _ => false,
        }
    }

    /// The queue, head first.
    pub fn into_vec(mut self) -> Vec<u64> {
        let mut out = Vec::with_capacity(self.order.len());
        for p in self.order {
            match self.dead.get_mut(&p) {
                Some(n) if *n > 0 => *n -= 1,
                _ => out.push(p),
            }
        }
        hot_assert!(
            self.dead.values().all(|n| *n == 0),
            "every removal met a queued occurrence of its pointer"
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_take_the_first_occurrence_and_heads_go_in_front() {
        let mut q = ReplayQueue::from_head(&[1, 2, 3, 2]);
        assert!(q.remove(2));
        assert!(!q.remove(9));
        q.add_head(7);
        q.add_head(8);
        q.add_tail(4);
        assert_eq!(q.into_vec(), vec![8, 7, 1, 3, 2, 4]);
    }
}
