//! ROUTER_HANDOVER and ROUTER_MANDATORY, as libzmq's tests/test_router_handover.cpp
//! and tests/test_router_mandatory.cpp assert them, over tcp, ipc and inproc.

mod common;

use common::*;
use purezmq::{Error, SocketType};

/// test_with_handover: a second peer announcing a routing id in use takes it over;
/// messages to that id go to the newcomer only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handover() {
    for transport in ALL {
        let router = socket_with(SocketType::Router, |o| o.router_handover = true);
        let endpoint = bind(&router, transport, "router-handover");
        let one = socket_with(SocketType::Dealer, |o| o.routing_id = "X".into());
        one.connect(&endpoint).unwrap();
        send(&one, &["Hello"]).await;
        expect(&router, &["X", "Hello"]).await;

        let two = socket_with(SocketType::Dealer, |o| o.routing_id = "X".into());
        two.connect(&endpoint).unwrap();
        send(&two, &["Hello"]).await;
        expect(&router, &["X", "Hello"]).await;

        send(&router, &["X", "Hello"]).await;
        expect(&two, &["Hello"]).await;
        nothing(&one).await;
    }
}

/// test_without_handover: the second peer with the same routing id is refused; the
/// first keeps its name and its messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_handover() {
    for transport in ALL {
        let router = socket(SocketType::Router);
        let endpoint = bind(&router, transport, "router-nohandover");
        let one = socket_with(SocketType::Dealer, |o| o.routing_id = "X".into());
        one.connect(&endpoint).unwrap();
        send(&one, &["Hello"]).await;
        expect(&router, &["X", "Hello"]).await;

        let two = socket_with(SocketType::Dealer, |o| o.routing_id = "X".into());
        two.connect(&endpoint).unwrap();
        // Over tcp and ipc this queues for a connection the ROUTER refuses; over
        // inproc the refusal is immediate and there is no peer to queue for.
        let _ = two.try_send(msg(&["Hello"]));
        nothing(&router).await;

        send(&router, &["X", "Hello"]).await;
        expect(&one, &["Hello"]).await;
        nothing(&two).await;
    }
}

/// test_router_mandatory's test_basic: an unknown routing id is dropped silently,
/// or with ROUTER_MANDATORY refused as unreachable; a known one is routed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mandatory() {
    for transport in ALL {
        let router = socket(SocketType::Router);
        let endpoint = bind(&router, transport, "router-mandatory");
        send(&router, &["UNKNOWN", "DATA"]).await;
        router.set_options(|o| o.router_mandatory = true).unwrap();
        let refused = router.try_send(msg(&["UNKNOWN", "DATA"])).unwrap_err();
        assert!(
            matches!(&refused.error, Error::HostUnreachable { routing_id } if routing_id == "UNKNOWN"),
            "{}",
            refused.error
        );
        assert_eq!(refused.message.frames(), ["UNKNOWN", "DATA"], "handed back");

        let dealer = socket_with(SocketType::Dealer, |o| o.routing_id = "X".into());
        dealer.connect(&endpoint).unwrap();
        send(&dealer, &["Hello"]).await;
        expect(&router, &["X", "Hello"]).await;
        send(&router, &["X", "Hello"]).await;
        expect(&dealer, &["Hello"]).await;
    }
}

/// With ROUTER_MANDATORY a send to a peer at its HWM would block instead of being
/// dropped (test_get_peer_state's "dealer2 blocked"), while other peers are served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mandatory_full_peer_blocks() {
    for transport in ALL {
        let router = socket_with(SocketType::Router, |o| {
            o.router_mandatory = true;
            o.sndhwm = 10;
        });
        let endpoint = bind(&router, transport, "router-mandatory-hwm");
        let mut dealers = Vec::new();
        for name in ["X", "Y"] {
            let dealer = socket_with(SocketType::Dealer, |o| {
                o.routing_id = name.into();
                o.rcvhwm = 10;
            });
            dealer.connect(&endpoint).unwrap();
            send(&dealer, &["Hello"]).await;
            expect(&router, &[name, "Hello"]).await;
            dealers.push(dealer);
        }
        let body = bytes::Bytes::from(vec![0; 64 * 1024]);
        let mut sent = 0;
        let blocked = loop {
            let m = [bytes::Bytes::from("Y"), body.clone()]
                .into_iter()
                .collect::<purezmq::Message>();
            match router.try_send(m) {
                Ok(()) => sent += 1,
                Err(e) => break e,
            }
            assert!(sent < 100_000, "{transport:?}: never blocked");
        };
        assert!(
            matches!(blocked.error, Error::WouldBlock),
            "{}",
            blocked.error
        );
        send(&router, &["X", "still served"]).await;
        expect(&dealers[0], &["still served"]).await;
    }
}
