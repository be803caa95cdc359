//! The clients and the echo workers of the broker cases: purezmq DEALERs speaking
//! MDP through `purezmq_broker::mdp` (or bare envelopes through a queue), the same
//! whatever the broker, so that only the broker differs between runs.
//!
//! Each client keeps one request in flight: it sends, waits for the reply, and
//! times the round trip. Each worker echoes every request's body. All the clients
//! of a run share one process and its runtime, and so do all the workers.

use std::time::{Duration, Instant};

use bytes::Bytes;
use purezmq::{Message, Socket, SocketType};
use purezmq_broker::mdp::{
    CLIENT_02, ClientReply, ClientRequest, Framing, ReplyKind, Version, WorkerCommand,
    WorkerMessage,
};
use tokio::sync::{mpsc, watch};

use super::control;
use super::stacks::{Broker, Stack, check_size, runtime};

/// The service the workers offer and the clients ask for.
pub const SERVICE: &[u8] = b"echo";

/// How often an idle or busy worker tells the broker it is alive: well inside every
/// broker's expiry (2.5 s × 3 for the guide's and ours, 10 s for majortomo).
const HEARTBEAT: Duration = Duration::from_secs(1);

/// How the clients and workers talk to a broker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// Through a plain queue: a client sends `[empty, body]` as a REQ would and gets
    /// it back; a worker receives `[client, empty, body]` and echoes it, as a REP
    /// would (the queue's ROUTER adds and removes the client's routing id).
    Queue,
    /// Through a load-balancing queue: as [`Dialect::Queue`], and a worker says
    /// `[empty, READY]` first.
    LoadBalanced,
    /// MDP/0.1 (RFC 7), every message after an empty frame.
    Mdp01,
    /// MDP/0.2 as majortomo 0.2.0 speaks it, which departs from RFC 18 on the
    /// client side: the empty frame first, the client's REQUEST as 0x02 (RFC 18:
    /// 0x01), and replies with the worker's FINAL byte (0x04; RFC 18: 0x03) and no
    /// service frame. Its worker side is RFC 18's, with the empty frame first.
    Majortomo,
}

impl Dialect {
    /// The name in worker arguments.
    pub fn key(self) -> &'static str {
        match self {
            Dialect::Queue => "queue",
            Dialect::LoadBalanced => "lb-queue",
            Dialect::Mdp01 => "mdp-0.1",
            Dialect::Majortomo => "majortomo",
        }
    }

    /// The dialect named `key`.
    pub fn parse(key: &str) -> Option<Dialect> {
        [
            Dialect::Queue,
            Dialect::LoadBalanced,
            Dialect::Mdp01,
            Dialect::Majortomo,
        ]
        .into_iter()
        .find(|d| d.key() == key)
    }

    /// What the clients and workers speak to `stack`'s `broker`: majortomo knows
    /// its MDP/0.2 only, the guide's broker MDP/0.1 only, and purezmq's broker is
    /// run with MDP/0.1, the published version (it serves 0.2 too).
    pub fn of(stack: Stack, broker: Broker) -> Dialect {
        match (broker, stack) {
            (Broker::Queue, _) => Dialect::Queue,
            (Broker::LoadBalancer, _) => Dialect::LoadBalanced,
            (Broker::Majordomo, Stack::Majortomo) => Dialect::Majortomo,
            (Broker::Majordomo, _) => Dialect::Mdp01,
        }
    }

    /// The MDP version, `None` for the queues.
    fn version(self) -> Option<Version> {
        match self {
            Dialect::Queue | Dialect::LoadBalanced => None,
            Dialect::Mdp01 => Some(Version::V01),
            Dialect::Majortomo => Some(Version::V02),
        }
    }

    /// A client's request carrying `body`.
    fn request(self, body: Bytes) -> Vec<Bytes> {
        match self {
            Dialect::Queue | Dialect::LoadBalanced => vec![Bytes::new(), body],
            Dialect::Mdp01 => ClientRequest {
                version: Version::V01,
                framing: Framing::Delimited,
                service: Bytes::from_static(SERVICE),
                body: vec![body],
            }
            .encode(),
            Dialect::Majortomo => vec![
                Bytes::new(),
                Bytes::from_static(CLIENT_02),
                Bytes::from_static(&[MAJORTOMO_REQUEST]),
                Bytes::from_static(SERVICE),
                body,
            ],
        }
    }

    /// The body of the final reply a client received.
    fn reply_body(self, frames: &[Bytes]) -> Result<Bytes, String> {
        match self {
            Dialect::Queue | Dialect::LoadBalanced => match frames {
                [empty, body] if empty.is_empty() => Ok(body.clone()),
                _ => Err(format!("a queue reply of {} frames", frames.len())),
            },
            Dialect::Mdp01 => match ClientReply::parse(frames) {
                Ok(reply) => Ok(reply.body.first().cloned().unwrap_or_default()),
                Err(e) => Err(format!("a malformed reply: {e}")),
            },
            Dialect::Majortomo => match frames {
                [empty, header, command, body, ..]
                    if empty.is_empty()
                        && header.as_ref() == CLIENT_02
                        && command.as_ref() == [MAJORTOMO_FINAL] =>
                {
                    Ok(body.clone())
                }
                _ => Err(format!(
                    "not a majortomo FINAL reply: {} frames",
                    frames.len()
                )),
            },
        }
    }
}

/// majortomo's client REQUEST byte (RFC 18's is 0x01).
const MAJORTOMO_REQUEST: u8 = 0x02;
/// majortomo's FINAL byte in replies to clients (RFC 18's is 0x03).
const MAJORTOMO_FINAL: u8 = 0x04;

fn text(error: purezmq::Error) -> String {
    error.to_string()
}

/// What the clients of one run measured.
pub struct ClientsReport {
    /// Every measured round trip, in nanoseconds, all clients together.
    pub round_trips: Vec<u64>,
    /// From the start of the measurement to the last client's last reply.
    pub elapsed: Duration,
}

/// The clients of one run.
pub struct Clients<'a> {
    /// The broker's client endpoint.
    pub endpoint: &'a str,
    /// How many clients, each a DEALER of its own.
    pub count: usize,
    /// How they talk to the broker.
    pub dialect: Dialect,
    /// Request (and reply) body size in bytes.
    pub size: usize,
    /// Round trips each client makes before the measurement.
    pub warmup: usize,
    /// How long the measurement lasts.
    pub duration: Duration,
}

impl Clients<'_> {
    /// Connects the clients, warms each up, then has all of them make round trips
    /// for the duration, started together once every one is warm.
    pub fn run(&self) -> Result<ClientsReport, String> {
        runtime()?.block_on(async {
            let (warm_tx, mut warm_rx) = mpsc::channel(self.count.max(1));
            let (start_tx, start_rx) = watch::channel(None::<Instant>);
            let mut tasks = Vec::with_capacity(self.count);
            for _ in 0..self.count {
                let socket = Socket::new(SocketType::Dealer);
                socket.connect(self.endpoint).map_err(text)?;
                let client = Client {
                    socket,
                    dialect: self.dialect,
                    payload: vec![0u8; self.size],
                };
                let warmup = self.warmup;
                let warm_tx = warm_tx.clone();
                let start_rx = start_rx.clone();
                tasks.push(tokio::spawn(client.run(warmup, warm_tx, start_rx)));
            }
            drop(warm_tx);
            for _ in 0..self.count {
                match warm_rx.recv().await {
                    Some(Ok(())) => {}
                    Some(Err(e)) => return Err(format!("a client's warm-up failed: {e}")),
                    None => return Err("the clients ended during the warm-up".to_owned()),
                }
            }
            let start = Instant::now();
            // Every client holds a receiver: the send cannot fail.
            let _ = start_tx.send(Some(start + self.duration));
            let mut round_trips = Vec::new();
            for task in tasks {
                let times = task
                    .await
                    .map_err(|e| format!("a client task failed: {e}"))??;
                round_trips.extend(times);
            }
            Ok(ClientsReport {
                round_trips,
                elapsed: start.elapsed(),
            })
        })
    }
}

/// One client: a DEALER and what it sends.
struct Client {
    socket: Socket,
    dialect: Dialect,
    payload: Vec<u8>,
}

impl Client {
    /// Warms up, says so, waits for the common deadline, then makes round trips
    /// until it passes; returns each one's time in nanoseconds.
    async fn run(
        self,
        warmup: usize,
        warm: mpsc::Sender<Result<(), String>>,
        mut start: watch::Receiver<Option<Instant>>,
    ) -> Result<Vec<u64>, String> {
        let warmed = async {
            for _ in 0..warmup {
                self.round_trip().await?;
            }
            Ok::<_, String>(())
        }
        .await;
        let failed = warmed.is_err();
        // The orchestrating task waits for every client's word, good or bad.
        let _ = warm.send(warmed).await;
        if failed {
            return Ok(Vec::new());
        }
        let deadline = loop {
            if let Some(deadline) = *start.borrow_and_update() {
                break deadline;
            }
            start
                .changed()
                .await
                .map_err(|_| "the measurement never started".to_owned())?;
        };
        let mut times = Vec::with_capacity(100_000);
        while Instant::now() < deadline {
            let sent = Instant::now();
            self.round_trip().await?;
            times.push(sent.elapsed().as_nanos() as u64);
        }
        self.socket
            .set_options(|o| o.linger = Some(Duration::ZERO))
            .map_err(text)?;
        self.socket.close().await;
        Ok(times)
    }

    /// One request and its reply.
    async fn round_trip(&self) -> Result<(), String> {
        let request = self.dialect.request(Bytes::copy_from_slice(&self.payload));
        self.socket.send(request).await.map_err(text)?;
        let reply = self.socket.recv().await.map_err(text)?;
        let body = self.dialect.reply_body(reply.frames())?;
        check_size(body.len(), self.payload.len())
    }
}

/// The echo workers of one run.
pub struct Workers<'a> {
    /// The broker's worker endpoint.
    pub endpoint: &'a str,
    /// How many workers, each a DEALER of its own.
    pub count: usize,
    /// How they talk to the broker.
    pub dialect: Dialect,
}

impl Workers<'_> {
    /// Connects the workers, registers them with a Majordomo broker, calls
    /// `ready`, and echoes until `STOP`.
    pub fn run(&self, ready: &mut dyn FnMut()) -> Result<(), String> {
        let runtime = runtime()?;
        let result = runtime.block_on(async {
            let mut tasks = Vec::with_capacity(self.count);
            for _ in 0..self.count {
                let socket = Socket::new(SocketType::Dealer);
                socket.connect(self.endpoint).map_err(text)?;
                let worker = Worker {
                    socket,
                    dialect: self.dialect,
                };
                worker.register().await?;
                tasks.push(tokio::spawn(worker.run()));
            }
            ready();
            while !control::stopped() {
                if let Some(done) = tasks.iter_mut().find(|t| t.is_finished()) {
                    return match done.await {
                        Ok(Err(e)) => Err(e),
                        Ok(Ok(())) => Err("a worker stopped before the run ended".to_owned()),
                        Err(e) => Err(format!("a worker task failed: {e}")),
                    };
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            for task in &tasks {
                task.abort();
            }
            Ok(())
        });
        runtime.shutdown_background();
        result
    }
}

/// One echo worker.
struct Worker {
    socket: Socket,
    dialect: Dialect,
}

impl Worker {
    /// Offers [`SERVICE`] to a Majordomo broker, says `READY` to a load-balancing
    /// queue (nothing to do for a plain one).
    async fn register(&self) -> Result<(), String> {
        let Some(version) = self.dialect.version() else {
            if self.dialect == Dialect::LoadBalanced {
                let hello = vec![Bytes::new(), Bytes::from_static(b"READY")];
                self.socket.send(hello).await.map_err(text)?;
            }
            return Ok(());
        };
        self.send(
            version,
            WorkerCommand::Ready {
                service: Bytes::from_static(SERVICE),
            },
        )
        .await
    }

    /// Sends `command` in `version`, after an empty frame.
    async fn send(&self, version: Version, command: WorkerCommand) -> Result<(), String> {
        let message = WorkerMessage {
            version,
            framing: Framing::Delimited,
            command,
        };
        let frames = message.encode().map_err(|e| e.to_string())?;
        self.socket.send(frames).await.map_err(text)
    }

    /// Echoes requests, heartbeating, until the task is aborted or the broker
    /// disconnects the worker.
    async fn run(self) -> Result<(), String> {
        let Some(version) = self.dialect.version() else {
            loop {
                // [client id, empty, body] from a queue, [empty, client id, empty,
                // body] from a load-balancing one: back the way it came.
                let message = self.socket.recv().await.map_err(text)?;
                self.socket.send(message).await.map_err(text)?;
            }
        };
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        heartbeat.tick().await;
        loop {
            tokio::select! {
                message = self.socket.recv() => {
                    let message = message.map_err(text)?;
                    self.handle(version, message).await?;
                }
                _ = heartbeat.tick() => self.send(version, WorkerCommand::Heartbeat).await?,
            }
        }
    }

    /// Answers one message from the broker: echoes a request, ignores a heartbeat.
    async fn handle(&self, version: Version, message: Message) -> Result<(), String> {
        let parsed = WorkerMessage::parse(message.frames())
            .map_err(|e| format!("the broker sent a malformed worker message: {e}"))?;
        match parsed.command {
            WorkerCommand::Request { client, body } => {
                let reply = WorkerCommand::Reply {
                    kind: ReplyKind::Final,
                    client,
                    body,
                };
                self.send(version, reply).await
            }
            WorkerCommand::Heartbeat => Ok(()),
            WorkerCommand::Disconnect => Err("the broker disconnected a worker".to_owned()),
            other => Err(format!("the broker sent a worker {}", other.name())),
        }
    }
}
