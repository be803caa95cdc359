//! High-water marks, as libzmq's tests/test_hwm.cpp (PUSH/PULL over inproc) and
//! tests/test_hwm_pubsub.cpp (XPUB/PUB to SUB over tcp, ipc and inproc) assert them.

mod common;

use std::time::Duration;

use common::*;
use purezmq::{Error, Socket, SocketType};

const MAX_SENDS: usize = 10_000;

/// Sends empty messages without waiting until one would block (or `max` went).
fn send_until_blocked(socket: &Socket, max: usize) -> usize {
    let mut sent = 0;
    while sent < max {
        match socket.try_send("") {
            Ok(()) => sent += 1,
            Err(e) if matches!(e.error, Error::WouldBlock) => break,
            Err(e) => panic!("send failed: {}", e.error),
        }
    }
    sent
}

fn recv_all_now(socket: &Socket) -> usize {
    let mut received = 0;
    while socket.try_recv().unwrap().is_some() {
        received += 1;
    }
    received
}

/// With the default HWMs an inproc PUSH queues SNDHWM + RCVHWM = 2000 messages for
/// a PULL that does not read, and all of them arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn defaults_inproc() {
    let endpoint = Transport::Inproc.endpoint("hwm-defaults");
    let pull = Socket::new(SocketType::Pull);
    pull.bind(&endpoint).unwrap();
    let push = Socket::new(SocketType::Push);
    push.connect(&endpoint).unwrap();
    let sent = send_until_blocked(&push, MAX_SENDS);
    assert_eq!(sent, 2000);
    assert_eq!(recv_all_now(&pull), sent);
}

/// libzmq's count_msg: how many messages an inproc PUSH with `send_hwm` can queue
/// to a PULL with `recv_hwm`, bound before or after the connect; then the pipe
/// still works.
async fn count_inproc(send_hwm: usize, recv_hwm: usize, bind_first: bool) -> usize {
    let endpoint = Transport::Inproc.endpoint("hwm-count");
    let pull = socket_with(SocketType::Pull, |o| o.rcvhwm = recv_hwm);
    let push = socket_with(SocketType::Push, |o| o.sndhwm = send_hwm);
    if bind_first {
        pull.bind(&endpoint).unwrap();
        push.connect(&endpoint).unwrap();
    } else {
        push.connect(&endpoint).unwrap();
        pull.bind(&endpoint).unwrap();
    }
    let sent = send_until_blocked(&push, MAX_SENDS);
    assert_eq!(recv_all_now(&pull), sent);
    send(&push, &[""]).await;
    expect(&pull, &[""]).await;
    sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn infinite_both() {
    assert_eq!(count_inproc(0, 0, true).await, MAX_SENDS);
    assert_eq!(count_inproc(0, 0, false).await, MAX_SENDS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn infinite_receive() {
    assert_eq!(count_inproc(1, 0, true).await, MAX_SENDS);
    assert_eq!(count_inproc(1, 0, false).await, MAX_SENDS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn infinite_send() {
    assert_eq!(count_inproc(0, 1, true).await, MAX_SENDS);
    assert_eq!(count_inproc(0, 1, false).await, MAX_SENDS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finite_both_bind_first() {
    assert_eq!(count_inproc(1, 1, true).await, 2);
}

/// libzmq sizes a connect-before-bind inproc pipe from both sockets' HWMs once the
/// bind comes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finite_both_connect_first() {
    assert_eq!(count_inproc(1, 1, false).await, 2);
}

/// An inproc PUSH that connects before the bind, sends and closes: its messages
/// still reach the PULL that binds later (libzmq's
/// test_infinite_recv_connect_and_close_first).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_send_close_then_bind() {
    let endpoint = Transport::Inproc.endpoint("hwm-close-first");
    let push = socket_with(SocketType::Push, |o| o.sndhwm = 1);
    push.connect(&endpoint).unwrap();
    let sent = send_until_blocked(&push, MAX_SENDS);
    push.close().await;
    let pull = socket_with(SocketType::Pull, |o| o.rcvhwm = 0);
    pull.bind(&endpoint).unwrap();
    assert_eq!(recv_all_now(&pull), sent);
    assert_eq!(sent, 1);
}

/// test_hwm_pubsub's test_defaults: an XPUB sends `hwm` messages to a subscriber
/// that does not read yet, and every one of them arrives.
async fn pubsub_defaults(transport: Transport, hwm: usize) {
    let xpub = socket_with(SocketType::XPub, |o| o.sndhwm = hwm);
    let endpoint = bind(&xpub, transport, "hwm-pubsub");
    let sub = socket(SocketType::Sub);
    sub.connect(&endpoint).unwrap();
    sub.subscribe("").unwrap();
    expect(&xpub, &["\u{1}"]).await;
    let mut sent = 0;
    while sent < hwm && xpub.try_send("test message").is_ok() {
        sent += 1;
    }
    assert_eq!(sent, hwm);
    let received = drain(&sub, Duration::from_millis(100)).await;
    assert_eq!(received.len(), hwm, "{transport:?}");
    assert!(received.iter().all(|m| m.frames() == ["test message"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_defaults_large() {
    for transport in ALL {
        pubsub_defaults(transport, 1000).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_defaults_small() {
    for transport in ALL {
        pubsub_defaults(transport, 100).await;
    }
}

/// test_hwm_pubsub's test_blocking: with XPUB_NODROP a send to a subscriber at its
/// HWM fails with "would block" instead of dropping, and once the subscriber reads,
/// everything sent arrives.
///
/// libzmq's test sends 6000 empty messages with SNDHWM 2000 and relies on libzmq
/// learning late that its peer read. purezmq's engine takes messages from the pipe
/// as fast as the kernel accepts them, so here the subscriber also stops reading
/// (RCVHWM 100) and the messages are 1 KiB, so that the kernel's buffers fill
/// quickly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_nodrop_blocks() {
    for transport in ALL {
        let xpub = socket_with(SocketType::XPub, |o| {
            o.sndhwm = 100;
            o.xpub_nodrop = true;
        });
        let endpoint = bind(&xpub, transport, "hwm-nodrop");
        let sub = socket_with(SocketType::Sub, |o| o.rcvhwm = 100);
        sub.connect(&endpoint).unwrap();
        sub.subscribe("").unwrap();
        expect(&xpub, &["\u{1}"]).await;

        let body = bytes::Bytes::from(vec![b'x'; 1024]);
        let mut sent = 0usize;
        let mut received = 0usize;
        let mut blocked = 0usize;
        let mut target = 50_000;
        while sent < target {
            match xpub.try_send(body.clone()) {
                Ok(()) => sent += 1,
                Err(e) if matches!(e.error, Error::WouldBlock) => {
                    if blocked == 0 {
                        // Go on for as many again, reading as needed.
                        target = sent * 2;
                    }
                    blocked += 1;
                    // Read what has come; wait a little if nothing has.
                    let got = recv_all_now(&sub);
                    let wait = Duration::from_millis(10);
                    if got == 0
                        && let Ok(m) = tokio::time::timeout(wait, sub.recv()).await
                    {
                        m.unwrap();
                        received += 1;
                    }
                    received += got;
                }
                Err(e) => panic!("{}", e.error),
            }
        }
        assert!(blocked > 0, "{transport:?}: sent {sent} without blocking");
        // Send the end marker the same way: it too must wait for room.
        while xpub.try_send("end").is_err() {
            received += drain(&sub, Duration::from_millis(10)).await.len();
        }
        loop {
            let m = recv(&sub).await;
            if m.frames() == ["end"] {
                break;
            }
            received += 1;
        }
        assert_eq!(received, sent, "{transport:?}: blocked {blocked} times");
    }
}

/// test_hwm_pubsub's test_reset_hwm: after the subscriber has read everything, the
/// publisher's queue counts from zero again: 9999 then 1100 messages with HWM 11024
/// all arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_hwm_resets_after_reading() {
    for transport in ALL {
        let publisher = socket_with(SocketType::Pub, |o| o.sndhwm = 11_024);
        let mut monitor = publisher.monitor();
        let endpoint = bind(&publisher, transport, "hwm-reset");
        let sub = socket_with(SocketType::Sub, |o| o.rcvhwm = 11_024);
        sub.subscribe("").unwrap();
        sub.connect(&endpoint).unwrap();
        handshakes(&mut monitor, transport, 1).await;
        // Wait until the subscription is in: probe until one arrives.
        loop {
            publisher.send("probe").await.unwrap();
            if tokio::time::timeout(Duration::from_millis(10), sub.recv())
                .await
                .is_ok()
            {
                break;
            }
        }
        drain(&sub, Duration::from_millis(20)).await;
        for count in [9_999, 1_100] {
            let mut sent = 0;
            while sent < count && publisher.try_send("").is_ok() {
                sent += 1;
            }
            assert_eq!(sent, count);
            for _ in 0..count {
                recv(&sub).await;
            }
            nothing_within(&sub, Duration::from_millis(20)).await;
        }
    }
}
