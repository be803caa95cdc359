//! A thread outside the runtime that blocks on a receive (the blocking API, the `zmq`
//! drop-in) waits in the kernel: on its socket's lone tcp or ipc connection, which
//! the kernel wakes it for and it then reads itself, and on a bell for everything
//! else. These prove the kernel's wake-up alone delivers a message, and that
//! whatever else a receive waits for still ends the wait.

mod common;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use common::*;
use purezmq::blocking::{self, wait_for_receive};
use purezmq::{Error, Message, SocketType};
use tokio::runtime::{Builder, Runtime};

/// A runtime like the blocking API's: one worker thread, which polls the kernel's
/// events for every socket made under it.
fn io_thread() -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

fn text(message: &Message) -> &[u8] {
    &message.frames()[0]
}

/// Runs `make`'s future on a thread and a current-thread runtime of its own: a
/// peer whose engine the tested thread's runtime does not drive.
fn peer<F, T>(make: impl FnOnce() -> F + Send + 'static) -> JoinHandle<T>
where
    F: Future<Output = T>,
    T: Send + 'static,
{
    std::thread::spawn(move || {
        let runtime = Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(make())
    })
}

/// Ends the test binary with a message if the test holding it has not finished
/// within [`LIMIT`]: a wait in the kernel that nothing ends would otherwise hang
/// the run instead of failing it.
struct Watchdog(#[allow(dead_code)] mpsc::Sender<()>);

const LIMIT: Duration = Duration::from_secs(30);

fn watchdog(test: &'static str) -> Watchdog {
    let (alive, dropped) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = dropped.recv_timeout(LIMIT) {
            eprintln!("{test}: still waiting after {LIMIT:?}");
            std::process::abort();
        }
    });
    Watchdog(alive)
}

/// With the I/O thread stuck in a task, a REP blocked in a receive still gets the
/// request its lone peer sends, and its reply still goes out: the kernel woke the
/// receiving thread, which read the connection itself.
#[test]
fn the_kernel_wakes_a_blocked_receive_while_the_io_thread_is_busy() {
    let _watchdog = watchdog("the_kernel_wakes_a_blocked_receive_while_the_io_thread_is_busy");
    for transport in STREAMS {
        let io = io_thread();
        let _entered = io.enter();
        let rep = socket(SocketType::Rep);
        let endpoint = bind(&rep, transport, "kernel-wake");

        let (go_tx, go_rx) = mpsc::channel::<()>();
        let peer = peer(move || async move {
            let req = socket(SocketType::Req);
            req.connect(&endpoint).unwrap();
            req.send("warm-up").await.unwrap();
            recv(&req).await;
            go_rx.recv().unwrap();
            req.send("while-busy").await.unwrap();
            text(&recv(&req).await).to_vec()
        });

        let first = wait_for_receive(&rep, rep.recv()).unwrap();
        assert_eq!(text(&first), b"warm-up", "{transport:?}");
        io.block_on(rep.send("ok")).unwrap();

        // Occupy the runtime's only worker, so nothing polls the kernel's events.
        let released = Arc::new(AtomicBool::new(false));
        let (started_tx, started_rx) = mpsc::channel::<()>();
        let flag = Arc::clone(&released);
        io.spawn(async move {
            started_tx.send(()).unwrap();
            std::thread::sleep(Duration::from_secs(3));
            flag.store(true, Ordering::SeqCst);
        });
        started_rx.recv().unwrap();

        go_tx.send(()).unwrap();
        let request = wait_for_receive(&rep, rep.recv()).unwrap();
        assert_eq!(text(&request), b"while-busy", "{transport:?}");
        assert!(
            !released.load(Ordering::SeqCst),
            "{transport:?}: the request waited for the I/O thread"
        );
        io.block_on(rep.send("done")).unwrap();
        assert_eq!(peer.join().unwrap(), b"done", "{transport:?}");
    }
}

/// RCVTIMEO ends a receive that waits in the kernel on a quiet connection.
#[test]
fn rcvtimeo_ends_a_wait_on_a_quiet_connection() {
    let _watchdog = watchdog("rcvtimeo_ends_a_wait_on_a_quiet_connection");
    for transport in STREAMS {
        let io = io_thread();
        let _entered = io.enter();
        let rep = socket_with(SocketType::Rep, |o| {
            o.rcvtimeo = Some(Duration::from_millis(50));
        });
        let endpoint = bind(&rep, transport, "kernel-timeout");
        let req = socket(SocketType::Req);
        req.connect(&endpoint).unwrap();
        io.block_on(req.send("one")).unwrap();
        wait_for_receive(&rep, rep.recv()).unwrap();
        io.block_on(rep.send("reply")).unwrap();
        io.block_on(recv(&req));

        // The REP now has one peer, and that peer sends nothing.
        match wait_for_receive(&rep, rep.recv()) {
            Err(Error::Timeout(_)) => {}
            other => panic!("{transport:?}: expected a timeout, got {other:?}"),
        }
    }
}

/// A message from a second peer ends a wait on the first peer's connection.
#[test]
fn a_message_from_another_peer_ends_the_wait() {
    let _watchdog = watchdog("a_message_from_another_peer_ends_the_wait");
    for transport in STREAMS {
        let io = io_thread();
        let _entered = io.enter();
        let pull = socket(SocketType::Pull);
        let endpoint = bind(&pull, transport, "kernel-other");
        let first = socket(SocketType::Push);
        first.connect(&endpoint).unwrap();
        io.block_on(first.send("first")).unwrap();
        let got = wait_for_receive(&pull, pull.recv()).unwrap();
        assert_eq!(text(&got), b"first");

        let second = peer(move || async move {
            let push = socket(SocketType::Push);
            push.connect(&endpoint).unwrap();
            push.send("second").await.unwrap();
            // Stay until the message is surely out.
            tokio::time::sleep(Duration::from_millis(200)).await;
            push.close().await;
        });
        let got = wait_for_receive(&pull, pull.recv()).unwrap();
        assert_eq!(text(&got), b"second", "{transport:?}");
        second.join().unwrap();
    }
}

/// Requests and replies of every size from a byte to several times the first read's
/// room come through whole, the blocking API's receive waiting in the kernel.
#[test]
fn blocking_round_trips_of_every_size_come_whole() {
    let _watchdog = watchdog("blocking_round_trips_of_every_size_come_whole");
    for transport in STREAMS {
        let rep = blocking::Socket::with_options(SocketType::Rep, quick()).unwrap();
        rep.bind(&transport.endpoint("kernel-sizes")).unwrap();
        let endpoint = rep.last_endpoint();
        let server = std::thread::spawn(move || {
            while let Ok(request) = rep.recv() {
                let done = request.frames()[0].is_empty();
                rep.send(request).unwrap();
                if done {
                    break;
                }
            }
        });
        let req = blocking::Socket::with_options(SocketType::Req, quick()).unwrap();
        req.connect(&endpoint).unwrap();
        for size in [1usize, 33, 1000, 8 * 1024, 8 * 1024 + 1, 100_000, 300_000] {
            let body: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            req.send(body.clone()).unwrap();
            let reply = req.recv().unwrap();
            assert_eq!(
                &reply.frames()[0][..],
                &body[..],
                "{transport:?}, {size} bytes"
            );
        }
        req.send(Vec::<u8>::new()).unwrap();
        req.recv().unwrap();
        server.join().unwrap();
    }
}
