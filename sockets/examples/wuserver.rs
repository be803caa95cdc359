//! Weather update server, as in the ZeroMQ guide (chapter 1).
//!
//! Binds a PUB socket to tcp://*:5556 and publishes random weather updates,
//! "zipcode temperature relhumidity", as fast as it can. Runs until killed.

use purezmq::{Socket, SocketType};
use rand::random_range;

#[tokio::main]
async fn main() -> purezmq::Result<()> {
    let publisher = Socket::new(SocketType::Pub);
    publisher.bind("tcp://*:5556")?;

    loop {
        // Get values that will fool the boss
        let zipcode = random_range(0..100_000);
        let temperature = random_range(-80..135);
        let relhumidity = random_range(10..60);

        // Send message to all subscribers
        publisher
            .send(format!("{zipcode:05} {temperature} {relhumidity}"))
            .await?;
    }
}
