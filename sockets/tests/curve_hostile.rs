//! Hostile CURVE clients over raw TCP against a purezmq CURVE server: the
//! behaviours libzmq's tests/test_security_curve.cpp asserts, and a few more.
//!
//! The server is a ROUTER with CURVE keys, a ZAP handler that admits one client
//! key, a monitor, and an application task that takes every message it receives.
//! Each hostile client is the sans-IO codec (`purezmq_zmtp::Connection` with
//! `purezmq_curve::CurveClient`, or another mechanism) whose frames pass through a
//! tamperer on their way to the socket, or plain bytes. For each:
//!
//! * the application never receives a message from it (a replayed or forged
//!   MESSAGE is not delivered; the genuine one before it is, once);
//! * the monitor reports why it was dropped, with the typed reason:
//!   HANDSHAKE_FAILED_PROTOCOL for broken handshakes, HANDSHAKE_FAILED_AUTH with
//!   status 400 when the ZAP handler refuses, PROTOCOL_ERROR and DISCONNECTED after
//!   the handshake; the handler is asked only about clients that complete a valid
//!   INITIATE;
//! * the server closes the connection, and then serves a well-behaved purezmq CURVE
//!   client: one request and its reply.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use common::{WAIT, wait_event};
use purezmq::curve::{CurveClient, CurveError, KeyPair, PublicKey};
use purezmq::monitor::{EventKind, Monitor};
use purezmq::zap::{AuthReply, MechanismName, ZapRequest};
use purezmq::zmtp::frame::{COMMAND, LONG, MAX_HEADER_LEN, encode_header};
use purezmq::zmtp::mechanism::{Mechanism, Null, PlainClient};
use purezmq::zmtp::{Config, Connection, Error, Greeting, Instant};
use purezmq::{Message, Options, Security, Socket, SocketType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::timeout;

/// What the handler says to a key it does not know.
const REFUSAL: &str = "unknown client key";

// ---- the server ----

/// The CURVE server under attack.
struct Server {
    socket: Socket,
    monitor: Monitor,
    endpoint: String,
    keys: KeyPair,
    /// The one client key the ZAP handler admits.
    allowed: KeyPair,
    /// Every request the ZAP handler was asked, in order.
    asked: Arc<Mutex<Vec<ZapRequest>>>,
    /// What the application received, in order.
    received: mpsc::UnboundedReceiver<Message>,
}

impl Server {
    fn start() -> Server {
        let keys = KeyPair::generate();
        let allowed = KeyPair::generate();
        let options = Options {
            security: Security::CurveServer {
                keypair: keys.clone(),
            },
            linger: Some(Duration::ZERO),
            ..Options::default()
        };
        let socket = Socket::with_options(SocketType::Router, options).unwrap();
        let asked: Arc<Mutex<Vec<ZapRequest>>> = Arc::default();
        let allowed_key = *allowed.public();
        let recorded = Arc::clone(&asked);
        socket.set_zap_handler(move |request: ZapRequest| {
            let known = request.mechanism == MechanismName::CURVE
                && request.credentials.first().map(|key| &key[..])
                    == Some(&allowed_key.as_bytes()[..]);
            recorded.lock().unwrap().push(request);
            async move {
                if known {
                    AuthReply::accept("allowed")
                } else {
                    AuthReply::deny(400, REFUSAL)
                }
            }
        });
        let monitor = socket.monitor();
        socket.bind("tcp://127.0.0.1:*").unwrap();
        let endpoint = socket.last_endpoint();

        // The application: takes every message as soon as it arrives.
        let (deliver, received) = mpsc::unbounded_channel();
        let application = socket.clone();
        tokio::spawn(async move {
            while let Ok(message) = application.recv().await {
                if deliver.send(message).is_err() {
                    break;
                }
            }
        });
        Server {
            socket,
            monitor,
            endpoint,
            keys,
            allowed,
            asked,
            received,
        }
    }

    fn address(&self) -> &str {
        self.endpoint.strip_prefix("tcp://").unwrap()
    }

    /// How many times the ZAP handler was asked.
    fn zap_requests(&self) -> usize {
        self.asked.lock().unwrap().len()
    }

    /// The next event that ends a connection's handshake or the connection (the
    /// handshake failures, PROTOCOL_ERROR, and HANDSHAKE_SUCCEEDED, which a hostile
    /// client must never reach), then DISCONNECTED after it.
    async fn verdict(&mut self) -> EventKind {
        let event = wait_event(&mut self.monitor, |kind| {
            matches!(
                kind,
                EventKind::HandshakeSucceeded
                    | EventKind::HandshakeFailedNoDetail(_)
                    | EventKind::HandshakeFailedProtocol(_)
                    | EventKind::HandshakeFailedAuth { .. }
                    | EventKind::ProtocolError(_)
            )
        })
        .await;
        if event.kind != EventKind::HandshakeSucceeded {
            wait_event(&mut self.monitor, |kind| *kind == EventKind::Disconnected).await;
        }
        event.kind
    }

    /// Fails if the application has received anything.
    fn nothing_delivered(&mut self, what: &str) {
        if let Ok(message) = self.received.try_recv() {
            panic!("{what}: the application received {:?}", message.frames());
        }
    }

    /// The next message the application receives.
    async fn delivered(&mut self) -> Message {
        timeout(WAIT, self.received.recv())
            .await
            .expect("no message within WAIT")
            .expect("the application stopped")
    }

    /// The server still serves a well-behaved CURVE client with the allowed key: one
    /// request and its reply, and nothing else reaches the application.
    async fn still_serves(&mut self) {
        self.serves(Bytes::from_static(b"good")).await;
    }

    /// A client with the allowed key and `routing_id` gets one request through and
    /// its reply, and nothing else reaches the application.
    async fn serves(&mut self, routing_id: Bytes) {
        let options = Options {
            security: Security::CurveClient {
                keypair: self.allowed.clone(),
                server_key: *self.keys.public(),
            },
            routing_id: routing_id.clone(),
            linger: Some(Duration::ZERO),
            ..Options::default()
        };
        let client = Socket::with_options(SocketType::Dealer, options).unwrap();
        client.connect(&self.endpoint).unwrap();
        client.send("hello").await.unwrap();
        let request = self.delivered().await;
        assert_eq!(
            request.frames(),
            [routing_id.clone(), Bytes::from_static(b"hello")],
            "the good client's request is the first message the application sees"
        );
        self.socket
            .send(vec![routing_id, Bytes::from_static(b"world")])
            .await
            .unwrap();
        let reply = timeout(WAIT, client.recv()).await.unwrap().unwrap();
        assert_eq!(reply.frames(), ["world"]);
        self.nothing_delivered("after the good client's request");
        client.close().await;
    }
}

// ---- the hostile client ----

/// What the tamperer does to the n-th frame the codec sends after the greeting
/// (HELLO is 0, INITIATE 1, then the MESSAGEs): it gets the frame's flags and body
/// and returns the octets to send in its place.
type Tamper = Box<dyn FnMut(usize, u8, &[u8]) -> Vec<u8> + Send>;

/// Sends every frame as it is.
fn honest() -> Tamper {
    Box::new(|_, flags, body| frame(flags, body))
}

/// Replaces frame `index` with `replace(body)`, a whole frame.
fn replace_frame(index: usize, replace: impl Fn(&[u8]) -> Vec<u8> + Send + 'static) -> Tamper {
    Box::new(move |n, flags, body| {
        if n == index {
            replace(body)
        } else {
            frame(flags, body)
        }
    })
}

/// Flips the low bit of octet `at` of frame `index`'s body.
fn flip(index: usize, at: usize) -> Tamper {
    Box::new(move |n, flags, body| {
        let mut body = body.to_vec();
        if n == index {
            body[at] ^= 1;
        }
        frame(flags, &body)
    })
}

/// The octets of a frame.
fn frame(flags: u8, body: &[u8]) -> Vec<u8> {
    let mut header = [0; MAX_HEADER_LEN];
    let len = encode_header(&mut header, flags, body.len());
    [&header[..len], body].concat()
}

/// How a hostile client's exchange ended.
#[derive(Debug)]
enum End {
    /// What it waited for happened.
    Done,
    /// The server closed the connection.
    Closed,
    /// Its own codec failed on what the server sent.
    Failed(Error),
}

/// A client speaking through the sans-IO codec, with a tamperer on its output.
struct Hostile {
    stream: TcpStream,
    conn: Connection,
    tamper: Tamper,
    /// Greeting octets still to pass untouched.
    greeting_left: usize,
    /// Octets the codec queued, not yet cut into frames.
    pending: BytesMut,
    /// Frames sent after the greeting, as sent.
    sent: Vec<Vec<u8>>,
    started: std::time::Instant,
}

impl Hostile {
    async fn connect(server: &Server, mechanism: Box<dyn Mechanism>, tamper: Tamper) -> Hostile {
        let stream = TcpStream::connect(server.address()).await.unwrap();
        let conn = Connection::new(Config::new(SocketType::Dealer), mechanism, Instant::ZERO);
        Hostile {
            stream,
            conn,
            tamper,
            greeting_left: 64,
            pending: BytesMut::new(),
            sent: Vec::new(),
            started: std::time::Instant::now(),
        }
    }

    /// A CURVE client with `keys`, to a server whose key it believes is `server_key`.
    async fn curve(
        server: &Server,
        keys: &KeyPair,
        server_key: PublicKey,
        tamper: Tamper,
    ) -> Hostile {
        let mechanism = CurveClient::new(keys.clone(), server_key);
        Hostile::connect(server, Box::new(mechanism), tamper).await
    }

    /// A CURVE client that knows the server's key and has the allowed key.
    async fn allowed(server: &Server, tamper: Tamper) -> Hostile {
        Hostile::curve(server, &server.allowed, *server.keys.public(), tamper).await
    }

    fn now(&self) -> Instant {
        Instant::from_elapsed(self.started.elapsed())
    }

    /// Writes what the codec queued: the greeting as it is, then each whole frame
    /// through the tamperer. A write error means the server has closed.
    async fn flush(&mut self) -> std::io::Result<()> {
        let queued = self.conn.send_buffer().take_all();
        self.pending.extend_from_slice(&queued);
        let mut out = Vec::new();
        let greeting = self.greeting_left.min(self.pending.len());
        out.extend_from_slice(&self.pending.split_to(greeting));
        self.greeting_left -= greeting;
        while let Some((flags, body)) = self.next_frame() {
            let bytes = (self.tamper)(self.sent.len(), flags, &body);
            out.extend_from_slice(&bytes);
            self.sent.push(bytes);
        }
        self.stream.write_all(&out).await
    }

    /// Cuts the next whole frame off the codec's output.
    fn next_frame(&mut self) -> Option<(u8, Vec<u8>)> {
        if self.greeting_left > 0 {
            return None;
        }
        let flags = *self.pending.first()?;
        let (header, len) = if flags & LONG != 0 {
            let size = self.pending.get(1..9)?;
            (9, u64::from_be_bytes(size.try_into().ok()?) as usize)
        } else {
            (2, usize::from(*self.pending.get(1)?))
        };
        if self.pending.len() < header + len {
            return None;
        }
        self.pending.advance(header);
        Some((flags, self.pending.split_to(len).to_vec()))
    }

    /// Writes octets of its own.
    async fn write(&mut self, octets: &[u8]) {
        // The server may have closed already; what matters is what it does.
        let _ = self.stream.write_all(octets).await;
    }

    /// Exchanges octets until `done` holds, the server closes, or the codec fails.
    async fn run(&mut self, done: impl Fn(&Connection) -> bool) -> End {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if self.flush().await.is_err() {
                return End::Closed;
            }
            if done(&self.conn) {
                return End::Done;
            }
            let mut buffer = [0; 4096];
            let read = tokio::time::timeout_at(deadline, self.stream.read(&mut buffer)).await;
            match read.expect("the server neither answered nor closed within WAIT") {
                Ok(0) | Err(_) => return End::Closed,
                Ok(n) => {
                    let now = self.now();
                    if let Err(e) = self.conn.feed(&buffer[..n], now) {
                        let _ = self.flush().await;
                        return End::Failed(e);
                    }
                }
            }
        }
    }

    /// Runs until the server closes the connection; returns whether the codec failed
    /// on the way, and how.
    async fn until_closed(&mut self) -> Option<Error> {
        let failure = match self.run(|_| false).await {
            End::Closed => None,
            End::Failed(e) => Some(e),
            End::Done => unreachable!("never done"),
        };
        closed_by_server(&mut self.stream).await;
        failure
    }
}

/// Reading gives end of stream (or a reset) within [`WAIT`].
async fn closed_by_server(stream: &mut TcpStream) {
    let mut buffer = [0; 1024];
    loop {
        match timeout(WAIT, stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => return,
            Ok(Ok(_)) => continue,
            Err(_) => panic!("the server kept the connection open"),
        }
    }
}

/// The monitor's reason for a handshake broken by the peer.
fn protocol(error: impl Into<Error>) -> EventKind {
    EventKind::HandshakeFailedProtocol(error.into().to_string())
}

/// A hostile client was dropped for `expected` without the ZAP handler being asked
/// or an ERROR sent, delivered nothing, and the server goes on serving.
async fn dropped_before_zap(server: &mut Server, client: &mut Hostile, expected: EventKind) {
    dropped_before_zap_seeing(server, client, None, expected).await;
}

/// [`dropped_before_zap`], where the client's own codec fails with `client_sees`
/// on what the server sent.
async fn dropped_before_zap_seeing(
    server: &mut Server,
    client: &mut Hostile,
    client_sees: Option<Error>,
    expected: EventKind,
) {
    let failure = client.until_closed().await;
    assert_eq!(
        failure, client_sees,
        "the server sends no ERROR for a broken handshake"
    );
    assert_eq!(server.verdict().await, expected);
    assert_eq!(server.zap_requests(), 0, "the ZAP handler is not asked");
    server.nothing_delivered("from the hostile client");
    server.still_serves().await;
}

// ---- keys and mechanisms ----

/// As libzmq's test with a large routing id: the longest one makes INITIATE's
/// metadata, inside the box, as large as it gets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_with_a_255_octet_routing_id_is_served() {
    let mut server = Server::start();
    let routing_id: Bytes = (0..255).map(|i| b'0' + (i % 10) as u8).collect();
    server.serves(routing_id).await;
    assert_eq!(server.verdict().await, EventKind::HandshakeSucceeded);
    assert_eq!(server.zap_requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_with_the_wrong_server_key_is_dropped_at_hello() {
    let mut server = Server::start();
    let impostor = *KeyPair::generate().public();
    let mut client = Hostile::curve(&server, &server.allowed.clone(), impostor, honest()).await;
    dropped_before_zap(&mut server, &mut client, protocol(CurveError::HelloBox)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_with_the_all_zero_server_key_is_dropped_at_hello() {
    let mut server = Server::start();
    let zero = PublicKey::try_from(&[0u8; 32][..]).unwrap();
    let mut client = Hostile::curve(&server, &server.allowed.clone(), zero, honest()).await;
    dropped_before_zap(&mut server, &mut client, protocol(CurveError::HelloBox)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_client_key_is_refused_by_zap_with_400() {
    let mut server = Server::start();
    let stranger = KeyPair::generate();
    let mut client = Hostile::curve(&server, &stranger, *server.keys.public(), honest()).await;
    let failure = client.until_closed().await;
    assert_eq!(
        failure,
        Some(Error::PeerRefused {
            reason: "400".into()
        }),
        "the client is told 400"
    );
    assert_eq!(
        server.verdict().await,
        EventKind::HandshakeFailedAuth {
            status_code: 400,
            reason: REFUSAL.into()
        }
    );
    let asked = server.asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 1, "the ZAP handler is asked once");
    assert_eq!(
        asked[0].credentials,
        [Bytes::copy_from_slice(stranger.public().as_bytes())]
    );
    server.nothing_delivered("from the refused client");
    server.still_serves().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_null_client_is_a_mechanism_mismatch() {
    let mut server = Server::start();
    let mut client = Hostile::connect(&server, Box::new(Null::new()), honest()).await;
    let expected = protocol(Error::MechanismMismatch {
        ours: MechanismName::CURVE,
        peer: MechanismName::NULL,
    });
    // The client sees the mismatch in the server's greeting too.
    let client_sees = Error::MechanismMismatch {
        ours: MechanismName::NULL,
        peer: MechanismName::CURVE,
    };
    dropped_before_zap_seeing(&mut server, &mut client, Some(client_sees), expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_client_is_a_mechanism_mismatch() {
    let mut server = Server::start();
    let plain = PlainClient::new("admin", "password");
    let mut client = Hostile::connect(&server, Box::new(plain), honest()).await;
    let expected = protocol(Error::MechanismMismatch {
        ours: MechanismName::CURVE,
        peer: MechanismName::PLAIN,
    });
    // The client sees the mismatch in the server's greeting too.
    let client_sees = Error::MechanismMismatch {
        ours: MechanismName::PLAIN,
        peer: MechanismName::CURVE,
    };
    dropped_before_zap_seeing(&mut server, &mut client, Some(client_sees), expected).await;
}

// ---- broken HELLO ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hello_of_the_wrong_length_is_malformed() {
    let mut server = Server::start();
    let short = replace_frame(0, |_| frame(COMMAND, b"\x05HELLO"));
    let mut client = Hostile::allowed(&server, short).await;
    let expected = protocol(Error::MalformedCommand {
        command: "HELLO".into(),
        reason: "not 200 octets",
    });
    dropped_before_zap(&mut server, &mut client, expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hello_with_another_version_is_refused() {
    let mut server = Server::start();
    // The body is %x05 "HELLO" then the version: major at octet 6.
    let version_2 = replace_frame(0, |body| {
        let mut body = body.to_vec();
        body[6] = 2;
        frame(COMMAND, &body)
    });
    let mut client = Hostile::allowed(&server, version_2).await;
    let expected = protocol(CurveError::UnsupportedVersion { major: 2, minor: 0 });
    dropped_before_zap(&mut server, &mut client, expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hello_with_a_misspelled_name_is_unexpected() {
    let mut server = Server::start();
    let misspelled = replace_frame(0, |body| {
        let mut body = body.to_vec();
        body[5] = b'X';
        frame(COMMAND, &body)
    });
    let mut client = Hostile::allowed(&server, misspelled).await;
    let expected = protocol(Error::UnexpectedCommand {
        command: "HELLX".into(),
        expected: "waiting for HELLO",
    });
    dropped_before_zap(&mut server, &mut client, expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_frame_instead_of_hello_is_refused() {
    let mut server = Server::start();
    let sneaky = replace_frame(0, |_| frame(0, b"sneaky"));
    let mut client = Hostile::allowed(&server, sneaky).await;
    dropped_before_zap(
        &mut server,
        &mut client,
        protocol(Error::MessageDuringHandshake),
    )
    .await;
}

// ---- broken INITIATE ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_initiate_of_the_wrong_length_is_malformed() {
    let mut server = Server::start();
    let short = replace_frame(1, |_| frame(COMMAND, b"\x08INITIATE"));
    let mut client = Hostile::allowed(&server, short).await;
    let expected = protocol(Error::MalformedCommand {
        command: "INITIATE".into(),
        reason: "shorter than 257 octets",
    });
    dropped_before_zap(&mut server, &mut client, expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_initiate_with_a_corrupted_cookie_is_refused() {
    let mut server = Server::start();
    // %x08 "INITIATE" (9 octets), then the cookie: a 16-octet nonce and its box.
    let mut client = Hostile::allowed(&server, flip(1, 30)).await;
    dropped_before_zap(&mut server, &mut client, protocol(CurveError::Cookie)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_initiate_with_a_corrupted_box_is_refused() {
    let mut server = Server::start();
    // After the name (9) and the cookie (96): the short nonce (8), then the box.
    let mut client = Hostile::allowed(&server, flip(1, 150)).await;
    dropped_before_zap(&mut server, &mut client, protocol(CurveError::InitiateBox)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_initiate_with_a_misspelled_name_is_unexpected() {
    let mut server = Server::start();
    let misspelled = replace_frame(1, |body| {
        let mut body = body.to_vec();
        body[5] = b'X';
        frame(COMMAND, &body)
    });
    let mut client = Hostile::allowed(&server, misspelled).await;
    let expected = protocol(Error::UnexpectedCommand {
        command: "INITXATE".into(),
        expected: "waiting for INITIATE",
    });
    dropped_before_zap(&mut server, &mut client, expected).await;
}

// ---- after the handshake ----

/// An allowed client completes the handshake and sends "hello", which the
/// application receives once; returns the client and the MESSAGE frame it sent.
async fn handshake_and_hello(server: &mut Server) -> (Hostile, Vec<u8>) {
    let mut client = Hostile::allowed(server, honest()).await;
    match client.run(Connection::is_ready).await {
        End::Done => {}
        other => panic!("the allowed client's handshake failed: {other:?}"),
    }
    assert_eq!(server.verdict().await, EventKind::HandshakeSucceeded);
    client.conn.send(&Message::from("hello")).unwrap();
    client.flush().await.unwrap();
    let message = server.delivered().await;
    assert_eq!(message.frames().last().map(|f| &f[..]), Some(&b"hello"[..]));
    let sent = client.sent.last().cloned().unwrap();
    assert!(sent[2..].starts_with(b"\x07MESSAGE"), "a MESSAGE: {sent:?}");
    (client, sent)
}

/// The short nonce of a MESSAGE frame (short header, %x07 "MESSAGE", then the nonce).
fn short_nonce(message_frame: &[u8]) -> u64 {
    u64::from_be_bytes(message_frame[10..18].try_into().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_message_is_not_delivered_and_drops_the_client() {
    let mut server = Server::start();
    let (mut client, hello) = handshake_and_hello(&mut server).await;
    client.write(&hello).await;
    let nonce = short_nonce(&hello);
    assert_eq!(client.until_closed().await, None);
    let expected = CurveError::NonceNotIncreasing {
        command: "MESSAGE",
        nonce,
        last: nonce,
    };
    assert_eq!(
        server.verdict().await,
        EventKind::ProtocolError(Error::from(expected).to_string())
    );
    assert_eq!(server.zap_requests(), 1, "asked once, for the handshake");
    server.nothing_delivered("the replay");
    server.still_serves().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_message_is_not_delivered_and_drops_the_client() {
    let mut server = Server::start();
    let (mut client, _) = handshake_and_hello(&mut server).await;
    // The next MESSAGE (after HELLO, INITIATE and "hello"), with a bit of its box's
    // tag flipped: %x07 "MESSAGE" (8 octets), the short nonce (8), then the box.
    client.tamper = flip(3, 20);
    client.conn.send(&Message::from("forged")).unwrap();
    assert_eq!(client.until_closed().await, None);
    assert_eq!(
        server.verdict().await,
        EventKind::ProtocolError(Error::from(CurveError::MessageBox).to_string())
    );
    server.nothing_delivered("the forged message");
    server.still_serves().await;
}

/// Cleartext injected into an established CURVE session (as by someone on the path):
/// every frame after the handshake must be a MESSAGE box.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_injected_cleartext_frame_is_not_delivered_and_drops_the_client() {
    let mut server = Server::start();
    let (mut client, _) = handshake_and_hello(&mut server).await;
    client.write(&frame(0, b"\x08injected")).await;
    assert_eq!(client.until_closed().await, None);
    let expected = Error::UnexpectedCommand {
        command: "injected".into(),
        expected: "expecting MESSAGE after the CURVE handshake",
    };
    assert_eq!(
        server.verdict().await,
        EventKind::ProtocolError(expected.to_string())
    );
    server.nothing_delivered("the injected frame");
    server.still_serves().await;
}

/// A whole captured session replayed on a new connection: the honest client's HELLO,
/// then (after the server's WELCOME, which the replayer cannot open) its INITIATE and
/// its MESSAGE. The INITIATE carries a cookie this connection was never given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_replayed_on_a_new_connection_is_refused() {
    let mut server = Server::start();
    let (honest, hello_message) = handshake_and_hello(&mut server).await;
    let (hello, initiate) = (honest.sent[0].clone(), honest.sent[1].clone());

    let mut replayer = TcpStream::connect(server.address()).await.unwrap();
    let greeting = Greeting::new(MechanismName::CURVE, false).encode();
    replayer.write_all(&greeting).await.unwrap();
    replayer.write_all(&hello).await.unwrap();
    let mut server_greeting = [0; 64];
    timeout(WAIT, replayer.read_exact(&mut server_greeting))
        .await
        .unwrap()
        .unwrap();
    let (_, welcome) = common::read_frame(&mut replayer).await;
    assert!(welcome.starts_with(b"\x07WELCOME"), "{welcome:?}");
    let _ = replayer.write_all(&initiate).await;
    // Were the INITIATE accepted, the server would answer READY; the MESSAGE would
    // then be taken as the honest client's, a second time. It must close instead.
    let mut answer = [0; 1];
    if let Ok(Ok(1)) = timeout(WAIT, replayer.read(&mut answer)).await {
        let _ = replayer.write_all(&hello_message).await;
    }
    assert_eq!(server.verdict().await, protocol(CurveError::Cookie));
    closed_by_server(&mut replayer).await;
    assert_eq!(
        server.zap_requests(),
        1,
        "asked once, for the honest client"
    );
    server.nothing_delivered("the replayed session");
    server.still_serves().await;
}

// ---- not ZMTP 3 ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zmtp_1_0_greeting_and_message_are_refused() {
    let mut server = Server::start();
    let mut stream = TcpStream::connect(server.address()).await.unwrap();
    // ZMTP 1.0: an empty routing id frame (length 1, flags 0), then a message frame
    // (length 8, flags 0, "sneaky\0").
    let _ = stream.write_all(b"\x01\x00\x08\x00sneaky\x00").await;
    closed_by_server(&mut stream).await;
    assert_eq!(server.verdict().await, protocol(Error::UnversionedPeer));
    assert_eq!(server.zap_requests(), 0);
    server.nothing_delivered("from the ZMTP 1.0 peer");
    server.still_serves().await;
}
