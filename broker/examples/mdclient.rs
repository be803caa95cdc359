//! A Majordomo client, as the guide's `mdclient`: 10 requests to the `echo` service
//! through the broker, each retried (on a new socket) when no reply comes.
//!
//! ```text
//! cargo run -p purezmq-broker --example mdclient [BROKER...]
//! ```
//!
//! BROKER defaults to `tcp://127.0.0.1:5555`; give several for failover. Start a
//! worker first (`cargo run -p purezmq-broker --example mdworker`, or
//! `purezmq echo`). The same from the command line: `purezmq call echo hello`.

use std::time::Duration;

use purezmq_broker::client::Client;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut brokers: Vec<String> = std::env::args().skip(1).collect();
    if brokers.is_empty() {
        brokers.push("tcp://127.0.0.1:5555".into());
    }
    let client = Client::builder()
        .endpoints(brokers)
        .timeout(Duration::from_millis(2500))
        .retries(3)
        .build()?;
    if !client.has_service("echo").await? {
        eprintln!("no worker offers `echo`; start one with `purezmq echo`");
        return Ok(());
    }
    for n in 0..10 {
        let reply = client
            .request("echo", vec![format!("hello {n}").into()])
            .await?;
        println!("{}", String::from_utf8_lossy(&reply.concat()));
    }
    Ok(())
}
