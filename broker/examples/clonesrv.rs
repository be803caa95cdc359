//! Clone server, as the guide's `clonesrv5`: snapshots on 5556 (ROUTER), updates on
//! 5557 (PUB), changes from clients on 5558 (PULL), keys with a `ttl` expire.
//!
//! ```text
//! cargo run -p purezmq-broker --example clonesrv [PORT]
//! ```
//!
//! The guide's clone clients (`clonecli5` in C, Python, …) and our `clonecli` work
//! against it. `RUST_LOG` changes what is logged (default: every update).

use purezmq_broker::clone::{CloneServer, Endpoints, ServerConfig};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,purezmq_broker=debug".into()),
        )
        .init();
    let port = match std::env::args().nth(1) {
        Some(port) => port.parse().map_err(|_| format!("not a port: {port}"))?,
        None => 5556,
    };
    let server = CloneServer::bind(ServerConfig {
        endpoints: Endpoints::tcp("*", port),
        ..ServerConfig::default()
    })?;
    let endpoints = server.endpoints();
    tracing::info!(
        "clone server: snapshots on {}, updates on {}, collecting on {}",
        endpoints.snapshot,
        endpoints.publisher,
        endpoints.collector
    );
    server
        .run(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    tracing::info!("interrupted");
    Ok(())
}
