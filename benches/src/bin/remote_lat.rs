//! libzmq's `remote_lat`: a REQ that connects, does round trips, and reports latency.

use std::time::Instant;

use bytes::Bytes;
use purezmq::{Socket, SocketType};
use purezmq_benches::perf::{Args, print_latency};

#[tokio::main(flavor = "current_thread")]
async fn main() -> purezmq::Result<()> {
    let args = Args::parse("remote_lat", "connect-to", "roundtrip-count");
    let req = Socket::new(SocketType::Req);
    req.connect(&args.endpoint)?;
    let payload = Bytes::from(vec![0u8; args.size]);
    let start = Instant::now();
    for _ in 0..args.count {
        req.send(payload.clone()).await?;
        let reply = req.recv().await?;
        if reply.size() != args.size {
            eprintln!("message of incorrect size received");
            std::process::exit(1);
        }
    }
    print_latency(args.size, args.count, start.elapsed());
    Ok(())
}
