//! Task worker, as in the ZeroMQ guide (chapter 1).
//!
//! Connects a PULL socket to tcp://localhost:5557 to take tasks from the
//! ventilator (taskvent), and a PUSH socket to tcp://localhost:5558 to send each
//! result to the sink (tasksink). A task is a number of milliseconds to work.
//! Runs until killed.

use std::io::Write;
use std::time::Duration;

use purezmq::{Socket, SocketType};

#[tokio::main]
async fn main() -> purezmq::Result<()> {
    // Socket to receive messages on
    let receiver = Socket::new(SocketType::Pull);
    receiver.connect("tcp://localhost:5557")?;

    // Socket to send messages to
    let sender = Socket::new(SocketType::Push);
    sender.connect("tcp://localhost:5558")?;

    // Process tasks forever
    loop {
        let task = receiver.recv().await?;
        let workload = String::from_utf8_lossy(&task.frames()[0]).into_owned();
        print!("{workload}."); // Show progress
        std::io::stdout().flush()?;

        // Do the work
        let msec = workload.parse().unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(msec)).await;

        // Send results to sink
        sender.send("").await?;
    }
}
