//! Weather update client, as in the ZeroMQ guide (chapter 1).
//!
//! Connects a SUB socket to tcp://localhost:5556, collects 100 updates for one
//! zipcode (the first argument, NYC's "10001 " by default) and prints their
//! average temperature.

use purezmq::{Socket, SocketType};

#[tokio::main]
async fn main() -> purezmq::Result<()> {
    // Socket to talk to server
    println!("Collecting updates from weather server...");
    let subscriber = Socket::new(SocketType::Sub);
    subscriber.connect("tcp://localhost:5556")?;

    // Subscribe to zipcode, default is NYC, 10001
    let filter = std::env::args().nth(1).unwrap_or_else(|| "10001 ".into());
    subscriber.subscribe(&filter)?;

    // Process 100 updates
    let mut total_temp: i64 = 0;
    let update_nbr = 100;
    for _ in 0..update_nbr {
        let update = subscriber.recv().await?;
        let update = String::from_utf8_lossy(&update.frames()[0]);
        let fields: Vec<i64> = update
            .split_whitespace()
            .filter_map(|field| field.parse().ok())
            .collect();
        if let [_zipcode, temperature, _relhumidity] = fields[..] {
            total_temp += temperature;
        }
    }
    println!(
        "Average temperature for zipcode '{filter}' was {}F",
        total_temp / update_nbr
    );
    Ok(())
}
