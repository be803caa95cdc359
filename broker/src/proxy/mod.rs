//! Proxy devices: `zmq_proxy` and `zmq_proxy_steerable`.
//!
//! A [`Proxy`] moves messages between a frontend and a backend socket in both
//! directions where the socket types allow it: the shared queue (ROUTER frontend,
//! DEALER backend), the forwarder (XSUB and XPUB, subscriptions travelling
//! upstream), the streamer (PULL and PUSH), a bridge between transports (any of
//! these with tcp, ipc and inproc in any mix), or one socket as both ends (a REP
//! that echoes).
//!
//! Messages move in batches of up to 1000, as whole messages whose frames are
//! shared `Bytes`: nothing is copied. When the socket a batch goes to cannot take it
//! (its peers are at their high-water mark and its type waits rather than drops),
//! the proxy stops reading the other side until it can, so its memory stays
//! bounded whatever the peers do.
//!
//! A capture socket gets a copy of every message, frames and MORE flags as they
//! were, before it is forwarded; it never holds up the traffic: copies it cannot
//! take at once are dropped and counted in [`Statistics::capture_dropped`].
//!
//! A control socket steers the proxy as `zmq_proxy_steerable` does, with one-frame
//! commands:
//! - `PAUSE` stops moving messages (they wait in the sockets' queues);
//! - `RESUME` moves them again;
//! - `TERMINATE` ends [`Proxy::run`];
//! - `STATISTICS` answers eight frames of native-endian `u64` (see [`Statistics`]).
//!
//! A REP control socket gets an empty reply to PAUSE, RESUME and TERMINATE and
//! `ERROR unknown command` to anything else; other control types get only the
//! STATISTICS reply. (libzmq 4.3.5 replies on every type and has PAUSE and RESUME
//! the wrong way round; here PAUSE pauses.) A [`ProxyHandle`] does the same from
//! the program that runs the proxy.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use purezmq::{Socket, SocketType};
//! use purezmq_broker::proxy::Proxy;
//!
//! let frontend = Socket::new(SocketType::Pull);
//! frontend.bind("inproc://doc-in")?;
//! let backend = Socket::new(SocketType::Push);
//! backend.bind("inproc://doc-out")?;
//! let proxy = Proxy::new(frontend, backend);
//! let handle = proxy.handle();
//! let running = tokio::spawn(proxy.run());
//!
//! let producer = Socket::new(SocketType::Push);
//! producer.connect("inproc://doc-in")?;
//! let consumer = Socket::new(SocketType::Pull);
//! consumer.connect("inproc://doc-out")?;
//! producer.send("job").await?;
//! assert_eq!(consumer.recv().await?.frames(), ["job"]);
//!
//! handle.terminate();
//! running.await??;
//! assert_eq!(handle.statistics().frontend.messages_in, 1);
//! # Ok(())
//! # }
//! ```

mod control;
mod lane;
mod statistics;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use purezmq::{Socket, SocketType};
use tokio::sync::Notify;

use control::Command;
use lane::{BATCH, Lane};
use statistics::Published;
pub use statistics::{SideStatistics, Statistics};

/// Which of its sockets a proxy error concerns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The frontend socket.
    Frontend,
    /// The backend socket.
    Backend,
    /// The capture socket.
    Capture,
    /// The control socket.
    Control,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Frontend => "frontend",
            Role::Backend => "backend",
            Role::Capture => "capture socket",
            Role::Control => "control socket",
        })
    }
}

/// Why a proxy stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// One of the sockets failed; [`purezmq::Error::Closed`] if it was closed.
    #[error("the proxy's {role} failed: {source}")]
    Socket {
        /// Which socket.
        role: Role,
        /// What went wrong.
        source: purezmq::Error,
    },
    /// Neither direction can carry messages: each needs a socket that receives on
    /// one side and one that sends on the other.
    #[error(
        "a {frontend} frontend and a {backend} backend cannot carry messages either way; pair a receiving socket with a sending one (PULL with PUSH, XSUB with XPUB, ROUTER with DEALER)"
    )]
    Incompatible {
        /// The frontend's type.
        frontend: SocketType,
        /// The backend's type.
        backend: SocketType,
    },
    /// The capture or control socket is of a type that cannot do its job.
    #[error("a {socket_type} socket cannot be the proxy's {role}; use {use_instead}")]
    UnsuitableSocket {
        /// Capture or control.
        role: Role,
        /// Its type.
        socket_type: SocketType,
        /// The types that fit.
        use_instead: &'static str,
    },
}

const RUNNING: u8 = 0;
const PAUSED: u8 = 1;
const TERMINATED: u8 = 2;

/// What the proxy and its handles share.
#[derive(Default)]
struct Shared {
    state: AtomicU8,
    /// Woken when a handle changes `state`.
    wake: Notify,
    statistics: Published,
}

impl Shared {
    fn set(&self, state: u8) {
        // TERMINATE is final.
        let _ = self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
                (now != TERMINATED).then_some(state)
            });
        self.wake.notify_one();
    }
}

/// A proxy between a frontend and a backend socket, with optional capture and
/// control sockets; see the [module documentation](self).
pub struct Proxy {
    frontend: Socket,
    backend: Socket,
    capture: Option<Socket>,
    control: Option<Socket>,
    shared: Arc<Shared>,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("frontend", &self.frontend.socket_type())
            .field("backend", &self.backend.socket_type())
            .field("capture", &self.capture.as_ref().map(Socket::socket_type))
            .field("control", &self.control.as_ref().map(Socket::socket_type))
            .finish()
    }
}

/// Runs a plain proxy between `frontend` and `backend` until one of them fails:
/// `zmq_proxy` without capture.
pub async fn proxy(frontend: Socket, backend: Socket) -> Result<(), ProxyError> {
    Proxy::new(frontend, backend).run().await
}

impl Proxy {
    /// A proxy between these sockets. Pass clones of one socket to have it serve as
    /// both ends.
    pub fn new(frontend: Socket, backend: Socket) -> Proxy {
        Proxy {
            frontend,
            backend,
            capture: None,
            control: None,
            shared: Arc::default(),
        }
    }

    /// Copies every message to `capture` (PUB, XPUB, PUSH, DEALER or PAIR) before
    /// forwarding it.
    pub fn capture(mut self, capture: Socket) -> Proxy {
        self.capture = Some(capture);
        self
    }

    /// Takes PAUSE, RESUME, TERMINATE and STATISTICS commands on `control`.
    pub fn control(mut self, control: Socket) -> Proxy {
        self.control = Some(control);
        self
    }

    /// A handle to steer the proxy and read its counters while it runs.
    pub fn handle(&self) -> ProxyHandle {
        ProxyHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Moves messages until TERMINATE (from the control socket or a
    /// [`ProxyHandle`]), then returns `Ok`; or until one of the sockets fails, say
    /// because it was closed.
    pub async fn run(self) -> Result<(), ProxyError> {
        self.check()?;
        let Proxy {
            frontend,
            backend,
            capture,
            control,
            shared,
        } = self;
        let single = frontend.same_socket(&backend);
        let lane = |from: &Socket, from_role, to: &Socket, to_role| {
            (receives(from.socket_type()) && sends(to.socket_type()))
                .then(|| Lane::new((from.clone(), from_role), (to.clone(), to_role)))
        };
        let mut forward = lane(&frontend, Role::Frontend, &backend, Role::Backend);
        let mut backward = if single {
            None
        } else {
            lane(&backend, Role::Backend, &frontend, Role::Frontend)
        };
        if forward.is_none() && backward.is_none() {
            return Err(ProxyError::Incompatible {
                frontend: frontend.socket_type(),
                backend: backend.socket_type(),
            });
        }
        let capture = capture.as_ref();
        loop {
            let state = shared.state.load(Ordering::Acquire);
            if state == TERMINATED {
                return Ok(());
            }
            let running = state == RUNNING;
            let moved = tokio::select! {
                moved = step(&mut forward, capture), if running => moved?,
                moved = step(&mut backward, capture), if running => moved?,
                command = receive(control.as_ref()) => {
                    let command = command?;
                    let statistics = statistics(&forward, &backward);
                    steer(&shared, control.as_ref(), &command, &statistics);
                    0
                }
                () = shared.wake.notified() => 0,
            };
            shared.statistics.store(&statistics(&forward, &backward));
            if moved >= BATCH {
                // A full batch: more is likely waiting. Let the connections' tasks
                // (and the application, on a single-threaded runtime) have a turn.
                tokio::task::yield_now().await;
            }
        }
    }

    fn check(&self) -> Result<(), ProxyError> {
        if let Some(capture) = &self.capture
            && !sends(capture.socket_type())
        {
            return Err(ProxyError::UnsuitableSocket {
                role: Role::Capture,
                socket_type: capture.socket_type(),
                use_instead: "PUB, XPUB, PUSH, DEALER or PAIR",
            });
        }
        if let Some(control) = &self.control
            && !receives(control.socket_type())
        {
            return Err(ProxyError::UnsuitableSocket {
                role: Role::Control,
                socket_type: control.socket_type(),
                use_instead: "REP, PAIR, SUB, PULL or DEALER",
            });
        }
        Ok(())
    }
}

/// Whether sockets of this type receive messages.
fn receives(socket_type: SocketType) -> bool {
    !matches!(socket_type, SocketType::Push | SocketType::Pub)
}

/// Whether sockets of this type send messages.
fn sends(socket_type: SocketType) -> bool {
    !matches!(socket_type, SocketType::Pull | SocketType::Sub)
}

/// One batch on `lane`, or never if there is no such direction.
async fn step(lane: &mut Option<Lane>, capture: Option<&Socket>) -> Result<usize, ProxyError> {
    match lane {
        Some(lane) => lane.step(capture).await,
        None => std::future::pending().await,
    }
}

/// The next command on the control socket, or never if there is none.
async fn receive(control: Option<&Socket>) -> Result<Command, ProxyError> {
    let Some(control) = control else {
        return std::future::pending().await;
    };
    let message = control.recv().await.map_err(|source| ProxyError::Socket {
        role: Role::Control,
        source,
    })?;
    Ok(Command::parse(&message))
}

/// Carries out a control command and answers it.
fn steer(shared: &Shared, control: Option<&Socket>, command: &Command, statistics: &Statistics) {
    match command {
        Command::Pause => shared.set(PAUSED),
        Command::Resume => shared.set(RUNNING),
        Command::Terminate => shared.set(TERMINATED),
        Command::Statistics => {}
        Command::Unknown(what) => {
            tracing::warn!(
                "the proxy's control socket got {what:?}; it takes PAUSE, RESUME, TERMINATE and STATISTICS"
            );
        }
    }
    let Some(control) = control else { return };
    if let Some(reply) = command.reply(control.socket_type(), statistics)
        && let Err(e) = control.try_send(reply)
    {
        tracing::warn!("the proxy could not answer on its control socket: {e}");
    }
}

/// The counters from both directions, as libzmq arranges them by socket.
fn statistics(forward: &Option<Lane>, backward: &Option<Lane>) -> Statistics {
    let mut statistics = Statistics::default();
    if let Some(lane) = forward {
        statistics.frontend.messages_in = lane.received.frames;
        statistics.frontend.bytes_in = lane.received.bytes;
        statistics.backend.messages_out = lane.sent.frames;
        statistics.backend.bytes_out = lane.sent.bytes;
        statistics.capture_dropped += lane.capture_dropped;
    }
    if let Some(lane) = backward {
        statistics.backend.messages_in = lane.received.frames;
        statistics.backend.bytes_in = lane.received.bytes;
        statistics.frontend.messages_out = lane.sent.frames;
        statistics.frontend.bytes_out = lane.sent.bytes;
        statistics.capture_dropped += lane.capture_dropped;
    }
    statistics
}

/// Steers a running [`Proxy`] and reads its counters; cheap to clone.
#[derive(Clone)]
pub struct ProxyHandle {
    shared: Arc<Shared>,
}

impl fmt::Debug for ProxyHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyHandle")
            .field("state", &self.shared.state.load(Ordering::Relaxed))
            .finish()
    }
}

impl ProxyHandle {
    /// Stops moving messages until [`resume`](ProxyHandle::resume), as PAUSE.
    pub fn pause(&self) {
        self.shared.set(PAUSED);
    }

    /// Moves messages again, as RESUME.
    pub fn resume(&self) {
        self.shared.set(RUNNING);
    }

    /// Ends the proxy, as TERMINATE: [`Proxy::run`] returns `Ok`.
    pub fn terminate(&self) {
        self.shared.set(TERMINATED);
    }

    /// Whether the proxy is paused.
    pub fn is_paused(&self) -> bool {
        self.shared.state.load(Ordering::Acquire) == PAUSED
    }

    /// The counters as of the last batch moved.
    pub fn statistics(&self) -> Statistics {
        self.shared.statistics.load()
    }
}
