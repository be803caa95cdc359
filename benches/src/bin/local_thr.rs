//! libzmq's `local_thr`: a PULL that binds, receives, and reports throughput.

use std::time::Instant;

use purezmq::{Socket, SocketType};
use purezmq_benches::perf::{Args, print_throughput};

#[tokio::main(flavor = "current_thread")]
async fn main() -> purezmq::Result<()> {
    let args = Args::parse("local_thr", "bind-to", "message-count");
    let pull = Socket::new(SocketType::Pull);
    pull.bind(&args.endpoint)?;
    pull.recv().await?;
    let start = Instant::now();
    for _ in 1..args.count {
        let message = pull.recv().await?;
        if message.size() != args.size {
            eprintln!("message of incorrect size received");
            std::process::exit(1);
        }
    }
    print_throughput(args.size, args.count, start.elapsed());
    Ok(())
}
