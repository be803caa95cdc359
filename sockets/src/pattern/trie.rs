//! A radix tree from byte strings to values: the mechanism under the subscription sets.
//!
//! Each node owns a run of bytes, its label, so a key costs one node however long it is,
//! and a walk along a message visits one node per branching point rather than one per
//! byte. The root's label is empty; every other node's label is non-empty, and the
//! labels of a node's children start with distinct bytes, kept sorted so a child is
//! found by binary search.
//!
//! After every operation but [`Trie::for_each_mut`], a node other than the root either
//! holds a value or has at least two children. [`Trie::prune`] restores that when a
//! value empties, by dropping a leaf or merging a node with its only child, so the size
//! of the tree follows what it holds now, never what it once held.
//!
//! Keys come from the network and can be long or deeply nested, so nothing here
//! recurses over the depth of the tree, not even `Drop`.

use std::{iter, mem};

/// What a node holds for its key. An empty value means the key is not in the tree: a
/// node holding one exists only as a branching point.
pub(super) trait Value: Default {
    /// Whether the key is absent.
    fn is_empty(&self) -> bool;
}

/// A radix tree from byte strings to `V`s.
pub(super) struct Trie<V> {
    root: Node<V>,
}

struct Node<V> {
    /// The bytes between the parent's key and this node's key.
    label: Box<[u8]>,
    value: V,
    /// Sorted by the first byte of their labels, which are distinct.
    children: Vec<Node<V>>,
}

impl<V: Value> Trie<V> {
    pub(super) fn new() -> Self {
        Trie {
            root: Node {
                label: Box::default(),
                value: V::default(),
                children: Vec::new(),
            },
        }
    }

    /// Whether no key has a value.
    pub(super) fn is_empty(&self) -> bool {
        // Only the root may be an empty leaf.
        self.root.value.is_empty() && self.root.children.is_empty()
    }

    /// The value at `key`, if a node sits there (its value may be empty).
    pub(super) fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        let mut node = &mut self.root;
        let mut rest = key;
        while let Some(&byte) = rest.first() {
            let index = node.find_child(byte).ok()?;
            let child = &mut node.children[index];
            rest = rest.strip_prefix(&*child.label)?;
            node = child;
        }
        Some(&mut node.value)
    }

    /// The value at `key`, adding a node there if there is none. The caller makes the
    /// value non-empty, or calls [`Trie::prune`].
    pub(super) fn get_or_insert(&mut self, key: &[u8]) -> &mut V {
        let mut node = &mut self.root;
        let mut rest = key;
        while let Some(&byte) = rest.first() {
            match node.find_child(byte) {
                Err(index) => {
                    node.children.insert(index, Node::leaf(rest));
                    node = &mut node.children[index];
                    break;
                }
                Ok(index) => {
                    let child = &mut node.children[index];
                    let common = common_prefix_len(&child.label, rest);
                    if common < child.label.len() {
                        child.split(common);
                    }
                    rest = &rest[common..];
                    node = child;
                }
            }
        }
        &mut node.value
    }

    /// Restores the shape of the tree after the value at `key` became empty: its node
    /// goes if it has no children, merges with its child if it has one, and stays as a
    /// branching point if it has more. Does nothing if the value is not empty.
    pub(super) fn prune(&mut self, key: &[u8]) {
        let mut parent = &mut self.root;
        let mut parent_is_root = true;
        let mut rest = key;
        // The root stays whatever it holds, so an empty key needs nothing.
        while let Some(&byte) = rest.first() {
            let Ok(index) = parent.find_child(byte) else {
                return;
            };
            let Some(after) = rest.strip_prefix(&*parent.children[index].label) else {
                return;
            };
            if !after.is_empty() {
                parent = &mut parent.children[index];
                parent_is_root = false;
                rest = after;
                continue;
            }
            let node = &mut parent.children[index];
            if !node.value.is_empty() {
                return;
            }
            match node.children.len() {
                0 => {
                    parent.children.remove(index);
                    // The parent may now be an empty node that no longer branches.
                    if !parent_is_root && parent.value.is_empty() && parent.children.len() == 1 {
                        parent.merge_with_only_child();
                    }
                }
                1 => node.merge_with_only_child(),
                _ => {}
            }
            return;
        }
    }

    /// The non-empty values at keys that are prefixes of `message`, shortest key first.
    ///
    /// Costs one step per node on the way down, so at most `message.len() + 1` steps
    /// whatever the size of the tree, and never allocates.
    pub(super) fn prefixes_of<'a>(&'a self, message: &'a [u8]) -> impl Iterator<Item = &'a V> {
        iter::successors(Some((&self.root, message)), |&(node, rest)| {
            let index = node.find_child(*rest.first()?).ok()?;
            let child = &node.children[index];
            Some((child, rest.strip_prefix(&*child.label)?))
        })
        .map(|(node, _)| &node.value)
        .filter(|value| !value.is_empty())
    }

    /// Every key with a non-empty value, with that value, in key order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (Vec<u8>, &V)> {
        let mut key = Vec::new();
        // Nodes still to visit, each with the length of its parent's key.
        let mut pending = vec![(&self.root, 0)];
        iter::from_fn(move || {
            while let Some((node, parent_len)) = pending.pop() {
                key.truncate(parent_len);
                key.extend_from_slice(&node.label);
                let len = key.len();
                pending.extend(node.children.iter().rev().map(|child| (child, len)));
                if !node.value.is_empty() {
                    return Some((key.clone(), &node.value));
                }
            }
            None
        })
    }

    /// Calls `f` with every key that has a non-empty value, and that value, a key
    /// before any key it is a prefix of. If `f` empties values, the caller then calls
    /// [`Trie::prune`] for each of their keys.
    pub(super) fn for_each_mut(&mut self, mut f: impl FnMut(&[u8], &mut V)) {
        let mut key = Vec::new();
        let mut pending = vec![(&mut self.root, 0)];
        while let Some((node, parent_len)) = pending.pop() {
            key.truncate(parent_len);
            key.extend_from_slice(&node.label);
            if !node.value.is_empty() {
                f(&key, &mut node.value);
            }
            let len = key.len();
            pending.extend(node.children.iter_mut().map(|child| (child, len)));
        }
    }

    /// How many nodes the tree has, the root included.
    #[cfg(test)]
    pub(super) fn node_count(&self) -> usize {
        let mut count = 0;
        let mut pending = vec![&self.root];
        while let Some(node) = pending.pop() {
            count += 1;
            pending.extend(&node.children);
        }
        count
    }

    /// Panics unless the tree has the shape the module documentation promises.
    #[cfg(test)]
    pub(super) fn assert_shape(&self) {
        assert!(self.root.label.is_empty(), "the root has no label");
        let mut pending = vec![&self.root];
        while let Some(node) = pending.pop() {
            let firsts: Vec<u8> = node
                .children
                .iter()
                .filter_map(|c| c.label.first().copied())
                .collect();
            assert_eq!(
                firsts.len(),
                node.children.len(),
                "a child has an empty label"
            );
            assert!(firsts.is_sorted(), "children are sorted");
            assert!(
                firsts.windows(2).all(|w| w[0] != w[1]),
                "children start with distinct bytes"
            );
            for child in &node.children {
                assert!(
                    !child.value.is_empty() || child.children.len() >= 2,
                    "a node that holds nothing branches"
                );
            }
            pending.extend(&node.children);
        }
    }
}

impl<V: Value> Node<V> {
    fn leaf(label: &[u8]) -> Self {
        Node {
            label: label.into(),
            value: V::default(),
            children: Vec::new(),
        }
    }

    /// The index of the child whose label starts with `byte`, or where it would go.
    fn find_child(&self, byte: u8) -> Result<usize, usize> {
        self.children
            .binary_search_by_key(&Some(byte), |child| child.label.first().copied())
    }

    /// Cuts the label after `at` bytes; what this node held moves to a new only child
    /// labelled with the rest.
    fn split(&mut self, at: usize) {
        let (head, tail) = self.label.split_at(at);
        let lower = Node {
            label: tail.into(),
            value: mem::take(&mut self.value),
            children: mem::take(&mut self.children),
        };
        self.label = head.into();
        self.children = vec![lower];
    }

    /// Takes the place of the only child: for a node that holds nothing and no longer
    /// branches.
    fn merge_with_only_child(&mut self) {
        let Some(mut child) = self.children.pop() else {
            return;
        };
        self.label = [&self.label[..], &child.label[..]].concat().into();
        self.value = mem::take(&mut child.value);
        self.children = mem::take(&mut child.children);
    }
}

impl<V> Drop for Node<V> {
    fn drop(&mut self) {
        // Dropping children in the ordinary, recursive way would overflow the stack on a
        // deep tree, so they are unlinked onto a list first and dropped one by one.
        let mut pending = mem::take(&mut self.children);
        while let Some(mut node) = pending.pop() {
            pending.append(&mut node.children);
        }
    }
}

fn common_prefix_len(a: &[u8], b: &[u8]) -> usize {
    let len = a.len().min(b.len());
    // Walking down, labels mostly match whole: one comparison of slices says so fast.
    if a[..len] == b[..len] {
        return len;
    }
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}
