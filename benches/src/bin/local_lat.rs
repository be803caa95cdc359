//! libzmq's `local_lat`: a REP that binds and echoes.

use purezmq::{Socket, SocketType};
use purezmq_benches::perf::Args;

#[tokio::main(flavor = "current_thread")]
async fn main() -> purezmq::Result<()> {
    let args = Args::parse("local_lat", "bind-to", "roundtrip-count");
    let rep = Socket::new(SocketType::Rep);
    rep.bind(&args.endpoint)?;
    for _ in 0..args.count {
        let message = rep.recv().await?;
        if message.size() != args.size {
            eprintln!("message of incorrect size received");
            std::process::exit(1);
        }
        rep.send(message).await?;
    }
    rep.close().await;
    Ok(())
}
