//! `Socket::can_send` (libzmq's `ZMQ_POLLOUT`), and the wake-ups that tell when it
//! may have become true: `writable` and `writable_changed`.

mod common;

use std::time::Duration;

use common::*;
use purezmq::{Error, Socket, SocketType};
use tokio::time::timeout;

/// Sends `payload` with `try_send` while `can_send` says so, checking each goes;
/// returns how many went.
fn fill(socket: &Socket, payload: &[u8]) -> usize {
    let mut sent = 0;
    while socket.can_send() {
        socket
            .try_send(payload.to_vec())
            .unwrap_or_else(|e| panic!("can_send said yes, the send said {}", e.error));
        sent += 1;
    }
    sent
}

/// What each type answers with no peer, bound with no peer, and with a connect
/// whose peer takes messages in advance: libzmq 4.3.5's answers.
#[tokio::test]
async fn each_type_answers_as_libzmq_without_peers() {
    use SocketType::*;
    let table = [
        // (type, no peer, bound with no peer, connected to nobody)
        (Push, false, false, true),
        (Pull, false, false, false),
        (Pub, true, true, true),
        (Sub, false, false, false),
        (XPub, true, true, true),
        (XSub, true, true, true),
        (Dealer, false, false, true),
        (Router, true, true, true),
        (Req, false, false, true),
        (Rep, false, false, false),
        (Pair, false, false, true),
    ];
    for (kind, alone, bound, connected) in table {
        let socket = socket_with(kind, |o| o.linger = Some(Duration::ZERO));
        assert_eq!(socket.can_send(), alone, "{kind:?}");
        socket
            .bind(&Transport::Inproc.endpoint("can-send"))
            .unwrap();
        assert_eq!(socket.can_send(), bound, "{kind:?} bound");
        let other = socket_with(kind, |o| o.linger = Some(Duration::ZERO));
        other.connect("tcp://127.0.0.1:1").unwrap();
        assert_eq!(other.can_send(), connected, "{kind:?} connected");
    }
}

/// PUSH to a PULL that does not read: yes for exactly what fits (SNDHWM + RCVHWM
/// over inproc), no from the moment a send would block; `writable` and
/// `writable_changed` resolve when the PULL drains, and sends go again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_answers_by_its_peers_room_and_wakes_when_it_drains() {
    for transport in ALL {
        let pull = socket_with(SocketType::Pull, |o| o.rcvhwm = 2);
        let endpoint = bind(&pull, transport, "can-send-drain");
        let push = socket_with(SocketType::Push, |o| {
            o.sndhwm = 2;
            o.linger = Some(Duration::ZERO);
        });
        assert!(!push.can_send());
        push.connect(&endpoint).unwrap();
        // Over tcp and ipc the connection's buffers take some too: a few
        // megabytes, so large messages fill them sooner.
        let payload = vec![7u8; 64 * 1024];
        let sent = fill(&push, &payload);
        if transport == Transport::Inproc {
            // Nothing drains an inproc pipe but its reader: exact at this moment.
            assert_eq!(sent, 4);
            let refused = push.try_send("x").expect_err("can_send said no");
            assert!(matches!(refused.error, Error::WouldBlock));
        }
        let changed = push.writable_changed();
        let mut received = 0;
        let drain = async {
            while received < sent {
                recv(&pull).await;
                received += 1;
            }
        };
        let woken = async {
            timeout(WAIT, changed)
                .await
                .expect("writable_changed resolves");
            timeout(WAIT, push.writable())
                .await
                .expect("writable resolves");
        };
        tokio::join!(drain, woken);
        assert!(push.can_send(), "{transport:?}");
        push.try_send("after").unwrap();
        expect(&pull, &["after"]).await;
        assert_eq!(received, sent);
    }
}

/// `writable` waits for a peer to arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writable_waits_for_a_peer() {
    let push = socket(SocketType::Push);
    let endpoint = bind(&push, Transport::Tcp, "can-send-peer");
    let waiting = push.clone();
    let wait = tokio::spawn(async move { waiting.writable().await });
    tokio::time::sleep(QUIET).await;
    assert!(!wait.is_finished(), "no peer yet");
    let pull = socket(SocketType::Pull);
    pull.connect(&endpoint).unwrap();
    timeout(WAIT, wait).await.unwrap().unwrap();
    assert!(push.can_send());
    push.try_send("hello").unwrap();
    expect(&pull, &["hello"]).await;
}

/// REQ: yes before its request, no while the reply is awaited (yes with
/// REQ_RELAXED), yes again once it is received. REP: yes only between a request
/// received and its reply.
#[tokio::test]
async fn req_and_rep_answer_by_their_turn() {
    let rep = socket(SocketType::Rep);
    let endpoint = bind(&rep, Transport::Inproc, "can-send-reqrep");
    let req = socket(SocketType::Req);
    req.connect(&endpoint).unwrap();
    assert!(req.can_send());
    assert!(!rep.can_send());
    send(&req, &["question"]).await;
    assert!(!req.can_send());
    expect(&rep, &["question"]).await;
    assert!(rep.can_send());
    send(&rep, &["answer"]).await;
    assert!(!rep.can_send());
    expect(&req, &["answer"]).await;
    assert!(req.can_send());

    let relaxed = socket_with(SocketType::Req, |o| o.req_relaxed = true);
    relaxed.connect(&endpoint).unwrap();
    send(&relaxed, &["again"]).await;
    assert!(relaxed.can_send());
}

/// ROUTER: yes always; with ROUTER_MANDATORY only while some peer has room.
#[tokio::test]
async fn router_answers_yes_unless_mandatory_and_full() {
    let router = socket_with(SocketType::Router, |o| {
        o.router_mandatory = true;
        o.sndhwm = 2;
    });
    assert!(!router.can_send());
    let endpoint = bind(&router, Transport::Inproc, "can-send-router");
    let dealer = socket_with(SocketType::Dealer, |o| {
        o.rcvhwm = 2;
        o.routing_id = "dealer".into();
    });
    dealer.connect(&endpoint).unwrap();
    let mut sent = 0;
    while router.can_send() {
        router.try_send(msg(&["dealer", "x"])).unwrap();
        sent += 1;
    }
    assert_eq!(sent, 4, "SNDHWM + RCVHWM over inproc");
    let refused = router.try_send(msg(&["dealer", "x"])).unwrap_err();
    assert!(matches!(refused.error, Error::WouldBlock));
    router.set_options(|o| o.router_mandatory = false).unwrap();
    assert!(router.can_send());
}
