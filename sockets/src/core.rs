//! The socket's shared state: its peers, and the routing policy of its type.
//!
//! The application's `send` and `recv` and the engines' attach and detach take the
//! one lock here; engines never take it per message. A send or recv holds it for the
//! routing decision and one pipe operation, never across an `.await`.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use purezmq_zmtp::{Message, PeerInfo, SocketType};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::error::{Error, TrySendError};
use crate::monitor::Monitors;
use crate::options::Options;
use crate::pattern::{SubscriberTrie, Subscriptions};
use crate::pipe::{End, Pipe, Readiness};
use crate::zap::ZapHandler;

/// Peer ids are unique in the process, so an inproc pipe can name its peer in
/// either socket.
static NEXT_PEER: AtomicU64 = AtomicU64::new(1);

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

pub(crate) fn next_peer_id() -> u64 {
    NEXT_PEER.fetch_add(1, Ordering::Relaxed)
}

/// Shared by a socket's handles and its background tasks.
pub(crate) struct Core {
    pub(crate) socket_type: SocketType,
    pub(crate) readiness: Arc<Readiness>,
    pub(crate) monitors: Monitors,
    state: Mutex<State>,
    /// Cancelled when the socket closes: listeners and connecters stop, engines
    /// flush within LINGER and stop.
    pub(crate) shutdown: CancellationToken,
    /// Every background task, so closing can wait for them.
    pub(crate) tasks: TaskTracker,
    /// Who decides which peers may connect.
    pub(crate) zap: Mutex<Option<Arc<dyn ZapHandler>>>,
    /// Who decides when `zap` is empty: the socket bound at `inproc://zeromq.zap.01`,
    /// found by a function the socket layer passes in (it talks to that socket
    /// through a socket handle, which lives above this module).
    zap_fallback: fn() -> Option<Arc<dyn ZapHandler>>,
    /// The CURVE cookie keys of the socket's server connections, drawn when first
    /// needed and rotated every minute.
    cookie_keys: std::sync::OnceLock<Arc<purezmq_curve::CookieKeyring>>,
    /// Payload bytes `send` has queued since it last yielded to the runtime.
    pub(crate) sent_since_yield: AtomicUsize,
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
    /// For inproc: the socket at the other end and our peer id there.
    pub(crate) inproc: Option<(Weak<Core>, u64)>,
}

/// An inbound pipe in the fair-queue rotation, with the messages taken from it.
struct Inbound {
    pipe: Arc<Pipe>,
    local: VecDeque<Message>,
    /// Messages received from `local` and not yet reported to the pipe as consumed.
    unconsumed: usize,
}

/// How many received messages the reader reports to a pipe at once (and at the
/// latest when it has received everything it took). As libzmq's low-water mark, this
/// keeps the reader from touching the counter the writer updates on every message:
/// on two threads that would move the counter's cache line back and forth each time.
const CONSUMED_BATCH: usize = 256;

#[derive(Default)]
struct ReqState {
    /// A request is out and its reply not yet received.
    awaiting_reply: bool,
    /// The peer the request went to.
    peer: Option<u64>,
    /// The id of the last request (REQ_CORRELATE).
    request_id: u32,
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

pub(crate) struct State {
    pub(crate) options: Options,
    pub(crate) closed: bool,
    peers: PeerMap<Peer>,
    /// Outbound round-robin: every peer a message may be sent to.
    lb: Vec<(u64, Arc<Pipe>)>,
    lb_next: usize,
    /// Inbound fair queue: pipes that may hold messages.
    rotation: VecDeque<Inbound>,
    ready_scratch: Vec<Arc<Pipe>>,
    /// ROUTER: routing id → peer.
    routing: HashMap<Bytes, (u64, Arc<Pipe>)>,
    next_routing_id: u32,
    /// ROUTER_CONNECT_ROUTING_ID waiting for the next connect.
    pub(crate) connect_routing_ids: PeerMap<Bytes>,
    req: ReqState,
    /// REP: the envelope of the request being answered, and its peer.
    rep: Option<(u64, Vec<Bytes>)>,
    /// SUB and XSUB: our subscriptions.
    subscriptions: Subscriptions,
    /// PUB and XPUB: the peers' subscriptions.
    subscribers: SubscriberTrie<u64>,
    match_scratch: Vec<u64>,
    /// PUB and XPUB: the pipes one message goes to, reused from send to send.
    publish_targets: Vec<Arc<Pipe>>,
    /// XPUB: messages for the application (subscriptions and upstream messages).
    xpub_pending: VecDeque<Message>,
    /// XPUB_MANUAL: the peer whose subscription was received last.
    xpub_last_peer: Option<u64>,
    /// XPUB_MANUAL: what each peer itself subscribed to, cancelled for the
    /// application when the peer goes (libzmq's `_manual_subscriptions`).
    xpub_manual_subscriptions: PeerMap<Subscriptions>,
    pub(crate) last_endpoint: String,
    /// After close, with LINGER not zero: the pipes of connects that still hold
    /// messages, so that their connecters go on dialling and deliver them.
    lingering: PeerMap<(Arc<Pipe>, Arc<Pipe>)>,
}

impl Core {
    pub(crate) fn new(
        socket_type: SocketType,
        options: Options,
        zap_fallback: fn() -> Option<Arc<dyn ZapHandler>>,
    ) -> Arc<Core> {
        Arc::new(Core {
            socket_type,
            readiness: Arc::new(Readiness::default()),
            monitors: Monitors::default(),
            state: Mutex::new(State {
                options,
                closed: false,
                peers: PeerMap::default(),
                lingering: PeerMap::default(),
                lb: Vec::new(),
                lb_next: 0,
                rotation: VecDeque::new(),
                ready_scratch: Vec::new(),
                routing: HashMap::new(),
                next_routing_id: rand::random(),
                connect_routing_ids: PeerMap::default(),
                req: ReqState::default(),
                rep: None,
                subscriptions: Subscriptions::new(),
                subscribers: SubscriberTrie::new(),
                match_scratch: Vec::new(),
                publish_targets: Vec::new(),
                xpub_pending: VecDeque::new(),
                xpub_last_peer: None,
                xpub_manual_subscriptions: PeerMap::default(),
                last_endpoint: String::new(),
            }),
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
            zap: Mutex::new(None),
            zap_fallback,
            cookie_keys: std::sync::OnceLock::new(),
            sent_since_yield: AtomicUsize::new(0),
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn options(&self) -> Options {
        self.lock().options.clone()
    }

    /// The cookie keys shared by this socket's CURVE server connections.
    pub(crate) fn cookie_keys(&self) -> Arc<purezmq_curve::CookieKeyring> {
        Arc::clone(
            self.cookie_keys
                .get_or_init(|| Arc::new(purezmq_curve::CookieKeyring::new())),
        )
    }

    /// The handler a new connection asks: the socket's own one, else the one bound
    /// at `inproc://zeromq.zap.01` if any, else none.
    pub(crate) fn zap_handler(&self) -> Option<Arc<dyn ZapHandler>> {
        let own = self.zap.lock().unwrap_or_else(|e| e.into_inner()).clone();
        own.or_else(self.zap_fallback)
    }

    /// Creates a peer for a connect whose pipes exist before any connection, so that
    /// messages queue for it (libzmq's behaviour without IMMEDIATE).
    pub(crate) fn add_connecting_peer(self: &Arc<Self>) -> (u64, Arc<Pipe>, Arc<Pipe>) {
        let mut state = self.lock();
        let peer = next_peer_id();
        let (out, inp) = self.stream_pipes(&state.options, peer, Bytes::new());
        state.insert_peer(
            self.socket_type,
            peer,
            Peer {
                out: Arc::clone(&out),
                inp: Arc::clone(&inp),
                routing_id: Bytes::new(),
                connected: false,
                handshakes: 0,
                kill: None,
                inproc: None,
            },
        );
        (peer, out, inp)
    }

    fn stream_pipes(
        &self,
        options: &Options,
        peer: u64,
        routing_id: Bytes,
    ) -> (Arc<Pipe>, Arc<Pipe>) {
        let out = Pipe::new(
            peer,
            options.sndhwm,
            options.conflate,
            End::task(),
            End::socket(&self.readiness),
            Bytes::new(),
        );
        let inp = Pipe::new(
            peer,
            options.rcvhwm,
            options.conflate,
            End::socket(&self.readiness),
            End::task(),
            routing_id,
        );
        (out, inp)
    }

    /// A stream connection completed its handshake. `fixed` is the peer a connect
    /// made in advance, if any; otherwise the peer is created now.
    pub(crate) fn attach_stream(
        self: &Arc<Self>,
        info: &PeerInfo,
        fixed: Option<u64>,
        kill: &CancellationToken,
    ) -> Result<Attached, Refused> {
        let mut state = self.lock();
        if state.closed {
            // A connect that lingers with messages may still deliver them.
            let Some((peer, (out, inp))) =
                fixed.and_then(|id| state.lingering.get(&id).map(|pipes| (id, pipes.clone())))
            else {
                return Err(Refused::Closed);
            };
            return Ok(Attached {
                peer,
                out,
                inp,
                replay: Vec::new(),
                persistent: true,
            });
        }
        let attached = match fixed.and_then(|id| state.peers.get_mut(&id).map(|p| (id, p))) {
            Some((peer, p)) => {
                p.connected = true;
                p.handshakes += 1;
                let rehandshake = p.handshakes > 1;
                let (out, inp) = (Arc::clone(&p.out), Arc::clone(&p.inp));
                if rehandshake && matches!(self.socket_type, SocketType::Sub | SocketType::XSub) {
                    // As libzmq: what was queued for the old connection is dropped
                    // and the subscriptions are sent afresh.
                    out.clear();
                }
                Attached {
                    peer,
                    out,
                    inp,
                    replay: Vec::new(),
                    persistent: true,
                }
            }
            None => {
                let peer = fixed.unwrap_or_else(next_peer_id);
                let routing_id = match self.socket_type {
                    SocketType::Router => {
                        let wanted = fixed
                            .and_then(|id| state.connect_routing_ids.get(&id).cloned())
                            .or_else(|| info.routing_id.clone());
                        state.claim_routing_id(wanted)?
                    }
                    _ => Bytes::new(),
                };
                if self.socket_type == SocketType::Pair && !state.peers.is_empty() {
                    return Err(Refused::PairTaken);
                }
                let (out, inp) = self.stream_pipes(&state.options, peer, routing_id.clone());
                state.insert_peer(
                    self.socket_type,
                    peer,
                    Peer {
                        out: Arc::clone(&out),
                        inp: Arc::clone(&inp),
                        routing_id,
                        connected: true,
                        handshakes: 1,
                        kill: Some(kill.clone()),
                        inproc: None,
                    },
                );
                Attached {
                    peer,
                    out,
                    inp,
                    replay: Vec::new(),
                    persistent: false,
                }
            }
        };
        let mut attached = attached;
        attached.replay = state.on_connected(self.socket_type, attached.peer);
        drop(state);
        self.readiness.wake_all();
        Ok(attached)
    }

    /// A connection of a peer made in advance ended; the peer stays for the next.
    pub(crate) fn stream_disconnected(&self, peer: u64) {
        if let Some(p) = self.lock().peers.get_mut(&peer) {
            p.connected = false;
        }
    }

    /// Drops what a peer sent and the application has not received: on a local
    /// disconnect or unbind libzmq discards it (a peer that goes away by itself still
    /// has its messages delivered).
    pub(crate) fn discard_inbound(&self, peer: u64) {
        let mut state = self.lock();
        let Some(inp) = state.peers.get(&peer).map(|p| Arc::clone(&p.inp)) else {
            return;
        };
        inp.discard();
        state.rotation.retain(|inbound| {
            let keep = !Arc::ptr_eq(&inbound.pipe, &inp);
            if !keep {
                inbound
                    .pipe
                    .consumed(inbound.local.len() + inbound.unconsumed);
                inbound.pipe.in_rotation.store(false, Ordering::Release);
            }
            keep
        });
    }

    /// Removes a peer for good; returns its inproc counterpart to detach as well.
    pub(crate) fn detach(&self, peer: u64) -> Option<(Weak<Core>, u64)> {
        let removed = self.lock().remove_peer(self.socket_type, peer);
        self.readiness.wake_all();
        let removed = removed?;
        removed.out.close();
        removed.inp.close();
        if let Some(kill) = &removed.kill {
            kill.cancel();
        }
        removed.inproc
    }

    /// Attaches an inproc peer whose pipes are made already.
    pub(crate) fn attach_inproc(
        &self,
        peer: u64,
        out: Arc<Pipe>,
        inp: Arc<Pipe>,
        routing_id: Bytes,
        other: (Weak<Core>, u64),
    ) -> Result<(), Refused> {
        let mut state = self.lock();
        if state.closed {
            return Err(Refused::Closed);
        }
        if self.socket_type == SocketType::Pair && !state.peers.is_empty() {
            return Err(Refused::PairTaken);
        }
        let routing_id = match self.socket_type {
            SocketType::Router => {
                let wanted = (!routing_id.is_empty()).then_some(routing_id);
                state.claim_routing_id(wanted)?
            }
            _ => Bytes::new(),
        };
        if self.socket_type == SocketType::Router {
            inp.set_routing_id(routing_id.clone());
        }
        state.insert_peer(
            self.socket_type,
            peer,
            Peer {
                out: Arc::clone(&out),
                inp,
                routing_id,
                connected: true,
                handshakes: 1,
                kill: None,
                inproc: Some(other),
            },
        );
        // Over inproc the replay travels as subscription messages in the pipe.
        for topic in state.on_connected(self.socket_type, peer) {
            out.push(subscription_message(1, &topic));
        }
        drop(state);
        self.readiness.wake_all();
        Ok(())
    }

    /// Records the socket at the other end of an inproc peer, once it has bound.
    pub(crate) fn set_inproc_other(&self, peer: u64, other: Weak<Core>, other_peer: u64) {
        if let Some(p) = self.lock().peers.get_mut(&peer) {
            p.inproc = Some((other, other_peer));
        }
    }

    /// Whether the connect that made `peer` lingers after close with messages still
    /// to deliver.
    pub(crate) fn lingers(&self, peer: Option<u64>) -> bool {
        let Some(peer) = peer else {
            return false;
        };
        let mut state = self.lock();
        let pending = state
            .lingering
            .get(&peer)
            .is_some_and(|(out, _)| out.len() > 0);
        if !pending {
            state.lingering.remove(&peer);
        }
        pending
    }

    /// Forgets the routing id a ROUTER's connect asked for.
    pub(crate) fn forget_connect_routing_id(&self, peer: u64) {
        self.lock().connect_routing_ids.remove(&peer);
    }

    /// Every inproc peer, to detach from its other end when this socket closes.
    /// Connects with messages still queued linger (unless LINGER is zero).
    pub(crate) fn close_all(&self, connects: &[u64]) -> Vec<(Weak<Core>, u64)> {
        let mut state = self.lock();
        state.closed = true;
        let linger = state.options.linger != Some(Duration::ZERO);
        let ids: Vec<u64> = state.peers.keys().copied().collect();
        let mut others = Vec::new();
        for id in ids {
            let Some(p) = state.remove_peer(self.socket_type, id) else {
                continue;
            };
            if let Some(other) = p.inproc {
                p.out.close();
                p.inp.close();
                others.push(other);
            } else if linger && p.out.len() > 0 && connects.contains(&id) {
                state.lingering.insert(id, (p.out, p.inp));
            }
        }
        drop(state);
        self.readiness.wake_all();
        others
    }

    /// Sends now or gives the message back with [`Error::WouldBlock`].
    pub(crate) fn try_send(&self, message: Message) -> Result<(), TrySendError> {
        let mut state = self.lock();
        if state.closed {
            return Err(TrySendError {
                error: Error::Closed,
                message,
            });
        }
        state.send(self, message)
    }

    /// Receives now if a message is queued.
    pub(crate) fn try_recv(&self) -> Result<Option<Message>, Error> {
        let mut state = self.lock();
        if state.closed {
            return Err(Error::Closed);
        }
        state.recv(self)
    }

    /// Moves up to `max` queued messages to the back of `into` under one lock;
    /// returns how many.
    pub(crate) fn try_recv_batch(
        &self,
        into: &mut VecDeque<Message>,
        max: usize,
    ) -> Result<usize, Error> {
        let mut state = self.lock();
        if state.closed {
            return Err(Error::Closed);
        }
        // REQ and REP alternate receiving and sending: one message at a time.
        let max = match self.socket_type {
            SocketType::Req | SocketType::Rep => max.min(1),
            _ => max,
        };
        let mut taken = 0;
        while taken < max {
            match state.recv(self) {
                Ok(Some(message)) => into.push_back(message),
                Ok(None) => break,
                // What was taken is the caller's; the error shows on the next call.
                Err(_) if taken > 0 => break,
                Err(e) => return Err(e),
            }
            taken += 1;
        }
        Ok(taken)
    }

    /// Sends from the front of `queue` under one lock until it is empty or the next
    /// message would block (it stays at the front); returns how many went. A message
    /// that fails for another reason is taken out of the queue and given back with
    /// the error.
    pub(crate) fn try_send_batch(
        &self,
        queue: &mut VecDeque<Message>,
    ) -> Result<usize, TrySendError> {
        let mut state = self.lock();
        if state.closed {
            return Err(TrySendError {
                error: Error::Closed,
                message: queue.pop_front().unwrap_or_default(),
            });
        }
        // One peer to load-balance over and room for the whole batch: one pipe push
        // (one lock) for all of it, which is what a device forwarding a stream to a
        // single consumer does all day.
        if matches!(
            self.socket_type,
            SocketType::Push | SocketType::Dealer | SocketType::Pair
        ) && let [(_, pipe)] = state.lb.as_slice()
            && pipe.room() >= queue.len()
            && queue.iter().all(|message| !message.is_empty())
        {
            let sent = queue.len();
            pipe.push_batch(queue);
            return Ok(sent);
        }
        let mut sent = 0;
        while let Some(message) = queue.pop_front() {
            match state.send(self, message) {
                Ok(()) => sent += 1,
                Err(TrySendError {
                    error: Error::WouldBlock,
                    message,
                }) => {
                    queue.push_front(message);
                    break;
                }
                Err(failed) => return Err(failed),
            }
        }
        Ok(sent)
    }

    /// Changes the socket's subscriptions (SUB and XSUB).
    pub(crate) fn subscribe(&self, topic: &[u8], subscribe: bool) -> Result<(), Error> {
        let mut state = self.lock();
        match self.socket_type {
            SocketType::Sub | SocketType::XSub => {
                state.change_subscription(topic, subscribe);
                Ok(())
            }
            SocketType::XPub if state.options.xpub_manual => {
                if let Some(peer) = state.xpub_last_peer {
                    // A peer holds a topic or not, as in libzmq (see
                    // `process_subscriptions`).
                    state.subscribers.unsubscribe(topic, peer);
                    if subscribe {
                        state.subscribers.subscribe(topic, peer);
                    }
                }
                Ok(())
            }
            socket_type => Err(Error::NotSupported {
                socket_type,
                operation: if subscribe {
                    "subscribe"
                } else {
                    "unsubscribe"
                },
            }),
        }
    }
}

/// `0x01 topic` (subscribe) or `0x00 topic` (cancel).
pub(crate) fn subscription_message(flag: u8, topic: &[u8]) -> Message {
    let mut body = BytesMut::with_capacity(topic.len() + 1);
    body.put_u8(flag);
    body.put_slice(topic);
    Message::from(vec![body.freeze()])
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

impl State {
    fn insert_peer(&mut self, socket_type: SocketType, id: u64, peer: Peer) {
        match socket_type {
            SocketType::Router => {
                self.routing
                    .insert(peer.routing_id.clone(), (id, Arc::clone(&peer.out)));
            }
            SocketType::Pub | SocketType::XPub => {}
            _ => self.lb.push((id, Arc::clone(&peer.out))),
        }
        self.peers.insert(id, peer);
    }

    fn remove_peer(&mut self, socket_type: SocketType, id: u64) -> Option<Peer> {
        let peer = self.peers.remove(&id)?;
        if let Some(i) = self.lb.iter().position(|(p, _)| *p == id) {
            self.lb.remove(i);
            if self.lb_next > i {
                self.lb_next -= 1;
            }
        }
        if socket_type == SocketType::Router
            && self
                .routing
                .get(&peer.routing_id)
                .is_some_and(|(p, _)| *p == id)
        {
            self.routing.remove(&peer.routing_id);
        }
        if matches!(socket_type, SocketType::Pub | SocketType::XPub) {
            let forward = socket_type == SocketType::XPub && !self.options.xpub_manual;
            let pending = &mut self.xpub_pending;
            self.subscribers.remove_peer(id, |topic| {
                if forward {
                    pending.push_back(subscription_message(0, topic));
                }
            });
        }
        // As libzmq: a manual XPUB's application gets a cancel for each topic the
        // peer held, to pass upstream.
        if let Some(held) = self.xpub_manual_subscriptions.remove(&id) {
            for topic in held.topics() {
                self.xpub_pending.push_back(subscription_message(0, &topic));
            }
        }
        if self.xpub_last_peer == Some(id) {
            self.xpub_last_peer = None;
        }
        Some(peer)
    }

    /// Picks the routing id of a new ROUTER peer: the one it asked for if free (or
    /// taken over with ROUTER_HANDOVER), else a generated one.
    fn claim_routing_id(&mut self, wanted: Option<Bytes>) -> Result<Bytes, Refused> {
        if let Some(id) = wanted.filter(|id| !id.is_empty()) {
            match self.routing.get(&id) {
                None => return Ok(id),
                Some(&(old, _)) if self.options.router_handover => {
                    // The new connection takes the name; the old one is dropped,
                    // as libzmq does.
                    if let Some(p) = self.peers.get_mut(&old) {
                        if let Some(kill) = &p.kill {
                            kill.cancel();
                        }
                        p.out.close();
                    }
                    self.routing.remove(&id);
                    return Ok(id);
                }
                Some(_) => return Err(Refused::DuplicateRoutingId(id)),
            }
        }
        loop {
            self.next_routing_id = self.next_routing_id.wrapping_add(1);
            let mut id = BytesMut::with_capacity(5);
            id.put_u8(0);
            id.put_u32(self.next_routing_id);
            let id = id.freeze();
            if !self.routing.contains_key(&id) {
                return Ok(id);
            }
        }
    }

    /// What a peer gets when its connection is up: the subscriptions to replay, and
    /// XPUB's welcome message.
    fn on_connected(&mut self, socket_type: SocketType, peer: u64) -> Vec<Bytes> {
        match socket_type {
            SocketType::Sub | SocketType::XSub => {
                self.subscriptions.topics().map(Bytes::from).collect()
            }
            SocketType::XPub => {
                if let (Some(welcome), Some(p)) =
                    (&self.options.xpub_welcome_msg, self.peers.get(&peer))
                {
                    p.out.push(Message::from(vec![welcome.clone()]));
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn change_subscription(&mut self, topic: &[u8], subscribe: bool) {
        let changed = if subscribe {
            self.subscriptions.subscribe(topic)
        } else {
            self.subscriptions.unsubscribe(topic)
        };
        if changed {
            let message = subscription_message(subscribe as u8, topic);
            for p in self.peers.values().filter(|p| p.connected) {
                p.out.push(message.clone());
            }
        }
    }

    /// Moves pipes that gained messages into the rotation.
    fn absorb_ready(&mut self, readiness: &Readiness) {
        readiness.take_ready(&mut self.ready_scratch);
        for pipe in self.ready_scratch.drain(..) {
            if !pipe.in_rotation.swap(true, Ordering::SeqCst) {
                self.rotation.push_back(Inbound {
                    pipe,
                    local: VecDeque::new(),
                    unconsumed: 0,
                });
            }
        }
    }

    /// The next message, fair-queued over the peers, with the peer it came from.
    /// `routed` puts the peer's routing id in front of it (ROUTER).
    fn fq_recv(&mut self, readiness: &Readiness, routed: bool) -> Option<(u64, Message)> {
        self.absorb_ready(readiness);
        while let Some(mut inbound) = self.rotation.pop_front() {
            if inbound.local.is_empty() {
                inbound.pipe.take_all(&mut inbound.local);
            }
            match inbound.local.pop_front() {
                Some(mut message) => {
                    inbound.unconsumed += 1;
                    if inbound.local.is_empty() || inbound.unconsumed == CONSUMED_BATCH {
                        inbound.pipe.consumed(inbound.unconsumed);
                        inbound.unconsumed = 0;
                    }
                    if routed {
                        message.push_front(inbound.pipe.routing_id());
                    }
                    let peer = inbound.pipe.peer;
                    self.rotation.push_back(inbound);
                    return Some((peer, message));
                }
                None => {
                    // Leaving the rotation: a writer that finds the flag set does not
                    // signal, so look once more after clearing it.
                    inbound.pipe.in_rotation.store(false, Ordering::SeqCst);
                    if inbound.pipe.has_queued()
                        && !inbound.pipe.in_rotation.swap(true, Ordering::SeqCst)
                    {
                        self.rotation.push_back(inbound);
                    }
                }
            }
        }
        None
    }

    /// The next peer with room, round-robin: its place in `lb`.
    fn lb_pick(&mut self) -> Option<usize> {
        let n = self.lb.len();
        for i in 0..n {
            let index = (self.lb_next + i) % n;
            if !self.lb[index].1.is_full() {
                self.lb_next = (index + 1) % n;
                return Some(index);
            }
        }
        None
    }

    fn send(&mut self, core: &Core, message: Message) -> Result<(), TrySendError> {
        if message.is_empty() {
            return refuse(Error::EmptyMessage, message);
        }
        let socket_type = core.socket_type;
        match socket_type {
            SocketType::Push | SocketType::Dealer | SocketType::Pair => match self.lb_pick() {
                Some(index) => {
                    self.lb[index].1.push(message);
                    Ok(())
                }
                None => would_block(message),
            },
            SocketType::Req => self.req_send(&core.readiness, message),
            SocketType::Rep => self.rep_send(message),
            SocketType::Router => self.router_send(message),
            SocketType::Pub | SocketType::XPub => {
                self.process_subscriptions(core);
                self.publish(message)
            }
            SocketType::XSub => {
                self.xsub_send(message);
                Ok(())
            }
            SocketType::Pull | SocketType::Sub => refuse(
                Error::NotSupported {
                    socket_type,
                    operation: "send",
                },
                message,
            ),
        }
    }

    fn recv(&mut self, core: &Core) -> Result<Option<Message>, Error> {
        let readiness = &*core.readiness;
        match core.socket_type {
            SocketType::Pull | SocketType::Dealer | SocketType::Pair | SocketType::XSub => {
                Ok(self.fq_recv(readiness, false).map(|(_, m)| m))
            }
            SocketType::Sub => {
                while let Some((_, message)) = self.fq_recv(readiness, false) {
                    let first = message.frames().first().map_or(&[][..], |f| &f[..]);
                    if self.subscriptions.matches(first) {
                        return Ok(Some(message));
                    }
                }
                Ok(None)
            }
            SocketType::Router => Ok(self.fq_recv(readiness, true).map(|(_, m)| m)),
            SocketType::Rep => self.rep_recv(readiness),
            SocketType::Req => self.req_recv(readiness),
            SocketType::XPub => {
                self.process_subscriptions(core);
                Ok(self.xpub_pending.pop_front())
            }
            socket_type @ (SocketType::Push | SocketType::Pub) => Err(Error::NotSupported {
                socket_type,
                operation: "receive",
            }),
        }
    }

    fn req_send(&mut self, readiness: &Readiness, message: Message) -> Result<(), TrySendError> {
        if self.req.awaiting_reply && !self.options.req_relaxed {
            return refuse(
                Error::State(
                    "a REQ socket must receive the reply before it sends another request (or set REQ_RELAXED)",
                ),
                message,
            );
        }
        let Some(index) = self.lb_pick() else {
            return would_block(message);
        };
        // As libzmq: drop every reply queued now, so that a stale reply from this
        // peer (to an earlier, abandoned request) is not taken for the new one.
        while self.fq_recv(readiness, false).is_some() {}
        let (peer, pipe) = &self.lb[index];
        let (peer, pipe) = (*peer, Arc::clone(pipe));
        let mut frames = Vec::with_capacity(message.len() + 2);
        if self.options.req_correlate {
            self.req.request_id = self.req.request_id.wrapping_add(1);
            frames.push(Bytes::copy_from_slice(&self.req.request_id.to_be_bytes()));
        }
        frames.push(Bytes::new());
        frames.extend(message.into_frames());
        pipe.push(Message::from(frames));
        self.req.awaiting_reply = true;
        self.req.peer = Some(peer);
        Ok(())
    }

    fn req_recv(&mut self, readiness: &Readiness) -> Result<Option<Message>, Error> {
        if !self.req.awaiting_reply {
            return Err(Error::State(
                "a REQ socket must send a request before it can receive a reply",
            ));
        }
        while let Some((peer, message)) = self.fq_recv(readiness, false) {
            if Some(peer) != self.req.peer {
                continue; // a late reply to an earlier request, or a stray message
            }
            let mut frames = message.into_frames().into_iter();
            if self.options.req_correlate {
                let id = frames.next();
                if id.as_deref() != Some(&self.req.request_id.to_be_bytes()[..]) {
                    continue;
                }
            }
            if !frames.next().is_some_and(|f| f.is_empty()) {
                continue; // no empty delimiter: not a reply
            }
            let body: Vec<Bytes> = frames.collect();
            if body.is_empty() {
                continue;
            }
            self.req.awaiting_reply = false;
            return Ok(Some(Message::from(body)));
        }
        Ok(None)
    }

    fn rep_recv(&mut self, readiness: &Readiness) -> Result<Option<Message>, Error> {
        if self.rep.is_some() {
            return Err(Error::State(
                "a REP socket must send the reply before it receives another request",
            ));
        }
        while let Some((peer, message)) = self.fq_recv(readiness, false) {
            let mut frames = message.into_frames();
            let Some(delimiter) = frames.iter().position(|f| f.is_empty()) else {
                continue; // no envelope: libzmq drops such a request
            };
            let body = frames.split_off(delimiter + 1);
            if body.is_empty() {
                continue;
            }
            self.rep = Some((peer, frames));
            return Ok(Some(Message::from(body)));
        }
        Ok(None)
    }

    fn rep_send(&mut self, message: Message) -> Result<(), TrySendError> {
        let Some((peer, mut envelope)) = self.rep.take() else {
            return refuse(
                Error::State("a REP socket must receive a request before it can send a reply"),
                message,
            );
        };
        if let Some(p) = self.peers.get(&peer) {
            envelope.extend(message.into_frames());
            // libzmq drops a reply its peer has no room for, or whose peer is gone.
            if !p.out.is_full() {
                p.out.push(Message::from(envelope));
            }
        }
        Ok(())
    }

    fn router_send(&mut self, message: Message) -> Result<(), TrySendError> {
        if message.len() < 2 {
            let frames = message.len();
            return refuse(Error::MissingRoutingId { frames }, message);
        }
        let routing_id = &message.frames()[0];
        let Some((_, pipe)) = self.routing.get(routing_id) else {
            if self.options.router_mandatory {
                let routing_id = routing_id.clone();
                return refuse(Error::HostUnreachable { routing_id }, message);
            }
            return Ok(()); // unroutable: dropped, as libzmq does
        };
        if pipe.is_full() {
            if self.options.router_mandatory {
                return would_block(message);
            }
            return Ok(());
        }
        let pipe = Arc::clone(pipe);
        let mut frames = message.into_frames();
        frames.remove(0);
        pipe.push(Message::from(frames));
        Ok(())
    }

    fn publish(&mut self, message: Message) -> Result<(), TrySendError> {
        // Both scratch vectors keep their capacity: matching allocates nothing once
        // they have grown.
        let mut scratch = std::mem::take(&mut self.match_scratch);
        let mut targets = std::mem::take(&mut self.publish_targets);
        let peers = &self.peers;
        self.subscribers
            .for_each_match(&message.frames()[0], &mut scratch, |peer| {
                if let Some(p) = peers.get(&peer) {
                    targets.push(Arc::clone(&p.out));
                }
            });
        self.match_scratch = scratch;
        let result = if self.options.xpub_nodrop && targets.iter().any(|p| p.is_full()) {
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
        self.publish_targets = targets;
        result
    }

    fn xsub_send(&mut self, message: Message) {
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
                    for p in self.peers.values().filter(|p| p.connected) {
                        p.out.push(message.clone());
                    }
                }
            }
            _ => {
                for p in self.peers.values().filter(|p| !p.out.is_full()) {
                    p.out.push(message.clone());
                }
            }
        }
    }

    /// PUB and XPUB: applies what the peers sent (subscriptions), keeping for an XPUB's
    /// application what it should see.
    fn process_subscriptions(&mut self, core: &Core) {
        let xpub = core.socket_type == SocketType::XPub;
        while let Some((peer, message)) = self.fq_recv(&core.readiness, false) {
            let first = &message.frames()[0];
            let subscription = message.len() == 1 && matches!(first.first(), Some(0 | 1));
            if !subscription {
                if xpub {
                    self.xpub_pending.push_back(message);
                }
                continue;
            }
            let topic = &first[1..];
            let subscribe = first[0] == 1;
            if xpub && self.options.xpub_manual {
                if self.peers.contains_key(&peer) {
                    let held = self.xpub_manual_subscriptions.entry(peer).or_default();
                    if subscribe {
                        held.subscribe(topic);
                    } else {
                        held.unsubscribe(topic);
                    }
                }
                self.xpub_last_peer = Some(peer);
                self.xpub_pending.push_back(message);
                continue;
            }
            if !self.peers.contains_key(&peer) {
                continue; // sent by a peer that has gone since
            }
            let pass_up = if subscribe {
                // As libzmq's mtrie, a peer holds a topic or not: subscribing twice
                // is once, so one cancel ends it (an XSUB sends every subscribe but
                // only the last cancel). Drop the peer's hold, then take it again.
                let gone = self.subscribers.unsubscribe(topic, peer);
                let new = self.subscribers.subscribe(topic, peer) && !gone;
                new || self.options.xpub_verbose
            } else {
                self.subscribers.unsubscribe(topic, peer)
            };
            if xpub && pass_up {
                self.xpub_pending.push_back(message);
            }
        }
    }
}
