//! purezmq's proxies with libzmq programs on both sides: seed 002's publishers,
//! subscribers, late joiners, clients and workers (`python/seed002_peers.py`) through
//! the devices in `broker/examples/` and through `purezmq proxy` command lines, and
//! libzmq steering our steerable proxy (`python/proxy_control.py`), in this process
//! and as `purezmq proxy --control`.
//!
//! The examples and the binary are built with `cargo build --workspace` into
//! the target directory this test runs from (a no-op when they are up to date). The
//! examples bind `tcp://127.0.0.1:*` and print the ports they got, and `purezmq
//! proxy` binds ipc paths of each test's own, so tests can run side by side; one
//! test runs the seed's programs unchanged on the seed's fixed ports 5559 to 5562.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use purezmq::{Socket, SocketType};
use purezmq_broker::proxy::Proxy;
use purezmq_interop_tests::{NoLine, PyPeer, python};

mod support;

/// The first line may wait for the examples to build.
const STARTUP: Duration = Duration::from_secs(300);
/// How long any one expected line may take.
const PATIENCE: Duration = Duration::from_secs(20);
/// What the Python peers pass as `--timeout` (seconds) for each receive.
const PEER_TIMEOUT: &str = "20";
/// Binds a free port on the loopback interface.
const ANY_PORT: &str = "tcp://127.0.0.1:*";

/// Builds the broker's examples (once per test process) and gives the path of one.
fn example(name: &str) -> PathBuf {
    support::example(name)
}

/// One of the broker's examples, or `purezmq proxy`, running as a process, killed
/// when dropped.
struct Device {
    child: Child,
    lines: Receiver<String>,
}

impl Device {
    /// Starts the example `name`.
    fn start(name: &str, args: &[&str]) -> Device {
        Device::spawn(&example(name), args)
    }

    /// Starts `purezmq ARGS`; it logs only errors, to stderr.
    fn purezmq(args: &[&str]) -> Device {
        let mut all = vec!["-q"];
        all.extend_from_slice(args);
        Device::spawn(support::purezmq(), &all)
    }

    fn spawn(program: &Path, args: &[&str]) -> Device {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{} starts: {e}", program.display()));
        let stdout = child.stdout.take().expect("piped");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Device { child, lines }
    }

    /// The endpoint that ends the device's next line ("subscribers connect to
    /// <endpoint>").
    fn endpoint(&mut self) -> String {
        let Ok(line) = self.lines.recv_timeout(STARTUP) else {
            let status = self.child.try_wait();
            panic!("the device printed no endpoint (exit status: {status:?})");
        };
        line.rsplit_once(' ')
            .map(|(_, endpoint)| endpoint.to_owned())
            .unwrap_or_else(|| panic!("no endpoint in {line:?}"))
    }

    /// Sends the process SIGTERM (through kill(1)); fails silently if it exited.
    fn terminate(&self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .stderr(Stdio::null())
            .status();
    }

    /// Waits for the process to exit by itself; returns how, and what it printed
    /// that was not read yet.
    fn exit(&mut self) -> (ExitStatus, Vec<String>) {
        let deadline = std::time::Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the device still runs after {PATIENCE:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        // The reader thread ends with the output.
        let lines = self.lines.iter().collect();
        (status, lines)
    }
}

/// A fresh ipc endpoint, for `purezmq proxy` to bind (it does not print the port
/// picked for tcp port *).
fn ipc_endpoint() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let path = std::env::temp_dir().join(format!(
        "purezmq-proxy-interop-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    format!("ipc://{}", path.display())
}

impl Drop for Device {
    fn drop(&mut self) {
        // SIGTERM first, so that the process removes its ipc files; SIGKILL if it
        // is still there after a while. Either fails only if it exited already.
        self.terminate();
        for _ in 0..100 {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until a subscriber has connected, and a little longer so that its
/// subscription has gone all the way up. As in the seed, the subscriber runs first:
/// the handshake proves that the subscriber's REP is connected, not that its SUB's
/// subscription has reached the publisher, so the two must not start at the same
/// moment.
fn started(subscriber: &mut PyPeer) {
    assert_eq!(subscriber.read_line(STARTUP), "listening");
    std::thread::sleep(Duration::from_millis(300));
}

/// Starts a mode of `seed002_peers.py`.
fn seed_peer(mode: &str, args: &[&str]) -> PyPeer {
    let mut all = vec![mode];
    all.extend_from_slice(args);
    PyPeer::spawn("seed002_peers.py", &all)
}

/// Every line a peer prints until its output ends, which must be a clean exit.
fn all_lines(peer: &mut PyPeer) -> Vec<String> {
    let mut lines = Vec::new();
    loop {
        match peer.next_line(PATIENCE) {
            Ok(line) => lines.push(line),
            Err(NoLine::Ended(status)) => {
                assert!(
                    status.contains("unix_wait_status(0)"),
                    "the peer failed ({status}) after {lines:?}"
                );
                return lines;
            }
            Err(timeout) => panic!("{timeout}, after {lines:?}"),
        }
    }
}

/// The frames of a line "Subscriber got  [b'A', b'17']", as text.
fn subscriber_got(line: &str) -> Vec<String> {
    let list = line
        .strip_prefix("Subscriber got  [")
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or_else(|| panic!("not a subscriber line: {line:?}"));
    list.split(", ")
        .map(|frame| {
            frame
                .strip_prefix("b'")
                .and_then(|f| f.strip_suffix('\''))
                .unwrap_or_else(|| panic!("not a bytes literal: {frame:?}"))
                .to_owned()
        })
        .collect()
}

/// Checks that a subscriber got `[topic, n]` messages of `topics` only, numbered
/// without a gap per topic.
fn assert_topics_in_sequence(lines: &[String], topics: &[&str]) {
    let mut last: Vec<Option<u64>> = vec![None; topics.len()];
    for line in lines {
        let frames = subscriber_got(line);
        assert_eq!(frames.len(), 2, "[topic, number]: {line}");
        let index = topics
            .iter()
            .position(|topic| *topic == frames[0])
            .unwrap_or_else(|| panic!("topic {:?} not subscribed: {lines:?}", frames[0]));
        let n: u64 = frames[1].parse().expect("a number");
        if let Some(before) = last[index] {
            assert_eq!(n, before + 1, "a gap in topic {}: {lines:?}", topics[index]);
        }
        last[index] = Some(n);
    }
    for (topic, last) in topics.iter().zip(&last) {
        assert!(last.is_some(), "nothing on topic {topic}: {lines:?}");
    }
}

/// The seed's late-joiner programs through a forwarder (`xsub`, `xpub`) and a shared
/// queue (`router`, `dealer`): the subscriber starts first and answers the
/// publisher's "Hello" only once subscribed, so all three messages arrive.
fn late_joiner_handshake(xsub: &str, xpub: &str, router: &str, dealer: &str) {
    let mut subscriber = seed_peer(
        "stable-subscriber",
        &[
            xpub,
            dealer,
            "--count",
            "3",
            "--timeout",
            PEER_TIMEOUT,
            "--announce",
        ],
    );
    started(&mut subscriber);
    let mut publisher = seed_peer(
        "stable-publisher",
        &[xsub, router, "--timeout", PEER_TIMEOUT],
    );
    assert_eq!(all_lines(&mut publisher), ["rep =  b'yes'", "sent 3"]);
    assert_eq!(
        all_lines(&mut subscriber),
        [
            "req =  b'Hello'",
            "Subscriber got  [b'Blablabla']",
            "Subscriber got  [b'Blablabla']",
            "Subscriber got  [b'Blablabla']",
        ],
        "the handshake makes sure no message is lost"
    );
}

#[test]
fn libzmq_subscribers_get_their_topics_through_our_forwarder() {
    python();
    let mut forwarder = Device::start("forwarder", &[ANY_PORT, ANY_PORT]);
    let (publishers, subscribers) = (forwarder.endpoint(), forwarder.endpoint());

    // An XPUB publisher shows the subscriptions our forwarder passes upstream.
    let mut publisher = seed_peer(
        "publisher",
        &[
            &publishers,
            "--xpub",
            "--topics",
            "A,B",
            "--count",
            "0",
            "--interval",
            "0.01",
        ],
    );
    let subscriber = |topic: Option<&str>| {
        let mut args = vec![subscribers.as_str(), "--count", "20"];
        args.extend(["--timeout", PEER_TIMEOUT]);
        if let Some(topic) = topic {
            args.extend(["--topic", topic]);
        }
        seed_peer("subscriber", &args)
    };
    let mut only_a = subscriber(Some("A"));
    let mut only_b = subscriber(Some("B"));
    let mut everything = subscriber(None);

    assert_topics_in_sequence(&all_lines(&mut only_a), &["A"]);
    assert_topics_in_sequence(&all_lines(&mut only_b), &["B"]);
    assert_topics_in_sequence(&all_lines(&mut everything), &["A", "B"]);

    // Each topic was subscribed once upstream, and cancelled once its subscriber
    // went away.
    let mut wanted = vec![
        r"subscription b'\x01A'",
        r"subscription b'\x01B'",
        r"subscription b'\x01'",
        r"subscription b'\x00A'",
        r"subscription b'\x00B'",
        r"subscription b'\x00'",
    ];
    let mut seen = Vec::new();
    while !wanted.is_empty() {
        let line = publisher
            .next_line(PATIENCE)
            .unwrap_or_else(|e| panic!("{e}; the publisher saw {seen:?}, not {wanted:?}"));
        let Some(at) = wanted.iter().position(|w| *w == line) else {
            panic!("unexpected or repeated {line:?} after {seen:?}");
        };
        wanted.remove(at);
        seen.push(line);
    }
    drop(forwarder);
}

#[test]
fn seed_late_joiner_handshake_through_our_proxies() {
    python();
    let mut device = Device::start("late_joiner_proxy", &[ANY_PORT; 4]);
    let xsub = device.endpoint();
    let xpub = device.endpoint();
    let router = device.endpoint();
    let dealer = device.endpoint();

    // As in the seed: the subscriber runs first, the publisher joins later.
    late_joiner_handshake(&xsub, &xpub, &router, &dealer);
}

#[test]
fn seed_programs_run_unchanged_on_the_seed_ports() {
    python();
    // No arguments: the seed's endpoints, tcp://127.0.0.1:5559 to 5562.
    let mut device = Device::start("late_joiner_proxy", &[]);
    let endpoints: Vec<String> = (0..4).map(|_| device.endpoint()).collect();
    assert_eq!(
        endpoints,
        [5559, 5560, 5561, 5562].map(|port| format!("tcp://127.0.0.1:{port}")),
        "are ports 5559 to 5562 taken?"
    );

    // stable-subscriber, then stable-publisher: all three messages arrive.
    let mut subscriber = seed_peer("stable-subscriber", &["--announce"]);
    started(&mut subscriber);
    let mut publisher = seed_peer("stable-publisher", &[]);
    assert_eq!(publisher.read_line(PATIENCE), "rep =  b'yes'");
    assert_eq!(subscriber.read_line(PATIENCE), "req =  b'Hello'");
    for _ in 0..3 {
        assert_eq!(
            subscriber.read_line(PATIENCE),
            "Subscriber got  [b'Blablabla']"
        );
    }
    // It loops for ever, as in the seed.
    drop(subscriber);

    // subscriber, then publisher: three messages a second apart; the seed notes that
    // the first may be lost while the publisher's connection comes up.
    let mut subscriber = seed_peer("subscriber", &["--announce"]);
    started(&mut subscriber);
    let mut publisher = seed_peer("publisher", &[]);
    assert_eq!(all_lines(&mut publisher), ["sent 3"]);
    let mut got = 0;
    while let Ok(line) = subscriber.next_line(Duration::from_secs(2)) {
        assert_eq!(line, "Subscriber got  [b'Hello there']");
        got += 1;
    }
    assert!((2..=3).contains(&got), "got {got} of 3");
}

#[test]
fn libzmq_clients_and_workers_share_our_queue() {
    python();
    let mut queue = Device::start("shared_queue", &[ANY_PORT, ANY_PORT]);
    let (clients, workers) = (queue.endpoint(), queue.endpoint());

    let mut worker_peers: Vec<PyPeer> = ["w1", "w2"]
        .iter()
        .map(|name| seed_peer("worker", &[&workers, "--name", name]))
        .collect();
    for (worker, name) in worker_peers.iter_mut().zip(["w1", "w2"]) {
        assert_eq!(worker.read_line(PATIENCE), format!("worker {name} up"));
    }
    // Let both connections come up, so that the queue spreads requests over both.
    std::thread::sleep(Duration::from_millis(500));

    let mut client_peers: Vec<(PyPeer, &str)> = ["c1", "c2", "c3"]
        .into_iter()
        .map(|name| {
            let args = [
                clients.as_str(),
                "--name",
                name,
                "--count",
                "10",
                "--timeout",
                PEER_TIMEOUT,
            ];
            (seed_peer("client", &args), name)
        })
        .collect();
    let mut served_by = std::collections::BTreeSet::new();
    for (client, name) in &mut client_peers {
        let lines = all_lines(client);
        assert_eq!(lines.len(), 11, "{lines:?}");
        for (i, line) in lines[..10].iter().enumerate() {
            let prefix = format!("client {name} got b'World from ");
            let rest = line
                .strip_prefix(&prefix)
                .unwrap_or_else(|| panic!("not a reply: {line:?}"));
            let (worker, request) = rest.split_once(": ").expect("worker: request");
            assert_eq!(request, format!("Hello {name} {i}'"), "replies in order");
            served_by.insert(worker.to_owned());
        }
        assert_eq!(lines[10], format!("client {name} done"));
    }
    assert_eq!(
        served_by.into_iter().collect::<Vec<_>>(),
        ["w1", "w2"],
        "the queue spreads requests over both workers"
    );
}

#[test]
fn libzmq_push_streams_in_order_through_our_streamer() {
    python();
    let mut streamer = Device::start("streamer", &[ANY_PORT, ANY_PORT]);
    let (producers, consumers) = (streamer.endpoint(), streamer.endpoint());

    let mut consumer = seed_peer(
        "pull",
        &[&consumers, "--count", "5000", "--timeout", PEER_TIMEOUT],
    );
    let mut producer = seed_peer("push", &[&producers, "--count", "5000"]);
    assert_eq!(all_lines(&mut producer), ["sent 5000"]);
    assert_eq!(all_lines(&mut consumer), ["ok 5000 in order"]);
}

#[test]
fn libzmq_subscriber_on_ipc_hears_a_tcp_publisher_through_our_bridge() {
    python();
    let mut publisher = seed_peer(
        "publisher",
        &[
            "@tcp://127.0.0.1:*",
            "--topics",
            "W",
            "--count",
            "0",
            "--interval",
            "0.01",
        ],
    );
    let line = publisher.read_line(STARTUP);
    let upstream = line.strip_prefix("ready ").expect("ready <endpoint>");

    let path = std::env::temp_dir().join(format!("purezmq-bridge-test-{}", std::process::id()));
    let downstream = format!("ipc://{}", path.display());
    let mut bridge = Device::start("bridge", &[upstream, &downstream]);
    assert_eq!(bridge.endpoint(), upstream);
    assert_eq!(bridge.endpoint(), downstream);

    let mut subscriber = seed_peer(
        "subscriber",
        &[
            &downstream,
            "--topic",
            "W",
            "--count",
            "20",
            "--timeout",
            PEER_TIMEOUT,
        ],
    );
    assert_topics_in_sequence(&all_lines(&mut subscriber), &["W"]);
    drop(bridge);
    let _ = std::fs::remove_file(path);
}

/// Runs a streamer proxy with a control socket of `control_type` in this process
/// and has `proxy_control.py` steer it through a libzmq socket; returns what the
/// script printed, after checking that TERMINATE ended the proxy.
fn steered_by_libzmq(control_type: SocketType, peer_type: &str) -> Vec<String> {
    python();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _entered = runtime.enter();
    let bound = |socket_type| {
        let socket = Socket::new(socket_type);
        socket.bind(ANY_PORT).unwrap();
        socket
    };
    let (frontend, backend, control) = (
        bound(SocketType::Pull),
        bound(SocketType::Push),
        bound(control_type),
    );
    let endpoints = [
        control.last_endpoint(),
        frontend.last_endpoint(),
        backend.last_endpoint(),
    ];
    let running = runtime.spawn(Proxy::new(frontend, backend).control(control).run());

    let mut args = vec![peer_type];
    args.extend(endpoints.iter().map(String::as_str));
    let mut peer = PyPeer::spawn("proxy_control.py", &args);
    let lines = all_lines(&mut peer);
    let ended = runtime.block_on(tokio::time::timeout(PATIENCE, running));
    ended
        .expect("TERMINATE ends the proxy")
        .expect("the proxy task does not panic")
        .expect("the proxy ends without error");
    lines
}

/// What `proxy_control.py` prints steering a proxy with a REP control socket. Ten
/// one-frame messages of 9 bytes and five of three frames (5 + 4 + 1 bytes): 25
/// frames and 140 bytes in on the frontend, out on the backend. The message sent
/// while paused waits; it adds one frame of 12 bytes after RESUME.
const STEERED_BY_REQ: [&str; 12] = [
    "statistics 0 0 0 0 0 0 0 0",
    "forwarded 15",
    "statistics 25 140 0 0 0 0 25 140",
    "PAUSE reply [b'']",
    "paused: nothing arrived",
    "statistics 25 140 0 0 0 0 25 140",
    "RESUME reply [b'']",
    "resumed: got [b'while paused']",
    "statistics 26 152 0 0 0 0 26 152",
    "BOGUS reply [b'ERROR unknown command']",
    "TERMINATE reply [b'']",
    "end",
];

/// The same with a PAIR control socket: only STATISTICS is answered.
const STEERED_BY_PAIR: [&str; 12] = [
    "statistics 0 0 0 0 0 0 0 0",
    "forwarded 15",
    "statistics 25 140 0 0 0 0 25 140",
    "PAUSE no reply",
    "paused: nothing arrived",
    "statistics 25 140 0 0 0 0 25 140",
    "RESUME no reply",
    "resumed: got [b'while paused']",
    "statistics 26 152 0 0 0 0 26 152",
    "BOGUS no reply",
    "TERMINATE no reply",
    "end",
];

#[test]
fn libzmq_reads_statistics_and_steers_through_our_rep_control() {
    assert_eq!(steered_by_libzmq(SocketType::Rep, "REQ"), STEERED_BY_REQ);
}

#[test]
fn libzmq_reads_statistics_and_steers_through_our_pair_control() {
    assert_eq!(steered_by_libzmq(SocketType::Pair, "PAIR"), STEERED_BY_PAIR);
}

// `purezmq proxy`, the command lines the examples show, with the same peers.

/// Runs `purezmq proxy` as a streamer with a control socket of `control_type` and
/// has `proxy_control.py` steer it with `peer_type`: what it prints, then the
/// proxy's exit on TERMINATE with its final `--json` counters.
fn purezmq_proxy_steered_by_libzmq(control_type: &str, peer_type: &str, expected: [&str; 12]) {
    python();
    let (frontend, backend, control) = (ipc_endpoint(), ipc_endpoint(), ipc_endpoint());
    let mut proxy = Device::purezmq(&[
        "proxy",
        &format!("pull@{frontend}"),
        &format!("push@{backend}"),
        "--control",
        &format!("{control_type}@{control}"),
        "--stats-every",
        "1h",
        "--json",
    ]);
    let mut peer = PyPeer::spawn(
        "proxy_control.py",
        &[peer_type, &control, &frontend, &backend],
    );
    assert_eq!(all_lines(&mut peer), expected);
    let (status, lines) = proxy.exit();
    assert!(status.success(), "TERMINATE ends purezmq proxy: {status}");
    assert_eq!(
        lines,
        [concat!(
            r#"{"frontend":{"messages_in":26,"bytes_in":152,"messages_out":0,"bytes_out":0},"#,
            r#""backend":{"messages_in":0,"bytes_in":0,"messages_out":26,"bytes_out":152},"#,
            r#""capture_dropped":0}"#
        )],
        "the counters at exit"
    );
}

#[test]
fn libzmq_steers_purezmq_proxy_through_a_rep_control() {
    purezmq_proxy_steered_by_libzmq("rep", "REQ", STEERED_BY_REQ);
}

#[test]
fn libzmq_steers_purezmq_proxy_through_a_pair_control() {
    purezmq_proxy_steered_by_libzmq("pair", "PAIR", STEERED_BY_PAIR);
}

#[test]
fn seed_late_joiner_through_two_purezmq_proxy_processes() {
    python();
    let (xsub, xpub, router, dealer) = (
        ipc_endpoint(),
        ipc_endpoint(),
        ipc_endpoint(),
        ipc_endpoint(),
    );
    let mut forwarder =
        Device::purezmq(&["proxy", &format!("xsub@{xsub}"), &format!("xpub@{xpub}")]);
    let mut queue = Device::purezmq(&[
        "proxy",
        &format!("router@{router}"),
        &format!("dealer@{dealer}"),
    ]);

    late_joiner_handshake(&xsub, &xpub, &router, &dealer);

    // SIGTERM: each closes its sockets, removes its ipc files and exits 0.
    for (device, endpoints) in [
        (&mut forwarder, [&xsub, &xpub]),
        (&mut queue, [&router, &dealer]),
    ] {
        device.terminate();
        let (status, _) = device.exit();
        assert!(status.success(), "purezmq proxy on SIGTERM: {status}");
        for endpoint in endpoints {
            let path = endpoint.strip_prefix("ipc://").expect("an ipc endpoint");
            assert!(!Path::new(path).exists(), "{path} is left behind");
        }
    }
}

#[test]
fn libzmq_subscriber_and_capture_through_purezmq_proxy_forwarder() {
    python();
    let (xsub, xpub, capture) = (ipc_endpoint(), ipc_endpoint(), ipc_endpoint());
    let _forwarder = Device::purezmq(&[
        "proxy",
        &format!("xsub@{xsub}"),
        &format!("xpub@{xpub}"),
        "--capture",
        &format!("pub@{capture}"),
    ]);
    let mut publisher = seed_peer(
        "publisher",
        &[
            &xsub,
            "--xpub",
            "--topics",
            "A,B",
            "--count",
            "0",
            "--interval",
            "0.01",
        ],
    );
    let subscriber = |endpoint: &str, count: &str| {
        seed_peer(
            "subscriber",
            &[
                endpoint,
                "--topic",
                "A",
                "--count",
                count,
                "--timeout",
                PEER_TIMEOUT,
                "--announce",
            ],
        )
    };
    // The capture copies every frame with its MORE flag: [topic, number] arrive as
    // two-frame messages. It sees only what passes the proxy, so it listens before
    // the subscriber makes anything pass, and wants fewer messages than it.
    let mut capture = subscriber(&capture, "10");
    started(&mut capture);
    let mut only_a = subscriber(&xpub, "20");
    assert_eq!(only_a.read_line(STARTUP), "listening");
    let mut upstream = Vec::new();
    let mut lines = |peer: &mut PyPeer, which: &str| match std::panic::catch_unwind(
        std::panic::AssertUnwindSafe(|| all_lines(peer)),
    ) {
        Ok(lines) => lines,
        Err(_) => {
            while let Ok(line) = publisher.next_line(Duration::from_millis(100)) {
                upstream.push(line);
            }
            panic!("the {which} stalled; the publisher printed {upstream:?}");
        }
    };
    assert_topics_in_sequence(&lines(&mut only_a, "subscriber"), &["A"]);
    assert_topics_in_sequence(&lines(&mut capture, "capture subscriber"), &["A"]);
    assert_eq!(
        publisher.read_line(PATIENCE),
        r"subscription b'\x01A'",
        "the subscription travels upstream"
    );
}
