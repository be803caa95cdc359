//! The socket's shared state: its peers, and the routing policy of its type.
//!
//! The application's `send` and `recv` and the engines' attach and detach take the
//! one lock here; engines never take it per message. A send or recv holds it for the
//! routing decision and one pipe operation, never across an `.await`.
//!
//! What a socket type does with its peers is its [`Pattern`]; this module keeps the
//! peers themselves (attach, detach, lingering, inproc links) and hands the pattern a
//! [`Context`] to route with.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use bytes::Bytes;
use purezmq_zmtp::{Message, PeerInfo, SocketType};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::direct::Link;
use crate::error::{Error, TrySendError};
use crate::monitor::Monitors;
use crate::options::Options;
use crate::pattern::{Context, Pattern};
use crate::peer::{Attached, Peer, PeerMap, Refused, next_peer_id};
use crate::pipe::{End, Pipe, Readiness, subscription_message};
use crate::zap::ZapHandler;

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
    /// Whether the socket's last call was a send: a send that follows another goes
    /// through the engine, which writes a stream of messages in batches.
    pub(crate) sending: AtomicBool,
}

/// An inproc peer's other end: the socket there and our peer id in it.
type InprocLink = (Weak<Core>, u64);

/// What the core's lock guards: the options, the peers, and the pattern that routes
/// over them.
pub(crate) struct State {
    pub(crate) options: Options,
    pub(crate) closed: bool,
    peers: PeerMap<Peer>,
    /// The routing policy of the socket's type.
    pattern: Pattern,
    /// For inproc peers: the socket at the other end and our peer id there.
    inproc: PeerMap<InprocLink>,
    /// ROUTER_CONNECT_ROUTING_ID waiting for the next connect.
    pub(crate) connect_routing_ids: PeerMap<Bytes>,
    pub(crate) last_endpoint: String,
    /// After close, with LINGER not zero: the pipes of connects that still hold
    /// messages, so that their connecters go on dialling and deliver them.
    lingering: PeerMap<(Arc<Pipe>, Arc<Pipe>)>,
    /// The connection `send` may write to itself: set while the socket has exactly
    /// one peer and that peer is served by a tcp or ipc connection.
    direct: Option<Arc<Link>>,
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
                pattern: Pattern::new(socket_type),
                inproc: PeerMap::default(),
                lingering: PeerMap::default(),
                connect_routing_ids: PeerMap::default(),
                last_endpoint: String::new(),
                direct: None,
            }),
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
            zap: Mutex::new(None),
            zap_fallback,
            cookie_keys: std::sync::OnceLock::new(),
            sent_since_yield: AtomicUsize::new(0),
            sending: AtomicBool::new(false),
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
            peer,
            Peer {
                out: Arc::clone(&out),
                inp: Arc::clone(&inp),
                routing_id: Bytes::new(),
                connected: false,
                handshakes: 0,
                kill: None,
                link: None,
            },
        );
        drop(state);
        // A peer made in advance takes messages: sending may have become possible.
        self.readiness.wake_senders();
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
        &self,
        info: &PeerInfo,
        fixed: Option<u64>,
        kill: &CancellationToken,
        link: &Arc<Link>,
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
                if rehandshake && state.pattern.resubscribes() {
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
                let wanted = fixed
                    .and_then(|id| state.connect_routing_ids.get(&id).cloned())
                    .or_else(|| info.routing_id.clone());
                let routing_id = state.claim_routing_id(wanted)?;
                state.pattern.admits(&state.peers)?;
                let (out, inp) = self.stream_pipes(&state.options, peer, routing_id.clone());
                state.insert_peer(
                    peer,
                    Peer {
                        out: Arc::clone(&out),
                        inp: Arc::clone(&inp),
                        routing_id,
                        connected: true,
                        handshakes: 1,
                        kill: Some(kill.clone()),
                        link: None,
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
        link.set_pipes(&attached.out, &attached.inp);
        if let Some(p) = state.peers.get_mut(&attached.peer) {
            p.link = Some(Arc::clone(link));
        }
        state.refresh_direct();
        attached.replay = state.on_connected(&self.readiness, attached.peer);
        drop(state);
        self.readiness.wake_all();
        Ok(attached)
    }

    /// A connection of a peer made in advance ended; the peer stays for the next.
    pub(crate) fn stream_disconnected(&self, peer: u64) {
        let mut state = self.lock();
        if let Some(p) = state.peers.get_mut(&peer) {
            p.connected = false;
            p.link = None;
        }
        state.refresh_direct();
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
        if let Some(queue) = state.pattern.fair_queue() {
            queue.discard(&inp);
        }
    }

    /// Removes a peer for good; returns its inproc counterpart to detach as well.
    pub(crate) fn detach(&self, peer: u64) -> Option<(Weak<Core>, u64)> {
        let removed = self.lock().remove_peer(peer);
        self.readiness.wake_all();
        let (removed, inproc) = removed?;
        removed.out.close();
        removed.inp.close();
        if let Some(kill) = &removed.kill {
            kill.cancel();
        }
        inproc
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
        state.pattern.admits(&state.peers)?;
        let named = state.pattern.routing_table().is_some();
        let routing_id = state.claim_routing_id((!routing_id.is_empty()).then_some(routing_id))?;
        if named {
            inp.set_routing_id(routing_id.clone());
        }
        state.insert_peer(
            peer,
            Peer {
                out: Arc::clone(&out),
                inp,
                routing_id,
                connected: true,
                handshakes: 1,
                kill: None,
                link: None,
            },
        );
        state.inproc.insert(peer, other);
        // Over inproc the replay travels as subscription messages in the pipe.
        for topic in state.on_connected(&self.readiness, peer) {
            out.push(subscription_message(1, &topic));
        }
        drop(state);
        self.readiness.wake_all();
        Ok(())
    }

    /// Records the socket at the other end of an inproc peer, once it has bound.
    pub(crate) fn set_inproc_other(&self, peer: u64, other: Weak<Core>, other_peer: u64) {
        let mut state = self.lock();
        if state.peers.contains_key(&peer) {
            state.inproc.insert(peer, (other, other_peer));
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
            let Some((p, inproc)) = state.remove_peer(id) else {
                continue;
            };
            if let Some(other) = inproc {
                p.out.close();
                p.inp.close();
                others.push(other);
            } else if linger && p.out.len() > 0 && connects.contains(&id) {
                state.lingering.insert(id, (p.out, p.inp));
            }
        }
        drop(state);
        // Closing the pipes listed them with their readers; a closed socket takes
        // none, and a listed pipe would keep the readiness it holds alive.
        self.readiness.close();
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
        state.send(&self.readiness, message)
    }

    /// Whether a message could be sent now without waiting (`ZMQ_POLLOUT`); never
    /// once closed.
    pub(crate) fn can_send(&self) -> bool {
        let state = self.lock();
        if state.closed {
            return false;
        }
        let cx = Context {
            peers: &state.peers,
            options: &state.options,
            readiness: &self.readiness,
        };
        state.pattern.has_out(&cx)
    }

    /// The connection `recv` may read from itself, if the socket has one stream peer.
    pub(crate) fn direct_link(&self) -> Option<Arc<Link>> {
        self.lock().direct.clone()
    }

    /// Sends now as [`try_send`](Self::try_send) does; when the socket has one
    /// stream peer, queues the message without waking its engine and returns the
    /// connection, for the caller to write it with
    /// [`Link::flush_or_wake`] once this lock is released.
    pub(crate) fn try_send_direct(
        &self,
        message: Message,
    ) -> Result<Option<Arc<Link>>, TrySendError> {
        let mut state = self.lock();
        if state.closed {
            return Err(TrySendError {
                error: Error::Closed,
                message,
            });
        }
        let Some(link) = state.direct.clone() else {
            return state.send(&self.readiness, message).map(|()| None);
        };
        let Some(out) = link.out() else {
            return state.send(&self.readiness, message).map(|()| None);
        };
        out.set_quiet(true);
        let sent = state.send(&self.readiness, message);
        out.set_quiet(false);
        sent.map(|()| Some(link))
    }

    /// Receives now if a message is queued.
    pub(crate) fn try_recv(&self) -> Result<Option<Message>, Error> {
        self.receive_one(false)
    }

    /// Receives as [`try_recv`](Self::try_recv) does, for a receiver counted as
    /// waiting (see [`Readiness::receiver_waits`]).
    pub(crate) fn try_recv_waited(&self) -> Result<Option<Message>, Error> {
        self.receive_one(true)
    }

    /// One wake-up may stand for several messages (a pipe signals only when it turns
    /// non-empty, and not while it is in the fair queue's rotation), so a receiver
    /// that takes one while others may remain wakes a receiver waiting beside them.
    fn receive_one(&self, counted_as_waiting: bool) -> Result<Option<Message>, Error> {
        let (message, pass_on) = {
            let mut state = self.lock();
            if state.closed {
                return Err(Error::Closed);
            }
            let message = state.recv(&self.readiness)?;
            let pass_on = message.is_some() && self.should_pass_on(&mut state, counted_as_waiting);
            (message, pass_on)
        };
        if pass_on {
            self.readiness.readable.notify_one();
        }
        Ok(message)
    }

    /// Whether another receiver waits and messages may remain after a receive: a
    /// pipe still in the fair queue's rotation, or one listed since. One load when
    /// nobody else waits.
    fn should_pass_on(&self, state: &mut State, counted_as_waiting: bool) -> bool {
        self.readiness.receivers_waiting() > usize::from(counted_as_waiting)
            && (state
                .pattern
                .fair_queue()
                .is_some_and(|queue| queue.may_have_more())
                || self.readiness.has_pending())
    }

    /// Moves up to `max` queued messages to the back of `into` under one lock;
    /// returns how many. Passes a wake-up on as [`try_recv`](Self::try_recv) does
    /// (`counted_as_waiting`: the caller is one of the waiting receivers).
    pub(crate) fn try_recv_batch(
        &self,
        into: &mut VecDeque<Message>,
        max: usize,
        counted_as_waiting: bool,
    ) -> Result<usize, Error> {
        let mut state = self.lock();
        if state.closed {
            return Err(Error::Closed);
        }
        // REQ and REP alternate receiving and sending: one message at a time.
        let max = if state.pattern.alternates() {
            max.min(1)
        } else {
            max
        };
        let mut taken = 0;
        while taken < max {
            match state.recv(&self.readiness) {
                Ok(Some(message)) => into.push_back(message),
                Ok(None) => break,
                // What was taken is the caller's; the error shows on the next call.
                Err(_) if taken > 0 => break,
                Err(e) => return Err(e),
            }
            taken += 1;
        }
        if taken > 0 && self.should_pass_on(&mut state, counted_as_waiting) {
            drop(state);
            self.readiness.readable.notify_one();
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
        if let Some(pipe) = state.pattern.single_out()
            && pipe.room() >= queue.len()
            && queue.iter().all(|message| !message.is_empty())
        {
            let sent = queue.len();
            pipe.push_batch(queue);
            return Ok(sent);
        }
        let mut sent = 0;
        while let Some(message) = queue.pop_front() {
            match state.send(&self.readiness, message) {
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

    /// Changes the socket's subscriptions (SUB and XSUB, and a manual XPUB's for
    /// the peer that subscribed last).
    pub(crate) fn subscribe(&self, topic: &[u8], subscribe: bool) -> Result<(), Error> {
        let mut state = self.lock();
        let state = &mut *state;
        let cx = Context {
            peers: &state.peers,
            options: &state.options,
            readiness: &self.readiness,
        };
        state.pattern.subscribe(&cx, topic, subscribe)
    }
}

impl State {
    fn insert_peer(&mut self, id: u64, peer: Peer) {
        self.pattern.attach(id, &peer);
        self.peers.insert(id, peer);
        self.refresh_direct();
    }

    /// Removes a peer; returns it and its inproc link.
    fn remove_peer(&mut self, id: u64) -> Option<(Peer, Option<InprocLink>)> {
        let peer = self.peers.remove(&id)?;
        self.pattern.detach(id, &peer, &self.options);
        self.refresh_direct();
        Some((peer, self.inproc.remove(&id)))
    }

    /// Sets the connection `send` may write to itself: that of the one peer, when
    /// there is one peer and a tcp or ipc connection serves it.
    fn refresh_direct(&mut self) {
        self.direct = match self.peers.len() {
            1 => self.peers.values().next().and_then(|p| p.link.clone()),
            _ => None,
        };
    }

    /// Picks the routing id of a new peer: for a ROUTER, the one it asked for if free
    /// (or taken over with ROUTER_HANDOVER), else a generated one; none for the other
    /// types.
    fn claim_routing_id(&mut self, wanted: Option<Bytes>) -> Result<Bytes, Refused> {
        match self.pattern.routing_table() {
            Some(table) => table.claim(wanted, self.options.router_handover, &self.peers),
            None => Ok(Bytes::new()),
        }
    }

    /// What a peer gets when its connection is up: the subscriptions to replay (SUB,
    /// XSUB), and XPUB's welcome message.
    fn on_connected(&mut self, readiness: &Readiness, peer: u64) -> Vec<Bytes> {
        let cx = Context {
            peers: &self.peers,
            options: &self.options,
            readiness,
        };
        self.pattern.connected(&cx, peer)
    }

    #[inline(always)]
    fn send(&mut self, readiness: &Readiness, message: Message) -> Result<(), TrySendError> {
        if message.is_empty() {
            return Err(TrySendError {
                error: Error::EmptyMessage,
                message,
            });
        }
        let cx = Context {
            peers: &self.peers,
            options: &self.options,
            readiness,
        };
        self.pattern.send(&cx, message)
    }

    #[inline(always)]
    fn recv(&mut self, readiness: &Readiness) -> Result<Option<Message>, Error> {
        let cx = Context {
            peers: &self.peers,
            options: &self.options,
            readiness,
        };
        self.pattern.recv(&cx)
    }
}
