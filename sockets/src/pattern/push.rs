//! PUSH: each message to the next peer with room, round-robin; waits (would block)
//! while every peer is mute. Receives nothing.

use std::sync::Arc;

use purezmq_zmtp::{Message, SocketType};

use super::{Context, LoadBalancer, Policy};
use crate::error::TrySendError;
use crate::options::Options;
use crate::peer::Peer;
use crate::pipe::Pipe;

#[derive(Default)]
pub(crate) struct Push {
    out: LoadBalancer,
}

impl Policy for Push {
    const TYPE: SocketType = SocketType::Push;

    fn attach(&mut self, id: u64, peer: &Peer) {
        self.out.attach(id, &peer.out);
    }

    fn detach(&mut self, id: u64, _peer: &Peer, _options: &Options) {
        self.out.detach(id);
    }

    fn send(&mut self, _cx: &Context<'_>, message: Message) -> Result<(), TrySendError> {
        self.out.send(message)
    }

    fn has_out(&self, _cx: &Context<'_>) -> bool {
        self.out.has_out()
    }

    fn single_out(&self) -> Option<&Arc<Pipe>> {
        self.out.only()
    }
}
