//! Load-balancing broker, as in the ZeroMQ guide (chapter 3's lbbroker, the
//! pattern chapter 2 leads to). Clients and workers run here as tasks of one
//! process, each with its own sockets, as if they were separate processes.
//!
//! The broker binds two ROUTER sockets: ipc://frontend.ipc for clients (REQ) and
//! ipc://backend.ipc for workers (REQ). Workers say "READY", then get requests in
//! an envelope naming the client and answer "OK". The broker hands each request
//! to the worker that has been ready the longest, and exits after every client
//! has had its reply.

use std::collections::VecDeque;

use purezmq::{Message, Socket, SocketType};
use rand::random_range;

const NBR_CLIENTS: usize = 10;
const NBR_WORKERS: usize = 3;

/// A printable routing id, so that the output shows who is who.
fn set_printable_id(socket: &Socket) -> purezmq::Result<()> {
    let id = format!(
        "{:04X}-{:04X}",
        random_range(0..0x10000),
        random_range(0..0x10000)
    );
    socket.set_options(|o| o.routing_id = id.into())
}

/// Basic request-reply client using a REQ socket.
async fn client_task() -> purezmq::Result<()> {
    let client = Socket::new(SocketType::Req);
    set_printable_id(&client)?;
    client.connect("ipc://frontend.ipc")?;

    // Send request, get reply
    client.send("HELLO").await?;
    let reply = client.recv().await?;
    println!("Client: {}", String::from_utf8_lossy(&reply.frames()[0]));
    Ok(())
}

/// Worker using a REQ socket to do load-balancing.
async fn worker_task() -> purezmq::Result<()> {
    let worker = Socket::new(SocketType::Req);
    set_printable_id(&worker)?;
    worker.connect("ipc://backend.ipc")?;

    // Tell broker we're ready for work
    worker.send("READY").await?;

    loop {
        // The request comes as [client id, "", request]
        let message = worker.recv().await?;
        let [identity, _empty, request] = message.frames() else {
            continue;
        };
        println!("Worker: {}", String::from_utf8_lossy(request));
        let reply = [identity.clone(), "".into(), "OK".into()];
        worker.send(Message::from_iter(reply)).await?;
    }
}

#[tokio::main]
async fn main() -> purezmq::Result<()> {
    // Prepare our sockets
    let frontend = Socket::new(SocketType::Router);
    let backend = Socket::new(SocketType::Router);
    frontend.bind("ipc://frontend.ipc")?;
    backend.bind("ipc://backend.ipc")?;

    let clients: Vec<_> = (0..NBR_CLIENTS)
        .map(|_| tokio::spawn(client_task()))
        .collect();
    for _ in 0..NBR_WORKERS {
        tokio::spawn(worker_task());
    }

    // The least-recently-used queue of workers. The backend is always served;
    // the frontend only while a worker is ready, so that requests wait in
    // ZeroMQ's queues until one is.
    let mut worker_queue = VecDeque::new();
    let mut client_nbr = NBR_CLIENTS;
    while client_nbr > 0 {
        tokio::select! {
            message = backend.recv() => {
                // Worker activity: [worker id, "", "READY"] or
                // [worker id, "", client id, "", reply]
                let message = message?;
                let frames = message.frames();
                worker_queue.push_back(frames[0].clone());
                if let [_, _, client_id, _, reply] = frames {
                    // A client's reply: send it on to the client
                    let reply = [client_id.clone(), "".into(), reply.clone()];
                    frontend.send(Message::from_iter(reply)).await?;
                    client_nbr -= 1;
                }
            }
            message = frontend.recv(), if !worker_queue.is_empty() => {
                // A client request, [client id, "", request]: route it to
                // the least recently used worker
                let message = message?;
                let [client_id, _empty, request] = message.frames() else {
                    continue;
                };
                let Some(worker_id) = worker_queue.pop_front() else {
                    continue;
                };
                let envelope = [worker_id, "".into(), client_id.clone(), "".into(), request.clone()];
                backend.send(Message::from_iter(envelope)).await?;
            }
        }
    }

    // Wait until every client has printed its reply.
    for client in clients {
        client.await.expect("client task panicked")?;
    }
    Ok(())
}
