//! What every clone server has, whether it collects changes itself or relays them:
//! the map, the sequence, the publisher and the snapshot socket.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use purezmq::{Error, Message, Socket, SocketType};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::kvmsg::KvMsg;
use super::{CloneError, Endpoints, HUGZ, ICANHAZ, KTHXBAI};

/// One key's value as the server holds it.
pub(crate) struct Entry {
    /// The change that set it, as published.
    pub msg: Arc<KvMsg>,
    /// When the server deletes it, if it has a time to live.
    pub expires: Option<Instant>,
}

/// The publishing half of a clone server.
pub(crate) struct Hub {
    snapshot: Socket,
    publisher: Socket,
    pub map: HashMap<Bytes, Entry>,
    pub sequence: i64,
    /// How many entries have an expiry, so the TTL sweep can skip an idle map.
    pub expiring: usize,
    slots: Arc<Semaphore>,
    stall: Duration,
    transfers: JoinSet<()>,
}

/// A snapshot request: the routing id of the client and the subtree it wants.
pub(crate) struct Request {
    routing_id: Bytes,
    subtree: Bytes,
    slot: OwnedSemaphorePermit,
}

impl Hub {
    /// Binds the snapshot ROUTER and the PUB (with this SNDHWM).
    pub fn bind(
        endpoints: &Endpoints,
        sndhwm: usize,
        max_snapshots: usize,
        stall: Duration,
    ) -> Result<Hub, CloneError> {
        // ROUTER_MANDATORY: a snapshot transfer waits for a client at SNDHWM instead
        // of losing part of the snapshot, and learns when the client has gone.
        let snapshot = Socket::new(SocketType::Router);
        snapshot.set_options(|o| o.router_mandatory = true)?;
        snapshot.bind(&endpoints.snapshot)?;
        let publisher = Socket::new(SocketType::Pub);
        publisher.set_options(|o| o.sndhwm = sndhwm)?;
        publisher.bind(&endpoints.publisher)?;
        Ok(Hub {
            snapshot,
            publisher,
            map: HashMap::new(),
            sequence: 0,
            expiring: 0,
            slots: Arc::new(Semaphore::new(max_snapshots.max(1))),
            stall,
            transfers: JoinSet::new(),
        })
    }

    /// The snapshot and publisher endpoints as bound.
    pub fn bound(&self) -> (String, String) {
        (
            self.snapshot.last_endpoint(),
            self.publisher.last_endpoint(),
        )
    }

    /// Numbers `msg` with the next sequence, publishes it, and stores it (or deletes
    /// the key, for an empty body).
    pub async fn publish(&mut self, mut msg: KvMsg, expires: Option<Instant>) -> i64 {
        self.sequence += 1;
        msg.sequence = self.sequence;
        // PUB never waits: a subscriber at SNDHWM misses the message.
        if let Err(e) = self.publisher.send(msg.encode()).await {
            tracing::warn!("clone: publishing update {} failed: {e}", self.sequence);
        }
        let what = if msg.is_delete() { "delete" } else { "update" };
        tracing::debug!("clone: published {what}={}", self.sequence);
        let old = if msg.is_delete() {
            self.map.remove(&msg.key)
        } else {
            let key = msg.key.clone();
            let msg = Arc::new(msg);
            if expires.is_some() {
                self.expiring += 1;
            }
            self.map.insert(key, Entry { msg, expires })
        };
        if old.is_some_and(|old| old.expires.is_some()) {
            self.expiring -= 1;
        }
        self.sequence
    }

    /// Publishes a heartbeat with the current sequence, so that subscribers that lost
    /// the latest updates find out.
    pub async fn heartbeat(&self) {
        let mut hugz = KvMsg::new(HUGZ, Bytes::new());
        hugz.sequence = self.sequence;
        if let Err(e) = self.publisher.send(hugz.encode()).await {
            tracing::warn!("clone: publishing a heartbeat failed: {e}");
        }
    }

    /// Publishes the deletion of every key whose time has passed.
    pub async fn expire(&mut self, now: Instant) {
        if self.expiring == 0 {
            return;
        }
        let expired: Vec<Bytes> = self
            .map
            .iter()
            .filter(|(_, entry)| entry.expires.is_some_and(|at| at <= now))
            .map(|(key, _)| key.clone())
            .collect();
        for key in expired {
            // No UUID: the deletion is the server's, not the setter's change.
            self.publish(KvMsg::new(key, Bytes::new()), None).await;
        }
    }

    /// The next well-formed snapshot request, once a transfer slot is free. Requests
    /// that are not `["ICANHAZ?", subtree]` are logged and dropped.
    ///
    /// Cancel-safe: a request is only taken off the socket with its slot in hand.
    pub async fn next_request(&mut self) -> Result<Request, Error> {
        loop {
            while self.transfers.try_join_next().is_some() {}
            let slot = Arc::clone(&self.slots)
                .acquire_owned()
                .await
                .map_err(|_| Error::Closed)?;
            let message = self.snapshot.recv().await?;
            match message.frames() {
                [routing_id, request, subtree] if request == ICANHAZ => {
                    return Ok(Request {
                        routing_id: routing_id.clone(),
                        subtree: subtree.clone(),
                        slot,
                    });
                }
                frames => {
                    tracing::warn!(
                        "clone: dropped a snapshot request of {} frames that is not [{ICANHAZ}, subtree]",
                        frames.len().saturating_sub(1)
                    );
                }
            }
        }
    }

    /// Starts sending the snapshot `request` asks for: the entries under its subtree
    /// as they are now, then `KTHXBAI` with the current sequence.
    pub fn serve(&mut self, request: Request) {
        let entries: Vec<Arc<KvMsg>> = self
            .map
            .values()
            .filter(|entry| entry.msg.key.starts_with(&request.subtree))
            .map(|entry| Arc::clone(&entry.msg))
            .collect();
        let mut end = KvMsg::new(KTHXBAI, request.subtree.clone());
        end.sequence = self.sequence;
        tracing::debug!(
            "clone: sending snapshot={} ({} entries)",
            self.sequence,
            entries.len()
        );
        let socket = self.snapshot.clone();
        let stall = self.stall;
        self.transfers.spawn(async move {
            let Request {
                routing_id, slot, ..
            } = request;
            let messages = entries
                .iter()
                .map(|msg| msg.encode_to(&routing_id))
                .chain(std::iter::once(end.encode_to(&routing_id)));
            for message in messages {
                if let Err(e) = send_within(&socket, message, stall).await {
                    tracing::info!("clone: gave up a snapshot transfer: {e}");
                    break;
                }
            }
            drop(slot);
        });
    }
}

async fn send_within(socket: &Socket, message: Message, stall: Duration) -> Result<(), String> {
    match tokio::time::timeout(stall, socket.send(message)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("the client read nothing for {stall:?}")),
    }
}
