//! Subscription sets: the topics a SUB socket asked for, and the peers a PUB serves.
//!
//! The rules are libzmq's (4.3.5): a topic is a byte string that matches every message
//! whose first frame starts with it, so the empty topic matches everything;
//! subscriptions are counted, so a topic subscribed twice needs two cancels to go.
//!
//! Both sets are radix trees (see `trie.rs`): finding what a message matches walks down
//! along the message's bytes, visiting one node per branching point, so its cost
//! depends on how deep the matching topics go, not on how many topics there are.

use std::collections::BTreeMap;
use std::fmt;

use super::trie::{Trie, Value};

/// The subscriptions of a SUB or XSUB socket: a counted set of topics.
///
/// The socket drops incoming messages that no topic matches, and sends every topic to
/// each new connection so the publisher filters for it too.
///
/// ```
/// use purezmq::pattern::Subscriptions;
///
/// let mut subscriptions = Subscriptions::new();
/// assert!(subscriptions.subscribe(b"weather/"));
/// assert!(!subscriptions.subscribe(b"weather/")); // counted, not new
/// assert!(subscriptions.matches(b"weather/paris 21C"));
/// assert!(!subscriptions.matches(b"sport/"));
///
/// assert!(!subscriptions.unsubscribe(b"weather/")); // one subscription left
/// assert!(subscriptions.unsubscribe(b"weather/"));
/// assert!(subscriptions.is_empty());
/// ```
pub struct Subscriptions {
    /// How many times each topic is subscribed.
    trie: Trie<u32>,
    /// How many distinct topics.
    len: usize,
}

impl Value for u32 {
    fn is_empty(&self) -> bool {
        *self == 0
    }
}

impl Subscriptions {
    /// An empty set, which matches no message.
    pub fn new() -> Self {
        Subscriptions {
            trie: Trie::new(),
            len: 0,
        }
    }

    /// Subscribes to `topic` once more. Returns whether it is new: the first
    /// subscription to it, or the first since its last cancel.
    pub fn subscribe(&mut self, topic: &[u8]) -> bool {
        let count = self.trie.get_or_insert(topic);
        // Saturating: four billion subscriptions to one topic is absurd, but it must
        // not panic.
        *count = count.saturating_add(1);
        let new = *count == 1;
        if new {
            self.len += 1;
        }
        new
    }

    /// Cancels one subscription to `topic`. Returns whether that was the last one, so
    /// the topic is gone; cancelling a topic that is not subscribed does nothing and
    /// returns false.
    pub fn unsubscribe(&mut self, topic: &[u8]) -> bool {
        let Some(count) = self.trie.get_mut(topic) else {
            return false;
        };
        if *count == 0 {
            // A branching point between topics, not a topic.
            return false;
        }
        *count -= 1;
        if *count > 0 {
            return false;
        }
        self.trie.prune(topic);
        self.len -= 1;
        true
    }

    /// Whether some subscribed topic is a prefix of `first_frame`, the first frame of
    /// a message.
    pub fn matches(&self, first_frame: &[u8]) -> bool {
        self.trie.prefixes_of(first_frame).next().is_some()
    }

    /// Each subscribed topic once, however many times it is subscribed, in byte order:
    /// what to send to a new connection.
    pub fn topics(&self) -> impl Iterator<Item = Vec<u8>> {
        self.trie.iter().map(|(topic, _)| topic)
    }

    /// How many distinct topics are subscribed.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no topic is subscribed, so no message matches.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Default for Subscriptions {
    fn default() -> Self {
        Subscriptions::new()
    }
}

impl fmt::Debug for Subscriptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.topics().map(|topic| topic.escape_ascii().to_string()))
            .finish()
    }
}

/// The subscriptions a PUB or XPUB socket has received: for each topic, the peers
/// subscribed to it, each with a count.
///
/// `P` names a peer, e.g. the index of its pipe. Finding the peers a message goes to
/// is [`SubscriberTrie::for_each_match`], called for every message sent.
///
/// ```
/// use purezmq::pattern::SubscriberTrie;
///
/// let mut subscribers = SubscriberTrie::new();
/// assert!(subscribers.subscribe(b"", 1)); // first subscription to "" by anyone
/// assert!(subscribers.subscribe(b"a", 1));
/// assert!(!subscribers.subscribe(b"a", 2)); // peer 1 holds "a" already
/// assert!(!subscribers.subscribe(b"a", 2)); // counted
///
/// let mut scratch = Vec::new();
/// let mut peers = Vec::new();
/// subscribers.for_each_match(b"abc", &mut scratch, |peer| peers.push(peer));
/// peers.sort();
/// assert_eq!(peers, [1, 2]); // peer 1 matches twice but gets the message once
///
/// let mut gone = Vec::new();
/// subscribers.remove_peer(1, |topic| gone.push(topic.to_vec()));
/// assert_eq!(gone, [b"".to_vec()]); // peer 2 still holds "a"
/// ```
pub struct SubscriberTrie<P> {
    trie: Trie<BTreeMap<P, u32>>,
}

/// The peers subscribed to one topic, each with how many times. A peer whose count
/// drops to zero is removed, so no count is zero.
impl<P: Ord> Value for BTreeMap<P, u32> {
    fn is_empty(&self) -> bool {
        BTreeMap::is_empty(self)
    }
}

impl<P: Copy + Ord> SubscriberTrie<P> {
    /// An empty set: every message matches no peer.
    pub fn new() -> Self {
        SubscriberTrie { trie: Trie::new() }
    }

    /// Records one more subscription to `topic` by `peer`. Returns whether the topic
    /// is new: no peer held it before. An XPUB passes only those upstream, unless
    /// verbose.
    pub fn subscribe(&mut self, topic: &[u8], peer: P) -> bool {
        let peers = self.trie.get_or_insert(topic);
        let new = peers.is_empty();
        let count = peers.entry(peer).or_insert(0);
        // Saturating: see `Subscriptions::subscribe`.
        *count = count.saturating_add(1);
        new
    }

    /// Cancels one subscription to `topic` by `peer`. Returns whether the topic is gone:
    /// that was the last subscription to it by any peer. Cancelling a subscription the
    /// peer does not hold does nothing and returns false.
    pub fn unsubscribe(&mut self, topic: &[u8], peer: P) -> bool {
        let Some(peers) = self.trie.get_mut(topic) else {
            return false;
        };
        let Some(count) = peers.get_mut(&peer) else {
            return false;
        };
        if *count > 1 {
            *count -= 1;
            return false;
        }
        peers.remove(&peer);
        if !peers.is_empty() {
            return false;
        }
        self.trie.prune(topic);
        true
    }

    /// Forgets every subscription of `peer`, which has disconnected, and calls
    /// `on_topic_gone` with each topic that no peer holds any more (an XPUB passes
    /// those upstream as cancels).
    ///
    /// Visits the whole tree, as libzmq does, then walks down once more to each topic
    /// gone: a disconnect costs time in proportion to all subscriptions, in exchange
    /// for not keeping a second index by peer.
    pub fn remove_peer(&mut self, peer: P, mut on_topic_gone: impl FnMut(&[u8])) {
        let mut gone = Vec::new();
        self.trie.for_each_mut(|topic, peers| {
            if peers.remove(&peer).is_some() && peers.is_empty() {
                gone.push(topic.to_vec());
            }
        });
        for topic in gone {
            self.trie.prune(&topic);
            on_topic_gone(&topic);
        }
    }

    /// Calls `f` once for each peer subscribed to some prefix of `first_frame`, the
    /// first frame of a message: the peers a PUB sends the message to. A peer holding
    /// several matching topics is still called once.
    ///
    /// The cost follows how deep the matching topics go, not how many topics there
    /// are. When a single topic matches, its peers are distinct already; when several
    /// do, their peers are gathered in `scratch`, sorted and deduplicated. Keep one
    /// `scratch` and pass it to every call, and matching does not allocate once it has
    /// grown to fit; its contents on entry do not matter.
    pub fn for_each_match(&self, first_frame: &[u8], scratch: &mut Vec<P>, mut f: impl FnMut(P)) {
        let mut matched = self.trie.prefixes_of(first_frame);
        let Some(first) = matched.next() else {
            return;
        };
        let Some(second) = matched.next() else {
            first.keys().for_each(|&peer| f(peer));
            return;
        };
        scratch.clear();
        scratch.extend(first.keys().chain(second.keys()));
        scratch.extend(matched.flat_map(BTreeMap::keys));
        scratch.sort_unstable();
        scratch.dedup();
        scratch.iter().for_each(|&peer| f(peer));
    }

    /// Whether no peer holds any subscription.
    pub fn is_empty(&self) -> bool {
        self.trie.is_empty()
    }
}

impl<P: Copy + Ord> Default for SubscriberTrie<P> {
    fn default() -> Self {
        SubscriberTrie::new()
    }
}

impl<P: Copy + Ord + fmt::Debug> fmt::Debug for SubscriberTrie<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.trie
                    .iter()
                    .map(|(topic, peers)| (topic.escape_ascii().to_string(), peers)),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The peers `for_each_match` calls, in call order.
    fn matched(subscribers: &SubscriberTrie<u8>, message: &[u8]) -> Vec<u8> {
        let mut peers = Vec::new();
        subscribers.for_each_match(message, &mut Vec::new(), |peer| peers.push(peer));
        peers
    }

    #[test]
    fn a_topic_subscribed_twice_needs_two_cancels() {
        let mut subscriptions = Subscriptions::new();
        assert!(subscriptions.subscribe(b"a"));
        assert!(!subscriptions.subscribe(b"a"));
        assert_eq!(subscriptions.len(), 1);
        assert!(!subscriptions.unsubscribe(b"a"));
        assert!(subscriptions.matches(b"a"));
        assert!(subscriptions.unsubscribe(b"a"));
        assert!(!subscriptions.matches(b"a"));
        assert!(subscriptions.is_empty());
        // Gone, so new again.
        assert!(subscriptions.subscribe(b"a"));
    }

    #[test]
    fn cancelling_what_is_not_subscribed_does_nothing() {
        let mut subscriptions = Subscriptions::new();
        assert!(!subscriptions.unsubscribe(b"a"));
        subscriptions.subscribe(b"abc");
        subscriptions.subscribe(b"abd");
        // "ab" is a node in the tree, but not a topic; nor are "", "abcd" and "b".
        for absent in [&b"ab"[..], b"", b"abcd", b"b", b"a"] {
            assert!(!subscriptions.unsubscribe(absent), "{absent:?}");
        }
        assert_eq!(subscriptions.topics().collect::<Vec<_>>(), [b"abc", b"abd"]);
        assert_eq!(subscriptions.len(), 2);
    }

    #[test]
    fn the_empty_topic_matches_every_message() {
        let mut subscriptions = Subscriptions::new();
        assert!(!subscriptions.matches(b""));
        subscriptions.subscribe(b"");
        for message in [&b""[..], b"a", b"\0\xff"] {
            assert!(subscriptions.matches(message), "{message:?}");
        }
    }

    #[test]
    fn a_topic_matches_messages_it_is_a_byte_prefix_of() {
        let mut subscriptions = Subscriptions::new();
        subscriptions.subscribe(b"ab");
        subscriptions.subscribe(b"abcde");
        for message in [&b"ab"[..], b"abc", b"abcdef", b"ab\0"] {
            assert!(subscriptions.matches(message), "{message:?}");
        }
        for message in [&b""[..], b"a", b"aB", b"ba", b"xab"] {
            assert!(!subscriptions.matches(message), "{message:?}");
        }
        subscriptions.unsubscribe(b"ab");
        assert!(!subscriptions.matches(b"abcd"));
        assert!(subscriptions.matches(b"abcde"));
    }

    #[test]
    fn topics_lists_each_topic_once_in_byte_order() {
        let mut subscriptions = Subscriptions::new();
        for topic in [&b"b"[..], b"", b"ab", b"a", b"ab", b"\xff"] {
            subscriptions.subscribe(topic);
        }
        let topics: Vec<Vec<u8>> = subscriptions.topics().collect();
        assert_eq!(topics, [&b""[..], b"a", b"ab", b"b", b"\xff"]);
        assert_eq!(subscriptions.len(), 5);
        assert_eq!(
            format!("{subscriptions:?}"),
            r#"{"", "a", "ab", "b", "\\xff"}"#
        );
    }

    #[test]
    fn cancelling_every_topic_leaves_only_the_root() {
        let mut subscriptions = Subscriptions::new();
        let topics = [&b""[..], b"abc", b"abd", b"ab", b"a", b"b", b"abcdef"];
        for topic in topics {
            subscriptions.subscribe(topic);
            subscriptions.trie.assert_shape();
        }
        for topic in topics.iter().rev().chain(&topics).step_by(2) {
            subscriptions.unsubscribe(topic);
            subscriptions.trie.assert_shape();
        }
        for topic in topics {
            subscriptions.unsubscribe(topic);
            subscriptions.trie.assert_shape();
        }
        assert!(subscriptions.is_empty());
        assert_eq!(subscriptions.trie.node_count(), 1);
    }

    #[test]
    fn a_long_topic_costs_one_node() {
        let mut subscriptions = Subscriptions::new();
        subscriptions.subscribe(&[7; 100_000]);
        assert_eq!(subscriptions.trie.node_count(), 2);
    }

    #[test]
    fn deeply_nested_topics_do_not_overflow_the_stack() {
        // Topics "a", "aa", "aaa"...: a chain of nodes as deep as there are topics,
        // which a recursive walk or `Drop` would not survive. Longest first, so each
        // subscription splits the top of the chain instead of walking all of it.
        const DEPTH: usize = 20_000;
        let message = vec![b'a'; DEPTH];
        let mut subscriptions = Subscriptions::new();
        let mut subscribers = SubscriberTrie::new();
        for len in (1..=DEPTH).rev() {
            subscriptions.subscribe(&message[..len]);
            let peer = if len % 1000 == 0 { 0 } else { 1 + len % 2 };
            subscribers.subscribe(&message[..len], peer);
        }
        assert_eq!(subscriptions.trie.node_count(), DEPTH + 1);
        assert!(subscriptions.matches(&message));
        assert_eq!(subscriptions.topics().count(), DEPTH);
        let mut peers = Vec::new();
        subscribers.for_each_match(&message, &mut Vec::new(), |peer| peers.push(peer));
        assert_eq!(peers, [0, 1, 2]);
        let mut gone = 0;
        subscribers.remove_peer(0, |_| gone += 1);
        assert_eq!(gone, DEPTH / 1000);
        // Both are dropped here, with their chains.
    }

    #[test]
    fn only_the_first_subscription_by_any_peer_is_new() {
        let mut subscribers = SubscriberTrie::new();
        assert!(subscribers.subscribe(b"a", 1));
        assert!(!subscribers.subscribe(b"a", 2));
        assert!(!subscribers.subscribe(b"a", 1));
        assert!(subscribers.subscribe(b"ab", 1));
        assert_eq!(
            format!("{subscribers:?}"),
            r#"{"a": {1: 2, 2: 1}, "ab": {1: 1}}"#
        );
        assert!(!subscribers.unsubscribe(b"a", 1));
        assert!(!subscribers.unsubscribe(b"a", 2));
        assert!(
            subscribers.unsubscribe(b"a", 1),
            "the last subscription to a"
        );
        assert!(!subscribers.unsubscribe(b"a", 1), "no longer held");
        assert_eq!(matched(&subscribers, b"abc"), [1]);
        assert!(subscribers.unsubscribe(b"ab", 1));
        assert!(subscribers.is_empty());
    }

    #[test]
    fn cancelling_another_peers_subscription_does_nothing() {
        let mut subscribers = SubscriberTrie::new();
        subscribers.subscribe(b"a", 1);
        subscribers.subscribe(b"abc", 1);
        assert!(!subscribers.unsubscribe(b"a", 2));
        assert!(!subscribers.unsubscribe(b"ab", 1));
        assert!(!subscribers.unsubscribe(b"", 1));
        assert_eq!(matched(&subscribers, b"abc"), [1]);
    }

    #[test]
    fn a_peer_matching_several_topics_is_called_once() {
        let mut subscribers = SubscriberTrie::new();
        subscribers.subscribe(b"", 1);
        subscribers.subscribe(b"a", 1);
        subscribers.subscribe(b"a", 1);
        subscribers.subscribe(b"ab", 1);
        subscribers.subscribe(b"ab", 3);
        subscribers.subscribe(b"a", 2);
        subscribers.subscribe(b"b", 4);
        let mut peers = matched(&subscribers, b"abc");
        peers.sort_unstable();
        assert_eq!(peers, [1, 2, 3]);
        assert_eq!(matched(&subscribers, b"b"), [1, 4]);
        assert_eq!(matched(&subscribers, b""), [1]);
    }

    #[test]
    fn the_empty_topic_matches_every_message_for_its_peers() {
        let mut subscribers = SubscriberTrie::new();
        assert_eq!(matched(&subscribers, b""), []);
        subscribers.subscribe(b"", 5);
        subscribers.subscribe(b"x", 6);
        assert_eq!(matched(&subscribers, b""), [5]);
        assert_eq!(matched(&subscribers, b"y"), [5]);
        assert_eq!(matched(&subscribers, b"xy"), [5, 6]);
    }

    #[test]
    fn scratch_contents_do_not_leak_into_matches() {
        let mut subscribers = SubscriberTrie::new();
        subscribers.subscribe(b"", 1);
        subscribers.subscribe(b"a", 2);
        let mut scratch = vec![9, 9, 9];
        let mut peers = Vec::new();
        subscribers.for_each_match(b"a", &mut scratch, |peer| peers.push(peer));
        assert_eq!(peers, [1, 2]);
    }

    #[test]
    fn removing_a_peer_reports_the_topics_no_one_holds_any_more() {
        let mut subscribers = SubscriberTrie::new();
        for (topic, peer) in [
            (&b""[..], 1),
            (b"a", 1),
            (b"a", 1),
            (b"ab", 1),
            (b"ab", 2),
            (b"b", 2),
        ] {
            subscribers.subscribe(topic, peer);
        }
        let mut gone = Vec::new();
        subscribers.remove_peer(1, |topic| gone.push(topic.to_vec()));
        gone.sort();
        assert_eq!(gone, [&b""[..], b"a"]);
        subscribers.trie.assert_shape();
        assert_eq!(matched(&subscribers, b"abc"), [2]);
        assert_eq!(matched(&subscribers, b"a"), []);

        subscribers.remove_peer(1, |_| panic!("peer 1 holds nothing"));
        let mut gone = Vec::new();
        subscribers.remove_peer(2, |topic| gone.push(topic.to_vec()));
        gone.sort();
        assert_eq!(gone, [&b"ab"[..], b"b"]);
        assert!(subscribers.is_empty());
        assert_eq!(subscribers.trie.node_count(), 1);
    }

    #[test]
    fn removing_every_peer_leaves_only_the_root() {
        let mut subscribers = SubscriberTrie::new();
        let topics = [
            &b""[..],
            b"abc",
            b"abd",
            b"ab",
            b"a",
            b"b",
            b"abcdef",
            b"abx",
        ];
        for (i, topic) in topics.iter().enumerate() {
            subscribers.subscribe(topic, i % 3);
            subscribers.subscribe(topic, (i + 1) % 3);
        }
        assert_eq!(subscribers.trie.iter().count(), topics.len());
        for peer in [1, 0, 2] {
            subscribers.remove_peer(peer, |_| {});
            subscribers.trie.assert_shape();
        }
        assert!(subscribers.is_empty());
        assert_eq!(subscribers.trie.node_count(), 1);
    }
}

#[cfg(test)]
mod model_tests {
    //! Both sets against a model that is obviously right: a map from (topic, peer) to a
    //! count, scanned whole for every question. Topics are short strings over two
    //! letters, so prefixes, splits and merges happen all the time.

    use std::collections::{BTreeSet, HashMap};

    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    enum Op {
        Subscribe(Vec<u8>, u8),
        Unsubscribe(Vec<u8>, u8),
        RemovePeer(u8),
        Match(Vec<u8>),
    }

    fn bytes(max_len: usize) -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(prop::sample::select(b"ab".to_vec()), 0..=max_len)
    }

    fn op() -> impl Strategy<Value = Op> {
        let peer = 0..4u8;
        prop_oneof![
            4 => (bytes(4), peer.clone()).prop_map(|(topic, peer)| Op::Subscribe(topic, peer)),
            3 => (bytes(4), peer.clone()).prop_map(|(topic, peer)| Op::Unsubscribe(topic, peer)),
            1 => peer.prop_map(Op::RemovePeer),
            3 => bytes(6).prop_map(Op::Match),
        ]
    }

    /// Subscription counts by (topic, peer); none is zero.
    #[derive(Default)]
    struct Model(HashMap<(Vec<u8>, u8), u32>);

    impl Model {
        fn held(&self, topic: &[u8]) -> bool {
            self.0.keys().any(|(t, _)| t == topic)
        }

        fn topics(&self) -> BTreeSet<Vec<u8>> {
            self.0.keys().map(|(topic, _)| topic.clone()).collect()
        }

        fn subscribe(&mut self, topic: &[u8], peer: u8) -> bool {
            let new = !self.held(topic);
            *self.0.entry((topic.to_vec(), peer)).or_default() += 1;
            new
        }

        fn unsubscribe(&mut self, topic: &[u8], peer: u8) -> bool {
            let key = (topic.to_vec(), peer);
            let Some(count) = self.0.get_mut(&key) else {
                return false;
            };
            *count -= 1;
            if *count > 0 {
                return false;
            }
            self.0.remove(&key);
            !self.held(topic)
        }

        fn remove_peer(&mut self, peer: u8) -> BTreeSet<Vec<u8>> {
            let before = self.topics();
            self.0.retain(|(_, p), _| *p != peer);
            before.difference(&self.topics()).cloned().collect()
        }

        fn matches(&self, message: &[u8]) -> BTreeSet<u8> {
            self.0
                .keys()
                .filter(|(topic, _)| message.starts_with(topic))
                .map(|&(_, peer)| peer)
                .collect()
        }
    }

    proptest! {
        #[test]
        fn subscriber_trie_agrees_with_the_model(ops in prop::collection::vec(op(), 0..80)) {
            let mut subscribers = SubscriberTrie::new();
            let mut model = Model::default();
            let mut scratch = Vec::new();
            for op in ops {
                match op {
                    Op::Subscribe(topic, peer) => {
                        prop_assert_eq!(subscribers.subscribe(&topic, peer), model.subscribe(&topic, peer));
                    }
                    Op::Unsubscribe(topic, peer) => {
                        prop_assert_eq!(subscribers.unsubscribe(&topic, peer), model.unsubscribe(&topic, peer));
                    }
                    Op::RemovePeer(peer) => {
                        let mut gone = Vec::new();
                        subscribers.remove_peer(peer, |topic| gone.push(topic.to_vec()));
                        let distinct: BTreeSet<Vec<u8>> = gone.iter().cloned().collect();
                        prop_assert_eq!(distinct.len(), gone.len(), "each topic reported once");
                        prop_assert_eq!(distinct, model.remove_peer(peer));
                    }
                    Op::Match(message) => {
                        let mut peers = Vec::new();
                        subscribers.for_each_match(&message, &mut scratch, |peer| peers.push(peer));
                        let distinct: BTreeSet<u8> = peers.iter().copied().collect();
                        prop_assert_eq!(distinct.len(), peers.len(), "each peer called once");
                        prop_assert_eq!(distinct, model.matches(&message));
                    }
                }
                subscribers.trie.assert_shape();
                prop_assert_eq!(subscribers.is_empty(), model.0.is_empty());
            }
            for peer in 0..4 {
                subscribers.remove_peer(peer, |_| {});
            }
            prop_assert_eq!(subscribers.trie.node_count(), 1);
        }

        #[test]
        fn subscriptions_agree_with_the_model(ops in prop::collection::vec(op(), 0..80)) {
            // The same operations with every peer taken as one; removing a peer
            // cancels one subscription to the empty topic instead.
            let mut subscriptions = Subscriptions::new();
            let mut model = Model::default();
            for op in ops {
                match op {
                    Op::Subscribe(topic, _) => {
                        prop_assert_eq!(subscriptions.subscribe(&topic), model.subscribe(&topic, 0));
                    }
                    Op::Unsubscribe(topic, _) => {
                        prop_assert_eq!(subscriptions.unsubscribe(&topic), model.unsubscribe(&topic, 0));
                    }
                    Op::RemovePeer(_) => {
                        prop_assert_eq!(subscriptions.unsubscribe(b""), model.unsubscribe(b"", 0));
                    }
                    Op::Match(message) => {
                        prop_assert_eq!(subscriptions.matches(&message), !model.matches(&message).is_empty());
                    }
                }
                subscriptions.trie.assert_shape();
                let topics: Vec<Vec<u8>> = subscriptions.topics().collect();
                prop_assert_eq!(topics, model.topics().into_iter().collect::<Vec<_>>());
                prop_assert_eq!(subscriptions.len(), model.topics().len());
            }
            for ((topic, _), &count) in &model.0 {
                for _ in 0..count {
                    subscriptions.unsubscribe(topic);
                }
            }
            prop_assert!(subscriptions.is_empty());
            prop_assert_eq!(subscriptions.trie.node_count(), 1);
        }
    }
}
