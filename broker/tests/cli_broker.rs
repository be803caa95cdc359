//! `purezmq broker` as an operator runs it: the listening line, a request through
//! it, signals, counters, and CURVE with a certificate kept across restarts.

mod cli_util;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cli_util::{free_port, purezmq, purezmq_cmd};
use predicates::prelude::*;
use purezmq::blocking::Socket;
use purezmq::curve::{Certificate, KeyPair, PublicKey};
use purezmq::{Message, Options, Security, SocketType};

const LIMIT: Duration = Duration::from_secs(20);

/// A running `purezmq broker` whose stdout lines arrive on a channel.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Running {
    fn start(args: &[&str], dir: &std::path::Path) -> Running {
        let mut child = purezmq()
            .arg("broker")
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tell, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tell.send(line).is_err() {
                    break;
                }
            }
        });
        Running { child, lines }
    }

    /// The next stdout line that starts with `prefix`, without it.
    fn line(&self, prefix: &str) -> String {
        let start = Instant::now();
        loop {
            let left = LIMIT.saturating_sub(start.elapsed());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no line starting with {prefix:?}"));
            if let Some(rest) = line.strip_prefix(prefix) {
                return rest.to_string();
            }
        }
    }

    fn stop(mut self) -> std::process::ExitStatus {
        let status = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(start.elapsed() < LIMIT, "the broker did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn msg(parts: &[&[u8]]) -> Message {
    parts.iter().map(|p| Bytes::copy_from_slice(p)).collect()
}

fn socket(socket_type: SocketType, security: Security, endpoint: &str) -> Socket {
    let options = Options {
        security,
        rcvtimeo: Some(Duration::from_secs(10)),
        linger: Some(Duration::ZERO),
        ..Options::default()
    };
    let socket = Socket::with_options(socket_type, options).unwrap();
    socket.connect(endpoint).unwrap();
    socket
}

/// One echo round trip through the broker: a 0.1 worker and a 0.2 client.
fn round_trip(endpoint: &str, worker_security: Security, client_security: Security) {
    let worker = socket(SocketType::Dealer, worker_security, endpoint);
    worker.send(msg(&[b"", b"MDPW01", &[1], b"echo"])).unwrap();
    let client = socket(SocketType::Dealer, client_security, endpoint);
    // The worker may register after the request arrives: the broker queues it.
    client
        .send(msg(&[b"MDPC02", &[1], b"echo", b"hi"]))
        .unwrap();
    let request = loop {
        let frames = worker.recv().unwrap().into_frames();
        if frames[2].as_ref() == [2] {
            break frames;
        }
    };
    let reply = msg(&[b"", b"MDPW01", &[3], &request[3], b"", b"hi"]);
    worker.send(reply).unwrap();
    let reply = client.recv().unwrap();
    assert_eq!(reply.frames(), ["MDPC02", "\x03", "echo", "hi"]);
}

#[test]
fn help_shows_the_examples_and_the_flags() {
    let assert = purezmq_cmd().args(["broker", "--help"]).assert().success();
    let help = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    for text in [
        "purezmq broker --curve",
        "--heartbeat",
        "--liveness",
        "--max-queue",
        "--request-ttl",
        "--stats-every",
        "--cert",
        "--allow-keys",
        "--allow-ip",
        "--titanic",
        "--max-pending",
        "[default: 2500ms]",
    ] {
        assert!(help.contains(text), "{text:?} missing from\n{help}");
    }
}

#[test]
fn bad_flags_exit_2_naming_them() {
    purezmq_cmd()
        .args(["broker", "--cert", "x.key"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--curve"));
    purezmq_cmd()
        .args(["broker", "--liveness", "0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--liveness"));
    purezmq_cmd()
        .args(["broker", "--heartbeat", "0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--heartbeat must be at least 1ms"));
    purezmq_cmd()
        .args(["broker", "--heartbeat", "5"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("has no unit"));
    purezmq_cmd()
        .args(["broker", "--max-pending", "5"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--titanic"));
}

#[test]
fn a_bind_that_fails_exits_1() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    purezmq_cmd()
        .args(["broker", &format!("tcp://127.0.0.1:{port}")])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot bind the broker"));
}

#[test]
fn the_broker_serves_prints_counters_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let endpoint = format!("tcp://127.0.0.1:{port}");
    let broker = Running::start(
        &[&endpoint, "--heartbeat", "200ms", "--stats-every", "100ms"],
        dir.path(),
    );
    assert_eq!(broker.line("broker listening on "), endpoint);
    round_trip(&endpoint, Security::Null, Security::Null);
    // A counters line that has seen the request.
    loop {
        let line = broker.line("services ");
        if line.contains("replies 1") {
            assert!(line.contains("| echo: workers 1"), "{line}");
            break;
        }
    }
    assert!(broker.stop().success());
}

#[test]
fn curve_keeps_its_certificate_across_restarts_and_admits_only_listed_keys() {
    let dir = tempfile::tempdir().unwrap();
    let clients = dir.path().join("clients");
    std::fs::create_dir(&clients).unwrap();
    let alice = KeyPair::generate();
    Certificate::new(alice.clone())
        .save(&clients, "alice")
        .unwrap();
    let mallory = KeyPair::generate();

    let port = free_port();
    let endpoint = format!("tcp://127.0.0.1:{port}");
    let args = [
        endpoint.as_str(),
        "--curve",
        "--cert",
        "certs/broker.key",
        "--allow-keys",
        "clients",
    ];
    let broker = Running::start(&args, dir.path());
    let key = broker.line("broker public key: ");
    broker.line("broker listening on ");
    let server_key = PublicKey::from_z85(&key).unwrap();
    let saved = Certificate::load(dir.path().join("certs/broker.key")).unwrap();
    assert_eq!(saved.public_key(), &server_key);
    assert!(dir.path().join("certs/broker.key_secret").exists());

    let as_client = |keypair: &KeyPair| Security::CurveClient {
        keypair: keypair.clone(),
        server_key,
    };
    round_trip(&endpoint, as_client(&alice), as_client(&alice));

    // Mallory's key is not in clients/: nothing comes back.
    let intruder = socket(SocketType::Dealer, as_client(&mallory), &endpoint);
    intruder
        .set_options(|o| o.rcvtimeo = Some(Duration::from_millis(500)))
        .unwrap();
    intruder
        .send(msg(&[b"", b"MDPC01", b"mmi.service", b"echo"]))
        .unwrap();
    assert!(intruder.recv().is_err(), "an unlisted key got an answer");
    assert!(broker.stop().success());

    // Restarted, the broker has the same key.
    let broker = Running::start(&args, dir.path());
    assert_eq!(broker.line("broker public key: "), key);
    broker.line("broker listening on ");
    round_trip(&endpoint, as_client(&alice), as_client(&alice));
    assert!(broker.stop().success());
}

#[test]
fn allow_ip_refuses_other_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let endpoint = format!("tcp://127.0.0.1:{port}");
    let broker = Running::start(&[&endpoint, "--allow-ip", "192.0.2.1"], dir.path());
    broker.line("broker listening on ");
    let client = socket(SocketType::Dealer, Security::Null, &endpoint);
    client
        .set_options(|o| o.rcvtimeo = Some(Duration::from_millis(500)))
        .unwrap();
    client
        .send(msg(&[b"", b"MDPC01", b"mmi.service", b"echo"]))
        .unwrap();
    assert!(client.recv().is_err(), "127.0.0.1 is not allowed");
    assert!(broker.stop().success());

    // Allowed, the same request is answered.
    let broker = Running::start(&[&endpoint, "--allow-ip", "127.0.0.1"], dir.path());
    broker.line("broker listening on ");
    let client = socket(SocketType::Dealer, Security::Null, &endpoint);
    client
        .send(msg(&[b"", b"MDPC01", b"mmi.service", b"echo"]))
        .unwrap();
    let reply = client.recv().unwrap();
    assert_eq!(reply.frames(), ["", "MDPC01", "mmi.service", "404"]);
    assert!(broker.stop().success());
}

/// Sends one MDP/0.1 request on a fresh DEALER and returns the reply's frames after
/// the header (empty, MDPC01, service).
fn mdp_call(security: Security, endpoint: &str, service: &[u8], body: &[&[u8]]) -> Vec<Bytes> {
    let client = socket(SocketType::Dealer, security, endpoint);
    client.set_options(|o| o.rcvtimeo = Some(LIMIT)).unwrap();
    let mut frames: Vec<&[u8]> = vec![b"", b"MDPC01", service];
    frames.extend_from_slice(body);
    client.send(msg(&frames)).unwrap();
    let reply = client.recv().unwrap();
    let frames = reply.frames();
    assert_eq!(frames[..3], [b"".as_slice(), b"MDPC01", service]);
    frames[3..].to_vec()
}

#[test]
fn titanic_serves_behind_curve_and_allow_keys() {
    let dir = tempfile::tempdir().unwrap();
    let clients = dir.path().join("clients");
    std::fs::create_dir(&clients).unwrap();
    let alice = KeyPair::generate();
    Certificate::new(alice.clone())
        .save(&clients, "alice")
        .unwrap();
    let port = free_port();
    let endpoint = format!("tcp://127.0.0.1:{port}");
    let args = [
        endpoint.as_str(),
        "--curve",
        "--allow-keys",
        "clients",
        "--titanic",
        "store",
    ];
    let broker = Running::start(&args, dir.path());
    let server_key = PublicKey::from_z85(&broker.line("broker public key: ")).unwrap();
    broker.line("broker listening on ");
    assert!(
        broker
            .line("titanic storing requests in ")
            .contains("store")
    );
    let alice = Security::CurveClient {
        keypair: alice,
        server_key,
    };
    // Titanic's own workers reach the broker in-process, past --allow-keys.
    let accepted = mdp_call(
        alice.clone(),
        &endpoint,
        b"titanic.request",
        &[b"echo", b"hi"],
    );
    assert_eq!(accepted[0], "200");
    assert_eq!(accepted[1].len(), 32);
    let pending = mdp_call(alice, &endpoint, b"titanic.reply", &[&accepted[1]]);
    assert_eq!(pending[0][..3], *b"300");
    assert!(broker.stop().success());
}

#[test]
fn max_pending_refuses_requests_over_the_limit_with_500() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let endpoint = format!("tcp://127.0.0.1:{port}");
    let args = [
        endpoint.as_str(),
        "--titanic",
        "store",
        "--max-pending",
        "1",
    ];
    let broker = Running::start(&args, dir.path());
    broker.line("titanic storing requests in ");
    let first = mdp_call(
        Security::Null,
        &endpoint,
        b"titanic.request",
        &[b"echo", b"1"],
    );
    assert_eq!(first[0], "200");
    let second = mdp_call(
        Security::Null,
        &endpoint,
        b"titanic.request",
        &[b"echo", b"2"],
    );
    assert_eq!(second[0][..3], *b"500");
    assert!(broker.stop().success());
}
