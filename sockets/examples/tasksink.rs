//! Task sink, as in the ZeroMQ guide (chapter 1).
//!
//! Binds a PULL socket to tcp://*:5558, waits for the start of a batch from the
//! ventilator (taskvent), then collects 100 results from the workers (taskwork)
//! and prints how long the batch took.

use std::io::Write;
use std::time::Instant;

use purezmq::{Socket, SocketType};

#[tokio::main]
async fn main() -> purezmq::Result<()> {
    // Prepare our socket
    let receiver = Socket::new(SocketType::Pull);
    receiver.bind("tcp://*:5558")?;

    // Wait for start of batch
    receiver.recv().await?;

    // Start our clock now
    let start_time = Instant::now();

    // Process 100 confirmations
    for task_nbr in 0..100 {
        receiver.recv().await?;
        print!("{}", if task_nbr % 10 == 0 { ":" } else { "." });
        std::io::stdout().flush()?;
    }

    // Calculate and report duration of batch
    println!(
        "Total elapsed time: {} msec",
        start_time.elapsed().as_millis()
    );
    Ok(())
}
