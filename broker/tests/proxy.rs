//! The proxy's behaviour, after libzmq's test_proxy, test_proxy_steerable,
//! test_proxy_single_socket, test_proxy_terminate and test_proxy_hwm, plus capture.

use std::time::Duration;

use bytes::Bytes;
use purezmq::{Message, Options, Socket, SocketType};
use purezmq_broker::proxy::{Proxy, ProxyError, Role, Statistics};
use tokio::time::{sleep, timeout};

const WAIT: Duration = Duration::from_secs(5);
const QUIET: Duration = Duration::from_millis(200);

fn socket(socket_type: SocketType) -> Socket {
    socket_with(socket_type, |_| {})
}

fn socket_with(socket_type: SocketType, change: impl FnOnce(&mut Options)) -> Socket {
    let mut options = Options {
        reconnect_ivl: Some(Duration::from_millis(10)),
        linger: Some(Duration::ZERO),
        ..Options::default()
    };
    change(&mut options);
    Socket::with_options(socket_type, options).unwrap()
}

fn bound(socket_type: SocketType, endpoint: &str) -> Socket {
    let socket = socket(socket_type);
    socket.bind(endpoint).unwrap();
    socket
}

fn connected(socket_type: SocketType, endpoint: &str) -> Socket {
    let socket = socket(socket_type);
    socket.connect(endpoint).unwrap();
    socket
}

async fn recv(socket: &Socket) -> Message {
    timeout(WAIT, socket.recv())
        .await
        .expect("a message should arrive")
        .unwrap()
}

async fn nothing_arrives(socket: &Socket) {
    if let Ok(message) = timeout(QUIET, socket.recv()).await {
        panic!("nothing should arrive, got {message:?}");
    }
}

/// Asks for STATISTICS over a REQ control peer and reads the eight frames.
async fn ask_statistics(control: &Socket) -> Statistics {
    control.send("STATISTICS").await.unwrap();
    let reply = recv(control).await;
    assert_eq!(reply.len(), 8, "STATISTICS answers eight frames");
    Statistics::from_reply(reply.frames()).expect("eight u64 frames")
}

#[tokio::test]
async fn shared_queue_carries_requests_and_replies_over_tcp() {
    let frontend = bound(SocketType::Router, "tcp://127.0.0.1:*");
    let backend = bound(SocketType::Dealer, "tcp://127.0.0.1:*");
    let (front, back) = (frontend.last_endpoint(), backend.last_endpoint());
    let proxy = Proxy::new(frontend, backend);
    let handle = proxy.handle();
    let running = tokio::spawn(proxy.run());

    let worker = connected(SocketType::Rep, &back);
    let clients: Vec<Socket> = (0..3).map(|_| connected(SocketType::Req, &front)).collect();
    tokio::spawn(async move {
        while let Ok(request) = worker.recv().await {
            let mut reply = request.into_frames();
            reply.push(Bytes::from_static(b"done"));
            if worker.send(Message::from(reply)).await.is_err() {
                break;
            }
        }
    });
    for round in 0..5 {
        for (i, client) in clients.iter().enumerate() {
            client.send(format!("job {i}.{round}")).await.unwrap();
        }
        for (i, client) in clients.iter().enumerate() {
            let reply = recv(client).await;
            assert_eq!(
                reply.frames(),
                [format!("job {i}.{round}").as_str(), "done"]
            );
        }
    }
    handle.terminate();
    timeout(WAIT, running).await.unwrap().unwrap().unwrap();
    let statistics = handle.statistics();
    // Each request crosses as routing id + delimiter + body: three frames in.
    assert_eq!(statistics.frontend.messages_in, 15 * 3);
    assert_eq!(statistics.backend.messages_out, 15 * 3);
    assert_eq!(statistics.backend.messages_in, 15 * 4);
    assert_eq!(statistics.frontend.messages_out, 15 * 4);
}

#[tokio::test]
async fn forwarder_passes_subscriptions_upstream_and_messages_down() {
    let frontend = bound(SocketType::XSub, "tcp://127.0.0.1:*");
    let backend = bound(SocketType::XPub, "ipc://@purezmq-proxy-forwarder-test");
    let (front, back) = (frontend.last_endpoint(), backend.last_endpoint());
    tokio::spawn(Proxy::new(frontend, backend).run());

    let publisher = connected(SocketType::Pub, &front);
    let weather = connected(SocketType::Sub, &back);
    weather.subscribe("weather").unwrap();
    let everything = connected(SocketType::Sub, &back);
    everything.subscribe("").unwrap();

    // The subscriptions have to travel SUB -> XPUB -> proxy -> XSUB -> PUB first.
    let first = loop {
        publisher.send("weather sunny").await.unwrap();
        if let Ok(message) = timeout(Duration::from_millis(20), weather.recv()).await {
            break message.unwrap();
        }
    };
    assert_eq!(first.frames(), ["weather sunny"]);
    publisher.send("news quiet").await.unwrap();
    publisher.send("weather rain").await.unwrap();
    loop {
        let message = recv(&everything).await;
        if message.frames() == ["news quiet"] {
            break;
        }
    }
    assert_eq!(recv(&everything).await.frames(), ["weather rain"]);
    loop {
        let message = recv(&weather).await;
        assert_ne!(message.frames(), ["news quiet"], "filtered by topic");
        if message.frames() == ["weather rain"] {
            break;
        }
    }
}

#[tokio::test]
async fn forwarder_sends_first_subscribe_and_last_cancel_only() {
    let frontend = bound(SocketType::XSub, "inproc://forwarder-rule-in");
    let backend = bound(SocketType::XPub, "inproc://forwarder-rule-out");
    tokio::spawn(Proxy::new(frontend, backend).run());
    // Stand in for the publisher with an XPUB, which shows subscriptions.
    let upstream = connected(SocketType::XPub, "inproc://forwarder-rule-in");

    let a = connected(SocketType::Sub, "inproc://forwarder-rule-out");
    let b = connected(SocketType::Sub, "inproc://forwarder-rule-out");
    a.subscribe("t").unwrap();
    assert_eq!(recv(&upstream).await.frames(), [&b"\x01t"[..]]);
    b.subscribe("t").unwrap();
    nothing_arrives(&upstream).await;
    a.unsubscribe("t").unwrap();
    nothing_arrives(&upstream).await;
    b.unsubscribe("t").unwrap();
    assert_eq!(recv(&upstream).await.frames(), [&b"\x00t"[..]]);
}

#[tokio::test]
async fn streamer_bridges_inproc_to_tcp() {
    let frontend = bound(SocketType::Pull, "inproc://streamer-in");
    let backend = bound(SocketType::Push, "tcp://127.0.0.1:*");
    let back = backend.last_endpoint();
    tokio::spawn(Proxy::new(frontend, backend).run());
    let producer = connected(SocketType::Push, "inproc://streamer-in");
    let consumer = connected(SocketType::Pull, &back);
    for i in 0..100 {
        producer
            .send(Message::from_iter([format!("part {i}"), "tail".to_owned()]))
            .await
            .unwrap();
    }
    for i in 0..100 {
        let message = recv(&consumer).await;
        assert_eq!(message.frames(), [format!("part {i}").as_str(), "tail"]);
    }
}

#[tokio::test]
async fn single_socket_echoes() {
    // test_proxy_single_socket: a REP as frontend and backend answers with the request.
    let rep = bound(SocketType::Rep, "inproc://single-socket");
    tokio::spawn(Proxy::new(rep.clone(), rep).run());
    let req = connected(SocketType::Req, "inproc://single-socket");
    for text in ["msg1", "msg2"] {
        req.send(Message::from_iter([text, "more"])).await.unwrap();
        assert_eq!(recv(&req).await.frames(), [text, "more"]);
    }
}

#[tokio::test]
async fn steerable_counts_pauses_resumes_and_terminates() {
    let frontend = bound(SocketType::Pull, "inproc://steer-in");
    let backend = bound(SocketType::Push, "inproc://steer-out");
    let control = bound(SocketType::Rep, "inproc://steer-control");
    let running = tokio::spawn(Proxy::new(frontend, backend).control(control).run());
    let producer = connected(SocketType::Push, "inproc://steer-in");
    let consumer = connected(SocketType::Pull, "inproc://steer-out");
    let steer = connected(SocketType::Req, "inproc://steer-control");

    assert_eq!(ask_statistics(&steer).await, Statistics::default());

    producer
        .send(Message::from_iter(["abc", "de"]))
        .await
        .unwrap();
    assert_eq!(recv(&consumer).await.frames(), ["abc", "de"]);
    let statistics = ask_statistics(&steer).await;
    // As libzmq 4.3.5 counts: each frame is a message.
    assert_eq!(statistics.frontend.messages_in, 2);
    assert_eq!(statistics.frontend.bytes_in, 5);
    assert_eq!(statistics.backend.messages_out, 2);
    assert_eq!(statistics.backend.bytes_out, 5);
    assert_eq!(statistics.frontend.messages_out, 0);
    assert_eq!(statistics.backend.messages_in, 0);

    steer.send("PAUSE").await.unwrap();
    assert_eq!(recv(&steer).await.frames(), [""]);
    producer.send("while paused").await.unwrap();
    nothing_arrives(&consumer).await;
    assert_eq!(
        ask_statistics(&steer).await,
        statistics,
        "frozen while paused"
    );

    steer.send("RESUME").await.unwrap();
    assert_eq!(recv(&steer).await.frames(), [""]);
    assert_eq!(recv(&consumer).await.frames(), ["while paused"]);
    let after = ask_statistics(&steer).await;
    assert_eq!(after.backend.bytes_out, 5 + 12);

    steer.send("DANCE").await.unwrap();
    assert_eq!(recv(&steer).await.frames(), ["ERROR unknown command"]);

    steer.send("TERMINATE").await.unwrap();
    assert_eq!(recv(&steer).await.frames(), [""]);
    timeout(WAIT, running).await.unwrap().unwrap().unwrap();
}

#[tokio::test]
async fn pair_control_gets_statistics_and_nothing_else() {
    let frontend = bound(SocketType::Pull, "inproc://pair-control-in");
    let backend = bound(SocketType::Push, "inproc://pair-control-out");
    let control = bound(SocketType::Pair, "inproc://pair-control");
    let running = tokio::spawn(Proxy::new(frontend, backend).control(control).run());
    let steer = connected(SocketType::Pair, "inproc://pair-control");
    steer.send("PAUSE").await.unwrap();
    steer.send("RESUME").await.unwrap();
    steer.send("UNKNOWN").await.unwrap();
    steer.send("STATISTICS").await.unwrap();
    let reply = recv(&steer).await;
    assert_eq!(reply.len(), 8);
    assert!(reply.frames().iter().all(|f| f.len() == 8));
    steer.send("TERMINATE").await.unwrap();
    timeout(WAIT, running).await.unwrap().unwrap().unwrap();
    nothing_arrives(&steer).await;
}

#[tokio::test]
async fn handle_steers_like_the_control_socket() {
    let frontend = bound(SocketType::Pull, "inproc://handle-in");
    let backend = bound(SocketType::Push, "inproc://handle-out");
    let proxy = Proxy::new(frontend, backend);
    let handle = proxy.handle();
    let running = tokio::spawn(proxy.run());
    let producer = connected(SocketType::Push, "inproc://handle-in");
    let consumer = connected(SocketType::Pull, "inproc://handle-out");

    handle.pause();
    assert!(handle.is_paused());
    producer.send("held").await.unwrap();
    nothing_arrives(&consumer).await;
    assert_eq!(handle.statistics(), Statistics::default());
    handle.resume();
    assert_eq!(recv(&consumer).await.frames(), ["held"]);
    assert_eq!(handle.statistics().frontend.bytes_in, 4);
    handle.terminate();
    timeout(WAIT, running).await.unwrap().unwrap().unwrap();
    // TERMINATE is final.
    handle.resume();
    assert!(!handle.is_paused());
}

#[tokio::test]
async fn terminate_while_traffic_flows() {
    // test_proxy_terminate: a proxy busy moving messages still stops on TERMINATE.
    let frontend = bound(SocketType::Pull, "tcp://127.0.0.1:*");
    let backend = bound(SocketType::Push, "tcp://127.0.0.1:*");
    let (front, back) = (frontend.last_endpoint(), backend.last_endpoint());
    let control = bound(SocketType::Pair, "inproc://terminate-control");
    let running = tokio::spawn(Proxy::new(frontend, backend).control(control).run());
    let producer = connected(SocketType::Push, &front);
    let consumer = connected(SocketType::Pull, &back);
    let flooding = tokio::spawn(async move {
        loop {
            if producer.send("x").await.is_err() {
                break;
            }
        }
    });
    tokio::spawn(async move { while consumer.recv().await.is_ok() {} });
    sleep(Duration::from_millis(100)).await;
    let steer = connected(SocketType::Pair, "inproc://terminate-control");
    steer.send("TERMINATE").await.unwrap();
    timeout(WAIT, running).await.unwrap().unwrap().unwrap();
    flooding.abort();
}

#[tokio::test]
async fn blocked_backend_stops_reading_and_statistics_still_answer() {
    // test_proxy_hwm: the consumer reads nothing; the proxy must stop at the HWMs
    // instead of buffering, and still answer STATISTICS.
    let hwm = |o: &mut Options| {
        o.sndhwm = 10;
        o.rcvhwm = 10;
    };
    let frontend = socket_with(SocketType::Pull, hwm);
    frontend.bind("inproc://hwm-in").unwrap();
    let backend = socket_with(SocketType::Push, hwm);
    backend.bind("inproc://hwm-out").unwrap();
    let control = bound(SocketType::Rep, "inproc://hwm-control");
    tokio::spawn(Proxy::new(frontend, backend).control(control).run());
    let producer = socket_with(SocketType::Push, |o| {
        hwm(o);
        o.sndtimeo = Some(Duration::ZERO);
    });
    producer.connect("inproc://hwm-in").unwrap();
    let consumer = socket_with(SocketType::Pull, hwm);
    consumer.connect("inproc://hwm-out").unwrap();
    let steer = connected(SocketType::Req, "inproc://hwm-control");

    let mut accepted = 0u64;
    let mut refused_in_a_row = 0;
    while refused_in_a_row < 20 {
        match producer.try_send("payload") {
            Ok(()) => {
                accepted += 1;
                refused_in_a_row = 0;
            }
            Err(_) => {
                refused_in_a_row += 1;
                sleep(Duration::from_millis(5)).await;
            }
        }
        assert!(
            accepted < 10_000,
            "the proxy keeps taking messages it cannot pass on"
        );
    }
    let statistics = ask_statistics(&steer).await;
    // What the proxy holds is bounded by the pipes' HWMs and one batch.
    assert!(
        statistics.frontend.messages_in <= 1000 + 40,
        "{statistics:?}"
    );
    assert!(statistics.backend.messages_out <= statistics.frontend.messages_in);
    // Draining the consumer lets everything through, in order.
    for _ in 0..accepted {
        assert_eq!(recv(&consumer).await.frames(), ["payload"]);
    }
}

#[tokio::test]
async fn capture_sees_every_frame_in_order() {
    let frontend = bound(SocketType::Pull, "inproc://capture-in");
    let backend = bound(SocketType::Push, "inproc://capture-out");
    let capture = bound(SocketType::Push, "inproc://capture-copy");
    tokio::spawn(Proxy::new(frontend, backend).capture(capture).run());
    let producer = connected(SocketType::Push, "inproc://capture-in");
    let consumer = connected(SocketType::Pull, "inproc://capture-out");
    let tap = connected(SocketType::Pull, "inproc://capture-copy");
    for i in 0..50 {
        producer
            .send(Message::from_iter([
                format!("{i}"),
                "a".into(),
                String::new(),
            ]))
            .await
            .unwrap();
    }
    for i in 0..50 {
        let expected = [format!("{i}"), "a".into(), String::new()];
        assert_eq!(recv(&consumer).await.frames(), expected);
        assert_eq!(recv(&tap).await.frames(), expected);
    }
}

#[tokio::test]
async fn blocked_capture_never_stalls_traffic() {
    let frontend = bound(SocketType::Pull, "inproc://stuck-capture-in");
    let backend = bound(SocketType::Push, "inproc://stuck-capture-out");
    let capture = socket_with(SocketType::Push, |o| o.sndhwm = 5);
    capture.bind("inproc://stuck-capture-copy").unwrap();
    let proxy = Proxy::new(frontend, backend).capture(capture);
    let handle = proxy.handle();
    tokio::spawn(proxy.run());
    // A capture peer that never reads.
    let tap = socket_with(SocketType::Pull, |o| o.rcvhwm = 5);
    tap.connect("inproc://stuck-capture-copy").unwrap();
    let producer = connected(SocketType::Push, "inproc://stuck-capture-in");
    let consumer = connected(SocketType::Pull, "inproc://stuck-capture-out");
    let messages = 3000;
    let sending = tokio::spawn(async move {
        for i in 0..messages {
            producer.send(format!("{i}")).await.unwrap();
        }
        producer
    });
    for i in 0..messages {
        assert_eq!(recv(&consumer).await.frames(), [format!("{i}").as_str()]);
    }
    let _producer = sending.await.unwrap();
    let statistics = handle.statistics();
    assert!(
        statistics.capture_dropped >= messages - 20,
        "copies the capture could not take are counted: {statistics:?}"
    );
    drop(tap);
}

#[tokio::test]
async fn unsuitable_sockets_are_refused_up_front() {
    let error = Proxy::new(socket(SocketType::Pub), socket(SocketType::Push))
        .run()
        .await
        .unwrap_err();
    assert!(matches!(error, ProxyError::Incompatible { .. }), "{error}");
    let error = Proxy::new(socket(SocketType::Pull), socket(SocketType::Push))
        .capture(socket(SocketType::Sub))
        .run()
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            ProxyError::UnsuitableSocket {
                role: Role::Capture,
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("PUB, XPUB, PUSH"), "{error}");
}

#[tokio::test]
async fn forwarder_with_xpub_verbose_passes_every_subscribe() {
    let frontend = bound(SocketType::XSub, "inproc://forwarder-verbose-in");
    let backend = socket_with(SocketType::XPub, |o| o.xpub_verbose = true);
    backend.bind("inproc://forwarder-verbose-out").unwrap();
    tokio::spawn(Proxy::new(frontend, backend).run());
    let upstream = connected(SocketType::XPub, "inproc://forwarder-verbose-in");
    let upstream_verbose = |o: &mut Options| o.xpub_verbose = true;
    upstream.set_options(upstream_verbose).unwrap();

    let a = connected(SocketType::Sub, "inproc://forwarder-verbose-out");
    let b = connected(SocketType::Sub, "inproc://forwarder-verbose-out");
    a.subscribe("t").unwrap();
    assert_eq!(recv(&upstream).await.frames(), [&b"\x01t"[..]]);
    b.subscribe("t").unwrap();
    assert_eq!(recv(&upstream).await.frames(), [&b"\x01t"[..]]);
}
