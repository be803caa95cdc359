//! Security on sockets, purezmq against libzmq 4.3.5 (pyzmq, in its own process,
//! `python/security_peer.py`):
//!
//! * **CURVE traffic**: REQ/REP, DEALER/ROUTER, PUB or XPUB with SUB or XSUB, and
//!   PUSH/PULL, with purezmq as either socket type, as CURVE client or server,
//!   binding or connecting. Each moves a sequence ([`sequence`]: 100 messages
//!   checked for content and order, a multipart message with empty frames, a 256 KiB
//!   frame and a message with frames of 0, 255, 256 bytes and 256 KiB). Between
//!   publishers and subscribers the subscription travels inside the box and filters
//!   (an unsubscribed topic is interleaved and never arrives); an XPUB sees the
//!   subscription message itself.
//! * **CURVE heartbeats**: PUB/SUB with ZMQ_HEARTBEAT_IVL on both sides, or on the
//!   pyzmq side alone (purezmq must answer its encrypted PINGs), idling for longer
//!   than the timeout between two rounds of the sequence (with a 16 KiB large frame):
//!   neither side drops the connection, and no PING is delivered as a message.
//! * **ZAP**: a purezmq server's handler admits or refuses a pyzmq client (CURVE key,
//!   PLAIN password, IP address under NULL), pyzmq's ThreadAuthenticator admits or
//!   refuses purezmq (CURVE keys, any key, PLAIN passwords, allowed and denied IP
//!   addresses), and purezmq's own `auth::Authenticator` decides as pyzmq's does
//!   (one key, any key, keys from a directory pyzmq wrote, allowed and denied
//!   addresses, PLAIN passwords). A refusal delivers nothing, and both sides'
//!   monitors report HANDSHAKE_FAILED_AUTH with status 400.
//! * **Certificates**: written by pyzmq's `zmq.auth.create_certificates` and loaded
//!   with [`Certificate::load`], or written by [`Certificate::save`] and loaded by
//!   `zmq.auth.load_certificate` and a ThreadAuthenticator's key directory; either
//!   way used on sockets that talk.
//!
//! Cases run in parallel, each on its own thread and tokio runtime, so that reading
//! the peer's output may block. Every test prints a line per case; set
//! `PUREZMQ_SECURITY_FILTER` to a part of those lines to run only those cases.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use purezmq::auth::{ANY_DOMAIN, Authenticator, CurveKeys};
use purezmq::curve::{Certificate, KeyPair, PublicKey};
use purezmq::monitor::{EventKind, Monitor};
use purezmq::zap::{AuthReply, MechanismName, ZapRequest};
use purezmq::{Message, Options, Security, Socket, SocketType};
use purezmq_interop_tests::{NoLine, PyPeer};

/// How long one receive, send or line from the peer may take.
const STEP: Duration = Duration::from_secs(30);
/// How long a test watches for something that must not happen.
const QUIET: Duration = Duration::from_millis(500);
/// One-frame messages at the head of the sequence.
const COUNT: usize = 100;
/// The large frame of the sequence.
const LARGE: usize = 256 * 1024;
/// Small frames of the sequence, around ZMTP's short/long frame boundary.
const SMALL_SIZES: [usize; 3] = [0, 255, 256];
/// Messages in flight when a DEALER drives an echo.
const WINDOW: usize = 16;
/// Heartbeats: a PING every interval; a peer silent for the timeout after one is
/// dropped. The idle time between rounds is over twice the timeout.
const HEARTBEAT_IVL: Duration = Duration::from_millis(100);
const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(3);
const HEARTBEAT_IDLE: Duration = Duration::from_millis(7000);
/// The large frame of the heartbeat runs, which are about idling: small enough that
/// a loaded machine moves it well within the heartbeat timeout.
const HEARTBEAT_LARGE: usize = 16 * 1024;
/// Cases run at the same time by one test, and by the heartbeat test, whose cases
/// mostly idle.
const PARALLEL: usize = 6;
const HEARTBEAT_PARALLEL: usize = 16;

type Outcome = Result<(), String>;

// ---- the sequence ----

/// `size` bytes whose byte i is i mod 256, as `payload` in security_peer.py.
fn payload(size: usize) -> Bytes {
    (0..size).map(|i| i as u8).collect::<Vec<u8>>().into()
}

/// The test sequence of `count` one-frame messages and the rest, with `large` bytes
/// in the large frame, as `sequence` in security_peer.py builds it.
fn sequence(count: usize, large: usize) -> Vec<Vec<Bytes>> {
    let mut messages: Vec<Vec<Bytes>> = (0..count)
        .map(|i| vec![Bytes::from(format!("message {i}"))])
        .collect();
    messages.push(
        ["", "multi", "", "", "part", ""]
            .map(|f| Bytes::from_static(f.as_bytes()))
            .to_vec(),
    );
    messages.push(vec![payload(large)]);
    let mut sizes = SMALL_SIZES.to_vec();
    sizes.push(large);
    messages.push(sizes.into_iter().map(payload).collect());
    messages
}

fn frames(parts: &[&'static str]) -> Vec<Bytes> {
    parts
        .iter()
        .map(|p| Bytes::from_static(p.as_bytes()))
        .collect()
}

fn with_topic(message: &[Bytes]) -> Vec<Bytes> {
    let mut framed = frames(&["T"]);
    framed.extend_from_slice(message);
    framed
}

/// A short description of a message for failures.
fn describe(frames: &[Bytes]) -> String {
    let shown: Vec<String> = frames
        .iter()
        .take(6)
        .map(|f| {
            if f.len() <= 24 {
                format!("{f:?}")
            } else {
                format!("<{} bytes>", f.len())
            }
        })
        .collect();
    let more = if frames.len() > 6 { ", ..." } else { "" };
    format!("[{}{more}]", shown.join(", "))
}

fn expect(got: &[Bytes], want: &[Bytes], what: impl fmt::Display) -> Outcome {
    if got == want {
        Ok(())
    } else {
        Err(format!(
            "{what}: expected {}, got {}",
            describe(want),
            describe(got)
        ))
    }
}

// ---- the purezmq side ----

fn options(security: Security) -> Options {
    Options {
        linger: Some(Duration::ZERO),
        security,
        ..Options::default()
    }
}

fn socket(socket_type: SocketType, options: Options) -> Result<Socket, String> {
    Socket::with_options(socket_type, options).map_err(|e| format!("creating the socket: {e}"))
}

async fn send(socket: &Socket, message: Vec<Bytes>, what: impl fmt::Display) -> Outcome {
    match tokio::time::timeout(STEP, socket.send(Message::from(message))).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("{what}: {e}")),
        Err(_) => Err(format!("{what}: blocked for {STEP:?}")),
    }
}

async fn recv(socket: &Socket, what: impl fmt::Display) -> Result<Vec<Bytes>, String> {
    match tokio::time::timeout(STEP, socket.recv()).await {
        Ok(Ok(message)) => Ok(message.into_frames()),
        Ok(Err(e)) => Err(format!("{what}: {e}")),
        Err(_) => Err(format!("{what}: nothing within {STEP:?}")),
    }
}

/// Fails if a message arrives within [`QUIET`].
async fn nothing_arrives(socket: &Socket, what: &str) -> Outcome {
    match tokio::time::timeout(QUIET, socket.recv()).await {
        Err(_) => Ok(()),
        Ok(Ok(message)) => Err(format!(
            "{what}: {} arrived",
            describe(&message.into_frames())
        )),
        Ok(Err(e)) => Err(format!("{what}: receiving failed: {e}")),
    }
}

/// The purezmq socket's monitor events, kept as they are read.
struct Events {
    monitor: Monitor,
    seen: Vec<EventKind>,
}

impl Events {
    fn of(socket: &Socket) -> Events {
        Events {
            monitor: socket.monitor(),
            seen: Vec::new(),
        }
    }

    /// Reads events until one matches, within [`STEP`].
    async fn wait_for(&mut self, what: &str, wanted: impl Fn(&EventKind) -> bool) -> Outcome {
        let deadline = tokio::time::Instant::now() + STEP;
        loop {
            match tokio::time::timeout_at(deadline, self.monitor.recv()).await {
                Ok(Some(event)) => {
                    let found = wanted(&event.kind);
                    self.seen.push(event.kind);
                    if found {
                        return Ok(());
                    }
                }
                Ok(None) => return Err(format!("the monitor ended before {what}")),
                Err(_) => {
                    return Err(format!(
                        "no {what} event within {STEP:?}; events: {}",
                        self.list()
                    ));
                }
            }
        }
    }

    async fn handshake_succeeded(&mut self) -> Outcome {
        self.wait_for("HANDSHAKE_SUCCEEDED", |e| {
            *e == EventKind::HandshakeSucceeded
        })
        .await
    }

    /// Waits for HANDSHAKE_FAILED_AUTH with status 400 (a handshake that succeeds
    /// instead fails at once).
    async fn refused_with_400(&mut self) -> Outcome {
        self.wait_for("HANDSHAKE_FAILED_AUTH", |e| {
            matches!(
                e,
                EventKind::HandshakeFailedAuth { .. } | EventKind::HandshakeSucceeded
            )
        })
        .await?;
        match self.seen.last() {
            Some(EventKind::HandshakeFailedAuth {
                status_code: 400, ..
            }) => Ok(()),
            other => Err(format!("expected HANDSHAKE_FAILED_AUTH 400, got {other:?}")),
        }
    }

    /// Fails if a connection was dropped (events already emitted).
    async fn no_drop(&mut self) -> Outcome {
        while let Ok(Some(event)) = tokio::time::timeout(Duration::ZERO, self.monitor.recv()).await
        {
            self.seen.push(event.kind);
        }
        if self
            .seen
            .iter()
            .any(|e| matches!(e, EventKind::Disconnected | EventKind::ProtocolError(_)))
        {
            return Err(format!("purezmq dropped the connection: {}", self.list()));
        }
        Ok(())
    }

    fn list(&self) -> String {
        let names: Vec<String> = self.seen.iter().map(ToString::to_string).collect();
        names.join(", ")
    }
}

/// The ZAP requests a handler was asked, in order.
type Requests = Arc<Mutex<Vec<ZapRequest>>>;

/// Installs a ZAP handler on `socket` that answers with `decide` and records every
/// request.
fn zap_handler(
    socket: &Socket,
    decide: impl Fn(&ZapRequest) -> AuthReply + Send + Sync + 'static,
) -> Requests {
    let requests: Requests = Arc::default();
    let recorded = Arc::clone(&requests);
    socket.set_zap_handler(move |request: ZapRequest| {
        let reply = decide(&request);
        recorded.lock().unwrap().push(request);
        async move { reply }
    });
    requests
}

/// Admits CURVE clients whose public key is `allowed`; refuses others with 400.
fn allow_key(allowed: PublicKey) -> impl Fn(&ZapRequest) -> AuthReply + Send + Sync + 'static {
    move |request| match request.credentials.first() {
        Some(key)
            if request.mechanism == MechanismName::CURVE && key[..] == allowed.as_bytes()[..] =>
        {
            AuthReply::accept("allowed")
        }
        _ => AuthReply::deny(400, "unknown client key"),
    }
}

/// Checks that the handler was asked about CURVE key `key` from 127.0.0.1.
fn asked_about_key(requests: &Requests, key: &PublicKey) -> Outcome {
    let requests = requests.lock().unwrap();
    let Some(request) = requests.first() else {
        return Err("the ZAP handler was never asked".into());
    };
    if request.mechanism != MechanismName::CURVE
        || request.credentials != [Bytes::copy_from_slice(key.as_bytes())]
        || request.address != "127.0.0.1"
    {
        return Err(format!(
            "expected a CURVE request for {key} from 127.0.0.1, got {request:?}"
        ));
    }
    Ok(())
}

// ---- the pyzmq process ----

/// A running security_peer.py, with the lines it printed so far.
struct Peer {
    py: PyPeer,
    lines: Vec<String>,
}

impl Peer {
    /// Starts the peer and reads its "ready <endpoint>" line.
    fn start(args: &[String]) -> Result<(Peer, String), String> {
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut peer = Peer {
            py: PyPeer::spawn("security_peer.py", &argv),
            lines: Vec::new(),
        };
        let line = peer.next(STEP)?;
        let endpoint = line
            .strip_prefix("ready ")
            .ok_or_else(|| format!("expected \"ready <endpoint>\" from the peer, got {line:?}"))?
            .to_owned();
        Ok((peer, endpoint))
    }

    fn next(&mut self, timeout: Duration) -> Result<String, String> {
        let line = self
            .py
            .next_line(timeout)
            .map_err(|e| format!("{e}; it said: {}", self.lines.join(" / ")))?;
        self.lines.push(line.clone());
        Ok(line)
    }

    /// Reads lines until one is `want`, within [`STEP`]; a "fail" line ends the wait.
    fn expect_line(&mut self, want: &str) -> Outcome {
        let deadline = Instant::now() + STEP;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .next(left)
                .map_err(|e| format!("waiting for {want:?}: {e}"))?;
            if line == want {
                return Ok(());
            }
            if line.starts_with("fail") {
                return Err(format!(
                    "waiting for {want:?}, the pyzmq side says {line:?}"
                ));
            }
        }
    }

    /// Fails if the peer says `unwanted` within [`QUIET`], or said it already.
    fn never_says(&mut self, unwanted: &str) -> Outcome {
        let deadline = Instant::now() + QUIET;
        loop {
            if self.lines.iter().any(|l| l == unwanted) {
                return Err(format!(
                    "the pyzmq side said {unwanted:?}: {}",
                    self.lines.join(" / ")
                ));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.py.next_line(left) {
                Ok(line) => self.lines.push(line),
                Err(NoLine::Timeout(_)) => return Ok(()),
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    /// Fails if the peer reported a dropped connection (lines already printed).
    fn no_drop(&mut self) -> Outcome {
        while let Ok(line) = self.py.next_line(Duration::ZERO) {
            self.lines.push(line);
        }
        if self
            .lines
            .iter()
            .any(|l| l.starts_with("event DISCONNECTED"))
        {
            return Err(format!(
                "pyzmq dropped the connection: {}",
                self.lines.join(" / ")
            ));
        }
        Ok(())
    }

    /// Sends the process a signal (`USR1`).
    fn signal(&self, name: &str) -> Outcome {
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.py.pid().to_string())
            .status()
            .map_err(|e| format!("could not run kill: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("kill -{name} {} failed: {status}", self.py.pid()))
        }
    }
}

/// security_peer.py's command line.
struct Args(Vec<String>);

impl Args {
    fn new(socket_type: SocketType, mode: &str, endpoint: &str) -> Args {
        let scenario = match socket_type {
            SocketType::Req | SocketType::Dealer => "drive",
            SocketType::Rep | SocketType::Router => "echo",
            SocketType::Pub | SocketType::XPub | SocketType::Push => "send",
            _ => "recv",
        };
        let window = if socket_type == SocketType::Dealer {
            WINDOW
        } else {
            1
        };
        let mut args = Args(
            [socket_type.to_string(), mode.into(), endpoint.into()]
                .into_iter()
                .collect(),
        );
        args.0.push(scenario.into());
        args.flag("--window", window);
        args
    }

    fn flag(&mut self, name: &str, value: impl fmt::Display) -> &mut Args {
        self.0.push(name.into());
        self.0.push(value.to_string());
        self
    }

    fn extend(&mut self, more: &[String]) -> &mut Args {
        self.0.extend_from_slice(more);
        self
    }
}

/// Arguments for pyzmq as a CURVE client with `keys`, to the server `server`.
fn curve_client_args(keys: &KeyPair, server: &PublicKey) -> Vec<String> {
    vec![
        "--mechanism".into(),
        "curve-client".into(),
        // `=`: a Z85 key may start with '-'.
        format!("--secret={}", keys.secret().to_z85().as_str()),
        format!("--server-key={}", server.to_z85()),
    ]
}

/// Arguments for pyzmq as a CURVE server with `keys`.
fn curve_server_args(keys: &KeyPair) -> Vec<String> {
    vec![
        "--mechanism".into(),
        "curve-server".into(),
        format!("--secret={}", keys.secret().to_z85().as_str()),
    ]
}

fn strings(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|&p| p.to_owned()).collect()
}

// ---- running cases ----

/// A case: its description and its run.
type Case = (String, Box<dyn FnOnce() -> Outcome + Send>);

/// A case whose body runs on its own tokio runtime, on the thread that runs the case
/// (so it may block on the peer's output while the runtime's worker drives the
/// sockets).
fn case<F, Fut>(name: impl Into<String>, body: F) -> Case
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Outcome>,
{
    let run = move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| format!("starting a runtime: {e}"))?;
        runtime.block_on(body())
    };
    (name.into(), Box::new(run))
}

/// Runs the cases whose description contains `$PUREZMQ_SECURITY_FILTER`,
/// `parallel` at a time; prints a line per case and fails on any failure.
fn run(cases: Vec<Case>, parallel: usize) {
    let started = Instant::now();
    let filter = std::env::var("PUREZMQ_SECURITY_FILTER").unwrap_or_default();
    let queue: Mutex<VecDeque<(usize, Case)>> = Mutex::new(
        cases
            .into_iter()
            .filter(|(name, _)| name.contains(&filter))
            .enumerate()
            .collect(),
    );
    let results = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..parallel {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().unwrap().pop_front();
                    let Some((id, (name, body))) = next else {
                        break;
                    };
                    let start = Instant::now();
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body))
                        .unwrap_or_else(|panic| {
                            Err(panic
                                .downcast_ref::<String>()
                                .cloned()
                                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                                .unwrap_or_else(|| "the case panicked".into()))
                        });
                    results
                        .lock()
                        .unwrap()
                        .push((id, name, outcome, start.elapsed()));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|r| r.0);
    eprintln!("{} cases in {:.1?}", results.len(), started.elapsed());
    let mut failures = Vec::new();
    for (_, name, outcome, took) in &results {
        match outcome {
            Ok(()) => eprintln!("  pass  {name} ({took:.1?})"),
            Err(e) => {
                eprintln!("  FAIL  {name} ({took:.1?}): {e}");
                failures.push(format!("{name}: {e}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        results.len(),
        failures.join("\n")
    );
}

/// A directory for one case's certificates, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Result<TempDir, String> {
        let dir =
            std::env::temp_dir().join(format!("purezmq-security-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        Ok(TempDir(dir))
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn path(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---- CURVE traffic ----

/// Who sends heartbeats in a heartbeat case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Heartbeats {
    /// Both sides send PINGs.
    Both,
    /// Only pyzmq does: the connection stays up only if purezmq answers them.
    PyzmqOnly,
}

/// One CURVE traffic case.
#[derive(Clone, Copy, Debug)]
struct Traffic {
    /// purezmq's type; pyzmq has the other.
    rust: SocketType,
    python: SocketType,
    /// purezmq is the CURVE server (else the client).
    rust_is_server: bool,
    rust_binds: bool,
    heartbeats: Option<Heartbeats>,
    /// Bytes in the sequence's large frame.
    large: usize,
}

impl fmt::Display for Traffic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let role = |server| if server { "server" } else { "client" };
        let mode = |binds| if binds { "binds" } else { "connects" };
        write!(
            f,
            "purezmq {} CURVE {} {}, pyzmq {} CURVE {} {}",
            self.rust,
            role(self.rust_is_server),
            mode(self.rust_binds),
            self.python,
            role(!self.rust_is_server),
            mode(!self.rust_binds),
        )?;
        match self.heartbeats {
            Some(Heartbeats::Both) => f.write_str(", heartbeats on both sides"),
            Some(Heartbeats::PyzmqOnly) => f.write_str(", heartbeats from pyzmq only"),
            None => Ok(()),
        }
    }
}

/// The pairs CURVE traffic runs on.
const PAIRS: [(SocketType, SocketType); 7] = [
    (SocketType::Req, SocketType::Rep),
    (SocketType::Dealer, SocketType::Router),
    (SocketType::Pub, SocketType::Sub),
    (SocketType::Pub, SocketType::XSub),
    (SocketType::XPub, SocketType::Sub),
    (SocketType::XPub, SocketType::XSub),
    (SocketType::Push, SocketType::Pull),
];

fn is_pubsub(socket_type: SocketType) -> bool {
    matches!(
        socket_type,
        SocketType::Pub | SocketType::XPub | SocketType::Sub | SocketType::XSub
    )
}

/// Every assignment of types, CURVE roles and bind/connect to `pairs`.
fn traffic_cases(
    pairs: &[(SocketType, SocketType)],
    heartbeats: Option<Heartbeats>,
    large: usize,
) -> Vec<Traffic> {
    let mut cases = Vec::new();
    for &(a, b) in pairs {
        for (rust, python) in [(a, b), (b, a)] {
            for rust_is_server in [true, false] {
                for rust_binds in [true, false] {
                    cases.push(Traffic {
                        rust,
                        python,
                        rust_is_server,
                        rust_binds,
                        heartbeats,
                        large,
                    });
                }
            }
        }
    }
    cases
}

async fn curve_traffic(t: Traffic) -> Outcome {
    let server_keys = KeyPair::generate();
    let client_keys = KeyPair::generate();
    let mut rust_options = if t.rust_is_server {
        options(Security::CurveServer {
            keypair: server_keys.clone(),
        })
    } else {
        options(Security::CurveClient {
            keypair: client_keys.clone(),
            server_key: *server_keys.public(),
        })
    };
    let python_security = if t.rust_is_server {
        curve_client_args(&client_keys, server_keys.public())
    } else {
        curve_server_args(&server_keys)
    };
    if is_pubsub(t.rust) {
        // A publisher drops at the HWM; the sequence must arrive whole.
        rust_options.sndhwm = 0;
        rust_options.rcvhwm = 0;
    }
    if t.heartbeats == Some(Heartbeats::Both) {
        rust_options.heartbeat_ivl = Some(HEARTBEAT_IVL);
        rust_options.heartbeat_timeout = Some(HEARTBEAT_TIMEOUT);
    }
    let rounds = if t.heartbeats.is_some() { 2 } else { 1 };

    let socket = socket(t.rust, rust_options)?;
    let mut events = Events::of(&socket);
    match t.rust {
        SocketType::Sub => socket.subscribe("T").map_err(|e| e.to_string())?,
        SocketType::XSub => send(&socket, frames(&["\x01T"]), "subscribing to T").await?,
        _ => {}
    }
    let args = |mode: &str, endpoint: &str| {
        let mut args = Args::new(t.python, mode, endpoint);
        args.extend(&python_security)
            .flag("--count", COUNT)
            .flag("--large", t.large)
            .flag("--rounds", rounds)
            .flag("--idle-ms", HEARTBEAT_IDLE.as_millis());
        if is_pubsub(t.python) {
            args.flag("--hwm", 0);
        }
        if t.heartbeats.is_some() {
            args.flag("--heartbeat-ivl", HEARTBEAT_IVL.as_millis())
                .flag("--heartbeat-timeout", HEARTBEAT_TIMEOUT.as_millis());
        }
        args.0
    };
    let mut peer = if t.rust_binds {
        socket
            .bind("tcp://127.0.0.1:*")
            .map_err(|e| format!("bind: {e}"))?;
        Peer::start(&args("connect", &socket.last_endpoint()))?.0
    } else {
        let (peer, endpoint) = Peer::start(&args("bind", "tcp://127.0.0.1:*"))?;
        socket
            .connect(&endpoint)
            .map_err(|e| format!("connect {endpoint}: {e}"))?;
        peer
    };

    let messages = sequence(COUNT, t.large);
    for round in 0..rounds {
        let sends = matches!(
            t.rust,
            SocketType::Req
                | SocketType::Dealer
                | SocketType::Pub
                | SocketType::XPub
                | SocketType::Push
        );
        if round > 0 && sends {
            tokio::time::sleep(HEARTBEAT_IDLE).await;
        }
        if let Err(e) = traffic_round(&t, &socket, &mut peer, &messages, round == 0).await {
            let _ = events.no_drop().await;
            return Err(format!(
                "round {round}: {e}; purezmq events: {}",
                events.list()
            ));
        }
    }
    events.handshake_succeeded().await?;
    if t.heartbeats.is_some() {
        events.no_drop().await?;
        peer.no_drop()?;
    }
    socket.close().await;
    Ok(())
}

/// One round of the sequence, in the direction the pair gives.
async fn traffic_round(
    t: &Traffic,
    socket: &Socket,
    peer: &mut Peer,
    messages: &[Vec<Bytes>],
    first: bool,
) -> Outcome {
    match t.rust {
        SocketType::Req | SocketType::Dealer => {
            let window = if t.rust == SocketType::Req { 1 } else { WINDOW };
            drive(socket, messages, window).await
        }
        SocketType::Rep | SocketType::Router => {
            let echo = tokio::spawn(echo(socket.clone()));
            let result = peer.expect_line("ok");
            echo.abort();
            match echo.await {
                Ok(Err(e)) => Err(e),
                _ => result,
            }
        }
        SocketType::Push => {
            for (i, message) in messages.iter().enumerate() {
                send(socket, message.clone(), format!("sending message {i}")).await?;
            }
            peer.expect_line("ok")
        }
        SocketType::Pull => {
            for (i, message) in messages.iter().enumerate() {
                let got = recv(socket, format!("receiving message {i}")).await?;
                expect(&got, message, format!("message {i}"))?;
            }
            Ok(())
        }
        SocketType::Pub | SocketType::XPub => publish(t.rust, socket, peer, messages, first).await,
        SocketType::Sub | SocketType::XSub => {
            subscribe(socket, peer, messages).await?;
            if t.python == SocketType::XPub && first {
                peer.expect_line("subscribed T")?;
            }
            Ok(())
        }
        other => Err(format!("no traffic for {other}")),
    }
}

/// Sends `messages` with `window` in flight and checks each echo.
async fn drive(socket: &Socket, messages: &[Vec<Bytes>], window: usize) -> Outcome {
    let (mut sent, mut received) = (0, 0);
    while received < messages.len() {
        while sent < messages.len() && sent - received < window {
            send(
                socket,
                messages[sent].clone(),
                format!("sending message {sent}"),
            )
            .await?;
            sent += 1;
        }
        let got = recv(socket, format!("receiving the echo of message {received}")).await?;
        expect(&got, &messages[received], format!("echo {received}"))?;
        received += 1;
    }
    Ok(())
}

async fn echo(socket: Socket) -> Outcome {
    loop {
        let message = socket
            .recv()
            .await
            .map_err(|e| format!("echo: receiving: {e}"))?;
        socket
            .send(message)
            .await
            .map_err(|e| format!("echo: sending: {e}"))?;
    }
}

/// A publisher's round against a pyzmq subscriber, which says "joined" once a
/// warm-up reached it, then "ok" once the sequence did.
async fn publish(
    socket_type: SocketType,
    socket: &Socket,
    peer: &mut Peer,
    messages: &[Vec<Bytes>],
    first: bool,
) -> Outcome {
    if socket_type == SocketType::XPub && first {
        // The subscription came through the box.
        let got = recv(socket, "receiving the subscription to T").await?;
        expect(&got, &frames(&["\x01T"]), "the subscription")?;
    }
    let warmups = tokio::spawn({
        let socket = socket.clone();
        async move {
            loop {
                if let Err(e) = socket.send(frames(&["T", "warmup"])).await {
                    return format!("sending a warm-up: {e}");
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    });
    let joined = peer.expect_line("joined");
    warmups.abort();
    if let Ok(e) = warmups.await {
        return Err(e);
    }
    joined?;
    for (i, message) in messages.iter().enumerate() {
        send(socket, frames(&["X", "filtered"]), "sending an X").await?;
        send(socket, with_topic(message), format!("sending message {i}")).await?;
    }
    peer.expect_line("ok")
}

/// A subscriber's round against a pyzmq publisher, which sends warm-ups until
/// SIGUSR1 and then the sequence, each message after an X nobody subscribed to.
async fn subscribe(socket: &Socket, peer: &mut Peer, messages: &[Vec<Bytes>]) -> Outcome {
    let warmup = frames(&["T", "warmup"]);
    let mut got = recv(socket, "waiting for a warm-up").await?;
    expect(&got, &warmup, "before the sequence")?;
    peer.signal("USR1")?;
    while got == warmup {
        got = recv(socket, "receiving message 0").await?;
    }
    for (i, message) in messages.iter().enumerate() {
        if i > 0 {
            got = recv(socket, format!("receiving message {i}")).await?;
        }
        expect(&got, &with_topic(message), format!("message {i}"))?;
    }
    Ok(())
}

#[test]
fn curve_moves_every_pairs_traffic_both_ways_in_both_roles() {
    let cases = traffic_cases(&PAIRS, None, LARGE)
        .into_iter()
        .map(|t| case(format!("traffic: {t}"), move || curve_traffic(t)))
        .collect();
    run(cases, PARALLEL);
}

#[test]
fn curve_heartbeats_keep_idle_pub_sub_connections() {
    let pubsub = [(SocketType::Pub, SocketType::Sub)];
    let cases = [Heartbeats::Both, Heartbeats::PyzmqOnly]
        .into_iter()
        .flat_map(|h| traffic_cases(&pubsub, Some(h), HEARTBEAT_LARGE))
        .map(|t| case(format!("heartbeats: {t}"), move || curve_traffic(t)))
        .collect();
    run(cases, HEARTBEAT_PARALLEL);
}

// ---- authentication: one request and its reply ----

/// What a case expects of the handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Admitted,
    Refused,
}

/// A pyzmq REQ client (security arguments `python`) against a purezmq REP server
/// with `server` options, whose ZAP handler, if any, `zap` installs. Admitted: the
/// client's requests get their replies. Refused: both sides report
/// HANDSHAKE_FAILED_AUTH 400 and no request reaches the server. Returns the ZAP
/// requests the handler was asked.
async fn pyzmq_client_to_purezmq_server(
    server: Options,
    zap: Option<&dyn Fn(&Socket) -> Requests>,
    python: Vec<String>,
    verdict: Verdict,
) -> Result<Requests, String> {
    let socket = socket(SocketType::Rep, server)?;
    let requests = zap.map(|install| install(&socket)).unwrap_or_default();
    let mut events = Events::of(&socket);
    socket
        .bind("tcp://127.0.0.1:*")
        .map_err(|e| format!("bind: {e}"))?;
    let mut args = Args::new(SocketType::Req, "connect", &socket.last_endpoint());
    args.extend(&python)
        .flag("--count", 3)
        .flag("--large", 1024);
    let (mut peer, _) = Peer::start(&args.0)?;
    match verdict {
        Verdict::Admitted => {
            let echo = tokio::spawn(echo(socket.clone()));
            let result = peer.expect_line("ok");
            echo.abort();
            result?;
            events.handshake_succeeded().await?;
        }
        Verdict::Refused => {
            events.refused_with_400().await?;
            peer.expect_line("event HANDSHAKE_FAILED_AUTH 400")?;
            nothing_arrives(&socket, "a request from a refused client").await?;
        }
    }
    socket.close().await;
    Ok(requests)
}

/// A purezmq REQ client with `client` options against a pyzmq REP server (security
/// and authenticator arguments `python`). Admitted: requests get their replies.
/// Refused: both sides report HANDSHAKE_FAILED_AUTH 400, pyzmq receives nothing and
/// no reply comes.
async fn purezmq_client_to_pyzmq_server(
    client: Options,
    python: Vec<String>,
    verdict: Verdict,
) -> Outcome {
    let mut args = Args::new(SocketType::Rep, "bind", "tcp://127.0.0.1:*");
    args.extend(&python);
    let (mut peer, endpoint) = Peer::start(&args.0)?;
    let socket = socket(SocketType::Req, client)?;
    let mut events = Events::of(&socket);
    socket
        .connect(&endpoint)
        .map_err(|e| format!("connect {endpoint}: {e}"))?;
    match verdict {
        Verdict::Admitted => {
            drive(&socket, &sequence(3, 1024), 1).await?;
            events.handshake_succeeded().await?;
        }
        Verdict::Refused => {
            send(&socket, frames(&["hello"]), "sending a request").await?;
            events.refused_with_400().await?;
            peer.expect_line("event HANDSHAKE_FAILED_AUTH 400")?;
            nothing_arrives(&socket, "a reply through a refused handshake").await?;
            peer.never_says("received")?;
        }
    }
    socket.close().await;
    Ok(())
}

#[test]
fn zap_admits_and_refuses_curve_keys_on_either_side() {
    let mut cases = Vec::new();
    for verdict in [Verdict::Admitted, Verdict::Refused] {
        cases.push(case(
            format!("purezmq CURVE server's ZAP handler, pyzmq client with a key it {verdict:?}"),
            move || async move {
                let server_keys = KeyPair::generate();
                let allowed = KeyPair::generate();
                let client = match verdict {
                    Verdict::Admitted => allowed.clone(),
                    Verdict::Refused => KeyPair::generate(),
                };
                let install = |socket: &Socket| zap_handler(socket, allow_key(*allowed.public()));
                let requests = pyzmq_client_to_purezmq_server(
                    options(Security::CurveServer {
                        keypair: server_keys.clone(),
                    }),
                    Some(&install),
                    curve_client_args(&client, server_keys.public()),
                    verdict,
                )
                .await?;
                asked_about_key(&requests, client.public())
            },
        ));
        cases.push(case(
            format!("pyzmq CURVE server's authenticator, purezmq client with a key it {verdict:?}"),
            move || async move {
                let server_keys = KeyPair::generate();
                let allowed = KeyPair::generate();
                let client = match verdict {
                    Verdict::Admitted => allowed.clone(),
                    Verdict::Refused => KeyPair::generate(),
                };
                let mut python = curve_server_args(&server_keys);
                python.push(format!("--curve-allow={}", allowed.public().to_z85()));
                purezmq_client_to_pyzmq_server(
                    options(Security::CurveClient {
                        keypair: client,
                        server_key: *server_keys.public(),
                    }),
                    python,
                    verdict,
                )
                .await
            },
        ));
    }
    cases.push(case(
        "pyzmq CURVE server's authenticator admitting any key, purezmq client",
        || async {
            let server_keys = KeyPair::generate();
            let mut python = curve_server_args(&server_keys);
            python.push("--curve-any".into());
            purezmq_client_to_pyzmq_server(
                options(Security::CurveClient {
                    keypair: KeyPair::generate(),
                    server_key: *server_keys.public(),
                }),
                python,
                Verdict::Admitted,
            )
            .await
        },
    ));
    run(cases, PARALLEL);
}

#[test]
fn zap_admits_and_refuses_ip_addresses_on_either_side() {
    let mut cases = Vec::new();
    for (rule, verdict) in [("--allow", Verdict::Admitted), ("--deny", Verdict::Refused)] {
        cases.push(case(
            format!(
                "pyzmq CURVE server's authenticator with {rule} 127.0.0.1 (any key), purezmq client"
            ),
            move || async move {
                let server_keys = KeyPair::generate();
                let mut python = curve_server_args(&server_keys);
                python.extend(strings(&["--curve-any", rule, "127.0.0.1"]));
                purezmq_client_to_pyzmq_server(
                    options(Security::CurveClient {
                        keypair: KeyPair::generate(),
                        server_key: *server_keys.public(),
                    }),
                    python,
                    verdict,
                )
                .await
            },
        ));
        cases.push(case(
            format!("pyzmq NULL server with a ZAP domain and {rule} 127.0.0.1, purezmq client"),
            move || async move {
                let python = strings(&["--zap-domain", "global", rule, "127.0.0.1"]);
                purezmq_client_to_pyzmq_server(options(Security::Null), python, verdict).await
            },
        ));
        cases.push(case(
            format!("purezmq NULL server with a ZAP domain and a handler that {verdict:?} 127.0.0.1, pyzmq client"),
            move || async move {
                let install = |socket: &Socket| {
                    zap_handler(socket, move |request| {
                        if verdict == Verdict::Admitted && request.address == "127.0.0.1" {
                            AuthReply::accept("local")
                        } else {
                            AuthReply::deny(400, "address denied")
                        }
                    })
                };
                let server = Options {
                    zap_domain: "global".into(),
                    ..options(Security::Null)
                };
                let requests =
                    pyzmq_client_to_purezmq_server(server, Some(&install), Vec::new(), verdict)
                        .await?;
                let requests = requests.lock().unwrap();
                match requests.first() {
                    Some(r)
                        if r.domain == "global"
                            && r.address == "127.0.0.1"
                            && r.mechanism == MechanismName::NULL
                            && r.credentials.is_empty() =>
                    {
                        Ok(())
                    }
                    other => Err(format!("expected a NULL request in domain global from 127.0.0.1, got {other:?}")),
                }
            },
        ));
    }
    run(cases, PARALLEL);
}

#[test]
fn plain_passwords_are_checked_on_either_side() {
    let mut cases = Vec::new();
    for (password, verdict) in [("secret", Verdict::Admitted), ("guess", Verdict::Refused)] {
        cases.push(case(
            format!("purezmq PLAIN client with password {password:?}, pyzmq PLAIN server's authenticator"),
            move || async move {
                let client = options(Security::PlainClient {
                    username: Bytes::from_static(b"admin"),
                    password: Bytes::from_static(password.as_bytes()),
                });
                let python = strings(&["--mechanism", "plain-server", "--plain-password", "admin=secret"]);
                purezmq_client_to_pyzmq_server(client, python, verdict).await
            },
        ));
        cases.push(case(
            format!(
                "pyzmq PLAIN client with password {password:?}, purezmq PLAIN server's ZAP handler"
            ),
            move || async move {
                let install = |socket: &Socket| {
                    zap_handler(socket, |request| match request.credentials.as_slice() {
                        [user, password]
                            if request.mechanism == MechanismName::PLAIN
                                && user == "admin"
                                && password == "secret" =>
                        {
                            AuthReply::accept("admin")
                        }
                        _ => AuthReply::deny(400, "wrong user name or password"),
                    })
                };
                let python = strings(&[
                    "--mechanism",
                    "plain-client",
                    "--username",
                    "admin",
                    "--password",
                    password,
                ]);
                let requests = pyzmq_client_to_purezmq_server(
                    options(Security::PlainServer),
                    Some(&install),
                    python,
                    verdict,
                )
                .await?;
                let requests = requests.lock().unwrap();
                let want = [
                    Bytes::from_static(b"admin"),
                    Bytes::from_static(password.as_bytes()),
                ];
                match requests.first() {
                    Some(r) if r.credentials == want => Ok(()),
                    other => Err(format!(
                        "expected the handler to see admin/{password}, got {other:?}"
                    )),
                }
            },
        ));
    }
    run(cases, PARALLEL);
}

// ---- certificates ----

/// pyzmq writes `names`' certificates into `dir`.
fn pyzmq_writes_certificates(dir: &TempDir, names: &[&str]) -> Outcome {
    let mut args = vec!["certs".to_owned(), dir.path()];
    args.extend(strings(names));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut py = PyPeer::spawn("security_peer.py", &argv);
    match py.next_line(STEP) {
        Ok(line) if line == "certs" => Ok(()),
        Ok(line) => Err(format!("expected \"certs\", got {line:?}")),
        Err(e) => Err(e.to_string()),
    }
}

fn load(path: &Path) -> Result<Certificate, String> {
    Certificate::load(path).map_err(|e| format!("loading {}: {e}", path.display()))
}

fn key_pair(path: &Path) -> Result<KeyPair, String> {
    load(path)?
        .key_pair()
        .ok_or_else(|| format!("{} holds no secret key", path.display()))
}

/// purezmq writes a certificate for each of `names` into `dir`, with a name in its
/// metadata; returns their key pairs.
fn purezmq_writes_certificates(dir: &TempDir, names: &[&str]) -> Result<Vec<KeyPair>, String> {
    names
        .iter()
        .map(|name| {
            let keys = KeyPair::generate();
            Certificate::new(keys.clone())
                .with_metadata("name", *name)
                .save(&dir.0, name)
                .map_err(|e| format!("saving {name}'s certificate: {e}"))?;
            Ok(keys)
        })
        .collect()
}

#[test]
fn certificates_written_by_one_side_serve_the_other_on_sockets() {
    let cases = vec![
        case(
            "pyzmq's certificates: purezmq server, allowlist from client.key, pyzmq client",
            || async {
                let dir = TempDir::new("pyzmq-certs-our-server")?;
                pyzmq_writes_certificates(&dir, &["server", "client"])?;
                let server_keys = key_pair(&dir.file("server.key_secret"))?;
                let client_key = *load(&dir.file("client.key"))?.public_key();
                let install = |socket: &Socket| zap_handler(socket, allow_key(client_key));
                let python = strings(&[
                    "--mechanism",
                    "curve-client",
                    "--cert",
                    &dir.file("client.key_secret").display().to_string(),
                    "--server-cert",
                    &dir.file("server.key").display().to_string(),
                ]);
                let requests = pyzmq_client_to_purezmq_server(
                    options(Security::CurveServer {
                        keypair: server_keys,
                    }),
                    Some(&install),
                    python,
                    Verdict::Admitted,
                )
                .await?;
                asked_about_key(&requests, &client_key)
            },
        ),
        case(
            "pyzmq's certificates: purezmq client, pyzmq server admitting the keys in their directory",
            || async {
                let dir = TempDir::new("pyzmq-certs-our-client")?;
                pyzmq_writes_certificates(&dir, &["server", "client"])?;
                let client = options(Security::CurveClient {
                    keypair: key_pair(&dir.file("client.key_secret"))?,
                    server_key: *load(&dir.file("server.key"))?.public_key(),
                });
                let python = strings(&[
                    "--mechanism",
                    "curve-server",
                    "--cert",
                    &dir.file("server.key_secret").display().to_string(),
                    "--curve-location",
                    &dir.path(),
                ]);
                purezmq_client_to_pyzmq_server(client, python, Verdict::Admitted).await
            },
        ),
        case(
            "purezmq's certificates: pyzmq server admitting the keys in their directory, purezmq client",
            || async {
                let dir = TempDir::new("our-certs-pyzmq-server")?;
                let keys = purezmq_writes_certificates(&dir, &["server", "client"])?;
                let client = options(Security::CurveClient {
                    keypair: keys[1].clone(),
                    server_key: *keys[0].public(),
                });
                let python = strings(&[
                    "--mechanism",
                    "curve-server",
                    "--cert",
                    &dir.file("server.key_secret").display().to_string(),
                    "--curve-location",
                    &dir.path(),
                ]);
                purezmq_client_to_pyzmq_server(client, python, Verdict::Admitted).await
            },
        ),
        case(
            "purezmq's certificates: pyzmq client, purezmq server with an allowlist",
            || async {
                let dir = TempDir::new("our-certs-pyzmq-client")?;
                let keys = purezmq_writes_certificates(&dir, &["server", "client"])?;
                let client_key = *keys[1].public();
                let install = |socket: &Socket| zap_handler(socket, allow_key(client_key));
                let python = strings(&[
                    "--mechanism",
                    "curve-client",
                    "--cert",
                    &dir.file("client.key_secret").display().to_string(),
                    "--server-cert",
                    &dir.file("server.key").display().to_string(),
                ]);
                let requests = pyzmq_client_to_purezmq_server(
                    options(Security::CurveServer {
                        keypair: keys[0].clone(),
                    }),
                    Some(&install),
                    python,
                    Verdict::Admitted,
                )
                .await?;
                asked_about_key(&requests, &client_key)
            },
        ),
    ];
    run(cases, PARALLEL);
}

// ---- purezmq's Authenticator ----

/// What an [`authenticator_case`] sets up: the purezmq server's options and its
/// Authenticator, the pyzmq client's security arguments, and the directory of
/// certificates they use, if any (kept until the case ends).
struct Setup {
    options: Options,
    authenticator: Authenticator,
    python: Vec<String>,
    certificates: Option<TempDir>,
}

/// A pyzmq REQ client against a purezmq REP server whose ZAP handler is an
/// [`Authenticator`], both as `setup` makes them.
fn authenticator_case(
    name: &str,
    setup: impl FnOnce() -> Result<Setup, String> + Send + 'static,
    verdict: Verdict,
) -> Case {
    case(
        format!("purezmq Authenticator: {name}, pyzmq client {verdict:?}"),
        move || async move {
            let setup = setup()?;
            let install = |socket: &Socket| {
                socket.set_zap_handler(setup.authenticator.clone());
                Requests::default()
            };
            pyzmq_client_to_purezmq_server(setup.options, Some(&install), setup.python, verdict)
                .await?;
            drop(setup.certificates);
            Ok(())
        },
    )
}

/// A CURVE server with fresh keys and pyzmq client arguments with `client`'s keys,
/// with a fresh Authenticator.
fn curve_setup(client: &KeyPair) -> Setup {
    let server_keys = KeyPair::generate();
    Setup {
        options: options(Security::CurveServer {
            keypair: server_keys.clone(),
        }),
        authenticator: Authenticator::new(),
        python: curve_client_args(client, server_keys.public()),
        certificates: None,
    }
}

#[test]
fn purezmq_authenticator_decides_as_pyzmqs_thread_authenticator() {
    let localhost = std::net::IpAddr::from([127, 0, 0, 1]);
    let mut cases = Vec::new();
    for verdict in [Verdict::Admitted, Verdict::Refused] {
        let allowed = KeyPair::generate();
        let client = match verdict {
            Verdict::Admitted => allowed.clone(),
            Verdict::Refused => KeyPair::generate(),
        };
        cases.push(authenticator_case(
            "CURVE, one key",
            move || {
                let setup = curve_setup(&client);
                setup
                    .authenticator
                    .configure_curve(ANY_DOMAIN, CurveKeys::only([*allowed.public()]));
                Ok(setup)
            },
            verdict,
        ));
        let (rule, address_rule): (&str, fn(&Authenticator, std::net::IpAddr)) = match verdict {
            Verdict::Admitted => ("allow", |auth, address| {
                auth.allow(address);
            }),
            Verdict::Refused => ("deny", |auth, address| {
                auth.deny(address);
            }),
        };
        cases.push(authenticator_case(
            &format!("CURVE, any key, {rule} 127.0.0.1"),
            move || {
                let setup = curve_setup(&KeyPair::generate());
                address_rule(&setup.authenticator, localhost);
                setup
                    .authenticator
                    .configure_curve(ANY_DOMAIN, CurveKeys::Any);
                Ok(setup)
            },
            verdict,
        ));
        cases.push(authenticator_case(
            &format!("NULL with a ZAP domain, {rule} 127.0.0.1"),
            move || {
                let authenticator = Authenticator::new();
                address_rule(&authenticator, localhost);
                Ok(Setup {
                    options: Options {
                        zap_domain: "global".into(),
                        ..options(Security::Null)
                    },
                    authenticator,
                    python: Vec::new(),
                    certificates: None,
                })
            },
            verdict,
        ));
        let password = match verdict {
            Verdict::Admitted => "secret",
            Verdict::Refused => "guess",
        };
        cases.push(authenticator_case(
            &format!("PLAIN, password {password:?}"),
            move || {
                let authenticator = Authenticator::new();
                authenticator.configure_plain(ANY_DOMAIN, [("admin", "secret")]);
                Ok(Setup {
                    options: options(Security::PlainServer),
                    authenticator,
                    python: strings(&[
                        "--mechanism",
                        "plain-client",
                        "--username",
                        "admin",
                        "--password",
                        password,
                    ]),
                    certificates: None,
                })
            },
            verdict,
        ));
    }
    cases.push(authenticator_case(
        "CURVE, keys from a directory of pyzmq's certificates",
        || {
            let dir = TempDir::new("authenticator-directory")?;
            pyzmq_writes_certificates(&dir, &["client"])?;
            let mut setup = curve_setup(&KeyPair::generate());
            let keys = CurveKeys::from_directory(&dir.0).map_err(|e| e.to_string())?;
            setup.authenticator.configure_curve(ANY_DOMAIN, keys);
            // The pyzmq client with the keys of client.key_secret.
            setup.python.retain(|arg| !arg.starts_with("--secret="));
            setup.python.push(format!(
                "--cert={}",
                dir.file("client.key_secret").display()
            ));
            setup.certificates = Some(dir);
            Ok(setup)
        },
        Verdict::Admitted,
    ));
    run(cases, PARALLEL);
}
