//! Round-robin over the inbound pipes that have messages: where every socket type
//! takes the next message from.
//!
//! A pipe joins the rotation when it signals the socket's readiness (it went from
//! empty to non-empty while out of the rotation) and leaves it only when found empty.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use purezmq_zmtp::Message;

use crate::pipe::{Pipe, Readiness};

/// How many received messages the reader reports to a pipe at once (and at the
/// latest when it has received everything it took). As libzmq's low-water mark, this
/// keeps the reader from touching the counter the writer updates on every message:
/// on two threads that would move the counter's cache line back and forth each time.
const CONSUMED_BATCH: usize = 256;

/// An inbound pipe in the fair-queue rotation, with the messages taken from it.
struct Inbound {
    pipe: Arc<Pipe>,
    local: VecDeque<Message>,
    /// Messages received from `local` and not yet reported to the pipe as consumed.
    unconsumed: usize,
}

/// The inbound pipes that may hold messages, in turn.
#[derive(Default)]
pub(crate) struct FairQueue {
    rotation: VecDeque<Inbound>,
    ready_scratch: Vec<Arc<Pipe>>,
    /// Set while the socket polls without waiting in between (`recv` spinning on a
    /// multi-threaded runtime): a pipe found empty stays in the rotation, so its
    /// writer signals nothing for the next message and the reader finds it with a
    /// plain load. Whoever clears it looks once more before it waits, which takes
    /// the empty pipes out as usual (see [`FairQueue::set_polling`]).
    polling: bool,
}

impl FairQueue {
    /// Moves pipes that gained messages into the rotation.
    fn absorb_ready(&mut self, readiness: &Readiness) {
        readiness.take_ready(&mut self.ready_scratch);
        for pipe in self.ready_scratch.drain(..) {
            if !pipe.in_rotation.swap(true, Ordering::SeqCst) {
                self.rotation.push_back(Inbound {
                    pipe,
                    local: VecDeque::new(),
                    unconsumed: 0,
                });
            }
        }
    }

    /// Keeps (`true`) or takes out (`false`, the default) the pipes found empty.
    /// Polling must end with a `recv` after clearing it, before the socket waits for
    /// its readiness: a pipe left in the rotation signals nothing when it fills.
    pub(crate) fn set_polling(&mut self, polling: bool) {
        self.polling = polling;
    }

    /// The next message, fair-queued over the peers, with the peer it came from.
    /// `routed` puts the peer's routing id in front of it (ROUTER).
    pub(crate) fn recv(&mut self, readiness: &Readiness, routed: bool) -> Option<(u64, Message)> {
        self.absorb_ready(readiness);
        // The pipe in front is worked on where it lies: moving it out and back per
        // message cost more than the rest of the lookup.
        // While polling, each pipe is looked at once.
        let mut polls = self.rotation.len();
        while let Some(inbound) = self.rotation.front_mut() {
            if inbound.local.is_empty() && !(self.polling && inbound.pipe.len() == 0) {
                inbound.pipe.take_all(&mut inbound.local);
            }
            match inbound.local.pop_front() {
                Some(mut message) => {
                    inbound.unconsumed += 1;
                    if inbound.local.is_empty() || inbound.unconsumed == CONSUMED_BATCH {
                        inbound.pipe.consumed(inbound.unconsumed);
                        inbound.unconsumed = 0;
                    }
                    if routed {
                        message.push_front(inbound.pipe.routing_id());
                    }
                    let peer = inbound.pipe.peer;
                    // The next message comes from the next pipe.
                    if self.rotation.len() > 1 {
                        self.rotation.rotate_left(1);
                    }
                    return Some((peer, message));
                }
                None if self.polling => {
                    // Everything taken was reported consumed when `local` ran out,
                    // so the count is what waits in the pipe: nothing, or a message
                    // pushed since, which the lock is taken for next time.
                    polls -= 1;
                    if polls == 0 {
                        break;
                    }
                    self.rotation.rotate_left(1);
                }
                None => {
                    // Leaving the rotation: a writer that finds the flag set does not
                    // signal, so look once more after clearing it.
                    let Some(inbound) = self.rotation.pop_front() else {
                        break;
                    };
                    inbound.pipe.in_rotation.store(false, Ordering::SeqCst);
                    if inbound.pipe.has_queued()
                        && !inbound.pipe.in_rotation.swap(true, Ordering::SeqCst)
                    {
                        self.rotation.push_back(inbound);
                    }
                }
            }
        }
        None
    }

    /// Takes `pipe` out of the rotation, dropping what was taken from it and not yet
    /// received.
    pub(crate) fn discard(&mut self, pipe: &Arc<Pipe>) {
        self.rotation.retain(|inbound| {
            let keep = !Arc::ptr_eq(&inbound.pipe, pipe);
            if !keep {
                inbound
                    .pipe
                    .consumed(inbound.local.len() + inbound.unconsumed);
                inbound.pipe.in_rotation.store(false, Ordering::Release);
            }
            keep
        });
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::pipe::End;

    fn message(text: &'static str) -> Message {
        Message::from(text)
    }

    fn body(received: Option<(u64, Message)>) -> Option<Bytes> {
        received.map(|(_, m)| m.frames()[0].clone())
    }

    /// While polling, an empty pipe stays in the rotation and its writer lists
    /// nothing; the first plain `recv` after polling takes it out, so the next
    /// message written is listed with the readiness again and a waiting receiver
    /// would be woken.
    #[test]
    fn polling_keeps_empty_pipes_until_a_plain_recv() {
        let readiness = Arc::new(Readiness::default());
        let pipe = Pipe::new(
            1,
            0,
            false,
            End::socket(&readiness),
            End::task(),
            Bytes::new(),
        );
        let mut queue = FairQueue::default();
        pipe.push(message("a"));
        assert_eq!(
            body(queue.recv(&readiness, false)).as_deref(),
            Some(&b"a"[..])
        );

        queue.set_polling(true);
        assert!(queue.recv(&readiness, false).is_none());
        assert!(
            pipe.in_rotation.load(Ordering::SeqCst),
            "kept while polling"
        );
        pipe.push(message("b"));
        let mut listed = Vec::new();
        readiness.take_ready(&mut listed);
        assert!(listed.is_empty(), "a pipe in the rotation is not listed");
        assert_eq!(
            body(queue.recv(&readiness, false)).as_deref(),
            Some(&b"b"[..])
        );
        assert!(queue.recv(&readiness, false).is_none());

        queue.set_polling(false);
        assert!(queue.recv(&readiness, false).is_none());
        assert!(
            !pipe.in_rotation.load(Ordering::SeqCst),
            "taken out by a plain recv"
        );
        // Out of the rotation, the pipe is found again only if its push listed it.
        pipe.push(message("c"));
        assert_eq!(
            body(queue.recv(&readiness, false)).as_deref(),
            Some(&b"c"[..])
        );
    }

    /// Polling looks at every pipe in turn and keeps fair-queueing among them.
    #[test]
    fn polling_goes_round_every_pipe() {
        let readiness = Arc::new(Readiness::default());
        let pipes: Vec<_> = (0..3)
            .map(|peer| {
                Pipe::new(
                    peer,
                    0,
                    false,
                    End::socket(&readiness),
                    End::task(),
                    Bytes::new(),
                )
            })
            .collect();
        let mut queue = FairQueue::default();
        for pipe in &pipes {
            pipe.push(message("first"));
        }
        queue.set_polling(true);
        let mut peers = Vec::new();
        while let Some((peer, _)) = queue.recv(&readiness, false) {
            peers.push(peer);
        }
        peers.sort_unstable();
        assert_eq!(peers, [0, 1, 2]);
        pipes[2].push(message("late"));
        let received = queue.recv(&readiness, false);
        assert_eq!(
            received.map(|(peer, _)| peer),
            Some(2),
            "found past the empty ones"
        );
        assert!(queue.recv(&readiness, false).is_none());
    }
}
