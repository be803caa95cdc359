//! The ZAP seam: a handler admits or refuses PLAIN clients.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use purezmq::monitor::EventKind;
use purezmq::zap::{AuthReply, ZapRequest};
use purezmq::{Options, Security, Socket, SocketType};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(5);

fn client(password: &'static str) -> Socket {
    let options = Options {
        security: Security::PlainClient {
            username: Bytes::from_static(b"admin"),
            password: Bytes::from_static(password.as_bytes()),
        },
        ..Options::default()
    };
    Socket::with_options(SocketType::Req, options).unwrap()
}

fn server() -> Socket {
    let options = Options {
        security: Security::PlainServer,
        ..Options::default()
    };
    let server = Socket::with_options(SocketType::Rep, options).unwrap();
    server.set_zap_handler(|request: ZapRequest| async move {
        assert_eq!(request.mechanism.to_string(), "PLAIN");
        assert_eq!(request.address, "127.0.0.1");
        match request.credentials.as_slice() {
            [user, password] if user == "admin" && password == "secret" => {
                AuthReply::accept("admin")
            }
            _ => AuthReply::deny(400, "wrong user name or password"),
        }
    });
    server
}

#[tokio::test]
async fn the_handler_admits_the_right_password() {
    let server = server();
    server.bind("tcp://127.0.0.1:*").unwrap();
    let client = client("secret");
    client.connect(&server.last_endpoint()).unwrap();
    client.send("hello").await.unwrap();
    let request = timeout(WAIT, server.recv()).await.unwrap().unwrap();
    assert_eq!(request.frames(), ["hello"]);
}

#[tokio::test]
async fn the_handler_refuses_a_wrong_password_with_a_monitor_event() {
    let server = server();
    let mut events = server.monitor();
    server.bind("tcp://127.0.0.1:*").unwrap();
    let client = client("guess");
    let mut client_events = client.monitor();
    client.connect(&server.last_endpoint()).unwrap();
    client.send("hello").await.unwrap();

    let refused = timeout(WAIT, async {
        loop {
            let event = events.next().await.unwrap();
            if let EventKind::HandshakeFailedAuth { status_code, .. } = event.kind {
                break status_code;
            }
        }
    });
    assert_eq!(refused.await.unwrap(), 400);
    let told = timeout(WAIT, async {
        loop {
            let event = client_events.next().await.unwrap();
            if let EventKind::HandshakeFailedAuth { reason, .. } = event.kind {
                break reason;
            }
        }
    });
    assert!(told.await.unwrap().contains("400"));
    assert!(
        timeout(Duration::from_millis(200), server.recv())
            .await
            .is_err(),
        "no request from a refused client"
    );
}
