//! Task ventilator, as in the ZeroMQ guide (chapter 1).
//!
//! Binds a PUSH socket to tcp://*:5557 and sends a batch of 100 tasks to the
//! workers (taskwork) once Enter is pressed; first it tells the sink (tasksink, at
//! tcp://localhost:5558) that the batch starts.

use std::io::Write;

use purezmq::{Socket, SocketType};
use rand::random_range;
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::main]
async fn main() -> purezmq::Result<()> {
    // Socket to send messages on
    let sender = Socket::new(SocketType::Push);
    sender.bind("tcp://*:5557")?;

    // Socket to send start of batch message on
    let sink = Socket::new(SocketType::Push);
    sink.connect("tcp://localhost:5558")?;

    print!("Press Enter when the workers are ready: ");
    std::io::stdout().flush()?;
    let mut enter = String::new();
    BufReader::new(tokio::io::stdin())
        .read_line(&mut enter)
        .await?;
    println!("Sending tasks to workers...");

    // The first message is "0" and signals start of batch
    sink.send("0").await?;

    // Send 100 tasks
    let mut total_msec = 0; // Total expected cost in msecs
    for _ in 0..100 {
        // Random workload from 1 to 100 msecs
        let workload = random_range(1..=100);
        total_msec += workload;
        sender.send(workload.to_string()).await?;
    }
    println!("Total expected cost: {total_msec} msec");

    // Closing waits until the queued messages are sent
    sink.close().await;
    sender.close().await;
    Ok(())
}
