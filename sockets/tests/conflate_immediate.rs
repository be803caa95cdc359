//! CONFLATE and IMMEDIATE, as libzmq's tests/test_conflate.cpp and
//! tests/test_immediate.cpp assert them.

mod common;

use std::time::Duration;

use common::*;
use purezmq::monitor::EventKind;
use purezmq::{Error, Socket, SocketType};

/// test_conflate: a PULL with CONFLATE keeps only the newest of the messages sent
/// while it was not reading.
///
/// Over inproc libzmq honours only the connecting socket's CONFLATE (both pipes of
/// the pair take it), so there the PULL connects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflate_keeps_the_newest() {
    for transport in ALL {
        let pull = socket_with(SocketType::Pull, |o| o.conflate = true);
        let push = socket(SocketType::Push);
        if transport == Transport::Inproc {
            let endpoint = bind(&push, transport, "conflate");
            pull.connect(&endpoint).unwrap();
        } else {
            let endpoint = bind(&pull, transport, "conflate");
            push.connect(&endpoint).unwrap();
        }
        for i in 0..20u32 {
            push.send(i.to_be_bytes().to_vec()).await.unwrap();
        }
        // Let all 20 arrive, as libzmq's test does.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let m = recv(&pull).await;
        assert_eq!(m.frames()[0], 19u32.to_be_bytes().to_vec(), "{transport:?}");
        nothing_within(&pull, Duration::from_millis(50)).await;
    }
}

/// An endpoint where nobody listens.
async fn dead_endpoint(transport: Transport) -> String {
    let probe = Socket::new(SocketType::Pull);
    let endpoint = bind(&probe, transport, "immediate-dead");
    probe.close().await;
    endpoint
}

/// test_immediate_1 and _2: a PUSH connected to a dead endpoint and a live one
/// round-robins half its messages into the dead peer's queue, unless IMMEDIATE is
/// set, when they all go to the live peer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn immediate_skips_peers_not_connected() {
    for transport in STREAMS {
        for (immediate, expected) in [(false, 5), (true, 10)] {
            let pull = socket_with(SocketType::Pull, |o| o.linger = Some(Duration::ZERO));
            let mut pull_monitor = pull.monitor();
            let endpoint = bind(&pull, transport, "immediate");
            let push = socket_with(SocketType::Push, |o| {
                o.linger = Some(Duration::ZERO);
                o.immediate = immediate;
            });
            push.connect(&dead_endpoint(transport).await).unwrap();
            push.connect(&endpoint).unwrap();
            handshakes(&mut pull_monitor, transport, 1).await;
            // The live connection is up on the PUSH side too once a message goes.
            tokio::time::sleep(Duration::from_millis(20)).await;
            for _ in 0..10 {
                send(&push, &["Hello"]).await;
            }
            let seen = drain(&pull, Duration::from_millis(100)).await.len();
            assert_eq!(seen, expected, "{transport:?} immediate={immediate}");
        }
    }
}

/// test_immediate_3: with IMMEDIATE, a DEALER whose only peer went away cannot
/// send, and can again once a new peer binds the endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn immediate_blocks_while_the_peer_is_away() {
    for transport in STREAMS {
        let backend = socket_with(SocketType::Dealer, |o| o.linger = Some(Duration::ZERO));
        let endpoint = bind(&backend, transport, "immediate-3");
        let frontend = socket_with(SocketType::Dealer, |o| {
            o.linger = Some(Duration::ZERO);
            o.immediate = true;
        });
        let mut monitor = frontend.monitor();
        frontend.connect(&endpoint).unwrap();
        send(&backend, &["Hello"]).await;
        expect(&frontend, &["Hello"]).await;
        frontend.try_send(msg(&["Hello"])).unwrap();

        backend.close().await;
        wait_event(&mut monitor, |k| *k == EventKind::Disconnected).await;
        let refused = frontend.try_send(msg(&["Hello"])).unwrap_err();
        assert!(
            matches!(refused.error, Error::WouldBlock),
            "{}",
            refused.error
        );

        let backend = socket_with(SocketType::Dealer, |o| o.linger = Some(Duration::ZERO));
        backend.bind(&endpoint).unwrap();
        send(&backend, &["Hello"]).await;
        expect(&frontend, &["Hello"]).await;
        frontend.try_send(msg(&["Hello"])).unwrap();
    }
}
