//! Helpers shared by the behaviour tests: one endpoint per transport, receiving with a
//! deadline, and waiting for connections to settle without long sleeps.

#![allow(dead_code)] // each test file uses its own subset

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use purezmq::monitor::{Event, EventKind, Monitor};
use purezmq::{Error, Message, Options, Socket, SocketType};
use tokio::time::timeout;

/// How long anything that should happen may take before a test fails.
pub const WAIT: Duration = Duration::from_secs(5);

/// How long a test watches for something that should not happen.
pub const QUIET: Duration = Duration::from_millis(150);

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A transport a test runs over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    Ipc,
    Inproc,
}

pub const ALL: [Transport; 3] = [Transport::Tcp, Transport::Ipc, Transport::Inproc];

/// Only the stream transports, for what inproc does not have (monitor events,
/// reconnects, heartbeats).
pub const STREAMS: [Transport; 2] = [Transport::Tcp, Transport::Ipc];

impl Transport {
    /// A fresh endpoint to bind: a wildcard tcp port, a unique abstract ipc name, or a
    /// unique inproc name.
    pub fn endpoint(self, name: &str) -> String {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        match self {
            Transport::Tcp => "tcp://127.0.0.1:*".to_owned(),
            Transport::Ipc => format!("ipc://@purezmq-test-{name}-{pid}-{n}"),
            Transport::Inproc => format!("inproc://{name}-{n}"),
        }
    }
}

/// Options with a short reconnect interval, so tests that break connections are quick.
pub fn quick() -> Options {
    Options {
        reconnect_ivl: Some(Duration::from_millis(10)),
        ..Options::default()
    }
}

pub fn socket(socket_type: SocketType) -> Socket {
    Socket::with_options(socket_type, quick()).unwrap()
}

pub fn socket_with(socket_type: SocketType, change: impl FnOnce(&mut Options)) -> Socket {
    let mut options = quick();
    change(&mut options);
    Socket::with_options(socket_type, options).unwrap()
}

/// Binds `socket` on a fresh endpoint of `transport`; returns the endpoint to connect to.
pub fn bind(socket: &Socket, transport: Transport, name: &str) -> String {
    socket.bind(&transport.endpoint(name)).unwrap();
    socket.last_endpoint()
}

/// A message of text frames.
pub fn msg(frames: &[&str]) -> Message {
    frames.iter().map(|f| f.as_bytes().to_vec()).collect()
}

/// The next message, failing the test after [`WAIT`].
pub async fn recv(socket: &Socket) -> Message {
    match timeout(WAIT, socket.recv()).await {
        Ok(Ok(message)) => message,
        Ok(Err(e)) => panic!("recv failed: {e}"),
        Err(_) => panic!("no message within {WAIT:?}"),
    }
}

/// Receives and checks the frames of the next message.
pub async fn expect(socket: &Socket, frames: &[&str]) {
    let message = recv(socket).await;
    assert_eq!(message.frames(), frames);
}

/// Sends, failing the test if it does not complete within [`WAIT`].
pub async fn send(socket: &Socket, frames: &[&str]) {
    match timeout(WAIT, socket.send(msg(frames))).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("send of {frames:?} failed: {e}"),
        Err(_) => panic!("send of {frames:?} blocked for {WAIT:?}"),
    }
}

/// Asserts that nothing arrives within [`QUIET`].
pub async fn nothing(socket: &Socket) {
    nothing_within(socket, QUIET).await;
}

pub async fn nothing_within(socket: &Socket, quiet: Duration) {
    if let Ok(got) = timeout(quiet, socket.recv()).await {
        panic!("expected nothing, got {got:?}");
    }
}

/// Receives every message queued now or arriving within `gap` of the last.
pub async fn drain(socket: &Socket, gap: Duration) -> Vec<Message> {
    let mut all = Vec::new();
    while let Ok(Ok(message)) = timeout(gap, socket.recv()).await {
        all.push(message);
    }
    all
}

/// Whether a result is "would block" (libzmq's EAGAIN).
pub fn is_would_block(e: &Error) -> bool {
    matches!(e, Error::WouldBlock | Error::Timeout(_))
}

/// The next monitor event, failing the test after [`WAIT`].
pub async fn next_event(monitor: &mut Monitor) -> Event {
    match timeout(WAIT, monitor.recv()).await {
        Ok(Some(event)) => event,
        Ok(None) => panic!("the monitor ended"),
        Err(_) => panic!("no monitor event within {WAIT:?}"),
    }
}

/// Waits for an event matching `want`, skipping others; returns it.
pub async fn wait_event(monitor: &mut Monitor, want: impl Fn(&EventKind) -> bool) -> Event {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut seen = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, monitor.recv()).await {
            Ok(Some(event)) if want(&event.kind) => return event,
            Ok(Some(event)) => seen.push(event.kind),
            Ok(None) => panic!("the monitor ended; saw {seen:?}"),
            Err(_) => panic!("the event did not come within {WAIT:?}; saw {seen:?}"),
        }
    }
}

/// Waits until `n` handshakes completed on the socket `monitor` watches; at once for
/// inproc, whose peers attach when they connect.
pub async fn handshakes(monitor: &mut Monitor, transport: Transport, n: usize) {
    if transport == Transport::Inproc {
        return;
    }
    for _ in 0..n {
        wait_event(monitor, |k| *k == EventKind::HandshakeSucceeded).await;
    }
}

/// Connects `socket` to `endpoint` and waits until the binder `bound_monitor` watches
/// has attached it.
pub async fn connect_settled(
    socket: &Socket,
    endpoint: &str,
    bound_monitor: &mut Monitor,
    transport: Transport,
) {
    socket.connect(endpoint).unwrap();
    handshakes(bound_monitor, transport, 1).await;
}

/// Polls `check` until it is true, failing after [`WAIT`].
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// libzmq's bytes, captured (zmtp/tests/vectors): a NULL greeting with no routing id.
pub const GREETING_NULL: &[u8] =
    include_bytes!("../../../zmtp/tests/vectors/greeting_null_no_identity.bin");
/// READY of a DEALER with routing id "client".
pub const READY_DEALER: &[u8] =
    include_bytes!("../../../zmtp/tests/vectors/ready_dealer_identity.bin");
/// READY of a SUB.
pub const READY_SUB: &[u8] = include_bytes!("../../../zmtp/tests/vectors/ready_sub.bin");
/// SUBSCRIBE to everything (ZMTP 3.1 command).
pub const SUBSCRIBE_ALL: &[u8] =
    include_bytes!("../../../zmtp/tests/vectors/subscribe_empty_zmtp31.bin");

/// One ZMTP frame read from a raw stream: its flags byte and body.
pub async fn read_frame(stream: &mut tokio::net::TcpStream) -> (u8, Vec<u8>) {
    use tokio::io::AsyncReadExt;
    let read = async {
        let flags = stream.read_u8().await?;
        let size = if flags & 0x02 != 0 {
            stream.read_u64().await?
        } else {
            u64::from(stream.read_u8().await?)
        };
        let mut body = vec![0; usize::try_from(size).unwrap()];
        stream.read_exact(&mut body).await?;
        std::io::Result::Ok((flags, body))
    };
    timeout(WAIT, read)
        .await
        .expect("no frame in time")
        .unwrap()
}

/// Connects raw TCP to `endpoint` (`tcp://host:port`) and does a NULL handshake by
/// hand, sending `ready`; returns the stream after the peer's READY.
pub async fn raw_handshake(endpoint: &str, ready: &[u8]) -> tokio::net::TcpStream {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = endpoint.strip_prefix("tcp://").unwrap();
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(GREETING_NULL).await.unwrap();
    let mut greeting = [0; 64];
    timeout(WAIT, stream.read_exact(&mut greeting))
        .await
        .expect("no greeting in time")
        .unwrap();
    assert_eq!(greeting[0], 0xff);
    stream.write_all(ready).await.unwrap();
    let (flags, body) = read_frame(&mut stream).await;
    assert_eq!(flags & 0x04, 0x04, "a command");
    assert!(body.starts_with(b"\x05READY"), "{body:?}");
    stream
}
