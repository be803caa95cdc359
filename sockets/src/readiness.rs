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
    ready: Mutex<Listed<P>>,
    /// Whether `ready` may be non-empty, so receivers skip its lock when it is not.
    pending: AtomicBool,
    /// Woken when an inbound pipe gains messages or a peer comes or goes.
    pub(crate) readable: Notify,
    /// Woken when an outbound pipe has room again or a peer comes or goes.
    pub(crate) writable: Notify,
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
        if !ready.pipes.is_empty() {
            into.append(&mut ready.pipes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
