//! Byte-exact checks against traffic captured from libzmq 4.3.5 (tests/vectors/, made
//! by interop-tests/python/capture_vectors.py): what purezmq sends equals what libzmq
//! sends, and what libzmq sends decodes to what it means.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{at, events};
use purezmq_zmtp::greeting::{GREETING_LEN, SIGNATURE_LEN};
use purezmq_zmtp::mechanism::{Mechanism, Null, PlainClient, PlainServer};
use purezmq_zmtp::{
    AuthReply, Config, Connection, Error, Event, Greeting, GreetingExchange, MechanismName,
    Message, SocketType, Version,
};

fn vector(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/vectors/{name}.bin", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

/// A 3.1 greeting as libzmq sends it for `mechanism` (padding and all).
fn libzmq_greeting(mechanism: &str) -> Vec<u8> {
    match mechanism {
        "NULL" => vector("greeting_null"),
        _ => vector("greeting_plain_server"),
    }
}

/// Our connection after it has read libzmq's greeting; its send buffer holds what it
/// says after its own greeting.
fn after_greeting(
    config: Config,
    mechanism: impl Mechanism + 'static,
    greeting: &[u8],
) -> (Connection, Vec<u8>) {
    let mut c = Connection::new(config, Box::new(mechanism), at(0));
    c.feed(greeting, at(0)).expect("libzmq's greeting is valid");
    let out = c.send_buffer().take_all();
    assert!(out.len() >= GREETING_LEN, "our whole greeting went out");
    (c, out[GREETING_LEN..].to_vec())
}

fn with_routing_id(ty: SocketType, id: &'static str) -> Config {
    let mut config = Config::new(ty);
    config.routing_id = Bytes::from_static(id.as_bytes());
    config
}

#[test]
fn libzmq_greetings_decode_whatever_their_padding() {
    let cases = [
        ("greeting_null", MechanismName::NULL),
        ("greeting_null_no_identity", MechanismName::NULL),
        ("greeting_plain_server", MechanismName::PLAIN),
        ("greeting_plain_client", MechanismName::PLAIN),
    ];
    for (name, mechanism) in cases {
        let bytes: [u8; GREETING_LEN] = vector(name).try_into().expect("64 octets");
        let g = Greeting::decode(&bytes).expect("valid");
        assert_eq!(g.version, Version::V3_1, "{name}");
        assert_eq!(g.mechanism, mechanism, "{name}");
        assert!(!g.as_server, "{name}: libzmq never sets as-server");
    }
}

#[test]
fn greeting_goes_out_in_libzmqs_stages() {
    let ours = Greeting::new(MechanismName::NULL, false);
    let mut ex = GreetingExchange::new(&ours);
    let stage1 = ex.take_output().to_vec();
    let libzmq_stage1 = vector("greeting_stage1_signature");
    assert_eq!(stage1.len(), libzmq_stage1.len());
    // Equal but for the padding, which libzmq fills with its routing id length + 1.
    assert_eq!((stage1[0], stage1[9]), (libzmq_stage1[0], libzmq_stage1[9]));

    ex.receive(&libzmq_stage1).expect("valid signature");
    assert_eq!(ex.take_output(), &vector("greeting_stage2_major")[..]);

    let full = vector("greeting_null");
    ex.receive(&full[SIGNATURE_LEN..SIGNATURE_LEN + 1])
        .expect("major 3");
    assert_eq!(ex.take_output(), &ours.encode()[SIGNATURE_LEN + 1..]);
    assert_eq!(
        ex.receive(&full[SIGNATURE_LEN + 1..])
            .map(|(_, g)| g.is_some()),
        Ok(true)
    );
}

#[test]
fn our_null_ready_equals_libzmqs_for_every_socket_type() {
    let cases = [
        (SocketType::Req, "ready_req"),
        (SocketType::Router, "ready_router"),
        (SocketType::Rep, "ready_rep"),
        (SocketType::Pub, "ready_pub"),
        (SocketType::Sub, "ready_sub"),
        (SocketType::XPub, "ready_xpub"),
        (SocketType::XSub, "ready_xsub"),
        (SocketType::Push, "ready_push"),
        (SocketType::Pull, "ready_pull"),
        (SocketType::Pair, "ready_pair"),
    ];
    for (ty, name) in cases {
        let (_, ready) = after_greeting(Config::new(ty), Null::new(), &libzmq_greeting("NULL"));
        assert_eq!(ready, vector(name), "{name}");
    }
    let (_, ready) = after_greeting(
        with_routing_id(SocketType::Dealer, "client"),
        Null::new(),
        &libzmq_greeting("NULL"),
    );
    assert_eq!(ready, vector("ready_dealer_identity"));

    let mut config = Config::new(SocketType::Dealer);
    config.properties.insert("X-Name", "value");
    let (_, ready) = after_greeting(config, Null::new(), &libzmq_greeting("NULL"));
    assert_eq!(ready, vector("ready_metadata"));
}

#[test]
fn libzmqs_ready_completes_our_handshake() {
    let (mut c, _) = after_greeting(
        Config::new(SocketType::Router),
        Null::new(),
        &libzmq_greeting("NULL"),
    );
    c.feed(&vector("ready_metadata"), at(0)).expect("valid");
    let Some(Event::HandshakeSucceeded(peer)) = c.poll_event() else {
        panic!("handshake should succeed");
    };
    assert_eq!(peer.socket_type, Some(SocketType::Dealer));
    assert_eq!(peer.routing_id, None);
    assert_eq!(
        peer.metadata.get("X-Name").map(|v| &v[..]),
        Some(&b"value"[..])
    );
}

#[test]
fn plain_client_commands_equal_libzmqs() {
    let (mut c, hello) = after_greeting(
        Config::new(SocketType::Dealer),
        PlainClient::new("admin", "secret"),
        &libzmq_greeting("PLAIN"),
    );
    assert_eq!(hello, vector("plain_hello"));
    c.feed(&vector("plain_welcome"), at(0))
        .expect("valid WELCOME");
    assert_eq!(
        c.send_buffer().take_all().to_vec(),
        vector("plain_initiate")
    );
    c.feed(&vector("plain_ready"), at(0)).expect("valid READY");
    assert!(c.is_ready());
}

#[test]
fn plain_server_commands_equal_libzmqs() {
    let (mut s, nothing) = after_greeting(
        Config::new(SocketType::Router),
        PlainServer::with_authentication(),
        &libzmq_greeting("PLAIN"),
    );
    assert!(nothing.is_empty(), "the server waits for HELLO");
    s.feed(&vector("plain_hello"), at(0)).expect("valid HELLO");
    let Some(Event::AuthenticationRequested(request)) = s.poll_event() else {
        panic!("authentication asked for");
    };
    assert_eq!(request.credentials, vec!["admin", "secret"]);
    s.auth_reply(AuthReply::accept("admin"), at(0))
        .expect("accepted");
    assert_eq!(s.send_buffer().take_all().to_vec(), vector("plain_welcome"));
    s.feed(&vector("plain_initiate"), at(0))
        .expect("valid INITIATE");
    assert_eq!(s.send_buffer().take_all().to_vec(), vector("plain_ready"));
    assert!(s.is_ready());
}

#[test]
fn plain_refusal_uses_libzmqs_error_form_both_ways() {
    let (mut s, _) = after_greeting(
        Config::new(SocketType::Router),
        PlainServer::with_authentication(),
        &libzmq_greeting("PLAIN"),
    );
    s.feed(&vector("plain_hello"), at(0)).expect("valid HELLO");
    s.auth_reply(AuthReply::deny(400, "wrong password"), at(0))
        .expect_err("refused");
    assert_eq!(
        s.send_buffer().take_all().to_vec(),
        vector("plain_error_wrong_password")
    );

    let (mut c, _) = after_greeting(
        Config::new(SocketType::Dealer),
        PlainClient::new("admin", "wrong"),
        &libzmq_greeting("PLAIN"),
    );
    assert_eq!(
        c.feed(&vector("plain_error_wrong_password"), at(0)),
        Err(Error::PeerRefused {
            reason: "400".into()
        })
    );
}

#[test]
fn null_zap_denial_equals_libzmqs_error() {
    let (mut s, nothing) = after_greeting(
        Config::new(SocketType::Dealer),
        Null::with_authentication(),
        &libzmq_greeting("NULL"),
    );
    assert!(
        nothing.is_empty(),
        "no READY before authentication, as in libzmq"
    );
    s.auth_reply(AuthReply::deny(400, "denied"), at(0))
        .expect_err("refused");
    assert_eq!(
        s.send_buffer().take_all().to_vec(),
        vector("null_error_zap_denied")
    );
}

fn ready_sub(peer_greeting: Vec<u8>) -> Connection {
    let (mut c, _) = after_greeting(Config::new(SocketType::Sub), Null::new(), &peer_greeting);
    c.feed(&vector("ready_pub"), at(0)).expect("valid");
    assert!(c.is_ready());
    c.send_buffer().take_all();
    c
}

#[test]
fn subscriptions_equal_libzmqs_for_31_and_30_peers() {
    let mut sub = ready_sub(libzmq_greeting("NULL"));
    sub.subscribe(b"weather").expect("ready");
    assert_eq!(
        sub.send_buffer().take_all().to_vec(),
        vector("subscribe_zmtp31")
    );
    sub.cancel(b"weather").expect("ready");
    assert_eq!(
        sub.send_buffer().take_all().to_vec(),
        vector("cancel_zmtp31")
    );
    sub.subscribe(b"").expect("ready");
    assert_eq!(
        sub.send_buffer().take_all().to_vec(),
        vector("subscribe_empty_zmtp31")
    );

    let mut greeting30 = libzmq_greeting("NULL");
    greeting30[11] = 0;
    let mut sub = ready_sub(greeting30);
    sub.subscribe(b"weather").expect("ready");
    assert_eq!(
        sub.send_buffer().take_all().to_vec(),
        vector("subscribe_zmtp30")
    );
    sub.cancel(b"weather").expect("ready");
    assert_eq!(
        sub.send_buffer().take_all().to_vec(),
        vector("cancel_zmtp30")
    );
    sub.subscribe(b"").expect("ready");
    assert_eq!(
        sub.send_buffer().take_all().to_vec(),
        vector("subscribe_empty_zmtp30")
    );
}

#[test]
fn libzmqs_subscriptions_become_events() {
    let mut input = vector("ready_sub");
    for name in [
        "subscribe_zmtp31",
        "cancel_zmtp31",
        "subscribe_empty_zmtp31",
    ] {
        input.extend(vector(name));
    }
    for name in [
        "subscribe_zmtp30",
        "cancel_zmtp30",
        "subscribe_empty_zmtp30",
    ] {
        input.extend(vector(name));
    }
    let (mut publisher, _) = after_greeting(
        Config::new(SocketType::XPub),
        Null::new(),
        &libzmq_greeting("NULL"),
    );
    publisher.feed(&input, at(0)).expect("valid");
    let topics: Vec<Event> = events(&mut publisher).into_iter().skip(1).collect();
    let weather = Bytes::from_static(b"weather");
    let expected = [
        Event::Subscribe(weather.clone()),
        Event::Cancel(weather),
        Event::Subscribe(Bytes::new()),
    ];
    assert_eq!(topics, [expected.clone(), expected].concat());
}

fn ready_dealer(config: Config) -> Connection {
    let (mut c, _) = after_greeting(config, Null::new(), &libzmq_greeting("NULL"));
    c.feed(&vector("ready_dealer_identity"), at(0))
        .expect("valid");
    c.send_buffer().take_all();
    events(&mut c);
    c
}

#[test]
fn ping_equals_libzmqs() {
    for (ttl, name) in [
        (Some(Duration::from_millis(2000)), "ping"),
        (None, "ping_no_ttl"),
    ] {
        let mut config = Config::new(SocketType::Dealer);
        config.heartbeat.interval = Some(Duration::from_millis(100));
        config.heartbeat.ttl = ttl;
        let mut c = ready_dealer(config);
        c.handle_timeout(at(100)).expect("alive");
        assert_eq!(c.send_buffer().take_all().to_vec(), vector(name), "{name}");
    }
}

#[test]
fn pong_equals_libzmqs() {
    for (context, name) in [
        (&b"0123456789abcdefghij"[..], "pong"),
        (b"ctx1", "pong_short"),
    ] {
        let mut c = ready_dealer(Config::new(SocketType::Dealer));
        let ping = purezmq_zmtp::command::Ping {
            ttl_deciseconds: 0,
            context: Bytes::copy_from_slice(context),
        }
        .encode();
        let mut frame = vec![0x04, ping.len() as u8];
        frame.extend_from_slice(&ping);
        c.feed(&frame, at(0)).expect("valid PING");
        assert_eq!(c.send_buffer().take_all().to_vec(), vector(name), "{name}");
    }
}

#[test]
fn messages_encode_and_decode_as_libzmqs() {
    let cases = [
        ("message_multipart", vec![&b""[..], b"hello", b"world"]),
        ("message_255", vec![&[b'x'; 255][..]]),
        ("message_256", vec![&[b'x'; 256][..]]),
        ("message_empty", vec![&b""[..]]),
    ];
    for (name, frames) in cases {
        let message = Message::from(
            frames
                .iter()
                .map(|f| Bytes::copy_from_slice(f))
                .collect::<Vec<_>>(),
        );
        let mut c = ready_dealer(Config::new(SocketType::Dealer));
        c.send(&message).expect("ready");
        assert_eq!(c.send_buffer().take_all().to_vec(), vector(name), "{name}");
        c.feed(&vector(name), at(0)).expect("valid");
        assert_eq!(c.poll_event(), Some(Event::Message(message)), "{name}");
    }
}

#[test]
fn libzmqs_zmtp20_style_peer_is_refused() {
    // What libzmq sends a ZMTP 2.0 peer starts with a 3.x signature; a 2.0 peer's
    // own greeting carries revision 1 where ours carries the major version.
    let mut c = Connection::new(
        Config::new(SocketType::Dealer),
        Box::new(Null::new()),
        at(0),
    );
    let mut zmtp20 = vector("greeting_stage1_signature");
    zmtp20.extend_from_slice(&[0x01, 0x05]);
    assert_eq!(
        c.feed(&zmtp20, at(0)),
        Err(Error::UnsupportedVersion { major: 1 })
    );
}
