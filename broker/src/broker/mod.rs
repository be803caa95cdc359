//! The Majordomo broker: MDP/0.1 ([RFC 7]) and MDP/0.2 ([RFC 18]) clients and
//! workers on one ROUTER socket, with MMI ([RFC 8]), heartbeats, bounded queues,
//! a policy hook and counters.
//!
//! The broker is in four parts, each in its own file:
//!
//! - [`state`]: [`BrokerState`], the state machine (services, workers, queues,
//!   heartbeats), with no socket and no clock: messages and time in, messages
//!   out. Every protocol rule lives there, with the list of them.
//! - `server`: the socket loop that drives it: one ROUTER, batches in, batches
//!   out, a timer at the state's next deadline.
//! - [`policy`]: the [`Policy`] hook called on every request and reply, and
//!   [`TokenAuth`], token checks at the broker.
//! - [`stats`]: [`Stats`], the counters, readable in-process through
//!   [`BrokerHandle::stats`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use purezmq::{Message, Socket, SocketType};
//! use purezmq_broker::broker::{Broker, BrokerConfig};
//!
//! let broker = Broker::new(BrokerConfig::default())
//!     .bind("tcp://127.0.0.1:*")
//!     .spawn()?;
//! let endpoint = broker.endpoints()[0].clone();
//!
//! // A raw MDP/0.1 worker and client.
//! let worker = Socket::new(SocketType::Dealer);
//! worker.connect(&endpoint)?;
//! worker.send(Message::from_iter(["", "MDPW01", "\x01", "echo"])).await?;
//! let client = Socket::new(SocketType::Req);
//! client.connect(&endpoint)?;
//! client.send(Message::from_iter(["MDPC01", "echo", "hello"])).await?;
//!
//! let request = worker.recv().await?; // "", MDPW01, 0x02, client, "", "hello"
//! let address = request.frames()[3].clone();
//! let reply = ["".into(), "MDPW01".into(), "\x03".into(), address, "".into(), "hello".into()];
//! worker.send(Message::from_iter(reply)).await?;
//! let reply = client.recv().await?;
//! assert_eq!(reply.frames(), ["MDPC01", "echo", "hello"]);
//! broker.stop().await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Security
//!
//! CURVE, PLAIN and ZAP are the socket's business: give the broker
//! [`Options`] with a [`Security`](purezmq::Security) mechanism, and a ZAP handler
//! (an [`Authenticator`](purezmq::auth::Authenticator), say) through
//! [`Broker::zap_handler`]. `purezmq broker --curve --allow-keys DIR` does that.
//!
//! [RFC 7]: https://rfc.zeromq.org/spec/7/
//! [RFC 18]: https://rfc.zeromq.org/spec/18/
//! [RFC 8]: https://rfc.zeromq.org/spec/8/

pub mod policy;
mod server;
pub mod state;
pub mod stats;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};

use purezmq::zap::ZapHandler;
use purezmq::{Options, Socket, SocketType};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use policy::{ForwardAll, Policy, ReplyView, RequestView, TokenAuth, Verdict};
pub use state::{BrokerConfig, BrokerState};
pub use stats::{ServiceStats, Stats};

/// Why a broker could not start, or stopped.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The broker was given no endpoint to bind.
    #[error("the broker has no endpoint: call bind() with one, e.g. tcp://*:5555")]
    NoEndpoint,
    /// The socket options are not valid.
    #[error("the broker's socket options are not valid: {0}")]
    Options(purezmq::Error),
    /// An endpoint could not be bound.
    #[error("cannot bind the broker to {endpoint}: {source}")]
    Bind {
        /// The endpoint as given.
        endpoint: String,
        /// Why.
        source: purezmq::Error,
    },
    /// The socket failed while the broker ran.
    #[error("the broker's socket failed: {0}")]
    Socket(purezmq::Error),
    /// The broker's task panicked or was cancelled.
    #[error("the broker's task ended abnormally: {0}")]
    Task(String),
}

/// Installs a ZAP handler on the socket before it binds.
type ZapInstaller = Box<dyn FnOnce(&Socket) + Send>;

/// A Majordomo broker, being configured. [`spawn`](Broker::spawn) starts it.
pub struct Broker {
    config: BrokerConfig,
    endpoints: Vec<String>,
    options: Options,
    zap: Option<ZapInstaller>,
    policy: Box<dyn Policy>,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker")
            .field("config", &self.config)
            .field("endpoints", &self.endpoints)
            .finish_non_exhaustive()
    }
}

impl Broker {
    /// A broker with this configuration, libzmq's default socket options, and the
    /// policy that forwards everything.
    pub fn new(config: BrokerConfig) -> Broker {
        Broker {
            config,
            endpoints: Vec::new(),
            options: Options::default(),
            zap: None,
            policy: Box::new(ForwardAll),
        }
    }

    /// Adds an endpoint to bind (`tcp://*:5555`, `ipc:///tmp/mdp`,
    /// `inproc://broker`); call it once per endpoint.
    pub fn bind(mut self, endpoint: impl Into<String>) -> Broker {
        self.endpoints.push(endpoint.into());
        self
    }

    /// The ROUTER socket's options: HWMs, security (a CURVE server, say), ZAP
    /// domain. ROUTER_MANDATORY is always off: with it, one peer at its HWM would
    /// hold up the messages to every other peer; without it, messages for a peer
    /// at its HWM (or gone) are dropped and only that peer loses them.
    pub fn options(mut self, options: Options) -> Broker {
        self.options = options;
        self
    }

    /// Has `handler` decide which peers may connect (see [`purezmq::zap`]).
    pub fn zap_handler(mut self, handler: impl ZapHandler) -> Broker {
        self.zap = Some(Box::new(move |socket: &Socket| {
            socket.set_zap_handler(handler)
        }));
        self
    }

    /// Decides about every request and reply with `policy`.
    pub fn policy(mut self, policy: impl Policy) -> Broker {
        self.policy = Box::new(policy);
        self
    }

    /// Binds every endpoint and runs the broker until `shutdown` resolves (or its
    /// socket fails), then closes its socket. [`spawn`](Broker::spawn) does the same
    /// in the background and gives a handle to its counters.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), BrokerError> {
        let mut handle = self.spawn()?;
        tokio::select! {
            () = shutdown => handle.stop().await,
            finished = &mut handle.task => BrokerHandle::outcome(finished),
        }
    }

    /// Binds every endpoint and starts the broker on the current tokio runtime.
    pub fn spawn(self) -> Result<BrokerHandle, BrokerError> {
        if self.endpoints.is_empty() {
            return Err(BrokerError::NoEndpoint);
        }
        let mut options = self.options;
        options.router_mandatory = false;
        let socket =
            Socket::with_options(SocketType::Router, options).map_err(BrokerError::Options)?;
        if let Some(install) = self.zap {
            install(&socket);
        }
        let mut bound = Vec::with_capacity(self.endpoints.len());
        for endpoint in &self.endpoints {
            socket.bind(endpoint).map_err(|source| BrokerError::Bind {
                endpoint: endpoint.clone(),
                source,
            })?;
            bound.push(socket.last_endpoint());
        }
        let state = BrokerState::with_policy(self.config, self.policy);
        let stats = Arc::new(Mutex::new(state.stats()));
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(server::run(socket, state, Arc::clone(&stats), stopped));
        Ok(BrokerHandle {
            endpoints: bound,
            stats,
            stop,
            task,
        })
    }
}

/// A running broker. Dropping the handle stops it too.
#[derive(Debug)]
pub struct BrokerHandle {
    endpoints: Vec<String>,
    stats: Arc<Mutex<Stats>>,
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<(), purezmq::Error>>,
}

impl BrokerHandle {
    /// The endpoints bound, resolved: `tcp://127.0.0.1:41234` for
    /// `tcp://127.0.0.1:*`.
    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    /// The counters as the broker last published them (at most a few
    /// milliseconds old).
    pub fn stats(&self) -> Stats {
        self.stats.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Asks the broker to stop; it closes its socket. [`join`](BrokerHandle::join)
    /// waits for that.
    pub fn shutdown(&self) {
        let _ = self.stop.send(true);
    }

    /// Waits until the broker has stopped (after [`shutdown`](BrokerHandle::shutdown),
    /// or because its socket failed).
    pub async fn join(mut self) -> Result<(), BrokerError> {
        let finished = (&mut self.task).await;
        BrokerHandle::outcome(finished)
    }

    fn outcome(
        finished: Result<Result<(), purezmq::Error>, tokio::task::JoinError>,
    ) -> Result<(), BrokerError> {
        match finished {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(BrokerError::Socket(error)),
            Err(error) => Err(BrokerError::Task(error.to_string())),
        }
    }

    /// Stops the broker and waits until its socket has closed.
    pub async fn stop(self) -> Result<(), BrokerError> {
        self.shutdown();
        self.join().await
    }

    /// Whether the broker's loop has ended.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}
