//! A node in a tree of clusters: a clone client of the server above, and a clone
//! server to the clients below.

use std::future::Future;
use std::sync::Arc;

use purezmq::{Socket, SocketType};

use super::client::{CloneClient, Event};
use super::hub::Hub;
use super::kvmsg::KvMsg;
use super::server::Heartbeat;
use super::{ClientConfig, CloneError, Endpoints, ServerConfig};

/// Re-publishes a subtree of an upstream clone server to its own clients, and
/// passes their changes up.
///
/// Its clients speak to it as to any clone server. What it publishes it numbers
/// itself; changes its clients send go upstream unchanged (UUID and `ttl`
/// included), so the upstream server orders them and expires them, and they come
/// back down like every other update. When the relay itself has to re-sync with
/// upstream, it publishes the differences between its old and new map, so its
/// clients follow without a snapshot of their own. Changes to keys outside the
/// relayed subtree are dropped: they would never come back down.
pub struct Relay {
    upstream: CloneClient,
    hub: Hub,
    collector: Socket,
    heartbeat: Option<std::time::Duration>,
}

impl Relay {
    /// Connects to the upstream server (taking its snapshot of `upstream.subtree`)
    /// and binds the local endpoints. `local.ttl_check` is not used: expiry is the
    /// upstream server's.
    pub async fn start(upstream: ClientConfig, local: ServerConfig) -> Result<Relay, CloneError> {
        let hub = Hub::bind(
            &local.endpoints,
            local.sndhwm,
            local.max_snapshots,
            local.snapshot_stall,
        )?;
        let collector = Socket::new(SocketType::Pull);
        collector.bind(&local.endpoints.collector)?;
        let upstream = CloneClient::connect(upstream).await?;
        let mut relay = Relay {
            upstream,
            hub,
            collector,
            heartbeat: local.heartbeat,
        };
        relay.catch_up().await;
        Ok(relay)
    }

    /// The local endpoints as bound.
    pub fn endpoints(&self) -> Endpoints {
        let (snapshot, publisher) = self.hub.bound();
        Endpoints {
            snapshot,
            publisher,
            collector: self.collector.last_endpoint(),
        }
    }

    /// Relays until `shutdown` completes, or a socket fails.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<(), CloneError> {
        let mut shutdown = std::pin::pin!(shutdown);
        let mut heartbeat = Heartbeat::new(self.heartbeat);
        loop {
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                request = self.hub.next_request() => self.hub.serve(request?),
                () = heartbeat.tick() => self.hub.heartbeat().await,
                event = self.upstream.recv() => match event? {
                    Event::Update(msg) => {
                        self.hub.publish(msg, None).await;
                    }
                    Event::Resynced { .. } => self.catch_up().await,
                },
                message = self.collector.recv() => {
                    match KvMsg::parse(&message?) {
                        Ok(msg) if !msg.key.starts_with(self.upstream.subtree()) => {
                            let key = String::from_utf8_lossy(&msg.key);
                            tracing::warn!("clone relay: dropped an update of {key}, outside the relayed subtree");
                        }
                        Ok(msg) => {
                            if !self.upstream.forward(&msg)? {
                                tracing::warn!("clone relay: upstream unreachable or full, dropped an update from a client");
                            }
                        }
                        Err(e) => tracing::warn!("clone relay: dropped an update from a client: {e}"),
                    }
                }
            }
        }
    }

    /// Publishes whatever makes the local map equal to the upstream client's.
    async fn catch_up(&mut self) {
        let gone: Vec<_> = self
            .hub
            .map
            .keys()
            .filter(|key| !self.upstream.map().contains_key(*key))
            .cloned()
            .collect();
        for key in gone {
            self.hub
                .publish(KvMsg::new(key, bytes::Bytes::new()), None)
                .await;
        }
        let changed: Vec<KvMsg> = self
            .upstream
            .map()
            .values()
            .filter(|msg| match self.hub.map.get(&msg.key) {
                Some(entry) => {
                    let held: &KvMsg = Arc::as_ref(&entry.msg);
                    held.uuid != msg.uuid || held.body != msg.body
                }
                None => true,
            })
            .cloned()
            .collect();
        for msg in changed {
            self.hub.publish(msg, None).await;
        }
    }
}
