//! Hello World client, as in the ZeroMQ guide (chapter 1).
//!
//! Connects a REQ socket to tcp://localhost:5555, sends "Hello" to the server ten
//! times and waits for "World" each time.

use purezmq::{Socket, SocketType};

#[tokio::main]
async fn main() -> purezmq::Result<()> {
    println!("Connecting to hello world server...");
    let requester = Socket::new(SocketType::Req);
    requester.connect("tcp://localhost:5555")?;

    for request_nbr in 0..10 {
        println!("Sending Hello {request_nbr}...");
        requester.send("Hello").await?;
        requester.recv().await?;
        println!("Received World {request_nbr}");
    }
    requester.close().await;
    Ok(())
}
