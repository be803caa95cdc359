//! Client ↔ broker ↔ worker, all three from this crate, in one process: both
//! protocol versions, partial replies, MMI, a worker serving two brokers, failover
//! between brokers, a broker restart, concurrent requests, the blocking APIs.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use purezmq_broker::broker::{Broker, BrokerConfig, BrokerHandle};
use purezmq_broker::client::{BlockingClient, Client};
use purezmq_broker::mdp::{Framing, ReplyKind, Version};
use purezmq_broker::worker::{BlockingWorker, Handler, Request, Worker, WorkerError};
use tokio::sync::oneshot;

/// Long enough for a loaded machine; tests that pass do not wait for it.
const LIMIT: Duration = Duration::from_secs(10);

fn config() -> BrokerConfig {
    BrokerConfig {
        heartbeat: Duration::from_millis(250),
        ..BrokerConfig::default()
    }
}

fn start_broker() -> BrokerHandle {
    Broker::new(config())
        .bind("tcp://127.0.0.1:*")
        .spawn()
        .unwrap()
}

/// A broker on `endpoint`, as soon as the port is free again.
async fn restart_broker(endpoint: &str) -> BrokerHandle {
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        match Broker::new(config()).bind(endpoint).spawn() {
            Ok(broker) => return broker,
            Err(error) if tokio::time::Instant::now() < deadline => {
                eprintln!("rebinding {endpoint}: {error}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => panic!("cannot rebind {endpoint}: {error}"),
        }
    }
}

fn worker(endpoints: Vec<String>, service: &str) -> Worker {
    Worker::new(endpoints, service.to_owned())
        .heartbeat(Duration::from_millis(250))
        .reconnect_delay(Duration::from_millis(100))
}

/// Runs `worker` in a task until the sender is used or dropped.
fn run<H: Handler>(
    worker: Worker,
    handler: H,
) -> (
    oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), WorkerError>>,
) {
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(worker.run(handler, async move {
        let _ = stopped.await;
    }));
    (stop, task)
}

async fn echo(request: Request) -> Vec<Bytes> {
    request.body
}

fn client(endpoints: &[&str], version: Version) -> Client {
    Client::builder()
        .endpoints(endpoints)
        .version(version)
        .timeout(Duration::from_secs(1))
        .retries(10)
        .build()
        .unwrap()
}

/// Waits until the broker the client talks to knows a worker for `service`.
async fn wait_for_service(client: &Client, service: &str) {
    let deadline = tokio::time::Instant::now() + LIMIT;
    while !client.has_service(service.to_owned()).await.unwrap() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no worker for {service} registered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn body(text: &str) -> Vec<Bytes> {
    vec![Bytes::from(text.to_owned())]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_01_client_broker_and_worker() {
    let broker = start_broker();
    let endpoint = broker.endpoints()[0].clone();
    let (stop, task) = run(worker(vec![endpoint.clone()], "echo"), echo);
    let client = client(&[&endpoint], Version::V01);
    wait_for_service(&client, "echo").await;
    assert!(!client.has_service("nobody").await.unwrap());
    let reply = client
        .request("echo", vec!["a".into(), Bytes::new(), "c".into()])
        .await
        .unwrap();
    assert_eq!(reply, ["a", "", "c"]);
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
    broker.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_02_partials_stream_through_the_broker() {
    let broker = start_broker();
    let endpoint = broker.endpoints()[0].clone();
    let streamer = |request: Request| async move {
        for n in 1..=3 {
            request.partial(body(&format!("part {n}"))).await.unwrap();
        }
        body("done")
    };
    let (stop, task) = run(
        worker(vec![endpoint.clone()], "stream").version(Version::V02),
        streamer,
    );
    for framing in [Framing::Bare, Framing::Delimited] {
        let client = Client::builder()
            .endpoint(&endpoint)
            .version(Version::V02)
            .framing(framing)
            .timeout(LIMIT)
            .build()
            .unwrap();
        wait_for_service(&client, "stream").await;
        let replies: Vec<_> = client
            .request_stream("stream", body("go"))
            .map(|reply| reply.unwrap())
            .collect()
            .await;
        let seen: Vec<_> = replies
            .iter()
            .map(|reply| (reply.kind, reply.body.clone()))
            .collect();
        assert_eq!(
            seen,
            [
                (ReplyKind::Partial, body("part 1")),
                (ReplyKind::Partial, body("part 2")),
                (ReplyKind::Partial, body("part 3")),
                (ReplyKind::Final, body("done")),
            ],
            "{framing:?}"
        );
    }
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
    broker.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_mix_through_the_broker() {
    let broker = start_broker();
    let endpoint = broker.endpoints()[0].clone();
    let (stop_old, old) = run(worker(vec![endpoint.clone()], "old"), echo);
    let (stop_new, new) = run(
        worker(vec![endpoint.clone()], "new").version(Version::V02),
        echo,
    );
    let client_01 = client(&[&endpoint], Version::V01);
    let client_02 = client(&[&endpoint], Version::V02);
    wait_for_service(&client_01, "old").await;
    wait_for_service(&client_01, "new").await;
    assert_eq!(client_01.request("new", body("x")).await.unwrap(), ["x"]);
    assert_eq!(client_02.request("old", body("y")).await.unwrap(), ["y"]);
    stop_old.send(()).unwrap();
    stop_new.send(()).unwrap();
    old.await.unwrap().unwrap();
    new.await.unwrap().unwrap();
    broker.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_worker_serves_two_brokers() {
    let first = start_broker();
    let second = start_broker();
    let endpoints = vec![first.endpoints()[0].clone(), second.endpoints()[0].clone()];
    let where_from = |request: Request| async move { body(&request.endpoint) };
    let (stop, task) = run(worker(endpoints.clone(), "where"), where_from);
    for endpoint in &endpoints {
        let client = client(&[endpoint], Version::V01);
        wait_for_service(&client, "where").await;
        assert_eq!(
            client.request("where", vec![]).await.unwrap(),
            body(endpoint)
        );
    }
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
    first.stop().await.unwrap();
    second.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_fail_over_to_the_second_broker_when_the_first_stops() {
    let first = start_broker();
    let second = start_broker();
    let endpoints = vec![first.endpoints()[0].clone(), second.endpoints()[0].clone()];
    let (stop, task) = run(worker(endpoints.clone(), "echo"), echo);
    let client = client(&[&endpoints[0], &endpoints[1]], Version::V01);
    wait_for_service(&client, "echo").await;
    assert_eq!(client.request("echo", body("1")).await.unwrap(), ["1"]);
    assert_eq!(client.endpoint().await, endpoints[0]);
    first.stop().await.unwrap();
    assert_eq!(client.request("echo", body("2")).await.unwrap(), ["2"]);
    assert_eq!(client.endpoint().await, endpoints[1]);
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
    second.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_broker_restart_the_worker_registers_again_and_the_retry_is_answered() {
    let broker = start_broker();
    let endpoint = broker.endpoints()[0].clone();
    let (stop, task) = run(worker(vec![endpoint.clone()], "echo"), echo);
    let client = client(&[&endpoint], Version::V01);
    wait_for_service(&client, "echo").await;
    assert_eq!(
        client.request("echo", body("before")).await.unwrap(),
        ["before"]
    );
    broker.stop().await.unwrap();
    // A request while no broker runs: its retries reach the new one.
    let pending = tokio::spawn({
        let client = client.clone();
        async move { client.request("echo", body("across")).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let broker = restart_broker(&endpoint).await;
    assert_eq!(pending.await.unwrap().unwrap(), ["across"]);
    assert!(client.has_service("echo").await.unwrap());
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
    broker.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_each_get_their_own_reply() {
    let broker = start_broker();
    let endpoint = broker.endpoints()[0].clone();
    let served = Arc::new(Mutex::new(HashSet::new()));
    let mut workers = Vec::new();
    for name in ["w1", "w2"] {
        let served = Arc::clone(&served);
        let handler = move |request: Request| {
            let served = Arc::clone(&served);
            async move {
                served.lock().unwrap().insert(name);
                tokio::time::sleep(Duration::from_millis(5)).await;
                request.body
            }
        };
        workers.push(run(worker(vec![endpoint.clone()], "echo"), handler));
    }
    let clients: Vec<Client> = (0..3).map(|_| client(&[&endpoint], Version::V01)).collect();
    wait_for_service(&clients[0], "echo").await;
    let mut tasks = Vec::new();
    for (c, client) in clients.iter().enumerate() {
        for t in 0..2 {
            let client = client.clone();
            tasks.push(tokio::spawn(async move {
                for n in 0..10 {
                    let text = format!("client {c} task {t} request {n}");
                    let reply = client.request("echo", body(&text)).await.unwrap();
                    assert_eq!(reply, body(&text));
                }
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    for (stop, task) in workers {
        stop.send(()).unwrap();
        task.await.unwrap().unwrap();
    }
    broker.stop().await.unwrap();
}

#[test]
fn blocking_client_and_worker_through_the_broker() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let broker = runtime.block_on(async { start_broker() });
    let endpoint = broker.endpoints()[0].clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let worker_thread = std::thread::spawn({
        let endpoint = endpoint.clone();
        move || {
            BlockingWorker::new(worker(vec![endpoint], "upper")).run_until(
                |body: Vec<Bytes>| {
                    body.iter()
                        .map(|frame| Bytes::from(frame.to_ascii_uppercase()))
                        .collect()
                },
                async move {
                    let _ = stopped.await;
                },
            )
        }
    });
    let client = BlockingClient::new(
        Client::builder()
            .endpoint(&endpoint)
            .timeout(Duration::from_secs(1))
            .retries(10),
    )
    .unwrap();
    let deadline = std::time::Instant::now() + LIMIT;
    while !client.has_service("upper").unwrap() {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        client
            .request("upper", vec!["quiet".into(), "please".into()])
            .unwrap(),
        ["QUIET", "PLEASE"]
    );
    stop.send(()).unwrap();
    worker_thread.join().unwrap().unwrap();
    runtime.block_on(broker.stop()).unwrap();
}
