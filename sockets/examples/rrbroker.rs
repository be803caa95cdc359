//! Simple request-reply broker, as in the ZeroMQ guide (chapter 2).
//!
//! Binds a ROUTER socket to tcp://*:5559 for clients (rrclient) and a DEALER
//! socket to tcp://*:5560 for workers (rrworker), and moves every message from
//! one to the other. Runs until killed.

use purezmq::{Socket, SocketType};

#[tokio::main]
async fn main() -> purezmq::Result<()> {
    // Prepare our sockets
    let frontend = Socket::new(SocketType::Router);
    let backend = Socket::new(SocketType::Dealer);
    frontend.bind("tcp://*:5559")?;
    backend.bind("tcp://*:5560")?;

    // Switch messages between sockets. A message arrives whole, with all its
    // parts (the ROUTER's envelope too), and is sent on whole.
    loop {
        tokio::select! {
            message = frontend.recv() => backend.send(message?).await?,
            message = backend.recv() => frontend.send(message?).await?,
        }
    }
}
