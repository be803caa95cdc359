//! Simple message queuing broker, as in the ZeroMQ guide (chapter 2).
//!
//! Same as rrbroker (ROUTER on tcp://*:5559 for clients, DEALER on tcp://*:5560
//! for workers), but written with a proxy function like libzmq's `zmq_proxy`.
//! Runs until killed.

use purezmq::{Socket, SocketType};

/// Moves messages both ways between two sockets, for ever (until one fails).
async fn proxy(frontend: &Socket, backend: &Socket) -> purezmq::Result<()> {
    loop {
        tokio::select! {
            message = frontend.recv() => backend.send(message?).await?,
            message = backend.recv() => frontend.send(message?).await?,
        }
    }
}

#[tokio::main]
async fn main() -> purezmq::Result<()> {
    // Socket facing clients
    let frontend = Socket::new(SocketType::Router);
    frontend.bind("tcp://*:5559")?;

    // Socket facing services
    let backend = Socket::new(SocketType::Dealer);
    backend.bind("tcp://*:5560")?;

    // Start the proxy
    proxy(&frontend, &backend).await
}
