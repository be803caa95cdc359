//! REQ_CORRELATE and REQ_RELAXED, as libzmq's tests/test_req_correlate.cpp and
//! tests/test_req_relaxed.cpp assert them, over tcp, ipc and inproc.

mod common;

use std::time::Duration;

use common::*;
use purezmq::{Message, Socket, SocketType};

/// test_req_correlate: the request carries a 4-byte request id before the
/// delimiter; a reply with another id is dropped, the one with the right id taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn correlate() {
    for transport in ALL {
        let router = socket(SocketType::Router);
        let endpoint = bind(&router, transport, "req-correlate");
        let req = socket_with(SocketType::Req, |o| o.req_correlate = true);
        req.connect(&endpoint).unwrap();
        send(&req, &["ABC", "DEF"]).await;
        let request = recv(&router).await;
        let frames = request.frames();
        assert_eq!(frames.len(), 5, "{transport:?}: {frames:?}");
        assert!(!frames[0].is_empty());
        assert_eq!(frames[1].len(), 4, "a 32-bit request id");
        assert_eq!(&frames[2..], ["", "ABC", "DEF"]);

        let (peer, id) = (frames[0].clone(), frames[1].clone());
        let mut bad_id = id.to_vec();
        bad_id[3] = bad_id[3].wrapping_add(1);
        let bad: Message = [peer.clone(), bad_id.into(), "".into(), "DATA".into()]
            .into_iter()
            .collect();
        router.send(bad).await.unwrap();
        let good: Message = [peer, id, "".into(), "GHI".into()].into_iter().collect();
        router.send(good).await.unwrap();
        expect(&req, &["GHI"]).await;
    }
}

/// A REQ with REQ_RELAXED and REQ_CORRELATE bound, and five REPs connected in order.
async fn relaxed_setup(transport: Transport) -> (Socket, Vec<Socket>) {
    let req = socket_with(SocketType::Req, |o| {
        o.req_relaxed = true;
        o.req_correlate = true;
    });
    let mut monitor = req.monitor();
    let endpoint = bind(&req, transport, "req-relaxed");
    let mut reps = Vec::new();
    for _ in 0..5 {
        let rep = socket(SocketType::Rep);
        connect_settled(&rep, &endpoint, &mut monitor, transport).await;
        reps.push(rep);
    }
    (req, reps)
}

/// test_req_relaxed's cases 1 to 3: a relaxed REQ may send again before the reply;
/// only the reply to the latest request is taken, from whichever peer it went to;
/// requests keep going round the peers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relaxed_takes_only_the_latest_reply() {
    for transport in ALL {
        let (req, rep) = relaxed_setup(transport).await;
        // Case 1.
        send(&req, &["A", "B"]).await;
        expect(&rep[0], &["A", "B"]).await;
        send(&req, &["C", "D"]).await;
        expect(&rep[1], &["C", "D"]).await;
        send(&rep[0], &["WRONG"]).await;
        send(&rep[1], &["OK"]).await;
        expect(&req, &["OK"]).await;
        send(&req, &["E"]).await;
        expect(&rep[2], &["E"]).await;
        send(&rep[2], &["F", "G"]).await;
        expect(&req, &["F", "G"]).await;
        // Case 2: a late reply to an abandoned request is not taken.
        send(&req, &["H"]).await;
        expect(&rep[3], &["H"]).await;
        send(&rep[3], &["BAD"]).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        send(&req, &["I"]).await;
        expect(&rep[4], &["I"]).await;
        send(&rep[4], &["GOOD"]).await;
        expect(&req, &["GOOD"]).await;
        // Case 3: the next request goes to the first peer again.
        send(&req, &["J"]).await;
        expect(&rep[0], &["J"]).await;
    }
}

/// test_req_relaxed's case 4: two requests queued before the ROUTER binds are both
/// delivered; the REQ takes only the reply to the second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relaxed_requests_queued_before_bind() {
    for transport in ALL {
        let endpoint = match transport {
            Transport::Inproc => transport.endpoint("req-relaxed-early"),
            _ => {
                // Bind and close to get an endpoint nobody listens on yet.
                let probe = Socket::new(SocketType::Pull);
                let endpoint = bind(&probe, transport, "req-relaxed-early");
                probe.close().await;
                endpoint
            }
        };
        let req = socket_with(SocketType::Req, |o| {
            o.req_relaxed = true;
            o.req_correlate = true;
        });
        req.connect(&endpoint).unwrap();
        send(&req, &["TO_BE_DISCARDED"]).await;
        send(&req, &["TO_BE_ANSWERED"]).await;
        let router = socket(SocketType::Router);
        router.bind(&endpoint).unwrap();
        for _ in 0..2 {
            let m = recv(&router).await;
            router.send(m).await.unwrap();
        }
        expect(&req, &["TO_BE_ANSWERED"]).await;
    }
}
