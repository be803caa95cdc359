//! REQ as RFC 28 and libzmq's tests/test_spec_req.cpp describe it, over tcp, ipc and
//! inproc.

mod common;

use std::time::Duration;

use common::*;
use purezmq::{Error, SocketType};

/// SHALL route outgoing messages to connected peers using a round-robin strategy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_robin_out() {
    for transport in ALL {
        let req = socket(SocketType::Req);
        let mut monitor = req.monitor();
        let endpoint = bind(&req, transport, "req-rr");
        let mut reps = Vec::new();
        for _ in 0..5 {
            let rep = socket(SocketType::Rep);
            // One at a time, so the REQ attaches them in this order.
            connect_settled(&rep, &endpoint, &mut monitor, transport).await;
            reps.push(rep);
        }
        for rep in &reps {
            send(&req, &["ABC"]).await;
            expect(rep, &["ABC"]).await;
            send(rep, &["DEF"]).await;
            expect(&req, &["DEF"]).await;
        }
    }
}

/// The request and reply carry an empty delimiter frame added by the REQ; the
/// application sees only the body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_format() {
    for transport in ALL {
        let req = socket(SocketType::Req);
        let endpoint = bind(&req, transport, "req-format");
        let router = socket(SocketType::Router);
        router.connect(&endpoint).unwrap();

        send(&req, &["ABC", "DEF"]).await;
        let request = recv(&router).await;
        let frames = request.frames();
        assert_eq!(frames.len(), 4, "{transport:?}: {frames:?}");
        assert!(!frames[0].is_empty(), "a routing id comes first");
        assert_eq!(&frames[1..], ["", "ABC", "DEF"]);

        let reply = [frames[0].clone(), "".into(), "GHI".into()];
        router
            .send(reply.into_iter().collect::<purezmq::Message>())
            .await
            .unwrap();
        expect(&req, &["GHI"]).await;
    }
}

/// SHALL block on sending, or return a suitable error, when it has no connected peers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_on_send_without_peers() {
    let req = socket_with(SocketType::Req, |o| {
        o.sndtimeo = Some(Duration::from_millis(250));
    });
    let refused = req.try_send("").unwrap_err();
    assert!(matches!(refused.error, Error::WouldBlock), "{refused}");
    let started = std::time::Instant::now();
    let timed_out = req.send("").await.unwrap_err();
    assert!(matches!(timed_out, Error::Timeout(_)), "{timed_out}");
    assert!(started.elapsed() >= Duration::from_millis(240));
}

/// SHALL accept an incoming message only from the last peer that it sent a request
/// to, and discard silently any messages received from other peers. (libzmq's test
/// for this is disabled; purezmq passes it because, like libzmq, a REQ drops what is
/// queued when it sends a new request.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_listens_to_current_peer() {
    for transport in ALL {
        let req = socket_with(SocketType::Req, |o| o.routing_id = "A".into());
        let mut req_monitor = req.monitor();
        let endpoint = bind(&req, transport, "req-current");
        let mut routers = Vec::new();
        for _ in 0..3 {
            let router = socket_with(SocketType::Router, |o| o.router_mandatory = true);
            let mut monitor = router.monitor();
            connect_settled(&router, &endpoint, &mut req_monitor, transport).await;
            handshakes(&mut monitor, transport, 1).await;
            routers.push(router);
        }
        for i in 0..routers.len() {
            // Let the last round's wrong replies arrive, as libzmq's test does.
            tokio::time::sleep(Duration::from_millis(10)).await;
            send(&req, &["ABC"]).await;
            expect(&routers[i], &["A", "", "ABC"]).await;
            for (j, router) in routers.iter().enumerate() {
                let reply = if i == j { "GOOD" } else { "WRONG" };
                send(router, &["A", "", reply]).await;
            }
            expect(&req, &["GOOD"]).await;
        }
    }
}

/// Out of turn: a second send before the reply, or a receive before any request, is
/// a state error (libzmq's EFSM).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_alternation() {
    for transport in ALL {
        let rep = socket(SocketType::Rep);
        let endpoint = bind(&rep, transport, "req-fsm");
        let req = socket(SocketType::Req);
        req.connect(&endpoint).unwrap();
        assert!(matches!(req.try_recv(), Err(Error::State(_))));
        send(&req, &["one"]).await;
        let again = req.try_send("two").unwrap_err();
        assert!(matches!(again.error, Error::State(_)), "{}", again.error);
        expect(&rep, &["one"]).await;
        send(&rep, &["reply"]).await;
        expect(&req, &["reply"]).await;
        send(&req, &["two"]).await;
        expect(&rep, &["two"]).await;
    }
}
