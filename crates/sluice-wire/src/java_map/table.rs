//! Java 17's `HashMap` table, replayed: `putVal`, `resize` (lo/hi split keeping order),
//! `treeifyBin` and the tree bins' `putTreeVal`, `treeify`, `split` and `untreeify`, over an
//! arena of nodes that carry what the JDK's `Node` and `TreeNode` carry (the `next` list, and
//! for a tree bin `prev`, `parent`, `left`, `right`, `red`). Only what decides the iteration
//! order is kept: the keys (as UTF-16, for `String.compareTo`) and their spread hashes; a key
//! put twice keeps its node, as `putVal` does. Iteration walks the buckets in order and each
//! bucket along `next` (a tree bin's root first: `moveRootToFront`).

use super::arena::Table;
use super::tree;

/// A new `HashMap`'s bucket count (`DEFAULT_INITIAL_CAPACITY`).
const TABLE_INITIAL: usize = 16;
/// A bin whose list reaches this many nodes past its first is treeified (`TREEIFY_THRESHOLD`).
const TREEIFY_THRESHOLD: usize = 8;
/// A split bin of at most this many nodes goes back to a list (`UNTREEIFY_THRESHOLD`).
const UNTREEIFY_THRESHOLD: usize = 6;
/// Below this many buckets a long bin doubles the table instead (`MIN_TREEIFY_CAPACITY`).
const MIN_TREEIFY_CAPACITY: usize = 64;

impl Table {
    /// `put(key, ...)` of the pair numbered `pair`.
    pub(super) fn put(&mut self, hash: i32, key: Vec<u16>, pair: usize) {
        if self.bins.is_empty() {
            self.resize();
        }
        let i = self.index_of(hash);
        let Some(first) = self.bins.get(i).copied().flatten() else {
            let x = self.new_node(hash, key, pair, false);
            self.set_bin(i, Some(x));
            return self.grown();
        };
        if self.same_key(first, hash, &key) {
            return;
        }
        if self.node(first).tree {
            if tree::put_tree_val(self, first, hash, key, pair) {
                self.grown();
            }
            return;
        }
        let mut p = first;
        let mut bin_count = 0;
        loop {
            let next = self.node(p).next;
            match next {
                None => {
                    let x = self.new_node(hash, key, pair, false);
                    self.node_mut(p).next = Some(x);
                    if bin_count >= TREEIFY_THRESHOLD - 1 {
                        self.treeify_bin(hash);
                    }
                    return self.grown();
                }
                Some(e) if self.same_key(e, hash, &key) => return,
                Some(e) => p = e,
            }
            bin_count += 1;
        }
    }

    /// The pairs in iteration order.
    pub(super) fn order(&self) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.size);
        for bin in &self.bins {
            let mut at = *bin;
            while let Some(i) = at {
                out.push(self.node(i).pair);
                at = self.node(i).next;
            }
        }
        out
    }

    /// `++size > threshold`: resize.
    fn grown(&mut self) {
        self.size += 1;
        if self.size > self.threshold {
            self.resize();
        }
    }

    fn same_key(&self, i: usize, hash: i32, key: &[u16]) -> bool {
        let n = self.node(i);
        n.hash == hash && n.key == key
    }

    /// `resize()` of a map made with the default constructor: 16 buckets, then doubling.
    fn resize(&mut self) {
        let old_cap = self.bins.len();
        let (new_cap, new_thr) = if old_cap == 0 {
            (TABLE_INITIAL, TABLE_INITIAL / 4 * 3)
        } else {
            (old_cap * 2, self.threshold * 2)
        };
        self.threshold = new_thr;
        let old = std::mem::replace(&mut self.bins, vec![None; new_cap]);
        for (j, head) in old.into_iter().enumerate() {
            let Some(e) = head else { continue };
            if self.node(e).next.is_none() {
                let at = self.index_of(self.node(e).hash);
                self.set_bin(at, Some(e));
            } else if self.node(e).tree {
                self.split(e, j, old_cap);
            } else {
                let (lo, hi) = self.relink(e, old_cap, false);
                self.set_bin(j, lo.0);
                self.set_bin(j + old_cap, hi.0);
            }
        }
    }

    /// Splits the list from `head` by `hash & bit` into a lo and a hi list, keeping order
    /// (with `prev` links for tree nodes): each list's head and length.
    fn relink(
        &mut self,
        head: usize,
        bit: usize,
        tree: bool,
    ) -> ((Option<usize>, usize), (Option<usize>, usize)) {
        let (mut lo, mut hi) = ((None, None, 0), (None, None, 0));
        let mut at = Some(head);
        while let Some(e) = at {
            at = self.node(e).next;
            self.node_mut(e).next = None;
            let side = if (self.node(e).hash as u32 as usize) & bit == 0 {
                &mut lo
            } else {
                &mut hi
            };
            let (h, t, n): &mut (Option<usize>, Option<usize>, usize) = side;
            let tail = *t;
            match tail {
                None => *h = Some(e),
                Some(t) => self.node_mut(t).next = Some(e),
            }
            if tree {
                self.node_mut(e).prev = tail;
            }
            *t = Some(e);
            *n += 1;
        }
        ((lo.0, lo.2), (hi.0, hi.2))
    }

    /// `TreeNode.split`: the tree bin at `index` into `index` and `index + bit`.
    fn split(&mut self, head: usize, index: usize, bit: usize) {
        let ((lo, lc), (hi, hc)) = self.relink(head, bit, true);
        for (list, count, at, other) in [(lo, lc, index, hi), (hi, hc, index + bit, lo)] {
            let Some(h) = list else { continue };
            self.set_bin(at, Some(h));
            if count <= UNTREEIFY_THRESHOLD {
                self.untreeify(h);
            } else if other.is_some() {
                tree::treeify(self, h);
            }
        }
    }

    /// `untreeify`: the nodes from `head` become plain nodes, in list order.
    fn untreeify(&mut self, head: usize) {
        let mut at = Some(head);
        while let Some(i) = at {
            let n = self.node_mut(i);
            n.tree = false;
            n.red = false;
            (n.prev, n.parent, n.left, n.right) = (None, None, None, None);
            at = n.next;
        }
    }

    /// `treeifyBin`: doubles a small table, else makes the bin of `hash` a tree.
    fn treeify_bin(&mut self, hash: i32) {
        if self.bins.len() < MIN_TREEIFY_CAPACITY {
            return self.resize();
        }
        let Some(hd) = self.bins.get(self.index_of(hash)).copied().flatten() else {
            return;
        };
        let (mut at, mut tail) = (Some(hd), None);
        while let Some(i) = at {
            let n = self.node_mut(i);
            n.tree = true;
            n.prev = tail;
            tail = Some(i);
            at = n.next;
        }
        tree::treeify(self, hd);
    }
}
