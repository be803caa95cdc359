//! Reconnection, as libzmq's tests/test_reconnect_ivl.cpp asserts it over tcp and
//! ipc, plus what the sockets issue asks: a connecting socket finds its peer again
//! after the peer restarts, backing off up to RECONNECT_IVL_MAX.

mod common;

use std::time::Duration;

use common::*;
use purezmq::monitor::EventKind;
use purezmq::{Socket, SocketType};

/// A request goes from `client` to `server` and back.
async fn bounce(server: &Socket, client: &Socket) {
    send(client, &["ping", "", "1"]).await;
    let m = recv(server).await;
    assert_eq!(m.frames(), ["ping", "", "1"]);
    server.send(m).await.unwrap();
    expect(client, &["ping", "", "1"]).await;
}

/// Nothing gets from `client` to `server`, nor back.
async fn expect_bounce_fail(server: &Socket, client: &Socket) {
    let _ = client.try_send(msg(&["lost"]));
    let _ = server.try_send(msg(&["lost"]));
    nothing(server).await;
    nothing(client).await;
}

/// test_reconnect_ivl: with RECONNECT_IVL -1 (`None`) a PAIR does not reconnect
/// after its peer unbinds and binds again; a new connect works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_reconnect_when_disabled() {
    for transport in STREAMS {
        let server = socket(SocketType::Pair);
        let mut server_monitor = server.monitor();
        let endpoint = bind(&server, transport, "reconnect-off");
        let client = socket_with(SocketType::Pair, |o| o.reconnect_ivl = None);
        client.connect(&endpoint).unwrap();
        bounce(&server, &client).await;

        server.unbind(&endpoint).unwrap();
        wait_event(&mut server_monitor, |k| *k == EventKind::Disconnected).await;
        expect_bounce_fail(&server, &client).await;
        server.bind(&endpoint).unwrap();
        expect_bounce_fail(&server, &client).await;

        client.connect(&endpoint).unwrap();
        bounce(&server, &client).await;
    }
}

/// Every connecting socket reconnects once its peer is back: the peer closes, a
/// new socket binds the same endpoint, and messages flow again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_after_peer_restarts() {
    for transport in STREAMS {
        for (bound, connecting) in [
            (SocketType::Rep, SocketType::Req),
            (SocketType::Router, SocketType::Dealer),
            (SocketType::Pull, SocketType::Push),
            (SocketType::Pair, SocketType::Pair),
        ] {
            let server = socket(bound);
            let endpoint = bind(&server, transport, "reconnect-restart");
            let client = socket(connecting);
            let mut monitor = client.monitor();
            client.connect(&endpoint).unwrap();
            wait_event(&mut monitor, |k| *k == EventKind::HandshakeSucceeded).await;
            server.close().await;
            wait_event(&mut monitor, |k| *k == EventKind::Disconnected).await;

            let server = socket(bound);
            server.bind(&endpoint).unwrap();
            wait_event(&mut monitor, |k| *k == EventKind::HandshakeSucceeded).await;
            send(&client, &["again"]).await;
            let m = recv(&server).await;
            assert_eq!(
                m.frames().last().unwrap(),
                "again",
                "{transport:?} {bound:?}"
            );
        }
    }
}

/// Messages sent while the peer is away wait for it (no IMMEDIATE), and arrive
/// once it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_while_away() {
    for transport in STREAMS {
        // Bind and close to get an endpoint nobody listens on yet.
        let probe = Socket::new(SocketType::Pull);
        let endpoint = bind(&probe, transport, "reconnect-queue");
        probe.close().await;
        let push = socket(SocketType::Push);
        push.connect(&endpoint).unwrap();
        for i in 0..10 {
            send(&push, &[&i.to_string()]).await;
        }
        let pull = socket(SocketType::Pull);
        pull.bind(&endpoint).unwrap();
        for i in 0..10 {
            expect(&pull, &[&i.to_string()]).await;
        }
    }
}

/// RECONNECT_IVL_MAX: a connect that keeps failing waits twice as long each time,
/// up to the maximum, as CONNECT_RETRIED reports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backs_off_to_the_maximum() {
    for transport in STREAMS {
        // Bind and close to get an endpoint nobody listens on.
        let probe = Socket::new(SocketType::Pull);
        let endpoint = bind(&probe, transport, "reconnect-backoff");
        probe.close().await;

        let client = socket_with(SocketType::Push, |o| {
            o.reconnect_ivl = Some(Duration::from_millis(10));
            o.reconnect_ivl_max = Some(Duration::from_millis(40));
        });
        let mut monitor = client.monitor();
        client.connect(&endpoint).unwrap();
        let mut intervals = Vec::new();
        while intervals.len() < 5 {
            if let EventKind::ConnectRetried(ivl) = next_event(&mut monitor).await.kind {
                intervals.push(ivl.as_millis());
            }
        }
        assert_eq!(intervals, [10, 20, 40, 40, 40], "{transport:?}");
    }
}

/// A connect to a free local port that is given that very port as its source reaches
/// itself (TCP's simultaneous open, which Linux allows for a port of its ephemeral
/// range). That is nobody listening, not a peer: a DEALER must not get its own
/// messages back, and retries as for a refused connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_reaches_itself_is_not_a_peer() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dealer = socket(SocketType::Dealer);
    let mut monitor = dealer.monitor();
    // Leaving from the port it goes to: the kernel's simultaneous open, every time.
    dealer
        .connect(&format!("tcp://127.0.0.1:{port};127.0.0.1:{port}"))
        .unwrap();
    wait_event(&mut monitor, |k| matches!(k, EventKind::ConnectRetried(_))).await;
    send(&dealer, &["to nobody"]).await;
    assert!(
        tokio::time::timeout(QUIET, dealer.recv()).await.is_err(),
        "the DEALER got its own message back"
    );
}
