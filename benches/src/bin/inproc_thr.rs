//! libzmq's `inproc_thr`: PUSH to PULL over inproc in one process.
//! Arguments: `<message-size> <message-count>`.

use std::time::Instant;

use bytes::Bytes;
use purezmq::{Socket, SocketType};
use purezmq_benches::perf::print_throughput;

#[tokio::main(flavor = "current_thread")]
async fn main() -> purezmq::Result<()> {
    let (size, count) = two_numbers("inproc_thr", "message-count");
    let pull = Socket::new(SocketType::Pull);
    pull.bind("inproc://thr_test")?;
    let push = Socket::new(SocketType::Push);
    push.connect("inproc://thr_test")?;
    let sender = tokio::spawn(async move {
        let payload = Bytes::from(vec![0u8; size]);
        for _ in 0..count {
            push.send(payload.clone()).await?;
        }
        Ok::<_, purezmq::Error>(())
    });
    pull.recv().await?;
    let start = Instant::now();
    for _ in 1..count {
        pull.recv().await?;
    }
    print_throughput(size, count, start.elapsed());
    sender.await.expect("sender panicked")?;
    Ok(())
}

fn two_numbers(tool: &str, count_name: &str) -> (usize, usize) {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    if args.len() != 2 {
        eprintln!("usage: {tool} <message-size> <{count_name}>");
        std::process::exit(1);
    }
    (args[0], args[1])
}
