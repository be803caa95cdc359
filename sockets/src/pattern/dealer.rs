//! DEALER: sends round-robin to the peers with room (waiting while all are mute),
//! receives fair-queued from all. No envelopes: what the application sends is what
//! goes on the wire.

use std::sync::Arc;

use purezmq_zmtp::{Message, SocketType};

use super::{Context, FairQueue, LoadBalancer, Policy};
use crate::error::{Error, TrySendError};
use crate::options::Options;
use crate::peer::Peer;
use crate::pipe::Pipe;

#[derive(Default)]
pub(crate) struct Dealer {
    out: LoadBalancer,
    inp: FairQueue,
}

impl Policy for Dealer {
    const TYPE: SocketType = SocketType::Dealer;

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

    fn recv(&mut self, cx: &Context<'_>) -> Result<Option<Message>, Error> {
        Ok(self.inp.recv(cx.readiness, false).map(|(_, m)| m))
    }

    fn fair_queue(&mut self) -> Option<&mut FairQueue> {
        Some(&mut self.inp)
    }

    fn single_out(&self) -> Option<&Arc<Pipe>> {
        self.out.only()
    }
}
