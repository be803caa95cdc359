//! The socket loop: one ROUTER socket feeding a [`BrokerState`], a timer at its
//! next deadline, and its output sent back.
//!
//! Each turn receives a batch of up to [`BATCH`] messages, hands each to the state
//! with the time, runs the tick when its deadline has come, and sends everything
//! the state queued with `try_send_batch`. A ROUTER without ROUTER_MANDATORY never
//! waits: a message for a peer at its HWM, or for one that has gone, is dropped by
//! the socket, and no other peer waits for it. (ROUTER_MANDATORY would report a
//! gone peer at once, but it also makes a full pipe block the whole batch, so every
//! peer would wait for the slowest; the broker finds gone workers by heartbeat.)
//!
//! The counters are published to the [`BrokerHandle`](super::BrokerHandle) at most
//! every [`PUBLISH_EVERY`], and once more when the loop ends.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use purezmq::{Error, Message, Socket, TrySendError};
use tokio::sync::watch;

use super::state::BrokerState;
use super::stats::Stats;

/// The most messages received per turn, as the proxy's batches.
pub(super) const BATCH: usize = 1000;

/// How stale the published counters may be.
pub(super) const PUBLISH_EVERY: Duration = Duration::from_millis(10);

/// Runs the broker until `stop` says so (or its sender is dropped) or the socket
/// fails; then closes the socket.
pub(super) async fn run(
    socket: Socket,
    mut state: BrokerState,
    stats: Arc<Mutex<Stats>>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), Error> {
    let mut inbox: VecDeque<Message> = VecDeque::with_capacity(BATCH);
    let mut outbox: VecDeque<Message> = VecDeque::new();
    let mut published = Instant::now();
    let mut dirty = false;
    let outcome = loop {
        let deadline = state.next_deadline();
        let publish_at = dirty.then(|| published + PUBLISH_EVERY);
        let wake = match (deadline, publish_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        tokio::select! {
            biased;
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break Ok(());
                }
            }
            received = socket.recv_batch(&mut inbox, BATCH) => {
                if let Err(error) = received {
                    break Err(error);
                }
                let now = Instant::now();
                for message in inbox.drain(..) {
                    let frames = message.frames();
                    if let Some((peer, rest)) = frames.split_first() {
                        state.on_message(now, peer.clone(), rest);
                    }
                }
                dirty = true;
            }
            () = sleep_until(wake) => {}
        }
        let now = Instant::now();
        if state.next_deadline().is_some_and(|at| at <= now) {
            state.on_tick(now);
            dirty = true;
        }
        state.drain(&mut outbox);
        if let Err(error) = flush(&socket, &mut outbox) {
            break Err(error);
        }
        if dirty && now.saturating_duration_since(published) >= PUBLISH_EVERY {
            publish(&stats, &state);
            published = now;
            dirty = false;
        }
    };
    publish(&stats, &state);
    socket.close().await;
    outcome
}

/// Sends everything in `outbox`. A message the socket refuses for a reason of its
/// own is dropped with a log line; only a closed socket is an error.
fn flush(socket: &Socket, outbox: &mut VecDeque<Message>) -> Result<(), Error> {
    while !outbox.is_empty() {
        match socket.try_send_batch(outbox) {
            Ok(_) => {
                // Without ROUTER_MANDATORY a ROUTER never says WouldBlock; if it
                // did, what is left would wait for the next turn.
                if !outbox.is_empty() {
                    tracing::debug!(
                        "the ROUTER took only part of a batch; {} wait",
                        outbox.len()
                    );
                    break;
                }
            }
            Err(TrySendError {
                error: Error::Closed,
                ..
            }) => return Err(Error::Closed),
            Err(TrySendError { error, message }) => {
                tracing::debug!(
                    "the ROUTER refused a message of {} frame(s): {error}",
                    message.len()
                );
            }
        }
    }
    Ok(())
}

fn publish(stats: &Mutex<Stats>, state: &BrokerState) {
    let snapshot = state.stats();
    *stats.lock().unwrap_or_else(|e| e.into_inner()) = snapshot;
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}
