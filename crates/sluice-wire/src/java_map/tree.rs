//! The tree bins of Java 17's `HashMap` (`HashMap.TreeNode`): `treeify`, `putTreeVal`,
//! `moveRootToFront` and the red-black balancing they call (`balanceInsertion`,
//! `rotateLeft`, `rotateRight`), line for line. What matters for the order: a bin's list
//! keeps its order when it becomes a tree, but its root is moved to the front, and a key put
//! into a tree bin goes into the list right after its tree parent, not last.

use std::cmp::Ordering;

use super::arena::Table;

/// Left (`-1` and `0` in Java: `dir <= 0`) or right of `p` for a key of `hash` and `key`:
/// by hash, then `String.compareTo` (distinct keys never tie).
fn goes_left(t: &Table, p: usize, hash: i32, key: &[u16]) -> Option<bool> {
    let n = t.node(p);
    Some(match n.hash.cmp(&hash) {
        Ordering::Greater => true,
        Ordering::Less => false,
        Ordering::Equal => match key.cmp(&n.key) {
            Ordering::Less => true,
            Ordering::Greater => false,
            // The same key: no new node (`putTreeVal` returns the old one).
            Ordering::Equal => return None,
        },
    })
}

/// Hangs `x` under `xp` on the side `left`.
fn attach(t: &mut Table, xp: usize, x: usize, left: bool) {
    t.node_mut(x).parent = Some(xp);
    if left {
        t.node_mut(xp).left = Some(x);
    } else {
        t.node_mut(xp).right = Some(x);
    }
}

/// Where a new key goes: the parent and the side, or `None` when the key is in the tree.
fn descend(t: &Table, root: usize, hash: i32, key: &[u16]) -> Option<(usize, bool)> {
    let mut p = root;
    loop {
        let left = goes_left(t, p, hash, key)?;
        let n = t.node(p);
        match if left { n.left } else { n.right } {
            Some(c) => p = c,
            None => return Some((p, left)),
        }
    }
}

/// `TreeNode.treeify`: the tree nodes listed from `head` (a bin already linked with `prev`)
/// become a red-black tree in list order; its root goes to the front of the bin.
pub(super) fn treeify(t: &mut Table, head: usize) {
    let mut root: Option<usize> = None;
    let mut at = Some(head);
    while let Some(x) = at {
        at = t.node(x).next;
        let n = t.node_mut(x);
        (n.left, n.right) = (None, None);
        let Some(r) = root else {
            n.parent = None;
            n.red = false;
            root = Some(x);
            continue;
        };
        let (hash, key) = (t.node(x).hash, t.node(x).key.clone());
        // Distinct keys: `descend` finds a place (Java breaks a tie by identity hash).
        if let Some((xp, left)) = descend(t, r, hash, &key) {
            attach(t, xp, x, left);
            root = Some(balance_insertion(t, r, x));
        }
    }
    if let Some(r) = root {
        move_root_to_front(t, r);
    }
}

/// `TreeNode.putTreeVal` on the bin whose first node is `first`: whether a node was added.
pub(super) fn put_tree_val(
    t: &mut Table,
    first: usize,
    hash: i32,
    key: Vec<u16>,
    pair: usize,
) -> bool {
    let mut root = first;
    while let Some(p) = t.node(root).parent {
        root = p;
    }
    let Some((xp, left)) = descend(t, root, hash, &key) else {
        return false;
    };
    let xpn = t.node(xp).next;
    let x = t.new_node(hash, key, pair, true);
    t.node_mut(x).next = xpn;
    attach(t, xp, x, left);
    t.node_mut(xp).next = Some(x);
    t.node_mut(x).prev = Some(xp);
    if let Some(n) = xpn {
        t.node_mut(n).prev = Some(x);
    }
    let r = balance_insertion(t, root, x);
    move_root_to_front(t, r);
    true
}

/// `moveRootToFront`: `root` first in its bin's list.
fn move_root_to_front(t: &mut Table, root: usize) {
    let index = t.index_of(t.node(root).hash);
    let first = t.bins.get(index).copied().flatten();
    if first == Some(root) {
        return;
    }
    t.set_bin(index, Some(root));
    let (rp, rn) = (t.node(root).prev, t.node(root).next);
    if let Some(n) = rn {
        t.node_mut(n).prev = rp;
    }
    if let Some(p) = rp {
        t.node_mut(p).next = rn;
    }
    if let Some(f) = first {
        t.node_mut(f).prev = Some(root);
    }
    t.node_mut(root).next = first;
    t.node_mut(root).prev = None;
}

fn red(t: &Table, i: Option<usize>) -> bool {
    i.is_some_and(|i| t.node(i).red)
}

fn set_red(t: &mut Table, i: usize, red: bool) {
    t.node_mut(i).red = red;
}

/// `balanceInsertion`: the tree's root after `x` was hung in.
fn balance_insertion(t: &mut Table, mut root: usize, mut x: usize) -> usize {
    set_red(t, x, true);
    loop {
        let Some(xp) = t.node(x).parent else {
            set_red(t, x, false);
            return x;
        };
        let Some(xpp) = t.node(xp).parent.filter(|_| t.node(xp).red) else {
            return root;
        };
        let parent_is_left = t.node(xpp).left == Some(xp);
        let uncle = if parent_is_left {
            t.node(xpp).right
        } else {
            t.node(xpp).left
        };
        if let Some(u) = uncle.filter(|&u| red(t, Some(u))) {
            set_red(t, u, false);
            set_red(t, xp, false);
            set_red(t, xpp, true);
            x = xpp;
            continue;
        }
        let (mut xp, mut xpp) = (Some(xp), Some(xpp));
        let inner = if parent_is_left {
            t.node(xp.unwrap_or(x)).right == Some(x)
        } else {
            t.node(xp.unwrap_or(x)).left == Some(x)
        };
        if inner {
            if let Some(p) = xp {
                x = p;
            }
            root = rotate(t, root, x, parent_is_left);
            xp = t.node(x).parent;
            xpp = xp.and_then(|p| t.node(p).parent);
        }
        if let Some(p) = xp {
            set_red(t, p, false);
            if let Some(g) = xpp {
                set_red(t, g, true);
                root = rotate(t, root, g, !parent_is_left);
            }
        }
    }
}

/// `rotateLeft(root, p)` when `left`, else `rotateRight(root, p)`: the tree's root after.
fn rotate(t: &mut Table, mut root: usize, p: usize, left: bool) -> usize {
    let pivot = if left {
        t.node(p).right
    } else {
        t.node(p).left
    };
    let Some(r) = pivot else {
        return root;
    };
    let inner = if left {
        t.node(r).left
    } else {
        t.node(r).right
    };
    if left {
        t.node_mut(p).right = inner;
    } else {
        t.node_mut(p).left = inner;
    }
    if let Some(c) = inner {
        t.node_mut(c).parent = Some(p);
    }
    let pp = t.node(p).parent;
    t.node_mut(r).parent = pp;
    match pp {
        None => {
            root = r;
            set_red(t, r, false);
        }
        Some(g) => {
            // rotateLeft asks `pp.left == p`, rotateRight `pp.right == p`: the same test.
            if t.node(g).left == Some(p) {
                t.node_mut(g).left = Some(r);
            } else {
                t.node_mut(g).right = Some(r);
            }
        }
    }
    if left {
        t.node_mut(r).left = Some(p);
    } else {
        t.node_mut(r).right = Some(p);
    }
    t.node_mut(p).parent = Some(r);
    root
}
