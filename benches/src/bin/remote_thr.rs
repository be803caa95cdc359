//! libzmq's `remote_thr`: a PUSH that connects and sends as fast as it can.

use bytes::Bytes;
use purezmq::{Socket, SocketType};
use purezmq_benches::perf::Args;

#[tokio::main(flavor = "current_thread")]
async fn main() -> purezmq::Result<()> {
    let args = Args::parse("remote_thr", "connect-to", "message-count");
    let push = Socket::new(SocketType::Push);
    push.connect(&args.endpoint)?;
    let payload = Bytes::from(vec![0u8; args.size]);
    for _ in 0..args.count {
        push.send(payload.clone()).await?;
    }
    push.close().await;
    Ok(())
}
