//! PUSH and PULL as RFC 30 and libzmq's tests/test_spec_pushpull.cpp describe them,
//! over tcp, ipc and inproc.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use purezmq::{Error, Message, SocketType};

/// PUSH SHALL route outgoing messages to connected peers using a round-robin
/// strategy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_round_robin_out() {
    for transport in ALL {
        let push = socket(SocketType::Push);
        let mut monitor = push.monitor();
        let endpoint = bind(&push, transport, "push-rr");
        let mut pulls = Vec::new();
        for _ in 0..5 {
            let pull = socket(SocketType::Pull);
            pull.connect(&endpoint).unwrap();
            pulls.push(pull);
        }
        handshakes(&mut monitor, transport, 5).await;
        for _ in 0..pulls.len() {
            send(&push, &["ABC"]).await;
        }
        for _ in 0..pulls.len() {
            send(&push, &["DEF"]).await;
        }
        for pull in &pulls {
            expect(pull, &["ABC"]).await;
            expect(pull, &["DEF"]).await;
        }
    }
}

/// PULL SHALL receive incoming messages from its peers using a fair-queuing
/// strategy: one from each peer before a second from any.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_fair_queue_in() {
    for transport in ALL {
        let pull = socket(SocketType::Pull);
        let mut monitor = pull.monitor();
        let endpoint = bind(&pull, transport, "pull-fq");
        let mut pushes = Vec::new();
        for _ in 0..5 {
            let push = socket(SocketType::Push);
            push.connect(&endpoint).unwrap();
            pushes.push(push);
        }
        handshakes(&mut monitor, transport, 5).await;
        let mut first = BTreeSet::new();
        let mut second = BTreeSet::new();
        for (i, push) in pushes.iter().enumerate() {
            let a = char::from(b'A' + i as u8).to_string();
            let b = char::from(b'A' + 5 + i as u8).to_string();
            send(push, &[&a]).await;
            send(push, &[&b]).await;
            first.insert(a);
            second.insert(b);
        }
        // Wait for data, as libzmq's test does: every message must be queued
        // before the order of receiving says anything.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let take = async || {
            let m = recv(&pull).await;
            String::from_utf8(m.frames()[0].to_vec()).unwrap()
        };
        let mut got = BTreeSet::new();
        for _ in 0..5 {
            got.insert(take().await);
        }
        assert_eq!(got, first, "{transport:?}");
        got.clear();
        for _ in 0..5 {
            got.insert(take().await);
        }
        assert_eq!(got, second, "{transport:?}");
    }
}

/// PUSH SHALL block on sending, or return a suitable error, when it has no available
/// peers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_blocks_on_send_without_peers() {
    let push = socket_with(SocketType::Push, |o| {
        o.sndtimeo = Some(Duration::from_millis(250));
    });
    let refused = push.try_send("").unwrap_err();
    assert!(matches!(refused.error, Error::WouldBlock));
    assert!(matches!(push.send("").await, Err(Error::Timeout(_))));
}

fn big(fill: u8) -> Bytes {
    Bytes::from(vec![fill; 1 << 20])
}

fn message(frames: &[&str], large: Bytes, tail: &[&str]) -> Message {
    let mut m: Message = frames.iter().map(|f| f.as_bytes().to_vec()).collect();
    m.push(large);
    for f in tail {
        m.push(f.as_bytes().to_vec());
    }
    m
}

/// PUSH and PULL SHALL either receive or drop multipart messages atomically, also
/// when the PULL disconnects with messages in flight and reconnects at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_atomic_across_reconnect() {
    for transport in ALL {
        let push = socket_with(SocketType::Push, |o| {
            o.sndhwm = 1;
            o.linger = Some(Duration::ZERO);
        });
        let mut monitor = push.monitor();
        let endpoint = bind(&push, transport, "push-atomic");
        let pull = socket_with(SocketType::Pull, |o| {
            o.rcvhwm = 1;
            o.linger = Some(Duration::ZERO);
        });
        connect_settled(&pull, &endpoint, &mut monitor, transport).await;

        // Normal case.
        push.send(message(&["0", "0"], big(b'a'), &[]))
            .await
            .unwrap();
        let m = recv(&pull).await;
        assert_eq!(m.len(), 3);
        assert_eq!(&m.frames()[..2], ["0", "0"]);
        assert_eq!(m.frames()[2], big(b'a'));

        // Fill the queues, then drop the connection with them full.
        push.send(msg(&["1"])).await.unwrap();
        let _ = push.try_send(message(&["2", "2"], big(b'b'), &[]));
        pull.disconnect(&endpoint).unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        pull.connect(&endpoint).unwrap();
        tokio::time::timeout(WAIT, push.send(message(&["3", "3"], big(b'c'), &["3b"])))
            .await
            .expect("send blocked")
            .unwrap();
        tokio::time::timeout(WAIT, push.send(message(&["5", "5"], big(b'd'), &[])))
            .await
            .expect("send blocked")
            .unwrap();

        // Every message arrives whole or not at all; nothing from before the
        // disconnect arrives after it.
        let m = recv(&pull).await;
        let m = if m.frames()[0] == "3" {
            assert_eq!(m.len(), 4);
            assert_eq!(m.frames()[1], "3");
            assert_eq!(m.frames()[2], big(b'c'));
            assert_eq!(m.frames()[3], "3b");
            recv(&pull).await
        } else {
            m
        };
        assert_eq!(m.len(), 3, "{transport:?}: {:?}", m.frames()[0]);
        assert_eq!(&m.frames()[..2], ["5", "5"]);
        assert_eq!(m.frames()[2], big(b'd'));
    }
}

/// Over inproc on a multi-threaded runtime, a PULL that spins between looks (and
/// keeps its empty pipes in the rotation meanwhile) and then parks loses nothing
/// and reorders nothing: three PUSH tasks, each on its own pipe and sometimes
/// pausing so that the PULL parks, deliver every message in their own order, with
/// multipart messages whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inproc_stream_to_a_spinning_pull_loses_and_reorders_nothing() {
    const SENDERS: u32 = 3;
    const EACH: u32 = 20_000;
    let pull = socket(SocketType::Pull);
    pull.bind("inproc://spinning-pull").unwrap();
    let mut tasks = Vec::new();
    for sender in 0..SENDERS {
        let push = socket(SocketType::Push);
        push.connect("inproc://spinning-pull").unwrap();
        tasks.push(tokio::spawn(async move {
            for n in 0..EACH {
                let head = Bytes::from(format!("{sender}"));
                let body = Bytes::from(n.to_be_bytes().to_vec());
                push.send(Message::from(vec![head, body])).await.unwrap();
                if n % 1000 == 999 {
                    // Long enough for the PULL to stop spinning and park.
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
            push
        }));
    }
    let mut next = [0u32; SENDERS as usize];
    for _ in 0..SENDERS * EACH {
        let message = tokio::time::timeout(Duration::from_secs(30), pull.recv())
            .await
            .expect("every message arrives")
            .unwrap();
        let frames = message.frames();
        assert_eq!(frames.len(), 2, "multipart messages arrive whole");
        let sender: usize = std::str::from_utf8(&frames[0]).unwrap().parse().unwrap();
        let n = u32::from_be_bytes(frames[1][..].try_into().unwrap());
        assert_eq!(n, next[sender], "in order from sender {sender}");
        next[sender] += 1;
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(next, [EACH; SENDERS as usize]);
}
