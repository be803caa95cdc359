//! Two in-memory connections run NULL and PLAIN handshakes and the rules around them.

mod common;

use bytes::Bytes;
use common::{at, conn, events, null, pump, ready_pair};
use purezmq_zmtp::mechanism::{Null, PlainClient, PlainServer};
use purezmq_zmtp::{
    AuthReply, Config, Connection, Error, Event, MechanismName, Message, SocketType, Version,
};

fn handshake_peer(events: &[Event]) -> &purezmq_zmtp::PeerInfo {
    match events.first() {
        Some(Event::HandshakeSucceeded(peer)) => peer,
        other => panic!("expected HandshakeSucceeded, got {other:?}"),
    }
}

#[test]
fn null_handshake_announces_socket_types_and_routing_id() {
    let mut config = Config::new(SocketType::Dealer);
    config.routing_id = Bytes::from_static(b"client-7");
    let mut dealer = Connection::new(config, Box::new(Null::new()), at(0));
    let mut router = null(SocketType::Router);
    assert_eq!(pump(&mut dealer, &mut router, at(0)), (None, None));

    let seen_by_router = events(&mut router);
    let peer = handshake_peer(&seen_by_router);
    assert_eq!(peer.socket_type, Some(SocketType::Dealer));
    assert_eq!(peer.routing_id.as_deref(), Some(&b"client-7"[..]));
    assert_eq!(peer.version, Version::V3_1);

    let seen_by_dealer = events(&mut dealer);
    let peer = handshake_peer(&seen_by_dealer);
    assert_eq!(peer.socket_type, Some(SocketType::Router));
    assert_eq!(peer.routing_id, None, "an empty Identity is no routing id");
}

#[test]
fn messages_flow_both_ways_after_the_handshake() {
    let (mut req, mut rep) = ready_pair(SocketType::Req, SocketType::Rep);
    let request = Message::from(vec![Bytes::new(), Bytes::from_static(b"Hello")]);
    req.send(&request).expect("ready");
    pump(&mut req, &mut rep, at(0));
    assert_eq!(events(&mut rep), vec![Event::Message(request)]);

    let big = Bytes::from(vec![7u8; 100_000]);
    rep.send(&Message::from(vec![Bytes::new(), big.clone()]))
        .expect("ready");
    pump(&mut req, &mut rep, at(0));
    assert_eq!(
        events(&mut req),
        vec![Event::Message(Message::from(vec![Bytes::new(), big]))]
    );
}

#[test]
fn sending_before_the_handshake_is_refused_without_killing_the_connection() {
    let mut c = null(SocketType::Push);
    assert_eq!(c.send(&Message::from("early")), Err(Error::NotReady));
    assert_eq!(c.failure(), None);
}

#[test]
fn plain_handshake_with_good_credentials_hands_them_to_the_caller() {
    let mut client = conn(SocketType::Dealer, PlainClient::new("admin", "secret"));
    let mut server = conn(SocketType::Router, PlainServer::with_authentication());
    assert_eq!(pump(&mut client, &mut server, at(0)), (None, None));

    let request = match events(&mut server).as_slice() {
        [Event::AuthenticationRequested(request)] => request.clone(),
        other => panic!("expected one authentication request, got {other:?}"),
    };
    assert_eq!(request.mechanism, MechanismName::PLAIN);
    assert_eq!(request.credentials, vec!["admin", "secret"]);
    assert!(!server.is_ready() && !client.is_ready());

    server
        .auth_reply(AuthReply::accept("admin"), at(0))
        .expect("accepted");
    assert_eq!(pump(&mut client, &mut server, at(0)), (None, None));
    assert!(client.is_ready() && server.is_ready());
    let seen_by_server = events(&mut server);
    let peer = handshake_peer(&seen_by_server);
    assert_eq!(peer.user_id, "admin");
    assert_eq!(peer.socket_type, Some(SocketType::Dealer));
    assert_eq!(
        handshake_peer(&events(&mut client)).socket_type,
        Some(SocketType::Router)
    );
}

#[test]
fn plain_with_bad_credentials_sends_error_400_and_fails_both_sides() {
    let mut client = conn(SocketType::Req, PlainClient::new("admin", "wrong"));
    let mut server = conn(SocketType::Rep, PlainServer::with_authentication());
    pump(&mut client, &mut server, at(0));
    assert!(matches!(
        events(&mut server).as_slice(),
        [Event::AuthenticationRequested(_)]
    ));

    let err = server
        .auth_reply(AuthReply::deny(400, "bad password"), at(0))
        .expect_err("denied");
    assert!(err.is_authentication_failure());
    assert_eq!(
        err.to_string(),
        "authentication refused the peer: 400 bad password"
    );

    let (client_err, _) = pump(&mut client, &mut server, at(0));
    assert_eq!(
        client_err,
        Some(Error::PeerRefused {
            reason: "400".into()
        })
    );
    assert!(events(&mut client).is_empty(), "no handshake, no message");
}

#[test]
fn plain_temporary_failure_300_closes_without_error_command() {
    let mut client = conn(SocketType::Req, PlainClient::new("admin", "secret"));
    let mut server = conn(SocketType::Rep, PlainServer::with_authentication());
    pump(&mut client, &mut server, at(0));
    events(&mut server);
    server
        .auth_reply(AuthReply::deny(300, "try later"), at(0))
        .expect_err("denied");
    assert!(
        server.send_buffer().is_empty(),
        "300 tells the peer nothing"
    );
}

#[test]
fn plain_server_without_authentication_accepts_anyone() {
    let mut client = conn(SocketType::Push, PlainClient::new("", ""));
    let mut server = conn(SocketType::Pull, PlainServer::new());
    assert_eq!(pump(&mut client, &mut server, at(0)), (None, None));
    assert!(client.is_ready() && server.is_ready());
}

#[test]
fn two_plain_clients_fail_on_the_unexpected_hello() {
    let mut a = conn(SocketType::Pair, PlainClient::new("a", "a"));
    let mut b = conn(SocketType::Pair, PlainClient::new("b", "b"));
    let (ea, eb) = pump(&mut a, &mut b, at(0));
    assert!(
        matches!(ea, Some(Error::UnexpectedCommand { .. })),
        "{ea:?}"
    );
    assert!(
        matches!(eb, Some(Error::UnexpectedCommand { .. })),
        "{eb:?}"
    );
}

#[test]
fn null_with_authentication_asks_before_ready_and_denial_sends_error() {
    let mut client = null(SocketType::Req);
    let mut server = conn(SocketType::Rep, Null::with_authentication());
    pump(&mut client, &mut server, at(0));
    let request = match events(&mut server).as_slice() {
        [Event::AuthenticationRequested(r)] => r.clone(),
        other => panic!("expected a request, got {other:?}"),
    };
    assert_eq!(request.mechanism, MechanismName::NULL);
    assert!(request.credentials.is_empty());
    assert!(!client.is_ready(), "no READY before authentication");

    server
        .auth_reply(AuthReply::deny(500, "internal"), at(0))
        .expect_err("denied");
    let (client_err, _) = pump(&mut client, &mut server, at(0));
    assert_eq!(
        client_err,
        Some(Error::PeerRefused {
            reason: "500".into()
        })
    );
}

#[test]
fn incompatible_socket_types_get_error_and_end() {
    let mut a = null(SocketType::Push);
    let mut b = null(SocketType::Push);
    let (ea, eb) = pump(&mut a, &mut b, at(0));
    for err in [ea, eb] {
        let err = err.expect("both sides refuse");
        assert!(err.is_protocol_violation());
        assert_eq!(
            err.to_string(),
            "peer socket type PUSH cannot talk to a PUSH socket"
        );
    }
}

#[test]
fn incompatible_peer_receives_an_error_command() {
    let mut a = null(SocketType::Req);
    let mut b = null(SocketType::Pub);
    // Shuttle bytes until `a` sees `b`'s READY, then look at what `a` answers.
    let err = loop {
        let to_a = b.send_buffer().take_all();
        if let Err(err) = a.feed(&to_a, at(0)) {
            break err;
        }
        let to_b = a.send_buffer().take_all();
        let _ = b.feed(&to_b, at(0));
    };
    assert!(matches!(err, Error::IncompatibleSocketType { .. }));
    let out = a.send_buffer().take_all();
    assert!(
        out.ends_with(b"\x04\x1a\x05ERROR\x13invalid socket type"),
        "ERROR command last: {out:?}"
    );
}

#[test]
fn mechanism_mismatch_is_detected_from_the_greeting() {
    let mut a = null(SocketType::Req);
    let mut b = conn(SocketType::Rep, PlainServer::new());
    let (ea, eb) = pump(&mut a, &mut b, at(0));
    assert_eq!(
        ea,
        Some(Error::MechanismMismatch {
            ours: MechanismName::NULL,
            peer: MechanismName::PLAIN
        })
    );
    assert!(matches!(eb, Some(Error::MechanismMismatch { .. })));
}

#[test]
fn message_frame_during_handshake_is_a_protocol_error() {
    let mut c = null(SocketType::Pull);
    let mut peer = null(SocketType::Push);
    let mut wire = peer.send_buffer().take_all().to_vec();
    wire.extend_from_slice(&purezmq_zmtp::Greeting::new(MechanismName::NULL, false).encode()[10..]);
    wire.extend_from_slice(b"\x00\x05hello");
    assert_eq!(c.feed(&wire, at(0)), Err(Error::MessageDuringHandshake));
}

#[test]
fn handshake_timeout_fails_a_silent_peer() {
    let mut c = null(SocketType::Req);
    assert_eq!(c.poll_timeout(), Some(at(30_000)));
    c.handle_timeout(at(29_999)).expect("not yet");
    let err = c.handle_timeout(at(30_000)).expect_err("too slow");
    assert_eq!(err.to_string(), "handshake did not complete within 30s");
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn multipart_message_over_the_limit_is_refused() {
    let mut config = Config::new(SocketType::Pull);
    config.max_message_size = Some(1000);
    let mut pull = Connection::new(config, Box::new(Null::new()), at(0));
    let mut push = null(SocketType::Push);
    assert_eq!(pump(&mut push, &mut pull, at(0)), (None, None));
    let frame = Bytes::from(vec![0u8; 600]);
    push.send(&Message::from(vec![frame.clone()]))
        .expect("ready");
    push.send(&Message::from(vec![frame.clone(), frame]))
        .expect("ready");
    let (_, err) = pump(&mut push, &mut pull, at(0));
    assert_eq!(
        err,
        Some(Error::MessageTooLarge {
            size: 1200,
            max: 1000
        })
    );
    let got = events(&mut pull);
    assert_eq!(
        got.len(),
        2,
        "handshake and the first message came through: {got:?}"
    );
}
