//! purezmq-curve against libzmq 4.3.5 over TCP, with nothing but `std::net`: CURVE in
//! both roles (REQ/REP, multipart, PUB/SUB with the subscription in the box,
//! heartbeats both ways), wrong keys and ZAP refusals, and certificate files written
//! by one side and read by the other.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant as StdInstant};

use bytes::Bytes;
use purezmq_curve::{Certificate, CurveClient, CurveServer, KeyPair, PublicKey};
use purezmq_interop_tests::PyPeer;
use purezmq_zmtp::mechanism::Mechanism;
use purezmq_zmtp::{
    AuthReply, AuthRequest, Config, Connection, Error, Event, HeartbeatConfig, Instant, Message,
    SocketType,
};

/// How long a pyzmq peer may take to say its next line.
const PEER_TIMEOUT: Duration = Duration::from_secs(15);

fn spawn_peer(args: &[&str]) -> PyPeer {
    PyPeer::spawn("curve_peer.py", args)
}

fn read_port(peer: &mut PyPeer) -> u16 {
    let line = peer.read_line(PEER_TIMEOUT);
    line.strip_prefix("PORT ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("expected PORT, got {line:?}"))
}

/// How a run ended when it did not get the wanted event.
#[derive(Debug, PartialEq)]
enum Failure {
    /// The connection failed with this error (its ERROR, if any, was sent).
    Protocol(Error),
    /// The peer closed the TCP connection.
    Closed,
}

/// Drives a connection over a blocking TCP stream.
struct Driver {
    stream: TcpStream,
    conn: Connection,
    start: StdInstant,
    /// Octets received so far.
    received: usize,
    /// Everything received, for tests that look at libzmq's own framing.
    log: Vec<u8>,
}

impl Driver {
    fn new(stream: TcpStream, config: Config, mechanism: impl Mechanism + 'static) -> Driver {
        stream
            .set_read_timeout(Some(Duration::from_millis(20)))
            .expect("set a read timeout");
        let conn = Connection::new(config, Box::new(mechanism), Instant::ZERO);
        Driver {
            stream,
            conn,
            start: StdInstant::now(),
            received: 0,
            log: Vec::new(),
        }
    }

    fn connect(port: u16, config: Config, mechanism: impl Mechanism + 'static) -> Driver {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the pyzmq peer");
        Driver::new(stream, config, mechanism)
    }

    fn now(&self) -> Instant {
        Instant::from_elapsed(self.start.elapsed())
    }

    /// Runs until an event matching `want` arrives, answering authentication requests
    /// with `auth`, or until `limit` passes (`Ok(None)`).
    fn run(
        &mut self,
        limit: Duration,
        auth: &mut dyn FnMut(&AuthRequest) -> AuthReply,
        want: &mut dyn FnMut(&Event) -> bool,
    ) -> Result<Option<Event>, Failure> {
        let deadline = StdInstant::now() + limit;
        loop {
            self.flush();
            while let Some(event) = self.conn.poll_event() {
                if let Event::AuthenticationRequested(request) = &event {
                    let reply = auth(request);
                    let result = self.conn.auth_reply(reply, self.now());
                    self.flush();
                    result.map_err(Failure::Protocol)?;
                    continue;
                }
                if want(&event) {
                    return Ok(Some(event));
                }
            }
            if StdInstant::now() >= deadline {
                return Ok(None);
            }
            if self.conn.poll_timeout().is_some_and(|at| at <= self.now()) {
                let now = self.now();
                self.conn.handle_timeout(now).map_err(Failure::Protocol)?;
                continue;
            }
            let mut buf = [0u8; 65536];
            match self.stream.read(&mut buf) {
                Ok(0) => return Err(Failure::Closed),
                Ok(n) => {
                    self.received += n;
                    self.log.extend_from_slice(&buf[..n]);
                    let now = self.now();
                    if let Err(e) = self.conn.feed(&buf[..n], now) {
                        self.flush();
                        return Err(Failure::Protocol(e));
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                    return Err(Failure::Closed);
                }
                Err(e) => panic!("read failed: {e}"),
            }
        }
    }

    /// Runs until `want` accepts an event; fails the test after 10 s.
    fn until(
        &mut self,
        auth: &mut dyn FnMut(&AuthRequest) -> AuthReply,
        want: &mut dyn FnMut(&Event) -> bool,
    ) -> Result<Event, Failure> {
        let event = self.run(Duration::from_secs(10), auth, want)?;
        Ok(event.expect("no wanted event within 10 s"))
    }

    fn flush(&mut self) {
        let out = self.conn.send_buffer().take_all();
        if !out.is_empty() {
            // The peer may have closed already; the next read tells.
            let _ = self.stream.write_all(&out);
        }
    }
}

fn accept_all(_: &AuthRequest) -> AuthReply {
    AuthReply::accept("")
}

fn is_handshake(e: &Event) -> bool {
    matches!(e, Event::HandshakeSucceeded(_))
}

fn is_message(e: &Event) -> bool {
    matches!(e, Event::Message(_))
}

fn frames(parts: &[&str]) -> Message {
    Message::from(
        parts
            .iter()
            .map(|p| Bytes::copy_from_slice(p.as_bytes()))
            .collect::<Vec<_>>(),
    )
}

/// A pyzmq REP serving CURVE with `server`'s keys; extra arguments as curve_peer.py
/// takes them.
fn libzmq_rep(server: &KeyPair, extra: &[&str]) -> (PyPeer, u16) {
    let secret = server.secret().to_z85();
    let mut args = vec!["rep-bind", secret.as_str()];
    args.extend_from_slice(extra);
    let mut peer = spawn_peer(&args);
    let port = read_port(&mut peer);
    (peer, port)
}

#[test]
fn curve_request_and_multipart_reply_with_libzmq_rep() {
    let server = KeyPair::generate();
    let (mut peer, port) = libzmq_rep(&server, &[]);
    let mut driver = Driver::connect(
        port,
        Config::new(SocketType::Req),
        CurveClient::new(KeyPair::generate(), *server.public()),
    );
    let Event::HandshakeSucceeded(info) = driver
        .until(&mut accept_all, &mut is_handshake)
        .expect("CURVE handshake with libzmq")
    else {
        unreachable!()
    };
    assert_eq!(info.socket_type, Some(SocketType::Rep));

    for round in ["one", "two"] {
        driver
            .conn
            .send(&frames(&["", "Hello", round]))
            .expect("ready");
        let reply = driver
            .until(&mut accept_all, &mut is_message)
            .expect("reply");
        assert_eq!(
            reply,
            Event::Message(frames(&["", "Hello", &format!("{round} World")]))
        );
        assert_eq!(peer.read_line(PEER_TIMEOUT), format!("GOT Hello|{round}"));
    }

    // libzmq's own framing, which ours copies: WELCOME and READY as commands, then each
    // reply frame as a MESSAGE in a frame without flags (MORE is inside the box).
    let mut stream = bytes::BytesMut::from(&driver.log[64..]);
    let decoder = purezmq_zmtp::frame::FrameDecoder::new(None);
    let mut seen = Vec::new();
    while let Some(frame) = decoder.decode(&mut stream).expect("libzmq's frames") {
        let name_len = usize::from(frame.body[0]);
        seen.push((frame.flags, frame.body[1..1 + name_len].to_vec()));
    }
    let command = purezmq_zmtp::frame::COMMAND;
    let mut expected = vec![(command, b"WELCOME".to_vec()), (command, b"READY".to_vec())];
    expected.extend(std::iter::repeat_n((0, b"MESSAGE".to_vec()), 6));
    assert_eq!(seen, expected);
}

#[test]
fn curve_heartbeats_both_ways_with_libzmq() {
    let server = KeyPair::generate();
    // libzmq PINGs every 100 ms and drops us after 300 ms without traffic.
    let (mut peer, port) = libzmq_rep(&server, &["heartbeat"]);
    let mut config = Config::new(SocketType::Req);
    config.heartbeat = HeartbeatConfig {
        interval: Some(Duration::from_millis(100)),
        timeout: Some(Duration::from_millis(300)),
        ttl: None,
    };
    let mut driver = Driver::connect(
        port,
        config,
        CurveClient::new(KeyPair::generate(), *server.public()),
    );
    driver
        .until(&mut accept_all, &mut is_handshake)
        .expect("handshake");
    // A second of nothing but PINGs and PONGs, all inside MESSAGE boxes: our PONGs
    // keep libzmq from dropping us, its PONGs keep our timeout away, and no command
    // surfaces as a message.
    let before = driver.received;
    let idle = driver.run(Duration::from_secs(1), &mut accept_all, &mut |_| true);
    assert_eq!(idle, Ok(None), "no event while idle");
    // At least one PING and one PONG from libzmq, each a MESSAGE of 2 + 33 + 6 octets.
    assert!(driver.received - before >= 2 * 41, "libzmq sent PINGs");
    driver
        .conn
        .send(&frames(&["", "still here"]))
        .expect("ready");
    let reply = driver
        .until(&mut accept_all, &mut is_message)
        .expect("connection alive");
    assert_eq!(reply, Event::Message(frames(&["", "still here World"])));
    assert_eq!(peer.read_line(PEER_TIMEOUT), "GOT still here");
}

#[test]
fn curve_subscription_inside_the_box_filters_at_libzmq_pub() {
    let server = KeyPair::generate();
    let secret = server.secret().to_z85();
    let mut peer = spawn_peer(&["pub-bind", secret.as_str()]);
    let port = read_port(&mut peer);
    let mut driver = Driver::connect(
        port,
        Config::new(SocketType::Sub),
        CurveClient::new(KeyPair::generate(), *server.public()),
    );
    driver
        .until(&mut accept_all, &mut is_handshake)
        .expect("handshake");
    driver.conn.subscribe(b"weather").expect("ready");
    for _ in 0..5 {
        let Event::Message(message) = driver
            .until(&mut accept_all, &mut is_message)
            .expect("published")
        else {
            unreachable!()
        };
        let [only] = message.frames() else {
            panic!("one frame: {message:?}")
        };
        assert!(only.starts_with(b"weather "), "{only:?}");
    }
}

#[test]
fn curve_client_with_wrong_server_key_is_dropped_by_libzmq() {
    let server = KeyPair::generate();
    let (_peer, port) = libzmq_rep(&server, &[]);
    let mut driver = Driver::connect(
        port,
        Config::new(SocketType::Req),
        CurveClient::new(KeyPair::generate(), *KeyPair::generate().public()),
    );
    // libzmq cannot open our HELLO box and closes without a word.
    assert_eq!(
        driver.until(&mut accept_all, &mut is_handshake),
        Err(Failure::Closed)
    );
}

#[test]
fn curve_client_admitted_by_libzmq_zap_allowlist() {
    let server = KeyPair::generate();
    let client = KeyPair::generate();
    let client_public = client.public().to_z85();
    let (_peer, port) = libzmq_rep(&server, &["allow", client_public.as_str()]);
    let mut driver = Driver::connect(
        port,
        Config::new(SocketType::Req),
        CurveClient::new(client, *server.public()),
    );
    driver
        .until(&mut accept_all, &mut is_handshake)
        .expect("admitted");
}

#[test]
fn curve_client_refused_by_libzmq_zap_gets_error_400() {
    let server = KeyPair::generate();
    let (_peer, port) = libzmq_rep(&server, &["deny-all"]);
    let mut driver = Driver::connect(
        port,
        Config::new(SocketType::Req),
        CurveClient::new(KeyPair::generate(), *server.public()),
    );
    let failure = driver
        .until(&mut accept_all, &mut is_handshake)
        .expect_err("refused");
    let Failure::Protocol(err) = failure else {
        panic!("expected an ERROR, got {failure:?}")
    };
    assert_eq!(
        err,
        Error::PeerRefused {
            reason: "400".into()
        }
    );
    assert!(err.is_authentication_failure());
}

/// A pyzmq REQ with `client`'s keys connects to our REP with `server`'s keys; returns
/// the peer's report line and how our side ended.
fn serve_libzmq_req(
    server: KeyPair,
    server_key_for_client: PublicKey,
    client: &KeyPair,
    auth: &mut dyn FnMut(&AuthRequest) -> AuthReply,
) -> (Result<(), Failure>, String) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a listener");
    let port = listener.local_addr().expect("bound").port().to_string();
    let server_public = server_key_for_client.to_z85();
    let client_secret = client.secret().to_z85();
    let mut peer = spawn_peer(&[
        "req-connect",
        port.as_str(),
        server_public.as_str(),
        client_secret.as_str(),
    ]);
    let (stream, _) = listener.accept().expect("the pyzmq REQ connects");
    let mut driver = Driver::new(
        stream,
        Config::new(SocketType::Rep),
        CurveServer::with_authentication(server),
    );
    let result = (|| {
        driver.until(auth, &mut is_handshake)?;
        let Event::Message(request) = driver.until(auth, &mut is_message)? else {
            unreachable!()
        };
        assert_eq!(request, frames(&["", "Hello", "again"]));
        driver
            .conn
            .send(&frames(&["", "World", "twice"]))
            .expect("ready");
        driver.flush();
        Ok(())
    })();
    driver.flush();
    (result, peer.read_line(PEER_TIMEOUT))
}

#[test]
fn curve_server_authenticates_libzmq_client_and_answers() {
    let server = KeyPair::generate();
    let server_public = *server.public();
    let client = KeyPair::generate();
    let mut asked = Vec::new();
    let (result, line) = serve_libzmq_req(server, server_public, &client, &mut |request| {
        asked.push(request.credentials.clone());
        AuthReply::accept("client")
    });
    assert_eq!(result, Ok(()));
    assert_eq!(line, "REPLY World|twice");
    assert_eq!(
        asked,
        vec![vec![Bytes::copy_from_slice(client.public().as_bytes())]]
    );
}

#[test]
fn curve_server_refusal_reaches_libzmq_as_auth_failure_400() {
    let server = KeyPair::generate();
    let server_public = *server.public();
    let client = KeyPair::generate();
    let (result, line) = serve_libzmq_req(server, server_public, &client, &mut |_| {
        AuthReply::deny(400, "not on the list")
    });
    assert!(
        matches!(&result, Err(Failure::Protocol(e)) if e.is_authentication_failure()),
        "{result:?}"
    );
    assert_eq!(line, "AUTH_FAILED 400");
}

#[test]
fn libzmq_client_with_wrong_server_key_is_refused() {
    let server = KeyPair::generate();
    let client = KeyPair::generate();
    let (result, _) = serve_libzmq_req(
        server,
        *KeyPair::generate().public(),
        &client,
        &mut accept_all,
    );
    assert_eq!(
        result,
        Err(Failure::Protocol(
            purezmq_curve::CurveError::HelloBox.into()
        ))
    );
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("purezmq-curve-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a temp dir");
    dir
}

fn key_line<'a>(line: &'a str, label: &str) -> &'a str {
    line.strip_prefix(label)
        .unwrap_or_else(|| panic!("expected {label}, got {line:?}"))
}

#[test]
fn certificates_written_by_pyzmq_are_read() {
    let dir = temp_dir("from-pyzmq");
    let dir_text = dir.to_str().expect("utf-8 path");
    let mut peer = spawn_peer(&["create-certs", dir_text, "server"]);
    let public = key_line(&peer.read_line(PEER_TIMEOUT), "PUBLIC ").to_owned();
    let secret = key_line(&peer.read_line(PEER_TIMEOUT), "SECRET ").to_owned();

    let public_cert = Certificate::load(dir.join("server.key")).expect("pyzmq's .key");
    assert_eq!(public_cert.public_key().to_z85(), public);
    assert!(public_cert.secret_key().is_none());
    // pyzmq writes the metadata into the secret file only.
    assert!(public_cert.metadata().is_empty());

    let secret_cert = Certificate::load(dir.join("server.key_secret")).expect("pyzmq's secret");
    assert_eq!(secret_cert.metadata_value("name"), Some("server"));
    let pair = secret_cert.key_pair().expect("has the secret key");
    assert_eq!(pair.public().to_z85(), public);
    assert_eq!(*pair.secret().to_z85(), secret);

    assert_eq!(
        Certificate::load_public_keys(&dir).expect("directory"),
        vec![*public_cert.public_key()]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn certificates_we_write_are_loaded_by_pyzmq() {
    let dir = temp_dir("to-pyzmq");
    let mut expected = Vec::new();
    for name in ["alice", "bob"] {
        let keys = KeyPair::generate();
        let cert = Certificate::new(keys.clone()).with_metadata("name", name);
        let (public_path, secret_path) = cert.save(&dir, name).expect("saved");
        let secret_path = secret_path.expect("has a secret");

        let mut peer = spawn_peer(&["load-cert", secret_path.to_str().expect("utf-8")]);
        assert_eq!(
            key_line(&peer.read_line(PEER_TIMEOUT), "PUBLIC "),
            keys.public().to_z85()
        );
        assert_eq!(
            key_line(&peer.read_line(PEER_TIMEOUT), "SECRET "),
            &*keys.secret().to_z85()
        );
        let mut peer = spawn_peer(&["load-cert", public_path.to_str().expect("utf-8")]);
        assert_eq!(
            key_line(&peer.read_line(PEER_TIMEOUT), "PUBLIC "),
            keys.public().to_z85()
        );
        assert_eq!(peer.read_line(PEER_TIMEOUT), "SECRET None");
        expected.push(keys.public().to_z85());
    }
    expected.sort();
    let mut peer = spawn_peer(&["load-certs", dir.to_str().expect("utf-8")]);
    let mut listed = Vec::new();
    loop {
        let line = peer.read_line(PEER_TIMEOUT);
        if line == "END" {
            break;
        }
        listed.push(key_line(&line, "KEY ").to_owned());
    }
    assert_eq!(listed, expected);
    let _ = std::fs::remove_dir_all(&dir);
}
