//! The `purezmq` binary against libzmq: `purezmq cat` with pyzmq sockets of every
//! type on the other end (`python/cat_peer.py`), its output formats for frames
//! pyzmq sent, certificates from `purezmq keygen --cert` read by pyzmq's `zmq.auth`
//! (and pyzmq's read by `purezmq cat`), CURVE between the two with those files, and
//! PLAIN both ways.
//!
//! The binary is built with `cargo build --workspace --bin purezmq` into the
//! target directory this test runs from (a no-op when it is up to date); set
//! `PUREZMQ_BIN` to test another build. Where pyzmq binds, it takes a free tcp port
//! and says which; where `purezmq cat` binds, it takes an ipc path of its own, so
//! the tests can run side by side.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use purezmq_interop_tests::{NoLine, PyPeer, python};
use support::purezmq;

mod support;

/// How long a line from a Python peer may take (the first waits for the
/// environment, which the tests create before starting anything).
const PATIENCE: Duration = Duration::from_secs(20);
/// How long `purezmq cat` may run: longer than the `--timeout` the tests give it.
const CAT_LIMIT: Duration = Duration::from_secs(30);

/// A `purezmq` process; killed if still running when dropped.
struct Purezmq {
    child: Child,
}

/// What a finished `purezmq` process left.
#[derive(Debug)]
struct Finished {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Finished {
    /// The lines it printed on stdout, after checking that it succeeded.
    fn success(self) -> Vec<String> {
        assert!(
            self.status.success(),
            "purezmq failed ({}): {}\nstdout: {}",
            self.status,
            self.stderr,
            self.stdout
        );
        self.stdout.lines().map(str::to_owned).collect()
    }
}

impl Purezmq {
    /// Starts `purezmq ARGS`, with `stdin` as its input.
    fn start(args: &[&str], stdin: &str) -> Purezmq {
        let mut child = Command::new(purezmq())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("purezmq starts: {e}"));
        let mut input = child.stdin.take().expect("piped");
        let stdin = stdin.to_owned();
        // Written from a thread, so a large input cannot block the test.
        std::thread::spawn(move || {
            let _ = input.write_all(stdin.as_bytes());
        });
        Purezmq { child }
    }

    /// Waits for the process to end (killing it after [`CAT_LIMIT`]).
    fn finish(mut self) -> Finished {
        let deadline = Instant::now() + CAT_LIMIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("purezmq still ran after {CAT_LIMIT:?}: {:?}", self.output());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let (stdout, stderr) = self.output();
        Finished {
            status,
            stdout,
            stderr,
        }
    }

    /// Everything on stdout and stderr so far; call once the process ended.
    fn output(&mut self) -> (String, String) {
        let mut stdout = String::new();
        let mut stderr = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            let _ = out.read_to_string(&mut stdout);
        }
        if let Some(mut err) = self.child.stderr.take() {
            let _ = err.read_to_string(&mut stderr);
        }
        (stdout, stderr)
    }
}

impl Drop for Purezmq {
    fn drop(&mut self) {
        // Fails only if the child has exited already.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `purezmq ARGS` to the end, with no input.
fn run(args: &[&str]) -> Finished {
    Purezmq::start(args, "").finish()
}

/// Starts `cat_peer.py` and returns it with the endpoint it is ready on.
fn peer(args: &[&str]) -> (PyPeer, String) {
    let mut peer = PyPeer::spawn("cat_peer.py", args);
    let line = peer.read_line(PATIENCE);
    let endpoint = line
        .strip_prefix("ready ")
        .unwrap_or_else(|| panic!("not ready: {line:?}"))
        .to_owned();
    (peer, endpoint)
}

/// A pyzmq socket of `socket_type` bound to a free tcp port: its process and the
/// endpoint to connect to.
fn bound_peer(socket_type: &str, action: &[&str]) -> (PyPeer, String) {
    let mut args = vec![socket_type, "@tcp://127.0.0.1:*"];
    args.extend_from_slice(action);
    peer(&args)
}

/// Every line a peer prints until it exits successfully.
fn peer_lines(peer: &mut PyPeer) -> Vec<String> {
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

/// A fresh ipc endpoint for `purezmq cat` to bind.
fn ipc_endpoint() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let path = std::env::temp_dir().join(format!(
        "purezmq-cli-interop-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    format!("ipc://{}", path.display())
}

/// Prepares the Python environment and the binary before anything is timed.
fn setup() {
    python();
    purezmq();
}

fn repeated(line: &str, times: usize) -> Vec<String> {
    vec![line.to_owned(); times]
}

/// `count` pairs of lines "u <i>" and "t <i>", for publishers.
fn topic_lines(count: usize) -> String {
    (0..count).map(|i| format!("u {i}\nt {i}\n")).collect()
}

/// Checks that lines show only topic t, numbered without gaps.
fn assert_t_in_sequence(lines: &[String], open: &str, close: &str) {
    assert!(!lines.is_empty());
    let numbers: Vec<u64> = lines
        .iter()
        .map(|line| {
            line.strip_prefix(&format!("{open}t "))
                .and_then(|rest| rest.strip_suffix(close))
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("not topic t: {line:?} in {lines:?}"))
        })
        .collect();
    for pair in numbers.windows(2) {
        assert_eq!(pair[1], pair[0] + 1, "a gap: {lines:?}");
    }
}

/// `purezmq cat` as a publisher of type `cat_type` connected to a pyzmq subscriber
/// of type `peer_type` on topic `t`: five messages arrive, in sequence.
fn cat_publishes_to_a_filtering_libzmq_subscriber(cat_type: &str, peer_type: &str) {
    setup();
    let (mut subscriber, endpoint) = bound_peer(peer_type, &["recv", "5", "--subscribe", "t"]);
    let spec = format!("{cat_type}>{endpoint}");
    let cat = Purezmq::start(
        &[
            "cat",
            &spec,
            "--delay",
            "300ms",
            "--interval",
            "10ms",
            // The subscriber leaves early; what is queued for it need not wait.
            "--sockopt",
            "linger=0",
        ],
        &topic_lines(60),
    );
    let lines = peer_lines(&mut subscriber);
    assert_eq!(lines.len(), 5);
    assert_t_in_sequence(&lines, "[b'", "']");
    cat.finish().success();
}

#[test]
fn cat_push_to_libzmq_pull() {
    setup();
    let (mut pull, endpoint) = bound_peer("PULL", &["recv", "3"]);
    let spec = format!("push>{endpoint}");
    let cat = run(&[
        "cat",
        &spec,
        "-D",
        "one",
        "-D",
        "two",
        "--count",
        "3",
        "--timeout",
        "10s",
    ]);
    assert!(cat.success().is_empty());
    assert_eq!(peer_lines(&mut pull), repeated("[b'one', b'two']", 3));
}

#[test]
fn libzmq_push_to_cat_pull() {
    setup();
    let endpoint = ipc_endpoint();
    let spec = format!("pull@{endpoint}");
    let cat = Purezmq::start(&["cat", &spec, "--count", "3", "--timeout", "20s"], "");
    let (mut push, _) = peer(&["PUSH", &endpoint, "send", "3", "a", "b c"]);
    assert_eq!(peer_lines(&mut push), ["sent 3"]);
    assert_eq!(cat.finish().success(), repeated(r#""a" "b c""#, 3));
}

#[test]
fn cat_pub_to_libzmq_sub_which_filters() {
    cat_publishes_to_a_filtering_libzmq_subscriber("pub", "SUB");
}

#[test]
fn libzmq_pub_to_cat_sub_with_subscribe() {
    setup();
    let endpoint = ipc_endpoint();
    let spec = format!("sub@{endpoint}");
    let cat = Purezmq::start(
        &[
            "cat",
            &spec,
            "--subscribe",
            "t",
            "--count",
            "5",
            "--timeout",
            "20s",
        ],
        "",
    );
    let (_publisher, _) = peer(&[
        "PUB",
        &endpoint,
        "send",
        "0",
        "u x",
        "t x",
        "--each",
        "--interval",
        "0.01",
    ]);
    assert_eq!(cat.finish().success(), repeated(r#""t x""#, 5));
}

#[test]
fn cat_req_to_libzmq_rep() {
    setup();
    let (mut rep, endpoint) = bound_peer("REP", &["reply", "2", "re: "]);
    let spec = format!("req>{endpoint}");
    let cat = run(&[
        "cat",
        &spec,
        "-D",
        "hello",
        "--count",
        "2",
        "--timeout",
        "10s",
    ]);
    assert_eq!(cat.success(), repeated(r#""re: hello""#, 2));
    assert_eq!(peer_lines(&mut rep), repeated("[b'hello']", 2));
}

#[test]
fn libzmq_req_to_cat_rep() {
    setup();
    let endpoint = ipc_endpoint();
    let spec = format!("rep@{endpoint}");
    let cat = Purezmq::start(
        &[
            "cat",
            &spec,
            "-D",
            "world",
            "--count",
            "2",
            "--timeout",
            "20s",
        ],
        "",
    );
    let (mut req, _) = peer(&["REQ", &endpoint, "request", "2", "hello"]);
    assert_eq!(peer_lines(&mut req), repeated("[b'world']", 2));
    assert_eq!(cat.finish().success(), repeated(r#""hello""#, 2));
}

#[test]
fn cat_dealer_to_libzmq_router() {
    setup();
    let (mut router, endpoint) = bound_peer("ROUTER", &["reply", "2", "re: "]);
    let spec = format!("dealer>{endpoint}");
    let cat = run(&[
        "cat",
        &spec,
        "--sockopt",
        "routing_id=cat-dealer",
        "-D",
        "a",
        "-D",
        "b",
        "--count",
        "2",
        "--timeout",
        "10s",
    ]);
    assert_eq!(cat.success(), repeated(r#""a" "re: b""#, 2));
    assert_eq!(
        peer_lines(&mut router),
        repeated("[b'cat-dealer', b'a', b'b']", 2)
    );
}

#[test]
fn libzmq_dealer_to_cat_router() {
    setup();
    let endpoint = ipc_endpoint();
    let spec = format!("router@{endpoint}");
    let cat = Purezmq::start(
        &["cat", &spec, "--echo", "--count", "2", "--timeout", "20s"],
        "",
    );
    let (mut dealer, _) = peer(&[
        "DEALER",
        &endpoint,
        "request",
        "2",
        "",
        "ping",
        "--routing-id",
        "py-dealer",
    ]);
    assert_eq!(peer_lines(&mut dealer), repeated("[b'', b'ping']", 2));
    assert_eq!(
        cat.finish().success(),
        repeated(r#""py-dealer" "" "ping""#, 2)
    );
}

#[test]
fn cat_pair_and_libzmq_pair_both_ways() {
    setup();
    // Ours sends.
    let (mut pair, endpoint) = bound_peer("PAIR", &["recv", "2"]);
    let spec = format!("pair>{endpoint}");
    let cat = run(&[
        "cat",
        &spec,
        "-D",
        "to",
        "-D",
        "libzmq",
        "--count",
        "2",
        "--timeout",
        "10s",
    ]);
    assert!(cat.success().is_empty());
    assert_eq!(peer_lines(&mut pair), repeated("[b'to', b'libzmq']", 2));

    // Ours receives.
    let endpoint = ipc_endpoint();
    let spec = format!("pair@{endpoint}");
    let cat = Purezmq::start(&["cat", &spec, "--count", "2", "--timeout", "20s"], "");
    let (mut pair, _) = peer(&["PAIR", &endpoint, "send", "2", "from", "libzmq"]);
    assert_eq!(peer_lines(&mut pair), ["sent 2"]);
    assert_eq!(cat.finish().success(), repeated(r#""from" "libzmq""#, 2));
}

#[test]
fn cat_xsub_subscribes_at_a_libzmq_pub() {
    setup();
    let (_publisher, endpoint) = bound_peer(
        "PUB",
        &["send", "0", "u 0", "t 0", "--each", "--interval", "0.01"],
    );
    let spec = format!("xsub>{endpoint}");
    let cat = run(&[
        "cat",
        &spec,
        "--subscribe",
        "t",
        "--count",
        "3",
        "--timeout",
        "20s",
    ]);
    assert_eq!(cat.success(), repeated(r#""t 0""#, 3));
}

#[test]
fn cat_xpub_publishes_to_a_libzmq_xsub() {
    cat_publishes_to_a_filtering_libzmq_subscriber("xpub", "XSUB");
}

/// A temporary directory for certificates, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("purezmq-cli-interop-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `purezmq keygen --cert PATH`, checked.
fn keygen(path: &str) {
    let keygen = run(&["keygen", "--cert", path]);
    assert!(keygen.status.success(), "{keygen:?}");
}

#[test]
fn pyzmq_loads_keygen_certificates() {
    setup();
    let dir = Scratch::new("load");
    let public = dir.path("server.key");
    let secret = dir.path("server.key_secret");
    let keygen = run(&["keygen", "--cert", &public, "--name", "server"]);
    assert!(keygen.status.success(), "{keygen:?}");

    let mut loader = PyPeer::spawn("cat_peer.py", &["load-cert", &public, &secret]);
    let lines = peer_lines(&mut loader);
    assert_eq!(lines.len(), 2, "{lines:?}");
    let fields = |line: &str| line.split(' ').map(str::to_owned).collect::<Vec<_>>();
    let (public_line, secret_line) = (fields(&lines[0]), fields(&lines[1]));
    // cert PATH public KEY secret None
    assert_eq!(public_line.len(), 6, "{lines:?}");
    assert_eq!(
        public_line[5], "None",
        "a public certificate has no secret key"
    );
    let public_key = &public_line[3];
    assert_eq!(public_key.len(), 40, "Z85 of 32 bytes");
    // cert PATH public KEY secret KEY derived KEY
    assert_eq!(secret_line.len(), 8, "{lines:?}");
    assert_eq!(
        &secret_line[3], public_key,
        "both files hold one public key"
    );
    assert_eq!(secret_line[5].len(), 40);
    assert_eq!(
        &secret_line[7], public_key,
        "the secret key is the public key's"
    );
    // pyzmq reads the key that purezmq wrote into the file.
    let text = std::fs::read_to_string(&public).unwrap();
    assert!(text.contains(&format!("public-key = \"{public_key}\"")));
}

#[test]
fn cat_curve_client_with_keygen_certificates_talks_to_pyzmq_curve_server() {
    setup();
    let dir = Scratch::new("curve-client");
    let (server, client) = (dir.path("server.key"), dir.path("client.key"));
    keygen(&server);
    keygen(&client);
    let server_secret = format!("{server}_secret");
    let client_secret = format!("{client}_secret");

    let (mut rep, endpoint) = bound_peer(
        "REP",
        &["reply", "1", "secure ", "--curve-server", &server_secret],
    );
    let spec = format!("req>{endpoint}");
    let cat = run(&[
        "cat",
        &spec,
        "--curve-client",
        &client_secret,
        "--server-key",
        &server,
        "-D",
        "hello",
        "--timeout",
        "10s",
    ]);
    assert_eq!(cat.success(), [r#""secure hello""#]);
    assert_eq!(peer_lines(&mut rep), ["[b'hello']"]);
}

#[test]
fn cat_curve_client_reads_certificates_pyzmq_wrote() {
    setup();
    let dir = Scratch::new("pyzmq-certs");
    let mut create = PyPeer::spawn("cat_peer.py", &["create-cert", &dir.path(""), "pyserver"]);
    peer_lines(&mut create);
    let client = dir.path("client.key");
    keygen(&client);

    let server_secret = dir.path("pyserver.key_secret");
    let (mut rep, endpoint) = bound_peer(
        "REP",
        &["reply", "1", "secure ", "--curve-server", &server_secret],
    );
    let spec = format!("req>{endpoint}");
    let server_public = dir.path("pyserver.key");
    let client_secret = format!("{client}_secret");
    let cat = run(&[
        "cat",
        &spec,
        "--curve-client",
        &client_secret,
        "--server-key",
        &server_public,
        "-D",
        "hello",
        "--timeout",
        "10s",
    ]);
    assert_eq!(cat.success(), [r#""secure hello""#]);
    assert_eq!(peer_lines(&mut rep), ["[b'hello']"]);
}

#[test]
fn cat_curve_server_admits_only_allowed_pyzmq_clients() {
    setup();
    let dir = Scratch::new("curve-server");
    let allowed = Scratch::new("curve-server-allowed");
    let server = dir.path("server.key");
    let stranger = dir.path("stranger.key");
    let client = allowed.path("client.key");
    keygen(&server);
    keygen(&stranger);
    keygen(&client);
    let server_secret = format!("{server}_secret");

    let endpoint = ipc_endpoint();
    let spec = format!("rep@{endpoint}");
    let cat = Purezmq::start(
        &[
            "cat",
            &spec,
            "--curve-server",
            &server_secret,
            "--zap-allow",
            &allowed.0.display().to_string(),
            "--echo",
            "--count",
            "1",
            "--timeout",
            "20s",
        ],
        "",
    );
    // A client whose certificate is not in the directory gets no answer.
    let stranger_secret = format!("{stranger}_secret");
    let (mut refused, _) = peer(&[
        "REQ",
        &endpoint,
        "request",
        "1",
        "let me in",
        "--curve-client",
        &stranger_secret,
        "--server-key",
        &server,
        "--timeout",
        "2",
    ]);
    assert_eq!(refused.read_line(PATIENCE), "timeout");
    // One whose certificate is, does.
    let client_secret = format!("{client}_secret");
    let (mut admitted, _) = peer(&[
        "REQ",
        &endpoint,
        "request",
        "1",
        "hello",
        "--curve-client",
        &client_secret,
        "--server-key",
        &server,
    ]);
    assert_eq!(peer_lines(&mut admitted), ["[b'hello']"]);
    assert_eq!(cat.finish().success(), [r#""hello""#]);
}

#[test]
fn cat_plain_client_logs_in_to_a_pyzmq_plain_server() {
    setup();
    let (mut rep, endpoint) = bound_peer(
        "REP",
        &["reply", "1", "welcome ", "--plain-server", "alice:s3cret"],
    );
    let spec = format!("req>{endpoint}");
    // A wrong password is refused: no reply, exit 3 on --timeout.
    let refused = run(&[
        "cat",
        &spec,
        "--plain-client",
        "alice:guess",
        "-D",
        "hello",
        "--timeout",
        "2s",
    ]);
    assert_eq!(refused.status.code(), Some(3), "{refused:?}");
    let admitted = run(&[
        "cat",
        &spec,
        "--plain-client",
        "alice:s3cret",
        "-D",
        "hello",
        "--timeout",
        "10s",
    ]);
    assert_eq!(admitted.success(), [r#""welcome hello""#]);
    assert_eq!(peer_lines(&mut rep), ["[b'hello']"]);
}

#[test]
fn pyzmq_plain_client_logs_in_to_cat_plain_server() {
    setup();
    let dir = Scratch::new("plain");
    let passwords = dir.path("passwords");
    std::fs::write(&passwords, "bob=hunter2\n").unwrap();
    let endpoint = ipc_endpoint();
    let spec = format!("rep@{endpoint}");
    let cat = Purezmq::start(
        &[
            "cat",
            &spec,
            "--plain-server",
            "--plain-passwords",
            &passwords,
            "--echo",
            "--count",
            "1",
            "--timeout",
            "20s",
        ],
        "",
    );
    let (mut refused, _) = peer(&[
        "REQ",
        &endpoint,
        "request",
        "1",
        "let me in",
        "--plain-client",
        "bob:wrong",
        "--timeout",
        "2",
    ]);
    assert_eq!(refused.read_line(PATIENCE), "timeout");
    let (mut admitted, _) = peer(&[
        "REQ",
        &endpoint,
        "request",
        "1",
        "hello",
        "--plain-client",
        "bob:hunter2",
    ]);
    assert_eq!(peer_lines(&mut admitted), ["[b'hello']"]);
    assert_eq!(cat.finish().success(), [r#""hello""#]);
}

#[test]
fn cat_prints_binary_frames_from_pyzmq_as_json_and_hex() {
    setup();
    // One frame that is not UTF-8 and one that is.
    let frames = ["00ff62696e", "74657874"];
    for (format, expected) in [
        ("json", r#"[{"base64":"AP9iaW4="},"text"]"#),
        ("hex", "00ff62696e 74657874"),
        ("quoted", r#""\0\xffbin" "text""#),
    ] {
        let endpoint = ipc_endpoint();
        let spec = format!("pull@{endpoint}");
        let cat = Purezmq::start(
            &[
                "cat",
                &spec,
                "--format",
                format,
                "--count",
                "1",
                "--timeout",
                "20s",
            ],
            "",
        );
        let (mut push, _) = peer(&[
            "PUSH", &endpoint, "send", "1", frames[0], frames[1], "--hex",
        ]);
        assert_eq!(peer_lines(&mut push), ["sent 1"]);
        assert_eq!(cat.finish().success(), [expected], "--format {format}");
    }
}
