//! Subscriptions in both wire forms (ZMTP 3.0 messages, ZMTP 3.1 commands) and
//! heartbeats between two in-memory connections.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{at, events, pump, ready_pair};
use purezmq_zmtp::command::{self, Command};
use purezmq_zmtp::mechanism::Null;
use purezmq_zmtp::metadata::SOCKET_TYPE;
use purezmq_zmtp::{
    Config, Connection, Error, Event, Greeting, HeartbeatConfig, MechanismName, Message, Metadata,
    SocketType, Version,
};

/// The bytes a ZMTP 3.0 peer of type `ty` sends to open a NULL connection.
fn zmtp30_peer_opening(ty: SocketType) -> Vec<u8> {
    let mut greeting = Greeting::new(MechanismName::NULL, false);
    greeting.version = Version::V3_0;
    let mut wire = greeting.encode().to_vec();
    let mut metadata = Metadata::new();
    metadata.insert(SOCKET_TYPE, ty.as_str());
    let ready = command::encode_with_metadata(command::READY, &metadata);
    wire.extend_from_slice(&[0x04, ready.len() as u8]);
    wire.extend_from_slice(&ready);
    wire
}

fn connected_to_zmtp30_peer(ours: SocketType, theirs: SocketType) -> Connection {
    let mut c = Connection::new(Config::new(ours), Box::new(Null::new()), at(0));
    c.feed(&zmtp30_peer_opening(theirs), at(0))
        .expect("valid opening");
    assert!(c.is_ready());
    assert_eq!(c.peer_version(), Some(Version::V3_0));
    events(&mut c);
    c.send_buffer().take_all();
    c
}

#[test]
fn zmtp31_peers_subscribe_with_commands() {
    let (mut sub, mut publisher) = ready_pair(SocketType::Sub, SocketType::XPub);
    sub.subscribe(b"weather").expect("ready");
    let wire = sub.send_buffer().take_all();
    assert_eq!(&wire[..], b"\x04\x11\x09SUBSCRIBEweather");
    publisher.feed(&wire, at(0)).expect("valid");
    sub.cancel(b"weather").expect("ready");
    sub.subscribe(b"").expect("ready");
    pump(&mut sub, &mut publisher, at(0));
    assert_eq!(
        events(&mut publisher),
        vec![
            Event::Subscribe(Bytes::from_static(b"weather")),
            Event::Cancel(Bytes::from_static(b"weather")),
            Event::Subscribe(Bytes::new()),
        ]
    );
}

#[test]
fn zmtp30_peers_get_subscriptions_as_messages() {
    let mut sub = connected_to_zmtp30_peer(SocketType::Sub, SocketType::Pub);
    sub.subscribe(b"weather").expect("ready");
    sub.cancel(b"weather").expect("ready");
    assert_eq!(
        &sub.send_buffer().take_all()[..],
        b"\x00\x08\x01weather\x00\x08\x00weather"
    );
}

#[test]
fn subscription_messages_from_zmtp30_peers_become_subscribe_events() {
    let mut publisher = connected_to_zmtp30_peer(SocketType::Pub, SocketType::Sub);
    publisher
        .feed(b"\x00\x04\x01abc\x00\x04\x00abc\x01\x01\x01\x00\x00", at(0))
        .expect("valid");
    assert_eq!(
        events(&mut publisher),
        vec![
            Event::Subscribe(Bytes::from_static(b"abc")),
            Event::Cancel(Bytes::from_static(b"abc")),
            // A multipart message is no subscription.
            Event::Message(Message::from(vec![
                Bytes::from_static(b"\x01"),
                Bytes::new()
            ])),
        ]
    );
}

#[test]
fn no_heartbeats_towards_zmtp30_peers() {
    let mut config = Config::new(SocketType::Sub);
    config.heartbeat.interval = Some(Duration::from_millis(100));
    let mut c = Connection::new(config, Box::new(Null::new()), at(0));
    c.feed(&zmtp30_peer_opening(SocketType::Pub), at(0))
        .expect("valid opening");
    assert_eq!(c.poll_timeout(), None);
}

fn heartbeat_pair() -> (Connection, Connection) {
    let mut config = Config::new(SocketType::Dealer);
    config.heartbeat = HeartbeatConfig {
        interval: Some(Duration::from_millis(100)),
        timeout: Some(Duration::from_millis(300)),
        ttl: Some(Duration::from_secs(1)),
    };
    let mut a = Connection::new(config, Box::new(Null::new()), at(0));
    let mut b = Connection::new(
        Config::new(SocketType::Dealer),
        Box::new(Null::new()),
        at(0),
    );
    assert_eq!(pump(&mut a, &mut b, at(0)), (None, None));
    events(&mut a);
    events(&mut b);
    (a, b)
}

#[test]
fn ping_is_answered_with_pong_and_keeps_both_alive() {
    let (mut a, mut b) = heartbeat_pair();
    assert_eq!(a.poll_timeout(), Some(at(100)));
    assert_eq!(b.poll_timeout(), None, "b sends no heartbeats of its own");
    for t in (100..=1000).step_by(100) {
        a.handle_timeout(at(t)).expect("alive");
        let ping = a.send_buffer().take_all();
        assert_eq!(&ping[..], b"\x04\x07\x04PING\x00\x0a", "TTL 1 s = 10 ds");
        b.feed(&ping, at(t)).expect("valid");
        assert_eq!(b.poll_timeout(), Some(at(t + 1000)), "a's TTL governs b");
        let pong = b.send_buffer().take_all();
        assert_eq!(&pong[..], b"\x04\x05\x04PONG");
        a.feed(&pong, at(t)).expect("valid");
    }
    assert!(events(&mut a).is_empty() && events(&mut b).is_empty());
}

#[test]
fn silent_peer_is_dropped_after_the_heartbeat_timeout() {
    let (mut a, _b) = heartbeat_pair();
    for t in [100, 200, 300] {
        a.handle_timeout(at(t)).expect("still within the timeout");
    }
    assert_eq!(a.poll_timeout(), Some(at(400)));
    assert_eq!(
        a.handle_timeout(at(400)),
        Err(Error::HeartbeatTimeout {
            timeout: Duration::from_millis(300)
        })
    );
}

#[test]
fn peer_that_goes_silent_after_its_ping_outlives_its_ttl_and_dies() {
    let (mut a, mut b) = heartbeat_pair();
    a.handle_timeout(at(100)).expect("alive");
    b.feed(&a.send_buffer().take_all(), at(100)).expect("valid");
    assert_eq!(
        b.handle_timeout(at(1100)),
        Err(Error::TtlExpired {
            ttl: Duration::from_secs(1)
        })
    );
}

#[test]
fn pong_echoes_the_ping_context_up_to_16_octets() {
    let (_a, mut b) = ready_pair(SocketType::Pair, SocketType::Pair);
    let ping = Command::encode(command::PING, &[b"\x00\x00", b"0123456789abcdefXYZ"]);
    let mut frame = vec![0x04, ping.len() as u8];
    frame.extend_from_slice(&ping);
    b.feed(&frame, at(0)).expect("valid");
    assert_eq!(
        &b.send_buffer().take_all()[..],
        b"\x04\x15\x04PONG0123456789abcdef"
    );
}
