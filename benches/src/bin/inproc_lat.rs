//! libzmq's `inproc_lat`: REQ/REP round trips over inproc in one process.
//! Arguments: `<message-size> <roundtrip-count>`.

use std::time::Instant;

use bytes::Bytes;
use purezmq::{Socket, SocketType};
use purezmq_benches::perf::print_latency;

#[tokio::main(flavor = "current_thread")]
async fn main() -> purezmq::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    if args.len() != 2 {
        eprintln!("usage: inproc_lat <message-size> <roundtrip-count>");
        std::process::exit(1);
    }
    let (size, count) = (args[0], args[1]);
    let rep = Socket::new(SocketType::Rep);
    rep.bind("inproc://lat_test")?;
    let req = Socket::new(SocketType::Req);
    req.connect("inproc://lat_test")?;
    let echo = tokio::spawn(async move {
        for _ in 0..count {
            let message = rep.recv().await?;
            rep.send(message).await?;
        }
        Ok::<_, purezmq::Error>(())
    });
    let payload = Bytes::from(vec![0u8; size]);
    let start = Instant::now();
    for _ in 0..count {
        req.send(payload.clone()).await?;
        req.recv().await?;
    }
    print_latency(size, count, start.elapsed());
    echo.await.expect("echo panicked")?;
    Ok(())
}
