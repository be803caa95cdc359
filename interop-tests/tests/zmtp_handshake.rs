//! purezmq-zmtp against libzmq 4.3.5, with nothing but `std::net`: NULL and PLAIN
//! handshakes in both roles, then one request and its reply.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant as StdInstant};

use bytes::Bytes;
use purezmq_interop_tests::PyPeer;
use purezmq_zmtp::mechanism::{Mechanism, Null, PlainClient, PlainServer};
use purezmq_zmtp::{AuthReply, Config, Connection, Error, Event, Instant, Message, SocketType};

/// How long a pyzmq peer may take to say its next line.
const PEER_TIMEOUT: Duration = Duration::from_secs(15);

fn spawn_peer(args: &[&str]) -> PyPeer {
    PyPeer::spawn("zmtp_peer.py", args)
}

/// Drives `conn` over `stream` until `done` accepts an event or the connection fails.
struct Driver {
    stream: TcpStream,
    conn: Connection,
    start: StdInstant,
}

impl Driver {
    fn new(stream: TcpStream, ty: SocketType, mechanism: impl Mechanism + 'static) -> Driver {
        stream
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("set a read timeout");
        let conn = Connection::new(Config::new(ty), Box::new(mechanism), Instant::ZERO);
        Driver {
            stream,
            conn,
            start: StdInstant::now(),
        }
    }

    fn now(&self) -> Instant {
        Instant::from_elapsed(self.start.elapsed())
    }

    /// Runs until an event matching `want` arrives; answers authentication requests
    /// with `auth`.
    fn until(
        &mut self,
        mut auth: impl FnMut(&purezmq_zmtp::AuthRequest) -> AuthReply,
        mut want: impl FnMut(&Event) -> bool,
    ) -> Result<Event, Error> {
        let deadline = StdInstant::now() + Duration::from_secs(10);
        loop {
            self.flush();
            while let Some(event) = self.conn.poll_event() {
                if let Event::AuthenticationRequested(request) = &event {
                    let reply = auth(request);
                    let now = self.now();
                    let result = self.conn.auth_reply(reply, now);
                    self.flush();
                    result?;
                    continue;
                }
                if want(&event) {
                    return Ok(event);
                }
            }
            assert!(StdInstant::now() < deadline, "no wanted event within 10 s");
            let mut buf = [0u8; 65536];
            match self.stream.read(&mut buf) {
                Ok(0) => panic!("peer closed the connection"),
                Ok(n) => {
                    let now = self.now();
                    if let Err(e) = self.conn.feed(&buf[..n], now) {
                        self.flush();
                        return Err(e);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) => panic!("read failed: {e}"),
            }
        }
    }

    fn flush(&mut self) {
        let out = self.conn.send_buffer().take_all();
        if !out.is_empty() {
            self.stream.write_all(&out).expect("write to the peer");
        }
    }
}

fn accept_all(_: &purezmq_zmtp::AuthRequest) -> AuthReply {
    AuthReply::accept("")
}

fn is_handshake(e: &Event) -> bool {
    matches!(e, Event::HandshakeSucceeded(_))
}

fn is_message(e: &Event) -> bool {
    matches!(e, Event::Message(_))
}

/// Our REQ connects to a libzmq REP, sends "Hello", expects "Hello World".
fn request_to_libzmq(mechanism: impl Mechanism + 'static, peer_args: &[&str]) -> Result<(), Error> {
    let mut peer = spawn_peer(peer_args);
    let port_line = peer.read_line(PEER_TIMEOUT);
    let port = port_line
        .strip_prefix("PORT ")
        .expect("the peer prints its port");
    let stream = TcpStream::connect(("127.0.0.1", port.parse::<u16>().expect("a port number")))
        .expect("connect to the pyzmq REP");
    let mut driver = Driver::new(stream, SocketType::Req, mechanism);

    let handshake = driver.until(accept_all, is_handshake)?;
    let Event::HandshakeSucceeded(info) = handshake else {
        unreachable!()
    };
    assert_eq!(info.socket_type, Some(SocketType::Rep));

    let request = Message::from(vec![Bytes::new(), Bytes::from_static(b"Hello")]);
    driver.conn.send(&request).expect("ready");
    let reply = driver.until(accept_all, is_message)?;
    assert_eq!(
        reply,
        Event::Message(Message::from(vec![
            Bytes::new(),
            Bytes::from_static(b"Hello World")
        ]))
    );
    assert_eq!(peer.read_line(PEER_TIMEOUT), "GOT Hello");
    Ok(())
}

/// A libzmq REQ connects to our REP; we answer its request.
fn reply_to_libzmq(
    mechanism: impl Mechanism + 'static,
    auth: impl FnMut(&purezmq_zmtp::AuthRequest) -> AuthReply,
    peer_args: &[&str],
) -> (Result<(), Error>, String) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a listener");
    let port = listener
        .local_addr()
        .expect("bound address")
        .port()
        .to_string();
    let mut args = vec!["req-connect", port.as_str()];
    args.extend_from_slice(peer_args);
    let mut peer = spawn_peer(&args);
    let (stream, _) = listener.accept().expect("the pyzmq REQ connects");
    let mut driver = Driver::new(stream, SocketType::Rep, mechanism);
    let mut auth = auth;
    let result = (|| {
        driver.until(&mut auth, is_handshake)?;
        let Event::Message(request) = driver.until(&mut auth, is_message)? else {
            unreachable!()
        };
        let frames = request.frames();
        assert_eq!(frames, [Bytes::new(), Bytes::from_static(b"Hello")]);
        let reply = Message::from(vec![Bytes::new(), Bytes::from_static(b"World")]);
        driver.conn.send(&reply).expect("ready");
        driver.flush();
        Ok(())
    })();
    let line = if result.is_ok() {
        peer.read_line(PEER_TIMEOUT)
    } else {
        String::new()
    };
    (result, line)
}

#[test]
fn null_request_to_libzmq_rep() {
    request_to_libzmq(Null::new(), &["rep-bind", "null"]).expect("NULL handshake and reply");
}

#[test]
fn plain_request_to_libzmq_rep_with_right_password() {
    request_to_libzmq(PlainClient::new("admin", "secret"), &["rep-bind", "plain"])
        .expect("PLAIN handshake and reply");
}

#[test]
fn plain_request_to_libzmq_rep_with_wrong_password_is_refused() {
    let err = request_to_libzmq(PlainClient::new("admin", "wrong"), &["rep-bind", "plain"])
        .expect_err("libzmq's authenticator refuses");
    assert_eq!(
        err,
        Error::PeerRefused {
            reason: "400".into()
        }
    );
}

#[test]
fn null_reply_to_libzmq_req() {
    let (result, line) = reply_to_libzmq(Null::new(), accept_all, &["null"]);
    result.expect("NULL handshake and request");
    assert_eq!(line, "REPLY World");
}

#[test]
fn plain_server_authenticates_libzmq_client() {
    let mut asked = Vec::new();
    let (result, line) = reply_to_libzmq(
        PlainServer::with_authentication(),
        |request| {
            asked.push(request.credentials.clone());
            AuthReply::accept("admin")
        },
        &["plain", "admin", "secret"],
    );
    result.expect("PLAIN handshake and request");
    assert_eq!(line, "REPLY World");
    assert_eq!(
        asked,
        vec![vec![Bytes::from("admin"), Bytes::from("secret")]]
    );
}

#[test]
fn plain_server_refuses_libzmq_client_with_wrong_password() {
    let (result, _) = reply_to_libzmq(
        PlainServer::with_authentication(),
        |request| {
            if request.credentials[1] == "secret" {
                AuthReply::accept("admin")
            } else {
                AuthReply::deny(400, "wrong password")
            }
        },
        &["plain", "admin", "guess"],
    );
    let err = result.expect_err("refused");
    assert!(err.is_authentication_failure(), "{err}");
}
