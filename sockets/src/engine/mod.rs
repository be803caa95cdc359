//! The engine: one task per stream connection (tcp or ipc), between the socket's pipes
//! and the wire.
//!
//! Each turn of its loop, as long as there is work and the task's budget lasts:
//! 1. write what the codec has encoded, as vectored writes of its chunks;
//! 2. take everything queued in the outbound pipe at once and encode it;
//! 3. read into the connection's one receive buffer, decode, and hand every message
//!    of that read to the inbound pipe as one batch;
//! 4. act on the codec's deadline (handshake timeout, heartbeats).
//!
//! The engine stops reading while the inbound pipe is at its high-water mark, and
//! takes no more from the outbound pipe while a lot of encoded data waits for the
//! socket, so memory stays bounded on both sides.
//!
//! The wire and the codec live in a [`Link`] that the socket's callers may drive too
//! (the direct path, see [`direct`](crate::direct)): the engine holds its lock for
//! each poll, and acts first on a failure a caller met while writing.
//!
//! After [`READ_YIELD`] bytes read in one poll, or [`BUDGET`] turns, the engine yields
//! through tokio's deferred wake-up (`yield_now`) rather than waking itself. That lets
//! a single-threaded runtime poll the application's future, which `block_on` polls
//! only once no task is queued: the application takes what was read while it is still
//! in cache, drops it, and the next read reuses the receive buffer in place instead of
//! allocating fresh pages.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use purezmq_curve::CookieKeyring;
use purezmq_zmtp::{AuthReply, Connection, Event, PeerInfo, SocketType};
use tokio::time::Sleep;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::direct::{Failure, Io, Link, READ_MAX, Wire};
use crate::monitor::{EventKind, Monitors};
use crate::options::Options;
use crate::peer::{Attached, Refused};
use crate::pipe::subscription_message;
use crate::zap::{ZapFuture, ZapHandler, ZapRequest};

mod mechanism;

use mechanism::mechanism;

/// Turns of the loop before the engine yields to other tasks.
const BUDGET: usize = 64;
/// Bytes read in one poll after which the engine yields to other tasks (one full
/// read at the largest room).
const READ_YIELD: usize = READ_MAX;
/// How long a failing connection may take to send its ERROR.
const ERROR_FLUSH: Duration = Duration::from_millis(500);

/// How an engine ended.
pub(crate) struct Outcome {
    /// Whether the handshake had completed.
    pub(crate) handshaken: bool,
}

/// What an engine needs from the socket it serves: its settings, and the peer to
/// attach when the handshake completes and to detach at the end. The socket's core
/// is the one host (`transport` implements this for it), so the engine sits beside
/// the core, on the pipes, and never imports it. Called when a connection starts,
/// completes its handshake, lingers or ends; never per message.
pub(crate) trait Host: Send + Sync + 'static {
    /// The type of the socket.
    fn socket_type(&self) -> SocketType;
    /// The socket's options now.
    fn options(&self) -> Options;
    /// Who authenticates peers, if anyone.
    fn zap_handler(&self) -> Option<Arc<dyn ZapHandler>>;
    /// The cookie keys the socket's CURVE server connections share.
    fn cookie_keys(&self) -> Arc<CookieKeyring>;
    /// Cancelled when the socket closes.
    fn shutdown(&self) -> &CancellationToken;
    /// Where connection events go.
    fn monitors(&self) -> &Monitors;
    /// The handshake completed: the pipes to serve, or why the socket refuses the
    /// peer. `fixed` is the peer a connect made or reserved; `link` is the
    /// connection, which the socket's callers may write to from then on.
    fn attach_stream(
        &self,
        info: &PeerInfo,
        fixed: Option<u64>,
        kill: &CancellationToken,
        link: &Arc<Link>,
    ) -> Result<Attached, Refused>;
    /// The connection of a peer that outlives it ended.
    fn stream_disconnected(&self, peer: u64);
    /// The connection of a peer that ends with it ended.
    fn detach(&self, peer: u64);
    /// Whether the connect that made `peer` lingers after close with messages still
    /// to deliver.
    fn lingers(&self, peer: Option<u64>) -> bool;
}

/// Runs one connection to its end and reports it on the monitor.
pub(crate) async fn run<H: Host>(
    wire: Wire,
    host: Arc<H>,
    endpoint: String,
    peer_address: String,
    peer_hint: Option<u64>,
    kill: CancellationToken,
) -> Outcome {
    let options = host.options();
    let zap = host.zap_handler();
    let epoch = tokio::time::Instant::now();
    let mut config = options.zmtp_config(host.socket_type());
    if !matches!(
        host.socket_type(),
        SocketType::Req | SocketType::Dealer | SocketType::Router
    ) {
        config.routing_id = Bytes::new();
    }
    let conn = Connection::new(
        config,
        mechanism(&options, zap.is_some(), &*host),
        purezmq_zmtp::Instant::ZERO,
    );
    let subscriptions_as_commands =
        matches!(host.socket_type(), SocketType::Sub | SocketType::XSub);
    let mut engine = Engine {
        link: Arc::new(Link::new(wire, conn, subscriptions_as_commands, epoch)),
        host: Arc::clone(&host),
        epoch,
        peer_hint,
        attached: None,
        sleep: None,
        kill: Box::pin(kill.clone().cancelled_owned()),
        shutdown: Box::pin(host.shutdown().clone().cancelled_owned()),
        linger: options.linger,
        linger_until: None,
        linger_sleep: None,
        subscriptions_as_commands,
        kill_token: kill,
        endpoint: endpoint.clone(),
        zap,
        zap_domain: options.zap_domain.clone(),
        zap_identity: options.routing_id.clone(),
        peer_address,
        auth: None,
        pause: None,
    };
    let result = std::future::poll_fn(|cx| engine.poll(cx)).await;
    // From now on nobody writes for this connection: what is queued waits for the
    // next one (or is dropped with the peer).
    engine.link.retire();
    if let Err(Failure::Zmtp(_)) = &result {
        // The codec may have queued an ERROR for the peer: give it a moment to go.
        let link = Arc::clone(&engine.link);
        let flush = std::future::poll_fn(|cx| {
            let mut io = link.lock();
            match io.write(&link.wire, Some(cx)) {
                Ok(_) if io.conn.send_buffer().is_empty() => Poll::Ready(()),
                Ok(_) => Poll::Pending,
                Err(_) => Poll::Ready(()),
            }
        });
        let _ = tokio::time::timeout(ERROR_FLUSH, flush).await;
    }
    engine.link.shut();
    let handshaken = engine.attached.is_some();
    match (&result, handshaken) {
        (Ok(()), _) => {}
        (Err(Failure::Zmtp(e)), false) => {
            let kind = if let purezmq_zmtp::Error::AuthenticationFailed {
                status_code,
                status_text,
            } = e
            {
                EventKind::HandshakeFailedAuth {
                    status_code: *status_code,
                    reason: status_text.clone(),
                }
            } else if let purezmq_zmtp::Error::PeerRefused { reason } = e
                && e.is_authentication_failure()
            {
                EventKind::HandshakeFailedAuth {
                    status_code: reason.parse().unwrap_or(0),
                    reason: e.to_string(),
                }
            } else if e.is_protocol_violation() {
                EventKind::HandshakeFailedProtocol(e.to_string())
            } else {
                EventKind::HandshakeFailedNoDetail(e.to_string())
            };
            host.monitors().emit(kind, &endpoint);
        }
        (Err(Failure::Zmtp(e)), true) => {
            host.monitors()
                .emit(EventKind::ProtocolError(e.to_string()), &endpoint);
        }
        (Err(Failure::Io(e)), false) => host
            .monitors()
            .emit(EventKind::HandshakeFailedNoDetail(e.to_string()), &endpoint),
        (Err(Failure::Refused(why)), _) => host
            .monitors()
            .emit(EventKind::HandshakeFailedNoDetail(why.clone()), &endpoint),
        (Err(Failure::Io(_)), true) => {}
    }
    // Detach first, so that whoever sees DISCONNECTED sees the peer gone.
    if let Some(attached) = &engine.attached {
        if attached.persistent {
            host.stream_disconnected(attached.peer);
        } else {
            host.detach(attached.peer);
        }
    }
    host.monitors().emit(EventKind::Disconnected, &endpoint);
    Outcome { handshaken }
}

struct Engine<H> {
    /// The stream and the codec, shared with the socket's `send` and `recv`.
    link: Arc<Link>,
    host: Arc<H>,
    epoch: tokio::time::Instant,
    /// The peer a connect made or reserved for this connection.
    peer_hint: Option<u64>,
    attached: Option<Attached>,
    /// The codec's next deadline and the timer armed for it; none once there is no
    /// deadline (after the handshake without heartbeats), so an idle connection
    /// holds no timer and is never woken by one.
    sleep: Option<(purezmq_zmtp::Instant, Pin<Box<Sleep>>)>,
    kill: Pin<Box<WaitForCancellationFutureOwned>>,
    kill_token: CancellationToken,
    shutdown: Pin<Box<WaitForCancellationFutureOwned>>,
    linger: Option<Duration>,
    /// Set once the socket is closing: flush until then (`None` inside: for ever).
    linger_until: Option<Option<tokio::time::Instant>>,
    linger_sleep: Option<Pin<Box<Sleep>>>,
    /// SUB and XSUB: `0x01`/`0x00` messages go out as SUBSCRIBE/CANCEL.
    subscriptions_as_commands: bool,
    endpoint: String,
    zap: Option<Arc<dyn ZapHandler>>,
    zap_domain: String,
    /// The socket's own routing id, the identity frame of its ZAP requests.
    zap_identity: Bytes,
    peer_address: String,
    /// The ZAP handler's answer, being computed.
    auth: Option<ZapFuture>,
    /// A yield in progress: the engine runs again once this is ready.
    pause: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl<H: Host> Engine<H> {
    fn now(&self) -> purezmq_zmtp::Instant {
        purezmq_zmtp::Instant::from_elapsed(self.epoch.elapsed())
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Failure>> {
        if self.kill.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Ok(()));
        }
        if self.linger_until.is_none() && self.shutdown.as_mut().poll(cx).is_ready() {
            let until = self.linger.map(|l| tokio::time::Instant::now() + l);
            self.linger_until = Some(until);
        }
        if let Some(pause) = &mut self.pause {
            if pause.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.pause = None;
        }
        let link = Arc::clone(&self.link);
        link.set_engine_waker(cx.waker());
        let mut io = link.lock();
        if let Some(failure) = io.failure.take() {
            return Poll::Ready(Err(failure));
        }
        if io.eof {
            return Poll::Ready(Ok(()));
        }
        let mut read = 0;
        for _ in 0..BUDGET {
            if read >= READ_YIELD {
                break;
            }
            let mut progress = false;
            progress |= io.write(&link.wire, Some(cx))?;
            progress |= self.take_outbound(&mut io, cx)?;
            if let Some(until) = self.linger_until {
                // A connect still holding messages finishes its handshake first.
                let done = match &self.attached {
                    Some(_) => self.is_flushed(&mut io),
                    None => !self.host.lingers(self.peer_hint),
                };
                if done {
                    return Poll::Ready(Ok(()));
                }
                if let Some(at) = until
                    && tokio::time::Instant::now() >= at
                {
                    return Poll::Ready(Ok(()));
                }
            }
            match self.read(&link.wire, &mut io, cx)? {
                Poll::Ready(Some(n)) => {
                    read += n;
                    progress = true;
                }
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => {}
            }
            progress |= self.timers(&mut io, cx)?;
            progress |= self.authenticate(&mut io, cx)?;
            if !progress {
                if let Some(Some(at)) = self.linger_until {
                    let sleep = self
                        .linger_sleep
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
                    if sleep.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(Ok(()));
                    }
                }
                return Poll::Pending;
            }
        }
        drop(io);
        // Yield with a deferred wake-up, so the runtime polls the application first.
        let mut pause: Pin<Box<dyn Future<Output = ()> + Send>> =
            Box::pin(tokio::task::yield_now());
        match pause.as_mut().poll(cx) {
            Poll::Pending => self.pause = Some(pause),
            Poll::Ready(()) => cx.waker().wake_by_ref(),
        }
        Poll::Pending
    }

    fn is_flushed(&self, io: &mut Io) -> bool {
        io.conn.send_buffer().is_empty() && self.attached.as_ref().is_none_or(|a| a.out.len() == 0)
    }

    /// Encodes what the outbound pipe holds; returns whether there was any.
    fn take_outbound(&mut self, io: &mut Io, cx: &mut Context<'_>) -> Result<bool, Failure> {
        let Some(attached) = &self.attached else {
            return Ok(false);
        };
        attached.out.register_reader(cx.waker());
        Ok(io.encode_outbound(&attached.out, self.subscriptions_as_commands)?)
    }

    /// Reads and decodes once: `Ready(Some(bytes read))`, or `Ready(None)` at the end
    /// of the stream.
    fn read(
        &mut self,
        wire: &Wire,
        io: &mut Io,
        cx: &mut Context<'_>,
    ) -> Result<Poll<Option<usize>>, Failure> {
        if let Some(attached) = &self.attached
            && attached.inp.is_full()
        {
            attached.inp.register_writer(cx.waker());
            if attached.inp.is_full() {
                return Ok(Poll::Pending);
            }
        }
        let want = io.read_room();
        let buffer = io.conn.recv_buffer();
        buffer.reserve(want);
        let room = buffer.capacity() - buffer.len();
        let n = loop {
            match wire.try_read(io.conn.recv_buffer()) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    match wire.poll_read_ready(cx) {
                        Poll::Ready(Ok(())) => {}
                        Poll::Ready(Err(e)) => return Err(e.into()),
                        Poll::Pending => return Ok(Poll::Pending),
                    }
                }
                Err(e) => return Err(e.into()),
            }
        };
        if n == 0 {
            return Ok(Poll::Ready(None));
        }
        io.grow_or_shrink(n, room);
        let now = self.now();
        let processed = io.conn.process(now);
        // What was decoded before a violation still counts, as in libzmq: the
        // handshake (so the failure is reported as after it) and the messages before
        // the bad frame.
        self.drain_events(io)?;
        processed?;
        Ok(Poll::Ready(Some(n)))
    }

    fn drain_events(&mut self, io: &mut Io) -> Result<(), Failure> {
        while let Some(event) = io.conn.poll_event() {
            match event {
                Event::Message(message) => io.inbox.push_back(message),
                Event::Subscribe(topic) => io.inbox.push_back(subscription_message(1, &topic)),
                Event::Cancel(topic) => io.inbox.push_back(subscription_message(0, &topic)),
                Event::HandshakeSucceeded(info) => {
                    let attached = self
                        .host
                        .attach_stream(&info, self.peer_hint, &self.kill_token, &self.link)
                        .map_err(|why| Failure::Refused(why.to_string()))?;
                    for topic in &attached.replay {
                        io.conn.subscribe(topic)?;
                    }
                    self.attached = Some(attached);
                    self.host
                        .monitors()
                        .emit(EventKind::HandshakeSucceeded, &self.endpoint);
                }
                Event::AuthenticationRequested(request) => match &self.zap {
                    Some(handler) => {
                        self.auth = Some(handler.authenticate(ZapRequest {
                            domain: self.zap_domain.clone(),
                            address: self.peer_address.clone(),
                            routing_id: self.zap_identity.clone(),
                            mechanism: request.mechanism,
                            credentials: request.credentials,
                        }));
                    }
                    None => {
                        let now = self.now();
                        io.conn.auth_reply(AuthReply::accept(Bytes::new()), now)?;
                    }
                },
            }
        }
        if let Some(attached) = &self.attached {
            attached.inp.push_batch(&mut io.inbox);
        }
        Ok(())
    }

    /// Passes the ZAP handler's answer to the handshake once it is there.
    fn authenticate(&mut self, io: &mut Io, cx: &mut Context<'_>) -> Result<bool, Failure> {
        let Some(pending) = &mut self.auth else {
            return Ok(false);
        };
        let Poll::Ready(reply) = pending.as_mut().poll(cx) else {
            return Ok(false);
        };
        self.auth = None;
        let now = self.now();
        io.conn.auth_reply(reply, now)?;
        self.drain_events(io)?;
        Ok(true)
    }

    fn timers(&mut self, io: &mut Io, cx: &mut Context<'_>) -> Result<bool, Failure> {
        let Some(at) = io.conn.poll_timeout() else {
            self.sleep = None;
            return Ok(false);
        };
        let deadline = self.epoch + at.elapsed();
        let (armed_for, sleep) = self
            .sleep
            .get_or_insert_with(|| (at, Box::pin(tokio::time::sleep_until(deadline))));
        if *armed_for != at {
            *armed_for = at;
            sleep.as_mut().reset(deadline);
        }
        if sleep.as_mut().poll(cx).is_pending() {
            return Ok(false);
        }
        self.sleep = None;
        let now = self.now();
        io.conn.handle_timeout(now)?;
        Ok(true)
    }
}
