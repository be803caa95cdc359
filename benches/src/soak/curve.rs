//! CURVE handshakes in a loop: one CURVE server (a ROUTER on tcp and ipc, with a ZAP
//! handler) and client sockets, each with a fresh key pair, that connect, make one
//! request and close; four at a time (four loops in one task). Every tenth client fails instead, in turn with
//! the wrong server key (the server cannot open its HELLO) and with a key the ZAP
//! handler refuses, and is closed once it has seen the handshake fail.
//!
//! One iteration: one client's life.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use purezmq::curve::{KeyPair, PublicKey};
use purezmq::monitor::EventKind;
use purezmq::zap::{AuthReply, ZapRequest};
use purezmq::{Options, Security, Socket, SocketType};

use super::context::{Context, failed};

/// One client in this many fails its handshake.
const FAILING_EVERY: u64 = 10;

fn options(security: Security) -> Options {
    Options {
        linger: Some(Duration::ZERO),
        reconnect_ivl: Some(Duration::from_millis(10)),
        security,
        ..Options::default()
    }
}

/// Runs the scenario until the deadline.
pub async fn run(ctx: &Context) -> Result<(), String> {
    let server_keys = KeyPair::generate();
    let refused = KeyPair::generate();
    let server = Socket::with_options(
        SocketType::Router,
        options(Security::CurveServer {
            keypair: server_keys.clone(),
        }),
    )
    .map_err(failed("the CURVE server"))?;
    let refused_key = *refused.public();
    server.set_zap_handler(move |request: ZapRequest| async move {
        let key = request
            .credentials
            .first()
            .and_then(|key| PublicKey::try_from(&key[..]).ok());
        match key {
            Some(key) if key == refused_key => AuthReply::deny(400, "refused for the soak"),
            Some(key) => AuthReply::accept(key.to_z85()),
            None => AuthReply::deny(400, "no key"),
        }
    });
    server
        .bind("tcp://127.0.0.1:*")
        .map_err(failed("binding"))?;
    let endpoints = [server.last_endpoint(), ctx.ipc("curve")];
    server.bind(&endpoints[1]).map_err(failed("binding"))?;
    let echo = tokio::spawn({
        let server = server.clone();
        async move {
            while let Ok(request) = server.recv().await {
                if server.send(request).await.is_err() {
                    return;
                }
            }
        }
    });

    let next = AtomicU64::new(0);
    let one_loop = || clients(ctx, &next, &endpoints, *server_keys.public(), &refused);
    // One task, four loops: the handshakes' work runs in the connections' own tasks.
    let outcomes = tokio::join!(one_loop(), one_loop(), one_loop(), one_loop());
    let result = [outcomes.0, outcomes.1, outcomes.2, outcomes.3]
        .into_iter()
        .find(Result::is_err)
        .unwrap_or(Ok(()));
    echo.abort();
    let _ = echo.await;
    server.close().await;
    result
}

/// Client after client until the deadline, every [`FAILING_EVERY`]th one failing.
async fn clients(
    ctx: &Context,
    next: &AtomicU64,
    endpoints: &[String; 2],
    server_key: PublicKey,
    refused: &KeyPair,
) -> Result<(), String> {
    while ctx.running() {
        let n = next.fetch_add(1, Ordering::Relaxed);
        let endpoint = &endpoints[(n % 2) as usize];
        if n % FAILING_EVERY == FAILING_EVERY - 1 {
            let (keys, key, how) = if (n / FAILING_EVERY).is_multiple_of(2) {
                let impostor = *KeyPair::generate().public();
                (KeyPair::generate(), impostor, "the wrong server key")
            } else {
                (refused.clone(), server_key, "a key the ZAP handler refuses")
            };
            let what = format!("a client with {how} seeing its handshake fail at {endpoint}");
            ctx.within(&what, failing_client(keys, key, endpoint))
                .await??;
        } else {
            let what = format!("a CURVE request and reply at {endpoint}");
            let keys = KeyPair::generate();
            ctx.within(&what, one_request(keys, server_key, endpoint, n))
                .await??;
            ctx.messages(2);
        }
        ctx.iteration();
    }
    Ok(())
}

fn client(keypair: KeyPair, server_key: PublicKey) -> Result<Socket, String> {
    Socket::with_options(
        SocketType::Dealer,
        options(Security::CurveClient {
            keypair,
            server_key,
        }),
    )
    .map_err(failed("a CURVE client"))
}

/// A client connects, sends one request, gets it back, closes.
async fn one_request(
    keypair: KeyPair,
    server_key: PublicKey,
    endpoint: &str,
    n: u64,
) -> Result<(), String> {
    let client = client(keypair, server_key)?;
    client.connect(endpoint).map_err(failed("connecting"))?;
    let request = n.to_le_bytes().to_vec();
    client
        .send(request.clone())
        .await
        .map_err(failed("sending"))?;
    let reply = client.recv().await.map_err(failed("receiving"))?;
    if reply.frames() != [&request[..]] {
        return Err(format!(
            "client {n} got {:?}, not its own request back",
            reply.frames()
        ));
    }
    client.close().await;
    Ok(())
}

/// A client whose handshake must fail: it connects, sees the failure, closes.
async fn failing_client(
    keypair: KeyPair,
    server_key: PublicKey,
    endpoint: &str,
) -> Result<(), String> {
    let client = client(keypair, server_key)?;
    let mut events = client.monitor();
    client.connect(endpoint).map_err(failed("connecting"))?;
    client
        .send("never delivered")
        .await
        .map_err(failed("sending"))?;
    while let Some(event) = events.recv().await {
        match event.kind {
            EventKind::HandshakeSucceeded => {
                return Err(format!(
                    "a handshake that must fail succeeded at {endpoint}"
                ));
            }
            EventKind::HandshakeFailedAuth { .. }
            | EventKind::HandshakeFailedProtocol(_)
            | EventKind::HandshakeFailedNoDetail(_)
            | EventKind::Disconnected => break,
            _ => {}
        }
    }
    client.close().await;
    Ok(())
}
