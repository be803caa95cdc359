//! The high-water mark at both ends: PUSH blocked at SNDHWM against a PULL that
//! reads fast, then slowly, then not at all, and resumes (over tcp, ipc and inproc,
//! every message delivered once, in order); and a DEALER and a ROUTER each sending
//! to the other at full speed while the other reads the same way: the DEALER waits
//! at its HWM and loses nothing, the ROUTER drops at its HWM and never reorders.
//!
//! One iteration: 100 messages received.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use purezmq::{Message, Options, Socket, SocketType};

use super::context::{Context, STALL, failed};

/// SNDHWM and RCVHWM of every socket here, in messages.
const HWM: usize = 50;
/// A reader's phases, each this long: fast, slow, stopped.
const PHASE: Duration = Duration::from_millis(700);
/// How a slow reader paces itself.
const SLOW_READ: Duration = Duration::from_millis(1);
/// Bytes after the sequence number in each message.
const PADDING: usize = 200;

fn options() -> Options {
    Options {
        linger: Some(Duration::ZERO),
        sndhwm: HWM,
        rcvhwm: HWM,
        ..Options::default()
    }
}

/// How a reader treats the sequence numbers it receives.
#[derive(Clone, Copy)]
enum Order {
    /// Every number once, in order: the sender waits at its HWM.
    Exact,
    /// Rising, with gaps: the sender drops at its HWM.
    Rising,
}

/// Runs the scenario until the deadline.
pub async fn run(ctx: &Context) -> Result<(), String> {
    let received = Arc::new(AtomicU64::new(0));
    let mut sockets = Vec::new();
    let mut tasks = tokio::task::JoinSet::new();
    let ipc = ctx.ipc("pull");
    let inproc = format!("inproc://soak-hwm-{}", std::process::id());
    for endpoint in ["tcp://127.0.0.1:*", &ipc, &inproc] {
        let pull = Socket::with_options(SocketType::Pull, options()).map_err(failed("PULL"))?;
        pull.bind(endpoint).map_err(failed("binding"))?;
        let push = Socket::with_options(SocketType::Push, options()).map_err(failed("PUSH"))?;
        push.connect(&pull.last_endpoint())
            .map_err(failed("connecting"))?;
        let name = format!(
            "PUSH->PULL over {}",
            &endpoint[..endpoint.find(':').unwrap_or(0)]
        );
        tasks.spawn(send_all(push.clone(), None, name.clone()));
        tasks.spawn(read_in_phases(
            pull.clone(),
            0,
            Order::Exact,
            name,
            Arc::clone(&received),
        ));
        sockets.extend([pull, push]);
    }

    let router = Socket::with_options(SocketType::Router, options()).map_err(failed("ROUTER"))?;
    router
        .bind("tcp://127.0.0.1:*")
        .map_err(failed("binding"))?;
    let dealer_options = Options {
        routing_id: Bytes::from_static(b"dealer"),
        ..options()
    };
    let dealer =
        Socket::with_options(SocketType::Dealer, dealer_options).map_err(failed("DEALER"))?;
    dealer
        .connect(&router.last_endpoint())
        .map_err(failed("connecting"))?;
    // The ROUTER knows the DEALER once the DEALER's first message arrives.
    tasks.spawn(send_all(dealer.clone(), None, "DEALER->ROUTER".into()));
    tasks.spawn(read_in_phases(
        router.clone(),
        1,
        Order::Exact,
        "DEALER->ROUTER".into(),
        Arc::clone(&received),
    ));
    tasks.spawn(send_all(
        router.clone(),
        Some(Bytes::from_static(b"dealer")),
        "ROUTER->DEALER".into(),
    ));
    tasks.spawn(read_in_phases(
        dealer.clone(),
        0,
        Order::Rising,
        "ROUTER->DEALER".into(),
        Arc::clone(&received),
    ));
    sockets.extend([router, dealer]);

    let mut counted = 0;
    let mut result = Ok(());
    while ctx.running() {
        tokio::select! {
            done = tasks.join_next() => {
                result = match done {
                    Some(Ok(Err(e))) => Err(e),
                    Some(Err(e)) => Err(format!("a task failed: {e}")),
                    _ => Err("a task ended early".into()),
                };
                break;
            }
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
        let now = received.load(Ordering::Relaxed);
        while counted + 100 <= now {
            counted += 100;
            ctx.iteration();
        }
    }
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    ctx.messages(received.load(Ordering::Relaxed));
    for socket in sockets {
        socket.close().await;
    }
    result
}

/// Sends numbered messages (to `to`, for a ROUTER) as fast as the socket takes them.
async fn send_all(socket: Socket, to: Option<Bytes>, name: String) -> Result<(), String> {
    let padding = Bytes::from(vec![1u8; PADDING]);
    let mut sequence: u64 = 0;
    loop {
        sequence += 1;
        let mut message = Message::new();
        if let Some(to) = &to {
            message.push(to.clone());
        }
        message.push(sequence.to_le_bytes().to_vec());
        message.push(padding.clone());
        socket
            .send(message)
            .await
            .map_err(|e| format!("{name}: sending: {e}"))?;
        if sequence.is_multiple_of(256) {
            // A ROUTER dropping at its HWM never waits: let the others run.
            tokio::task::yield_now().await;
        }
    }
}

/// Reads fast for a [`PHASE`], slowly for one, not at all for one, and again,
/// checking the sequence numbers. `skip` frames come before the number (a ROUTER's
/// routing id).
async fn read_in_phases(
    socket: Socket,
    skip: usize,
    order: Order,
    name: String,
    received: Arc<AtomicU64>,
) -> Result<(), String> {
    let mut last: u64 = 0;
    let mut batch = VecDeque::new();
    loop {
        for phase in ["fast", "slow", "stopped"] {
            let started = Instant::now();
            while started.elapsed() < PHASE {
                let stalled = || {
                    format!(
                        "stalled: {name} received nothing in its {phase} phase for {} s",
                        STALL.as_secs()
                    )
                };
                match phase {
                    "fast" => {
                        let wait = socket.recv_batch(&mut batch, 256);
                        tokio::time::timeout(STALL, wait)
                            .await
                            .map_err(|_| stalled())?
                            .map_err(|e| format!("{name}: receiving: {e}"))?;
                    }
                    "slow" => {
                        let message = tokio::time::timeout(STALL, socket.recv())
                            .await
                            .map_err(|_| stalled())?
                            .map_err(|e| format!("{name}: receiving: {e}"))?;
                        batch.push_back(message);
                        tokio::time::sleep(SLOW_READ).await;
                    }
                    _ => tokio::time::sleep(PHASE).await,
                }
                for message in batch.drain(..) {
                    let number = message
                        .frames()
                        .get(skip)
                        .and_then(|frame| <[u8; 8]>::try_from(&frame[..]).ok())
                        .map(u64::from_le_bytes)
                        .ok_or_else(|| {
                            format!(
                                "{name}: a message without its sequence number: {:?}",
                                message.frames()
                            )
                        })?;
                    let in_order = match order {
                        Order::Exact => number == last + 1,
                        Order::Rising => number > last,
                    };
                    if !in_order {
                        return Err(format!(
                            "{name}: message {number} came after {last} ({})",
                            match order {
                                Order::Exact => "every message must arrive once, in order",
                                Order::Rising => "dropping at the HWM must not reorder",
                            }
                        ));
                    }
                    last = number;
                    received.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}
