//! The socket: what applications hold.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use futures::{Sink, Stream};
use purezmq_zmtp::{Message, SocketType};

use crate::core::Core;
use crate::direct::ReadTurn;
use crate::endpoint::Endpoint;
use crate::error::{Error, Result, TrySendError};
use crate::monitor::Monitor;
use crate::options::Options;
use crate::transport;
use crate::zap::ZapHandler;

mod zap_client;

/// Payload bytes [`Socket::send`] queues between yields to the runtime. A sender
/// that never has to wait would otherwise run until its peers' pipes reach SNDHWM
/// before the connections' tasks, on a single-threaded runtime, get to write any of
/// it: megabytes queued, out of cache, and page faults as the allocator hands the
/// memory back and forth. Yielding now and then keeps the writes flowing alongside.
const SEND_YIELD: usize = 4 * 1024 * 1024;

/// How many times `recv` looks again, with exponential backoff (1, 2, 4, … 64 spin
/// hints between looks: about 600 in all, a few microseconds), before it parks. Only on
/// a multi-threaded runtime, where the sender runs on another thread: over inproc or
/// from an engine on another worker the next message is often that close, and parking
/// then costs the sender a futex wake-up per message and the receiver a context switch
/// (8 KiB PUSH/PULL over inproc: 0.7 M msg/s without, 1.9 M with).
const RECV_SPIN_ROUNDS: u32 = 14;

/// A ZeroMQ socket of any type, with libzmq's semantics.
///
/// Handles are cheap to clone and share one socket; the socket closes when the last
/// handle is dropped or [`close`](Socket::close)d, keeping unsent messages trying for
/// LINGER. `bind` and `connect` start background tasks, so they must be called from
/// within a tokio runtime; [`blocking::Socket`](crate::blocking::Socket) brings its own.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> purezmq::Result<()> {
/// use purezmq::{Message, Socket, SocketType};
///
/// let rep = Socket::new(SocketType::Rep);
/// rep.bind("inproc://hello")?;
/// let req = Socket::new(SocketType::Req);
/// req.connect("inproc://hello")?;
///
/// req.send("Hello").await?;
/// let request = rep.recv().await?;
/// let reply = [request.frames()[0].clone(), " World".into()];
/// rep.send(Message::from_iter(reply)).await?;
/// let reply = req.recv().await?;
/// assert_eq!(reply.frames(), ["Hello", " World"]);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Socket {
    handle: Arc<Handle>,
}

/// Closes the socket when the last [`Socket`] goes.
struct Handle {
    core: Arc<Core>,
    endpoints: Mutex<Vec<transport::Handle>>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        let endpoints =
            std::mem::take(&mut *self.endpoints.lock().unwrap_or_else(|e| e.into_inner()));
        close(&self.core, endpoints);
    }
}

fn close(core: &Arc<Core>, endpoints: Vec<transport::Handle>) {
    for handle in &endpoints {
        handle.remove_ipc_file();
    }
    transport::inproc::forget(core);
    let connects: Vec<u64> = endpoints
        .iter()
        .filter(|handle| !handle.bound)
        .flat_map(|handle| handle.peers.iter().copied())
        .collect();
    for (other, peer) in core.close_all(&connects) {
        if let Some(other) = other.upgrade() {
            other.detach(peer);
        }
    }
    // Only now that `close_all` has recorded which connects linger: a connection
    // still handshaking that saw the shutdown earlier would ask whether its peer
    // lingers, hear no, and drop the messages queued for it.
    core.shutdown.cancel();
    core.tasks.close();
    core.monitors.close();
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("type", &self.handle.core.socket_type)
            .finish_non_exhaustive()
    }
}

impl Socket {
    /// A socket of this type with libzmq's default options.
    pub fn new(socket_type: SocketType) -> Socket {
        Socket::from_core(Core::new(
            socket_type,
            Options::default(),
            zap_client::bound_handler,
        ))
    }

    /// A socket of this type with these options.
    pub fn with_options(socket_type: SocketType, options: Options) -> Result<Socket> {
        options.validate()?;
        Ok(Socket::from_core(Core::new(
            socket_type,
            options,
            zap_client::bound_handler,
        )))
    }

    fn from_core(core: Arc<Core>) -> Socket {
        Socket {
            handle: Arc::new(Handle {
                core,
                endpoints: Mutex::new(Vec::new()),
            }),
        }
    }

    fn core(&self) -> &Arc<Core> {
        &self.handle.core
    }

    /// The socket's type.
    pub fn socket_type(&self) -> SocketType {
        self.core().socket_type
    }

    /// The socket's options now.
    pub fn options(&self) -> Options {
        self.core().options()
    }

    /// Changes options. As in libzmq, most take effect for connections made after
    /// the change.
    ///
    /// ```
    /// # let socket = purezmq::Socket::new(purezmq::SocketType::Dealer);
    /// socket.set_options(|o| o.sndhwm = 10_000)?;
    /// # Ok::<(), purezmq::Error>(())
    /// ```
    pub fn set_options(&self, change: impl FnOnce(&mut Options)) -> Result<()> {
        let mut state = self.core().lock();
        let mut options = state.options.clone();
        change(&mut options);
        options.validate()?;
        state.options = options;
        Ok(())
    }

    /// Accepts connections on `endpoint`: `tcp://127.0.0.1:5555`, `tcp://*:*`,
    /// `ipc:///tmp/feed`, `ipc://@name`, `inproc://name`. With a wildcard port or
    /// `ipc://*`, [`last_endpoint`](Socket::last_endpoint) tells what was chosen.
    pub fn bind(&self, endpoint: &str) -> Result<()> {
        let parsed = Endpoint::parse(endpoint)?;
        self.check_open()?;
        let handle = transport::bind(self.core(), endpoint, parsed).inspect_err(|e| {
            self.core().monitors.emit(
                crate::monitor::EventKind::BindFailed(e.to_string()),
                endpoint,
            );
        })?;
        self.core().lock().last_endpoint = handle.resolved.clone();
        self.endpoints().push(handle);
        Ok(())
    }

    /// Connects to `endpoint`. The connection is made in the background and
    /// remade whenever it breaks; messages sent meanwhile wait for it (unless
    /// IMMEDIATE is set).
    pub fn connect(&self, endpoint: &str) -> Result<()> {
        let parsed = Endpoint::parse(endpoint)?;
        self.check_open()?;
        let handle = transport::connect(self.core(), endpoint, parsed)?;
        self.core().lock().last_endpoint = handle.resolved.clone();
        self.endpoints().push(handle);
        Ok(())
    }

    /// Stops accepting on an endpoint given to [`bind`](Socket::bind) (or as
    /// [`last_endpoint`](Socket::last_endpoint) gave it), closing its connections.
    pub fn unbind(&self, endpoint: &str) -> Result<()> {
        self.remove_endpoint(endpoint, true)
    }

    /// Stops a connection made by [`connect`](Socket::connect).
    pub fn disconnect(&self, endpoint: &str) -> Result<()> {
        self.remove_endpoint(endpoint, false)
    }

    fn remove_endpoint(&self, endpoint: &str, bound: bool) -> Result<()> {
        let handle = {
            let mut endpoints = self.endpoints();
            let found = endpoints
                .iter()
                .position(|h| h.bound == bound && (h.given == endpoint || h.resolved == endpoint));
            found.map(|i| endpoints.remove(i))
        };
        let Some(handle) = handle else {
            return Err(Error::NoSuchEndpoint {
                action: if bound { "bound to" } else { "connected to" },
                endpoint: endpoint.to_owned(),
            });
        };
        transport::stop(self.core(), handle);
        Ok(())
    }

    fn endpoints(&self) -> std::sync::MutexGuard<'_, Vec<transport::Handle>> {
        self.handle
            .endpoints
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn check_open(&self) -> Result<()> {
        if self.core().lock().closed {
            return Err(Error::Closed);
        }
        Ok(())
    }

    /// The endpoint of the last bind or connect, resolved
    /// (`tcp://0.0.0.0:41234` after binding `tcp://*:*`); empty before any.
    pub fn last_endpoint(&self) -> String {
        self.core().lock().last_endpoint.clone()
    }

    /// Sends a message, waiting while the socket type says so (no peer, or all
    /// peers at SNDHWM, for PUSH, DEALER, REQ and PAIR) for at most SNDTIMEO.
    ///
    /// Cancel-safe in the sense that matters: if the future is dropped the message
    /// was either queued whole or not at all.
    pub async fn send(&self, message: impl Into<Message>) -> Result<()> {
        let mut message = message.into();
        let sent = &self.core().sent_since_yield;
        if sent.load(Ordering::Relaxed) >= SEND_YIELD {
            // Before queueing, so a send dropped here has queued nothing.
            sent.store(0, Ordering::Relaxed);
            tokio::task::yield_now().await;
        }
        let size = message.size();
        // The fast path registers no waiter: try first, then register and try again.
        match self.try_send_now(message) {
            Ok(()) => {
                // Only a hint for when to yield: tasks sending on one socket at once
                // may lose each other's counts, which costs nothing but a late yield.
                sent.store(
                    sent.load(Ordering::Relaxed).saturating_add(size),
                    Ordering::Relaxed,
                );
                return Ok(());
            }
            Err(TrySendError {
                error: Error::WouldBlock,
                message: back,
            }) => message = back,
            Err(e) => return Err(e.error),
        }
        let timeout = self.core().lock().options.sndtimeo;
        let readiness = Arc::clone(&self.core().readiness);
        let wait = async {
            loop {
                let mut writable = pin!(readiness.writable.notified());
                writable.as_mut().enable();
                match self.core().try_send(message) {
                    Ok(()) => {
                        // Waiting has let the runtime run everything else.
                        sent.store(0, Ordering::Relaxed);
                        return Ok(());
                    }
                    Err(TrySendError {
                        error: Error::WouldBlock,
                        message: back,
                    }) => message = back,
                    Err(e) => return Err(e.error),
                }
                writable.await;
            }
        };
        with_timeout(timeout, wait).await
    }

    /// Sends a message if that can be done without waiting; otherwise gives it back
    /// with the reason ([`Error::WouldBlock`] when peers are mute or absent).
    ///
    /// As [`send`](Socket::send) does, a send that follows a receive writes to a lone
    /// tcp or ipc peer's connection itself, on the calling thread.
    pub fn try_send(&self, message: impl Into<Message>) -> Result<(), TrySendError> {
        self.try_send_now(message.into())
    }

    /// Queues `message` if that needs no wait. A send that follows a receive (a
    /// request, a reply) writes to a lone tcp or ipc peer's connection itself when it
    /// is idle (see `direct`); one of a stream of sends leaves them to the engine,
    /// which writes them in batches.
    fn try_send_now(&self, message: Message) -> Result<(), TrySendError> {
        // A send that follows a receive (a request, a reply) writes to a lone tcp or
        // ipc peer's connection itself when it is idle (see `direct`); one of a
        // stream of sends leaves them to the engine, which writes them in batches.
        // A load first: a stream of sends then writes nothing here, and a
        // read-modify-write per message costs as much as the rest of the send.
        let sending = &self.core().sending;
        if sending.load(Ordering::Relaxed) {
            return self.core().try_send(message);
        }
        sending.store(true, Ordering::Relaxed);
        self.core().try_send_direct(message).map(|link| {
            if let Some(link) = link {
                link.flush_or_wake();
            }
        })
    }

    /// Whether a message could be sent now without waiting: `ZMQ_POLLOUT` in
    /// libzmq's `ZMQ_EVENTS`, decided as libzmq's socket types decide it.
    ///
    /// PUSH, DEALER and PAIR: some peer's pipe is below SNDHWM (a peer made by a
    /// connect counts before its connection is up; none with no peer). REQ: the
    /// same, and no reply awaited (unless REQ_RELAXED). REP: a request was received
    /// and not yet answered. ROUTER: always (a message for a mute or unknown peer is
    /// dropped), with ROUTER_MANDATORY some peer below SNDHWM. PUB, XPUB, XSUB:
    /// always. SUB, PULL: never.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> purezmq::Result<()> {
    /// use purezmq::{Socket, SocketType};
    ///
    /// let push = Socket::new(SocketType::Push);
    /// assert!(!push.can_send(), "no peer to send to");
    /// push.connect("inproc://can-send")?;
    /// assert!(push.can_send(), "messages queue for the peer being connected");
    /// # Ok(())
    /// # }
    /// ```
    pub fn can_send(&self) -> bool {
        self.core().can_send()
    }

    /// Waits until [`can_send`](Socket::can_send) holds. Like `zmq_poll`'s POLLOUT,
    /// it is not bound by SNDTIMEO.
    pub async fn writable(&self) {
        loop {
            let changed = self.writable_changed();
            if self.can_send() {
                return;
            }
            changed.await;
        }
    }

    /// A future that resolves once what [`can_send`](Socket::can_send) answers may
    /// have changed since this call, other than by this socket's own sends and
    /// receives: a pipe fell below its SNDHWM, a peer came or went, the socket
    /// closed. The moment it is made counts, not when it is first polled, so a
    /// loop that makes the next one before acting on the last misses nothing. For
    /// event loops that signal readiness themselves (`ZMQ_FD`).
    pub fn writable_changed(&self) -> impl Future<Output = ()> + Send + 'static {
        let readiness = Arc::clone(&self.core().readiness);
        let seen = readiness.send_changes();
        async move { readiness.send_changed_since(seen).await }
    }

    /// Receives the next message, waiting for at most RCVTIMEO.
    ///
    /// Cancel-safe: messages wait in the socket's queues, so dropping the future (say,
    /// under `tokio::time::timeout`) loses none.
    pub async fn recv(&self) -> Result<Message> {
        self.receive(true).await
    }

    /// Receives as [`recv`](Socket::recv) does, but when nothing is queued waits at
    /// once, without looking again a few times first: for a caller whose next message
    /// is a round trip away (a REQ's reply, a REP's next request), where looking again
    /// only takes the CPU from the thread that delivers it.
    pub async fn recv_without_spin(&self) -> Result<Message> {
        self.receive(false).await
    }

    /// `recv`, looking again a few times before it waits if `spin` and on a
    /// multi-threaded runtime.
    async fn receive(&self, spin: bool) -> Result<Message> {
        self.core().sending.store(false, Ordering::Relaxed);
        if let Some(message) = self.core().try_recv()? {
            return Ok(message);
        }
        // With one tcp or ipc peer the next message comes from the wire, which this
        // future reads itself below: looking again meanwhile would only burn the CPU
        // the peer may need to send it.
        // Asked only now: which runtime runs this costs two atomic operations on its
        // handle, too much for every message when one is queued.
        if spin && on_several_threads() && self.core().direct_link().is_none() {
            // Another thread may be about to deliver: look again a few times, backing
            // off, before parking this one (see RECV_SPIN_ROUNDS).
            for round in 0..RECV_SPIN_ROUNDS {
                for _ in 0..1u32 << round.min(6) {
                    std::hint::spin_loop();
                }
                if let Some(message) = self.core().try_recv()? {
                    return Ok(message);
                }
            }
        }
        let timeout = self.core().lock().options.rcvtimeo;
        let readiness = Arc::clone(&self.core().readiness);
        let wait = async {
            let _counted = readiness.receiver_waits();
            // With one tcp or ipc peer, read from its connection here rather than
            // wait for its engine to (see `direct`); the turn hands the stream's
            // read interest back to the engine when this future ends.
            let mut turn: Option<ReadTurn> = None;
            loop {
                let mut readable = pin!(readiness.readable.notified());
                readable.as_mut().enable();
                if let Some(message) = self.core().try_recv_waited()? {
                    return Ok(message);
                }
                if turn.as_ref().is_some_and(|turn| turn.link.is_retired()) {
                    // Its connection ended: let the link (and its stream) go.
                    turn = None;
                }
                if turn.is_none() {
                    turn = self.core().direct_link().map(|link| ReadTurn { link });
                }
                match &turn {
                    Some(turn) => {
                        std::future::poll_fn(|cx| {
                            // Read while waiting with a fresh waiter that has no waker
                            // yet: the messages this read hands to the inbound pipe
                            // notify it without waking this task, which is running
                            // and takes them next (a wake would cost the runtime
                            // another poll of the task, and a current-thread runtime
                            // a look at the kernel's events too). Dropping the last
                            // waiter passes a notification it got on to the next one.
                            readable.set(readiness.readable.notified());
                            if readable.as_mut().enable() || turn.link.poll_read(cx).is_ready() {
                                return Poll::Ready(());
                            }
                            readable.as_mut().poll(cx)
                        })
                        .await;
                    }
                    None => readable.await,
                }
            }
        };
        with_timeout(timeout, wait).await
    }

    /// The connection a receive reads itself, if the socket has one stream peer.
    pub(crate) fn direct_link(&self) -> Option<Arc<crate::direct::Link>> {
        self.core().direct_link()
    }

    /// Receives a message if one is queued.
    pub fn try_recv(&self) -> Result<Option<Message>> {
        self.core().sending.store(false, Ordering::Relaxed);
        self.core().try_recv()
    }

    /// Moves up to `max` queued messages to the back of `into`, taking the socket's
    /// lock once; returns how many. Devices use it to move traffic in batches.
    pub fn try_recv_batch(&self, into: &mut VecDeque<Message>, max: usize) -> Result<usize> {
        self.core().sending.store(false, Ordering::Relaxed);
        self.core().try_recv_batch(into, max, false)
    }

    /// Waits until at least one message is queued, then moves up to `max` of them to
    /// the back of `into`; returns how many (at least one when `max` is).
    ///
    /// Like `zmq_poll`'s POLLIN, it is not bound by RCVTIMEO. Cancel-safe: messages
    /// are either in `into` or still in the socket.
    pub async fn recv_batch(&self, into: &mut VecDeque<Message>, max: usize) -> Result<usize> {
        self.core().sending.store(false, Ordering::Relaxed);
        let taken = self.core().try_recv_batch(into, max, false)?;
        if taken > 0 || max == 0 {
            return Ok(taken);
        }
        let readiness = Arc::clone(&self.core().readiness);
        let _counted = readiness.receiver_waits();
        loop {
            let mut readable = pin!(readiness.readable.notified());
            readable.as_mut().enable();
            let taken = self.core().try_recv_batch(into, max, true)?;
            if taken > 0 {
                return Ok(taken);
            }
            readable.await;
        }
    }

    /// Sends from the front of `queue`, taking the socket's lock once, until it is
    /// empty or the next message would have to wait (it stays at the front); returns
    /// how many were sent. A message that fails for another reason (say
    /// [`Error::HostUnreachable`]) is taken out of the queue and given back with the
    /// error; those before it were sent.
    pub fn try_send_batch(&self, queue: &mut VecDeque<Message>) -> Result<usize, TrySendError> {
        self.core().try_send_batch(queue)
    }

    /// Waits until at least one message of `queue` can be sent (or `queue` is empty),
    /// then sends as [`try_send_batch`](Socket::try_send_batch) does.
    ///
    /// Like `zmq_poll`'s POLLOUT, it is not bound by SNDTIMEO. Cancel-safe: unsent
    /// messages stay in `queue`.
    pub async fn send_batch(&self, queue: &mut VecDeque<Message>) -> Result<usize, TrySendError> {
        let sent = self.core().try_send_batch(queue)?;
        if sent > 0 || queue.is_empty() {
            return Ok(sent);
        }
        let readiness = Arc::clone(&self.core().readiness);
        loop {
            let mut writable = pin!(readiness.writable.notified());
            writable.as_mut().enable();
            let sent = self.core().try_send_batch(queue)?;
            if sent > 0 || queue.is_empty() {
                return Ok(sent);
            }
            writable.await;
        }
    }

    /// Whether `other` is a handle to this same socket.
    pub fn same_socket(&self, other: &Socket) -> bool {
        Arc::ptr_eq(self.core(), other.core())
    }

    /// `ZMQ_SUBSCRIBE` on a SUB or XSUB socket: receive messages whose first frame
    /// starts with `topic` (empty for all). On an XPUB with XPUB_MANUAL, adds the
    /// subscription for the peer whose subscription was received last.
    pub fn subscribe(&self, topic: impl AsRef<[u8]>) -> Result<()> {
        self.core().subscribe(topic.as_ref(), true)
    }

    /// `ZMQ_UNSUBSCRIBE`: cancels one [`subscribe`](Socket::subscribe) of `topic`.
    pub fn unsubscribe(&self, topic: impl AsRef<[u8]>) -> Result<()> {
        self.core().subscribe(topic.as_ref(), false)
    }

    /// Has `handler` decide which peers may connect (see [`zap`](crate::zap)). Applies
    /// to connections made from now on.
    pub fn set_zap_handler(&self, handler: impl ZapHandler) {
        *self.core().zap.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(handler));
    }

    /// A stream of this socket's events from now on (`zmq_socket_monitor`).
    pub fn monitor(&self) -> Monitor {
        self.core().monitors.subscribe()
    }

    /// The messages this socket receives, as a [`Stream`]. It ends when the socket
    /// closes.
    pub fn incoming(&self) -> impl Stream<Item = Result<Message>> + Send + 'static {
        futures::stream::unfold(self.clone(), |socket| async move {
            match socket.recv().await {
                Err(Error::Closed) => None,
                result => Some((result, socket)),
            }
        })
    }

    /// A [`Sink`] that sends each message with [`send`](Socket::send).
    pub fn outgoing(&self) -> impl Sink<Message, Error = Error> + Send + 'static {
        futures::sink::unfold(self.clone(), |socket, message: Message| async move {
            socket.send(message).await?;
            Ok::<_, Error>(socket)
        })
    }

    /// Closes this handle; once it was the last, waits until every connection has
    /// sent what it had queued or LINGER has passed.
    pub async fn close(self) {
        let core = Arc::clone(self.core());
        drop(self);
        if core.shutdown.is_cancelled() {
            core.tasks.wait().await;
        }
    }
}

/// Whether the caller runs on a multi-threaded tokio runtime, where a message can
/// arrive from another thread while this one looks.
fn on_several_threads() -> bool {
    tokio::runtime::Handle::try_current()
        .is_ok_and(|handle| handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread)
}

async fn with_timeout<T>(
    timeout: Option<Duration>,
    work: impl Future<Output = Result<T>>,
) -> Result<T> {
    match timeout {
        None => work.await,
        Some(limit) => tokio::time::timeout(limit, work)
            .await
            .unwrap_or(Err(Error::Timeout(limit))),
    }
}
