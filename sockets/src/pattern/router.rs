//! ROUTER: every received message gets its peer's routing id in front; a sent
//! message's first frame names the peer it goes to. Unroutable messages, and
//! messages for a mute peer, are dropped, or refused with ROUTER_MANDATORY.

use std::sync::Arc;

use purezmq_zmtp::{Message, SocketType};

use super::{Context, FairQueue, Policy, RoutingTable, refuse, would_block};
use crate::error::{Error, TrySendError};
use crate::options::Options;
use crate::peer::Peer;

pub(crate) struct Router {
    inp: FairQueue,
    routes: RoutingTable,
}

impl Router {
    pub(crate) fn new() -> Router {
        Router {
            inp: FairQueue::default(),
            routes: RoutingTable::new(),
        }
    }
}

impl Policy for Router {
    const TYPE: SocketType = SocketType::Router;

    fn attach(&mut self, id: u64, peer: &Peer) {
        self.routes.insert(peer.routing_id.clone(), id, &peer.out);
    }

    fn detach(&mut self, id: u64, peer: &Peer, _options: &Options) {
        self.routes.remove(&peer.routing_id, id);
    }

    fn send(&mut self, cx: &Context<'_>, message: Message) -> Result<(), TrySendError> {
        if message.len() < 2 {
            let frames = message.len();
            return refuse(Error::MissingRoutingId { frames }, message);
        }
        let routing_id = &message.frames()[0];
        let Some(pipe) = self.routes.get(routing_id) else {
            if cx.options.router_mandatory {
                let routing_id = routing_id.clone();
                return refuse(Error::HostUnreachable { routing_id }, message);
            }
            return Ok(()); // unroutable: dropped, as libzmq does
        };
        if pipe.is_full() {
            if cx.options.router_mandatory {
                return would_block(message);
            }
            return Ok(());
        }
        let pipe = Arc::clone(pipe);
        let mut frames = message.into_frames();
        frames.remove(0);
        pipe.push(Message::from(frames));
        Ok(())
    }

    /// As libzmq: always, as a message for a mute or unknown peer is dropped;
    /// with ROUTER_MANDATORY, whether some peer is below SNDHWM (a message to it
    /// would go).
    fn has_out(&self, cx: &Context<'_>) -> bool {
        !cx.options.router_mandatory || self.routes.has_out()
    }

    fn recv(&mut self, cx: &Context<'_>) -> Result<Option<Message>, Error> {
        Ok(self.inp.recv(cx.readiness, true).map(|(_, m)| m))
    }

    fn fair_queue(&mut self) -> Option<&mut FairQueue> {
        Some(&mut self.inp)
    }

    fn routing_table(&mut self) -> Option<&mut RoutingTable> {
        Some(&mut self.routes)
    }
}
