//! ZMTP heartbeats, as libzmq's tests/test_heartbeats.cpp asserts them: a peer that
//! does not answer PINGs is dropped, PINGs are answered with PONGs carrying their
//! context (at most 16 bytes), a PING's TTL makes the receiver drop a silent peer,
//! and peers that answer are kept.

mod common;

use std::time::Duration;

use common::*;
use purezmq::monitor::EventKind;
use purezmq::{Options, SocketType};
use tokio::io::AsyncWriteExt;

const PAIRS: [(SocketType, SocketType); 5] = [
    (SocketType::Dealer, SocketType::Router),
    (SocketType::Req, SocketType::Rep),
    (SocketType::Pull, SocketType::Push),
    (SocketType::Sub, SocketType::Pub),
    (SocketType::Pair, SocketType::Pair),
];

/// test_heartbeat_timeout_router: a ROUTER with HEARTBEAT_IVL 50 ms drops a raw
/// client that completes the handshake and then never answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_peer_is_dropped() {
    let router = socket_with(SocketType::Router, |o| {
        o.linger = Some(Duration::ZERO);
        o.heartbeat_ivl = Some(Duration::from_millis(50));
    });
    let mut monitor = router.monitor();
    let endpoint = bind(&router, Transport::Tcp, "hb-timeout");
    let started = std::time::Instant::now();
    let _stream = raw_handshake(&endpoint, READY_DEALER).await;
    wait_event(&mut monitor, |k| *k == EventKind::Accepted).await;
    let why = wait_event(&mut monitor, |k| matches!(k, EventKind::ProtocolError(_))).await;
    wait_event(&mut monitor, |k| *k == EventKind::Disconnected).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "dropped after {:?} ({})",
        started.elapsed(),
        why.kind
    );
}

/// test_heartbeat_timeout_router_mock_ping: a ROUTER without heartbeats of its own
/// answers a PING with a PONG echoing the context, cut to 16 bytes, and keeps the
/// connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pings_are_answered() {
    let router = socket_with(SocketType::Router, |o| o.linger = Some(Duration::ZERO));
    let mut monitor = router.monitor();
    let endpoint = bind(&router, Transport::Tcp, "hb-mock-ping");
    let mut stream = raw_handshake(&endpoint, READY_DEALER).await;
    let ping: &[u8] = &[4, 10, 4, b'P', b'I', b'N', b'G', 0, 0, b'L', b'O', b'L'];
    stream.write_all(ping).await.unwrap();
    let mut long_ping = vec![b'z'; 67];
    long_ping[..12].copy_from_slice(ping);
    long_ping[1] = 65;
    stream.write_all(&long_ping).await.unwrap();

    assert_eq!(read_frame(&mut stream).await, (4, b"\x04PONGLOL".to_vec()));
    let mut pooong = b"\x04PONGLOL".to_vec();
    pooong.extend([b'z'; 13]);
    assert_eq!(read_frame(&mut stream).await, (4, pooong));

    wait_event(&mut monitor, |k| *k == EventKind::Accepted).await;
    // Still connected: a message goes through.
    stream.write_all(b"\x00\x05hello").await.unwrap();
    expect(&router, &["client", "hello"]).await;
}

/// test_heartbeat_ttl: a client with HEARTBEAT_TTL 100 ms and HEARTBEAT_IVL 250 ms
/// tells the server to drop it after 100 ms of silence, which comes before its next
/// PING: the server, which has no heartbeats of its own, disconnects it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttl_makes_the_receiver_drop_a_silent_peer() {
    for transport in STREAMS {
        for (client_type, server_type) in PAIRS {
            let server = socket_with(server_type, |o| o.linger = Some(Duration::ZERO));
            let mut monitor = server.monitor();
            let endpoint = bind(&server, transport, "hb-ttl");
            let client = socket_with(client_type, |o| {
                o.heartbeat_ttl = Some(Duration::from_millis(100));
                o.heartbeat_ivl = Some(Duration::from_millis(250));
            });
            client.connect(&endpoint).unwrap();
            wait_event(&mut monitor, |k| *k == EventKind::Accepted).await;
            wait_event(&mut monitor, |k| *k == EventKind::Disconnected).await;
        }
    }
}

/// test_heartbeat_notimeout: a server with HEARTBEAT_IVL 50 ms keeps a client that
/// answers its PINGs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answering_peers_are_kept() {
    for transport in STREAMS {
        for (client_type, server_type) in PAIRS {
            let server = socket_with(server_type, |o| {
                o.linger = Some(Duration::ZERO);
                o.heartbeat_ivl = Some(Duration::from_millis(50));
            });
            let mut monitor = server.monitor();
            let endpoint = bind(&server, transport, "hb-notimeout");
            let client = socket(client_type);
            client.connect(&endpoint).unwrap();
            wait_event(&mut monitor, |k| *k == EventKind::HandshakeSucceeded).await;
            let quiet = tokio::time::timeout(Duration::from_millis(150), monitor.recv()).await;
            assert!(
                quiet.is_err(),
                "{transport:?} {client_type:?}-{server_type:?}: {quiet:?}"
            );
        }
    }
}

/// test_setsockopt_heartbeat_ttl_*: a TTL goes on the wire in whole deciseconds in
/// 16 bits. purezmq refuses anything over 6553.5 s; libzmq also accepts up to
/// 6553.599 s and cuts it to 6553.5 s.
#[test]
fn ttl_limits() {
    let with_ttl = |ms| Options {
        heartbeat_ttl: Some(Duration::from_millis(ms)),
        ..Options::default()
    };
    assert!(with_ttl(65_535 * 100).validate().is_ok());
    assert!(with_ttl(65_535 * 100 + 1).validate().is_err());
    assert!(with_ttl(99).validate().is_ok());
}
