//! The clone server: holds the map, numbers and publishes every change, answers
//! snapshot requests, expires keys with a time to live.

use std::future::Future;
use std::time::Duration;

use purezmq::{Socket, SocketType};
use tokio::time::{Instant, MissedTickBehavior};

use super::hub::Hub;
use super::kvmsg::KvMsg;
use super::{CloneError, Endpoints, HUGZ, KTHXBAI};

/// How a [`CloneServer`] is set up.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Where to bind; by default the guide's `tcp://*:5556`, `5557` and `5558`.
    pub endpoints: Endpoints,
    /// SNDHWM of the publisher: how many updates may wait for one subscriber before
    /// that subscriber misses some. The server keeps nothing else per client.
    pub sndhwm: usize,
    /// How often keys are checked for expiry (the guide: every second).
    pub ttl_check: Duration,
    /// How often to publish a `HUGZ` heartbeat with the current sequence, so that
    /// clients notice lost updates even when nothing follows them; `None` for none.
    pub heartbeat: Option<Duration>,
    /// How many snapshots may be in transfer at once; further requests wait.
    pub max_snapshots: usize,
    /// How long a snapshot transfer waits for a client that reads nothing before it
    /// gives up.
    pub snapshot_stall: Duration,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            endpoints: Endpoints::tcp("*", 5556),
            sndhwm: 1000,
            ttl_check: Duration::from_secs(1),
            heartbeat: Some(Duration::from_secs(1)),
            max_snapshots: 16,
            snapshot_stall: Duration::from_secs(10),
        }
    }
}

/// The guide's `clonesrv5`: a key-value map that clients clone and change.
///
/// Changes arrive on the collector (PULL); each gets the next sequence number, is
/// published (PUB) and stored; an empty body deletes the key. A `ttl` property
/// (seconds) makes the server delete the key when that time has passed and publish
/// the deletion. Snapshot requests on the ROUTER get the entries under the asked
/// subtree and then `KTHXBAI`. See the [module documentation](super).
pub struct CloneServer {
    hub: Hub,
    collector: Socket,
    ttl_check: Duration,
    heartbeat: Option<Duration>,
}

impl CloneServer {
    /// Binds the three sockets.
    pub fn bind(config: ServerConfig) -> Result<CloneServer, CloneError> {
        let hub = Hub::bind(
            &config.endpoints,
            config.sndhwm,
            config.max_snapshots,
            config.snapshot_stall,
        )?;
        let collector = Socket::new(SocketType::Pull);
        collector.bind(&config.endpoints.collector)?;
        Ok(CloneServer {
            hub,
            collector,
            ttl_check: config.ttl_check,
            heartbeat: config.heartbeat,
        })
    }

    /// The endpoints as bound (with the ports chosen for `tcp://host:*`), for
    /// clients to connect to.
    pub fn endpoints(&self) -> Endpoints {
        let (snapshot, publisher) = self.hub.bound();
        Endpoints {
            snapshot,
            publisher,
            collector: self.collector.last_endpoint(),
        }
    }

    /// Serves until `shutdown` completes, or a socket fails.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<(), CloneError> {
        let mut shutdown = std::pin::pin!(shutdown);
        let mut ttl_timer = tokio::time::interval(self.ttl_check);
        ttl_timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut heartbeat = Heartbeat::new(self.heartbeat);
        loop {
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                request = self.hub.next_request() => self.hub.serve(request?),
                message = self.collector.recv() => {
                    match KvMsg::parse(&message?) {
                        Ok(msg) => self.collect(msg).await,
                        Err(e) => tracing::warn!("clone: dropped an update from a client: {e}"),
                    }
                }
                now = ttl_timer.tick() => self.hub.expire(now).await,
                () = heartbeat.tick() => self.hub.heartbeat().await,
            }
        }
    }

    async fn collect(&mut self, msg: KvMsg) {
        if msg.key == KTHXBAI || msg.key == HUGZ {
            let key = String::from_utf8_lossy(&msg.key);
            tracing::warn!("clone: dropped an update of the reserved key {key}");
            return;
        }
        let expires = match msg.ttl() {
            Some(ttl) if !msg.is_delete() => Instant::now().checked_add(ttl),
            _ => None,
        };
        self.hub.publish(msg, expires).await;
    }
}

/// A timer that ticks every period, or never.
pub(crate) struct Heartbeat(Option<tokio::time::Interval>);

impl Heartbeat {
    pub fn new(period: Option<Duration>) -> Heartbeat {
        Heartbeat(period.map(|period| {
            let mut interval = tokio::time::interval(period);
            interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
            interval
        }))
    }

    pub async fn tick(&mut self) {
        match &mut self.0 {
            Some(interval) => {
                interval.tick().await;
            }
            None => std::future::pending().await,
        }
    }
}
