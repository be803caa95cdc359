//! PULL: messages fair-queued from every peer. Sends nothing.

use purezmq_zmtp::{Message, SocketType};

use super::{Context, FairQueue, Policy};
use crate::error::Error;

#[derive(Default)]
pub(crate) struct Pull {
    inp: FairQueue,
}

impl Policy for Pull {
    const TYPE: SocketType = SocketType::Pull;

    fn recv(&mut self, cx: &Context<'_>) -> Result<Option<Message>, Error> {
        Ok(self.inp.recv(cx.readiness, false).map(|(_, m)| m))
    }

    fn fair_queue(&mut self) -> Option<&mut FairQueue> {
        Some(&mut self.inp)
    }
}
