//! Round-robin over the peers that have room: how PUSH, DEALER, PAIR and REQ pick
//! where a message goes.

use std::sync::Arc;

use purezmq_zmtp::Message;

use super::would_block;
use crate::error::TrySendError;
use crate::pipe::Pipe;

/// The outbound pipes of every peer a message may be sent to, and whose turn is next.
#[derive(Default)]
pub(crate) struct LoadBalancer {
    pipes: Vec<(u64, Arc<Pipe>)>,
    next: usize,
}

impl LoadBalancer {
    /// Adds a peer at the end of the rotation.
    pub(crate) fn attach(&mut self, peer: u64, out: &Arc<Pipe>) {
        self.pipes.push((peer, Arc::clone(out)));
    }

    /// Removes a peer; the others keep their turns.
    pub(crate) fn detach(&mut self, peer: u64) {
        if let Some(i) = self.pipes.iter().position(|(p, _)| *p == peer) {
            self.pipes.remove(i);
            if self.next > i {
                self.next -= 1;
            }
        }
    }

    /// The next peer whose pipe is not at its high-water mark (not mute), and its
    /// pipe; the turn passes to the one after it.
    pub(crate) fn pick(&mut self) -> Option<(u64, &Arc<Pipe>)> {
        let n = self.pipes.len();
        for i in 0..n {
            let index = (self.next + i) % n;
            if !self.pipes[index].1.is_full() {
                self.next = (index + 1) % n;
                let (peer, pipe) = &self.pipes[index];
                return Some((*peer, pipe));
            }
        }
        None
    }

    /// Whether some peer's pipe is below its high-water mark: a message could be
    /// sent now (libzmq's `lb_t::has_out`). Without peers, no.
    pub(crate) fn has_out(&self) -> bool {
        self.pipes.iter().any(|(_, pipe)| !pipe.is_full())
    }

    /// Sends to the next peer with room, or gives the message back with
    /// [`Error::WouldBlock`](crate::Error::WouldBlock) when every peer is mute.
    pub(crate) fn send(&mut self, message: Message) -> Result<(), TrySendError> {
        match self.pick() {
            Some((_, pipe)) => {
                pipe.push(message);
                Ok(())
            }
            None => would_block(message),
        }
    }

    /// The pipe when there is exactly one peer.
    pub(crate) fn only(&self) -> Option<&Arc<Pipe>> {
        match self.pipes.as_slice() {
            [(_, pipe)] => Some(pipe),
            _ => None,
        }
    }
}
