//! Transport bridge: an XSUB socket connects to a publisher on one network (here
//! tcp) and an XPUB socket re-publishes everything on another (here ipc), as seed
//! 002's "Transport Bridging" and the guide's `wuproxy`. Subscriptions made on the
//! ipc side travel back to the tcp publisher, so it sends only what someone wants.
//!
//! ```text
//! cargo run -p purezmq-broker --example bridge [UPSTREAM [DOWNSTREAM]]
//! ```
//!
//! UPSTREAM (XSUB, connected) defaults to `tcp://127.0.0.1:5556`, where the guide's
//! weather server (`wuserver`) publishes; DOWNSTREAM (XPUB, bound) to
//! `ipc:///tmp/purezmq-bridge`. Any mix of tcp, ipc and inproc works. The same
//! device from the command line:
//!
//! ```text
//! purezmq proxy 'xsub>tcp://127.0.0.1:5556' xpub@ipc:///tmp/purezmq-bridge
//! ```
//!
//! It prints where it listens and runs until Ctrl-C.

use purezmq::{Socket, SocketType};
use purezmq_broker::proxy::Proxy;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let upstream = args.next().unwrap_or_else(|| "tcp://127.0.0.1:5556".into());
    let downstream = args
        .next()
        .unwrap_or_else(|| "ipc:///tmp/purezmq-bridge".into());

    let frontend = Socket::new(SocketType::XSub);
    // Connecting is asynchronous: the publisher need not be up yet.
    frontend.connect(&upstream)?;
    let backend = Socket::new(SocketType::XPub);
    backend.bind(&downstream)?;
    println!("bridging the publisher at {upstream}");
    println!("subscribers connect to {}", backend.last_endpoint());

    tokio::select! {
        result = Proxy::new(frontend, backend).run() => result?,
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
