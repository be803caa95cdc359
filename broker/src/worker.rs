//! A Majordomo worker: offers one service to one broker or several and answers
//! its requests with a handler.
//!
//! For each broker endpoint the worker opens a DEALER, sends READY and then serves
//! one request at a time (RFC 7): it hands the request to the handler, sends the
//! handler's answer back as the REPLY (MDP/0.2: FINAL), and waits for the next.
//! Meanwhile it keeps the connection alive:
//!
//! - it sends a HEARTBEAT every [`heartbeat`](Worker::heartbeat) interval, busy or
//!   idle;
//! - while idle, it counts the broker gone after [`liveness`](Worker::liveness)
//!   intervals without a message from it; it then closes the socket, waits
//!   [`reconnect_delay`](Worker::reconnect_delay), and starts again on a new socket
//!   with a new READY (a restarted broker learns about the worker that way). While
//!   the handler runs the broker may be silent, so a busy worker does not count;
//! - a DISCONNECT from the broker is obeyed the same way: the request being handled,
//!   if any, is abandoned (the broker has forgotten it), the socket closed, and the
//!   worker registers again on a new one;
//! - so is a broken connection (a broker restart): the broker that comes back knows
//!   nothing of this worker, so it registers again at once rather than after
//!   `liveness` heartbeats;
//! - a handler that panics is treated as a worker that crashed and restarted: no
//!   reply, and a new registration on a new socket (the broker reports the worker
//!   lost mid-request, and the client's retry goes to a worker again).
//!
//! One worker can serve several brokers, one socket and one task each, all calling
//! the same handler: that is how a deployment grows past one broker. Each broker
//! connection handles one request at a time; with N brokers the handler may run N
//! times at once.
//!
//! With MDP/0.2 a handler can stream: [`Request::partial`] sends a PARTIAL reply
//! before the final one.
//!
//! ```no_run
//! # #[tokio::main]
//! # async fn main() -> Result<(), purezmq_broker::worker::WorkerError> {
//! use purezmq_broker::worker::{Request, Worker};
//!
//! let worker = Worker::new(["tcp://10.0.0.1:5555", "tcp://10.0.0.2:5555"], "upper");
//! let upper = |request: Request| async move {
//!     request
//!         .body
//!         .iter()
//!         .map(|frame| frame.to_ascii_uppercase().into())
//!         .collect()
//! };
//! worker.run(upper, async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```
//!
//! [`BlockingWorker`] runs a plain `FnMut(Vec<Bytes>) -> Vec<Bytes>` instead.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::FutureExt;
use purezmq::monitor::EventKind;
use purezmq::{Message, Options, Socket, SocketType};
use thiserror::Error;
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};

pub use crate::client::Endpoints;
use crate::mdp::{self, Framing, MdpError, ReplyKind, Version, WorkerCommand, WorkerMessage};

/// The heartbeat interval, by default (RFC 7's example value).
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_millis(2500);
/// How many silent heartbeat intervals before the broker counts as gone, by default.
pub const DEFAULT_LIVENESS: u32 = 3;
/// How long to wait before connecting again, by default.
pub const DEFAULT_RECONNECT_DELAY: Duration = Duration::from_millis(1000);

/// Why a worker cannot run, or a PARTIAL cannot be sent.
#[derive(Debug, Error)]
pub enum WorkerError {
    /// The worker was given no broker endpoint.
    #[error("no broker endpoint given; pass at least one to Worker::new")]
    NoEndpoints,
    /// The service name cannot be said in MDP, or a PARTIAL was asked of MDP/0.1.
    #[error("not valid MDP: {0}")]
    Protocol(#[from] MdpError),
    /// A socket failed: a bad endpoint or options, or it was closed.
    #[error(transparent)]
    Socket(#[from] purezmq::Error),
}

/// What happens to a worker's connections, for [`Worker::on_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerEvent {
    /// The connection to the broker is up and READY has gone out on it.
    Registered {
        /// The broker's endpoint.
        endpoint: String,
    },
    /// The worker left the broker and will register again after the reconnect
    /// delay.
    Reconnecting {
        /// The broker's endpoint.
        endpoint: String,
        /// Why: the broker sent DISCONNECT, or was silent too long.
        reason: &'static str,
    },
}

/// A request for the handler.
#[derive(Debug)]
pub struct Request {
    /// The body frames, as the client sent them.
    pub body: Vec<Bytes>,
    /// The client's address, as the broker gave it.
    pub client: Bytes,
    /// The broker endpoint the request came from.
    pub endpoint: Arc<str>,
    replier: Replier,
}

/// What is needed to send a PARTIAL reply to the request.
#[derive(Debug, Clone)]
struct Replier {
    socket: Socket,
    version: Version,
    framing: Framing,
}

impl Request {
    /// Sends a PARTIAL reply (MDP/0.2) before the final one that the handler
    /// returns. With MDP/0.1 there are none: [`MdpError::PartialInVersion01`].
    pub async fn partial(&self, body: Vec<Bytes>) -> Result<(), WorkerError> {
        let message = WorkerMessage {
            version: self.replier.version,
            framing: self.replier.framing,
            command: WorkerCommand::Reply {
                kind: ReplyKind::Partial,
                client: self.client.clone(),
                body,
            },
        };
        let frames = message.encode()?;
        self.replier.socket.send(Message::from_iter(frames)).await?;
        Ok(())
    }

    /// The protocol version the worker speaks.
    pub fn version(&self) -> Version {
        self.replier.version
    }
}

/// What answers requests: an async function of the [`Request`] returning the final
/// reply's body. Closures `Fn(Request) -> impl Future<Output = Vec<Bytes>>` are
/// handlers.
pub trait Handler: Send + Sync + 'static {
    /// Answers one request.
    fn handle(&self, request: Request) -> impl Future<Output = Vec<Bytes>> + Send;
}

impl<F, R> Handler for F
where
    F: Fn(Request) -> R + Send + Sync + 'static,
    R: Future<Output = Vec<Bytes>> + Send,
{
    fn handle(&self, request: Request) -> impl Future<Output = Vec<Bytes>> + Send {
        self(request)
    }
}

type EventHook = Arc<dyn Fn(WorkerEvent) + Send + Sync>;

/// A Majordomo worker's settings; [`run`](Worker::run) starts it.
#[derive(Clone)]
pub struct Worker {
    endpoints: Vec<String>,
    service: Bytes,
    heartbeat: Duration,
    liveness: u32,
    reconnect_delay: Duration,
    version: Version,
    framing: Option<Framing>,
    options: Options,
    on_event: Option<EventHook>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("endpoints", &self.endpoints)
            .field("service", &self.service)
            .field("heartbeat", &self.heartbeat)
            .field("liveness", &self.liveness)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker for `service` at one broker or several (one connection each), with
    /// the defaults: heartbeat 2.5 s, liveness 3, reconnect delay 1 s, MDP/0.1.
    pub fn new(endpoints: impl Endpoints, service: impl Into<Bytes>) -> Worker {
        Worker {
            endpoints: endpoints.into_endpoints(),
            service: service.into(),
            heartbeat: DEFAULT_HEARTBEAT,
            liveness: DEFAULT_LIVENESS,
            reconnect_delay: DEFAULT_RECONNECT_DELAY,
            version: Version::V01,
            framing: None,
            options: Options::default(),
            on_event: None,
        }
    }

    /// How often to send HEARTBEAT; should match the broker's.
    pub fn heartbeat(mut self, interval: Duration) -> Self {
        self.heartbeat = interval.max(Duration::from_millis(1));
        self
    }

    /// How many heartbeat intervals of silence (while idle) before the broker counts
    /// as gone (at least 1).
    pub fn liveness(mut self, liveness: u32) -> Self {
        self.liveness = liveness.max(1);
        self
    }

    /// How long to wait before registering again after a DISCONNECT or a silent
    /// broker.
    pub fn reconnect_delay(mut self, delay: Duration) -> Self {
        self.reconnect_delay = delay;
        self
    }

    /// MDP/0.1 (the default) or MDP/0.2 (with PARTIAL replies).
    pub fn version(mut self, version: Version) -> Self {
        self.version = version;
        self
    }

    /// For MDP/0.2: with or without the leading empty frame (default: without, as
    /// RFC 18 writes it). MDP/0.1 always has it.
    pub fn framing(mut self, framing: Framing) -> Self {
        self.framing = Some(framing);
        self
    }

    /// The DEALERs' socket options, for example CURVE with the broker's public key.
    pub fn options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }

    /// Calls `hook` when a connection registers or leaves (from the connection's
    /// task: keep it short).
    pub fn on_event(mut self, hook: impl Fn(WorkerEvent) + Send + Sync + 'static) -> Self {
        self.on_event = Some(Arc::new(hook));
        self
    }

    fn framing_used(&self) -> Framing {
        match (self.version, self.framing) {
            (Version::V01, _) => Framing::Delimited,
            (Version::V02, Some(framing)) => framing,
            (Version::V02, None) => Framing::Bare,
        }
    }

    /// Serves requests with `handler` until `shutdown` completes; then sends
    /// DISCONNECT to each broker and closes the sockets. Errors only at the start,
    /// for settings that cannot work (no endpoint, a bad endpoint or service name or
    /// options); network trouble is met by reconnecting. Must run within a tokio
    /// runtime.
    pub async fn run(
        self,
        handler: impl Handler,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), WorkerError> {
        self.check()?;
        let handler = Arc::new(handler);
        let (stop, stopped) = watch::channel(false);
        let framing = self.framing_used();
        let settings = Arc::new(self);
        let mut tasks = Vec::new();
        for endpoint in &settings.endpoints {
            let session = Session {
                settings: Arc::clone(&settings),
                endpoint: Arc::from(endpoint.as_str()),
                framing,
            };
            let handler = Arc::clone(&handler);
            let stopped = stopped.clone();
            tasks.push(tokio::spawn(session.run(handler, stopped)));
        }
        shutdown.await;
        let _ = stop.send(true);
        for task in tasks {
            if let Err(error) = task.await {
                tracing::warn!(%error, "a worker connection's task failed");
            }
        }
        Ok(())
    }

    fn check(&self) -> Result<(), WorkerError> {
        if self.endpoints.is_empty() {
            return Err(WorkerError::NoEndpoints);
        }
        for endpoint in &self.endpoints {
            purezmq::endpoint::Endpoint::parse(endpoint).map_err(purezmq::Error::from)?;
        }
        if self.service.is_empty() {
            return Err(MdpError::EmptyService.into());
        }
        if self.service.len() > mdp::MAX_SERVICE_LEN {
            return Err(MdpError::ServiceTooLong {
                len: self.service.len(),
            }
            .into());
        }
        self.options.validate().map_err(purezmq::Error::from)?;
        Ok(())
    }
}

/// A handler's answer on its way.
/// `None` when the handler panicked.
type Busy = Pin<Box<dyn Future<Output = (Bytes, Option<Vec<Bytes>>)> + Send>>;

/// How one connection to a broker ended.
enum Ended {
    Shutdown,
    Reconnect(&'static str),
}

/// One broker connection's task.
struct Session {
    settings: Arc<Worker>,
    endpoint: Arc<str>,
    framing: Framing,
}

impl Session {
    async fn run<H: Handler>(self, handler: Arc<H>, mut stopped: watch::Receiver<bool>) {
        loop {
            let ended = match self.connect() {
                Ok(socket) => {
                    let ended = self.serve(&socket, &handler, &mut stopped).await;
                    if matches!(ended, Ended::Shutdown) {
                        let _ = socket.try_send(self.message(WorkerCommand::Disconnect));
                    }
                    socket.close().await;
                    ended
                }
                Err(error) => {
                    tracing::warn!(endpoint = %self.endpoint, %error, "cannot open the worker's socket");
                    Ended::Reconnect("the socket could not be opened")
                }
            };
            let Ended::Reconnect(reason) = ended else {
                return;
            };
            tracing::info!(endpoint = %self.endpoint, reason, "worker reconnecting");
            self.emit(WorkerEvent::Reconnecting {
                endpoint: self.endpoint.to_string(),
                reason,
            });
            tokio::select! {
                () = tokio::time::sleep(self.settings.reconnect_delay) => {}
                () = stop_requested(&mut stopped) => return,
            }
        }
    }

    fn connect(&self) -> Result<Socket, purezmq::Error> {
        let mut options = self.settings.options.clone();
        // DISCONNECT on the way out gets a moment; a dead broker does not hold us.
        options.linger = Some(options.linger.unwrap_or(Duration::from_millis(500)));
        let socket = Socket::with_options(SocketType::Dealer, options)?;
        socket.connect(&self.endpoint)?;
        Ok(socket)
    }

    fn message(&self, command: WorkerCommand) -> Message {
        let message = WorkerMessage {
            version: self.settings.version,
            framing: self.framing,
            command,
        };
        match message.encode() {
            Ok(frames) => frames.into_iter().collect(),
            // Only a PARTIAL in MDP/0.1 cannot be encoded, and none is made here.
            Err(_) => Message::new(),
        }
    }

    fn emit(&self, event: WorkerEvent) {
        if let Some(hook) = &self.settings.on_event {
            hook(event);
        }
    }

    async fn send(&self, socket: &Socket, command: WorkerCommand) {
        let name = command.name();
        let message = self.message(command);
        // A broker that takes nothing for a heartbeat interval is as good as gone.
        match tokio::time::timeout(self.settings.heartbeat, socket.send(message)).await {
            Ok(Ok(())) => tracing::trace!(endpoint = %self.endpoint, command = name, "sent"),
            Ok(Err(error)) => {
                tracing::debug!(endpoint = %self.endpoint, command = name, %error, "cannot send")
            }
            Err(_) => tracing::debug!(endpoint = %self.endpoint, command = name, "send timed out"),
        }
    }

    /// One conversation with the broker, on one socket.
    async fn serve<H: Handler>(
        &self,
        socket: &Socket,
        handler: &Arc<H>,
        stopped: &mut watch::Receiver<bool>,
    ) -> Ended {
        let settings = &self.settings;
        let mut monitor = socket.monitor();
        let mut monitoring = true;
        self.send(
            socket,
            WorkerCommand::Ready {
                service: settings.service.clone(),
            },
        )
        .await;
        tracing::debug!(endpoint = %self.endpoint, service = ?settings.service, "READY sent");
        let mut liveness = settings.liveness;
        let mut ticker =
            tokio::time::interval_at(Instant::now() + settings.heartbeat, settings.heartbeat);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut busy: Option<Busy> = None;
        loop {
            tokio::select! {
                () = stop_requested(stopped) => return Ended::Shutdown,
                event = monitor.recv(), if monitoring => match event {
                    Some(event) if event.kind == EventKind::HandshakeSucceeded => {
                        tracing::info!(endpoint = %self.endpoint, service = ?settings.service, "worker registered");
                        self.emit(WorkerEvent::Registered { endpoint: self.endpoint.to_string() });
                    }
                    Some(event) if event.kind == EventKind::Disconnected => {
                        // A broker that comes back (a restart) has forgotten this
                        // worker, and a reply on a new connection would come from a
                        // stranger: register afresh on a new socket.
                        tracing::info!(endpoint = %self.endpoint, "the connection to the broker broke");
                        return Ended::Reconnect("the connection to the broker broke");
                    }
                    Some(_) => {}
                    None => monitoring = false,
                },
                _ = ticker.tick() => {
                    if busy.is_none() {
                        liveness = liveness.saturating_sub(1);
                        if liveness == 0 {
                            tracing::warn!(endpoint = %self.endpoint, "broker silent for {} heartbeats", settings.liveness);
                            return Ended::Reconnect("the broker was silent");
                        }
                    }
                    self.send(socket, WorkerCommand::Heartbeat).await;
                }
                (client, body) = async {
                    match busy.as_mut() {
                        Some(answer) => answer.await,
                        None => std::future::pending().await,
                    }
                }, if busy.is_some() => {
                    busy = None;
                    liveness = settings.liveness;
                    let Some(body) = body else {
                        // As a worker process that crashed and restarted: the
                        // broker sees this worker go and a new one come.
                        tracing::error!(endpoint = %self.endpoint, "the handler panicked; registering again on a new socket");
                        return Ended::Reconnect("the handler panicked");
                    };
                    self.send(socket, WorkerCommand::Reply { kind: ReplyKind::Final, client, body }).await;
                }
                received = socket.recv() => {
                    let message = match received {
                        Ok(message) => message,
                        Err(error) => {
                            tracing::warn!(endpoint = %self.endpoint, %error, "cannot receive");
                            return Ended::Reconnect("the socket failed");
                        }
                    };
                    liveness = settings.liveness;
                    let parsed = match WorkerMessage::parse(message.frames()) {
                        Ok(parsed) => parsed,
                        Err(error) => {
                            tracing::debug!(endpoint = %self.endpoint, %error, "dropping a message that is not valid MDP");
                            continue;
                        }
                    };
                    match parsed.command {
                        WorkerCommand::Request { client, body } => {
                            if busy.is_some() {
                                tracing::warn!(endpoint = %self.endpoint, "dropping a REQUEST that came while the previous one is handled (RFC 7: one at a time)");
                                continue;
                            }
                            let request = Request {
                                body,
                                client: client.clone(),
                                endpoint: Arc::clone(&self.endpoint),
                                replier: Replier {
                                    socket: socket.clone(),
                                    version: settings.version,
                                    framing: self.framing,
                                },
                            };
                            let handler = Arc::clone(handler);
                            busy = Some(Box::pin(async move {
                                let answer = AssertUnwindSafe(handler.handle(request))
                                    .catch_unwind()
                                    .await;
                                (client, answer.ok())
                            }));
                        }
                        WorkerCommand::Heartbeat => {}
                        WorkerCommand::Disconnect => {
                            tracing::info!(endpoint = %self.endpoint, "the broker sent DISCONNECT");
                            return Ended::Reconnect("the broker sent DISCONNECT");
                        }
                        other => {
                            tracing::debug!(endpoint = %self.endpoint, command = other.name(), "dropping a command a broker does not send");
                        }
                    }
                }
            }
        }
    }
}

/// Resolves once the worker is asked to stop.
async fn stop_requested(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// A [`Worker`] with a plain blocking handler, for programs without async. The
/// sockets run on a background thread; the handler runs on a blocking thread, one
/// call at a time (with several brokers, their requests take turns).
///
/// ```no_run
/// use purezmq_broker::worker::{BlockingWorker, Worker};
///
/// let worker = BlockingWorker::new(Worker::new("tcp://127.0.0.1:5555", "echo"));
/// worker.run(|body| body)?;
/// # Ok::<(), purezmq_broker::worker::WorkerError>(())
/// ```
#[derive(Debug)]
pub struct BlockingWorker {
    worker: Worker,
}

impl BlockingWorker {
    /// A blocking worker with these settings.
    pub fn new(worker: Worker) -> BlockingWorker {
        BlockingWorker { worker }
    }

    /// Serves requests with `handler` for ever (or until the settings turn out
    /// unusable).
    pub fn run(
        self,
        handler: impl FnMut(Vec<Bytes>) -> Vec<Bytes> + Send + 'static,
    ) -> Result<(), WorkerError> {
        self.run_until(handler, std::future::pending())
    }

    /// Serves requests with `handler` until `shutdown` completes.
    pub fn run_until(
        self,
        handler: impl FnMut(Vec<Bytes>) -> Vec<Bytes> + Send + 'static,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), WorkerError> {
        let handler = Arc::new(Mutex::new(handler));
        let handler = move |request: Request| {
            let handler = Arc::clone(&handler);
            async move {
                let answer = tokio::task::spawn_blocking(move || {
                    let mut handler = handler.lock().unwrap_or_else(|e| e.into_inner());
                    handler(request.body)
                })
                .await;
                match answer {
                    Ok(body) => body,
                    // Handled as an async handler's panic is (see Worker).
                    Err(error) => std::panic::resume_unwind(error.into_panic()),
                }
            }
        };
        crate::client::RUNTIME.block_on(self.worker.run(handler, shutdown))
    }
}
