//! The socket interop matrix: purezmq against libzmq 4.3.5 (pyzmq, in its own
//! process, `python/socket_peer.py`).
//!
//! Every pair of [`PAIRS`], with purezmq as either type, purezmq binding or
//! connecting, over tcp and ipc:
//!
//! * **traffic**, with the binder or the connecter started first: the test
//!   sequence ([`sequence`]: 10,000 messages checked for content and order, a
//!   multipart message with empty frames, frames of 0, 255, 256 and 1 MiB bytes);
//!   between publishers and subscribers also that a subscription filters (an
//!   unsubscribed topic is interleaved) and that an unsubscribe takes effect;
//! * **restart**: after a round, the pyzmq process is killed (purezmq reports
//!   DISCONNECTED), started again on the same endpoint, and a round runs with it.
//!   When pyzmq is the binder, the restart is a start with the connecter first;
//! * **heartbeats**, twice: with HEARTBEAT_IVL/TIMEOUT on both sides, and with
//!   pyzmq alone sending PINGs that announce a TTL. Either way the connection
//!   survives idling for longer than the timeout (pyzmq drops a peer that does not
//!   answer its PINGs), and once the pyzmq process is stopped (SIGSTOP) purezmq
//!   drops it with a DISCONNECTED event, on its own timeout or on the TTL.
//!
//! Who does what follows from the pair ([`Scenario`]): the side that can answer
//! echoes and the other side drives and checks; PUSH and publishers send, PULL and
//! subscribers check. The Rust side and the Python side build the same sequence.
//! Every test prints a line per case; set `PUREZMQ_MATRIX_FILTER` to a part of
//! those lines (say `ROUTER-ROUTER purezmq ROUTER binds`) to run only those cases.

use std::collections::VecDeque;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use purezmq::monitor::{EventKind, Monitor};
use purezmq::{Error, Message, Options, Socket, SocketType};
use purezmq_interop_tests::PyPeer;
use tokio::task::JoinHandle;

/// The pairs of socket types that talk to each other, as libzmq allows them.
const PAIRS: [(SocketType, SocketType); 12] = [
    (SocketType::Req, SocketType::Rep),
    (SocketType::Req, SocketType::Router),
    (SocketType::Dealer, SocketType::Rep),
    (SocketType::Dealer, SocketType::Router),
    (SocketType::Dealer, SocketType::Dealer),
    (SocketType::Router, SocketType::Router),
    (SocketType::Pub, SocketType::Sub),
    (SocketType::Pub, SocketType::XSub),
    (SocketType::XPub, SocketType::Sub),
    (SocketType::XPub, SocketType::XSub),
    (SocketType::Push, SocketType::Pull),
    (SocketType::Pair, SocketType::Pair),
];

/// Frame sizes around ZMTP's short/long frame boundary, and a large one.
const SIZES: [usize; 4] = [0, 255, 256, 1 << 20];
/// Messages that must arrive as U after the first in the filter phase.
const FILTER_CHECK: usize = 50;
/// How long one receive, send or line from the peer may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a whole round (up to 10,000 round trips) may take.
const ROUND_TIMEOUT: Duration = Duration::from_secs(90);
/// Messages in flight when driving an echo; well under every HWM, so that a
/// ROUTER's echo is never dropped.
const WINDOW: usize = 64;
/// The routing ids of the two sides of ROUTER-ROUTER.
const RUST_ID: &str = "rs";
const PYTHON_ID: &str = "py";
/// The heartbeat options of the heartbeat runs (ZMQ_HEARTBEAT_IVL, _TIMEOUT and,
/// on the pyzmq side when purezmq sends none, _TTL). A peer counts as silent only
/// between complete messages, so the timeout leaves room for a 1 MiB frame to
/// cross a loaded machine.
const HEARTBEAT_IVL: Duration = Duration::from_millis(200);
const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(2);
const HEARTBEAT_TTL: Duration = Duration::from_secs(2);
/// Idle time between the rounds of the heartbeat runs: over twice the timeout.
const HEARTBEAT_IDLE: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transport {
    Tcp,
    Ipc,
}

/// One cell of the matrix.
#[derive(Clone, Copy, Debug)]
struct Case {
    /// The pair, as listed in [`PAIRS`].
    pair: (SocketType, SocketType),
    /// purezmq's type; pyzmq has the other.
    rust: SocketType,
    python: SocketType,
    rust_binds: bool,
    binder_first: bool,
    transport: Transport,
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (rust, python) = if self.rust_binds {
            ("bind", "connect")
        } else {
            ("connect", "bind")
        };
        write!(
            f,
            "{}-{} purezmq {} {rust}s, pyzmq {} {python}s, {:?}, {} first",
            self.pair.0,
            self.pair.1,
            self.rust,
            self.python,
            self.transport,
            if self.binder_first {
                "binder"
            } else {
                "connecter"
            }
        )
    }
}

/// Every case: each pair, purezmq as each of its types, binding or connecting,
/// over each transport, with `binder_first` as given; only those whose description
/// contains `$PUREZMQ_MATRIX_FILTER` if that is set.
fn cases(orders: &[bool]) -> Vec<Case> {
    let filter = std::env::var("PUREZMQ_MATRIX_FILTER").unwrap_or_default();
    let mut cases = Vec::new();
    for pair in PAIRS {
        let mut roles = vec![(pair.0, pair.1)];
        if pair.0 != pair.1 {
            roles.push((pair.1, pair.0));
        }
        for (rust, python) in roles {
            for rust_binds in [true, false] {
                for &binder_first in orders {
                    for transport in [Transport::Tcp, Transport::Ipc] {
                        let case = Case {
                            pair,
                            rust,
                            python,
                            rust_binds,
                            binder_first,
                            transport,
                        };
                        if case.to_string().contains(&filter) {
                            cases.push(case);
                        }
                    }
                }
            }
        }
    }
    cases
}

/// What one side of a pair does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scenario {
    /// Sends back what it receives.
    Echo,
    /// Sends the sequence and checks that it comes back.
    Drive,
    /// Sends the sequence (PUSH, or a publisher with the pub/sub phases).
    Send,
    /// Receives and checks the sequence (PULL, or a subscriber with the phases).
    Recv,
}

impl Scenario {
    /// What a `socket_type` does against `peer`. Where both could drive (DEALER,
    /// ROUTER and PAIR against their own kind), the pyzmq side echoes: see
    /// [`Scenario::opposite`].
    fn of(socket_type: SocketType, peer: SocketType) -> Scenario {
        match socket_type {
            SocketType::Req => Scenario::Drive,
            SocketType::Rep | SocketType::Router | SocketType::Pair => Scenario::Echo,
            SocketType::Dealer if matches!(peer, SocketType::Rep | SocketType::Router) => {
                Scenario::Drive
            }
            SocketType::Dealer => Scenario::Echo,
            SocketType::Push | SocketType::Pub | SocketType::XPub => Scenario::Send,
            SocketType::Pull | SocketType::Sub | SocketType::XSub => Scenario::Recv,
        }
    }

    fn opposite(self) -> Scenario {
        match self {
            Scenario::Echo => Scenario::Drive,
            Scenario::Drive => Scenario::Echo,
            Scenario::Send => Scenario::Recv,
            Scenario::Recv => Scenario::Send,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Scenario::Echo => "echo",
            Scenario::Drive => "drive",
            Scenario::Send => "send",
            Scenario::Recv => "recv",
        }
    }
}

fn is_pubsub(socket_type: SocketType) -> bool {
    matches!(
        socket_type,
        SocketType::Pub | SocketType::XPub | SocketType::Sub | SocketType::XSub
    )
}

/// How a run goes, beyond the case.
#[derive(Clone, Debug)]
struct Plan {
    /// One-frame messages at the head of the sequence.
    count: usize,
    /// Rounds per pyzmq process; the driving side idles `idle` between them.
    rounds: usize,
    idle: Duration,
    /// Kill the pyzmq process after the first round, start it again on the same
    /// endpoint, and run a round with it.
    restart: bool,
    /// Heartbeats: no disconnect during the rounds; then SIGSTOP the pyzmq process
    /// and expect purezmq to drop it.
    heartbeat: Option<Heartbeats>,
    /// Cases run at the same time.
    parallel: usize,
}

/// Who sends heartbeats in a heartbeat run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Heartbeats {
    /// Both sides send PINGs; purezmq drops the stopped peer on its own
    /// HEARTBEAT_TIMEOUT.
    Both,
    /// Only pyzmq sends PINGs, announcing a TTL. purezmq sends nothing of its own
    /// while idle, so the connection stays up only if it answers the PINGs (libzmq
    /// drops a peer silent for HEARTBEAT_TIMEOUT after a PING); and it must drop the
    /// stopped peer when the TTL runs out.
    PyzmqOnly,
}

/// `size` bytes whose byte i is i mod 256, as `payload` in socket_peer.py.
fn payload(size: usize) -> Bytes {
    (0..size).map(|i| i as u8).collect::<Vec<u8>>().into()
}

/// The test sequence, as `sequence` in socket_peer.py builds it.
fn sequence(count: usize) -> Vec<Vec<Bytes>> {
    let mut messages: Vec<Vec<Bytes>> = (0..count)
        .map(|i| vec![Bytes::from(format!("message {i}"))])
        .collect();
    messages.push(frames(&["", "multi", "", "", "part", ""]));
    messages.extend(SIZES.map(|size| vec![payload(size)]));
    messages.push(SIZES.map(payload).to_vec());
    messages
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

fn frames(parts: &[&'static str]) -> Vec<Bytes> {
    parts
        .iter()
        .map(|p| Bytes::from_static(p.as_bytes()))
        .collect()
}

fn with_prefix(prefix: &[Bytes], message: &[Bytes]) -> Vec<Bytes> {
    prefix.iter().chain(message).cloned().collect()
}

type Outcome = Result<(), String>;

/// Each case of a run, with its outcome and how long it took.
type Results = Vec<(Case, Outcome, Duration)>;

/// Runs `what` with a time limit, naming it in the error.
async fn timed<T>(
    limit: Duration,
    what: impl fmt::Display,
    work: impl Future<Output = purezmq::Result<T>>,
) -> Result<T, String> {
    match tokio::time::timeout(limit, work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(format!("{what}: {e}")),
        Err(_) => Err(format!("{what}: nothing within {limit:?}")),
    }
}

async fn send(socket: &Socket, message: Vec<Bytes>, what: impl fmt::Display) -> Outcome {
    timed(STEP_TIMEOUT, what, socket.send(Message::from(message))).await
}

async fn recv(socket: &Socket, what: impl fmt::Display) -> Result<Vec<Bytes>, String> {
    timed(STEP_TIMEOUT, what, socket.recv())
        .await
        .map(Message::into_frames)
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

// ---- the pyzmq process ----

/// A running socket_peer.py.
struct Py {
    /// `None` while a line is being read on a blocking thread.
    peer: Option<PyPeer>,
    pid: u32,
}

type LineRead = JoinHandle<(PyPeer, String)>;

impl Py {
    /// Starts the peer and reads its pid and its "ready <endpoint>" line.
    async fn start(args: Vec<String>) -> Result<(Py, String), String> {
        let started = tokio::task::spawn_blocking(move || {
            let argv: Vec<&str> = args.iter().map(String::as_str).collect();
            let mut peer = PyPeer::spawn("socket_peer.py", &argv);
            let line = peer.read_line(STEP_TIMEOUT);
            (peer, line)
        });
        let (peer, line) = finish(started.await)?;
        let pid = line
            .strip_prefix("pid ")
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| format!("expected \"pid <n>\" from the peer, got {line:?}"))?;
        let mut py = Py {
            peer: Some(peer),
            pid,
        };
        let line = py.line(STEP_TIMEOUT).await?;
        let endpoint = line
            .strip_prefix("ready ")
            .ok_or_else(|| format!("expected \"ready <endpoint>\" from the peer, got {line:?}"))?
            .to_owned();
        Ok((py, endpoint))
    }

    /// Starts reading the peer's next line on a blocking thread.
    fn read_line(&mut self, timeout: Duration) -> LineRead {
        let mut peer = self.peer.take().expect("one line is read at a time");
        tokio::task::spawn_blocking(move || {
            let line = peer.read_line(timeout);
            (peer, line)
        })
    }

    /// The line a [`Py::read_line`] read.
    fn finish_line(
        &mut self,
        read: Result<(PyPeer, String), tokio::task::JoinError>,
    ) -> Result<String, String> {
        let (peer, line) = finish(read)?;
        self.peer = Some(peer);
        Ok(line)
    }

    async fn line(&mut self, timeout: Duration) -> Result<String, String> {
        let read = self.read_line(timeout).await;
        self.finish_line(read)
    }

    /// Reads the next line, which must be "ok".
    async fn expect_ok(&mut self, timeout: Duration, what: &str) -> Outcome {
        let line = self.line(timeout).await?;
        if line == "ok" {
            Ok(())
        } else {
            Err(format!("{what}: the pyzmq side says {line:?}"))
        }
    }

    /// Reads the next line while sending `ticks` on `socket` every millisecond;
    /// returns the line.
    async fn line_while_sending(
        &mut self,
        socket: &Socket,
        ticks: &[Vec<Bytes>],
    ) -> Result<String, String> {
        let mut read = self.read_line(ROUND_TIMEOUT);
        loop {
            tokio::select! {
                done = &mut read => return self.finish_line(done),
                () = tokio::time::sleep(Duration::from_millis(1)) => {
                    for tick in ticks {
                        // On failure the peer is killed when `self` drops, which
                        // ends the blocking read.
                        send(socket, tick.clone(), format!("sending {}", describe(tick))).await?;
                    }
                }
            }
        }
    }

    /// Sends the process a signal (`USR1`, `STOP`…).
    fn signal(&self, name: &str) -> Outcome {
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid.to_string())
            .status()
            .map_err(|e| format!("could not run kill: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("kill -{name} {} failed: {status}", self.pid))
        }
    }
}

impl Drop for Py {
    fn drop(&mut self) {
        // A line may be being read on a blocking thread that owns the PyPeer: kill
        // the process so that the thread ends (the PyPeer kills it too when dropped).
        if self.peer.is_none() {
            let _ = self.signal("KILL");
        }
    }
}

/// The result of a blocking read, with a panic (a timeout, or the peer's output
/// ending) turned into its message.
fn finish<T>(joined: Result<T, tokio::task::JoinError>) -> Result<T, String> {
    joined.map_err(|e| {
        if e.is_panic() {
            let panic = e.into_panic();
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "the peer reader panicked".into())
        } else {
            "the peer reader was cancelled".into()
        }
    })
}

// ---- endpoints ----

/// A directory for this test process's ipc files, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("purezmq-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create a directory for ipc endpoints");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A free tcp port outside the ephemeral range, so that no `tcp://…:*` bind takes
/// it between now and the bind that follows the connect.
fn fixed_port() -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let _ = NEXT.compare_exchange(
        0,
        20_000 + (std::process::id() % 400) as u16 * 25,
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    loop {
        let port = NEXT.fetch_add(1, Ordering::Relaxed);
        assert!(port < 32_000, "no free tcp port below the ephemeral range");
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Where a case binds: a wildcard the binder resolves when it binds first; a
/// fixed endpoint when the connecter starts first.
fn bind_spec(case: &Case, dir: &Path, id: usize) -> String {
    match case.transport {
        Transport::Tcp if case.binder_first => "tcp://127.0.0.1:*".into(),
        Transport::Tcp => format!("tcp://127.0.0.1:{}", fixed_port()),
        Transport::Ipc => format!("ipc://{}/{id}.ipc", dir.display()),
    }
}

// ---- monitor ----

/// The purezmq socket's monitor events, kept as they are read.
struct Events {
    monitor: Monitor,
    seen: Vec<EventKind>,
}

impl Events {
    /// Reads events until one matches, within `limit`.
    async fn wait_for(
        &mut self,
        limit: Duration,
        what: &str,
        wanted: impl Fn(&EventKind) -> bool,
    ) -> Outcome {
        let deadline = tokio::time::Instant::now() + limit;
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
                        "no {what} event within {limit:?}; events: {}",
                        self.list()
                    ));
                }
            }
        }
    }

    /// Takes the events already emitted.
    async fn catch_up(&mut self) {
        while let Ok(Some(event)) = tokio::time::timeout(Duration::ZERO, self.monitor.recv()).await
        {
            self.seen.push(event.kind);
        }
    }

    fn list(&self) -> String {
        let names: Vec<String> = self.seen.iter().map(ToString::to_string).collect();
        names.join(", ")
    }
}

fn is_disconnect(kind: &EventKind) -> bool {
    matches!(kind, EventKind::Disconnected | EventKind::ProtocolError(_))
}

// ---- one case ----

/// The purezmq side of a case.
struct Rust {
    case: Case,
    socket: Socket,
    scenario: Scenario,
    messages: Arc<Vec<Vec<Bytes>>>,
}

impl Rust {
    fn options(case: &Case, plan: &Plan) -> Options {
        let mut options = Options {
            linger: Some(Duration::ZERO),
            ..Options::default()
        };
        if is_pubsub(case.rust) {
            // Publishers drop at the HWM; the sequence must arrive whole.
            options.sndhwm = 0;
            options.rcvhwm = 0;
        }
        if case.rust == SocketType::Router && case.python == SocketType::Router {
            options.routing_id = Bytes::from_static(RUST_ID.as_bytes());
            options.router_mandatory = true;
        }
        if plan.heartbeat == Some(Heartbeats::Both) {
            options.heartbeat_ivl = Some(HEARTBEAT_IVL);
            options.heartbeat_timeout = Some(HEARTBEAT_TIMEOUT);
        }
        options
    }

    /// Frames the driving side puts in front of each message, and gets back.
    fn envelope(&self) -> Vec<Bytes> {
        match (self.case.rust, self.case.python) {
            (SocketType::Dealer, SocketType::Rep) => vec![Bytes::new()],
            (SocketType::Router, _) => vec![Bytes::from_static(PYTHON_ID.as_bytes())],
            _ => Vec::new(),
        }
    }

    /// Before a round's peer starts: a subscriber (re)subscribes to T, so that the
    /// subscription goes with the handshake (round 0) or the reconnection.
    async fn prepare(&self) -> Outcome {
        match self.case.rust {
            SocketType::Sub | SocketType::XSub => self.set_subscribed("T", true).await,
            _ => Ok(()),
        }
    }

    /// Subscribes or unsubscribes: SUB through the API, XSUB with a message.
    async fn set_subscribed(&self, topic: &'static str, on: bool) -> Outcome {
        let what = format!("changing the subscription to {topic}");
        match self.case.rust {
            SocketType::Sub if on => self
                .socket
                .subscribe(topic)
                .map_err(|e| format!("{what}: {e}")),
            SocketType::Sub => self
                .socket
                .unsubscribe(topic)
                .map_err(|e| format!("{what}: {e}")),
            _ => {
                let flag = if on { 1 } else { 0 };
                let mut body = vec![flag];
                body.extend_from_slice(topic.as_bytes());
                send(&self.socket, vec![Bytes::from(body)], what).await
            }
        }
    }

    /// One round; `fresh` when the pyzmq process has just started.
    async fn round(&self, py: &mut Py, fresh: bool) -> Outcome {
        match (self.scenario, self.case.rust) {
            (Scenario::Drive, _) => self.drive().await,
            (Scenario::Echo, _) => {
                let echo = tokio::spawn(echo(self.socket.clone()));
                let result = py.expect_ok(ROUND_TIMEOUT, "driving purezmq's echo").await;
                echo.abort();
                match echo.await {
                    Ok(Err(e)) => Err(e),
                    _ => result,
                }
            }
            (Scenario::Send, SocketType::Pub | SocketType::XPub) => self.publish(py, fresh).await,
            (Scenario::Send, _) => {
                for (i, message) in self.messages.iter().enumerate() {
                    send(
                        &self.socket,
                        message.clone(),
                        format!("sending message {i}"),
                    )
                    .await?;
                }
                py.expect_ok(ROUND_TIMEOUT, "receiving purezmq's messages")
                    .await
            }
            (Scenario::Recv, SocketType::Sub | SocketType::XSub) => self.subscribe(py).await,
            (Scenario::Recv, _) => {
                for (i, message) in self.messages.iter().enumerate() {
                    let got = recv(&self.socket, format!("receiving message {i}")).await?;
                    expect(&got, message, format!("message {i}"))?;
                }
                Ok(())
            }
        }
    }

    /// Sends the sequence with [`WINDOW`] messages in flight (one for REQ) and
    /// checks each echo.
    async fn drive(&self) -> Outcome {
        let envelope = self.envelope();
        if self.case.rust == SocketType::Router {
            self.probe(&envelope).await?;
        }
        let window = if self.case.rust == SocketType::Req {
            1
        } else {
            WINDOW
        };
        let messages = &self.messages;
        let (mut sent, mut received) = (0, 0);
        while received < messages.len() {
            while sent < messages.len() && sent - received < window {
                let message = with_prefix(&envelope, &messages[sent]);
                send(&self.socket, message, format!("sending message {sent}")).await?;
                sent += 1;
            }
            let got = recv(
                &self.socket,
                format!("receiving the echo of message {received}"),
            )
            .await?;
            expect(
                &got,
                &with_prefix(&envelope, &messages[received]),
                format!("echo {received}"),
            )?;
            received += 1;
        }
        Ok(())
    }

    /// ROUTER to ROUTER: sends a probe until the peer's routing id is known (with
    /// ROUTER_MANDATORY a send to an unknown id fails), and takes its echo.
    async fn probe(&self, envelope: &[Bytes]) -> Outcome {
        let probe = with_prefix(envelope, &frames(&["probe"]));
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            match self.socket.try_send(Message::from(probe.clone())) {
                Ok(()) => break,
                Err(e)
                    if matches!(e.error, Error::HostUnreachable { .. })
                        && Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err(e) => return Err(format!("probing the peer: {}", e.error)),
            }
        }
        let got = recv(&self.socket, "receiving the probe's echo").await?;
        expect(&got, &probe, "the probe's echo")
    }

    /// A publisher's round against a pyzmq subscriber, which reports "joined", then
    /// its verdict on the data, then on the filter phase.
    async fn publish(&self, py: &mut Py, fresh: bool) -> Outcome {
        let socket = &self.socket;
        if self.case.rust == SocketType::XPub && fresh {
            // Skips what earlier processes' connections left.
            while recv(socket, "receiving the subscription to T").await? != frames(&["\x01T"]) {}
        }
        let joined = py
            .line_while_sending(socket, &[frames(&["T", "warmup"])])
            .await?;
        if joined != "joined" {
            return Err(format!(
                "expected \"joined\" from the subscriber, got {joined:?}"
            ));
        }
        let topic = frames(&["T"]);
        for (i, message) in self.messages.iter().enumerate() {
            send(socket, frames(&["X", "filtered"]), "sending an X").await?;
            send(
                socket,
                with_prefix(&topic, message),
                format!("sending message {i}"),
            )
            .await?;
        }
        py.expect_ok(ROUND_TIMEOUT, "publishing the sequence")
            .await?;
        let verdict = py
            .line_while_sending(socket, &[frames(&["T", "late"]), frames(&["U", "u"])])
            .await?;
        if verdict != "ok" {
            return Err(format!("filter phase: the pyzmq side says {verdict:?}"));
        }
        Ok(())
    }

    /// A subscriber's round against a pyzmq publisher, which moves on a phase on
    /// each SIGUSR1.
    async fn subscribe(&self, py: &mut Py) -> Outcome {
        let socket = &self.socket;
        let warmup = frames(&["T", "warmup"]);
        while recv(socket, "waiting for a warm-up").await? != warmup {}
        py.signal("USR1")?;
        let mut got = recv(socket, "receiving message 0").await?;
        while got == warmup {
            got = recv(socket, "receiving message 0").await?;
        }
        let topic = frames(&["T"]);
        for (i, message) in self.messages.iter().enumerate() {
            if i > 0 {
                got = recv(socket, format!("receiving message {i}")).await?;
            }
            expect(&got, &with_prefix(&topic, message), format!("message {i}"))?;
        }

        self.set_subscribed("T", false).await?;
        self.set_subscribed("U", true).await?;
        let (late, u) = (frames(&["T", "late"]), frames(&["U", "u"]));
        let mut got = recv(socket, "waiting for the first U").await?;
        while got != u {
            expect(&got, &late, "before the first U")?;
            got = recv(socket, "waiting for the first U").await?;
        }
        for i in 0..FILTER_CHECK {
            let got = recv(socket, format!("receiving U number {}", i + 1)).await?;
            expect(&got, &u, "after unsubscribing T")?;
        }
        py.signal("USR1")?;
        self.set_subscribed("U", false).await
    }
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

/// The pyzmq side's arguments, with `mode` "bind" or "connect".
fn python_args(case: &Case, plan: &Plan, mode: &str, endpoint: &str) -> Vec<String> {
    let scenario = Scenario::of(case.python, case.rust);
    let mut args: Vec<String> = vec![
        case.python.to_string(),
        mode.into(),
        endpoint.into(),
        scenario.name().into(),
        "--count".into(),
        plan.count.to_string(),
        "--rounds".into(),
        if plan.restart { 1 } else { plan.rounds }.to_string(),
        "--idle-ms".into(),
        plan.idle.as_millis().to_string(),
        "--window".into(),
        if case.python == SocketType::Req {
            1
        } else {
            WINDOW
        }
        .to_string(),
    ];
    if case.python == SocketType::Dealer && case.rust == SocketType::Rep {
        args.push("--envelope".into());
    }
    if case.python == SocketType::Router && case.rust == SocketType::Router {
        args.extend(["--routing-id".into(), PYTHON_ID.into()]);
    }
    if is_pubsub(case.python) {
        args.extend(["--hwm".into(), "0".into()]);
    }
    if plan.heartbeat.is_some() {
        args.extend([
            "--heartbeat-ivl".into(),
            HEARTBEAT_IVL.as_millis().to_string(),
            "--heartbeat-timeout".into(),
            HEARTBEAT_TIMEOUT.as_millis().to_string(),
        ]);
    }
    if plan.heartbeat == Some(Heartbeats::PyzmqOnly) {
        args.extend([
            "--heartbeat-ttl".into(),
            HEARTBEAT_TTL.as_millis().to_string(),
        ]);
    }
    args
}

/// Runs one case to its end.
async fn run_case(
    case: Case,
    plan: Arc<Plan>,
    messages: Arc<Vec<Vec<Bytes>>>,
    spec: String,
) -> Outcome {
    let plan = &*plan;
    let socket =
        Socket::with_options(case.rust, Rust::options(&case, plan)).map_err(|e| e.to_string())?;
    let mut events = Events {
        monitor: socket.monitor(),
        seen: Vec::new(),
    };
    let rust = Rust {
        case,
        socket,
        scenario: Scenario::of(case.python, case.rust).opposite(),
        messages,
    };
    let python_mode = if case.rust_binds { "connect" } else { "bind" };
    rust.prepare().await?;

    // Start both sides in the case's order.
    let (mut py, endpoint) = match (case.binder_first, case.rust_binds) {
        (true, true) => {
            rust.socket
                .bind(&spec)
                .map_err(|e| format!("bind {spec}: {e}"))?;
            let endpoint = rust.socket.last_endpoint();
            Py::start(python_args(&case, plan, python_mode, &endpoint)).await?
        }
        (true, false) => {
            let (py, endpoint) = Py::start(python_args(&case, plan, python_mode, &spec)).await?;
            rust.socket
                .connect(&endpoint)
                .map_err(|e| format!("connect {endpoint}: {e}"))?;
            (py, endpoint)
        }
        (false, true) => {
            let started = Py::start(python_args(&case, plan, python_mode, &spec)).await?;
            rust.socket
                .bind(&spec)
                .map_err(|e| format!("bind {spec}: {e}"))?;
            started
        }
        (false, false) => {
            rust.socket
                .connect(&spec)
                .map_err(|e| format!("connect {spec}: {e}"))?;
            // The connect has been tried and refused before the peer binds.
            events
                .wait_for(STEP_TIMEOUT, "CONNECT_RETRIED", |e| {
                    matches!(e, EventKind::ConnectRetried(_))
                })
                .await?;
            Py::start(python_args(&case, plan, python_mode, &spec)).await?
        }
    };

    let rounds = if plan.restart { 1 } else { plan.rounds };
    for round in 0..rounds {
        if round > 0 {
            if matches!(rust.scenario, Scenario::Drive | Scenario::Send) {
                tokio::time::sleep(plan.idle).await;
            }
            rust.prepare().await?;
        }
        rust.round(&mut py, round == 0)
            .await
            .map_err(|e| format!("round {round}: {e}"))?;
    }

    if plan.restart {
        drop(py);
        events
            .wait_for(STEP_TIMEOUT, "DISCONNECTED after the kill", |e| {
                *e == EventKind::Disconnected
            })
            .await?;
        rust.prepare().await?;
        let (mut again, _) = Py::start(python_args(&case, plan, python_mode, &endpoint)).await?;
        rust.round(&mut again, true)
            .await
            .map_err(|e| format!("after the restart: {e}"))?;
        py = again;
    }

    if plan.heartbeat.is_some() {
        events.catch_up().await;
        if events.seen.iter().any(is_disconnect) {
            return Err(format!(
                "the connection dropped while heartbeats were on; events: {}",
                events.list()
            ));
        }
        if plan.heartbeat == Some(Heartbeats::PyzmqOnly) {
            // A PING arms the TTL and any other traffic disarms it (libzmq does the
            // same): let a few PINGs follow the last message, so that the stopped
            // peer's last word is one.
            tokio::time::sleep(3 * HEARTBEAT_IVL).await;
        }
        py.signal("STOP")?;
        let outcome = events
            .wait_for(STEP_TIMEOUT, "DISCONNECTED from the stopped peer", |e| {
                *e == EventKind::Disconnected
            })
            .await;
        // SIGKILL (on drop) ends a stopped process too.
        drop(py);
        outcome?;
    }
    rust.socket.close().await;
    Ok(())
}

/// Runs `cases` with `plan.parallel` at a time; returns each with its outcome and
/// how long it took.
async fn run_matrix(name: &str, cases: Vec<Case>, plan: Plan) -> Results {
    let dir = Arc::new(TempDir::new(name));
    let messages = Arc::new(sequence(plan.count));
    let queue: Arc<Mutex<VecDeque<(usize, Case)>>> =
        Arc::new(Mutex::new(cases.into_iter().enumerate().collect()));
    let results = Arc::new(Mutex::new(Vec::new()));
    let plan = Arc::new(plan);
    let mut workers = Vec::new();
    for _ in 0..plan.parallel {
        let (queue, results, plan, messages, dir) = (
            Arc::clone(&queue),
            Arc::clone(&results),
            Arc::clone(&plan),
            Arc::clone(&messages),
            Arc::clone(&dir),
        );
        workers.push(tokio::spawn(async move {
            loop {
                let next = queue.lock().unwrap().pop_front();
                let Some((id, case)) = next else { break };
                let spec = bind_spec(&case, &dir.0, id);
                let start = Instant::now();
                let outcome = tokio::spawn(run_case(
                    case,
                    Arc::clone(&plan),
                    Arc::clone(&messages),
                    spec,
                ));
                let outcome = finish(outcome.await).and_then(|o| o);
                let took = start.elapsed();
                results.lock().unwrap().push((id, case, outcome, took));
            }
        }));
    }
    for worker in workers {
        worker.await.expect("a worker panicked");
    }
    let mut results = std::mem::take(&mut *results.lock().unwrap());
    results.sort_by_key(|r| r.0);
    results.into_iter().map(|(_, c, o, t)| (c, o, t)).collect()
}

/// Prints the results of named runs as a table and fails the test on any failure.
fn report(runs: &[(&str, Results)], started: Instant) {
    let mut failures = Vec::new();
    let total: usize = runs.iter().map(|(_, results)| results.len()).sum();
    eprintln!("{total} cases in {:.1?}", started.elapsed());
    for (name, results) in runs {
        for (case, outcome, took) in results {
            match outcome {
                Ok(()) => eprintln!("  pass  {name}: {case} ({took:.1?})"),
                Err(e) => {
                    eprintln!("  FAIL  {name}: {case} ({took:.1?}): {e}");
                    failures.push(format!("{name}: {case}: {e}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_pair_moves_the_sequence_in_every_direction_and_start_order() {
    let started = Instant::now();
    let plan = Plan {
        count: 10_000,
        rounds: 1,
        idle: Duration::ZERO,
        restart: false,
        heartbeat: None,
        parallel: 4,
    };
    let results = run_matrix("traffic", cases(&[true, false]), plan).await;
    report(&[("traffic", results)], started);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traffic_resumes_after_the_pyzmq_side_restarts() {
    let started = Instant::now();
    let plan = Plan {
        count: 1000,
        rounds: 1,
        idle: Duration::ZERO,
        restart: true,
        heartbeat: None,
        parallel: 6,
    };
    let results = run_matrix("restart", cases(&[true]), plan).await;
    report(&[("restart", results)], started);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_keep_idle_connections_and_drop_a_stopped_peer() {
    let started = Instant::now();
    let plan = |heartbeats| Plan {
        count: 100,
        rounds: 2,
        idle: HEARTBEAT_IDLE,
        restart: false,
        heartbeat: Some(heartbeats),
        parallel: 21,
    };
    // Mostly idle time: both runs at once.
    let (both, pyzmq_only) = tokio::join!(
        run_matrix("heartbeat", cases(&[true]), plan(Heartbeats::Both)),
        run_matrix("heartbeat-ttl", cases(&[true]), plan(Heartbeats::PyzmqOnly)),
    );
    report(
        &[
            ("heartbeats on both sides", both),
            ("heartbeats from pyzmq only, with a TTL", pyzmq_only),
        ],
        started,
    );
}
