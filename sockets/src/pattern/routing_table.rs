//! Routing id ↔ peer: how a ROUTER names its peers and finds them again.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};

use crate::peer::{Peer, PeerMap, Refused};
use crate::pipe::Pipe;

/// Each peer's routing id and outbound pipe.
pub(crate) struct RoutingTable {
    routes: HashMap<Bytes, (u64, Arc<Pipe>)>,
    /// The last generated id's number: ids are `0x00` + a u32, as libzmq makes them,
    /// counting up from a random start.
    next_id: u32,
}

impl RoutingTable {
    pub(crate) fn new() -> RoutingTable {
        RoutingTable {
            routes: HashMap::new(),
            next_id: rand::random(),
        }
    }

    /// Picks the routing id of a new peer: the one it asked for if free (or taken
    /// over with ROUTER_HANDOVER, `handover`), else a generated one.
    pub(crate) fn claim(
        &mut self,
        wanted: Option<Bytes>,
        handover: bool,
        peers: &PeerMap<Peer>,
    ) -> Result<Bytes, Refused> {
        if let Some(id) = wanted.filter(|id| !id.is_empty()) {
            match self.routes.get(&id) {
                None => return Ok(id),
                Some(&(old, _)) if handover => {
                    // The new connection takes the name; the old one is dropped,
                    // as libzmq does.
                    if let Some(p) = peers.get(&old) {
                        if let Some(kill) = &p.kill {
                            kill.cancel();
                        }
                        p.out.close();
                    }
                    self.routes.remove(&id);
                    return Ok(id);
                }
                Some(_) => return Err(Refused::DuplicateRoutingId(id)),
            }
        }
        loop {
            self.next_id = self.next_id.wrapping_add(1);
            let mut id = BytesMut::with_capacity(5);
            id.put_u8(0);
            id.put_u32(self.next_id);
            let id = id.freeze();
            if !self.routes.contains_key(&id) {
                return Ok(id);
            }
        }
    }

    /// Routes `routing_id` to `peer`.
    pub(crate) fn insert(&mut self, routing_id: Bytes, peer: u64, out: &Arc<Pipe>) {
        self.routes.insert(routing_id, (peer, Arc::clone(out)));
    }

    /// Forgets `routing_id` if it still names `peer` (a handover may have given it
    /// to another).
    pub(crate) fn remove(&mut self, routing_id: &Bytes, peer: u64) {
        if self.routes.get(routing_id).is_some_and(|(p, _)| *p == peer) {
            self.routes.remove(routing_id);
        }
    }

    /// Whether some peer's pipe is below its high-water mark.
    pub(crate) fn has_out(&self) -> bool {
        self.routes.values().any(|(_, pipe)| !pipe.is_full())
    }

    /// The outbound pipe of the peer called `routing_id`.
    pub(crate) fn get(&self, routing_id: &[u8]) -> Option<&Arc<Pipe>> {
        self.routes.get(routing_id).map(|(_, pipe)| pipe)
    }
}
