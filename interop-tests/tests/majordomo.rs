//! Our Majordomo broker against libzmq peers: MDP/0.1 (RFC 7) and MDP/0.2 (RFC 18)
//! clients and workers, MMI (RFC 8) and conformance probes from
//! `python/mdp_peer.py`, and majortomo's own Client and Worker from
//! `python/majortomo_peer.py` (see `python/README.md` for both); also our own
//! `purezmq echo` worker and Rust `Client` with those peers.
//!
//! Each peer is a pyzmq (libzmq 4.3.5) process of its own. The broker is `purezmq
//! broker` in a process of its own on a free loopback port, except in the one test
//! that reads the broker's counters: there it is the library's `Broker`, spawned in
//! the test. The binary is built with `cargo build --workspace` into the
//! target directory this test runs from (a no-op when it is up to date).
//!
//! Run with `cargo test -p purezmq-interop-tests --test majordomo`.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use purezmq::curve::{Certificate, KeyPair};
use purezmq_broker::broker::{Broker, BrokerConfig};
use purezmq_broker::client::{BlockingClient, Client};
use purezmq_broker::mdp::{ReplyKind, Version};
use purezmq_interop_tests::{PyPeer, python};

mod support;

/// The broker's first line may wait for the binary to build.
const STARTUP: Duration = Duration::from_secs(300);
/// How long any one expected line or exit may take on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(30);
/// What clients pass as `--timeout` (ms) when they expect an answer.
const ANSWER_TIMEOUT: &str = "20000";
/// What clients pass as `--timeout` (ms) when they expect none: long enough for a
/// reply that would come, short enough to keep the file fast.
const SILENCE_TIMEOUT: &str = "2000";
/// What `raw` probes wait after their last send for whatever comes back.
const PROBE_TIMEOUT: &str = "1500";
/// `mdp_peer.py`'s exit status for a timeout.
const EXIT_TIMEOUT: i32 = 3;

// --- the broker as a process -----------------------------------------------------

/// `purezmq broker` running as a process, killed when dropped.
struct BrokerProcess {
    child: Child,
    lines: Receiver<String>,
    /// The endpoint it printed, `tcp://127.0.0.1:PORT`.
    endpoint: String,
    /// With `--curve`, the public key it printed.
    public_key: Option<String>,
}

impl BrokerProcess {
    /// Starts `purezmq -q broker ENDPOINT ARGS` and waits until it says it listens.
    fn start(endpoint: &str, args: &[&str]) -> BrokerProcess {
        let binary = support::purezmq();
        let mut child = Command::new(binary)
            .args(["-q", "broker", endpoint])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{} starts: {e}", binary.display()));
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
        let mut public_key = None;
        let endpoint = loop {
            let Ok(line) = lines.recv_timeout(STARTUP) else {
                let status = child.try_wait();
                panic!("the broker did not say where it listens (exit status: {status:?})");
            };
            if let Some(key) = line.strip_prefix("broker public key: ") {
                public_key = Some(key.to_owned());
            } else if let Some(endpoint) = line.strip_prefix("broker listening on ") {
                break endpoint.to_owned();
            } else {
                panic!("unexpected line from the broker: {line:?}");
            }
        };
        BrokerProcess {
            child,
            lines,
            endpoint,
            public_key,
        }
    }

    /// Starts a broker on a free loopback port.
    fn start_any(args: &[&str]) -> BrokerProcess {
        BrokerProcess::start("tcp://127.0.0.1:*", args)
    }

    /// Kills the process (SIGKILL: no goodbye to anyone) and waits for it.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether the process still runs.
    fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        self.kill();
        // Keep the reader thread's channel alive until here.
        let _ = self.lines.try_recv();
    }
}

// --- Python peers ----------------------------------------------------------------

/// A long-running `mdp_peer.py` peer (a worker), read line by line.
fn mdp_peer(args: &[&str]) -> PyPeer {
    PyPeer::spawn("mdp_peer.py", args)
}

/// A Python peer that runs to its end (a client or a probe), started now and
/// waited for with [`Run::finish`], so that several can run at once.
struct Run {
    child: Child,
    what: String,
}

/// How a [`Run`] ended.
#[derive(Debug)]
struct Outcome {
    /// The exit code (None if killed by a signal).
    code: Option<i32>,
    /// What it printed on stdout, line by line.
    lines: Vec<String>,
}

impl Run {
    /// Starts `python -u interop-tests/python/SCRIPT ARGS`.
    fn start(script: &str, args: &[&str]) -> Run {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("python")
            .join(script);
        let child = Command::new(python())
            .arg("-u")
            .arg(&path)
            .args(args)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}", path.display()));
        Run {
            child,
            what: format!("{script} {}", args.join(" ")),
        }
    }

    /// Waits for the script to exit (it always has a `--timeout`), killing it after
    /// [`PATIENCE`].
    fn finish(mut self) -> Outcome {
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("`{}` still runs after {PATIENCE:?}", self.what);
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut text = String::new();
        if let Some(mut stdout) = self.child.stdout.take() {
            stdout.read_to_string(&mut text).expect("stdout is UTF-8");
        }
        Outcome {
            code: status.code(),
            lines: text.lines().map(str::to_owned).collect(),
        }
    }
}

/// Runs `mdp_peer.py ARGS` to its end.
fn mdp_run(args: &[&str]) -> Outcome {
    Run::start("mdp_peer.py", args).finish()
}

/// Asserts that a run exited 0 and returns its lines.
fn succeeded(outcome: Outcome) -> Vec<String> {
    assert_eq!(outcome.code, Some(0), "the peer failed: {outcome:?}");
    outcome.lines
}

/// Waits for a worker's `READY`.
fn ready(worker: &mut PyPeer) {
    assert_eq!(worker.read_line(PATIENCE), "READY");
}

/// Every line a worker prints until it is quiet for a moment. Clients have their
/// replies by the time this is called, and a worker prints `REQUEST` before it
/// replies, so those lines are already in the pipe.
fn lines_so_far(worker: &mut PyPeer) -> Vec<String> {
    let mut lines = Vec::new();
    while let Ok(line) = worker.next_line(Duration::from_millis(500)) {
        lines.push(line);
    }
    lines
}

/// The line an MDP/0.1 client prints for a reply.
fn reply01(service: &str, body: &[&str]) -> String {
    format!(r#"{{"service": "{service}", "body": {}}}"#, json_list(body))
}

/// The line an MDP/0.2 client prints for a PARTIAL or FINAL.
fn reply02(kind: &str, service: &str, body: &[&str]) -> String {
    format!(
        r#"{{"kind": "{kind}", "service": "{service}", "body": {}}}"#,
        json_list(body)
    )
}

/// The lines an MDP/0.2 client prints for one request answered by a worker that
/// sends `partials` PARTIALs and then echoes `body`.
fn replies02(service: &str, partials: usize, body: &[&str]) -> Vec<String> {
    let mut lines: Vec<String> = (1..=partials)
        .map(|i| reply02("partial", service, &[&format!("partial {i}/{partials}")]))
        .collect();
    lines.push(reply02("final", service, body));
    lines
}

/// A JSON list of plain ASCII strings, as Python's `json.dumps` writes it.
fn json_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("\"{s}\"")).collect();
    format!("[{}]", quoted.join(", "))
}

/// The line `raw` prints for a message of these frames.
fn raw_line(frames: &[&[u8]]) -> String {
    let text: Vec<String> = frames
        .iter()
        .map(|f| {
            // Only the frames these tests expect: ASCII text or one control byte.
            match f {
                [b] if *b < 0x20 => format!("\"\\u{:04x}\"", b),
                _ => format!("\"{}\"", String::from_utf8_lossy(f)),
            }
        })
        .collect();
    let hex: Vec<String> = frames
        .iter()
        .map(|f| {
            format!(
                "\"{}\"",
                f.iter().map(|b| format!("{b:02x}")).collect::<String>()
            )
        })
        .collect();
    format!(
        r#"{{"frames": [{}], "hex": [{}]}}"#,
        text.join(", "),
        hex.join(", ")
    )
}

/// A fresh scratch directory.
fn scratch_dir(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "purezmq-majordomo-{name}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a scratch directory");
    dir
}

// --- MDP/0.1 -------------------------------------------------------------------------

#[test]
fn mdp01_clients_over_req_and_dealer_are_served_by_a_python_worker() {
    let broker = BrokerProcess::start_any(&[]);
    let ep = broker.endpoint.as_str();
    let mut echo = mdp_peer(&["worker01", "--broker", ep, "--service", "echo"]);
    let mut upper = mdp_peer(&[
        "worker01",
        "--broker",
        ep,
        "--service",
        "upper",
        "--mode",
        "upper",
    ]);
    ready(&mut echo);
    ready(&mut upper);

    let common = ["client01", "--broker", ep, "--timeout", ANSWER_TIMEOUT];
    let over_req = Run::start(
        "mdp_peer.py",
        &[
            &common[..],
            &["--service", "echo", "--count", "3", "hello", "0x"],
        ]
        .concat(),
    );
    let over_dealer = Run::start(
        "mdp_peer.py",
        &[
            &common[..],
            &[
                "--service",
                "upper",
                "--dealer",
                "--count",
                "3",
                "hello",
                "world",
            ],
        ]
        .concat(),
    );
    assert_eq!(
        succeeded(over_req.finish()),
        vec![reply01("echo", &["hello", ""]); 3]
    );
    assert_eq!(
        succeeded(over_dealer.finish()),
        vec![reply01("upper", &["HELLO", "WORLD"]); 3]
    );
    let requests = |lines: Vec<String>| lines.iter().filter(|l| l.starts_with("REQUEST ")).count();
    assert_eq!(requests(lines_so_far(&mut echo)), 3);
    assert_eq!(requests(lines_so_far(&mut upper)), 3);
}

#[test]
fn mdp01_two_python_workers_share_the_load() {
    let broker = BrokerProcess::start_any(&[]);
    let ep = broker.endpoint.as_str();
    let mut workers: Vec<PyPeer> = (0..2)
        .map(|_| mdp_peer(&["worker01", "--broker", ep, "--service", "echo"]))
        .collect();
    for worker in &mut workers {
        ready(worker);
    }
    let lines = succeeded(mdp_run(&[
        "client01",
        "--broker",
        ep,
        "--service",
        "echo",
        "--timeout",
        ANSWER_TIMEOUT,
        "--count",
        "8",
        "ping",
    ]));
    assert_eq!(lines, vec![reply01("echo", &["ping"]); 8]);
    let served: Vec<usize> = workers
        .iter_mut()
        .map(|w| {
            lines_so_far(w)
                .iter()
                .filter(|l| l.starts_with("REQUEST "))
                .count()
        })
        .collect();
    assert_eq!(served.iter().sum::<usize>(), 8, "{served:?}");
    assert!(
        served.iter().all(|&n| n > 0),
        "both workers get requests: {served:?}"
    );
}

// --- MDP/0.2 -------------------------------------------------------------------------

/// A 0.2 client and a 0.2 worker, each framed `--empty` or `--no-empty`, with two
/// PARTIALs before each FINAL. Either script exits 1 when the broker frames its
/// messages otherwise than the script frames its own.
fn mdp02_exchange(client_framing: &str, worker_framing: &str) {
    let broker = BrokerProcess::start_any(&[]);
    let ep = broker.endpoint.as_str();
    let mut worker = mdp_peer(&[
        "worker02",
        "--broker",
        ep,
        "--service",
        "echo",
        worker_framing,
        "--partials",
        "2",
    ]);
    ready(&mut worker);
    let lines = succeeded(mdp_run(&[
        "client02",
        "--broker",
        ep,
        "--service",
        "echo",
        client_framing,
        "--timeout",
        ANSWER_TIMEOUT,
        "--count",
        "2",
        "hello",
        "world",
    ]));
    let once = replies02("echo", 2, &["hello", "world"]);
    assert_eq!(lines, [once.clone(), once].concat());
    let worker_lines = lines_so_far(&mut worker);
    assert_eq!(
        worker_lines
            .iter()
            .filter(|l| l.starts_with("REQUEST ") && l.ends_with(r#"["hello", "world"]"#))
            .count(),
        2,
        "{worker_lines:?}"
    );
}

#[test]
fn mdp02_no_empty_client_and_no_empty_worker() {
    mdp02_exchange("--no-empty", "--no-empty");
}

#[test]
fn mdp02_empty_client_and_empty_worker() {
    mdp02_exchange("--empty", "--empty");
}

#[test]
fn mdp02_no_empty_client_and_empty_worker() {
    mdp02_exchange("--no-empty", "--empty");
}

#[test]
fn mdp02_empty_client_and_no_empty_worker() {
    mdp02_exchange("--empty", "--no-empty");
}

// --- 0.1 and 0.2 through one broker ------------------------------------------------------

#[test]
fn mdp01_and_mdp02_peers_serve_each_other() {
    let broker = BrokerProcess::start_any(&[]);
    let ep = broker.endpoint.as_str();
    let mut worker02 = mdp_peer(&[
        "worker02",
        "--broker",
        ep,
        "--service",
        "v2",
        "--partials",
        "2",
    ]);
    let mut worker01 = mdp_peer(&[
        "worker01",
        "--broker",
        ep,
        "--service",
        "v1",
        "--mode",
        "upper",
    ]);
    ready(&mut worker02);
    ready(&mut worker01);

    let client01 = Run::start(
        "mdp_peer.py",
        &[
            "client01",
            "--broker",
            ep,
            "--service",
            "v2",
            "--timeout",
            ANSWER_TIMEOUT,
            "--count",
            "2",
            "hi",
        ],
    );
    let client02_plain = Run::start(
        "mdp_peer.py",
        &[
            "client02",
            "--broker",
            ep,
            "--service",
            "v1",
            "--timeout",
            ANSWER_TIMEOUT,
            "hi",
        ],
    );
    let client02_empty = Run::start(
        "mdp_peer.py",
        &[
            "client02",
            "--broker",
            ep,
            "--service",
            "v1",
            "--empty",
            "--timeout",
            ANSWER_TIMEOUT,
            "there",
        ],
    );
    // The 0.2 worker's PARTIALs do not reach the 0.1 client (RFC 7 has no place for
    // them); the FINAL arrives as its REPLY, in order, twice.
    assert_eq!(
        succeeded(client01.finish()),
        vec![reply01("v2", &["hi"]); 2]
    );
    // A 0.1 worker's REPLY is a 0.2 client's FINAL, framed the client's way.
    assert_eq!(
        succeeded(client02_plain.finish()),
        [reply02("final", "v1", &["HI"])]
    );
    assert_eq!(
        succeeded(client02_empty.finish()),
        [reply02("final", "v1", &["THERE"])]
    );
}

#[test]
fn our_echo_worker_serves_python_clients_of_both_versions() {
    let broker = BrokerProcess::start_any(&[]);
    let ep = broker.endpoint.as_str();
    let mut worker = Command::new(support::purezmq())
        .args([
            "-q",
            "echo",
            "echo",
            "--broker",
            ep,
            "--mdp",
            "0.2",
            "--partials",
            "2",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(worker.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line.trim_end(), format!("worker ready: echo on {ep}"));

    let client = |args: &[&str]| {
        Run::start(
            "mdp_peer.py",
            &[
                &args[..1],
                &[
                    "--broker",
                    ep,
                    "--service",
                    "echo",
                    "--timeout",
                    ANSWER_TIMEOUT,
                ],
                &args[1..],
            ]
            .concat(),
        )
    };
    let plain = client(&["client02", "--no-empty", "hi"]);
    let empty = client(&["client02", "--empty", "hi"]);
    let over_req = client(&["client01", "hi"]);
    let over_dealer = client(&["client01", "--dealer", "hi"]);
    let streamed = [
        reply02("partial", "echo", &["hi"]),
        reply02("partial", "echo", &["hi"]),
        reply02("final", "echo", &["hi"]),
    ];
    assert_eq!(succeeded(plain.finish()), streamed);
    assert_eq!(succeeded(empty.finish()), streamed);
    assert_eq!(succeeded(over_req.finish()), [reply01("echo", &["hi"])]);
    assert_eq!(succeeded(over_dealer.finish()), [reply01("echo", &["hi"])]);
    let _ = worker.kill();
    let _ = worker.wait();
}

// --- MMI ----------------------------------------------------------------------------------

#[test]
fn mmi_from_python() {
    let broker = BrokerProcess::start_any(&[]);
    let ep = broker.endpoint.as_str();
    let mut worker = mdp_peer(&["worker01", "--broker", ep, "--service", "echo"]);
    ready(&mut worker);
    let mmi = |args: &[&str]| {
        Run::start(
            "mdp_peer.py",
            &[
                &["mmi", "--broker", ep, "--timeout", ANSWER_TIMEOUT][..],
                args,
            ]
            .concat(),
        )
    };
    // The worker's READY may still be on its way: ask until the broker knows it.
    let deadline = Instant::now() + PATIENCE;
    loop {
        let lines = succeeded(mmi(&["echo"]).finish());
        if lines == [reply01("mmi.service", &["200"])] {
            break;
        }
        assert_eq!(lines, [reply01("mmi.service", &["404"])]);
        assert!(
            Instant::now() < deadline,
            "the broker never knew the worker"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let missing = mmi(&["no-such-service"]);
    let over_dealer = mmi(&["--dealer", "echo"]);
    let services = mmi(&["--service", "mmi.services", "x"]);
    let unknown = mmi(&["--service", "mmi.foo", "x"]);
    assert_eq!(
        succeeded(missing.finish()),
        [reply01("mmi.service", &["404"])]
    );
    assert_eq!(
        succeeded(over_dealer.finish()),
        [reply01("mmi.service", &["200"])]
    );
    let lines = succeeded(services.finish());
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with(r#"{"service": "mmi.services", "body": ["200""#)
            && lines[0].contains(r#""echo""#),
        "mmi.services lists echo: {lines:?}"
    );
    assert_eq!(succeeded(unknown.finish()), [reply01("mmi.foo", &["501"])]);
}

// --- conformance probes ---------------------------------------------------------------------

#[test]
fn conformance_probes_from_a_raw_libzmq_dealer_get_disconnect() {
    let broker = BrokerProcess::start_any(&[]);
    let ep = broker.endpoint.as_str();
    let probe = |frames: &[&str]| {
        Run::start(
            "mdp_peer.py",
            &[
                &["raw", "--broker", ep, "--timeout", PROBE_TIMEOUT][..],
                frames,
            ]
            .concat(),
        )
    };
    // Each probe is its own DEALER, so they run side by side.
    let probes = [
        (
            "a second READY (0.1)",
            probe(&[
                "0x", "MDPW01", "0x01", "echo", "--then", "0x", "MDPW01", "0x01", "echo",
            ]),
            raw_line(&[b"", b"MDPW01", b"\x05"]),
        ),
        (
            "HEARTBEAT before READY (0.1)",
            probe(&["0x", "MDPW01", "0x04"]),
            raw_line(&[b"", b"MDPW01", b"\x05"]),
        ),
        (
            "READY for mmi.x (0.1)",
            probe(&["0x", "MDPW01", "0x01", "mmi.x"]),
            raw_line(&[b"", b"MDPW01", b"\x05"]),
        ),
        (
            "a second READY (0.2, no empty frame)",
            probe(&["MDPW02", "0x01", "echo", "--then", "MDPW02", "0x01", "echo"]),
            raw_line(&[b"MDPW02", b"\x06"]),
        ),
        (
            "HEARTBEAT before READY (0.2, empty frame)",
            probe(&["0x", "MDPW02", "0x05"]),
            raw_line(&[b"", b"MDPW02", b"\x06"]),
        ),
    ];
    for (what, run, disconnect) in probes {
        // The worker is forgotten after its DISCONNECT: nothing else comes.
        assert_eq!(succeeded(run.finish()), [disconnect], "{what}");
    }
}

// --- worker reconnect -------------------------------------------------------------------------

#[test]
fn python_worker_keeps_serving_after_the_broker_restarts_on_its_port() {
    let heartbeat = ["--heartbeat", "500ms", "--liveness", "5"];
    let mut broker = BrokerProcess::start_any(&heartbeat);
    let ep = broker.endpoint.clone();
    let mut worker = mdp_peer(&[
        "worker01",
        "--broker",
        &ep,
        "--service",
        "echo",
        "--heartbeat",
        "500",
        "--liveness",
        "5",
    ]);
    ready(&mut worker);
    let request = || {
        mdp_run(&[
            "client01",
            "--broker",
            &ep,
            "--service",
            "echo",
            "--timeout",
            ANSWER_TIMEOUT,
            "before",
        ])
    };
    assert_eq!(succeeded(request()), [reply01("echo", &["before"])]);
    assert!(worker.read_line(PATIENCE).starts_with("REQUEST "));

    broker.kill();
    let mut broker = BrokerProcess::start(&ep, &heartbeat);
    assert_eq!(broker.endpoint, ep, "the new broker has the old port");

    // The worker notices: the new broker answers its HEARTBEAT with DISCONNECT (or,
    // if the broker stayed away long enough, the worker hears nothing: SILENT); it
    // reconnects on a new socket and says READY again.
    let mut seen = Vec::new();
    loop {
        let line = worker
            .next_line(PATIENCE)
            .unwrap_or_else(|e| panic!("{e}; the worker printed {seen:?}"));
        let done = line == "READY" && seen.iter().any(|l| l == "DISCONNECT" || l == "SILENT");
        seen.push(line);
        if done {
            break;
        }
    }
    let after = mdp_run(&[
        "client01",
        "--broker",
        &ep,
        "--service",
        "echo",
        "--timeout",
        ANSWER_TIMEOUT,
        "after",
    ]);
    assert_eq!(succeeded(after), [reply01("echo", &["after"])]);
    assert!(broker.is_running());
}

// --- CURVE --------------------------------------------------------------------------------------

#[test]
fn curve_broker_serves_python_peers_that_know_its_key() {
    let dir = scratch_dir("curve");
    let cert = dir.join("broker.key");
    let broker = BrokerProcess::start_any(&["--curve", "--cert", cert.to_str().unwrap()]);
    let ep = broker.endpoint.as_str();
    let key = broker
        .public_key
        .clone()
        .expect("the broker prints its key");
    // One argument: a Z85 key may start with '-', which argparse takes for a flag.
    let server_key = format!("--server-key={key}");
    let mut worker = mdp_peer(&["worker01", "--broker", ep, "--service", "echo", &server_key]);
    ready(&mut worker);
    let lines = succeeded(mdp_run(&[
        "client01",
        "--broker",
        ep,
        "--service",
        "echo",
        &server_key,
        "--timeout",
        ANSWER_TIMEOUT,
        "secret",
    ]));
    assert_eq!(lines, [reply01("echo", &["secret"])]);

    // MDP/0.2 over CURVE too, PARTIALs included.
    let mut worker02 = mdp_peer(&[
        "worker02",
        "--broker",
        ep,
        "--service",
        "stream",
        "--partials",
        "2",
        &server_key,
    ]);
    ready(&mut worker02);
    let lines = succeeded(mdp_run(&[
        "client02",
        "--broker",
        ep,
        "--service",
        "stream",
        "--empty",
        &server_key,
        "--timeout",
        ANSWER_TIMEOUT,
        "secret",
    ]));
    assert_eq!(lines, replies02("stream", 2, &["secret"]));
    drop(broker);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn curve_broker_with_allow_keys_ignores_an_unlisted_client() {
    let dir = scratch_dir("ironhouse");
    let allowed = dir.join("allowed");
    std::fs::create_dir_all(&allowed).unwrap();
    let alice = KeyPair::generate();
    let client_key = format!("--client-key={}", alice.secret().to_z85().as_str());
    std::fs::write(
        allowed.join("alice.key"),
        Certificate::new(alice).to_public_text(),
    )
    .unwrap();

    let cert = dir.join("broker.key");
    let broker = BrokerProcess::start_any(&[
        "--curve",
        "--cert",
        cert.to_str().unwrap(),
        "--allow-keys",
        allowed.to_str().unwrap(),
    ]);
    let ep = broker.endpoint.as_str();
    let key = broker
        .public_key
        .clone()
        .expect("the broker prints its key");
    // One argument: a Z85 key may start with '-', which argparse takes for a flag.
    let server_key = format!("--server-key={key}");
    let mut worker = mdp_peer(&[
        "worker01",
        "--broker",
        ep,
        "--service",
        "echo",
        &server_key,
        &client_key,
    ]);
    ready(&mut worker);
    let client = |extra: &[&str], timeout: &str| {
        Run::start(
            "mdp_peer.py",
            &[
                &[
                    "client01",
                    "--broker",
                    ep,
                    "--service",
                    "echo",
                    &server_key,
                    "--timeout",
                    timeout,
                ][..],
                extra,
                &["hi"],
            ]
            .concat(),
        )
    };
    let listed = client(&[&client_key], ANSWER_TIMEOUT);
    let unlisted = client(&[], SILENCE_TIMEOUT);
    assert_eq!(succeeded(listed.finish()), [reply01("echo", &["hi"])]);
    let refused = unlisted.finish();
    assert_eq!(refused.code, Some(EXIT_TIMEOUT), "{refused:?}");
    assert!(refused.lines.is_empty(), "{refused:?}");
    drop(broker);
    let _ = std::fs::remove_dir_all(&dir);
}

// --- majortomo ------------------------------------------------------------------------------------

#[test]
fn majortomo_worker_serves_our_mdp02_client() {
    let broker = BrokerProcess::start_any(&[]);
    let ep = broker.endpoint.as_str();
    // majortomo's Worker prints READY before it is connected; requests wait in
    // the broker's queue until its READY arrives.
    let mut worker = PyPeer::spawn(
        "majortomo_peer.py",
        &[
            "worker",
            "--broker",
            ep,
            "--service",
            "echo",
            "--partials",
            "2",
        ],
    );
    ready(&mut worker);
    let lines = succeeded(mdp_run(&[
        "client02",
        "--broker",
        ep,
        "--service",
        "echo",
        "--empty",
        "--timeout",
        ANSWER_TIMEOUT,
        "--count",
        "2",
        "hello",
    ]));
    let once = replies02("echo", 2, &["hello"]);
    assert_eq!(lines, [once.clone(), once].concat());
    // Our Rust client, MDP/0.2 in RFC 18's framing: the broker frames each side
    // its own way.
    let client = BlockingClient::new(
        Client::builder()
            .endpoint(ep)
            .version(Version::V02)
            .timeout(PATIENCE)
            .retries(0),
    )
    .unwrap();
    let mut partials = Vec::new();
    let last = client
        .request_each("echo", vec!["rust".into()], |reply| {
            if reply.kind == ReplyKind::Partial {
                partials.push(reply.body.clone());
            }
        })
        .unwrap();
    assert_eq!(last.kind, ReplyKind::Final);
    assert_eq!(last.body, ["rust"]);
    assert_eq!(partials, [["partial 1/2"], ["partial 2/2"]]);
    // An MDP/0.1 client is served by it too, FINAL only.
    let lines = succeeded(mdp_run(&[
        "client01",
        "--broker",
        ep,
        "--service",
        "echo",
        "--timeout",
        ANSWER_TIMEOUT,
        "hi",
    ]));
    assert_eq!(lines, [reply01("echo", &["hi"])]);
}

/// majortomo's Client numbers its REQUEST 0x02 (RFC 18: 0x01; 0x02 is a client's
/// PARTIAL, which only the broker sends). Our broker drops each such request as
/// malformed, counts it, and keeps serving everyone else; the majortomo client
/// times out.
#[test]
fn majortomo_client_requests_are_dropped_as_malformed() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let broker = {
        let _inside = runtime.enter();
        Broker::new(BrokerConfig::default())
            .bind("tcp://127.0.0.1:*")
            .spawn()
            .unwrap()
    };
    let ep = broker.endpoints()[0].clone();
    let mut worker = mdp_peer(&["worker02", "--broker", &ep, "--service", "echo", "--empty"]);
    ready(&mut worker);

    let theirs = Run::start(
        "majortomo_peer.py",
        &[
            "client",
            "--broker",
            &ep,
            "--service",
            "echo",
            "--timeout",
            SILENCE_TIMEOUT,
            "hello",
        ],
    )
    .finish();
    assert_eq!(theirs.code, Some(EXIT_TIMEOUT), "{theirs:?}");
    assert!(theirs.lines.is_empty(), "{theirs:?}");

    // The broker published its counters within a few milliseconds of the drop.
    let deadline = Instant::now() + PATIENCE;
    while broker.stats().malformed == 0 {
        assert!(Instant::now() < deadline, "no malformed message counted");
        std::thread::sleep(Duration::from_millis(20));
    }
    let stats = broker.stats();
    assert_eq!(stats.malformed, 1, "{stats:?}");
    assert_eq!(stats.totals.requests, 0, "{stats:?}");
    assert_eq!(
        lines_so_far(&mut worker),
        Vec::<String>::new(),
        "the worker saw nothing"
    );

    // Everyone else is still served, in the framing majortomo uses.
    let ours = succeeded(mdp_run(&[
        "client02",
        "--broker",
        &ep,
        "--service",
        "echo",
        "--empty",
        "--timeout",
        ANSWER_TIMEOUT,
        "hello",
    ]));
    assert_eq!(ours, [reply02("final", "echo", &["hello"])]);
    assert!(!broker.is_finished());
    assert_eq!(broker.stats().malformed, 1);
    runtime.block_on(broker.stop()).unwrap();
}
