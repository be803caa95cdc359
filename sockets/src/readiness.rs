//! How pipes wake the socket that reads or writes them.
//!
//! This module sits below [`pipe`](crate::pipe) and knows nothing of it: it lists
//! whatever `P` the pipes hand it (`crate::pipe::Readiness` is `Readiness<Pipe>`), so
//! the two depend one way only. The type is resolved at compile time, so the lists
//! cost what they did before.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// One per socket: the inbound pipes (`P`) that have gained messages, and the
/// wake-ups for tasks blocked in `recv` or `send`.
pub(crate) struct Readiness<P> {
    ready: Mutex<Vec<Arc<P>>>,
    /// Whether `ready` may be non-empty, so receivers skip its lock when it is not.
    pending: AtomicBool,
    /// Woken when an inbound pipe gains messages or a peer comes or goes.
    pub(crate) readable: Notify,
    /// Woken when an outbound pipe has room again or a peer comes or goes.
    pub(crate) writable: Notify,
}

impl<P> Default for Readiness<P> {
    fn default() -> Self {
        Readiness {
            ready: Mutex::default(),
            pending: AtomicBool::new(false),
            readable: Notify::new(),
            writable: Notify::new(),
        }
    }
}

impl<P> Readiness<P> {
    /// Lists `pipe` as having messages and wakes a receiver.
    pub(crate) fn pipe_readable(&self, pipe: &Arc<P>) {
        self.ready
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::clone(pipe));
        self.pending.store(true, Ordering::Release);
        self.readable.notify_one();
    }

    /// Wakes every task waiting to send.
    pub(crate) fn wake_senders(&self) {
        self.writable.notify_waiters();
    }

    /// Wakes every task waiting in `send` or `recv`, to look at the socket again.
    pub(crate) fn wake_all(&self) {
        self.readable.notify_waiters();
        self.readable.notify_one();
        self.writable.notify_waiters();
    }

    /// Moves the pipes listed since the last call into `into`.
    pub(crate) fn take_ready(&self, into: &mut Vec<Arc<P>>) {
        // A plain load first: this runs once per message received, and a
        // read-modify-write each time cost more than the rest of the lookup.
        if !self.pending.load(Ordering::Acquire) || !self.pending.swap(false, Ordering::AcqRel) {
            return;
        }
        let mut ready = self.ready.lock().unwrap_or_else(|e| e.into_inner());
        if !ready.is_empty() {
            into.append(&mut ready);
        }
    }
}
