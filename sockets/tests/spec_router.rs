//! ROUTER as RFC 28 and libzmq's tests/test_spec_router.cpp describe it, over tcp, ipc
//! and inproc.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;
use purezmq::{Error, SocketType};

/// SHALL receive incoming messages from its peers using a fair-queuing strategy,
/// each prefixed with the routing id the peer announced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fair_queue_in() {
    for transport in ALL {
        let router = socket(SocketType::Router);
        let mut monitor = router.monitor();
        let endpoint = bind(&router, transport, "router-fq");
        let names: Vec<String> = (0..5u8).map(|i| char::from(b'A' + i).to_string()).collect();
        let mut senders = Vec::new();
        for name in &names {
            let dealer = socket_with(SocketType::Dealer, |o| {
                o.routing_id = name.clone().into();
            });
            dealer.connect(&endpoint).unwrap();
            senders.push(dealer);
        }
        handshakes(&mut monitor, transport, names.len()).await;

        send(&senders[0], &["M"]).await;
        expect(&router, &["A", "M"]).await;
        send(&senders[0], &["M"]).await;
        expect(&router, &["A", "M"]).await;

        for sender in &senders {
            send(sender, &["M"]).await;
        }
        let mut from = BTreeSet::new();
        for _ in 0..names.len() {
            let message = recv(&router).await;
            assert_eq!(message.frames()[1], "M");
            from.insert(String::from_utf8(message.frames()[0].to_vec()).unwrap());
        }
        assert_eq!(from, names.iter().cloned().collect(), "{transport:?}");
    }
}

/// SHALL destroy the double queue of a peer that disconnects: with ROUTER_MANDATORY
/// its routing id is unreachable at once, and what was queued for it is not
/// delivered after it reconnects. (libzmq's test is disabled; this is the part
/// libzmq does too. Messages that had fully arrived from the peer before it left are
/// still delivered, as in libzmq.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroys_queue_on_disconnect() {
    for transport in ALL {
        let a = socket_with(SocketType::Router, |o| o.router_mandatory = true);
        let mut monitor = a.monitor();
        let endpoint = bind(&a, transport, "router-destroy");
        let b = socket_with(SocketType::Dealer, |o| o.routing_id = "B".into());
        connect_settled(&b, &endpoint, &mut monitor, transport).await;

        send(&a, &["B", "ABC"]).await;
        // Let ABC reach B's queue before B leaves.
        tokio::time::sleep(Duration::from_millis(20)).await;
        b.disconnect(&endpoint).unwrap();
        if transport != Transport::Inproc {
            wait_event(&mut monitor, |k| {
                *k == purezmq::monitor::EventKind::Disconnected
            })
            .await;
        }
        let refused = a.try_send(msg(&["B", "late"])).unwrap_err();
        assert!(
            matches!(refused.error, Error::HostUnreachable { .. }),
            "{transport:?}: {}",
            refused.error
        );

        b.connect(&endpoint).unwrap();
        nothing(&b).await;
        assert!(b.try_recv().unwrap().is_none());
    }
}

/// A ROUTER without ROUTER_MANDATORY drops what it cannot route, and a message
/// without a body is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drops_unroutable() {
    for transport in ALL {
        let router = socket(SocketType::Router);
        let endpoint = bind(&router, transport, "router-drop");
        let dealer = socket_with(SocketType::Dealer, |o| o.routing_id = "D".into());
        dealer.connect(&endpoint).unwrap();
        send(&dealer, &["hi"]).await;
        expect(&router, &["D", "hi"]).await;
        send(&router, &["nobody", "lost"]).await;
        send(&router, &["D", "found"]).await;
        expect(&dealer, &["found"]).await;
        let refused = router.try_send(msg(&["D"])).unwrap_err();
        assert!(matches!(
            refused.error,
            Error::MissingRoutingId { frames: 1 }
        ));
    }
}

/// A peer that announces no routing id gets a generated 5-byte one (a zero byte and
/// a 32-bit number), and replies reach it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_routing_ids() {
    for transport in ALL {
        let router = socket(SocketType::Router);
        let endpoint = bind(&router, transport, "router-genid");
        let one = socket(SocketType::Dealer);
        let two = socket(SocketType::Dealer);
        one.connect(&endpoint).unwrap();
        two.connect(&endpoint).unwrap();
        send(&one, &["1"]).await;
        send(&two, &["2"]).await;
        let mut ids = Vec::new();
        for _ in 0..2 {
            let m = recv(&router).await;
            let id = m.frames()[0].clone();
            assert_eq!(id.len(), 5, "{transport:?}: {id:?}");
            assert_eq!(id[0], 0);
            ids.push((id, m.frames()[1].clone()));
        }
        assert_ne!(ids[0].0, ids[1].0);
        for (id, body) in ids {
            router
                .send([id, body].into_iter().collect::<purezmq::Message>())
                .await
                .unwrap();
        }
        expect(&one, &["1"]).await;
        expect(&two, &["2"]).await;
    }
}
