//! XSUB: receives every message fair-queued from its peers (no filtering). Sent
//! messages `0x01 topic` / `0x00 topic` change its subscriptions and go to every
//! connected peer (every subscribe, for verbose proxies; a cancel only when it
//! changes the set); any other message goes to every peer with room.

use bytes::Bytes;
use purezmq_zmtp::{Message, SocketType};

use super::sub::{change_subscription, replay};
use super::{Context, FairQueue, Policy, Subscriptions};
use crate::error::{Error, TrySendError};

#[derive(Default)]
pub(crate) struct XSub {
    inp: FairQueue,
    subscriptions: Subscriptions,
}

impl Policy for XSub {
    const TYPE: SocketType = SocketType::XSub;

    fn connected(&mut self, _cx: &Context<'_>, _peer: u64) -> Vec<Bytes> {
        replay(&self.subscriptions)
    }

    fn send(&mut self, cx: &Context<'_>, message: Message) -> Result<(), TrySendError> {
        let first = &message.frames()[0];
        match first.first() {
            Some(&flag @ (0 | 1)) if message.len() == 1 => {
                let topic = first.slice(1..);
                let changed = if flag == 1 {
                    self.subscriptions.subscribe(&topic);
                    true // every subscribe goes upstream, for verbose proxies
                } else {
                    self.subscriptions.unsubscribe(&topic)
                };
                if changed {
                    for p in cx.peers.values().filter(|p| p.connected) {
                        p.out.push(message.clone());
                    }
                }
            }
            _ => {
                for p in cx.peers.values().filter(|p| !p.out.is_full()) {
                    p.out.push(message.clone());
                }
            }
        }
        Ok(())
    }

    /// Always: subscriptions may change at any time, and other messages go to the
    /// peers with room.
    fn has_out(&self, _cx: &Context<'_>) -> bool {
        true
    }

    fn recv(&mut self, cx: &Context<'_>) -> Result<Option<Message>, Error> {
        Ok(self.inp.recv(cx.readiness, false).map(|(_, m)| m))
    }

    fn subscribe(&mut self, cx: &Context<'_>, topic: &[u8], subscribe: bool) -> Result<(), Error> {
        change_subscription(&mut self.subscriptions, cx, topic, subscribe);
        Ok(())
    }

    fn fair_queue(&mut self) -> Option<&mut FairQueue> {
        Some(&mut self.inp)
    }

    fn resubscribes(&self) -> bool {
        true
    }
}
