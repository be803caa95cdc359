//! Hello World server, as in the ZeroMQ guide (chapter 1).
//!
//! Binds a REP socket to tcp://*:5555, expects "Hello" from clients and replies
//! "World". Runs until killed.

use std::time::Duration;

use purezmq::{Socket, SocketType};

#[tokio::main]
async fn main() -> purezmq::Result<()> {
    // Socket to talk to clients
    let responder = Socket::new(SocketType::Rep);
    responder.bind("tcp://*:5555")?;

    loop {
        responder.recv().await?;
        println!("Received Hello");
        tokio::time::sleep(Duration::from_secs(1)).await; // Do some 'work'
        responder.send("World").await?;
    }
}
