//! Moving messages in batches: `recv_batch`, `try_recv_batch`, `send_batch` and
//! `try_send_batch`, as devices use them.

use std::collections::VecDeque;
use std::time::Duration;

use purezmq::{Error, Message, Options, Socket, SocketType};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(5);

fn socket(socket_type: SocketType, hwm: usize) -> Socket {
    let options = Options {
        sndhwm: hwm,
        rcvhwm: hwm,
        linger: Some(Duration::ZERO),
        ..Options::default()
    };
    Socket::with_options(socket_type, options).unwrap()
}

#[tokio::test]
async fn batches_keep_order_and_respect_the_limit() {
    let pull = socket(SocketType::Pull, 1000);
    pull.bind("inproc://batch-order").unwrap();
    let push = socket(SocketType::Push, 1000);
    push.connect("inproc://batch-order").unwrap();

    let mut queue: VecDeque<Message> = (0..10).map(|i| Message::from(format!("{i}"))).collect();
    assert_eq!(push.try_send_batch(&mut queue).unwrap(), 10);
    assert!(queue.is_empty());

    let mut into = VecDeque::new();
    let taken = timeout(WAIT, pull.recv_batch(&mut into, 4)).await.unwrap();
    assert_eq!(taken.unwrap(), 4);
    assert_eq!(pull.try_recv_batch(&mut into, 100).unwrap(), 6);
    let got: Vec<Message> = into.into_iter().collect();
    let expected: Vec<Message> = (0..10).map(|i| Message::from(format!("{i}"))).collect();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn send_batch_leaves_what_would_block_and_waits_for_room() {
    let pull = socket(SocketType::Pull, 2);
    pull.bind("inproc://batch-hwm").unwrap();
    let push = socket(SocketType::Push, 2);
    push.connect("inproc://batch-hwm").unwrap();

    let mut queue: VecDeque<Message> = (0..10).map(|i| Message::from(format!("{i}"))).collect();
    let sent = push.try_send_batch(&mut queue).unwrap();
    assert!(sent < 10, "the pipe's HWM stops the batch");
    assert_eq!(queue.len(), 10 - sent);
    assert_eq!(
        queue.front().unwrap().frames(),
        [format!("{sent}").as_str()]
    );

    // A reader makes room; send_batch then moves at least one more.
    let reader = tokio::spawn(async move {
        let mut got = Vec::new();
        while got.len() < 10 {
            got.push(pull.recv().await.unwrap());
        }
        got
    });
    while !queue.is_empty() {
        let sent = timeout(WAIT, push.send_batch(&mut queue)).await.unwrap();
        assert!(sent.unwrap() > 0);
    }
    let got = timeout(WAIT, reader).await.unwrap().unwrap();
    assert_eq!(got[9].frames(), ["9"]);
}

#[tokio::test]
async fn rep_takes_one_request_per_batch() {
    let rep = socket(SocketType::Rep, 1000);
    rep.bind("inproc://batch-rep").unwrap();
    let a = socket(SocketType::Req, 1000);
    a.connect("inproc://batch-rep").unwrap();
    let b = socket(SocketType::Req, 1000);
    b.connect("inproc://batch-rep").unwrap();
    a.send("from a").await.unwrap();
    b.send("from b").await.unwrap();

    let mut into = VecDeque::new();
    let taken = timeout(WAIT, rep.recv_batch(&mut into, 100)).await.unwrap();
    assert_eq!(
        taken.unwrap(),
        1,
        "a REP must answer before it takes another"
    );
    let mut replies = VecDeque::from([Message::from("answer")]);
    assert_eq!(rep.try_send_batch(&mut replies).unwrap(), 1);
    assert!(matches!(
        rep.try_send_batch(&mut VecDeque::from([Message::from("again")])),
        Err(e) if matches!(e.error, Error::State(_))
    ));
}

#[tokio::test]
async fn same_socket_tells_handles_apart() {
    let one = socket(SocketType::Pair, 1);
    let other = socket(SocketType::Pair, 1);
    assert!(one.same_socket(&one.clone()));
    assert!(!one.same_socket(&other));
}

/// A pipe signals once when it turns non-empty, however many messages a batch puts
/// in it: a receiver woken by that signal that leaves messages behind wakes the next
/// one, so that two receivers waiting on one socket each get one of a batch of two.
async fn waiting_receivers_share_one_wake_up(flavor: &str) {
    for (kind, endpoint) in [
        ("recv", format!("inproc://batch-two-waiters-{flavor}")),
        (
            "recv_batch",
            format!("inproc://batch-two-waiters-{flavor}-batched"),
        ),
    ] {
        let pull = socket(SocketType::Pull, 1000);
        pull.bind(&endpoint).unwrap();
        let push = socket(SocketType::Push, 1000);
        push.connect(&endpoint).unwrap();
        let receivers: Vec<_> = (0..2)
            .map(|_| {
                let pull = pull.clone();
                tokio::spawn(async move {
                    if kind == "recv" {
                        timeout(WAIT, pull.recv()).await.map(Result::unwrap)
                    } else {
                        let mut into = VecDeque::new();
                        let taken = timeout(WAIT, pull.recv_batch(&mut into, 1)).await;
                        taken.map(|n| {
                            assert_eq!(n.unwrap(), 1);
                            into.pop_front().unwrap()
                        })
                    }
                })
            })
            .collect();
        // Both wait before anything is sent.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let mut batch: VecDeque<Message> = ["a", "b"].into_iter().map(Message::from).collect();
        push.send_batch(&mut batch).await.unwrap();
        let mut got = Vec::new();
        for receiver in receivers {
            let message = receiver.await.unwrap().unwrap_or_else(|_| {
                panic!("{kind} on a {flavor} runtime: a receiver slept beside a queued message")
            });
            got.push(message);
        }
        got.sort_by(|a, b| a.frames()[0].cmp(&b.frames()[0]));
        assert_eq!(got, [Message::from("a"), Message::from("b")], "{kind}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn waiting_receivers_share_one_wake_up_on_one_thread() {
    waiting_receivers_share_one_wake_up("current-thread").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_receivers_share_one_wake_up_on_several_threads() {
    waiting_receivers_share_one_wake_up("multi-thread").await;
}
