//! Request-reply worker, as in the ZeroMQ guide (chapter 2).
//!
//! Connects a REP socket to tcp://localhost:5560 (the broker's backend, rrbroker
//! or msgqueue) and answers each request with "World" after a second of work.
//! Runs until killed.

use std::time::Duration;

use purezmq::{Socket, SocketType};

#[tokio::main]
async fn main() -> purezmq::Result<()> {
    // Socket to talk to clients
    let responder = Socket::new(SocketType::Rep);
    responder.connect("tcp://localhost:5560")?;

    loop {
        // Wait for next request from client
        let request = responder.recv().await?;
        let request = String::from_utf8_lossy(&request.frames()[0]);
        println!("Received request: [{request}]");

        // Do some 'work'
        tokio::time::sleep(Duration::from_secs(1)).await;

        // Send reply back to client
        responder.send("World").await?;
    }
}
