//! The direct path: a send that follows a receive, on a socket with one tcp or ipc
//! peer, writes to the connection from the caller's future. These prove it keeps
//! what the engine's path guarantees: order, whole messages of any size, CURVE's
//! nonces, and messages queued for a peer whose connection comes back.

mod common;

use bytes::Bytes;
use common::*;
use purezmq::curve::KeyPair;
use purezmq::monitor::EventKind;
use purezmq::{Message, Security, SocketType};

fn numbered(i: u32) -> Message {
    Message::from(Bytes::from(i.to_be_bytes().to_vec()))
}

fn number(message: &Message) -> u32 {
    let frame = message.frames().last().expect("a frame");
    u32::from_be_bytes(frame[..].try_into().expect("four bytes"))
}

/// Sends that follow a receive (written by the caller) and runs of sends that follow
/// each other (written by the engine) interleave, and the peer gets them in order.
async fn order_is_kept_between_direct_and_engine_writes() {
    for transport in STREAMS {
        let router = socket(SocketType::Router);
        let endpoint = bind(&router, transport, "direct-order");
        let dealer = socket(SocketType::Dealer);
        dealer.connect(&endpoint).unwrap();
        let mut next = 0u32;
        let mut expected = 0u32;
        for round in 0..200u32 {
            // One send after a receive, then a run of 0 to 4 more.
            for _ in 0..=(round % 5) {
                dealer.send(numbered(next)).await.unwrap();
                next += 1;
            }
            let mut last = None;
            while expected < next {
                let message = recv(&router).await;
                assert_eq!(number(&message), expected, "{transport:?}, round {round}");
                expected += 1;
                last = Some(message);
            }
            let last = last.expect("a message this round");
            router.send(last).await.unwrap();
            recv(&dealer).await;
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn order_is_kept_on_one_thread() {
    order_is_kept_between_direct_and_engine_writes().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_is_kept_on_several_threads() {
    order_is_kept_between_direct_and_engine_writes().await;
}

/// A request far larger than the kernel takes in one write: the caller writes what
/// it can and the engine the rest, and the reply comes back whole.
async fn large_messages_go_whole() {
    for transport in STREAMS {
        let rep = socket(SocketType::Rep);
        let endpoint = bind(&rep, transport, "direct-large");
        let req = socket(SocketType::Req);
        req.connect(&endpoint).unwrap();
        for size in [1, 100_000, 8 * 1024 * 1024] {
            let body: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            req.send(Bytes::from(body.clone())).await.unwrap();
            let request = recv(&rep).await;
            assert_eq!(request.frames()[0], body, "{transport:?}, {size} B request");
            rep.send(request).await.unwrap();
            let reply = recv(&req).await;
            assert_eq!(reply.frames()[0], body, "{transport:?}, {size} B reply");
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn large_messages_go_whole_on_one_thread() {
    large_messages_go_whole().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_messages_go_whole_on_several_threads() {
    large_messages_go_whole().await;
}

/// Over CURVE each message is sealed with the next nonce, whoever writes it: a
/// nonce out of order would fail the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curve_round_trips_and_runs_keep_their_nonces_in_order() {
    let server_keys = KeyPair::generate();
    let server_public = *server_keys.public();
    let router = socket_with(SocketType::Router, |o| {
        o.security = Security::CurveServer {
            keypair: server_keys,
        };
    });
    let endpoint = bind(&router, Transport::Tcp, "direct-curve");
    let dealer = socket_with(SocketType::Dealer, |o| {
        o.security = Security::CurveClient {
            keypair: KeyPair::generate(),
            server_key: server_public,
        };
    });
    dealer.connect(&endpoint).unwrap();
    let mut next = 0u32;
    for round in 0..100u32 {
        for _ in 0..=(round % 3) {
            dealer.send(numbered(next)).await.unwrap();
            next += 1;
        }
        let mut last = None;
        for _ in 0..=(round % 3) {
            last = Some(recv(&router).await);
        }
        assert_eq!(number(last.as_ref().unwrap()), next - 1);
        router.send(last.unwrap()).await.unwrap();
        assert_eq!(number(&recv(&dealer).await), next - 1);
    }
}

/// A connect's peer outlives its connections: a request sent while the connection
/// is down waits in the pipe and goes out on the next one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_sent_while_disconnected_goes_on_the_next_connection() {
    let rep = socket(SocketType::Rep);
    let endpoint = bind(&rep, Transport::Tcp, "direct-reconnect");
    let req = socket(SocketType::Req);
    let mut monitor = req.monitor();
    req.connect(&endpoint).unwrap();
    send(&req, &["one"]).await;
    let request = recv(&rep).await;
    rep.send(request).await.unwrap();
    expect(&req, &["one"]).await;

    rep.unbind(&endpoint).unwrap();
    wait_event(&mut monitor, |kind| matches!(kind, EventKind::Disconnected)).await;
    send(&req, &["two"]).await;
    let rep = socket(SocketType::Rep);
    // The REQ's reconnects may hold the port for a moment (a connect to a free
    // port can be given it as its source, which the connecter then drops).
    let deadline = tokio::time::Instant::now() + WAIT;
    while let Err(e) = rep.bind(&endpoint) {
        assert!(tokio::time::Instant::now() < deadline, "{e}");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    expect(&rep, &["two"]).await;
    send(&rep, &["two"]).await;
    expect(&req, &["two"]).await;
}

/// A `recv` that reads from the connection itself takes the stream's read interest
/// from the engine while it waits; once it is dropped (here by RCVTIMEO) the engine
/// must read again, or the peer's PINGs would go unanswered and it would drop the
/// connection after its heartbeat timeout.
async fn the_engine_reads_again_after_a_dropped_recv() {
    for transport in STREAMS {
        let router = socket_with(SocketType::Router, |o| {
            o.heartbeat_ivl = Some(std::time::Duration::from_millis(50));
            o.heartbeat_timeout = Some(std::time::Duration::from_millis(400));
        });
        let mut router_monitor = router.monitor();
        let endpoint = bind(&router, transport, "direct-dropped-recv");
        let dealer = socket_with(SocketType::Dealer, |o| {
            o.rcvtimeo = Some(std::time::Duration::from_millis(50));
        });
        dealer.connect(&endpoint).unwrap();
        send(&dealer, &["hello"]).await;
        let hello = recv(&router).await;
        assert!(dealer.recv().await.is_err(), "nothing to receive yet");
        // No recv pending now, for several heartbeat timeouts.
        tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
        let reply = [hello.frames()[0].clone(), Bytes::from_static(b"still here")];
        router.send(Message::from_iter(reply)).await.unwrap();
        expect(&dealer, &["still here"]).await;
        while let Ok(Some(event)) = tokio::time::timeout(
            std::time::Duration::from_millis(10),
            futures::StreamExt::next(&mut router_monitor),
        )
        .await
        {
            assert!(
                !matches!(event.kind, EventKind::Disconnected),
                "{transport:?}: the router lost the dealer: {event:?}"
            );
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn the_engine_reads_again_after_a_dropped_recv_on_one_thread() {
    the_engine_reads_again_after_a_dropped_recv().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_reads_again_after_a_dropped_recv_on_several_threads() {
    the_engine_reads_again_after_a_dropped_recv().await;
}

/// `try_send` takes the direct path as `send` does (a request, a reply, and runs of
/// sends between them), and `recv_without_spin` reads from the connection as `recv`
/// does: the peer gets every message in order, and large ones whole.
async fn try_send_and_recv_without_spin_keep_order_and_size() {
    for transport in STREAMS {
        let router = socket(SocketType::Router);
        let endpoint = bind(&router, transport, "direct-try-send");
        let dealer = socket(SocketType::Dealer);
        dealer.connect(&endpoint).unwrap();
        // Once connected, nothing below has to wait for room.
        dealer.send(numbered(0)).await.unwrap();
        let mut envelope = router.recv_without_spin().await.unwrap();
        assert_eq!(number(&envelope), 0, "{transport:?}");
        let (mut next, mut expected) = (1u32, 1u32);
        for round in 0..200u32 {
            let reply = [envelope.frames()[0].clone(), Bytes::from_static(b"go")];
            router.try_send(Message::from_iter(reply)).unwrap();
            let go = dealer.recv_without_spin().await.unwrap();
            assert_eq!(go.frames()[0], &b"go"[..], "{transport:?}, round {round}");
            for _ in 0..=(round % 5) {
                dealer.try_send(numbered(next)).unwrap();
                next += 1;
            }
            while expected < next {
                envelope = router.recv_without_spin().await.unwrap();
                assert_eq!(number(&envelope), expected, "{transport:?}, round {round}");
                expected += 1;
            }
        }
        let body: Vec<u8> = (0..8 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
        let reply = [envelope.frames()[0].clone(), Bytes::from(body.clone())];
        router.try_send(Message::from_iter(reply)).unwrap();
        let large = dealer.recv_without_spin().await.unwrap();
        assert_eq!(large.frames()[0], body, "{transport:?}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn try_send_and_recv_without_spin_keep_order_and_size_on_one_thread() {
    try_send_and_recv_without_spin_keep_order_and_size().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn try_send_and_recv_without_spin_keep_order_and_size_on_several_threads() {
    try_send_and_recv_without_spin_keep_order_and_size().await;
}

/// Counts the wake-ups of the task it wraps.
struct CountingWaker {
    inner: std::task::Waker,
    wakes: std::sync::atomic::AtomicUsize,
}

impl std::task::Wake for CountingWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.wakes.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.wake_by_ref();
    }
}

/// A REQ's `recv` that reads the reply from its connection itself hands it to the
/// socket's queue and takes it from there in the same poll, without waking its own
/// task (on a current-thread runtime such a wake costs another poll of the task and
/// a look at the kernel's events on every round trip). The REP answers from a thread
/// of its own, so nothing but the `recv` itself runs during its polls here.
#[tokio::test(flavor = "current_thread")]
async fn a_recv_that_reads_the_reply_itself_does_not_wake_its_own_task() {
    for transport in STREAMS {
        let (endpoint_tx, endpoint_rx) = std::sync::mpsc::channel();
        let server = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let rep = socket(SocketType::Rep);
                endpoint_tx
                    .send(bind(&rep, transport, "direct-no-self-wake"))
                    .unwrap();
                for _ in 0..100 {
                    let request = recv(&rep).await;
                    rep.send(request).await.unwrap();
                }
                rep.close().await;
            });
        });
        let endpoint = endpoint_rx.recv().unwrap();
        let req = socket(SocketType::Req);
        req.connect(&endpoint).unwrap();
        let mut self_wakes = 0;
        for i in 0..100u32 {
            req.send(numbered(i)).await.unwrap();
            let mut reply = std::pin::pin!(req.recv());
            let reply = std::future::poll_fn(|cx| {
                let counting = std::sync::Arc::new(CountingWaker {
                    inner: cx.waker().clone(),
                    wakes: std::sync::atomic::AtomicUsize::new(0),
                });
                let waker = std::task::Waker::from(std::sync::Arc::clone(&counting));
                let polled = reply
                    .as_mut()
                    .poll(&mut std::task::Context::from_waker(&waker));
                if polled.is_ready() {
                    self_wakes += counting.wakes.load(std::sync::atomic::Ordering::SeqCst);
                }
                polled
            })
            .await
            .unwrap();
            assert_eq!(number(&reply), i, "{transport:?}");
        }
        assert_eq!(self_wakes, 0, "{transport:?}: recv woke its own task");
        server.join().unwrap();
    }
}

/// Two `recv`s wait on one socket with one tcp or ipc peer, each reading from the
/// connection in turn: two messages arriving together reach both.
async fn two_waiting_recvs_get_a_message_each() {
    for transport in STREAMS {
        let router = socket(SocketType::Router);
        let endpoint = bind(&router, transport, "direct-two-recvs");
        let dealer = socket(SocketType::Dealer);
        dealer.connect(&endpoint).unwrap();
        send(&dealer, &["hello"]).await;
        let hello = recv(&router).await;
        for round in 0..20 {
            let other = dealer.clone();
            let first = tokio::spawn(async move { recv(&other).await });
            let other = dealer.clone();
            let second = tokio::spawn(async move { recv(&other).await });
            // Let both start waiting.
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            let mut batch = std::collections::VecDeque::new();
            for n in 0..2 {
                batch.push_back(Message::from_iter([
                    hello.frames()[0].clone(),
                    Bytes::from(format!("{round}-{n}")),
                ]));
            }
            router.send_batch(&mut batch).await.unwrap();
            let mut got = [first.await.unwrap(), second.await.unwrap()]
                .map(|m| String::from_utf8(m.frames()[0].to_vec()).unwrap());
            got.sort();
            assert_eq!(
                got,
                [format!("{round}-0"), format!("{round}-1")],
                "{transport:?}"
            );
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn two_waiting_recvs_get_a_message_each_on_one_thread() {
    two_waiting_recvs_get_a_message_each().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_waiting_recvs_get_a_message_each_on_several_threads() {
    two_waiting_recvs_get_a_message_each().await;
}
