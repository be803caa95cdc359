//! The Majordomo worker against a raw ROUTER in the broker's place: READY, replies,
//! PARTIALs, heartbeats, DISCONNECT, a silent broker, several brokers, shutdown.

mod mdp_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use mdp_support::{FakeBroker, frames};
use purezmq_broker::mdp::{Framing, Version};
use purezmq_broker::worker::{BlockingWorker, Request, Worker, WorkerError, WorkerEvent};
use tokio::sync::oneshot;

/// An echo handler.
async fn echo(request: Request) -> Vec<Bytes> {
    request.body
}

/// Runs `worker` with `handler` in a task; the sender stops it.
fn start<H: purezmq_broker::worker::Handler>(
    worker: Worker,
    handler: H,
) -> (
    oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), WorkerError>>,
) {
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(worker.run(handler, async move {
        let _ = stopped.await;
    }));
    (stop, task)
}

/// Receives the next message that is not a HEARTBEAT (command byte `heartbeat`,
/// 0x04 in MDP/0.1, 0x05 in MDP/0.2).
async fn recv_skipping_heartbeats(broker: &FakeBroker, heartbeat: &[u8]) -> Vec<Bytes> {
    loop {
        let received = broker.recv().await;
        let rest = &received[1..];
        let is_heartbeat = rest.len() <= 3
            && rest.last().map(|f| f.as_ref()) == Some(heartbeat)
            && rest.iter().any(|f| f.starts_with(b"MDPW"));
        if !is_heartbeat {
            return received;
        }
    }
}

#[tokio::test]
async fn a_01_worker_registers_and_replies_with_rfc_7_frames() {
    let broker = FakeBroker::bind();
    let (stop, task) = start(Worker::new(&broker.endpoint, "echo"), echo);
    let ready = broker.recv().await;
    let id = ready[0].clone();
    assert_eq!(ready[1..], frames(&[b"", b"MDPW01", &[1], b"echo"]));
    broker
        .send(
            &id,
            &frames(&[b"", b"MDPW01", &[2], b"client-7", b"", b"hello", b""]),
        )
        .await;
    let reply = recv_skipping_heartbeats(&broker, &[4]).await;
    assert_eq!(
        reply[1..],
        frames(&[b"", b"MDPW01", &[3], b"client-7", b"", b"hello", b""])
    );
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
    // On the way out: DISCONNECT.
    let bye = recv_skipping_heartbeats(&broker, &[4]).await;
    assert_eq!(bye[1..], frames(&[b"", b"MDPW01", &[5]]));
}

#[tokio::test]
async fn a_02_worker_sends_partials_then_the_final() {
    let broker = FakeBroker::bind();
    let worker = Worker::new(&broker.endpoint, "stream").version(Version::V02);
    let handler = |request: Request| async move {
        for chunk in ["1", "2"] {
            request.partial(vec![Bytes::from(chunk)]).await.unwrap();
        }
        vec![Bytes::from("end")]
    };
    let (stop, task) = start(worker, handler);
    let ready = broker.recv().await;
    let id = ready[0].clone();
    // RFC 18 as written: no empty frame.
    assert_eq!(ready[1..], frames(&[b"MDPW02", &[1], b"stream"]));
    broker
        .send(&id, &frames(&[b"MDPW02", &[2], b"c", b"", b"go"]))
        .await;
    let mut replies = Vec::new();
    while replies.len() < 3 {
        let message = recv_skipping_heartbeats(&broker, &[5]).await;
        replies.push(message[1..].to_vec());
    }
    assert_eq!(
        replies,
        [
            frames(&[b"MDPW02", &[3], b"c", b"", b"1"]),
            frames(&[b"MDPW02", &[3], b"c", b"", b"2"]),
            frames(&[b"MDPW02", &[4], b"c", b"", b"end"]),
        ]
    );
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_02_worker_can_send_the_leading_empty_frame() {
    let broker = FakeBroker::bind();
    let worker = Worker::new(&broker.endpoint, "svc")
        .version(Version::V02)
        .framing(Framing::Delimited);
    let (stop, task) = start(worker, echo);
    let ready = broker.recv().await;
    assert_eq!(ready[1..], frames(&[b"", b"MDPW02", &[1], b"svc"]));
    // A request in the other framing is understood all the same.
    broker
        .send(&ready[0], &frames(&[b"MDPW02", &[2], b"c", b"", b"x"]))
        .await;
    let reply = recv_skipping_heartbeats(&broker, &[5]).await;
    assert_eq!(reply[1..], frames(&[b"", b"MDPW02", &[4], b"c", b"", b"x"]));
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_partial_in_01_is_a_typed_error() {
    let broker = FakeBroker::bind();
    let outcome = Arc::new(Mutex::new(None));
    let handler = {
        let outcome = Arc::clone(&outcome);
        move |request: Request| {
            let outcome = Arc::clone(&outcome);
            async move {
                let result = request.partial(vec![]).await;
                *outcome.lock().unwrap() = Some(result.is_err());
                vec![]
            }
        }
    };
    let (stop, task) = start(Worker::new(&broker.endpoint, "x"), handler);
    let ready = broker.recv().await;
    broker
        .send(&ready[0], &frames(&[b"", b"MDPW01", &[2], b"c", b""]))
        .await;
    let reply = recv_skipping_heartbeats(&broker, &[4]).await;
    assert_eq!(reply[1..], frames(&[b"", b"MDPW01", &[3], b"c", b""]));
    assert_eq!(*outcome.lock().unwrap(), Some(true));
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn an_idle_worker_sends_heartbeats() {
    let broker = FakeBroker::bind();
    // A liveness that a loaded machine cannot exhaust between our answers.
    let worker = Worker::new(&broker.endpoint, "echo")
        .heartbeat(Duration::from_millis(100))
        .liveness(50);
    let (stop, task) = start(worker, echo);
    let ready = broker.recv().await;
    for _ in 0..3 {
        let heartbeat = broker.recv().await;
        assert_eq!(heartbeat[0], ready[0]);
        assert_eq!(heartbeat[1..], frames(&[b"", b"MDPW01", &[4]]));
        // Answer, so the worker keeps counting the broker alive.
        broker
            .send(&ready[0], &frames(&[b"", b"MDPW01", &[4]]))
            .await;
    }
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn disconnect_makes_the_worker_register_again_on_a_new_socket() {
    let broker = FakeBroker::bind();
    let events = Arc::new(Mutex::new(Vec::new()));
    let worker = Worker::new(&broker.endpoint, "echo")
        .reconnect_delay(Duration::from_millis(50))
        .on_event({
            let events = Arc::clone(&events);
            move |event| events.lock().unwrap().push(event)
        });
    let (stop, task) = start(worker, echo);
    let first = broker.recv().await;
    assert_eq!(first[1..], frames(&[b"", b"MDPW01", &[1], b"echo"]));
    broker
        .send(&first[0], &frames(&[b"", b"MDPW01", &[5]]))
        .await;
    let second = recv_skipping_heartbeats(&broker, &[4]).await;
    assert_eq!(second[1..], frames(&[b"", b"MDPW01", &[1], b"echo"]));
    assert_ne!(second[0], first[0], "a new socket, so a new routing id");
    // The new registration serves requests.
    broker
        .send(
            &second[0],
            &frames(&[b"", b"MDPW01", &[2], b"c", b"", b"again"]),
        )
        .await;
    let reply = recv_skipping_heartbeats(&broker, &[4]).await;
    assert_eq!(reply[0], second[0]);
    assert_eq!(reply[6..], frames(&[b"again"]));
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
    let events = events.lock().unwrap().clone();
    assert!(events.contains(&WorkerEvent::Reconnecting {
        endpoint: broker.endpoint.clone(),
        reason: "the broker sent DISCONNECT",
    }));
    let registered = events
        .iter()
        .filter(|event| matches!(event, WorkerEvent::Registered { .. }))
        .count();
    assert!(registered >= 2, "{events:?}");
}

#[tokio::test]
async fn a_silent_broker_is_left_and_the_worker_registers_again() {
    let broker = FakeBroker::bind();
    let worker = Worker::new(&broker.endpoint, "echo")
        .heartbeat(Duration::from_millis(50))
        .liveness(3)
        .reconnect_delay(Duration::from_millis(50));
    let (stop, task) = start(worker, echo);
    let first = broker.recv().await;
    // Never answer: after 3 heartbeats' silence the worker comes back as new.
    let again = loop {
        let received = broker.recv().await;
        if received[1..] == frames(&[b"", b"MDPW01", &[1], b"echo"]) {
            break received;
        }
        assert_eq!(received[1..], frames(&[b"", b"MDPW01", &[4]]));
    };
    assert_ne!(again[0], first[0]);
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_busy_worker_keeps_its_broker_and_still_heartbeats() {
    let broker = FakeBroker::bind();
    let worker = Worker::new(&broker.endpoint, "slow")
        .heartbeat(Duration::from_millis(50))
        .liveness(2);
    let (release, released) = oneshot::channel::<()>();
    let released = Arc::new(tokio::sync::Mutex::new(Some(released)));
    let handler = move |request: Request| {
        let released = Arc::clone(&released);
        async move {
            if let Some(released) = released.lock().await.take() {
                let _ = released.await;
            }
            request.body
        }
    };
    let (stop, task) = start(worker, handler);
    let ready = broker.recv().await;
    broker
        .send(
            &ready[0],
            &frames(&[b"", b"MDPW01", &[2], b"c", b"", b"job"]),
        )
        .await;
    // Far longer than liveness x heartbeat, in silence: heartbeats keep coming
    // from the same socket, and no new READY.
    for _ in 0..8 {
        let heartbeat = broker.recv().await;
        assert_eq!(heartbeat[0], ready[0]);
        assert_eq!(heartbeat[1..], frames(&[b"", b"MDPW01", &[4]]));
    }
    release.send(()).unwrap();
    let reply = recv_skipping_heartbeats(&broker, &[4]).await;
    assert_eq!(reply[0], ready[0]);
    assert_eq!(
        reply[1..],
        frames(&[b"", b"MDPW01", &[3], b"c", b"", b"job"])
    );
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn one_worker_serves_two_brokers() {
    let first = FakeBroker::bind();
    let second = FakeBroker::bind();
    let worker = Worker::new(
        vec![first.endpoint.clone(), second.endpoint.clone()],
        "echo",
    );
    let (stop, task) = start(worker, echo);
    for (broker, text) in [(&first, &b"one"[..]), (&second, b"two")] {
        let ready = broker.recv().await;
        assert_eq!(ready[1..], frames(&[b"", b"MDPW01", &[1], b"echo"]));
        broker
            .send(&ready[0], &frames(&[b"", b"MDPW01", &[2], b"c", b"", text]))
            .await;
        let reply = recv_skipping_heartbeats(broker, &[4]).await;
        assert_eq!(reply[1..], frames(&[b"", b"MDPW01", &[3], b"c", b"", text]));
    }
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn junk_and_broker_only_commands_are_ignored() {
    let broker = FakeBroker::bind();
    let (stop, task) = start(Worker::new(&broker.endpoint, "echo"), echo);
    let ready = broker.recv().await;
    let id = ready[0].clone();
    for junk in [
        frames(&[b"junk"]),
        frames(&[b"", b"MDPW01"]),
        frames(&[b"", b"MDPW01", &[9]]),
        frames(&[b"", b"MDPW01", &[2], b"no delimiter"]),
        frames(&[b"", b"MDPW01", &[1], b"ready?"]),
        frames(&[b"", b"MDPC01", b"echo"]),
    ] {
        broker.send(&id, &junk).await;
    }
    broker
        .send(
            &id,
            &frames(&[b"", b"MDPW01", &[2], b"c", b"", b"still here"]),
        )
        .await;
    let reply = recv_skipping_heartbeats(&broker, &[4]).await;
    assert_eq!(reply[0], id);
    assert_eq!(reply[6..], frames(&[b"still here"]));
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn bad_settings_are_errors_at_start() {
    let never = std::future::pending::<()>;
    let empty: Vec<String> = Vec::new();
    assert!(matches!(
        Worker::new(empty, "echo").run(echo, never()).await,
        Err(WorkerError::NoEndpoints)
    ));
    assert!(matches!(
        Worker::new("nonsense://x", "echo").run(echo, never()).await,
        Err(WorkerError::Socket(_))
    ));
    assert!(matches!(
        Worker::new("tcp://127.0.0.1:1", "")
            .run(echo, never())
            .await,
        Err(WorkerError::Protocol(_))
    ));
}

#[test]
fn the_blocking_worker_runs_a_plain_closure() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let broker = runtime.block_on(async { FakeBroker::bind() });
    let endpoint = broker.endpoint.clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let mut served = 0;
        BlockingWorker::new(Worker::new(endpoint, "count")).run_until(
            move |mut body: Vec<Bytes>| {
                served += 1;
                body.push(Bytes::from(served.to_string()));
                body
            },
            async move {
                let _ = stopped.await;
            },
        )
    });
    runtime.block_on(async {
        let ready = broker.recv().await;
        for expected in ["1", "2"] {
            broker
                .send(&ready[0], &frames(&[b"", b"MDPW01", &[2], b"c", b"", b"n"]))
                .await;
            let reply = recv_skipping_heartbeats(&broker, &[4]).await;
            assert_eq!(reply[6..], frames(&[b"n", expected.as_bytes()]));
        }
    });
    stop.send(()).unwrap();
    thread.join().unwrap().unwrap();
}

#[tokio::test]
async fn a_restarted_broker_gets_a_new_ready_at_once() {
    let broker = FakeBroker::bind();
    let endpoint = broker.endpoint.clone();
    let events = Arc::new(Mutex::new(Vec::new()));
    // Heartbeats far apart: the READY must not wait for the broker to go silent.
    let worker = Worker::new(&endpoint, "echo")
        .heartbeat(Duration::from_secs(30))
        .reconnect_delay(Duration::from_millis(50))
        .on_event({
            let events = Arc::clone(&events);
            move |event| events.lock().unwrap().push(event)
        });
    let (stop, task) = start(worker, echo);
    let first = broker.recv().await;
    assert_eq!(first[1..], frames(&[b"", b"MDPW01", &[1], b"echo"]));
    broker.router.close().await;
    let restarted = purezmq::Socket::new(purezmq::SocketType::Router);
    restarted.bind(&endpoint).unwrap();
    let again = tokio::time::timeout(Duration::from_secs(10), restarted.recv())
        .await
        .expect("no READY after the restart")
        .unwrap();
    assert_eq!(
        again.frames()[1..],
        frames(&[b"", b"MDPW01", &[1], b"echo"])
    );
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
    assert!(events.lock().unwrap().contains(&WorkerEvent::Reconnecting {
        endpoint,
        reason: "the connection to the broker broke",
    }));
}

#[tokio::test]
async fn a_handler_that_panics_is_a_crashed_worker_that_registers_again() {
    let broker = FakeBroker::bind();
    let worker =
        Worker::new(&broker.endpoint, "fragile").reconnect_delay(Duration::from_millis(50));
    let handler = |request: Request| async move {
        assert!(request.body != frames(&[b"boom"]), "the handler gives up");
        request.body
    };
    let (stop, task) = start(worker, handler);
    let first = broker.recv().await;
    broker
        .send(
            &first[0],
            &frames(&[b"", b"MDPW01", &[2], b"c", b"", b"boom"]),
        )
        .await;
    // No reply: a new READY from a new socket instead.
    let again = recv_skipping_heartbeats(&broker, &[4]).await;
    assert_eq!(again[1..], frames(&[b"", b"MDPW01", &[1], b"fragile"]));
    assert_ne!(again[0], first[0]);
    broker
        .send(
            &again[0],
            &frames(&[b"", b"MDPW01", &[2], b"c", b"", b"fine"]),
        )
        .await;
    let reply = recv_skipping_heartbeats(&broker, &[4]).await;
    assert_eq!(reply[6..], frames(&[b"fine"]));
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}
