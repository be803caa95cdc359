//! How pipes wake the socket that reads or writes them.
//!
//! This module sits below [`pipe`](crate::pipe) and knows nothing of it: it lists
//! whatever `P` the pipes hand it (`crate::pipe::Readiness` is `Readiness<Pipe>`), so
//! the two depend one way only. The type is resolved at compile time, so the lists
//! cost what they did before.

use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// One per socket: the inbound pipes (`P`) that have gained messages, and the
/// wake-ups for tasks blocked in `recv` or `send`.
pub(crate) struct Readiness<P> {
    ready: Mutex<Listed<P>>,
    /// Whether `ready` may be non-empty, so receivers skip its lock when it is not.
    pending: AtomicBool,
    /// Woken when an inbound pipe gains messages or a peer comes or goes.
    pub(crate) readable: Notify,
    /// Woken when an outbound pipe has room again or a peer comes or goes.
    pub(crate) writable: Notify,
    /// Counts the wake-ups of `writable`, so that a waiter can tell whether one came
    /// since it last looked (see [`send_changed_since`](Readiness::send_changed_since)).
    send_changes: AtomicU64,
    /// Receivers waiting on `readable` now (see [`receiver_waits`](Readiness::receiver_waits)).
    receivers_waiting: AtomicUsize,
}

/// A receiver counted as waiting until this is dropped.
pub(crate) struct WaitingReceiver<'a>(&'a AtomicUsize);

impl Drop for WaitingReceiver<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The pipes listed, and whether the socket has closed.
struct Listed<P> {
    pipes: Vec<Arc<P>>,
    /// Set by [`Readiness::close`]: nothing is listed any more.
    closed: bool,
}

impl<P> Default for Listed<P> {
    fn default() -> Self {
        Listed {
            pipes: Vec::new(),
            closed: false,
        }
    }
}

impl<P> Default for Readiness<P> {
    fn default() -> Self {
        Readiness {
            ready: Mutex::default(),
            pending: AtomicBool::new(false),
            readable: Notify::new(),
            writable: Notify::new(),
            send_changes: AtomicU64::new(0),
            receivers_waiting: AtomicUsize::new(0),
        }
    }
}

impl<P> Readiness<P> {
    /// Lists `pipe` as having messages and wakes a receiver.
    pub(crate) fn pipe_readable(&self, pipe: &Arc<P>) {
        let mut ready = self.ready.lock().unwrap_or_else(|e| e.into_inner());
        if ready.closed {
            return;
        }
        ready.pipes.push(Arc::clone(pipe));
        self.pending.store(true, Ordering::Release);
        self.readable.notify_one();
    }

    /// The socket has closed and will take no more pipes: forgets those listed and
    /// lists none from now on. A listed pipe holds this readiness (it is the pipe's
    /// reader end), so a pipe listed after the last receive, as closing a pipe lists
    /// it, would otherwise keep itself and this readiness alive for ever.
    pub(crate) fn close(&self) {
        let mut ready = self.ready.lock().unwrap_or_else(|e| e.into_inner());
        ready.closed = true;
        ready.pipes.clear();
    }

    /// Wakes every task waiting to send. This runs only when sending may have
    /// become possible (a pipe fell below its HWM, a peer came or went), not per
    /// message.
    pub(crate) fn wake_senders(&self) {
        // Counted before the wake-up: a waiter that registers after the wake-up
        // sees the count changed (see `send_changed_since`).
        self.send_changes.fetch_add(1, Ordering::AcqRel);
        self.writable.notify_waiters();
    }

    /// Wakes every task waiting in `send` or `recv`, to look at the socket again.
    pub(crate) fn wake_all(&self) {
        self.readable.notify_waiters();
        self.readable.notify_one();
        self.wake_senders();
    }

    /// How many times senders were woken so far: give it to
    /// [`send_changed_since`](Readiness::send_changed_since).
    pub(crate) fn send_changes(&self) -> u64 {
        self.send_changes.load(Ordering::Acquire)
    }

    /// Resolves once senders have been woken since `seen` was read from
    /// [`send_changes`](Readiness::send_changes) (at once if they were already).
    pub(crate) async fn send_changed_since(&self, seen: u64) {
        loop {
            let mut woken = pin!(self.writable.notified());
            woken.as_mut().enable();
            if self.send_changes() != seen {
                return;
            }
            woken.await;
        }
    }

    /// Counts a receiver as waiting on `readable` until the guard is dropped, so
    /// that others know to pass on a wake-up they do not need.
    pub(crate) fn receiver_waits(&self) -> WaitingReceiver<'_> {
        self.receivers_waiting.fetch_add(1, Ordering::AcqRel);
        WaitingReceiver(&self.receivers_waiting)
    }

    /// How many receivers wait on `readable` now.
    pub(crate) fn receivers_waiting(&self) -> usize {
        self.receivers_waiting.load(Ordering::Acquire)
    }

    /// Whether pipes may have been listed since the last
    /// [`take_ready`](Readiness::take_ready).
    pub(crate) fn has_pending(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// Moves the pipes listed since the last call into `into`.
    pub(crate) fn take_ready(&self, into: &mut Vec<Arc<P>>) {
        // A plain load first: this runs once per message received, and a
        // read-modify-write each time cost more than the rest of the lookup.
        if !self.pending.load(Ordering::Acquire) || !self.pending.swap(false, Ordering::AcqRel) {
            return;
        }
        let mut ready = self.ready.lock().unwrap_or_else(|e| e.into_inner());
        if !ready.pipes.is_empty() {
            into.append(&mut ready.pipes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A wait counts wake-ups from the moment `send_changes` was read, even those
    /// that come before it is first polled; and only those.
    #[tokio::test]
    async fn a_send_change_after_the_count_was_read_is_not_missed() {
        let readiness = Readiness::<u32>::default();
        let seen = readiness.send_changes();
        readiness.wake_senders();
        // Woken before the wait began: it resolves at once.
        readiness.send_changed_since(seen).await;
        let seen = readiness.send_changes();
        let wait = readiness.send_changed_since(seen);
        let mut wait = std::pin::pin!(wait);
        let looked = futures::FutureExt::now_or_never(wait.as_mut());
        assert!(looked.is_none(), "nothing changed since");
        readiness.wake_all();
        wait.await;
    }

    /// A closed readiness holds no pipe: those listed are let go, and later ones
    /// are not taken, so nothing keeps a pipe (or, through it, the readiness) alive.
    #[test]
    fn a_closed_readiness_lets_its_pipes_go() {
        let readiness = Readiness::<u32>::default();
        let before = Arc::new(1);
        let after = Arc::new(2);
        readiness.pipe_readable(&before);
        assert_eq!(Arc::strong_count(&before), 2, "listed while open");
        readiness.close();
        assert_eq!(Arc::strong_count(&before), 1, "let go at close");
        readiness.pipe_readable(&after);
        assert_eq!(Arc::strong_count(&after), 1, "not listed after close");
        let mut taken = Vec::new();
        readiness.take_ready(&mut taken);
        assert!(taken.is_empty());
    }
}
