//! Routing policies of the socket types, and the mechanisms they share.
//!
//! A socket type is its policy: which peer a message goes to, which peer the next one
//! comes from. Each type has its file here (`req`, `rep`, `dealer`, `router`, `pub_`,
//! `sub`, `xpub`, `xsub`, `push`, `pull`, `pair`), built from shared parts:
//! - `LoadBalancer`: round-robin over outbound pipes that are not mute (PUSH,
//!   DEALER, PAIR, REQ);
//! - `FairQueue`: round-robin over inbound pipes that have messages (every type that
//!   receives, and PUB and XPUB for their peers' subscriptions);
//! - `RoutingTable`: routing id ↔ peer (ROUTER);
//! - [`Subscriptions`] and [`SubscriberTrie`]: SUB-side filtering and replay, PUB-side
//!   fan-out (public, for proxies and tools that filter as a socket would).
//!
//! The socket's core holds one `Pattern`, an enum with a variant per type, and calls
//! it under its lock for each send, receive, attach and detach; dispatch is a `match`,
//! resolved without a virtual call.

mod dealer;
mod fair_queue;
mod load_balancer;
mod pair;
mod pub_;
mod pull;
mod push;
mod rep;
mod req;
mod router;
mod routing_table;
mod sub;
mod subscriptions;
mod trie;
mod xpub;
mod xsub;

use std::sync::Arc;

use bytes::Bytes;
use purezmq_zmtp::{Message, SocketType};

pub(crate) use fair_queue::FairQueue;
pub(crate) use load_balancer::LoadBalancer;
pub(crate) use routing_table::RoutingTable;
pub use subscriptions::{SubscriberTrie, Subscriptions};

use crate::error::{Error, TrySendError};
use crate::options::Options;
use crate::peer::{Peer, PeerMap, Refused};
use crate::pipe::{Pipe, Readiness, subscription_message};

/// What a policy may look at while it routes: the socket's peers, its options, and
/// its readiness (for the fair queue).
pub(crate) struct Context<'a> {
    pub(crate) peers: &'a PeerMap<Peer>,
    pub(crate) options: &'a Options,
    pub(crate) readiness: &'a Readiness,
}

/// One socket type's routing. Every method has the answer of a type that does not
/// take part (refusing send, receive or subscribe with
/// [`Error::NotSupported`]), so each file says only what its type does.
trait Policy {
    /// The socket type this policy is.
    const TYPE: SocketType;

    /// Whether the socket takes `peers`' newcomer.
    fn admits(&self, _peers: &PeerMap<Peer>) -> Result<(), Refused> {
        Ok(())
    }

    /// A peer arrived (it is not yet in the context's peers).
    fn attach(&mut self, _id: u64, _peer: &Peer) {}

    /// A peer left (it is no longer in the context's peers).
    fn detach(&mut self, _id: u64, _peer: &Peer, _options: &Options) {}

    /// A peer's connection is up: the subscriptions to send it first.
    fn connected(&mut self, _cx: &Context<'_>, _peer: u64) -> Vec<Bytes> {
        Vec::new()
    }

    /// Sends `message` (not empty) now, or gives it back with the error.
    fn send(&mut self, _cx: &Context<'_>, message: Message) -> Result<(), TrySendError> {
        let error = Error::NotSupported {
            socket_type: Self::TYPE,
            operation: "send",
        };
        refuse(error, message)
    }

    /// Whether a message could be sent now without waiting: libzmq's `xhas_out`,
    /// what `ZMQ_POLLOUT` reports. A type that sends nothing says no.
    fn has_out(&self, _cx: &Context<'_>) -> bool {
        false
    }

    /// The next message for the application, if one is there.
    fn recv(&mut self, _cx: &Context<'_>) -> Result<Option<Message>, Error> {
        Err(Error::NotSupported {
            socket_type: Self::TYPE,
            operation: "receive",
        })
    }

    /// Changes the socket's own subscriptions.
    fn subscribe(
        &mut self,
        _cx: &Context<'_>,
        _topic: &[u8],
        subscribe: bool,
    ) -> Result<(), Error> {
        Err(Error::NotSupported {
            socket_type: Self::TYPE,
            operation: if subscribe {
                "subscribe"
            } else {
                "unsubscribe"
            },
        })
    }

    /// Where messages come in from, if the type reads its peers.
    fn fair_queue(&mut self) -> Option<&mut FairQueue> {
        None
    }

    /// The peers' routing ids, for a type that names its peers.
    fn routing_table(&mut self) -> Option<&mut RoutingTable> {
        None
    }

    /// The one pipe every message goes to now, when a batch may go there at once.
    fn single_out(&self) -> Option<&Arc<Pipe>> {
        None
    }

    /// Whether messages queued for a reconnecting peer are dropped, to be replaced
    /// by the subscriptions sent afresh (libzmq's "hiccup").
    fn resubscribes(&self) -> bool {
        false
    }

    /// Whether receive and send alternate, one message at a time.
    fn alternates(&self) -> bool {
        false
    }
}

/// The routing policy of one socket, by type.
pub(crate) enum Pattern {
    Req(req::Req),
    Rep(rep::Rep),
    Dealer(dealer::Dealer),
    Router(router::Router),
    Pub(pub_::Pub),
    Sub(sub::Sub),
    XPub(xpub::XPub),
    XSub(xsub::XSub),
    Push(push::Push),
    Pull(pull::Pull),
    Pair(pair::Pair),
}

/// Calls the same method on whichever policy `$pattern` holds.
macro_rules! dispatch {
    ($pattern:expr, $policy:ident => $call:expr) => {
        match $pattern {
            Pattern::Req($policy) => $call,
            Pattern::Rep($policy) => $call,
            Pattern::Dealer($policy) => $call,
            Pattern::Router($policy) => $call,
            Pattern::Pub($policy) => $call,
            Pattern::Sub($policy) => $call,
            Pattern::XPub($policy) => $call,
            Pattern::XSub($policy) => $call,
            Pattern::Push($policy) => $call,
            Pattern::Pull($policy) => $call,
            Pattern::Pair($policy) => $call,
        }
    };
}

impl Pattern {
    pub(crate) fn new(socket_type: SocketType) -> Pattern {
        match socket_type {
            SocketType::Req => Pattern::Req(req::Req::default()),
            SocketType::Rep => Pattern::Rep(rep::Rep::default()),
            SocketType::Dealer => Pattern::Dealer(dealer::Dealer::default()),
            SocketType::Router => Pattern::Router(router::Router::new()),
            SocketType::Pub => Pattern::Pub(pub_::Pub::default()),
            SocketType::Sub => Pattern::Sub(sub::Sub::default()),
            SocketType::XPub => Pattern::XPub(xpub::XPub::default()),
            SocketType::XSub => Pattern::XSub(xsub::XSub::default()),
            SocketType::Push => Pattern::Push(push::Push::default()),
            SocketType::Pull => Pattern::Pull(pull::Pull::default()),
            SocketType::Pair => Pattern::Pair(pair::Pair::default()),
        }
    }

    /// Whether the socket takes one more peer.
    pub(crate) fn admits(&self, peers: &PeerMap<Peer>) -> Result<(), Refused> {
        dispatch!(self, p => p.admits(peers))
    }

    /// A peer arrived.
    pub(crate) fn attach(&mut self, id: u64, peer: &Peer) {
        dispatch!(self, p => p.attach(id, peer))
    }

    /// A peer left.
    pub(crate) fn detach(&mut self, id: u64, peer: &Peer, options: &Options) {
        dispatch!(self, p => p.detach(id, peer, options))
    }

    /// A peer's connection is up: the subscriptions to replay to it.
    pub(crate) fn connected(&mut self, cx: &Context<'_>, peer: u64) -> Vec<Bytes> {
        dispatch!(self, p => p.connected(cx, peer))
    }

    /// Sends a message that is not empty, or gives it back with the error.
    #[inline(always)]
    pub(crate) fn send(&mut self, cx: &Context<'_>, message: Message) -> Result<(), TrySendError> {
        dispatch!(self, p => p.send(cx, message))
    }

    /// Whether a message could be sent now without waiting (`ZMQ_POLLOUT`).
    pub(crate) fn has_out(&self, cx: &Context<'_>) -> bool {
        dispatch!(self, p => p.has_out(cx))
    }

    /// The next message for the application, if one is there.
    #[inline(always)]
    pub(crate) fn recv(&mut self, cx: &Context<'_>) -> Result<Option<Message>, Error> {
        dispatch!(self, p => p.recv(cx))
    }

    /// Changes the socket's subscriptions (SUB, XSUB, and a manual XPUB's).
    pub(crate) fn subscribe(
        &mut self,
        cx: &Context<'_>,
        topic: &[u8],
        subscribe: bool,
    ) -> Result<(), Error> {
        dispatch!(self, p => p.subscribe(cx, topic, subscribe))
    }

    /// Where messages come in from.
    pub(crate) fn fair_queue(&mut self) -> Option<&mut FairQueue> {
        dispatch!(self, p => p.fair_queue())
    }

    /// The peers' routing ids (ROUTER).
    pub(crate) fn routing_table(&mut self) -> Option<&mut RoutingTable> {
        dispatch!(self, p => p.routing_table())
    }

    /// The one pipe a batch may go to at once (PUSH, DEALER or PAIR with one peer).
    pub(crate) fn single_out(&self) -> Option<&Arc<Pipe>> {
        dispatch!(self, p => p.single_out())
    }

    /// Whether a reconnecting peer's queue is dropped for fresh subscriptions (SUB,
    /// XSUB).
    pub(crate) fn resubscribes(&self) -> bool {
        dispatch!(self, p => p.resubscribes())
    }

    /// Whether receive and send alternate (REQ, REP).
    pub(crate) fn alternates(&self) -> bool {
        dispatch!(self, p => p.alternates())
    }
}

/// A peer's subscribe (`true`) or cancel (`false`) and its topic, if `message` is one.
fn as_subscription(message: &Message) -> Option<(bool, &[u8])> {
    let first = &message.frames()[0];
    let subscription = message.len() == 1 && matches!(first.first(), Some(0 | 1));
    subscription.then(|| (first[0] == 1, &first[1..]))
}

fn would_block(message: Message) -> Result<(), TrySendError> {
    Err(TrySendError {
        error: Error::WouldBlock,
        message,
    })
}

fn refuse(error: Error, message: Message) -> Result<(), TrySendError> {
    Err(TrySendError { error, message })
}
