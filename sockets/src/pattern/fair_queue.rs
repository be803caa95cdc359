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

    /// The next message, fair-queued over the peers, with the peer it came from.
    /// `routed` puts the peer's routing id in front of it (ROUTER).
    pub(crate) fn recv(&mut self, readiness: &Readiness, routed: bool) -> Option<(u64, Message)> {
        self.absorb_ready(readiness);
        // The pipe in front is worked on where it lies: moving it out and back per
        // message cost more than the rest of the lookup.
        while let Some(inbound) = self.rotation.front_mut() {
            if inbound.local.is_empty() {
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

    /// Whether a pipe is still in the rotation: it may hold messages.
    pub(crate) fn may_have_more(&self) -> bool {
        !self.rotation.is_empty()
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

    /// Each pipe in turn gives one message, however many it holds, and a pipe that
    /// runs dry leaves the turn to the others.
    #[test]
    fn pipes_take_turns_one_message_each() {
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
        for (i, pipe) in pipes.iter().enumerate() {
            for _ in 0..=i {
                pipe.push(Message::from("m"));
            }
        }
        let mut queue = FairQueue::default();
        let mut peers = Vec::new();
        while let Some((peer, _)) = queue.recv(&readiness, false) {
            peers.push(peer);
        }
        assert_eq!(peers, [0, 1, 2, 1, 2, 2]);
    }
}
