//! A Majordomo worker, as the guide's `mdworker`: offers the `echo` service and
//! answers each request with its own frames, heartbeating, and registering again
//! whenever the broker restarts.
//!
//! ```text
//! cargo run -p purezmq-broker --example mdworker [BROKER...]
//! ```
//!
//! BROKER defaults to `tcp://127.0.0.1:5555`; give several to serve each of them
//! (one connection each). The same from the command line: `purezmq echo`. Runs
//! until Ctrl-C.

use purezmq_broker::worker::{Request, Worker, WorkerEvent};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut brokers: Vec<String> = std::env::args().skip(1).collect();
    if brokers.is_empty() {
        brokers.push("tcp://127.0.0.1:5555".into());
    }
    let worker = Worker::new(brokers, "echo").on_event(|event| {
        if let WorkerEvent::Registered { endpoint } = event {
            println!("registered at {endpoint}");
        }
    });
    let echo = |request: Request| async move { request.body };
    worker
        .run(echo, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
