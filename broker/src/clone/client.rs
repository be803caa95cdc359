//! The clone client: a copy of the server's map (or of one subtree), kept up to date,
//! and the way to change it.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use bytes::Bytes;
use purezmq::monitor::EventKind;
use purezmq::{Message, Socket, SocketType};
use tokio::time::Instant;

use super::kvmsg::{KvMsg, TTL, Uuid};
use super::{CloneError, Endpoints, HUGZ, ICANHAZ, KTHXBAI};

/// How many of its own changes a client remembers while it waits for them to come
/// back; the oldest are forgotten first (their echo, if it ever comes, is then
/// reported like anyone's change).
const OWN_CHANGES: usize = 4096;

/// How a [`CloneClient`] is set up.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// The server's endpoints.
    pub endpoints: Endpoints,
    /// The part of the map to follow: keys starting with these bytes (empty: all).
    pub subtree: Bytes,
    /// RCVHWM of the subscriber: how many updates wait for the application before
    /// the server's publisher starts dropping them for this client.
    pub rcvhwm: usize,
    /// How long to wait for a whole snapshot before asking again.
    pub snapshot_timeout: Duration,
}

impl ClientConfig {
    /// Follows the whole map of the server at `endpoints`.
    pub fn new(endpoints: Endpoints) -> ClientConfig {
        ClientConfig {
            endpoints,
            subtree: Bytes::new(),
            rcvhwm: 1000,
            snapshot_timeout: Duration::from_secs(5),
        }
    }

    /// Follows only the keys that start with `subtree`.
    pub fn subtree(mut self, subtree: impl Into<Bytes>) -> ClientConfig {
        self.subtree = subtree.into();
        self
    }
}

/// What [`CloneClient::recv`] reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Someone changed a key and the map now has the change: the key is set to the
    /// body, or deleted when the body is empty.
    Update(KvMsg),
    /// Updates were lost (the client fell behind); the map has been replaced by a
    /// fresh snapshot taken at this sequence.
    Resynced {
        /// The sequence of the snapshot.
        sequence: i64,
    },
}

/// A snapshot being received.
struct Transfer {
    socket: Socket,
    entries: HashMap<Bytes, KvMsg>,
    deadline: Instant,
}

/// The guide's `clonecli5`, as a library: a copy of a clone server's map.
///
/// [`connect`](CloneClient::connect) takes a snapshot; [`recv`](CloneClient::recv)
/// applies the updates that follow and reports them; [`set`](CloneClient::set)
/// changes a key. The client's own changes are applied when made and not reported
/// again when the server publishes them back (recognised by UUID). A client that
/// follows the whole map takes a new snapshot when it finds that it missed
/// updates. See the [module documentation](super).
pub struct CloneClient {
    config: ClientConfig,
    subscriber: Socket,
    publisher: Socket,
    map: HashMap<Bytes, KvMsg>,
    sequence: i64,
    transfer: Option<Transfer>,
    own: HashSet<Uuid>,
    own_order: VecDeque<Uuid>,
    resyncs: u64,
}

impl std::fmt::Debug for CloneClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloneClient")
            .field("endpoints", &self.config.endpoints)
            .field("subtree", &self.config.subtree)
            .field("sequence", &self.sequence)
            .field("keys", &self.map.len())
            .finish_non_exhaustive()
    }
}

impl CloneClient {
    /// Subscribes to the server's updates and takes a snapshot; returns once the
    /// snapshot is complete (asking again every `snapshot_timeout` until a server
    /// answers).
    pub async fn connect(config: ClientConfig) -> Result<CloneClient, CloneError> {
        let subscriber = Socket::new(SocketType::Sub);
        subscriber.set_options(|o| o.rcvhwm = config.rcvhwm)?;
        subscriber.subscribe(&config.subtree)?;
        let mut monitor = subscriber.monitor();
        subscriber.connect(&config.endpoints.publisher)?;
        if !config.endpoints.publisher.starts_with("inproc://") {
            // Ask for the snapshot once the subscription is on its way, so that few
            // updates fall between the two.
            let connected = async {
                while let Some(event) = monitor.recv().await {
                    if event.kind == EventKind::HandshakeSucceeded {
                        break;
                    }
                }
            };
            let _ = tokio::time::timeout(config.snapshot_timeout, connected).await;
        }
        drop(monitor);
        let publisher = Socket::new(SocketType::Push);
        publisher.connect(&config.endpoints.collector)?;
        let mut client = CloneClient {
            config,
            subscriber,
            publisher,
            map: HashMap::new(),
            sequence: 0,
            transfer: None,
            own: HashSet::new(),
            own_order: VecDeque::new(),
            resyncs: 0,
        };
        client.request_snapshot().await?;
        client.finish_snapshot().await?;
        Ok(client)
    }

    /// The map as this client has it.
    pub fn map(&self) -> &HashMap<Bytes, KvMsg> {
        &self.map
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &[u8]) -> Option<&Bytes> {
        self.map.get(key).map(|msg| &msg.body)
    }

    /// The sequence of the last update applied.
    pub fn sequence(&self) -> i64 {
        self.sequence
    }

    /// How many times the client has taken a new snapshot after missing updates.
    pub fn resyncs(&self) -> u64 {
        self.resyncs
    }

    /// The subtree this client follows.
    pub fn subtree(&self) -> &Bytes {
        &self.config.subtree
    }

    /// Sets `key` to `value` (an empty value deletes it), for at most `ttl` if
    /// given, and sends the change to the server. The change is in this client's map
    /// at once; it returns the change's UUID.
    ///
    /// Waits while the server's collector is unreachable or full.
    pub async fn set(
        &mut self,
        key: impl Into<Bytes>,
        value: impl Into<Bytes>,
        ttl: Option<Duration>,
    ) -> Result<Uuid, CloneError> {
        let mut msg = KvMsg::new(key, value);
        let uuid = Uuid::random();
        msg.uuid = Some(uuid);
        if let Some(ttl) = ttl {
            msg.set_property(TTL, format_seconds(ttl))?;
        }
        self.publisher.send(msg.encode()).await?;
        self.remember(uuid);
        if msg.is_delete() {
            self.map.remove(&msg.key);
        } else {
            self.map.insert(msg.key.clone(), msg);
        }
        Ok(uuid)
    }

    /// Deletes `key`: [`set`](CloneClient::set) with an empty value.
    pub async fn delete(&mut self, key: impl Into<Bytes>) -> Result<Uuid, CloneError> {
        self.set(key, Bytes::new(), None).await
    }

    /// Sends a change made elsewhere to the server as it is (UUID and properties
    /// kept), without applying it here, if that can be done without waiting; gives
    /// `false` when the server's collector is unreachable or full, and the change was
    /// not sent. A relay passes its clients' changes on with this.
    pub fn forward(&self, msg: &KvMsg) -> Result<bool, CloneError> {
        match self.publisher.try_send(msg.encode()) {
            Ok(()) => Ok(true),
            Err(e) if matches!(e.error, purezmq::Error::WouldBlock) => Ok(false),
            Err(e) => Err(e.error.into()),
        }
    }

    /// Waits for the next change made by someone else, applies it, and reports it.
    ///
    /// Cancel-safe: a dropped call loses no update, and a snapshot in progress
    /// continues with the next call.
    pub async fn recv(&mut self) -> Result<Event, CloneError> {
        loop {
            if self.transfer.is_some() {
                self.finish_snapshot().await?;
                return Ok(Event::Resynced {
                    sequence: self.sequence,
                });
            }
            let message = self.subscriber.recv().await?;
            let msg = match KvMsg::parse(&message) {
                Ok(msg) => msg,
                Err(e) => {
                    tracing::warn!("clone: dropped an update from the server: {e}");
                    continue;
                }
            };
            let heartbeat = msg.key == HUGZ;
            if msg.sequence <= self.sequence && !heartbeat {
                continue; // already in the snapshot
            }
            let next = if heartbeat {
                self.sequence
            } else {
                self.sequence + 1
            };
            if self.config.subtree.is_empty() && msg.sequence > next {
                tracing::info!(
                    "clone: missed updates after {} (the server is at {}), taking a new snapshot",
                    self.sequence,
                    msg.sequence
                );
                self.resyncs += 1;
                self.request_snapshot().await?;
                continue;
            }
            if heartbeat {
                continue;
            }
            self.sequence = msg.sequence;
            if let Some(event) = self.apply(msg) {
                return Ok(event);
            }
        }
    }

    /// Applies an update from the server; `None` when it is this client's own change
    /// coming back to a map that already has it.
    fn apply(&mut self, msg: KvMsg) -> Option<Event> {
        let own = msg.uuid.is_some_and(|uuid| self.own.remove(&uuid));
        let already = match self.map.get(&msg.key) {
            Some(held) => held.uuid == msg.uuid && !msg.is_delete(),
            None => msg.is_delete(),
        };
        if msg.is_delete() {
            self.map.remove(&msg.key);
        } else {
            self.map.insert(msg.key.clone(), msg.clone());
        }
        if own && already {
            None
        } else {
            Some(Event::Update(msg))
        }
    }

    fn remember(&mut self, uuid: Uuid) {
        if self.own_order.len() == OWN_CHANGES
            && let Some(oldest) = self.own_order.pop_front()
        {
            self.own.remove(&oldest);
        }
        self.own.insert(uuid);
        self.own_order.push_back(uuid);
    }

    /// Asks for a snapshot on a fresh DEALER (so that answers to an earlier request
    /// cannot mix in).
    async fn request_snapshot(&mut self) -> Result<(), CloneError> {
        let socket = Socket::new(SocketType::Dealer);
        socket.set_options(|o| o.linger = Some(Duration::ZERO))?;
        socket.connect(&self.config.endpoints.snapshot)?;
        let request = Message::from(vec![
            Bytes::from_static(ICANHAZ.as_bytes()),
            self.config.subtree.clone(),
        ]);
        socket.send(request).await?;
        self.transfer = Some(Transfer {
            socket,
            entries: HashMap::new(),
            deadline: Instant::now() + self.config.snapshot_timeout,
        });
        Ok(())
    }

    /// Receives the snapshot in progress up to `KTHXBAI`, asking again on timeout,
    /// and makes it the map.
    async fn finish_snapshot(&mut self) -> Result<(), CloneError> {
        loop {
            let Some(transfer) = &mut self.transfer else {
                return Ok(());
            };
            let received = tokio::time::timeout_at(transfer.deadline, transfer.socket.recv()).await;
            let message = match received {
                Ok(message) => message?,
                Err(_) => {
                    tracing::info!(
                        "clone: no snapshot from {} within {:?}, asking again",
                        self.config.endpoints.snapshot,
                        self.config.snapshot_timeout
                    );
                    self.request_snapshot().await?;
                    continue;
                }
            };
            let msg = match KvMsg::parse(&message) {
                Ok(msg) => msg,
                Err(e) => {
                    tracing::warn!("clone: dropped a snapshot entry: {e}");
                    continue;
                }
            };
            if msg.key == KTHXBAI {
                if let Some(transfer) = self.transfer.take() {
                    self.map = transfer.entries;
                }
                self.sequence = msg.sequence;
                tracing::debug!("clone: received snapshot={}", self.sequence);
                return Ok(());
            }
            if !msg.is_delete() {
                transfer.entries.insert(msg.key.clone(), msg);
            }
        }
    }
}

/// Seconds as the `ttl` property carries them: whole if they are, as the guide's C
/// server reads them with `atoi`.
fn format_seconds(ttl: Duration) -> String {
    if ttl.subsec_nanos() == 0 {
        ttl.as_secs().to_string()
    } else {
        format!("{:.3}", ttl.as_secs_f64())
    }
}
