//! Messages taken off a socket ahead of `recv`, and `ZMQ_FD`: a descriptor that
//! becomes readable when the socket's events may have changed.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::context::RUNTIME;

/// Whole messages taken off the socket by `poll`, or by the watcher behind
/// `get_fd`, to be received first.
#[derive(Default)]
pub(crate) struct Inbox {
    messages: Mutex<VecDeque<purezmq::Message>>,
    /// Whether `messages` may be non-empty, so receives skip its lock when not.
    filled: AtomicBool,
    /// Woken when messages are added.
    arrived: Notify,
    /// Woken when the inbox becomes empty.
    drained: Notify,
    /// Woken when the socket sent, which may let it receive (a REQ).
    sent: Notify,
    /// The `ZMQ_FD` pair, once asked for.
    signal: OnceLock<Signal>,
    /// Ends the watcher when the socket is dropped.
    closing: CancellationToken,
    watcher: Mutex<Option<JoinHandle<()>>>,
}

struct Signal {
    /// What `get_fd` gives: readable when events may have changed.
    reader: UnixStream,
    writer: UnixStream,
}

impl Inbox {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<purezmq::Message>> {
        self.messages.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn push(&self, taken: VecDeque<purezmq::Message>) {
        if taken.is_empty() {
            return;
        }
        {
            // Under the lock, so that `filled` is false exactly when it is empty.
            let mut messages = self.lock();
            messages.extend(taken);
            self.filled.store(true, Ordering::Release);
        }
        self.arrived.notify_waiters();
        self.ring();
    }

    pub(crate) fn pop(&self) -> Option<purezmq::Message> {
        if !self.filled.load(Ordering::Acquire) {
            return None;
        }
        let mut messages = self.lock();
        let message = messages.pop_front();
        if messages.is_empty() {
            self.filled.store(false, Ordering::Release);
            self.drained.notify_waiters();
        }
        message
    }

    pub(crate) fn is_empty(&self) -> bool {
        !self.filled.load(Ordering::Acquire)
    }

    /// Waits until messages may have been added.
    pub(crate) async fn wait_arrival(&self) {
        let mut arrived = pin!(self.arrived.notified());
        arrived.as_mut().enable();
        if self.is_empty() {
            arrived.await;
        }
    }

    /// Whether a watcher takes messages off the socket (after `get_fd`): then
    /// waiting receives must wait on the inbox, not on the socket.
    pub(crate) fn watched(&self) -> bool {
        self.signal.get().is_some()
    }

    /// Makes the `ZMQ_FD` descriptor readable.
    pub(crate) fn ring(&self) {
        if let Some(signal) = self.signal.get() {
            // A full buffer is readable already; nothing is lost by failing.
            let _ = (&signal.writer).write(&[1]);
        }
    }

    /// Empties the `ZMQ_FD` descriptor: `ZMQ_EVENTS` has been read.
    pub(crate) fn reset(&self) {
        if let Some(signal) = self.signal.get() {
            let mut buf = [0; 64];
            while matches!((&signal.reader).read(&mut buf), Ok(n) if n > 0) {}
        }
    }

    /// The socket sent a message. Only the watcher waits for that: without one, a
    /// send pays nothing here (waking a `Notify` takes its lock).
    pub(crate) fn on_sent(&self) {
        if self.watched() {
            self.sent.notify_waiters();
            self.ring();
        }
    }

    /// The `ZMQ_FD` descriptor, starting the watcher the first time.
    pub(crate) fn fd(self: &Arc<Self>, socket: &purezmq::Socket) -> std::io::Result<RawFd> {
        if let Some(signal) = self.signal.get() {
            return Ok(signal.reader.as_raw_fd());
        }
        let (reader, writer) = UnixStream::pair()?;
        reader.set_nonblocking(true)?;
        writer.set_nonblocking(true)?;
        let fd = reader.as_raw_fd();
        if self.signal.set(Signal { reader, writer }).is_err() {
            // Sockets are not shared between threads: no one else sets it.
            return Ok(self.signal.get().map_or(fd, |s| s.reader.as_raw_fd()));
        }
        let watcher = RUNTIME.spawn(watch(Arc::clone(self), socket.clone()));
        *self.watcher.lock().unwrap_or_else(|e| e.into_inner()) = Some(watcher);
        Ok(fd)
    }

    /// Stops the watcher, if any; returns it, to be awaited before the socket is
    /// closed.
    pub(crate) fn close(&self) -> Option<JoinHandle<()>> {
        self.closing.cancel();
        self.watcher
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }
}

/// Takes one message at a time off `socket` whenever the inbox is empty, ringing
/// the descriptor each time; and rings it when the socket may have become
/// writable.
async fn watch(inbox: Arc<Inbox>, socket: purezmq::Socket) {
    let writable = async {
        let mut changed = socket.writable_changed();
        loop {
            changed.await;
            // Made before ringing: a change from now on is not missed.
            changed = socket.writable_changed();
            // Becoming full is the owner's doing (its sends); only room coming
            // back is news.
            if socket.can_send() {
                inbox.ring();
            }
        }
    };
    let run = async {
        loop {
            loop {
                let mut drained = pin!(inbox.drained.notified());
                drained.as_mut().enable();
                if inbox.is_empty() {
                    break;
                }
                drained.await;
            }
            let mut sent = pin!(inbox.sent.notified());
            sent.as_mut().enable();
            let mut taken = VecDeque::new();
            match socket.recv_batch(&mut taken, 1).await {
                Ok(_) => inbox.push(taken),
                Err(purezmq::Error::Closed) => return,
                // Cannot receive now (a REQ before its request): wait for a send.
                Err(_) => sent.await,
            }
        }
    };
    tokio::select! {
        () = inbox.closing.cancelled() => {}
        () = run => {}
        () = writable => {}
    }
}
