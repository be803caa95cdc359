//! SUB: messages fair-queued from every peer, kept only when their first frame
//! starts with one of the socket's subscriptions. Every subscribe sends `0x01 topic`
//! to every connected peer, a repeated one too (as libzmq does, so that an
//! XPUB_VERBOSE sees it); a cancel sends `0x00 topic` only when it removes the
//! topic's last subscription. A peer that connects or reconnects is sent every
//! topic afresh, once. Sends nothing.

use bytes::Bytes;
use purezmq_zmtp::{Message, SocketType};

use super::{Context, FairQueue, Policy, Subscriptions, subscription_message};
use crate::error::Error;

#[derive(Default)]
pub(crate) struct Sub {
    inp: FairQueue,
    subscriptions: Subscriptions,
}

/// Changes `subscriptions` and tells every connected peer (SUB and XSUB): of every
/// subscribe, and of a cancel that removed the topic's last subscription.
pub(super) fn change_subscription(
    subscriptions: &mut Subscriptions,
    cx: &Context<'_>,
    topic: &[u8],
    subscribe: bool,
) {
    let tell = if subscribe {
        subscriptions.subscribe(topic);
        true
    } else {
        subscriptions.unsubscribe(topic)
    };
    if tell {
        let message = subscription_message(subscribe as u8, topic);
        for p in cx.peers.values().filter(|p| p.connected) {
            p.out.push(message.clone());
        }
    }
}

/// The subscriptions to send a peer whose connection is up.
pub(super) fn replay(subscriptions: &Subscriptions) -> Vec<Bytes> {
    subscriptions.topics().map(Bytes::from).collect()
}

impl Policy for Sub {
    const TYPE: SocketType = SocketType::Sub;

    fn connected(&mut self, _cx: &Context<'_>, _peer: u64) -> Vec<Bytes> {
        replay(&self.subscriptions)
    }

    #[inline]
    fn recv(&mut self, cx: &Context<'_>) -> Result<Option<Message>, Error> {
        while let Some((_, message)) = self.inp.recv(cx.readiness, false) {
            let first = message.frames().first().map_or(&[][..], |f| &f[..]);
            if self.subscriptions.matches(first) {
                return Ok(Some(message));
            }
        }
        Ok(None)
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
