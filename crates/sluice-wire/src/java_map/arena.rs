//! The arena a replayed Java `HashMap` keeps its nodes in: [`Node`] (what the JDK's `Node` and
//! `TreeNode` carry that decides the order), the [`Table`] of bins over it, and the accessors
//! both the list code (`table`) and the tree bins (`tree`) use.

/// One node: a `Node`, or a `TreeNode` when `tree`.
#[derive(Debug, Clone, Default)]
pub(super) struct Node {
    /// `HashMap.hash(key)`, as Java's signed `int`.
    pub(super) hash: i32,
    /// The key's UTF-16 code units.
    pub(super) key: Vec<u16>,
    /// The caller's index of the pair.
    pub(super) pair: usize,
    pub(super) next: Option<usize>,
    pub(super) tree: bool,
    pub(super) prev: Option<usize>,
    pub(super) parent: Option<usize>,
    pub(super) left: Option<usize>,
    pub(super) right: Option<usize>,
    pub(super) red: bool,
}

/// A `HashMap<String, ?>` made with `new HashMap<>()`.
#[derive(Debug, Default)]
pub(super) struct Table {
    pub(super) bins: Vec<Option<usize>>,
    pub(super) nodes: Vec<Node>,
    pub(super) size: usize,
    pub(super) threshold: usize,
}

impl Table {
    pub(super) fn index_of(&self, hash: i32) -> usize {
        (hash as u32 as usize) & (self.bins.len().max(1) - 1)
    }

    pub(super) fn node(&self, i: usize) -> &Node {
        static EMPTY: Node = Node {
            hash: 0,
            key: Vec::new(),
            pair: 0,
            next: None,
            tree: false,
            prev: None,
            parent: None,
            left: None,
            right: None,
            red: false,
        };
        self.nodes.get(i).unwrap_or(&EMPTY)
    }

    pub(super) fn node_mut(&mut self, i: usize) -> &mut Node {
        if i >= self.nodes.len() {
            // Never: every index comes from `new_node`.
            self.nodes.resize(i + 1, Node::default());
        }
        &mut self.nodes[i]
    }

    pub(super) fn set_bin(&mut self, i: usize, head: Option<usize>) {
        if let Some(b) = self.bins.get_mut(i) {
            *b = head;
        }
    }

    pub(super) fn new_node(&mut self, hash: i32, key: Vec<u16>, pair: usize, tree: bool) -> usize {
        self.nodes.push(Node {
            hash,
            key,
            pair,
            tree,
            ..Node::default()
        });
        self.nodes.len() - 1
    }
}
