//! Routing policies of the socket types, and the mechanisms they share.
//!
//! A socket type is its policy: which peer a message goes to, which peer the next one
//! comes from. Today this holds the subscription sets that PUB, XPUB, SUB and XSUB
//! filter with.

mod subscriptions;
mod trie;

pub use subscriptions::{SubscriberTrie, Subscriptions};
