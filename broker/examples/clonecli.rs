//! Clone client, as the guide's `clonecli5`: takes a snapshot of `/client/`,
//! follows its updates, and once a second sets a random key with a random time to
//! live.
//!
//! ```text
//! cargo run -p purezmq-broker --example clonecli [HOST [PORT]]
//! ```
//!
//! By default it talks to `tcp://localhost:5556` (snapshot), `5557` (updates) and
//! `5558` (changes), where our `clonesrv` or the guide's `clonesrv5` listens.

use std::time::Duration;

use purezmq_broker::clone::{ClientConfig, CloneClient, Endpoints, Event};

const SUBTREE: &str = "/client/";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let mut args = std::env::args().skip(1);
    let host = args.next().unwrap_or_else(|| "localhost".into());
    let port = match args.next() {
        Some(port) => port.parse().map_err(|_| format!("not a port: {port}"))?,
        None => 5556,
    };
    let config = ClientConfig::new(Endpoints::tcp(&host, port)).subtree(SUBTREE);
    let mut client = CloneClient::connect(config).await?;
    println!("I: received snapshot={}", client.sequence());

    let mut alarm = tokio::time::interval(Duration::from_secs(1));
    alarm.tick().await;
    let mut interrupted = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        tokio::select! {
            _ = &mut interrupted => break,
            event = client.recv() => match event? {
                Event::Update(msg) => {
                    let action = if msg.is_delete() { "delete" } else { "update" };
                    println!("I: received {action}={}", msg.sequence);
                }
                Event::Resynced { sequence } => println!("I: received snapshot={sequence}"),
            },
            _ = alarm.tick() => {
                let key = format!("{SUBTREE}{}", rand::random_range(1..10_000));
                let body = rand::random_range(1..1_000_000).to_string();
                let ttl = rand::random_range(0..30u64);
                let ttl = (ttl > 0).then(|| Duration::from_secs(ttl));
                client.set(key, body, ttl).await?;
            }
        }
    }
    println!(" Interrupted\n{} messages in", client.sequence());
    Ok(())
}
