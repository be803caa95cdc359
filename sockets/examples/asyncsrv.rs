//! Asynchronous client-to-server (DEALER to ROUTER), as in the ZeroMQ guide
//! (chapter 3's asyncsrv, built from chapter 2's parts). Clients, server and
//! workers run here as tasks of one process, each with its own sockets.
//!
//! Three clients (DEALER, tcp://localhost:5570) send a request a second and print
//! the replies as they come. The server binds a ROUTER to tcp://*:5570 and a
//! DEALER to inproc://backend, proxies between the two, and five workers (DEALER,
//! inproc://backend) answer each request with zero to four copies of it, at
//! random intervals. The program stops after five seconds.

use std::time::Duration;

use purezmq::{Message, Socket, SocketType};
use rand::random_range;
use tokio::time::{Instant, sleep, timeout_at};

/// A client: sends "request #N" once a second, printing the replies it gets
/// in between.
async fn client_task() -> purezmq::Result<()> {
    let client = Socket::new(SocketType::Dealer);
    // A random routing id makes tracing easier
    let identity = format!(
        "{:04X}-{:04X}",
        random_range(0..0x10000),
        random_range(0..0x10000)
    );
    client.set_options(|o| o.routing_id = identity.clone().into())?;
    client.connect("tcp://localhost:5570")?;

    let mut request_nbr = 0;
    loop {
        // Tick once per second, pulling in arriving messages
        let tick = Instant::now() + Duration::from_secs(1);
        while let Ok(reply) = timeout_at(tick, client.recv()).await {
            let reply = reply?;
            let content = String::from_utf8_lossy(&reply.frames()[0]);
            println!("{identity} received: {content}");
        }
        request_nbr += 1;
        client.send(format!("request #{request_nbr}")).await?;
    }
}

/// The server: deals requests out to a pool of workers and routes replies
/// back to clients. One worker handles one request at a time, but one client
/// can talk to several workers at once.
async fn server_task() -> purezmq::Result<()> {
    let frontend = Socket::new(SocketType::Router);
    frontend.bind("tcp://*:5570")?;
    let backend = Socket::new(SocketType::Dealer);
    backend.bind("inproc://backend")?;

    // Launch a pool of workers; the precise number is not critical
    for _ in 0..5 {
        tokio::spawn(server_worker());
    }

    // Connect backend to frontend via a proxy
    loop {
        tokio::select! {
            message = frontend.recv() => backend.send(message?).await?,
            message = backend.recv() => frontend.send(message?).await?,
        }
    }
}

/// A worker: answers each request [client id, content] with 0 to 4 copies of
/// it, after random delays.
async fn server_worker() -> purezmq::Result<()> {
    let worker = Socket::new(SocketType::Dealer);
    worker.connect("inproc://backend")?;

    loop {
        // The DEALER socket gives us the reply envelope and message
        let message = worker.recv().await?;
        let [identity, content] = message.frames() else {
            continue;
        };
        for _ in 0..random_range(0..5) {
            // Sleep for some fraction of a second
            sleep(Duration::from_millis(random_range(1..=1000))).await;
            let reply = [identity.clone(), content.clone()];
            worker.send(Message::from_iter(reply)).await?;
        }
    }
}

#[tokio::main]
async fn main() -> purezmq::Result<()> {
    for _ in 0..3 {
        tokio::spawn(client_task());
    }
    let server = tokio::spawn(server_task());

    // Run for 5 seconds then quit (sooner if the server fails)
    tokio::select! {
        _ = sleep(Duration::from_secs(5)) => Ok(()),
        result = server => result.expect("the server task panicked"),
    }
}
