//! The two proxies behind seed 002's late-joiner handshake, in one process: a
//! forwarder for the data (publisher PUB → XSUB 5559, XPUB 5560 → subscriber SUB)
//! and a shared queue for the sync channel (publisher REQ → ROUTER 5561, DEALER
//! 5562 → subscriber REP).
//!
//! ```text
//! cargo run -p purezmq-broker --example late_joiner_proxy [XSUB XPUB ROUTER DEALER]
//! ```
//!
//! The defaults are the seed's: `tcp://127.0.0.1:5559`, `:5560`, `:5561` and
//! `:5562`, all bound, so the seed's `stable-subscriber` and `stable-publisher` run
//! against it unchanged. The subscriber subscribes, then waits on its REP for the
//! publisher's `Hello`; it answers `yes` only once it is listening, and only then
//! does the publisher send, so no message is lost to a late joiner. The same
//! devices from the command line, as two processes:
//!
//! ```text
//! purezmq proxy xsub@tcp://127.0.0.1:5559 xpub@tcp://127.0.0.1:5560
//! purezmq proxy router@tcp://127.0.0.1:5561 dealer@tcp://127.0.0.1:5562
//! ```
//!
//! It prints where it listens and runs until Ctrl-C.

use purezmq::{Socket, SocketType};
use purezmq_broker::proxy::Proxy;

/// A socket bound to `endpoint`.
fn bound(socket_type: SocketType, endpoint: &str) -> purezmq::Result<Socket> {
    let socket = Socket::new(socket_type);
    socket.bind(endpoint)?;
    Ok(socket)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut endpoint = |port: u16| {
        args.next()
            .unwrap_or_else(|| format!("tcp://127.0.0.1:{port}"))
    };
    let xsub = bound(SocketType::XSub, &endpoint(5559))?;
    let xpub = bound(SocketType::XPub, &endpoint(5560))?;
    let router = bound(SocketType::Router, &endpoint(5561))?;
    let dealer = bound(SocketType::Dealer, &endpoint(5562))?;
    println!("publishers connect to {}", xsub.last_endpoint());
    println!("subscribers connect to {}", xpub.last_endpoint());
    println!("requesters connect to {}", router.last_endpoint());
    println!("repliers connect to {}", dealer.last_endpoint());

    let forwarder = Proxy::new(xsub, xpub).run();
    let queue = Proxy::new(router, dealer).run();
    tokio::select! {
        result = async { tokio::try_join!(forwarder, queue) } => {
            result?;
        }
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
