//! CURVE handshakes and traffic between two in-memory connections, honest and hostile:
//! the behaviours libzmq's test_security_curve asserts, without a network.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use purezmq_curve::rand_core::OsRng;
use purezmq_curve::{CookieKeyring, CurveClient, CurveError, CurveServer, KeyPair, PublicKey};
use purezmq_zmtp::frame::{COMMAND, Frame, FrameDecoder, MAX_HEADER_LEN, encode_header};
use purezmq_zmtp::mechanism::{Mechanism, Null, PlainClient};
use purezmq_zmtp::{
    AuthReply, Config, Connection, Error, Event, HeartbeatConfig, Instant, Message, SocketType,
};

fn at(ms: u64) -> Instant {
    Instant::from_elapsed(Duration::from_millis(ms))
}

fn keys() -> KeyPair {
    KeyPair::generate()
}

fn conn(ty: SocketType, mechanism: impl Mechanism + 'static) -> Connection {
    Connection::new(Config::new(ty), Box::new(mechanism), at(0))
}

/// One direction of the byte stream, cut into frames after the 64-octet greeting so
/// that a test can change or drop them on the way.
struct Tap {
    greeting_left: usize,
    frames: usize,
    buffer: BytesMut,
}

/// What a tap does to the `index`-th frame after the greeting: change it in place, or
/// return false to drop it.
type Edit<'a> = &'a mut dyn FnMut(usize, &mut Frame) -> bool;

impl Tap {
    fn new() -> Tap {
        Tap {
            greeting_left: 64,
            frames: 0,
            buffer: BytesMut::new(),
        }
    }

    fn pass(&mut self, chunk: &[u8], edit: Edit<'_>) -> Vec<u8> {
        let greeting = chunk.len().min(self.greeting_left);
        self.greeting_left -= greeting;
        let mut out = chunk[..greeting].to_vec();
        self.buffer.extend_from_slice(&chunk[greeting..]);
        let decoder = FrameDecoder::new(None);
        while let Ok(Some(mut frame)) = decoder.decode(&mut self.buffer) {
            let keep = edit(self.frames, &mut frame);
            self.frames += 1;
            if keep {
                out.extend_from_slice(&wire(&frame));
            }
        }
        out
    }
}

/// A client and a server connection with taps on both directions.
struct Link {
    client: Connection,
    server: Connection,
    to_server: Tap,
    to_client: Tap,
}

impl Link {
    fn new(client: Connection, server: Connection) -> Link {
        Link {
            client,
            server,
            to_server: Tap::new(),
            to_client: Tap::new(),
        }
    }

    fn curve(client_ty: SocketType, server_ty: SocketType) -> Link {
        let server_keys = keys();
        let server_public = *server_keys.public();
        Link::new(
            conn(client_ty, CurveClient::new(keys(), server_public)),
            conn(server_ty, CurveServer::new(server_keys)),
        )
    }

    /// Moves bytes until both sides are quiet; returns each side's first failure.
    fn pump(&mut self) -> (Option<Error>, Option<Error>) {
        self.pump_editing(&mut |_, _| true, &mut |_, _| true)
    }

    fn pump_editing(
        &mut self,
        to_server: Edit<'_>,
        to_client: Edit<'_>,
    ) -> (Option<Error>, Option<Error>) {
        let (mut client_error, mut server_error) = (None, None);
        for _ in 0..100 {
            let c2s = self.client.send_buffer().take_all();
            let s2c = self.server.send_buffer().take_all();
            if c2s.is_empty() && s2c.is_empty() {
                break;
            }
            let c2s = self.to_server.pass(&c2s, to_server);
            let s2c = self.to_client.pass(&s2c, to_client);
            if server_error.is_none() && !c2s.is_empty() {
                server_error = self.server.feed(&c2s, at(0)).err();
            }
            if client_error.is_none() && !s2c.is_empty() {
                client_error = self.client.feed(&s2c, at(0)).err();
            }
        }
        (client_error, server_error)
    }
}

fn events(c: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

fn messages(c: &mut Connection) -> Vec<Event> {
    events(c)
        .into_iter()
        .filter(|e| matches!(e, Event::Message(_)))
        .collect()
}

fn message(frames: &[&'static [u8]]) -> Message {
    Message::from(
        frames
            .iter()
            .map(|f| Bytes::from_static(f))
            .collect::<Vec<_>>(),
    )
}

fn ready_link(client_ty: SocketType, server_ty: SocketType) -> Link {
    let mut link = Link::curve(client_ty, server_ty);
    assert_eq!(link.pump(), (None, None));
    assert!(link.client.is_ready() && link.server.is_ready());
    events(&mut link.client);
    events(&mut link.server);
    link
}

/// A frame as octets on the wire.
fn wire(frame: &Frame) -> Vec<u8> {
    let mut header = [0; MAX_HEADER_LEN];
    let n = encode_header(&mut header, frame.flags, frame.body.len());
    let mut out = header[..n].to_vec();
    out.extend_from_slice(&frame.body);
    out
}

/// The bytes of a frame with a changed octet.
fn flip(frame: &mut Frame, at: usize) {
    let mut body = frame.body.to_vec();
    body[at] ^= 0x01;
    frame.body = Bytes::from(body);
}

#[test]
fn handshake_then_request_and_reply() {
    let mut link = Link::curve(SocketType::Req, SocketType::Rep);
    assert_eq!(link.pump(), (None, None));
    let Some(Event::HandshakeSucceeded(peer)) = link.server.poll_event() else {
        panic!("server not ready")
    };
    assert_eq!(peer.socket_type, Some(SocketType::Req));
    let Some(Event::HandshakeSucceeded(peer)) = link.client.poll_event() else {
        panic!("client not ready")
    };
    assert_eq!(peer.socket_type, Some(SocketType::Rep));

    let request = message(&[b"", b"Hello"]);
    link.client.send(&request).expect("ready");
    assert_eq!(link.pump(), (None, None));
    assert_eq!(events(&mut link.server), vec![Event::Message(request)]);

    let reply = message(&[b"", b"World", &[0xAB; 3000]]);
    link.server.send(&reply).expect("ready");
    assert_eq!(link.pump(), (None, None));
    assert_eq!(events(&mut link.client), vec![Event::Message(reply)]);
}

#[test]
fn handshake_commands_have_libzmqs_sizes() {
    let mut link = Link::curve(SocketType::Dealer, SocketType::Router);
    let mut client_sizes = Vec::new();
    let mut server_sizes = Vec::new();
    let result = link.pump_editing(
        &mut |_, f| {
            client_sizes.push((f.flags, f.body.len(), f.body[..9].to_vec()));
            true
        },
        &mut |_, f| {
            server_sizes.push((f.flags, f.body.len(), f.body[..8].to_vec()));
            true
        },
    );
    assert_eq!(result, (None, None));
    // HELLO: 200 octets, version 1.0, 72 zero octets of padding.
    assert_eq!(client_sizes[0].0, COMMAND);
    assert_eq!(client_sizes[0].1, 200);
    assert_eq!(&client_sizes[0].2[..8], b"\x05HELLO\x01\x00");
    // INITIATE: 257 octets and the client's metadata (Socket-Type DEALER, Identity).
    assert_eq!(&client_sizes[1].2[..], b"\x08INITIATE");
    assert_eq!(client_sizes[1].1, 257 + 22 + 13);
    // WELCOME: 168 octets; READY: 30 and the server's metadata (ROUTER, Identity).
    assert_eq!(server_sizes[0].1, 168);
    assert_eq!(&server_sizes[0].2[..], b"\x07WELCOME");
    assert_eq!(server_sizes[1].1, 30 + 22 + 13);
    assert_eq!(&server_sizes[1].2[..6], b"\x05READY");
}

#[test]
fn messages_travel_boxed_with_increasing_nonces() {
    let mut link = ready_link(SocketType::Push, SocketType::Pull);
    link.client
        .send(&message(&[b"one", b"two"]))
        .expect("ready");
    link.client.send(&message(&[b"three"])).expect("ready");
    let mut seen = Vec::new();
    let result = link.pump_editing(
        &mut |_, f| {
            seen.push(f.clone());
            true
        },
        &mut |_, _| true,
    );
    assert_eq!(result, (None, None));
    assert_eq!(seen.len(), 3, "one MESSAGE per frame");
    for (i, frame) in seen.iter().enumerate() {
        // Like libzmq: a frame without flags, MORE lives inside the box.
        assert_eq!(frame.flags, 0);
        assert_eq!(&frame.body[..8], b"\x07MESSAGE");
        // The client's HELLO was nonce 1, INITIATE 2.
        assert_eq!(frame.body[8..16], (3 + i as u64).to_be_bytes());
        assert!(!frame.body.windows(3).any(|w| w == b"one" || w == b"two"));
    }
    assert_eq!(
        messages(&mut link.server),
        vec![
            Event::Message(message(&[b"one", b"two"])),
            Event::Message(message(&[b"three"]))
        ]
    );
}

#[test]
fn heartbeats_and_subscriptions_travel_inside_the_box() {
    let server_keys = keys();
    let server_public = *server_keys.public();
    let mut sub_config = Config::new(SocketType::Sub);
    sub_config.heartbeat = HeartbeatConfig {
        interval: Some(Duration::from_millis(100)),
        ..HeartbeatConfig::default()
    };
    let mut link = Link::new(
        Connection::new(
            sub_config,
            Box::new(CurveClient::new(keys(), server_public)),
            at(0),
        ),
        conn(SocketType::Pub, CurveServer::new(server_keys)),
    );
    assert_eq!(link.pump(), (None, None));
    events(&mut link.server);
    events(&mut link.client);

    link.client.subscribe(b"weather").expect("ready");
    link.client.handle_timeout(at(100)).expect("PING due");
    let (mut to_server, mut to_client) = (0, 0);
    let result = link.pump_editing(
        &mut |_, f| {
            assert!(!f.is_command());
            assert_eq!(&f.body[..8], b"\x07MESSAGE");
            to_server += 1;
            true
        },
        &mut |_, f| {
            assert!(!f.is_command());
            assert_eq!(&f.body[..8], b"\x07MESSAGE", "the PONG is boxed too");
            to_client += 1;
            true
        },
    );
    assert_eq!(result, (None, None));
    assert_eq!((to_server, to_client), (2, 1), "SUBSCRIBE and PING; PONG");
    assert_eq!(
        events(&mut link.server),
        vec![Event::Subscribe(Bytes::from_static(b"weather"))]
    );
    // The PONG reached the client and counted as traffic: no timeout later.
    assert!(events(&mut link.client).is_empty());
    link.client.handle_timeout(at(150)).expect("PONG arrived");
}

#[test]
fn wrong_server_key_fails_at_hello() {
    let server_keys = keys();
    let mut link = Link::new(
        conn(SocketType::Req, CurveClient::new(keys(), *keys().public())),
        conn(SocketType::Rep, CurveServer::new(server_keys)),
    );
    let (client, server) = link.pump();
    assert_eq!(server, Some(Error::from(CurveError::HelloBox)));
    assert!(client.is_none(), "the server closes without an ERROR");
    assert!(!link.client.is_ready());
    assert!(events(&mut link.server).is_empty());
}

#[test]
fn refused_client_gets_error_400_and_no_message_passes() {
    let server_keys = keys();
    let client_keys = keys();
    let client_public = *client_keys.public();
    let mut link = Link::new(
        conn(
            SocketType::Req,
            CurveClient::new(client_keys, *server_keys.public()),
        ),
        conn(
            SocketType::Rep,
            CurveServer::with_authentication(server_keys),
        ),
    );
    assert_eq!(link.pump(), (None, None));
    let Some(Event::AuthenticationRequested(request)) = link.server.poll_event() else {
        panic!("no authentication request")
    };
    assert_eq!(request.mechanism, purezmq_zmtp::MechanismName::CURVE);
    assert_eq!(
        PublicKey::try_from(&request.credentials[0][..]),
        Ok(client_public)
    );
    let refusal = link
        .server
        .auth_reply(AuthReply::deny(400, "not on the list"), at(0))
        .expect_err("refused");
    assert!(refusal.is_authentication_failure());
    let mut error_frames = Vec::new();
    let (client, _) = link.pump_editing(&mut |_, _| true, &mut |_, f| {
        error_frames.push(f.body.clone());
        true
    });
    assert_eq!(error_frames, vec![Bytes::from_static(b"\x05ERROR\x03400")]);
    let client = client.expect("client refused");
    assert_eq!(
        client,
        Error::PeerRefused {
            reason: "400".into()
        }
    );
    assert!(client.is_authentication_failure());
    assert!(link.client.send(&message(&[b"x"])).is_err());
}

#[test]
fn temporary_refusal_300_closes_silently() {
    let server_keys = keys();
    let mut link = Link::new(
        conn(
            SocketType::Req,
            CurveClient::new(keys(), *server_keys.public()),
        ),
        conn(
            SocketType::Rep,
            CurveServer::with_authentication(server_keys),
        ),
    );
    assert_eq!(link.pump(), (None, None));
    events(&mut link.server);
    assert!(
        link.server
            .auth_reply(AuthReply::deny(300, "try later"), at(0))
            .is_err()
    );
    assert!(link.server.send_buffer().is_empty());
}

#[test]
fn accepted_client_carries_its_user_id() {
    let server_keys = keys();
    let mut link = Link::new(
        conn(
            SocketType::Req,
            CurveClient::new(keys(), *server_keys.public()),
        ),
        conn(
            SocketType::Rep,
            CurveServer::with_authentication(server_keys),
        ),
    );
    assert_eq!(link.pump(), (None, None));
    assert!(!link.client.is_ready(), "READY waits for the answer");
    assert!(matches!(
        link.server.poll_event(),
        Some(Event::AuthenticationRequested(_))
    ));
    link.server
        .auth_reply(AuthReply::accept("alice"), at(0))
        .expect("accepted");
    assert_eq!(link.pump(), (None, None));
    let Some(Event::HandshakeSucceeded(peer)) = link.server.poll_event() else {
        panic!("not ready")
    };
    assert_eq!(peer.user_id, Bytes::from_static(b"alice"));
    assert!(link.client.is_ready());
}

#[test]
fn replayed_message_is_a_cryptographic_error() {
    let mut link = ready_link(SocketType::Push, SocketType::Pull);
    link.client.send(&message(&[b"pay 100"])).expect("ready");
    let mut captured = None;
    assert_eq!(
        link.pump_editing(
            &mut |_, f| {
                captured = Some(f.clone());
                true
            },
            &mut |_, _| true,
        ),
        (None, None)
    );
    assert_eq!(messages(&mut link.server).len(), 1);
    let replay = captured.expect("one MESSAGE");
    assert_eq!(
        link.server.feed(&wire(&replay), at(0)),
        Err(Error::from(CurveError::NonceNotIncreasing {
            command: "MESSAGE",
            nonce: 3,
            last: 3
        }))
    );
    assert!(messages(&mut link.server).is_empty());
}

#[test]
fn a_frame_taken_out_of_the_stream_is_a_cryptographic_error() {
    // Dropping the last frame of ["pay", "100"] would splice ["pay", ...] onto the
    // next message: the gap in the nonces gives it away.
    let mut link = ready_link(SocketType::Push, SocketType::Pull);
    link.client
        .send(&message(&[b"pay", b"100"]))
        .expect("ready");
    link.client.send(&message(&[b"to bob"])).expect("ready");
    let (_, server) = link.pump_editing(
        &mut |i, _| i != 3, // HELLO 0, INITIATE 1, "pay" 2, "100" 3, "to bob" 4
        &mut |_, _| true,
    );
    assert_eq!(
        server,
        Some(Error::from(CurveError::NonceSkipped { nonce: 5, last: 3 }))
    );
    assert!(messages(&mut link.server).is_empty());
}

#[test]
fn reordered_messages_are_a_cryptographic_error() {
    let mut link = ready_link(SocketType::Push, SocketType::Pull);
    link.client.send(&message(&[b"first"])).expect("ready");
    link.client.send(&message(&[b"second"])).expect("ready");
    let mut held = None;
    let mut swap = |i: usize, f: &mut Frame| {
        if i == 2 {
            held = Some(f.clone());
            return false;
        }
        true
    };
    // Hold back the first MESSAGE (frame 2 after HELLO and INITIATE) and let the
    // second through: its nonce skips the first's, and nothing is delivered.
    let (_, server) = link.pump_editing(&mut swap, &mut |_, _| true);
    assert_eq!(
        server,
        Some(Error::from(CurveError::NonceSkipped { nonce: 4, last: 2 }))
    );
    assert!(messages(&mut link.server).is_empty());
    assert!(held.is_some());
}

#[test]
fn corrupted_message_box_is_refused() {
    let mut link = ready_link(SocketType::Pair, SocketType::Pair);
    link.server.send(&message(&[b"secret"])).expect("ready");
    let (client, _) = link.pump_editing(&mut |_, _| true, &mut |_, f| {
        let last = f.body.len() - 1;
        flip(f, last);
        true
    });
    assert_eq!(client, Some(Error::from(CurveError::MessageBox)));
    assert!(messages(&mut link.client).is_empty());
}

#[test]
fn corrupted_initiate_cookie_is_refused() {
    let mut link = Link::curve(SocketType::Req, SocketType::Rep);
    // INITIATE is frame 1; its cookie starts after the 9-octet name.
    let (_, server) = link.pump_editing(
        &mut |i, f| {
            if i == 1 {
                flip(f, 9 + 40);
            }
            true
        },
        &mut |_, _| true,
    );
    assert_eq!(server, Some(Error::from(CurveError::Cookie)));
    assert!(!link.server.is_ready());
}

#[test]
fn corrupted_initiate_box_is_refused() {
    let mut link = Link::curve(SocketType::Req, SocketType::Rep);
    let (_, server) = link.pump_editing(
        &mut |i, f| {
            if i == 1 {
                let last = f.body.len() - 1;
                flip(f, last);
            }
            true
        },
        &mut |_, _| true,
    );
    assert_eq!(server, Some(Error::from(CurveError::InitiateBox)));
}

#[test]
fn corrupted_welcome_is_refused_by_the_client() {
    let mut link = Link::curve(SocketType::Req, SocketType::Rep);
    let (client, _) = link.pump_editing(&mut |_, _| true, &mut |i, f| {
        if i == 0 {
            flip(f, 100);
        }
        true
    });
    assert_eq!(client, Some(Error::from(CurveError::WelcomeBox)));
}

#[test]
fn corrupted_ready_is_refused_by_the_client() {
    let mut link = Link::curve(SocketType::Req, SocketType::Rep);
    let (client, _) = link.pump_editing(&mut |_, _| true, &mut |i, f| {
        if i == 1 {
            flip(f, 20);
        }
        true
    });
    assert_eq!(client, Some(Error::from(CurveError::ReadyBox)));
    assert!(!link.client.is_ready());
}

#[test]
fn hello_of_the_wrong_length_is_malformed() {
    for len in [199, 201] {
        let mut link = Link::curve(SocketType::Req, SocketType::Rep);
        let (_, server) = link.pump_editing(
            &mut |i, f| {
                if i == 0 {
                    let mut body = f.body.to_vec();
                    body.resize(len, 0);
                    f.body = Bytes::from(body);
                }
                true
            },
            &mut |_, _| true,
        );
        assert!(
            matches!(&server, Some(Error::MalformedCommand { command, .. }) if command == "HELLO"),
            "{len}: {server:?}"
        );
    }
}

#[test]
fn hello_of_another_version_is_refused() {
    let mut link = Link::curve(SocketType::Req, SocketType::Rep);
    let (_, server) = link.pump_editing(
        &mut |i, f| {
            if i == 0 {
                flip(f, 6);
            }
            true
        },
        &mut |_, _| true,
    );
    assert_eq!(
        server,
        Some(Error::from(CurveError::UnsupportedVersion {
            major: 0,
            minor: 0
        }))
    );
}

#[test]
fn replayed_hello_nonce_in_initiate_is_refused() {
    // INITIATE's short nonce must follow HELLO's: rewrite it to HELLO's (1). The box
    // then does not match its nonce either, but the sequence is checked first.
    let mut link = Link::curve(SocketType::Req, SocketType::Rep);
    let (_, server) = link.pump_editing(
        &mut |i, f| {
            if i == 1 {
                let mut body = f.body.to_vec();
                body[9 + 96..9 + 104].copy_from_slice(&1u64.to_be_bytes());
                f.body = Bytes::from(body);
            }
            true
        },
        &mut |_, _| true,
    );
    assert_eq!(
        server,
        Some(Error::from(CurveError::NonceNotIncreasing {
            command: "INITIATE",
            nonce: 1,
            last: 1
        }))
    );
}

#[test]
fn null_and_plain_clients_are_refused_by_a_curve_server() {
    for client in [
        conn(SocketType::Req, Null::new()),
        conn(SocketType::Req, PlainClient::new("admin", "secret")),
    ] {
        let mut link = Link::new(client, conn(SocketType::Rep, CurveServer::new(keys())));
        let (_, server) = link.pump();
        assert!(
            matches!(server, Some(Error::MechanismMismatch { .. })),
            "{server:?}"
        );
        assert!(events(&mut link.server).is_empty());
    }
}

#[test]
fn message_before_ready_is_refused() {
    let mut link = Link::curve(SocketType::Req, SocketType::Rep);
    let (_, server) = link.pump_editing(
        &mut |i, f| {
            if i == 1 {
                *f = Frame::message(Bytes::from_static(b"hi"), false);
            }
            true
        },
        &mut |_, _| true,
    );
    assert_eq!(server, Some(Error::MessageDuringHandshake));
}

#[test]
fn plaintext_command_after_the_handshake_is_refused() {
    let mut link = ready_link(SocketType::Pair, SocketType::Pair);
    let mut bytes = vec![COMMAND, 6];
    bytes.extend_from_slice(b"\x04PING\x00");
    let err = link
        .server
        .feed(&bytes[..8], at(0))
        .expect_err("unboxed PING");
    assert!(
        matches!(&err, Error::UnexpectedCommand { command, .. } if command == "PING"),
        "{err:?}"
    );
}

#[test]
fn server_keeps_serving_good_clients_after_a_bad_one() {
    let server_keys = keys();
    let mut bad = Link::new(
        conn(SocketType::Req, CurveClient::new(keys(), *keys().public())),
        conn(SocketType::Rep, CurveServer::new(server_keys.clone())),
    );
    assert!(bad.pump().1.is_some());
    let mut good = Link::new(
        conn(
            SocketType::Req,
            CurveClient::new(keys(), *server_keys.public()),
        ),
        conn(SocketType::Rep, CurveServer::new(server_keys)),
    );
    assert_eq!(good.pump(), (None, None));
    assert!(good.server.is_ready());
}

#[test]
fn every_split_of_the_stream_gives_the_same_result() {
    let server_keys = keys();
    let server_public = *server_keys.public();
    let mut client = conn(SocketType::Dealer, CurveClient::new(keys(), server_public));
    let mut server = conn(SocketType::Router, CurveServer::new(server_keys));
    // Feed one octet at a time both ways.
    for _ in 0..50 {
        let c2s = client.send_buffer().take_all();
        let s2c = server.send_buffer().take_all();
        if c2s.is_empty() && s2c.is_empty() {
            break;
        }
        for b in c2s.iter() {
            server.feed(&[*b], at(0)).expect("server");
        }
        for b in s2c.iter() {
            client.feed(&[*b], at(0)).expect("client");
        }
    }
    assert!(client.is_ready() && server.is_ready());
}

// ---- cookie keys shared by a server's connections ----

fn shared_link(server_keys: &KeyPair, cookies: &Arc<CookieKeyring>) -> Link {
    Link::new(
        conn(
            SocketType::Req,
            CurveClient::new(keys(), *server_keys.public()),
        ),
        conn(
            SocketType::Rep,
            CurveServer::new(server_keys.clone()).with_cookie_keys(cookies.clone()),
        ),
    )
}

#[test]
fn a_cookie_sealed_before_one_rotation_still_opens() {
    let server_keys = keys();
    let cookies = Arc::new(CookieKeyring::new());
    let mut link = shared_link(&server_keys, &cookies);
    // INITIATE is frame 1 towards the server: rotate just before it arrives.
    let (client, server) = link.pump_editing(
        &mut |i, _| {
            if i == 1 {
                cookies.rotate();
            }
            true
        },
        &mut |_, _| true,
    );
    assert_eq!((client, server), (None, None));
    assert!(link.client.is_ready() && link.server.is_ready());
}

#[test]
fn a_cookie_sealed_before_two_rotations_is_refused() {
    let server_keys = keys();
    let cookies = Arc::new(CookieKeyring::new());
    let mut link = shared_link(&server_keys, &cookies);
    let (_, server) = link.pump_editing(
        &mut |i, _| {
            if i == 1 {
                cookies.rotate();
                cookies.rotate();
            }
            true
        },
        &mut |_, _| true,
    );
    assert_eq!(server, Some(Error::from(CurveError::Cookie)));
    assert!(!link.server.is_ready());
}

#[test]
fn cookie_keys_rotate_on_their_own_with_time() {
    let server_keys = keys();
    let lifetime = Duration::from_millis(10);
    let cookies = Arc::new(CookieKeyring::with_rng(Box::new(OsRng), lifetime));
    let mut link = shared_link(&server_keys, &cookies);
    let (_, server) = link.pump_editing(
        &mut |i, _| {
            if i == 1 {
                // Past two lifetimes, the key the cookie was sealed under is gone.
                std::thread::sleep(lifetime * 3);
            }
            true
        },
        &mut |_, _| true,
    );
    assert_eq!(server, Some(Error::from(CurveError::Cookie)));
}

#[test]
fn a_cookie_made_for_another_connection_is_refused() {
    let server_keys = keys();
    let cookies = Arc::new(CookieKeyring::new());
    // The first connection's INITIATE is kept and never delivered.
    let mut first = shared_link(&server_keys, &cookies);
    let mut stolen = None;
    first.pump_editing(
        &mut |i, f| {
            if i == 1 {
                stolen = Some(f.body.clone());
            }
            i != 1
        },
        &mut |_, _| true,
    );
    let stolen = stolen.expect("the first client sent INITIATE");
    // The second connection's INITIATE carries the first one's cookie: it opens
    // under the shared key, but names another client transient key.
    let mut second = shared_link(&server_keys, &cookies);
    let (_, server) = second.pump_editing(
        &mut |i, f| {
            if i == 1 {
                let mut body = f.body.to_vec();
                let cookie = 9..9 + 96;
                body[cookie.clone()].copy_from_slice(&stolen[cookie]);
                f.body = Bytes::from(body);
            }
            true
        },
        &mut |_, _| true,
    );
    assert_eq!(server, Some(Error::from(CurveError::Cookie)));
    assert!(!second.server.is_ready());
}
