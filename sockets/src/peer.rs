//! A socket's peers as its routing sees them: the pipes to and from each, and the ids
//! that name them; and what an engine gets when its peer is attached.
//!
//! This sits below [`pattern`](crate::pattern) (which routes over peers),
//! [`core`](crate::core) (which attaches and detaches them) and
//! [`engine`](crate::engine) (which serves an attached peer's pipes), and above
//! [`pipe`](crate::pipe).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use crate::direct::Link;
use crate::pipe::Pipe;

/// Peer ids are unique in the process, so an inproc pipe can name its peer in
/// either socket.
static NEXT_PEER: AtomicU64 = AtomicU64::new(1);

/// A new peer id, unique in the process.
pub(crate) fn next_peer_id() -> u64 {
    NEXT_PEER.fetch_add(1, Ordering::Relaxed)
}

/// A map keyed by peer id. The ids are this process's own sequence numbers, never a
/// peer's input, so a multiply spreads them well enough: SipHash, std's default, cost
/// more than the routing decision it served on every message sent or received.
pub(crate) type PeerMap<V> = HashMap<u64, V, BuildHasherDefault<PeerIdHasher>>;

/// Hashes a `u64` peer id with one multiplication by an odd constant (2^64 / φ).
#[derive(Clone, Copy, Default)]
pub(crate) struct PeerIdHasher(u64);

impl Hasher for PeerIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(u64::from(byte));
        }
    }

    fn write_u64(&mut self, id: u64) {
        self.0 = (self.0.rotate_left(29) ^ id).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// A peer as the socket sees it.
pub(crate) struct Peer {
    /// Messages to the peer.
    pub(crate) out: Arc<Pipe>,
    /// Messages from the peer.
    pub(crate) inp: Arc<Pipe>,
    /// What a ROUTER calls it.
    pub(crate) routing_id: Bytes,
    /// Whether messages can flow now (the handshake is done, or it is inproc).
    pub(crate) connected: bool,
    /// How many handshakes this peer's connections have completed.
    pub(crate) handshakes: u32,
    /// Stops the engine serving this peer, if the socket may need to.
    pub(crate) kill: Option<CancellationToken>,
    /// The connection now serving this peer (tcp or ipc), which the socket may
    /// write to directly.
    pub(crate) link: Option<Arc<Link>>,
}

/// What a stream engine gets back when its handshake completes.
pub(crate) struct Attached {
    pub(crate) peer: u64,
    pub(crate) out: Arc<Pipe>,
    pub(crate) inp: Arc<Pipe>,
    /// Subscriptions to send before anything else (SUB and XSUB).
    pub(crate) replay: Vec<Bytes>,
    /// Whether the peer outlives this connection (a connect made it in advance).
    pub(crate) persistent: bool,
}

/// Why a socket refused a new peer.
#[derive(Debug)]
pub(crate) enum Refused {
    /// A PAIR socket has its one peer already.
    PairTaken,
    /// A ROUTER has a peer with this routing id already and no ROUTER_HANDOVER.
    DuplicateRoutingId(Bytes),
    /// The socket is closing.
    Closed,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::PairTaken => f.write_str("a PAIR socket takes only one peer"),
            Refused::DuplicateRoutingId(id) => write!(
                f,
                "routing id {id:?} is taken by another peer (set ROUTER_HANDOVER to hand it over)"
            ),
            Refused::Closed => f.write_str("the socket is closing"),
        }
    }
}
