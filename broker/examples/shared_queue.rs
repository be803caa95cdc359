//! Shared queue: REQ clients connect to a ROUTER socket, REP workers to a DEALER
//! socket, and a proxy between them spreads the requests over the workers and
//! routes each reply back to its client, as in seed 002 and the guide's `msgqueue`.
//!
//! ```text
//! cargo run -p purezmq-broker --example shared_queue [FRONTEND [BACKEND]]
//! ```
//!
//! FRONTEND (ROUTER, bound) defaults to `tcp://127.0.0.1:5559`, BACKEND (DEALER,
//! bound) to `tcp://127.0.0.1:5560`, the seed's endpoints; the guide's `rrclient`
//! and `rrworker` (which connect to localhost) work against it too. The same device
//! from the command line:
//!
//! ```text
//! purezmq proxy router@tcp://127.0.0.1:5559 dealer@tcp://127.0.0.1:5560
//! ```
//!
//! It prints where it listens and runs until Ctrl-C. Unlike
//! `sockets/examples/msgqueue.rs`, which writes the proxy loop out by hand, this
//! uses [`purezmq_broker::proxy`].

use purezmq::{Socket, SocketType};
use purezmq_broker::proxy::Proxy;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let frontend_endpoint = args.next().unwrap_or_else(|| "tcp://127.0.0.1:5559".into());
    let backend_endpoint = args.next().unwrap_or_else(|| "tcp://127.0.0.1:5560".into());

    let frontend = Socket::new(SocketType::Router);
    frontend.bind(&frontend_endpoint)?;
    let backend = Socket::new(SocketType::Dealer);
    backend.bind(&backend_endpoint)?;
    println!("clients connect to {}", frontend.last_endpoint());
    println!("workers connect to {}", backend.last_endpoint());

    tokio::select! {
        result = Proxy::new(frontend, backend).run() => result?,
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
