//! Request-reply client, as in the ZeroMQ guide (chapter 2).
//!
//! Connects a REQ socket to tcp://localhost:5559 (the broker's frontend, rrbroker
//! or msgqueue), sends "Hello" ten times and prints each reply.

use purezmq::{Socket, SocketType};

#[tokio::main]
async fn main() -> purezmq::Result<()> {
    // Socket to talk to server
    let requester = Socket::new(SocketType::Req);
    requester.connect("tcp://localhost:5559")?;

    for request_nbr in 0..10 {
        requester.send("Hello").await?;
        let reply = requester.recv().await?;
        let reply = String::from_utf8_lossy(&reply.frames()[0]);
        println!("Received reply {request_nbr} [{reply}]");
    }
    requester.close().await;
    Ok(())
}
