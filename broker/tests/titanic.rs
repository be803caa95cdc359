//! Titanic (RFC 9) wired to a running broker: through the library, and as
//! `purezmq broker --titanic DIR` killed with SIGKILL: a request accepted with 200
//! is delivered once the broker (with Titanic in it) and a worker are back, and a
//! request whose worker is killed mid-flight is delivered by the next worker.

mod cli_util;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cli_util::{free_port, purezmq, wait_listening};
use purezmq_broker::broker::{Broker, BrokerConfig};
use purezmq_broker::client::Client;
use purezmq_broker::titanic::{DispatcherConfig, Status, Titanic, TitanicConfig};
use purezmq_broker::worker::{Request, Worker};

/// How long any wait in these tests may take before it fails.
const LIMIT: Duration = Duration::from_secs(30);

fn client(endpoint: &str) -> Client {
    Client::builder()
        .endpoint(endpoint)
        .timeout(Duration::from_secs(3))
        .retries(5)
        .build()
        .unwrap()
}

/// `titanic.request SERVICE BODY`: the reply's status and, on 200, the UUID.
async fn submit(client: &Client, service: &str, body: &str) -> (Status, Bytes) {
    let reply = client
        .request(
            "titanic.request",
            vec![service.to_owned().into(), body.to_owned().into()],
        )
        .await
        .unwrap();
    let status = Status::parse(&reply[0]).unwrap();
    (status, reply.get(1).cloned().unwrap_or_default())
}

/// `titanic.reply UUID`: the status and the frames after it.
async fn reply(client: &Client, uuid: &Bytes) -> (Status, Vec<Bytes>) {
    let reply = client
        .request("titanic.reply", vec![uuid.clone()])
        .await
        .unwrap();
    (Status::parse(&reply[0]).unwrap(), reply[1..].to_vec())
}

/// Asks `titanic.reply` until it is not 300 (at most [`LIMIT`]).
async fn wait_reply(client: &Client, uuid: &Bytes) -> (Status, Vec<Bytes>) {
    let start = Instant::now();
    loop {
        let answer = reply(client, uuid).await;
        if answer.0 != Status::Pending {
            return answer;
        }
        assert!(
            start.elapsed() < LIMIT,
            "no reply for {uuid:?} in {LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn echo_worker(endpoint: &str) -> Worker {
    Worker::new(endpoint, "echo").heartbeat(Duration::from_millis(100))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_waits_for_its_worker_then_its_reply_is_kept_until_closed() {
    let broker = Broker::new(BrokerConfig {
        heartbeat: Duration::from_millis(100),
        ..BrokerConfig::default()
    })
    .bind("tcp://127.0.0.1:*")
    .spawn()
    .unwrap();
    let endpoint = broker.endpoints()[0].clone();
    let dir = tempfile::tempdir().unwrap();
    let config = TitanicConfig {
        heartbeat: Duration::from_millis(100),
        dispatcher: DispatcherConfig {
            retry_min: Duration::from_millis(20),
            retry_max: Duration::from_millis(200),
            ..DispatcherConfig::default()
        },
        ..TitanicConfig::default()
    };
    let titanic = Titanic::new(dir.path(), config)
        .unwrap()
        .serve(&endpoint)
        .unwrap();
    let client = client(&endpoint);

    let (status, uuid) = submit(&client, "echo", "hello").await;
    assert_eq!(status, Status::Ok);
    assert_eq!(uuid.len(), 32, "{uuid:?} is not 32 hex digits");
    assert!(uuid.iter().all(u8::is_ascii_hexdigit));

    // No worker for "echo" yet: the dispatcher keeps retrying, the reply is pending.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(reply(&client, &uuid).await, (Status::Pending, vec![]));

    let (stop_echo, echo_stopped) = tokio::sync::oneshot::channel::<()>();
    let echo = tokio::spawn(echo_worker(&endpoint).run(
        |request: Request| async move { request.body },
        async move {
            let _ = echo_stopped.await;
        },
    ));

    assert_eq!(
        wait_reply(&client, &uuid).await,
        (Status::Ok, vec![Bytes::from("hello")])
    );
    // The reply stays until closed.
    assert_eq!(reply(&client, &uuid).await.0, Status::Ok);
    let closed = client
        .request("titanic.close", vec![uuid.clone()])
        .await
        .unwrap();
    assert_eq!(Status::parse(&closed[0]).unwrap(), Status::Ok);
    assert_eq!(reply(&client, &uuid).await.0, Status::Unknown);

    // Bad requests are refused with 400, not stored.
    let refused = client
        .request("titanic.reply", vec!["not a uuid".into()])
        .await
        .unwrap();
    assert_eq!(Status::parse(&refused[0]).unwrap(), Status::Unknown);
    assert_eq!(
        submit(&client, "titanic.reply", "x").await.0,
        Status::Unknown
    );

    let _ = stop_echo.send(());
    echo.await.unwrap().unwrap();
    titanic.stop().await;
    broker.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_titanic_that_dies_without_stopping_is_replaced_and_delivers_what_it_accepted() {
    let broker = Broker::new(BrokerConfig {
        heartbeat: Duration::from_millis(100),
        ..BrokerConfig::default()
    })
    .bind("tcp://127.0.0.1:*")
    .spawn()
    .unwrap();
    let endpoint = broker.endpoints()[0].clone();
    let dir = tempfile::tempdir().unwrap();
    let config = TitanicConfig {
        heartbeat: Duration::from_millis(100),
        dispatcher: DispatcherConfig {
            retry_min: Duration::from_millis(20),
            retry_max: Duration::from_millis(200),
            ..DispatcherConfig::default()
        },
        ..TitanicConfig::default()
    };

    // The first Titanic runs on a runtime of its own, torn down without a stop: its
    // workers send no DISCONNECT, its dispatcher is dropped mid-retry.
    let first = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let running = {
        let _enter = first.enter();
        Titanic::new(dir.path(), config.clone())
            .unwrap()
            .serve(&endpoint)
            .unwrap()
    };
    let client = client(&endpoint);
    let mut accepted = Vec::new();
    for i in 0..3 {
        let body = format!("before {i}");
        let (status, uuid) = submit(&client, "echo", &body).await;
        assert_eq!(status, Status::Ok);
        accepted.push((uuid, body));
    }
    // (The handle is dropped only afterwards: dropping it would stop Titanic.)
    tokio::task::spawn_blocking(move || first.shutdown_timeout(Duration::from_secs(10)))
        .await
        .unwrap();
    drop(running);

    // The broker still lists the dead workers until they expire; requests sent to
    // them go back to the queue for the new ones.
    let second = Titanic::new(dir.path(), config)
        .unwrap()
        .serve(&endpoint)
        .unwrap();
    let (stop_echo, echo_stopped) = tokio::sync::oneshot::channel::<()>();
    let echo = tokio::spawn(echo_worker(&endpoint).run(
        |request: Request| async move { request.body },
        async move {
            let _ = echo_stopped.await;
        },
    ));
    for (uuid, body) in &accepted {
        assert_eq!(
            wait_reply(&client, uuid).await,
            (Status::Ok, vec![Bytes::from(body.clone())])
        );
    }
    let _ = stop_echo.send(());
    echo.await.unwrap().unwrap();
    second.stop().await;
    broker.stop().await.unwrap();
}

type Process = cli_util::LoggedProcess;

/// Waits (at most [`LIMIT`]) until `process`'s output has a line containing `text`.
async fn wait_output(process: &Process, text: &str) {
    let start = Instant::now();
    loop {
        let (found, output) = process.has_line(text);
        if found {
            return;
        }
        assert!(
            start.elapsed() < LIMIT,
            "no line with {text:?} in {}:\n{output}",
            process.log().display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `purezmq broker tcp://127.0.0.1:PORT --titanic DIR` with quick heartbeats, once
/// it prints that Titanic is up.
async fn titanic_broker(port: u16, store: &Path, log: PathBuf) -> Process {
    let endpoint = format!("tcp://127.0.0.1:{port}");
    let broker = Process::start(
        &[
            "broker",
            &endpoint,
            "--titanic",
            store.to_str().unwrap(),
            "--heartbeat",
            "200ms",
            "--stats-every",
            "100ms",
        ],
        log,
    );
    wait_output(&broker, "titanic storing requests in").await;
    wait_listening(port);
    broker
}

/// `purezmq echo` at the broker, once it has registered.
async fn echo_process(port: u16, extra: &[&str], log: PathBuf) -> Process {
    let endpoint = format!("tcp://127.0.0.1:{port}");
    let mut args = vec!["echo", "--broker", &endpoint, "--heartbeat", "200ms"];
    args.extend_from_slice(extra);
    let echo = Process::start(&args, log);
    wait_output(&echo, "worker ready").await;
    echo
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_requests_survive_kill_9_of_the_broker_and_titanic() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("titanic");
    let port = free_port();
    let endpoint = format!("tcp://127.0.0.1:{port}");
    let mut broker = titanic_broker(port, &store, dir.path().join("broker1.log")).await;

    // Accepted with the CLI too: `purezmq call titanic.request echo ...`.
    let called = purezmq()
        .args([
            "call",
            "--broker",
            &endpoint,
            "titanic.request",
            "echo",
            "by-cli",
        ])
        .output()
        .unwrap();
    assert!(called.status.success(), "{called:?}");
    let line = String::from_utf8(called.stdout).unwrap();
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words.first(), Some(&"200"), "{line:?}");
    let mut accepted = vec![(Bytes::from(words[1].to_owned()), "by-cli".to_owned())];

    let client = client(&endpoint);
    for i in 0..5 {
        let body = format!("hello {i}");
        let (status, uuid) = submit(&client, "echo", &body).await;
        assert_eq!(status, Status::Ok);
        accepted.push((uuid, body));
    }
    drop(client);
    broker.kill9();

    let _broker = titanic_broker(port, &store, dir.path().join("broker2.log")).await;
    let client = self::client(&endpoint);
    // Still no worker: pending, not lost.
    for (uuid, _) in &accepted {
        assert_eq!(reply(&client, uuid).await.0, Status::Pending);
    }
    let _echo = echo_process(port, &[], dir.path().join("echo.log")).await;
    for (uuid, body) in &accepted {
        assert_eq!(
            wait_reply(&client, uuid).await,
            (Status::Ok, vec![Bytes::from(body.clone())]),
            "request {uuid:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_whose_worker_is_killed_mid_flight_goes_to_the_next_worker() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("titanic");
    let port = free_port();
    let endpoint = format!("tcp://127.0.0.1:{port}");
    let broker = titanic_broker(port, &store, dir.path().join("broker.log")).await;
    let mut slow = echo_process(port, &["--delay", "60s"], dir.path().join("slow.log")).await;

    let client = client(&endpoint);
    let (status, uuid) = submit(&client, "echo", "in flight").await;
    assert_eq!(status, Status::Ok);
    // The broker counts the request handed to the slow worker (none queued, no reply).
    wait_output(&broker, "echo: workers 1 queued 0 requests 1 replies 0").await;
    slow.kill9();
    assert_eq!(reply(&client, &uuid).await.0, Status::Pending);

    let _echo = echo_process(port, &[], dir.path().join("echo.log")).await;
    assert_eq!(
        wait_reply(&client, &uuid).await,
        (Status::Ok, vec![Bytes::from("in flight")])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_broker_on_the_same_titanic_directory_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("titanic");
    let port = free_port();
    let _broker = titanic_broker(port, &store, dir.path().join("broker.log")).await;
    let second = purezmq()
        .args([
            "broker",
            &format!("tcp://127.0.0.1:{}", free_port()),
            "--titanic",
            store.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(1), "{second:?}");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("--titanic"), "{stderr}");
}
