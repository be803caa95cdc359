//! The stacks `compare` runs and the roles each plays in a worker process.
//!
//! Every stack implements [`Roles`], one method per end of a case (the PULL that
//! binds and times, the PUSH that connects and sends, ...), each set up the stack's
//! natural way: a tokio runtime for the Rust stacks (see [`Flavor`]; each is measured
//! on both kinds, a [`Contender`] each), a context with its default single I/O
//! thread for libzmq. The worker ([`super::worker`]) picks the
//! stack and the role from its arguments and reports what the role returns.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

pub mod libzmq;
pub mod omq;
pub mod purezmq;
pub mod raw;
pub mod rzmq;
pub mod zmqrs;

/// A ZeroMQ implementation, or the raw-socket baseline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stack {
    /// This workspace.
    Purezmq,
    /// libzmq 4.3.4 as the `zmq` crate builds it (vendored, no CURVE).
    Libzmq,
    /// libzmq 4.3.5 as pyzmq's wheel ships it (with libsodium), loaded at run time.
    LibzmqPyzmq,
    /// zmq.rs, the `zeromq` crate.
    ZmqRs,
    /// omq, the `omq-tokio` crate.
    Omq,
    /// rzmq, the `rzmq` crate, on its plain tokio path (no io_uring).
    Rzmq,
    /// The same ZMTP frames over plain tokio sockets: the limit for any stack.
    Raw,
    /// majortomo (PyPI), an MDP/0.2 broker in Python over pyzmq: the broker cases only.
    Majortomo,
    /// The guide's Python `mdbroker.py` (MDP/0.1) over pyzmq, from a zguide checkout
    /// named by `$ZGUIDE_PYTHON`: the broker cases only.
    ZguidePy,
}

impl Stack {
    /// Every stack, in report order.
    pub const ALL: [Stack; 9] = [
        Stack::Purezmq,
        Stack::Libzmq,
        Stack::LibzmqPyzmq,
        Stack::ZmqRs,
        Stack::Omq,
        Stack::Rzmq,
        Stack::Raw,
        Stack::Majortomo,
        Stack::ZguidePy,
    ];

    /// The short name used on command lines and in tables.
    pub fn key(self) -> &'static str {
        match self {
            Stack::Purezmq => "purezmq",
            Stack::Libzmq => "libzmq",
            Stack::LibzmqPyzmq => "libzmq-pyzmq",
            Stack::ZmqRs => "zmq.rs",
            Stack::Omq => "omq",
            Stack::Rzmq => "rzmq",
            Stack::Raw => "raw",
            Stack::Majortomo => "majortomo",
            Stack::ZguidePy => "zguide-py",
        }
    }

    /// The stack named `key`.
    pub fn parse(key: &str) -> Option<Stack> {
        Stack::ALL.into_iter().find(|stack| stack.key() == key)
    }

    /// A peer purezmq is compared against (not purezmq, not the baseline).
    pub fn is_peer(self) -> bool {
        !matches!(self, Stack::Purezmq | Stack::Raw)
    }

    /// One of the two libzmq builds.
    pub fn is_libzmq(self) -> bool {
        matches!(self, Stack::Libzmq | Stack::LibzmqPyzmq)
    }

    /// A stack written over tokio, measured on each [`Flavor`] of runtime (libzmq
    /// and the Python brokers run their own threads).
    pub fn on_tokio(self) -> bool {
        matches!(
            self,
            Stack::Purezmq | Stack::ZmqRs | Stack::Omq | Stack::Rzmq | Stack::Raw
        )
    }

    /// A ZeroMQ implementation (or the raw baseline), as opposed to a Python
    /// Majordomo broker that takes part in the broker cases only.
    pub fn is_zmtp(self) -> bool {
        !matches!(self, Stack::Majortomo | Stack::ZguidePy)
    }
}

impl fmt::Display for Stack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// How the two ends of a case are connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Transport {
    /// TCP over the loopback interface.
    Tcp,
    /// A Unix domain socket.
    Ipc,
    /// Within one process.
    Inproc,
}

impl Transport {
    /// The name in endpoints and case names.
    pub fn key(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Ipc => "ipc",
            Transport::Inproc => "inproc",
        }
    }

    /// The transport named `key`.
    pub fn parse(key: &str) -> Option<Transport> {
        [Transport::Tcp, Transport::Ipc, Transport::Inproc]
            .into_iter()
            .find(|t| t.key() == key)
    }
}

/// The request-reply pair of a latency case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Pattern {
    /// REQ sends, REP echoes.
    ReqRep,
    /// DEALER sends, ROUTER echoes with the routing id.
    DealerRouter,
}

impl Pattern {
    /// The name in case names.
    pub fn key(self) -> &'static str {
        match self {
            Pattern::ReqRep => "req-rep",
            Pattern::DealerRouter => "dealer-router",
        }
    }

    /// The pattern named `key`.
    pub fn parse(key: &str) -> Option<Pattern> {
        [Pattern::ReqRep, Pattern::DealerRouter]
            .into_iter()
            .find(|p| p.key() == key)
    }
}

/// What a proxy forwards between, in the proxy cases.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Device {
    /// PUSH → proxy (PULL frontend, PUSH backend) → PULL: a streamer.
    Streamer,
    /// PUB → proxy (XSUB frontend, XPUB backend) → SUB: a forwarder.
    Forwarder,
}

impl Device {
    /// The name in case names and worker arguments.
    pub fn key(self) -> &'static str {
        match self {
            Device::Streamer => "push-pull",
            Device::Forwarder => "pub-sub",
        }
    }

    /// The device named `key`.
    pub fn parse(key: &str) -> Option<Device> {
        [Device::Streamer, Device::Forwarder]
            .into_iter()
            .find(|d| d.key() == key)
    }
}

/// What sits between the clients and the workers in the broker cases.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Broker {
    /// A Majordomo broker (MDP/0.1 or 0.2): one ROUTER for clients and workers,
    /// requests routed by service name to the least recently used idle worker.
    Majordomo,
    /// A plain queue: a proxy between a ROUTER frontend (the clients) and a DEALER
    /// backend (the workers), round robin, no protocol: the limit for any broker.
    Queue,
    /// A load-balancing queue (the guide's load-balancing broker): a ROUTER
    /// frontend and a ROUTER backend, each worker given one request at a time, the
    /// least recently used idle worker first, no protocol: the limit for a broker
    /// that, like every Majordomo broker, never gives a worker a second request
    /// before its reply.
    LoadBalancer,
}

impl Broker {
    /// The name in case names and worker arguments.
    pub fn key(self) -> &'static str {
        match self {
            Broker::Majordomo => "mdp",
            Broker::Queue => "queue",
            Broker::LoadBalancer => "lb-queue",
        }
    }

    /// The broker named `key`.
    pub fn parse(key: &str) -> Option<Broker> {
        [Broker::Majordomo, Broker::Queue, Broker::LoadBalancer]
            .into_iter()
            .find(|b| b.key() == key)
    }
}

/// Where a binding role listens: each stack spells the endpoint its own way.
#[derive(Clone, Debug)]
pub enum Bind {
    /// The loopback interface, a port the OS picks.
    Tcp,
    /// A Unix domain socket at this path.
    Ipc(PathBuf),
}

impl Bind {
    /// The endpoint for stacks that take libzmq's `*` for "any port".
    pub fn zmq_endpoint(&self) -> String {
        match self {
            Bind::Tcp => "tcp://127.0.0.1:*".to_owned(),
            Bind::Ipc(path) => format!("ipc://{}", path.display()),
        }
    }

    /// The endpoint for stacks that take port 0 for "any port".
    pub fn port_zero_endpoint(&self) -> String {
        match self {
            Bind::Tcp => "tcp://127.0.0.1:0".to_owned(),
            Bind::Ipc(path) => format!("ipc://{}", path.display()),
        }
    }
}

/// What a binding role announces once peers can connect: the endpoint, and for a
/// CURVE server its public key in Z85.
pub type Ready<'a> = &'a mut dyn FnMut(&str, Option<&str>);

/// What a broker announces once peers can connect: the endpoint the clients connect
/// to and, where the workers have one of their own (a queue's backend), theirs.
pub type BrokerReady<'a> = &'a mut dyn FnMut(&str, Option<&str>);

/// What one SUB saw of a fan-out run.
#[derive(Clone, Copy, Debug, Default)]
pub struct SubReport {
    /// Data messages received (every one published, unless the PUB dropped some).
    pub received: usize,
    /// `CLOCK_MONOTONIC` when the first data message arrived, in nanoseconds.
    pub first_ns: u64,
    /// `CLOCK_MONOTONIC` when the last data message arrived, in nanoseconds.
    pub last_ns: u64,
}

/// A publisher's warm-up message (sent until the orchestrator says `GO`, so it knows
/// every SUB's subscription has arrived) and its end marker (sent after the data, so
/// a SUB that lost messages still stops). Data messages are at least 2 bytes long.
pub const WARM_UP: &[u8] = b"W";
/// See [`WARM_UP`].
pub const END: &[u8] = b"E";

/// The message each idle peer sends once connected, and the ROUTER's answer.
pub const HELLO: &[u8] = b"hello";
/// See [`HELLO`].
pub const BYE: &[u8] = b"bye";

/// The ends of every case, as one stack plays them. A stack that cannot play a role
/// returns `Err` with the reason.
pub trait Roles {
    /// Binds a PULL (a CURVE server if `curve`), announces it, receives `count`
    /// messages of `size` bytes and returns the time from the first to the last.
    fn pull(
        &self,
        bind: &Bind,
        size: usize,
        count: usize,
        curve: bool,
        ready: Ready,
    ) -> Result<Duration, String>;

    /// Connects a PUSH (a CURVE client of `server_key` if given), sends `count`
    /// messages of `size` bytes, and closes on `STOP` (which comes once the PULL has
    /// them all). Each send hands the stack a fresh copy of the payload, as
    /// `zmq_send` makes one, so no stack gains by sending one buffer over and over.
    fn push(
        &self,
        endpoint: &str,
        size: usize,
        count: usize,
        server_key: Option<&str>,
    ) -> Result<(), String>;

    /// PUSH to PULL over inproc in this process: the time from the first message
    /// received to the last.
    fn inproc(&self, size: usize, count: usize) -> Result<Duration, String>;

    /// Binds a PUB that blocks rather than drops (XPUB_NODROP) and announces it,
    /// sends [`WARM_UP`] until `GO`, then `count` messages of `size` bytes, then
    /// [`END`] until `STOP`.
    fn publish(&self, bind: &Bind, size: usize, count: usize, ready: Ready) -> Result<(), String>;

    /// Connects a SUB to everything, calls `subscribed` on the first [`WARM_UP`], and
    /// receives until `count` data messages or [`END`].
    fn subscribe(
        &self,
        endpoint: &str,
        size: usize,
        count: usize,
        subscribed: &mut dyn FnMut(),
    ) -> Result<SubReport, String>;

    /// Binds the echoing end of `pattern` and announces it; echoes until an empty
    /// request, which it echoes too. Returns the requests echoed.
    fn echo(&self, pattern: Pattern, bind: &Bind, ready: Ready) -> Result<u64, String>;

    /// Connects the requesting end of `pattern`; `warmup` round trips, then round
    /// trips of `size` bytes for `duration`, then an empty request that ends the echo.
    /// Returns each measured round trip in nanoseconds.
    fn ping(
        &self,
        pattern: Pattern,
        endpoint: &str,
        size: usize,
        warmup: usize,
        duration: Duration,
    ) -> Result<Vec<u64>, String>;

    /// Binds a ROUTER and announces it; receives [`HELLO`] from up to `expect` peers
    /// until `deadline`, calls `connected` with how many, answers each with [`BYE`]
    /// and holds the connections until `STOP`.
    fn idle_router(
        &self,
        bind: &Bind,
        expect: usize,
        deadline: Duration,
        ready: Ready,
        connected: &mut dyn FnMut(usize),
    ) -> Result<(), String>;

    /// Runs the stack's own proxy (its library's, never one written here) over tcp,
    /// with libzmq's default HWMs, and announces the endpoint it binds; forwards
    /// until `STOP`. As a [`Device::Streamer`] a PULL frontend binds and a PUSH
    /// backend connects to `endpoint` (the receiving PULL); as a
    /// [`Device::Forwarder`] an XSUB frontend connects to `endpoint` (the PUB) and
    /// an XPUB backend with XPUB_NODROP binds, so that back-pressure reaches the
    /// publisher instead of dropping. A stack without a proxy for the pair says so.
    fn proxy(&self, device: Device, endpoint: &str, ready: Ready) -> Result<(), String>;

    /// Runs the stack's own `broker` over tcp until `STOP`, announcing the endpoint
    /// the clients connect to and, for a queue, the backend the workers connect
    /// to. A queue binds a ROUTER frontend and a DEALER backend and runs the
    /// library's proxy between them; a load-balancing queue binds two ROUTERs; a
    /// Majordomo broker binds one ROUTER for both. A stack without such a broker
    /// says so.
    fn broker(&self, broker: Broker, ready: BrokerReady) -> Result<(), String>;
}

/// The [`Roles`] of `stack`.
pub fn roles(stack: Stack) -> Box<dyn Roles> {
    match stack {
        Stack::Purezmq => Box::new(purezmq::Purezmq),
        Stack::Libzmq => Box::new(libzmq::Libzmq::new(libzmq::vendored::Vendored::new)),
        Stack::LibzmqPyzmq => {
            Box::new(libzmq::Libzmq::new(libzmq::dynamic::Dynamic::new).with_pyzmq_proxy())
        }
        Stack::ZmqRs => Box::new(zmqrs::ZmqRs),
        Stack::Omq => Box::new(omq::Omq),
        Stack::Rzmq => Box::new(rzmq::Rzmq),
        Stack::Raw => Box::new(raw::Raw),
        Stack::Majortomo | Stack::ZguidePy => {
            Box::new(crate::compare::mdbrokers::PythonBroker(stack))
        }
    }
}

/// The environment variable that tells a worker which tokio runtime to use.
pub const RUNTIME_ENV: &str = "PUREZMQ_COMPARE_RUNTIME";

/// The tokio runtime a Rust stack (purezmq, zmq.rs, omq, rzmq and the raw baseline
/// alike) runs on in a worker process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Flavor {
    /// One thread per process: the application and the sockets' tasks share it.
    CurrentThread,
    /// A worker per CPU, the application on the thread that called `block_on`.
    MultiThread,
}

impl Flavor {
    /// Both, in report order.
    pub const ALL: [Flavor; 2] = [Flavor::CurrentThread, Flavor::MultiThread];

    /// The flavor named `name` (`current` or `multi`).
    pub fn parse(name: &str) -> Option<Flavor> {
        match name {
            "current" | "current-thread" => Some(Flavor::CurrentThread),
            "multi" | "multi-thread" => Some(Flavor::MultiThread),
            _ => None,
        }
    }

    /// The name [`parse`](Self::parse) takes, and the tables show.
    pub fn name(self) -> &'static str {
        match self {
            Flavor::CurrentThread => "current",
            Flavor::MultiThread => "multi",
        }
    }

    /// What a worker was told to use (current-thread when not told).
    pub fn from_env() -> Flavor {
        std::env::var(RUNTIME_ENV)
            .ok()
            .and_then(|name| Flavor::parse(&name))
            .unwrap_or(Flavor::CurrentThread)
    }
}

/// One column of the comparison: a stack, and for a Rust stack the tokio runtime
/// it ran on (`None` for libzmq and the Python brokers, which have none).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Contender {
    /// The stack.
    pub stack: Stack,
    /// Its runtime, for a stack [on tokio](Stack::on_tokio).
    pub runtime: Option<Flavor>,
}

impl Contender {
    /// `stack` on each of `runtimes` if it runs on tokio, else once.
    pub fn all_of(stack: Stack, runtimes: &[Flavor]) -> Vec<Contender> {
        if stack.on_tokio() {
            runtimes
                .iter()
                .map(|&runtime| Contender {
                    stack,
                    runtime: Some(runtime),
                })
                .collect()
        } else {
            vec![Contender {
                stack,
                runtime: None,
            }]
        }
    }

    /// What the tables' runtime column says.
    pub fn runtime_name(self) -> &'static str {
        self.runtime.map_or("own threads", Flavor::name)
    }
}

impl fmt::Display for Contender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.runtime {
            Some(runtime) => write!(f, "{}/{}", self.stack, runtime.name()),
            None => write!(f, "{}", self.stack),
        }
    }
}

/// The tokio runtime for a role, as the orchestrator chose it for the run
/// ([`RUNTIME_ENV`]).
pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    build(Flavor::from_env())
}

fn build(flavor: Flavor) -> Result<tokio::runtime::Runtime, String> {
    let mut builder = match flavor {
        Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread(),
        Flavor::MultiThread => tokio::runtime::Builder::new_multi_thread(),
    };
    builder
        .enable_all()
        .build()
        .map_err(|e| format!("could not start a tokio runtime: {e}"))
}

/// A ROUTER waiting for idle peers stops once none has arrived for this long after
/// the first (a stack that drops connections would otherwise wait out the deadline).
pub const QUIET: Duration = Duration::from_secs(3);

/// When a wait for the next idle peer ends: at `deadline`, or [`QUIET`] after the
/// last peer arrived.
pub fn next_peer_deadline(
    deadline: tokio::time::Instant,
    last_peer: Option<tokio::time::Instant>,
) -> tokio::time::Instant {
    match last_peer {
        Some(last) => deadline.min(last + QUIET),
        None => deadline,
    }
}

/// How often a publisher repeats its warm-up message or end marker.
pub const MARKER_INTERVAL: Duration = Duration::from_millis(2);

/// Checks a received message's size.
pub fn check_size(got: usize, want: usize) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!(
            "received a {got}-byte message, expected {want} bytes"
        ))
    }
}
