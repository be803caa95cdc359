//! XPUB: PUB's fan-out (`pub_.rs`), and its application receives what the peers
//! send: first subscribes and last cancels (every subscribe with XPUB_VERBOSE),
//! upstream messages, and with XPUB_MANUAL every subscription, which the
//! application then applies itself for the peer that sent it last. A new peer gets
//! XPUB_WELCOME_MSG; a peer that goes cancels what it held.

use std::collections::VecDeque;

use bytes::Bytes;
use purezmq_zmtp::{Message, SocketType};

use super::pub_::Pub;
use super::{Context, FairQueue, Policy, Subscriptions, as_subscription, subscription_message};
use crate::error::{Error, TrySendError};
use crate::options::Options;
use crate::peer::{Peer, PeerMap};

#[derive(Default)]
pub(crate) struct XPub {
    publisher: Pub,
    /// Messages for the application (subscriptions and upstream messages).
    pending: VecDeque<Message>,
    /// XPUB_MANUAL: the peer whose subscription was received last.
    last_peer: Option<u64>,
    /// XPUB_MANUAL: what each peer itself subscribed to, cancelled for the
    /// application when the peer goes (libzmq's `_manual_subscriptions`).
    manual_subscriptions: PeerMap<Subscriptions>,
}

impl XPub {
    /// Applies what the peers sent, keeping for the application what it should see.
    fn process_subscriptions(&mut self, cx: &Context<'_>) {
        while let Some((peer, message)) = self.publisher.inp.recv(cx.readiness, false) {
            let Some((subscribe, topic)) = as_subscription(&message) else {
                self.pending.push_back(message);
                continue;
            };
            if cx.options.xpub_manual {
                if cx.peers.contains_key(&peer) {
                    let held = self.manual_subscriptions.entry(peer).or_default();
                    if subscribe {
                        held.subscribe(topic);
                    } else {
                        held.unsubscribe(topic);
                    }
                }
                self.last_peer = Some(peer);
                self.pending.push_back(message);
                continue;
            }
            if !cx.peers.contains_key(&peer) {
                continue; // sent by a peer that has gone since
            }
            if self
                .publisher
                .hold(topic, subscribe, peer, cx.options.xpub_verbose)
            {
                self.pending.push_back(message);
            }
        }
    }
}

impl Policy for XPub {
    const TYPE: SocketType = SocketType::XPub;

    fn detach(&mut self, id: u64, _peer: &Peer, options: &Options) {
        let forward = !options.xpub_manual;
        let pending = &mut self.pending;
        self.publisher.subscribers.remove_peer(id, |topic| {
            if forward {
                pending.push_back(subscription_message(0, topic));
            }
        });
        // As libzmq: a manual XPUB's application gets a cancel for each topic the
        // peer held, to pass upstream.
        if let Some(held) = self.manual_subscriptions.remove(&id) {
            for topic in held.topics() {
                self.pending.push_back(subscription_message(0, &topic));
            }
        }
        if self.last_peer == Some(id) {
            self.last_peer = None;
        }
    }

    fn connected(&mut self, cx: &Context<'_>, peer: u64) -> Vec<Bytes> {
        if let (Some(welcome), Some(p)) = (&cx.options.xpub_welcome_msg, cx.peers.get(&peer)) {
            p.out.push(Message::from(vec![welcome.clone()]));
        }
        Vec::new()
    }

    fn send(&mut self, cx: &Context<'_>, message: Message) -> Result<(), TrySendError> {
        self.process_subscriptions(cx);
        self.publisher.publish(cx, message)
    }

    /// Always, as PUB.
    fn has_out(&self, _cx: &Context<'_>) -> bool {
        true
    }

    fn recv(&mut self, cx: &Context<'_>) -> Result<Option<Message>, Error> {
        self.process_subscriptions(cx);
        Ok(self.pending.pop_front())
    }

    fn subscribe(&mut self, cx: &Context<'_>, topic: &[u8], subscribe: bool) -> Result<(), Error> {
        if !cx.options.xpub_manual {
            return Err(Error::NotSupported {
                socket_type: Self::TYPE,
                operation: if subscribe {
                    "subscribe"
                } else {
                    "unsubscribe"
                },
            });
        }
        if let Some(peer) = self.last_peer {
            // A peer holds a topic or not, as in libzmq (see `Pub::hold`).
            self.publisher.subscribers.unsubscribe(topic, peer);
            if subscribe {
                self.publisher.subscribers.subscribe(topic, peer);
            }
        }
        Ok(())
    }

    fn fair_queue(&mut self) -> Option<&mut FairQueue> {
        Some(&mut self.publisher.inp)
    }
}
