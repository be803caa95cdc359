//! PUB: each message to every peer subscribed to a prefix of its first frame; a
//! mute peer misses it (with XPUB_NODROP the send would block instead). The peers'
//! subscriptions arrive as messages on their inbound pipes and are applied before
//! each send. Receives nothing.
//!
//! XPUB (`xpub.rs`) is this plus what it hands its application.

use std::sync::Arc;

use purezmq_zmtp::{Message, SocketType};

use super::{Context, FairQueue, Policy, SubscriberTrie, as_subscription, would_block};
use crate::error::TrySendError;
use crate::options::Options;
use crate::peer::Peer;
use crate::pipe::Pipe;

#[derive(Default)]
pub(crate) struct Pub {
    /// The peers' subscriptions (and, for XPUB, their messages) come in here.
    pub(super) inp: FairQueue,
    /// Which peers hold which topics.
    pub(super) subscribers: SubscriberTrie<u64>,
    match_scratch: Vec<u64>,
    /// The pipes one message goes to, reused from send to send.
    targets: Vec<Arc<Pipe>>,
}

impl Pub {
    /// Records `peer`'s subscribe or cancel of `topic`; returns whether it changes
    /// what upstream should hear (a first subscribe, a last cancel), or `verbose`
    /// for any subscribe.
    pub(super) fn hold(&mut self, topic: &[u8], subscribe: bool, peer: u64, verbose: bool) -> bool {
        if subscribe {
            // As libzmq's mtrie, a peer holds a topic or not: subscribing twice
            // is once, so one cancel ends it (an XSUB sends every subscribe but
            // only the last cancel). Drop the peer's hold, then take it again.
            let gone = self.subscribers.unsubscribe(topic, peer);
            let new = self.subscribers.subscribe(topic, peer) && !gone;
            new || verbose
        } else {
            self.subscribers.unsubscribe(topic, peer)
        }
    }

    /// Sends `message` to every matching peer with room.
    #[inline]
    pub(super) fn publish(
        &mut self,
        cx: &Context<'_>,
        message: Message,
    ) -> Result<(), TrySendError> {
        // Both scratch vectors keep their capacity: matching allocates nothing once
        // they have grown.
        let mut scratch = std::mem::take(&mut self.match_scratch);
        let mut targets = std::mem::take(&mut self.targets);
        let peers = cx.peers;
        self.subscribers
            .for_each_match(&message.frames()[0], &mut scratch, |peer| {
                if let Some(p) = peers.get(&peer) {
                    targets.push(Arc::clone(&p.out));
                }
            });
        self.match_scratch = scratch;
        let result = if cx.options.xpub_nodrop && targets.iter().any(|p| p.is_full()) {
            would_block(message)
        } else {
            targets.retain(|p| !p.is_full());
            if let Some(last) = targets.pop() {
                for pipe in &targets {
                    pipe.push(message.clone());
                }
                last.push(message);
            }
            Ok(())
        };
        targets.clear();
        self.targets = targets;
        result
    }
}

impl Policy for Pub {
    const TYPE: SocketType = SocketType::Pub;

    fn detach(&mut self, id: u64, _peer: &Peer, _options: &Options) {
        self.subscribers.remove_peer(id, |_| {});
    }

    #[inline]
    fn send(&mut self, cx: &Context<'_>, message: Message) -> Result<(), TrySendError> {
        // Apply what the peers sent; anything but a subscription is dropped.
        while let Some((peer, message)) = self.inp.recv(cx.readiness, false) {
            let Some((subscribe, topic)) = as_subscription(&message) else {
                continue;
            };
            if !cx.peers.contains_key(&peer) {
                continue; // sent by a peer that has gone since
            }
            self.hold(topic, subscribe, peer, cx.options.xpub_verbose);
        }
        self.publish(cx, message)
    }

    /// Always: a mute peer misses the message, which libzmq's PUB reports as
    /// writable too (with XPUB_NODROP a message no mute peer subscribed to still
    /// goes).
    fn has_out(&self, _cx: &Context<'_>) -> bool {
        true
    }

    fn fair_queue(&mut self) -> Option<&mut FairQueue> {
        Some(&mut self.inp)
    }
}
