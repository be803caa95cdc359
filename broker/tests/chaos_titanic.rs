//! Chaos with Titanic (issue 12's proof): `purezmq broker --titanic DIR` and four
//! `purezmq echo` workers as processes; 16 clients submit requests through
//! `titanic.request` while workers are killed with SIGKILL and restarted at random
//! every 100–300 ms and the broker (Titanic inside it) is killed with SIGKILL once and
//! restarted on the same port and directory. Every request answered `200` (accepted)
//! must then be answered through `titanic.reply` with exactly its own body.
//!
//! `CHAOS_TITANIC_REQUESTS` sets how many requests are submitted (1000 by default,
//! about 10 s in a debug build). A client sends each request once and waits 2 s:
//! requests that get no answer (in flight when the broker dies) are not accepted;
//! they are counted, not checked.

mod cli_util;

use std::path::{Path, PathBuf};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cli_util::free_port;
use purezmq_broker::client::{Client, ClientError};
use purezmq_broker::titanic::Status;
use rand::Rng;

/// Clients submitting at the same time.
const CLIENTS: usize = 16;
/// Echo worker processes.
const WORKERS: usize = 4;
/// How long all accepted requests may take to be answered and closed once the chaos
/// stops: 30 s, or 5 ms a request for more than 6000 (each `titanic.close` is a
/// durable commit).
fn drain_limit(requests: usize) -> Duration {
    Duration::from_secs(30).max(Duration::from_millis(5) * requests as u32)
}
/// How long a process may take to start.
const START_LIMIT: Duration = Duration::from_secs(30);

fn requests() -> usize {
    std::env::var("CHAOS_TITANIC_REQUESTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000)
}

type Process = cli_util::LoggedProcess;

/// Waits (at most [`START_LIMIT`]) until `process`'s output has a line with `text`.
fn wait_output(process: &Process, text: &str) {
    let start = Instant::now();
    loop {
        let (found, output) = process.has_line(text);
        if found {
            return;
        }
        assert!(
            start.elapsed() < START_LIMIT,
            "no line with {text:?} in {}:\n{output}",
            process.log().display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The processes of the test and where their logs go.
struct Cluster {
    dir: PathBuf,
    port: u16,
    broker: Process,
    workers: Vec<Process>,
    starts: usize,
}

impl Cluster {
    fn endpoint(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    fn log(&mut self, name: &str) -> PathBuf {
        self.starts += 1;
        self.dir.join(format!("{:04}-{name}.log", self.starts))
    }

    /// `purezmq broker --titanic DIR`, once it says Titanic is up.
    fn start_broker(dir: &Path, port: u16, log: PathBuf) -> Process {
        let store = dir.join("titanic");
        let broker = Process::start(
            &[
                "broker",
                &format!("tcp://127.0.0.1:{port}"),
                "--titanic",
                store.to_str().unwrap(),
                "--heartbeat",
                "250ms",
            ],
            log,
        );
        wait_output(&broker, "titanic storing requests in");
        broker
    }

    /// `purezmq echo`, not waiting for it to register.
    fn start_worker(&mut self) -> Process {
        let log = self.log("echo");
        Process::start(
            &["echo", "--broker", &self.endpoint(), "--heartbeat", "250ms"],
            log,
        )
    }

    fn new(dir: PathBuf) -> Cluster {
        let port = free_port();
        let broker = Cluster::start_broker(&dir, port, dir.join("0000-broker.log"));
        let mut cluster = Cluster {
            dir,
            port,
            broker,
            workers: Vec::new(),
            starts: 0,
        };
        for _ in 0..WORKERS {
            let worker = cluster.start_worker();
            wait_output(&worker, "worker ready");
            cluster.workers.push(worker);
        }
        cluster
    }

    fn kill_a_worker_and_restart_it(&mut self) {
        let i = rand::rng().random_range(0..self.workers.len());
        self.workers[i].kill9();
        self.workers[i] = self.start_worker();
    }

    /// Returns how long the new broker took to be up.
    fn kill_the_broker_and_restart_it(&mut self) -> Duration {
        self.broker.kill9();
        let down = Instant::now();
        let log = self.log("broker");
        self.broker = Cluster::start_broker(&self.dir, self.port, log);
        down.elapsed()
    }
}

/// What the submitting clients saw.
#[derive(Default)]
struct Submitted {
    /// `(uuid, body)` of each request answered 200.
    accepted: Vec<(Bytes, String)>,
    /// Requests with no answer (timeouts while the broker was down).
    unanswered: usize,
    /// Requests answered with a status other than 200, with the status.
    refused: Vec<String>,
}

async fn submit(client: Client, next: Arc<AtomicUsize>, total: usize, tag: u64) -> Submitted {
    let mut seen = Submitted::default();
    loop {
        let i = next.fetch_add(1, Ordering::SeqCst);
        if i >= total {
            return seen;
        }
        let body = format!("request {i} of run {tag:016x}");
        match client
            .request("titanic.request", vec!["echo".into(), body.clone().into()])
            .await
        {
            Ok(reply) => match reply.first().map(|s| Status::parse(s)) {
                Some(Ok(Status::Ok)) if reply.len() == 2 => {
                    seen.accepted.push((reply[1].clone(), body));
                }
                _ => seen.refused.push(format!("{reply:?}")),
            },
            Err(ClientError::Timeout { .. }) => seen.unanswered += 1,
            Err(error) => panic!("titanic.request failed: {error}"),
        }
    }
}

/// Asks `titanic.reply` until the request's reply is there (or `deadline`): `Ok`
/// when it is exactly `[body]`, `Err` with what came otherwise.
async fn drain_one(
    client: &Client,
    uuid: &Bytes,
    body: &str,
    deadline: Instant,
) -> Result<(), String> {
    loop {
        let last = match client.request("titanic.reply", vec![uuid.clone()]).await {
            Ok(reply) => match reply.first().map(|s| Status::parse(s)) {
                Some(Ok(Status::Ok)) => {
                    return if reply[1..] == [Bytes::from(body.to_owned())] {
                        Ok(())
                    } else {
                        Err(format!("{uuid:?} ({body:?}) answered {reply:?}"))
                    };
                }
                Some(Ok(Status::Pending)) => format!("{reply:?}"),
                _ => return Err(format!("{uuid:?} ({body:?}) answered {reply:?}")),
            },
            Err(error) => error.to_string(),
        };
        if Instant::now() > deadline {
            return Err(format!("{uuid:?} ({body:?}) not answered; last: {last}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn client(endpoint: &str) -> Client {
    Client::builder()
        .endpoint(endpoint)
        .timeout(Duration::from_secs(2))
        .retries(0)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_titanic_every_accepted_request_is_answered_after_kill_9_of_workers_and_broker() {
    let total = requests();
    let dir = tempfile::tempdir().unwrap();
    let cluster = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        move || Cluster::new(dir)
    })
    .await
    .unwrap();
    let endpoint = cluster.endpoint();
    let started = Instant::now();

    // The chaos: a worker killed and restarted every 100-300 ms; the broker killed
    // and restarted once, when a third of the requests have been handed out.
    let next = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let chaos = std::thread::spawn({
        let next = next.clone();
        let stop = stop.clone();
        move || {
            let mut cluster = cluster;
            let mut worker_kills = 0;
            let mut broker_kill = None;
            while !stop.load(Ordering::SeqCst) {
                let pause = rand::rng().random_range(100..=300);
                std::thread::sleep(Duration::from_millis(pause));
                let handed_out = next.load(Ordering::SeqCst);
                if broker_kill.is_none() && handed_out >= total / 3 {
                    let restart = cluster.kill_the_broker_and_restart_it();
                    broker_kill = Some((handed_out, restart));
                } else {
                    cluster.kill_a_worker_and_restart_it();
                    worker_kills += 1;
                }
            }
            (cluster, worker_kills, broker_kill)
        }
    });

    let tag: u64 = rand::random();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| tokio::spawn(submit(client(&endpoint), next.clone(), total, tag)))
        .collect();
    let mut submitted = Submitted::default();
    for task in clients {
        let seen = task.await.unwrap();
        submitted.accepted.extend(seen.accepted);
        submitted.unanswered += seen.unanswered;
        submitted.refused.extend(seen.refused);
    }
    let submit_time = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    let (cluster, worker_kills, broker_kill) =
        tokio::task::spawn_blocking(move || chaos.join().unwrap())
            .await
            .unwrap();
    let (killed_at, restart) = broker_kill.expect("the broker was not killed");
    assert!(
        killed_at < total,
        "the broker was killed only after all requests were sent"
    );

    // All accepted requests are answered, each with its own body, then closed.
    let drain_start = Instant::now();
    let deadline = drain_start + drain_limit(total);
    let accepted = Arc::new(submitted.accepted.clone());
    let cursor = Arc::new(AtomicUsize::new(0));
    let drainers: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (client, accepted, cursor) = (client(&endpoint), accepted.clone(), cursor.clone());
            tokio::spawn(async move {
                let mut failures = Vec::new();
                loop {
                    let i = cursor.fetch_add(1, Ordering::SeqCst);
                    let Some((uuid, body)) = accepted.get(i) else {
                        return failures;
                    };
                    if let Err(failure) = drain_one(&client, uuid, body, deadline).await {
                        failures.push(failure);
                        continue;
                    }
                    let closed = client.request("titanic.close", vec![uuid.clone()]).await;
                    match closed
                        .as_deref()
                        .map(|reply| reply.first().map(|s| Status::parse(s)))
                    {
                        Ok(Some(Ok(Status::Ok))) => {}
                        _ => failures.push(format!("titanic.close {uuid:?}: {closed:?}")),
                    }
                }
            })
        })
        .collect();
    let mut failures = Vec::new();
    for task in drainers {
        failures.extend(task.await.unwrap());
    }
    let drain_time = drain_start.elapsed();

    println!(
        "chaos_titanic: {total} requests from {CLIENTS} clients in {submit_time:?}: \
         {} accepted, {} not accepted (no answer), {} refused; {worker_kills} worker kills, \
         broker killed after {killed_at} requests were handed out, up again in {restart:?}; accepted ones answered and closed in {drain_time:?} after the chaos; \
         {} not answered correctly",
        submitted.accepted.len(),
        submitted.unanswered,
        submitted.refused.len(),
        failures.len(),
    );
    if !failures.is_empty() {
        let log = std::fs::read_to_string(cluster.broker.log()).unwrap_or_default();
        panic!(
            "{} of {} accepted requests not answered correctly, e.g. {:?}\nbroker log:\n{log}",
            failures.len(),
            submitted.accepted.len(),
            &failures[..failures.len().min(5)],
        );
    }
    assert!(
        submitted.refused.is_empty(),
        "titanic.request refused: {:?}",
        submitted.refused
    );
    assert!(!submitted.accepted.is_empty(), "no request accepted at all");
    drop(cluster);
}
