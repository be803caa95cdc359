//! A busy socket shares a single-threaded runtime: `send` yields now and then, so
//! the connection's task writes while the application is still sending, rather than
//! after everything up to SNDHWM has piled up in memory.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use common::{WAIT, expect};
use purezmq::{Options, Socket, SocketType};

#[tokio::test(flavor = "current_thread")]
async fn a_sender_that_never_waits_lets_its_connection_deliver_as_it_goes() {
    let unlimited = Options {
        sndhwm: 0,
        rcvhwm: 0,
        ..Options::default()
    };
    let pull = Socket::with_options(SocketType::Pull, unlimited.clone()).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let push = Socket::with_options(SocketType::Push, unlimited).unwrap();
    push.connect(&pull.last_endpoint()).unwrap();
    push.send("up").await.unwrap();
    expect(&pull, &["up"]).await;

    let received = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&received);
    let receiver = tokio::spawn(async move {
        while pull.recv().await.is_ok() {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    });
    // With no high-water mark no send ever waits: only the socket's own yields let
    // the two connections' tasks and the receiver run on this one thread.
    let chunk = Bytes::from(vec![7u8; 64 * 1024]);
    for _ in 0..512 {
        push.send(chunk.clone()).await.unwrap();
    }
    let during = received.load(Ordering::Relaxed);
    assert!(
        during > 0,
        "nothing of 32 MiB arrived while it was being sent"
    );
    tokio::time::timeout(WAIT, async {
        while received.load(Ordering::Relaxed) < 512 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("everything arrives");
    receiver.abort();
}
