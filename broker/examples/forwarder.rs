//! Forwarder: publishers connect to an XSUB socket, subscribers to an XPUB socket,
//! and a proxy between them carries messages down and subscriptions up, as in seed
//! 002 and the guide's `wuproxy`.
//!
//! ```text
//! cargo run -p purezmq-broker --example forwarder [FRONTEND [BACKEND]]
//! ```
//!
//! FRONTEND (XSUB, bound) defaults to `tcp://127.0.0.1:5559`, BACKEND (XPUB, bound)
//! to `tcp://127.0.0.1:5560`, the seed's endpoints, so its `publisher` and
//! `subscriber` programs run against it unchanged. The same device from the command
//! line:
//!
//! ```text
//! purezmq proxy xsub@tcp://127.0.0.1:5559 xpub@tcp://127.0.0.1:5560
//! ```
//!
//! It prints where it listens (with the port picked, for `tcp://127.0.0.1:*`) and
//! runs until Ctrl-C.

use purezmq::{Socket, SocketType};
use purezmq_broker::proxy::Proxy;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let frontend_endpoint = args.next().unwrap_or_else(|| "tcp://127.0.0.1:5559".into());
    let backend_endpoint = args.next().unwrap_or_else(|| "tcp://127.0.0.1:5560".into());

    let frontend = Socket::new(SocketType::XSub);
    frontend.bind(&frontend_endpoint)?;
    let backend = Socket::new(SocketType::XPub);
    backend.bind(&backend_endpoint)?;
    println!("publishers connect to {}", frontend.last_endpoint());
    println!("subscribers connect to {}", backend.last_endpoint());

    tokio::select! {
        result = Proxy::new(frontend, backend).run() => result?,
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
