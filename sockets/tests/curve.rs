//! CURVE between two purezmq sockets over tcp: the handshake, a wrong server key and
//! a ZAP allowlist of client keys.

use std::time::Duration;

use futures::StreamExt;
use purezmq::curve::{KeyPair, PublicKey};
use purezmq::monitor::EventKind;
use purezmq::zap::{AuthReply, MechanismName, ZapRequest};
use purezmq::{Options, Security, Socket, SocketType};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(5);
/// How long to watch for a message that must never come.
const QUIET: Duration = Duration::from_millis(500);

fn server(keypair: &KeyPair) -> Socket {
    let options = Options {
        security: Security::CurveServer {
            keypair: keypair.clone(),
        },
        ..Options::default()
    };
    let server = Socket::with_options(SocketType::Rep, options).unwrap();
    server.bind("tcp://127.0.0.1:*").unwrap();
    server
}

fn client(keypair: &KeyPair, server_key: PublicKey, endpoint: &str) -> Socket {
    let options = Options {
        security: Security::CurveClient {
            keypair: keypair.clone(),
            server_key,
        },
        ..Options::default()
    };
    let client = Socket::with_options(SocketType::Req, options).unwrap();
    client.connect(endpoint).unwrap();
    client
}

/// Admits only the clients whose public keys are in `allowed`.
fn allowlist(server: &Socket, allowed: Vec<PublicKey>) {
    server.set_zap_handler(move |request: ZapRequest| {
        let allowed = allowed.clone();
        async move {
            assert_eq!(request.mechanism, MechanismName::CURVE);
            let key = request
                .credentials
                .first()
                .and_then(|key| PublicKey::try_from(&key[..]).ok());
            match key {
                Some(key) if allowed.contains(&key) => AuthReply::accept(key.to_z85()),
                _ => AuthReply::deny(400, "unknown client key"),
            }
        }
    });
}

async fn round_trip(client: &Socket, server: &Socket) {
    client.send("Hello").await.unwrap();
    let request = timeout(WAIT, server.recv()).await.unwrap().unwrap();
    assert_eq!(request.frames(), ["Hello"]);
    server.send("World").await.unwrap();
    let reply = timeout(WAIT, client.recv()).await.unwrap().unwrap();
    assert_eq!(reply.frames(), ["World"]);
}

#[tokio::test]
async fn req_and_rep_talk_over_curve() {
    let server_keys = KeyPair::generate();
    let server = server(&server_keys);
    let client = client(
        &KeyPair::generate(),
        *server_keys.public(),
        &server.last_endpoint(),
    );
    round_trip(&client, &server).await;
    round_trip(&client, &server).await;
}

#[tokio::test]
async fn a_client_with_the_wrong_server_key_delivers_nothing() {
    let server_keys = KeyPair::generate();
    let server = server(&server_keys);
    let mut server_events = server.monitor();
    let impostor_key = *KeyPair::generate().public();
    let lost = client(&KeyPair::generate(), impostor_key, &server.last_endpoint());
    lost.send("Hello").await.unwrap();
    assert!(
        timeout(QUIET, server.recv()).await.is_err(),
        "no request through a handshake with the wrong server key"
    );
    let mut succeeded = false;
    while let Ok(Some(event)) = timeout(Duration::from_millis(50), server_events.next()).await {
        succeeded |= matches!(event.kind, EventKind::HandshakeSucceeded);
    }
    assert!(!succeeded, "the server never completes the handshake");

    // The server keeps serving a client that knows its key.
    let good = client(
        &KeyPair::generate(),
        *server_keys.public(),
        &server.last_endpoint(),
    );
    round_trip(&good, &server).await;
}

#[tokio::test]
async fn a_zap_allowlist_admits_a_known_client_key() {
    let server_keys = KeyPair::generate();
    let client_keys = KeyPair::generate();
    let server = server(&server_keys);
    allowlist(&server, vec![*client_keys.public()]);
    let client = client(&client_keys, *server_keys.public(), &server.last_endpoint());
    round_trip(&client, &server).await;
}

#[tokio::test]
async fn a_zap_allowlist_refuses_an_unknown_client_key() {
    let server_keys = KeyPair::generate();
    let known = KeyPair::generate();
    let server = server(&server_keys);
    let mut events = server.monitor();
    allowlist(&server, vec![*known.public()]);
    let stranger = client(
        &KeyPair::generate(),
        *server_keys.public(),
        &server.last_endpoint(),
    );
    stranger.send("Hello").await.unwrap();

    let refused = timeout(WAIT, async {
        loop {
            let event = events.next().await.unwrap();
            if let EventKind::HandshakeFailedAuth { status_code, .. } = event.kind {
                break status_code;
            }
        }
    });
    assert_eq!(refused.await.unwrap(), 400);
    assert!(
        timeout(QUIET, server.recv()).await.is_err(),
        "no request from a refused client"
    );

    // A known client still gets through.
    let friend = client(&known, *server_keys.public(), &server.last_endpoint());
    round_trip(&friend, &server).await;
}
