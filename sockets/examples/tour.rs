//! A tour of purezmq's sockets: request-reply over TCP, publish-subscribe over IPC
//! and a pipeline over inproc, in one process, printing what happens.
//!
//! `cargo run -p purezmq --example tour`

use std::time::Duration;

use purezmq::{Error, Message, Socket, SocketType};

#[tokio::main]
async fn main() -> purezmq::Result<()> {
    // Request-reply over TCP. The REP socket binds a port the OS picks, and
    // last_endpoint() says which; the REQ socket connects to it.
    let rep = Socket::new(SocketType::Rep);
    rep.bind("tcp://127.0.0.1:*")?;
    let req = Socket::new(SocketType::Req);
    req.connect(&rep.last_endpoint())?;

    req.send("Hello").await?;
    let request = rep.recv().await?;
    rep.send("World").await?;
    let reply = req.recv().await?;
    println!("REQ/REP over {}", rep.last_endpoint());
    println!("  REP got {}, REQ got {}", text(&request), text(&reply));

    // Publish-subscribe over IPC (a Unix domain socket). The SUB socket gets only
    // messages starting with a topic it subscribed to.
    let publisher = Socket::new(SocketType::Pub);
    publisher.bind("ipc://*")?;
    let subscriber = Socket::new(SocketType::Sub);
    subscriber.subscribe("weather")?;
    subscriber.connect(&publisher.last_endpoint())?;

    // A new subscription takes a moment to reach the publisher, which drops what
    // nobody has subscribed to yet: publish until an update arrives, giving up
    // each wait after RCVTIMEO.
    subscriber.set_options(|o| o.rcvtimeo = Some(Duration::from_millis(10)))?;
    let update = loop {
        publisher.send("traffic jammed").await?;
        publisher.send("weather sunny").await?;
        match subscriber.recv().await {
            Err(Error::Timeout(_)) => continue,
            update => break update?,
        }
    };
    println!("PUB/SUB over {}", publisher.last_endpoint());
    println!("  SUB subscribed to \"weather\" got {}", text(&update));

    // A pipeline within the process over inproc: messages move between the
    // sockets without being encoded. A message can have several frames; they
    // arrive together or not at all.
    let pull = Socket::new(SocketType::Pull);
    pull.bind("inproc://tour")?;
    let push = Socket::new(SocketType::Push);
    push.connect("inproc://tour")?;

    push.send(Message::from_iter(["task", "42"])).await?;
    let task = pull.recv().await?;
    println!("PUSH/PULL over inproc://tour");
    println!("  PULL got {} in {} frames", text(&task), task.len());

    // Closing waits until queued messages have gone out (or LINGER has passed).
    for socket in [req, rep, publisher, subscriber, push, pull] {
        socket.close().await;
    }
    Ok(())
}

/// A message's frames as text: `"task" "42"`.
fn text(message: &Message) -> String {
    let frames = message.frames().iter();
    let quoted: Vec<String> = frames
        .map(|frame| format!("{:?}", String::from_utf8_lossy(frame)))
        .collect();
    quoted.join(" ")
}
