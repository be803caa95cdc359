//! A slow subscriber: a PUB publishing as fast as it can, with a small SNDHWM, to one
//! fast SUB (tcp) and two slow ones (ipc and inproc) that read a message now and
//! then, stop for seconds, and resume. The PUB drops what the slow ones cannot take,
//! so its memory stays bounded, and the fast SUB is never held back by them.
//!
//! One iteration: 1000 messages published.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use purezmq::{Options, Socket, SocketType};

use super::context::{Context, STALL, failed};

/// SNDHWM of the PUB and RCVHWM of the SUBs, in messages.
const HWM: usize = 100;
/// Message sizes, published in turn.
const SIZES: [usize; 4] = [32, 512, 8 * 1024, 100];
/// A slow SUB reads one message per this long …
const SLOW_READ: Duration = Duration::from_millis(2);
/// … for this long, then stops for as long.
const SLOW_PHASE: Duration = Duration::from_secs(2);

fn options() -> Options {
    Options {
        linger: Some(Duration::ZERO),
        sndhwm: HWM,
        rcvhwm: HWM,
        ..Options::default()
    }
}

/// Runs the scenario until the deadline.
pub async fn run(ctx: &Context) -> Result<(), String> {
    let publisher = Socket::with_options(SocketType::Pub, options()).map_err(failed("PUB"))?;
    publisher
        .bind("tcp://127.0.0.1:*")
        .map_err(failed("binding"))?;
    let tcp = publisher.last_endpoint();
    let ipc = ctx.ipc("pub");
    publisher.bind(&ipc).map_err(failed("binding"))?;
    let inproc = format!("inproc://soak-slow-sub-{}", std::process::id());
    publisher.bind(&inproc).map_err(failed("binding"))?;

    let mut subscribers = Vec::new();
    for endpoint in [&tcp, &ipc, &inproc] {
        let sub = Socket::with_options(SocketType::Sub, options()).map_err(failed("SUB"))?;
        sub.subscribe("").map_err(failed("subscribing"))?;
        sub.connect(endpoint).map_err(failed("connecting"))?;
        subscribers.push(sub);
    }
    let fast_count = Arc::new(AtomicU64::new(0));
    let slow_count = Arc::new(AtomicU64::new(0));
    let fast = tokio::spawn(read_fast(subscribers[0].clone(), Arc::clone(&fast_count)));
    let slow: Vec<_> = subscribers[1..]
        .iter()
        .map(|sub| tokio::spawn(read_slowly(sub.clone(), Arc::clone(&slow_count))))
        .collect();

    let payloads: Vec<Bytes> = SIZES
        .iter()
        .map(|&size| Bytes::from(vec![7u8; size]))
        .collect();
    let mut published: u64 = 0;
    let mut seen = (Instant::now(), 0);
    let mut result = Ok(());
    while ctx.running() {
        for payload in &payloads {
            if let Err(e) = publisher.send(payload.clone()).await {
                result = Err(format!("publishing: {e}"));
                break;
            }
        }
        published += payloads.len() as u64;
        if published.is_multiple_of(1000) {
            ctx.iteration();
            // A publisher at full speed still lets its subscribers' tasks run.
            tokio::task::yield_now().await;
            let got = fast_count.load(Ordering::Relaxed);
            if got != seen.1 {
                seen = (Instant::now(), got);
            } else if seen.0.elapsed() > STALL {
                result = Err(format!(
                    "stalled: the fast SUB received nothing for {} s (it has {got} messages; the PUB published {published})",
                    STALL.as_secs()
                ));
                break;
            }
        }
        if result.is_err() {
            break;
        }
    }
    fast.abort();
    for task in slow {
        task.abort();
    }
    let slow_got = slow_count.load(Ordering::Relaxed);
    if result.is_ok() && slow_got == 0 {
        result = Err("the slow SUBs never received a message".into());
    }
    ctx.messages(fast_count.load(Ordering::Relaxed) + slow_got);
    publisher.close().await;
    for sub in subscribers {
        sub.close().await;
    }
    result
}

/// Receives as fast as it can.
async fn read_fast(sub: Socket, count: Arc<AtomicU64>) {
    let mut batch = std::collections::VecDeque::new();
    while let Ok(n) = sub.recv_batch(&mut batch, 256).await {
        count.fetch_add(n as u64, Ordering::Relaxed);
        batch.clear();
    }
}

/// Reads one message per [`SLOW_READ`] for [`SLOW_PHASE`], then nothing for as
/// long, and again.
async fn read_slowly(sub: Socket, count: Arc<AtomicU64>) {
    loop {
        let phase = Instant::now();
        while phase.elapsed() < SLOW_PHASE {
            if sub.recv().await.is_err() {
                return;
            }
            count.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(SLOW_READ).await;
        }
        tokio::time::sleep(SLOW_PHASE).await;
    }
}
