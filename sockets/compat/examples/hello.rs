//! A program written for the `zmq` crate, unchanged: request-reply over TCP,
//! publish-subscribe over IPC and a pipeline over inproc, in one process, printing
//! what each receives, then it exits (0 when all arrived).
//!
//! It is what "switching is one line" means: built for
//! `aarch64-unknown-linux-musl` with no C toolchain, it runs on ARM boards.
//!
//! ```sh
//! cargo run -p purezmq-compat --example hello
//! ```

use std::thread;

fn main() -> Result<(), zmq::Error> {
    let context = zmq::Context::new();

    // Request-reply over TCP: the guide's hwserver and hwclient.
    let responder = context.socket(zmq::REP)?;
    responder.bind("tcp://127.0.0.1:*")?;
    let endpoint = responder.get_last_endpoint()?.unwrap_or_default();
    let server = thread::spawn(move || -> Result<(), zmq::Error> {
        for _ in 0..3 {
            let request = responder.recv_msg(0)?;
            println!("server received {:?}", request.as_str().unwrap_or("?"));
            responder.send("World", 0)?;
        }
        Ok(())
    });
    let requester = context.socket(zmq::REQ)?;
    requester.connect(&endpoint)?;
    for n in 0..3 {
        requester.send(&format!("Hello {n}"), 0)?;
        let reply = requester.recv_string(0)?.unwrap_or_default();
        println!("client received {reply:?}");
    }
    server.join().expect("the server thread panicked")?;

    // Publish-subscribe over IPC, with a multipart envelope.
    let path = std::env::temp_dir().join(format!("purezmq-compat-hello-{}", std::process::id()));
    let publisher = context.socket(zmq::PUB)?;
    publisher.bind(&format!("ipc://{}", path.display()))?;
    let subscriber = context.socket(zmq::SUB)?;
    subscriber.set_subscribe(b"weather")?;
    subscriber.connect(&format!("ipc://{}", path.display()))?;
    // Subscriptions take a moment to reach the publisher: publish until one arrives.
    loop {
        publisher.send("weather", zmq::SNDMORE)?;
        publisher.send("sunny", 0)?;
        if subscriber.poll(zmq::POLLIN, 10)? > 0 {
            break;
        }
    }
    let update = subscriber.recv_multipart(0)?;
    println!(
        "subscriber received {:?}",
        update
            .iter()
            .map(|f| String::from_utf8_lossy(f))
            .collect::<Vec<_>>()
    );

    // A pipeline over inproc.
    let sink = context.socket(zmq::PULL)?;
    sink.bind("inproc://hello-pipeline")?;
    let ventilator = context.socket(zmq::PUSH)?;
    ventilator.connect("inproc://hello-pipeline")?;
    for task in 1..=3 {
        ventilator.send(&task.to_string(), 0)?;
    }
    let mut total = 0;
    for _ in 0..3 {
        total += sink
            .recv_string(0)?
            .unwrap_or_default()
            .parse::<u32>()
            .unwrap_or(0);
    }
    println!("sink received tasks adding up to {total}");
    Ok(())
}
