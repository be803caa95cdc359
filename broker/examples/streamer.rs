//! Streamer: producers PUSH to a PULL socket, consumers PULL from a PUSH socket,
//! and a proxy between them passes each task on to the next free consumer, as the
//! guide's streamer device (seed 002's PULL/PUSH proxy).
//!
//! ```text
//! cargo run -p purezmq-broker --example streamer [FRONTEND [BACKEND]]
//! ```
//!
//! FRONTEND (PULL, bound) defaults to `tcp://127.0.0.1:5557`, BACKEND (PUSH, bound)
//! to `tcp://127.0.0.1:5558`. The same device from the command line:
//!
//! ```text
//! purezmq proxy pull@tcp://127.0.0.1:5557 push@tcp://127.0.0.1:5558
//! ```
//!
//! When no consumer can take more (all at their high-water mark), the proxy stops
//! reading from the producers, whose sends then wait: nothing piles up in between.
//! It prints where it listens and runs until Ctrl-C.

use purezmq::{Socket, SocketType};
use purezmq_broker::proxy::Proxy;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let frontend_endpoint = args.next().unwrap_or_else(|| "tcp://127.0.0.1:5557".into());
    let backend_endpoint = args.next().unwrap_or_else(|| "tcp://127.0.0.1:5558".into());

    let frontend = Socket::new(SocketType::Pull);
    frontend.bind(&frontend_endpoint)?;
    let backend = Socket::new(SocketType::Push);
    backend.bind(&backend_endpoint)?;
    println!("producers connect to {}", frontend.last_endpoint());
    println!("consumers connect to {}", backend.last_endpoint());

    tokio::select! {
        result = Proxy::new(frontend, backend).run() => result?,
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
