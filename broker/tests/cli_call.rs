//! `purezmq call` and `purezmq echo` as a user runs them, with a raw ROUTER in this
//! test playing the broker: the frames on the wire, the output formats, partial
//! replies, failover and the exit codes.

mod cli_util;

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use bytes::Bytes;
use cli_util::{Running, free_port, purezmq, purezmq_cmd};
use predicates::prelude::*;
use purezmq::SocketType;
use purezmq::blocking::Socket;

const LIMIT: Duration = Duration::from_secs(20);

/// A ROUTER in the broker's place.
struct FakeBroker {
    router: Socket,
    endpoint: String,
}

impl FakeBroker {
    fn bind() -> FakeBroker {
        let router = Socket::new(SocketType::Router);
        router
            .set_options(|o| o.rcvtimeo = Some(Duration::from_secs(10)))
            .unwrap();
        router.bind("tcp://127.0.0.1:*").unwrap();
        let endpoint = router.last_endpoint();
        FakeBroker { router, endpoint }
    }

    fn recv(&self) -> Vec<Bytes> {
        self.router.recv().unwrap().frames().to_vec()
    }

    /// The next message that is not a worker's HEARTBEAT.
    fn recv_skipping_heartbeats(&self) -> Vec<Bytes> {
        loop {
            let received = self.recv();
            let rest = &received[1..];
            let command = rest.last().map(|f| f.as_ref());
            let heartbeat = rest.len() <= 3
                && ((rest.iter().any(|f| f.as_ref() == b"MDPW01") && command == Some(&[4]))
                    || (rest.iter().any(|f| f.as_ref() == b"MDPW02") && command == Some(&[5])));
            if !heartbeat {
                return received;
            }
        }
    }

    fn send(&self, to: &Bytes, frames: &[&[u8]]) {
        let message: purezmq::Message = std::iter::once(to.clone())
            .chain(frames.iter().map(|f| Bytes::copy_from_slice(f)))
            .collect();
        self.router.send(message).unwrap();
    }
}

fn frames(parts: &[&[u8]]) -> Vec<Bytes> {
    parts.iter().map(|p| Bytes::copy_from_slice(p)).collect()
}

#[test]
fn call_sends_an_01_request_and_prints_the_reply() {
    let broker = FakeBroker::bind();
    let call = Running::start(&[
        "call",
        "echo",
        "hello",
        "world",
        "--broker",
        &broker.endpoint,
    ]);
    let request = broker.recv();
    assert_eq!(
        request[1..],
        frames(&[b"", b"MDPC01", b"echo", b"hello", b"world"])
    );
    broker.send(&request[0], &[b"", b"MDPC01", b"echo", b"hello", b"world"]);
    assert_eq!(call.succeeds(LIMIT), "hello world\n");
}

#[test]
fn call_without_a_broker_exits_3_after_the_timeout() {
    let port = free_port();
    purezmq_cmd()
        .args(["call", "echo", "hi", "--timeout", "300ms"])
        .args(["--broker", &format!("tcp://127.0.0.1:{port}")])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "no reply from service \"echo\" after 1 attempt(s) of 300ms",
        ));
}

#[test]
fn call_retries_on_the_next_broker_by_default() {
    let dead = format!("tcp://127.0.0.1:{}", free_port());
    let broker = FakeBroker::bind();
    let call = Running::start(&[
        "call",
        "echo",
        "x",
        "--timeout",
        "2s",
        "--broker",
        &dead,
        "--broker",
        &broker.endpoint,
    ]);
    let request = broker.recv();
    broker.send(&request[0], &[b"", b"MDPC01", b"echo", b"from the second"]);
    assert_eq!(call.succeeds(LIMIT), "from the second\n");
}

#[test]
fn call_check_exits_4_when_no_worker_offers_the_service() {
    let broker = FakeBroker::bind();
    let call = Running::start(&["call", "nobody", "--check", "--broker", &broker.endpoint]);
    let query = broker.recv();
    assert_eq!(
        query[1..],
        frames(&[b"", b"MDPC01", b"mmi.service", b"nobody"])
    );
    broker.send(&query[0], &[b"", b"MDPC01", b"mmi.service", b"404"]);
    let (status, stdout, stderr) = call.finish(LIMIT);
    assert_eq!(status.code(), Some(4), "stderr: {stderr}");
    assert_eq!(stdout, "");
    assert!(
        stderr.contains("no worker offers service \"nobody\"")
            && stderr.contains("purezmq echo nobody"),
        "{stderr}"
    );
}

#[test]
fn call_check_goes_on_when_a_worker_is_there() {
    let broker = FakeBroker::bind();
    let call = Running::start(&["call", "echo", "x", "--check", "--broker", &broker.endpoint]);
    let query = broker.recv();
    broker.send(&query[0], &[b"", b"MDPC01", b"mmi.service", b"200"]);
    let request = broker.recv();
    assert_eq!(request[1..], frames(&[b"", b"MDPC01", b"echo", b"x"]));
    broker.send(&request[0], &[b"", b"MDPC01", b"echo", b"x"]);
    assert_eq!(call.succeeds(LIMIT), "x\n");
}

#[test]
fn call_reads_stdin_lines_and_prints_json() {
    let broker = FakeBroker::bind();
    let mut child = purezmq()
        .args(["call", "echo", "--in", "lines", "--out", "json"])
        .args(["--broker", &broker.endpoint])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"first\nsecond line\r\n")
        .unwrap();
    let request = broker.recv();
    assert_eq!(
        request[1..],
        frames(&[b"", b"MDPC01", b"echo", b"first", b"second line"])
    );
    broker.send(&request[0], &[b"", b"MDPC01", b"echo", b"a", b"\xff"]);
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "[\"a\",{\"base64\":\"/w==\"}]\n"
    );
}

#[test]
fn call_takes_a_json_array_and_prints_lines_or_hex() {
    let broker = FakeBroker::bind();
    let call = Running::start(&[
        "call",
        "echo",
        "--in",
        "json",
        r#"["k", {"base64": "AAE="}]"#,
        "--out",
        "hex",
        "--broker",
        &broker.endpoint,
    ]);
    let request = broker.recv();
    assert_eq!(request[3..], frames(&[b"echo", b"k", &[0, 1]]));
    broker.send(&request[0], &[b"", b"MDPC01", b"echo", b"k", &[0, 1]]);
    assert_eq!(call.succeeds(LIMIT), "6b 0001\n");

    let call = Running::start(&[
        "call",
        "echo",
        "a",
        "b",
        "--out",
        "lines",
        "--broker",
        &broker.endpoint,
    ]);
    let request = broker.recv();
    broker.send(&request[0], &[b"", b"MDPC01", b"echo", b"a", b"b"]);
    assert_eq!(call.succeeds(LIMIT), "a\nb\n");
}

#[test]
fn call_bad_json_is_usage_exit_2() {
    purezmq_cmd()
        .args(["call", "echo", "--in", "json", "{\"a\": 1}"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--in json: not an array"));
}

#[test]
fn call_with_mdp_02_prints_partials_as_they_arrive() {
    let broker = FakeBroker::bind();
    let call = Running::start(&[
        "call",
        "stream",
        "go",
        "--mdp",
        "0.2",
        "--broker",
        &broker.endpoint,
    ]);
    let request = broker.recv();
    assert_eq!(request[1..], frames(&[b"MDPC02", &[1], b"stream", b"go"]));
    broker.send(&request[0], &[b"MDPC02", &[2], b"stream", b"one"]);
    broker.send(&request[0], &[b"MDPC02", &[2], b"stream", b"two"]);
    broker.send(&request[0], &[b"MDPC02", &[3], b"stream", b"done"]);
    assert_eq!(call.succeeds(LIMIT), "one\ntwo\ndone\n");
}

#[test]
fn echo_registers_answers_and_says_goodbye() {
    let broker = FakeBroker::bind();
    let echo = Running::start(&["echo", "--broker", &broker.endpoint]);
    let ready = broker.recv();
    assert_eq!(ready[1..], frames(&[b"", b"MDPW01", &[1], b"echo"]));
    broker.send(&ready[0], &[b"", b"MDPW01", &[2], b"c1", b"", b"ping", b""]);
    let reply = broker.recv_skipping_heartbeats();
    assert_eq!(
        reply[1..],
        frames(&[b"", b"MDPW01", &[3], b"c1", b"", b"ping", b""])
    );
    echo.signal("TERM");
    let bye = broker.recv_skipping_heartbeats();
    assert_eq!(bye[1..], frames(&[b"", b"MDPW01", &[5]]));
    let stdout = echo.succeeds(LIMIT);
    assert_eq!(
        stdout,
        format!("worker ready: echo on {}\n", broker.endpoint)
    );
}

#[test]
fn echo_with_mdp_02_streams_partials() {
    let broker = FakeBroker::bind();
    let echo = Running::start(&[
        "echo",
        "stream",
        "--mdp",
        "0.2",
        "--partials",
        "2",
        "--delay",
        "10ms",
        "--broker",
        &broker.endpoint,
    ]);
    let ready = broker.recv();
    assert_eq!(ready[1..], frames(&[b"MDPW02", &[1], b"stream"]));
    broker.send(&ready[0], &[b"MDPW02", &[2], b"c", b"", b"x"]);
    let mut commands = Vec::new();
    for _ in 0..3 {
        let reply = broker.recv_skipping_heartbeats();
        assert_eq!(reply[3..], frames(&[b"c", b"", b"x"]));
        commands.push(reply[2].clone());
    }
    assert_eq!(commands, frames(&[&[3], &[3], &[4]]));
    drop(echo);
}

#[test]
fn echo_partials_need_mdp_02() {
    purezmq_cmd()
        .args(["echo", "--partials", "2"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("add --mdp 0.2"));
}

#[test]
fn help_shows_examples_and_exit_code_4() {
    for subcommand in ["call", "echo"] {
        purezmq_cmd()
            .args([subcommand, "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains("Examples:"))
            .stdout(predicate::str::contains(format!("purezmq {subcommand}")));
    }
    purezmq_cmd()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("4  no worker"));
}

/// `purezmq broker` on a free port, and its endpoint once it listens.
fn real_broker() -> (Running, String) {
    let port = free_port();
    let endpoint = format!("tcp://127.0.0.1:{port}");
    let broker = Running::start(&["broker", &endpoint, "--heartbeat", "250ms"]);
    cli_util::wait_listening(port);
    (broker, endpoint)
}

/// Runs `purezmq call ARGS --check` until the worker has registered (exit 0), and
/// gives its stdout.
fn call_once_registered(args: &[&str]) -> String {
    let start = std::time::Instant::now();
    loop {
        let output = purezmq()
            .args(["call", "--check"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        match output.status.code() {
            Some(0) => return String::from_utf8(output.stdout).unwrap(),
            Some(4) if start.elapsed() < LIMIT => {
                std::thread::sleep(Duration::from_millis(50));
            }
            _ => panic!(
                "purezmq call exited with {}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ),
        }
    }
}

#[test]
fn broker_echo_and_call_in_three_processes() {
    let (broker, endpoint) = real_broker();
    let echo = Running::start(&["echo", "--broker", &endpoint, "--heartbeat", "250ms"]);
    assert_eq!(
        call_once_registered(&["echo", "hello", "world", "--broker", &endpoint]),
        "hello world\n"
    );
    // No worker for this one: exit 4.
    purezmq_cmd()
        .args(["call", "nobody", "--check", "--broker", &endpoint])
        .assert()
        .code(4)
        .stderr(predicate::str::contains(
            "no worker offers service \"nobody\"",
        ));
    echo.signal("TERM");
    assert!(echo.succeeds(LIMIT).starts_with("worker ready: echo on "));
    drop(broker);
}

#[test]
fn partials_from_purezmq_echo_reach_purezmq_call_through_the_broker() {
    let (broker, endpoint) = real_broker();
    let echo = Running::start(&[
        "echo",
        "--broker",
        &endpoint,
        "--mdp",
        "0.2",
        "--partials",
        "2",
        "--heartbeat",
        "250ms",
    ]);
    assert_eq!(
        call_once_registered(&["echo", "hi", "--mdp", "0.2", "--broker", &endpoint]),
        "hi\nhi\nhi\n"
    );
    drop(echo);
    drop(broker);
}

#[test]
fn call_and_echo_through_a_curve_broker_with_its_public_key() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("broker.key");
    let cert = cert.to_str().unwrap();
    let port = free_port();
    let endpoint = format!("tcp://127.0.0.1:{port}");
    let broker = Running::start(&["broker", &endpoint, "--curve", "--cert", cert]);
    // The broker writes its certificate before it binds.
    cli_util::wait_file(&dir.path().join("broker.key_secret"));
    cli_util::wait_listening(port);
    let echo = Running::start(&["echo", "--broker", &endpoint, "--server-key", cert]);
    assert_eq!(
        call_once_registered(&[
            "echo",
            "secret",
            "--broker",
            &endpoint,
            "--server-key",
            cert
        ]),
        "secret\n"
    );
    // Without the key the broker does not answer: CURVE refuses the handshake.
    purezmq_cmd()
        .args([
            "call",
            "echo",
            "x",
            "--broker",
            &endpoint,
            "--timeout",
            "500ms",
        ])
        .assert()
        .code(3);
    drop(echo);
    drop(broker);
}
