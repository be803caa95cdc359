//! Pipes: the queues between a socket and each of its peers.
//!
//! A pipe carries messages one way. Its writer is either an engine (messages read from
//! the wire) or a socket (messages the application sends); its reader is the other.
//! Over inproc both ends are sockets, and one pipe joins them with no engine between.
//!
//! Both ends work in batches, so the pipe's lock is taken once per batch:
//! - the writer appends everything it has under one lock;
//! - the reader moves the whole queue into a deque of its own and pops from that
//!   without locking until it is empty.
//!
//! The reader is woken only when the queue goes from empty to non-empty: while a queue
//! is busy its reader is already running and will find the new work.
//!
//! The high-water mark counts messages written and not yet consumed by the reader.
//! The writer checks [`Pipe::is_full`] before writing; the reader reports what it
//! consumed with [`Pipe::consumed`], which wakes a waiting writer when the count falls
//! below the mark. The socket type decides what a full pipe means: drop or wait.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use bytes::{BufMut, Bytes, BytesMut};

use futures::task::AtomicWaker;
use purezmq_zmtp::Message;

use crate::readiness;

/// How pipes wake the socket at their end: the socket's list of pipes with messages,
/// and its blocked senders and receivers.
pub(crate) type Readiness = readiness::Readiness<Pipe>;

/// Who is at one end of a pipe, and so how to wake it.
pub(crate) enum End {
    /// An engine task, woken through its waker.
    Task(AtomicWaker),
    /// A socket: an inbound pipe that gains messages is listed in the socket's
    /// readiness; a pipe with room again wakes the socket's blocked senders. Over
    /// inproc a connect may come before its bind: that end's socket is set later.
    Socket(OnceLock<Arc<Readiness>>),
}

impl End {
    pub(crate) fn task() -> End {
        End::Task(AtomicWaker::new())
    }

    pub(crate) fn socket(readiness: &Arc<Readiness>) -> End {
        End::Socket(OnceLock::from(Arc::clone(readiness)))
    }

    /// A socket end to be set with [`Pipe::set_reader`] or [`Pipe::set_writer`].
    pub(crate) fn later() -> End {
        End::Socket(OnceLock::new())
    }
}

/// One direction between a socket and one peer.
pub(crate) struct Pipe {
    queue: Mutex<VecDeque<Message>>,
    /// Messages written and not yet consumed.
    len: AtomicUsize,
    /// The high-water mark in messages; 0 for none. An inproc pipe made before its
    /// bind learns the binder's share when the bind comes.
    hwm: AtomicUsize,
    /// Keep only the newest message (`ZMQ_CONFLATE`).
    conflate: bool,
    reader: End,
    writer: End,
    /// Set when either end is gone for good.
    closed: AtomicBool,
    /// Set when the reader no longer wants what is written (a local disconnect):
    /// writes from then on are dropped.
    discarding: AtomicBool,
    /// Whether the reading socket holds this pipe in its fair-queue rotation. Only
    /// the reading socket touches it, under its own lock.
    pub(crate) in_rotation: AtomicBool,
    /// Set by the writing socket, under its lock, while it pushes a message it will
    /// write to the connection itself (the direct path): the push does not wake the
    /// reading engine, and the writer wakes it only if it cannot write.
    quiet: AtomicBool,
    /// The peer this pipe belongs to, in the reading or writing socket.
    pub(crate) peer: u64,
    /// For a ROUTER's inbound pipe: the routing id of the peer it comes from.
    routing_id: OnceLock<Bytes>,
}

impl Pipe {
    pub(crate) fn new(
        peer: u64,
        hwm: usize,
        conflate: bool,
        reader: End,
        writer: End,
        routing_id: Bytes,
    ) -> Arc<Pipe> {
        let id = OnceLock::new();
        if !routing_id.is_empty() {
            let _ = id.set(routing_id);
        }
        Arc::new(Pipe {
            routing_id: id,
            queue: Mutex::new(VecDeque::new()),
            len: AtomicUsize::new(0),
            hwm: AtomicUsize::new(hwm),
            conflate,
            reader,
            writer,
            closed: AtomicBool::new(false),
            discarding: AtomicBool::new(false),
            in_rotation: AtomicBool::new(false),
            quiet: AtomicBool::new(false),
            peer,
        })
    }

    /// The routing id of the peer this inbound pipe comes from (ROUTER).
    pub(crate) fn routing_id(&self) -> Bytes {
        self.routing_id.get().cloned().unwrap_or_default()
    }

    /// Sets the routing id once it is known.
    pub(crate) fn set_routing_id(&self, routing_id: Bytes) {
        let _ = self.routing_id.set(routing_id);
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<Message>> {
        // A panic while holding the lock leaves a queue that is still well formed.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Messages written and not yet consumed.
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// Whether the high-water mark is reached: the peer is mute.
    pub(crate) fn is_full(&self) -> bool {
        let hwm = self.hwm.load(Ordering::Acquire);
        hwm != 0 && !self.conflate && self.len() >= hwm
    }

    /// How many more messages fit under the HWM (no limit without one, or when
    /// conflating).
    pub(crate) fn room(&self) -> usize {
        let hwm = self.hwm.load(Ordering::Acquire);
        if hwm == 0 || self.conflate {
            return usize::MAX;
        }
        hwm.saturating_sub(self.len())
    }

    /// Changes the high-water mark (0 for none), waking a waiting writer if that
    /// makes room.
    pub(crate) fn set_hwm(&self, hwm: usize) {
        self.hwm.store(hwm, Ordering::Release);
        if hwm == 0 || self.len() < hwm {
            self.wake_writer();
        }
    }

    /// Marks the pipe closed and wakes both ends so they notice.
    pub(crate) fn close(self: &Arc<Self>) {
        self.closed.store(true, Ordering::Release);
        self.wake_reader();
        self.wake_writer();
    }

    /// Writes one message, whatever the high-water mark says (check
    /// [`is_full`](Self::is_full) first where the mark applies).
    pub(crate) fn push(self: &Arc<Self>, message: Message) {
        let was_empty = {
            let mut queue = self.lock();
            if self.discarding.load(Ordering::Acquire) {
                return;
            }
            let was_empty = queue.is_empty();
            if self.conflate {
                let dropped = queue.len();
                queue.clear();
                self.len.fetch_sub(dropped, Ordering::AcqRel);
            }
            queue.push_back(message);
            self.len.fetch_add(1, Ordering::AcqRel);
            was_empty
        };
        if was_empty && !self.quiet.load(Ordering::Relaxed) {
            self.wake_reader();
        }
    }

    /// While `quiet`, pushes do not wake the reader: the writer takes over doing so
    /// (see [`crate::direct::Link::flush_or_wake`]). Only the writing socket calls
    /// this, under its lock, so no other push sees the flag.
    pub(crate) fn set_quiet(&self, quiet: bool) {
        self.quiet.store(quiet, Ordering::Relaxed);
    }

    /// Writes every message of `batch`, leaving it empty.
    pub(crate) fn push_batch(self: &Arc<Self>, batch: &mut VecDeque<Message>) {
        if batch.is_empty() {
            return;
        }
        let was_empty = {
            let mut queue = self.lock();
            if self.discarding.load(Ordering::Acquire) {
                batch.clear();
                return;
            }
            let was_empty = queue.is_empty();
            if self.conflate {
                self.len.fetch_sub(queue.len(), Ordering::AcqRel);
                queue.clear();
                queue.extend(batch.pop_back());
                batch.clear();
                self.len.fetch_add(1, Ordering::AcqRel);
            } else {
                self.len.fetch_add(batch.len(), Ordering::AcqRel);
                if queue.is_empty() {
                    std::mem::swap(&mut *queue, batch);
                } else {
                    queue.append(batch);
                }
            }
            was_empty
        };
        if was_empty {
            self.wake_reader();
        }
    }

    /// Moves every written message to the back of `into`. Returns how many moved. The
    /// messages still count against the high-water mark until
    /// [`consumed`](Self::consumed).
    pub(crate) fn take_all(&self, into: &mut VecDeque<Message>) -> usize {
        let mut queue = self.lock();
        let n = queue.len();
        if into.is_empty() {
            std::mem::swap(&mut *queue, into);
        } else {
            into.append(&mut queue);
        }
        n
    }

    /// Drops every message written and not yet taken, and every message written
    /// from now on.
    pub(crate) fn discard(&self) {
        let dropped = {
            let mut queue = self.lock();
            self.discarding.store(true, Ordering::Release);
            let n = queue.len();
            queue.clear();
            n
        };
        self.consumed(dropped);
    }

    /// Drops every message written and not yet taken.
    pub(crate) fn clear(&self) {
        let dropped = {
            let mut queue = self.lock();
            let n = queue.len();
            queue.clear();
            n
        };
        self.consumed(dropped);
    }

    /// The reader has consumed `n` messages; wakes a waiting writer when that makes
    /// room.
    pub(crate) fn consumed(&self, n: usize) {
        if n == 0 {
            return;
        }
        let before = self.len.fetch_sub(n, Ordering::AcqRel);
        let hwm = self.hwm.load(Ordering::Acquire);
        if hwm != 0 && before >= hwm && before - n < hwm {
            self.wake_writer();
        }
    }

    /// Registers the engine that reads this pipe, before it looks for messages.
    pub(crate) fn register_reader(&self, waker: &std::task::Waker) {
        if let End::Task(w) = &self.reader {
            w.register(waker);
        }
    }

    /// Registers the engine that writes this pipe, before it checks for room.
    pub(crate) fn register_writer(&self, waker: &std::task::Waker) {
        if let End::Task(w) = &self.writer {
            w.register(waker);
        }
    }

    /// Sets the socket that reads this pipe, made with [`End::later`], and lists the
    /// pipe with it if messages wait already.
    pub(crate) fn set_reader(self: &Arc<Self>, readiness: &Arc<Readiness>) {
        if let End::Socket(slot) = &self.reader {
            let _ = slot.set(Arc::clone(readiness));
        }
        if !self.lock().is_empty() {
            self.wake_reader();
        }
    }

    /// Sets the socket that writes this pipe, made with [`End::later`].
    pub(crate) fn set_writer(&self, readiness: &Arc<Readiness>) {
        if let End::Socket(slot) = &self.writer {
            let _ = slot.set(Arc::clone(readiness));
        }
    }

    /// Whether messages wait in the shared queue.
    pub(crate) fn has_queued(&self) -> bool {
        !self.lock().is_empty()
    }

    /// Wakes the reader, as a push to an empty pipe does.
    pub(crate) fn wake_reader(self: &Arc<Self>) {
        match &self.reader {
            End::Task(waker) => waker.wake(),
            End::Socket(slot) => {
                // A pipe in the reader's rotation will be looked at again: the reader
                // takes it out only after finding it empty, and then checks once more
                // under the queue's lock (see `FairQueue::recv` in `pattern/fair_queue.rs`).
                if self.in_rotation.load(Ordering::SeqCst) {
                    return;
                }
                if let Some(readiness) = slot.get() {
                    readiness.pipe_readable(self);
                }
            }
        }
    }

    fn wake_writer(&self) {
        match &self.writer {
            End::Task(waker) => waker.wake(),
            End::Socket(slot) => {
                if let Some(readiness) = slot.get() {
                    readiness.wake_senders();
                }
            }
        }
    }
}

/// A subscription as it travels in a pipe: `0x01 topic` (subscribe) or `0x00 topic`
/// (cancel). A SUB or XSUB engine sends these as SUBSCRIBE and CANCEL commands, and
/// turns the peer's commands back into them.
pub(crate) fn subscription_message(flag: u8, topic: &[u8]) -> Message {
    let mut body = BytesMut::with_capacity(topic.len() + 1);
    body.put_u8(flag);
    body.put_slice(topic);
    Message::from(vec![body.freeze()])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(text: &'static str) -> Message {
        let mut m = Message::new();
        m.push(Bytes::from_static(text.as_bytes()));
        m
    }

    #[test]
    fn batches_keep_order_and_count_until_consumed() {
        let pipe = Pipe::new(1, 3, false, End::task(), End::task(), Bytes::new());
        pipe.push(message("a"));
        let mut batch: VecDeque<_> = [message("b"), message("c")].into();
        pipe.push_batch(&mut batch);
        assert!(batch.is_empty());
        assert!(pipe.is_full());
        let mut local = VecDeque::new();
        assert_eq!(pipe.take_all(&mut local), 3);
        assert!(pipe.is_full(), "taken is not consumed");
        pipe.consumed(1);
        assert!(!pipe.is_full());
        let texts: Vec<_> = local.iter().map(|m| m.frames()[0].clone()).collect();
        assert_eq!(texts, ["a", "b", "c"]);
    }

    #[test]
    fn conflate_keeps_only_the_newest() {
        let pipe = Pipe::new(1, 1, true, End::task(), End::task(), Bytes::new());
        pipe.push(message("a"));
        let mut batch: VecDeque<_> = [message("b"), message("c")].into();
        pipe.push_batch(&mut batch);
        pipe.push(message("d"));
        assert!(!pipe.is_full(), "a conflating pipe is never mute");
        let mut local = VecDeque::new();
        assert_eq!(pipe.take_all(&mut local), 1);
        assert_eq!(local[0].frames()[0], "d");
        assert_eq!(pipe.len(), 1);
    }

    #[test]
    fn zero_hwm_is_unlimited() {
        let pipe = Pipe::new(1, 0, false, End::task(), End::task(), Bytes::new());
        for _ in 0..10_000 {
            pipe.push(message("x"));
        }
        assert!(!pipe.is_full());
    }
}
