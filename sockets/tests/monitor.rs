//! Monitor events, as libzmq's tests/test_monitor.cpp asserts them over tcp and ipc,
//! plus the failures the sockets issue names (bind failed, connect retried, a
//! handshake refused for a socket-type mismatch).

mod common;

use std::time::Duration;

use common::*;
use purezmq::monitor::{Event, EventKind, Monitor};
use purezmq::{Error, Socket, SocketType};

/// Every event until the stream ends (the socket closed) or goes quiet.
async fn remaining(monitor: &mut Monitor) -> Vec<EventKind> {
    let mut kinds = Vec::new();
    while let Ok(Some(event)) =
        tokio::time::timeout(Duration::from_millis(200), monitor.recv()).await
    {
        kinds.push(event.kind);
    }
    kinds
}

/// test_monitor_basic: a DEALER pair connects, bounces a message and closes; the
/// client sees CONNECTED and HANDSHAKE_SUCCEEDED, the server LISTENING, ACCEPTED and
/// HANDSHAKE_SUCCEEDED, each with the endpoint; the streams end when the sockets close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic() {
    for transport in STREAMS {
        let client = socket_with(SocketType::Dealer, |o| o.linger = Some(Duration::ZERO));
        let server = socket_with(SocketType::Dealer, |o| o.linger = Some(Duration::ZERO));
        let mut client_monitor = client.monitor();
        let mut server_monitor = server.monitor();
        let endpoint = bind(&server, transport, "monitor-basic");
        client.connect(&endpoint).unwrap();
        send(&client, &["bounce"]).await;
        expect(&server, &["bounce"]).await;
        send(&server, &["bounce"]).await;
        expect(&client, &["bounce"]).await;

        let mut event = next_event(&mut client_monitor).await;
        if event.kind == EventKind::ConnectDelayed {
            event = next_event(&mut client_monitor).await;
        }
        assert_eq!(
            event,
            Event {
                kind: EventKind::Connected,
                endpoint: endpoint.clone()
            }
        );
        let event = next_event(&mut client_monitor).await;
        assert_eq!(
            event,
            Event {
                kind: EventKind::HandshakeSucceeded,
                endpoint: endpoint.clone()
            }
        );

        for kind in [
            EventKind::Listening,
            EventKind::Accepted,
            EventKind::HandshakeSucceeded,
        ] {
            let event = next_event(&mut server_monitor).await;
            assert_eq!(
                event,
                Event {
                    kind,
                    endpoint: endpoint.clone()
                },
                "{transport:?}"
            );
        }

        client.close().await;
        server.close().await;
        // What comes after is DISCONNECTED, CONNECT_RETRIED or CLOSED, if anything;
        // then the streams end (libzmq's MONITOR_STOPPED).
        for monitor in [&mut client_monitor, &mut server_monitor] {
            let rest = remaining(monitor).await;
            assert!(
                rest.iter().all(|k| matches!(
                    k,
                    EventKind::Disconnected | EventKind::ConnectRetried(_) | EventKind::Closed
                )),
                "{transport:?}: {rest:?}"
            );
            let end = tokio::time::timeout(WAIT, monitor.recv())
                .await
                .expect("the stream ends");
            assert_eq!(end, None);
        }
    }
}

/// A connect to an endpoint where nobody listens is retried, and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_retried() {
    for transport in STREAMS {
        let probe = Socket::new(SocketType::Pull);
        let endpoint = bind(&probe, transport, "monitor-retry");
        probe.close().await;
        let client = socket(SocketType::Push);
        let mut monitor = client.monitor();
        client.connect(&endpoint).unwrap();
        let event = wait_event(&mut monitor, |k| matches!(k, EventKind::ConnectRetried(_))).await;
        assert_eq!(event.endpoint, endpoint);
        assert_eq!(
            event.kind,
            EventKind::ConnectRetried(Duration::from_millis(10))
        );
    }
}

/// Binding an endpoint another socket holds fails, with BIND_FAILED.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bind_failed() {
    for transport in STREAMS {
        let first = socket(SocketType::Pull);
        let endpoint = bind(&first, transport, "monitor-bindfail");
        let second = socket(SocketType::Pull);
        let mut monitor = second.monitor();
        let refused = second.bind(&endpoint).unwrap_err();
        assert!(matches!(refused, Error::Bind { .. }), "{refused}");
        let event = next_event(&mut monitor).await;
        assert!(matches!(event.kind, EventKind::BindFailed(_)), "{event:?}");
        assert_eq!(event.endpoint, endpoint);
    }
}

/// Unbinding closes the listener: CLOSED.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbind_closes() {
    for transport in STREAMS {
        let server = socket(SocketType::Pull);
        let mut monitor = server.monitor();
        let endpoint = bind(&server, transport, "monitor-unbind");
        wait_event(&mut monitor, |k| *k == EventKind::Listening).await;
        server.unbind(&endpoint).unwrap();
        let event = wait_event(&mut monitor, |k| *k == EventKind::Closed).await;
        assert_eq!(event.endpoint, endpoint);
    }
}

/// Peers of types that cannot talk (REQ to PULL) fail the handshake: both sides say
/// HANDSHAKE_FAILED_PROTOCOL, and the bound side keeps serving a good peer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_type_mismatch() {
    for transport in STREAMS {
        let pull = socket(SocketType::Pull);
        let mut pull_monitor = pull.monitor();
        let endpoint = bind(&pull, transport, "monitor-mismatch");
        let req = socket(SocketType::Req);
        let mut req_monitor = req.monitor();
        req.connect(&endpoint).unwrap();
        for monitor in [&mut pull_monitor, &mut req_monitor] {
            let event = wait_event(monitor, |k| {
                matches!(
                    k,
                    EventKind::HandshakeFailedProtocol(_)
                        | EventKind::HandshakeFailedNoDetail(_)
                        | EventKind::HandshakeSucceeded
                )
            })
            .await;
            assert!(
                matches!(event.kind, EventKind::HandshakeFailedProtocol(_)),
                "{transport:?}: {event:?}"
            );
        }
        let push = socket(SocketType::Push);
        push.connect(&endpoint).unwrap();
        send(&push, &["fine"]).await;
        expect(&pull, &["fine"]).await;
    }
}
