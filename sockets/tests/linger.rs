//! LINGER at close, as libzmq: a connect keeps what it queued and delivers it after
//! the socket is closed, dialling for as long as LINGER allows (libzmq's
//! test_linger / the "send, then close" pattern of every perf tool).

mod common;

use std::time::Duration;

use common::{QUIET, WAIT, expect, nothing};
use purezmq::{Options, Socket, SocketType};
use tokio::time::timeout;

/// A free tcp endpoint: bound once to learn a port, then released.
async fn free_tcp_endpoint() -> String {
    let probe = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    format!("tcp://127.0.0.1:{port}")
}

fn push(linger: Option<Duration>) -> Socket {
    let options = Options {
        linger,
        reconnect_ivl: Some(Duration::from_millis(20)),
        ..Options::default()
    };
    Socket::with_options(SocketType::Push, options).unwrap()
}

#[tokio::test]
async fn messages_sent_before_the_connection_is_up_are_delivered_after_close() {
    let pull = Socket::new(SocketType::Pull);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let push = push(None);
    push.connect(&pull.last_endpoint()).unwrap();
    for i in 0..10 {
        push.send(format!("m{i}")).await.unwrap();
    }
    // Closed at once: the tcp connection is most likely still being made.
    timeout(WAIT, push.close())
        .await
        .expect("close returns once delivered");
    for i in 0..10 {
        expect(&pull, &[&format!("m{i}")]).await;
    }
}

#[tokio::test]
async fn a_closed_connect_goes_on_dialling_until_its_peer_appears() {
    let endpoint = free_tcp_endpoint().await;
    let push = push(None);
    push.connect(&endpoint).unwrap();
    for i in 0..5 {
        push.send(format!("m{i}")).await.unwrap();
    }
    let closing = tokio::spawn(push.close());
    tokio::time::sleep(QUIET).await;
    assert!(!closing.is_finished(), "infinite LINGER waits for the peer");

    let pull = Socket::new(SocketType::Pull);
    pull.bind(&endpoint).unwrap();
    for i in 0..5 {
        expect(&pull, &[&format!("m{i}")]).await;
    }
    timeout(WAIT, closing)
        .await
        .expect("close returns once delivered")
        .unwrap();
}

#[tokio::test]
async fn a_linger_period_bounds_the_wait_for_an_absent_peer() {
    let endpoint = free_tcp_endpoint().await;
    let push = push(Some(Duration::from_millis(100)));
    push.connect(&endpoint).unwrap();
    push.send("lost").await.unwrap();
    timeout(WAIT, push.close())
        .await
        .expect("close returns after LINGER");

    let pull = Socket::new(SocketType::Pull);
    pull.bind(&endpoint).unwrap();
    // Nothing arrives after LINGER.
    nothing(&pull).await;
}

#[tokio::test]
async fn zero_linger_drops_what_is_queued_at_once() {
    let endpoint = free_tcp_endpoint().await;
    let push = push(Some(Duration::ZERO));
    push.connect(&endpoint).unwrap();
    push.send("dropped").await.unwrap();
    timeout(QUIET, push.close())
        .await
        .expect("close returns at once");

    let pull = Socket::new(SocketType::Pull);
    pull.bind(&endpoint).unwrap();
    nothing(&pull).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_sent_during_the_handshake_survives_an_immediate_close() {
    // The connection's task, on another worker, may see the close while it is still
    // handshaking; it must find its peer lingering, not drop what was queued.
    for round in 0..40 {
        let pull = Socket::new(SocketType::Pull);
        pull.bind("tcp://127.0.0.1:*").unwrap();
        let sender = push(None);
        sender.connect(&pull.last_endpoint()).unwrap();
        sender.send(format!("round {round}")).await.unwrap();
        sender.close().await;
        let got = timeout(WAIT, pull.recv()).await;
        let got = got.unwrap_or_else(|_| panic!("round {round}: the message was lost"));
        assert_eq!(got.unwrap().frames(), [format!("round {round}").as_str()]);
    }
}
