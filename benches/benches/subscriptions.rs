//! Matching cost of the subscription sets in `purezmq::pattern`, with 10,000 topics.
//!
//! The topics are "topic/00000" to "topic/09999":
//!
//! - `for_each_match/*`: a PUB's `SubscriberTrie`, topic `i` held by peer `i % 100`;
//! - `matches/*`: a SUB's `Subscriptions`.
//!
//! Each runs with a message whose first frame one topic matches ("topic/04242 ...",
//! `one_topic`) and one that no topic matches ("topic/0424x ...", `no_topic`, which
//! fails only at the last byte of a topic, so the walk goes all the way down). The
//! time is per message.
//!
//! `for_each_match/one_topic_and_stem` adds a subscription to "topic/" by every peer,
//! so two topics match and the 101 peers they hold are deduplicated to 100: the slow
//! path, where peers are gathered, sorted and deduplicated.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use purezmq::pattern::{SubscriberTrie, Subscriptions};

const TOPICS: u32 = 10_000;
const PEERS: u32 = 100;

const ONE_TOPIC: &[u8] = b"topic/04242 a payload after the topic";
const NO_TOPIC: &[u8] = b"topic/0424x a payload after the topic";

fn topic(i: u32) -> Vec<u8> {
    format!("topic/{i:05}").into_bytes()
}

fn for_each_match(c: &mut Criterion) {
    let mut subscribers = SubscriberTrie::new();
    for i in 0..TOPICS {
        subscribers.subscribe(&topic(i), i % PEERS);
    }
    let mut overlapping = SubscriberTrie::new();
    for i in 0..TOPICS {
        overlapping.subscribe(&topic(i), i % PEERS);
    }
    for peer in 0..PEERS {
        overlapping.subscribe(b"topic/", peer);
    }
    let mut scratch = Vec::new();
    let mut group = c.benchmark_group("for_each_match");
    for (name, subscribers, message) in [
        ("one_topic", &subscribers, ONE_TOPIC),
        ("no_topic", &subscribers, NO_TOPIC),
        ("one_topic_and_stem", &overlapping, ONE_TOPIC),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut peers = 0;
                subscribers.for_each_match(black_box(message), &mut scratch, |peer| {
                    peers += black_box(peer);
                });
                peers
            })
        });
    }
    group.finish();
}

fn matches(c: &mut Criterion) {
    let mut subscriptions = Subscriptions::new();
    for i in 0..TOPICS {
        subscriptions.subscribe(&topic(i));
    }
    let mut group = c.benchmark_group("matches");
    for (name, message) in [("one_topic", ONE_TOPIC), ("no_topic", NO_TOPIC)] {
        group.bench_function(name, |b| {
            b.iter(|| subscriptions.matches(black_box(message)))
        });
    }
    group.finish();
}

criterion_group!(benches, for_each_match, matches);
criterion_main!(benches);
