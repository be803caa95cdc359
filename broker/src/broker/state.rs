//! The broker's state machine: services, workers, queues and heartbeats, with no
//! socket and no clock.
//!
//! [`BrokerState`] takes what the ROUTER socket received ([`on_message`], the
//! routing id apart) and the passing of time ([`on_tick`], at
//! [`next_deadline`]), and queues what to send ([`drain`]), routing id first. The
//! caller reads the clock and owns the socket; so every rule here runs in a unit
//! test or under the fuzzer as it runs in production.
//!
//! [`on_message`]: BrokerState::on_message
//! [`on_tick`]: BrokerState::on_tick
//! [`next_deadline`]: BrokerState::next_deadline
//! [`drain`]: BrokerState::drain
//!
//! # The rules it keeps
//!
//! - **Clients** are told from workers by their header (`MDPC01`/`MDPC02`), per
//!   message: a peer may speak both sub-protocols on one connection, and its
//!   client requests are served like anyone's. Replies go out in the version and
//!   framing of the request they answer.
//! - **Workers** exist from their READY on, keyed by routing id, with the version
//!   and framing of that READY. Each service keeps its idle workers in LRU order
//!   and its waiting requests in a FIFO queue; a request goes to the least recently
//!   used idle worker, or waits.
//! - **Unexpected commands** (RFC 7, MUST): HEARTBEAT, REPLY, PARTIAL or FINAL from
//!   a peer that has not sent READY; a second READY; a REQUEST (the broker's
//!   command) from a worker; a reply with no request in flight or for another
//!   client; a command in another MDP version than the worker's READY; a READY for
//!   an `mmi.*` service (RFC 8). Each gets DISCONNECT, and the worker is
//!   forgotten, so nothing but that DISCONNECT is sent to it. The broker keeps no
//!   list of disconnected peers: a later command from the same routing id is
//!   judged afresh, so HEARTBEAT or a reply gets DISCONNECT again, and READY
//!   registers a new worker (RFC 7 has a disconnected worker reconnect, and a
//!   worker with a fixed ROUTING_ID comes back under the same id).
//! - **DISCONNECT from a worker**: it is forgotten, and nothing more is sent to it.
//! - **Malformed messages** (any [`MdpError`]) are dropped and counted; the peer
//!   is not otherwise affected (a worker's liveness is not refreshed by them).
//! - **Heartbeats**: every `heartbeat`, each worker that was sent nothing in the
//!   last half interval gets HEARTBEAT; any command from a worker keeps it alive,
//!   and a worker silent for `heartbeat × liveness` is removed at the next
//!   heartbeat tick (so within one more interval).
//! - **A worker lost with a request in hand** (expired, DISCONNECT, disconnected):
//!   the request goes back to the front of its queue (workers are idempotent, RFC
//!   7), unless part of the reply (a 0.2 PARTIAL) was forwarded already: then it is
//!   lost, logged at warn and counted.
//! - **Queues** hold at most `max_queue` requests per service and
//!   `max_queued_total` in all; a request over either bound is dropped and
//!   counted. A queued request is dropped `request_ttl` after it arrived. A service
//!   with no worker and no queued request is forgotten.
//! - **MMI** (RFC 8) is answered by the broker: see [`crate::mdp::mmi`]. With no
//!   body frame `mmi.service` says 404 and `mmi.workers` counts every worker.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;
use purezmq::Message;

use crate::mdp::{
    self, ClientReply, ClientRequest, Framing, Inbound, MdpError, ReplyKind, Version,
    WorkerCommand, WorkerMessage, mmi,
};

use super::policy::{ForwardAll, Policy, ReplyView, RequestView, Verdict};
use super::stats::{ServiceStats, Stats};

/// The shortest heartbeat interval the broker uses.
pub const MIN_HEARTBEAT: Duration = Duration::from_millis(1);

/// How the broker behaves: heartbeats and queue bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerConfig {
    /// How often the broker sends HEARTBEAT to each worker. Default 2500 ms, as
    /// the guide's brokers and workers agree.
    pub heartbeat: Duration,
    /// How many heartbeat intervals a worker may stay silent before it is removed.
    /// Default 3.
    pub liveness: u32,
    /// The most requests one service may have waiting for a worker. Default 10,000.
    pub max_queue: usize,
    /// The most requests waiting in all queues together. Default 1,000,000.
    pub max_queued_total: usize,
    /// How long a request may wait for a worker. Default 30 s.
    pub request_ttl: Duration,
}

impl Default for BrokerConfig {
    fn default() -> BrokerConfig {
        BrokerConfig {
            heartbeat: Duration::from_millis(2500),
            liveness: 3,
            max_queue: 10_000,
            max_queued_total: 1_000_000,
            request_ttl: Duration::from_secs(30),
        }
    }
}

impl BrokerConfig {
    /// How long a worker may stay silent: `heartbeat × liveness`.
    pub fn worker_ttl(&self) -> Duration {
        self.heartbeat.saturating_mul(self.liveness.max(1))
    }
}

/// A request waiting for a worker or in a worker's hands.
#[derive(Debug, Clone)]
struct Pending {
    /// Its key in the expiry index while queued.
    seq: u64,
    /// When it is dropped if still queued.
    expires: Instant,
    /// The client's routing id.
    client: Bytes,
    version: Version,
    framing: Framing,
    body: Vec<Bytes>,
}

/// One service: its workers and its queue.
#[derive(Debug, Default)]
struct Service {
    /// Idle workers, least recently used first.
    idle: VecDeque<Bytes>,
    /// How many workers offer the service.
    workers: usize,
    /// Requests waiting for a worker, oldest first.
    queue: VecDeque<Pending>,
    stats: ServiceStats,
}

/// A request a worker is handling.
#[derive(Debug)]
struct Job {
    request: Pending,
    /// A PARTIAL went to the client: the request cannot be sent again.
    partial_sent: bool,
}

/// A registered worker.
#[derive(Debug)]
struct Worker {
    version: Version,
    framing: Framing,
    service: Bytes,
    /// Removed at the first heartbeat tick from then on.
    expires: Instant,
    /// When the broker last sent it anything.
    last_sent: Instant,
    job: Option<Job>,
}

/// Why a worker goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Removal {
    /// It sent DISCONNECT.
    Left,
    /// Nothing came from it for `heartbeat × liveness`.
    Expired,
    /// It broke a rule; the broker sends it DISCONNECT.
    Disconnected,
}

/// The broker, without I/O. See the [module documentation](self).
pub struct BrokerState {
    config: BrokerConfig,
    policy: Box<dyn Policy>,
    services: HashMap<Bytes, Service>,
    workers: HashMap<Bytes, Worker>,
    /// Queued requests by (expiry, seq), naming their service.
    expiries: BTreeMap<(Instant, u64), Bytes>,
    next_seq: u64,
    /// The next heartbeat tick, while there are workers.
    next_heartbeat: Option<Instant>,
    /// Every service's counters, those forgotten included.
    totals: ServiceStats,
    mmi: u64,
    malformed: u64,
    disconnects_sent: u64,
    workers_expired: u64,
    out: VecDeque<Message>,
}

impl std::fmt::Debug for BrokerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerState")
            .field("config", &self.config)
            .field("services", &self.services.len())
            .field("workers", &self.workers.len())
            .field("queued", &self.expiries.len())
            .finish_non_exhaustive()
    }
}

/// Adds one to a counter of a service and of the totals.
fn bump(
    service: Option<&mut ServiceStats>,
    totals: &mut ServiceStats,
    field: fn(&mut ServiceStats) -> &mut u64,
) {
    if let Some(service) = service {
        *field(service) += 1;
    }
    *field(totals) += 1;
}

/// A routing id or service name for the log: text if printable, else hex.
pub(crate) fn printable(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(32)];
    if !shown.is_empty() && shown.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        String::from_utf8_lossy(shown).into_owned()
    } else {
        shown.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl BrokerState {
    /// A broker with no workers and the policy that forwards everything. A
    /// heartbeat shorter than a millisecond is taken as one millisecond.
    pub fn new(mut config: BrokerConfig) -> BrokerState {
        config.heartbeat = config.heartbeat.max(MIN_HEARTBEAT);
        BrokerState {
            config,
            policy: Box::new(ForwardAll),
            services: HashMap::new(),
            workers: HashMap::new(),
            expiries: BTreeMap::new(),
            next_seq: 0,
            next_heartbeat: None,
            totals: ServiceStats::default(),
            mmi: 0,
            malformed: 0,
            disconnects_sent: 0,
            workers_expired: 0,
            out: VecDeque::new(),
        }
    }

    /// The same with `policy` deciding about requests and replies.
    pub fn with_policy(config: BrokerConfig, policy: Box<dyn Policy>) -> BrokerState {
        BrokerState {
            policy,
            ..BrokerState::new(config)
        }
    }

    /// The configuration.
    pub fn config(&self) -> &BrokerConfig {
        &self.config
    }

    /// Handles one message the ROUTER received from `peer` (its routing id);
    /// `frames` are those after the routing id.
    pub fn on_message(&mut self, now: Instant, peer: Bytes, frames: &[Bytes]) {
        match mdp::parse_inbound(frames) {
            Err(error) => self.malformed(&peer, &error),
            Ok(Inbound::Client(request)) => self.client_request(now, peer, request),
            Ok(Inbound::Worker(message)) => self.worker_message(now, peer, message),
        }
    }

    /// Does what is due at `now`: drops expired requests, removes silent workers,
    /// sends heartbeats.
    pub fn on_tick(&mut self, now: Instant) {
        self.expire_requests(now);
        if self.next_heartbeat.is_some_and(|at| at <= now) {
            self.heartbeat(now);
        }
    }

    /// When [`on_tick`](BrokerState::on_tick) next has something to do; `None`
    /// when nothing is queued and no worker is registered.
    pub fn next_deadline(&self) -> Option<Instant> {
        let expiry = self.expiries.first_key_value().map(|((at, _), _)| *at);
        match (expiry, self.next_heartbeat) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Moves the messages to send to the back of `into`, each with the peer's
    /// routing id as its first frame.
    pub fn drain(&mut self, into: &mut VecDeque<Message>) {
        if into.is_empty() {
            std::mem::swap(into, &mut self.out);
        } else {
            into.append(&mut self.out);
        }
    }

    /// How many messages wait to be drained.
    pub fn pending_output(&self) -> usize {
        self.out.len()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        let mut totals = self.totals;
        totals.queued = self.expiries.len() as u64;
        totals.workers = self.workers.len() as u64;
        let services = self
            .services
            .iter()
            .map(|(name, service)| {
                let mut stats = service.stats;
                stats.queued = service.queue.len() as u64;
                stats.workers = service.workers as u64;
                (name.clone(), stats)
            })
            .collect();
        Stats {
            services,
            totals,
            mmi: self.mmi,
            malformed: self.malformed,
            disconnects_sent: self.disconnects_sent,
            workers_expired: self.workers_expired,
        }
    }

    /// How many workers are registered.
    pub fn worker_count(&self) -> usize {
        self.workers.len()
    }

    /// Whether `peer` is a registered worker.
    pub fn is_worker(&self, peer: &[u8]) -> bool {
        self.workers.contains_key(peer)
    }

    /// How many services the broker holds an entry for.
    pub fn service_count(&self) -> usize {
        self.services.len()
    }

    // --- input --------------------------------------------------------------

    fn malformed(&mut self, peer: &Bytes, error: &MdpError) {
        self.malformed += 1;
        tracing::debug!(peer = %printable(peer), "dropped a malformed message: {error}");
    }

    fn client_request(&mut self, now: Instant, client: Bytes, request: ClientRequest) {
        let verdict = self.policy.on_request(&RequestView {
            client: &client,
            version: request.version,
            framing: request.framing,
            service: &request.service,
            body: &request.body,
        });
        match verdict {
            Verdict::Forward => {}
            Verdict::Reject(body) => {
                bump(
                    self.services
                        .get_mut(&request.service)
                        .map(|s| &mut s.stats),
                    &mut self.totals,
                    |s| &mut s.rejected,
                );
                tracing::debug!(
                    client = %printable(&client),
                    service = %printable(&request.service),
                    "the policy rejected a request"
                );
                self.reply_to_client(&client, request.reply(body));
                return;
            }
            Verdict::Discard => {
                bump(
                    self.services
                        .get_mut(&request.service)
                        .map(|s| &mut s.stats),
                    &mut self.totals,
                    |s| &mut s.discarded,
                );
                return;
            }
        }
        if mmi::is_mmi(&request.service) {
            self.answer_mmi(&client, &request);
            return;
        }
        self.enqueue(now, client, request);
    }

    fn answer_mmi(&mut self, client: &Bytes, request: &ClientRequest) {
        self.mmi += 1;
        let ok = Bytes::from_static(mmi::FOUND);
        let body = match request.service.as_ref() {
            mmi::SERVICE => {
                let found = request
                    .body
                    .first()
                    .and_then(|name| self.services.get(name))
                    .is_some_and(|service| service.workers > 0);
                vec![Bytes::from_static(if found {
                    mmi::FOUND
                } else {
                    mmi::NOT_FOUND
                })]
            }
            mmi::SERVICES => {
                let mut names: Vec<Bytes> = self
                    .services
                    .iter()
                    .filter(|(_, service)| service.workers > 0)
                    .map(|(name, _)| name.clone())
                    .collect();
                names.sort();
                let mut body = Vec::with_capacity(names.len() + 1);
                body.push(ok);
                body.extend(names);
                body
            }
            mmi::WORKERS => {
                let count = match request.body.first() {
                    Some(name) => self.services.get(name).map_or(0, |s| s.workers),
                    None => self.workers.len(),
                };
                vec![ok, Bytes::from(count.to_string())]
            }
            _ => vec![Bytes::from_static(mmi::NOT_IMPLEMENTED)],
        };
        self.reply_to_client(client, request.reply(body));
    }

    fn enqueue(&mut self, now: Instant, client: Bytes, request: ClientRequest) {
        let ClientRequest {
            version,
            framing,
            service: name,
            body,
        } = request;
        let total_full = self.expiries.len() >= self.config.max_queued_total;
        let service = self.services.entry(name.clone()).or_default();
        let must_wait = service.idle.is_empty();
        if must_wait && (service.queue.len() >= self.config.max_queue || total_full) {
            bump(Some(&mut service.stats), &mut self.totals, |s| {
                &mut s.dropped
            });
            tracing::debug!(
                client = %printable(&client),
                service = %printable(&name),
                queued = service.queue.len(),
                "the queue is full: dropped a request"
            );
            self.forget_if_unused(&name);
            return;
        }
        bump(Some(&mut service.stats), &mut self.totals, |s| {
            &mut s.requests
        });
        let seq = self.next_seq;
        self.next_seq += 1;
        let expires = later(now, self.config.request_ttl);
        service.queue.push_back(Pending {
            seq,
            expires,
            client,
            version,
            framing,
            body,
        });
        self.expiries.insert((expires, seq), name.clone());
        self.dispatch(now, &name);
    }

    fn worker_message(&mut self, now: Instant, peer: Bytes, message: WorkerMessage) {
        let WorkerMessage {
            version,
            framing,
            command,
        } = message;
        let Some(worker) = self.workers.get_mut(&peer) else {
            match command {
                WorkerCommand::Ready { service } if mmi::is_mmi(&service) => {
                    self.disconnect(now, &peer, version, framing, "READY for an mmi.* service");
                }
                WorkerCommand::Ready { service } => {
                    self.register(now, peer, version, framing, service);
                }
                WorkerCommand::Disconnect => {
                    tracing::debug!(peer = %printable(&peer), "DISCONNECT from a peer that is not a registered worker");
                }
                other => {
                    let reason = format!("{} before READY", other.name());
                    self.disconnect(now, &peer, version, framing, &reason);
                }
            }
            return;
        };
        if version != worker.version {
            let reason = format!("a {version} command from a {} worker", worker.version);
            let (version, framing) = (worker.version, worker.framing);
            self.disconnect(now, &peer, version, framing, &reason);
            return;
        }
        match command {
            WorkerCommand::Heartbeat => {
                worker.expires = later(now, self.config.worker_ttl());
            }
            WorkerCommand::Disconnect => {
                tracing::debug!(peer = %printable(&peer), "a worker left (DISCONNECT)");
                let _ = self.remove_worker(now, &peer, Removal::Left);
            }
            WorkerCommand::Reply { kind, client, body } => {
                let expected = worker.job.as_ref().map(|job| &job.request.client);
                if expected != Some(&client) {
                    let reason = match expected {
                        None => {
                            format!("{} with no request in flight", command_name(version, kind))
                        }
                        Some(_) => format!("{} for another client", command_name(version, kind)),
                    };
                    let framing = worker.framing;
                    self.disconnect(now, &peer, version, framing, &reason);
                    return;
                }
                worker.expires = later(now, self.config.worker_ttl());
                self.forward_reply(now, &peer, kind, body);
            }
            other @ (WorkerCommand::Ready { .. } | WorkerCommand::Request { .. }) => {
                let reason = match other {
                    WorkerCommand::Ready { .. } => "a second READY".to_string(),
                    _ => "REQUEST from a worker".to_string(),
                };
                let framing = worker.framing;
                self.disconnect(now, &peer, version, framing, &reason);
            }
        }
    }

    fn register(
        &mut self,
        now: Instant,
        peer: Bytes,
        version: Version,
        framing: Framing,
        name: Bytes,
    ) {
        tracing::debug!(
            worker = %printable(&peer),
            service = %printable(&name),
            "{version} worker ready"
        );
        self.workers.insert(
            peer.clone(),
            Worker {
                version,
                framing,
                service: name.clone(),
                expires: later(now, self.config.worker_ttl()),
                last_sent: now,
                job: None,
            },
        );
        let service = self.services.entry(name.clone()).or_default();
        service.workers += 1;
        service.idle.push_back(peer);
        if self.next_heartbeat.is_none() {
            self.next_heartbeat = Some(later(now, self.config.heartbeat));
        }
        self.dispatch(now, &name);
    }

    /// Sends the worker's reply on to its client, and frees the worker on a final
    /// one. The caller has checked that the worker has a job for that client.
    fn forward_reply(&mut self, now: Instant, peer: &Bytes, kind: ReplyKind, body: Vec<Bytes>) {
        let Some(worker) = self.workers.get_mut(peer) else {
            return;
        };
        let Some(job) = worker.job.as_mut() else {
            return;
        };
        let name = worker.service.clone();
        let verdict = self.policy.on_reply(&ReplyView {
            client: &job.request.client,
            worker: peer,
            service: &name,
            kind,
            body: &body,
        });
        let mut service = self.services.get_mut(&name).map(|s| &mut s.stats);
        let body = match verdict {
            Verdict::Forward => Some(body),
            Verdict::Reject(replacement) => {
                bump(service.as_deref_mut(), &mut self.totals, |s| {
                    &mut s.rejected
                });
                Some(replacement)
            }
            Verdict::Discard => {
                bump(service.as_deref_mut(), &mut self.totals, |s| {
                    &mut s.discarded
                });
                None
            }
        };
        if let Some(body) = body {
            let reply = ClientReply {
                version: job.request.version,
                framing: job.request.framing,
                kind,
                service: name.clone(),
                body,
            };
            match reply.encode() {
                Ok(frames) => {
                    push_out(&mut self.out, &job.request.client, frames);
                    match kind {
                        ReplyKind::Partial => {
                            job.partial_sent = true;
                            bump(service.as_deref_mut(), &mut self.totals, |s| {
                                &mut s.partials
                            });
                        }
                        ReplyKind::Final => {
                            bump(service.as_deref_mut(), &mut self.totals, |s| &mut s.replies);
                        }
                    }
                }
                Err(error) => {
                    bump(service, &mut self.totals, |s| &mut s.partials_dropped);
                    tracing::debug!(
                        client = %printable(&job.request.client),
                        service = %printable(&name),
                        "dropped a PARTIAL for an MDP/0.1 client: {error}"
                    );
                }
            }
        }
        if kind == ReplyKind::Final {
            worker.job = None;
            if let Some(service) = self.services.get_mut(&name) {
                service.idle.push_back(peer.clone());
            }
            self.dispatch(now, &name);
        }
    }

    // --- time ---------------------------------------------------------------

    fn expire_requests(&mut self, now: Instant) {
        while let Some(entry) = self.expiries.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let ((_, seq), name) = entry.remove_entry();
            let Some(service) = self.services.get_mut(&name) else {
                continue;
            };
            let at = service.queue.iter().position(|p| p.seq == seq);
            if let Some(request) = at.and_then(|at| service.queue.remove(at)) {
                bump(Some(&mut service.stats), &mut self.totals, |s| {
                    &mut s.expired
                });
                tracing::debug!(
                    client = %printable(&request.client),
                    service = %printable(&name),
                    "a request waited request_ttl for a worker: dropped"
                );
            }
            self.forget_if_unused(&name);
        }
    }

    fn heartbeat(&mut self, now: Instant) {
        let silent: Vec<Bytes> = self
            .workers
            .iter()
            .filter(|(_, worker)| worker.expires <= now)
            .map(|(peer, _)| peer.clone())
            .collect();
        let mut touched = Vec::new();
        for peer in silent {
            self.workers_expired += 1;
            tracing::info!(
                worker = %printable(&peer),
                "a worker was silent for {:?}: removed",
                self.config.worker_ttl()
            );
            if let Some(name) = self.remove_worker(now, &peer, Removal::Expired) {
                touched.push(name);
            }
        }
        for name in touched {
            self.dispatch(now, &name);
            self.forget_if_unused(&name);
        }
        let half = self.config.heartbeat / 2;
        for (peer, worker) in &mut self.workers {
            if now.saturating_duration_since(worker.last_sent) >= half {
                let heartbeat = WorkerMessage {
                    version: worker.version,
                    framing: worker.framing,
                    command: WorkerCommand::Heartbeat,
                };
                if let Ok(frames) = heartbeat.encode() {
                    push_out(&mut self.out, peer, frames);
                }
                worker.last_sent = now;
            }
        }
        self.next_heartbeat = if self.workers.is_empty() {
            None
        } else {
            Some(later(now, self.config.heartbeat))
        };
    }

    // --- workers and queues -------------------------------------------------

    /// Sends queued requests of `name` to its idle workers, least recently used
    /// first.
    fn dispatch(&mut self, now: Instant, name: &Bytes) {
        let Some(service) = self.services.get_mut(name) else {
            return;
        };
        while !service.queue.is_empty() {
            let Some(peer) = service.idle.pop_front() else {
                break;
            };
            let Some(worker) = self.workers.get_mut(&peer) else {
                continue;
            };
            let Some(request) = service.queue.pop_front() else {
                service.idle.push_front(peer);
                break;
            };
            self.expiries.remove(&(request.expires, request.seq));
            let message = WorkerMessage {
                version: worker.version,
                framing: worker.framing,
                command: WorkerCommand::Request {
                    client: request.client.clone(),
                    body: request.body.clone(),
                },
            };
            if let Ok(frames) = message.encode() {
                push_out(&mut self.out, &peer, frames);
            }
            worker.last_sent = now;
            worker.job = Some(Job {
                request,
                partial_sent: false,
            });
        }
    }

    /// Sends DISCONNECT to `peer` and forgets it if it is a worker.
    fn disconnect(
        &mut self,
        now: Instant,
        peer: &Bytes,
        version: Version,
        framing: Framing,
        reason: &str,
    ) {
        tracing::info!(peer = %printable(peer), "sending DISCONNECT: {reason}");
        let message = WorkerMessage {
            version,
            framing,
            command: WorkerCommand::Disconnect,
        };
        if let Ok(frames) = message.encode() {
            push_out(&mut self.out, peer, frames);
        }
        self.disconnects_sent += 1;
        let _ = self.remove_worker(now, peer, Removal::Disconnected);
    }

    /// Forgets a worker; its request, if any, goes back to the queue (and to the
    /// next idle worker) or is lost. An expired worker's service is left for the
    /// caller to dispatch, once every silent worker is gone: a request must not go
    /// to a worker that is about to be removed too. Returns the service's name.
    fn remove_worker(&mut self, now: Instant, peer: &Bytes, why: Removal) -> Option<Bytes> {
        let worker = self.workers.remove(peer)?;
        let name = worker.service;
        let service = self.services.get_mut(&name)?;
        service.workers = service.workers.saturating_sub(1);
        if let Some(at) = service.idle.iter().position(|idle| idle == peer) {
            service.idle.remove(at);
        }
        if let Some(job) = worker.job {
            bump(Some(&mut service.stats), &mut self.totals, |s| {
                &mut s.workers_lost
            });
            if job.partial_sent {
                bump(Some(&mut service.stats), &mut self.totals, |s| &mut s.lost);
                tracing::warn!(
                    worker = %printable(peer),
                    client = %printable(&job.request.client),
                    service = %printable(&name),
                    "a worker went ({why:?}) after part of its reply was sent: the request is lost"
                );
            } else {
                bump(Some(&mut service.stats), &mut self.totals, |s| {
                    &mut s.requeued
                });
                tracing::info!(
                    worker = %printable(peer),
                    service = %printable(&name),
                    "a worker went ({why:?}) with a request in hand: it goes back to the queue"
                );
                let request = job.request;
                self.expiries
                    .insert((request.expires, request.seq), name.clone());
                service.queue.push_front(request);
            }
        }
        if self.workers.is_empty() {
            self.next_heartbeat = None;
        }
        if why != Removal::Expired {
            self.dispatch(now, &name);
            self.forget_if_unused(&name);
        }
        Some(name)
    }

    /// Forgets a service with no worker and nothing queued.
    fn forget_if_unused(&mut self, name: &Bytes) {
        if self
            .services
            .get(name)
            .is_some_and(|s| s.workers == 0 && s.queue.is_empty())
        {
            self.services.remove(name);
        }
    }

    fn reply_to_client(&mut self, client: &Bytes, reply: ClientReply) {
        if let Ok(frames) = reply.encode() {
            push_out(&mut self.out, client, frames);
        }
    }
}

/// The command's name in the worker's version.
fn command_name(version: Version, kind: ReplyKind) -> &'static str {
    match (version, kind) {
        (Version::V01, _) => "REPLY",
        (Version::V02, ReplyKind::Partial) => "PARTIAL",
        (Version::V02, ReplyKind::Final) => "FINAL",
    }
}

/// `now + by`, or a century from now if that overflows (a huge `request_ttl`).
fn later(now: Instant, by: Duration) -> Instant {
    now.checked_add(by)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
        .unwrap_or(now)
}

/// Queues `frames` for `peer`, routing id first.
fn push_out(out: &mut VecDeque<Message>, peer: &Bytes, frames: Vec<Bytes>) {
    let mut message = Vec::with_capacity(frames.len() + 1);
    message.push(peer.clone());
    message.extend(frames);
    out.push_back(Message::from(message));
}
