//! The guide's Ironhouse pattern (CURVE plus a ZAP allowlist of client keys) across
//! purezmq and libzmq: purezmq's `ironhouse_server` and `ironhouse_client` examples
//! against pyzmq's Ironhouse peers (`python/ironhouse.py`), with certificates that
//! pyzmq's `zmq.auth.create_certificates` wrote.
//!
//! The examples are built with `cargo build --workspace --example ...` into the
//! target directory this test runs from (a no-op when they are up to date). Both
//! tests use the examples' tcp port 9000, so they take turns.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use purezmq_interop_tests::PyPeer;

/// The first line may wait for the Python environment to be created.
const STARTUP: Duration = Duration::from_secs(120);
/// A client waits 5 s for its reply; allow for a slow machine on top.
const CLIENT_RUN: Duration = Duration::from_secs(15);

/// Both tests use port 9000.
static PORT_9000: Mutex<()> = Mutex::new(());

/// Builds the two Ironhouse examples and gives the path of one.
fn example(name: &str) -> PathBuf {
    // This test runs as <target dir>/<profile dir>/deps/ironhouse-<hash>.
    let exe = std::env::current_exe().expect("the test knows its own path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test runs from <target>/<profile>/deps");
    let target_dir = profile_dir.parent().expect("a target directory");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        // `--workspace`: features resolved as `cargo test --workspace` resolves them,
        // so under that command this build is a no-op.
        .args(["build", "--quiet", "--workspace"])
        .args(["--example", "ironhouse_server"])
        .args(["--example", "ironhouse_client"])
        .arg("--target-dir")
        .arg(target_dir);
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => {}
        Some("release") => {
            build.arg("--release");
        }
        Some(profile) => {
            build.args(["--profile", profile]);
        }
        None => panic!("no profile directory in {}", exe.display()),
    }
    let output = build.output().expect("cargo should start");
    assert!(
        output.status.success(),
        "cargo build of the ironhouse examples failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    profile_dir.join("examples").join(name)
}

/// A fresh, empty directory for one test's certificates.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("purezmq-ironhouse-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Certificates as pyzmq's examples/security lay them out: `dir` holds the server's
/// and an allowed client's, and the stranger directory a client the server does not
/// know, with a copy of the server's public key.
fn certificates(test: &str) -> (PathBuf, PathBuf) {
    let dir = scratch_dir(test);
    let stranger = scratch_dir(&format!("{test}-stranger"));
    for (base, names) in [(&dir, &["server", "client"][..]), (&stranger, &["client"])] {
        let mut args = vec!["certs", base.to_str().unwrap()];
        args.extend_from_slice(names);
        let mut certs = PyPeer::spawn("ironhouse.py", &args);
        assert_eq!(certs.read_line(STARTUP), "ready");
    }
    std::fs::copy(
        dir.join("public_keys/server.key"),
        stranger.join("public_keys/server.key"),
    )
    .unwrap();
    (dir, stranger)
}

/// A child process killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        // Fails only if the child has exited already.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs our ironhouse_client on `dir` to its end: its exit status and stdout.
fn run_our_client(dir: &Path) -> (ExitStatus, String) {
    let mut client = Running(
        Command::new(example("ironhouse_client"))
            .arg(dir)
            .stdout(Stdio::piped())
            .spawn()
            .expect("ironhouse_client starts"),
    );
    let deadline = Instant::now() + CLIENT_RUN;
    let status = loop {
        if let Some(status) = client.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "no exit within {CLIENT_RUN:?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut output = String::new();
    let mut stdout = client.0.stdout.take().expect("piped");
    stdout.read_to_string(&mut output).unwrap();
    (status, output)
}

/// Runs pyzmq's Ironhouse client on `dir`: the line it prints.
fn run_pyzmq_client(dir: &Path) -> String {
    let mut client = PyPeer::spawn("ironhouse.py", &["client", dir.to_str().unwrap()]);
    client.read_line(CLIENT_RUN)
}

#[test]
fn our_ironhouse_server_admits_a_known_pyzmq_client_and_refuses_a_stranger() {
    let _port = PORT_9000.lock().unwrap_or_else(|e| e.into_inner());
    let (dir, stranger) = certificates("our-server");
    let mut server = Running(
        Command::new(example("ironhouse_server"))
            .arg(&dir)
            .spawn()
            .expect("ironhouse_server starts"),
    );

    assert_eq!(run_pyzmq_client(&dir), "Hello World");
    assert_eq!(
        run_pyzmq_client(&stranger),
        "no reply",
        "a client whose key is not in public_keys/ gets no reply"
    );
    assert_eq!(
        run_pyzmq_client(&dir),
        "Hello World",
        "the server keeps serving known clients after refusing one"
    );
    assert!(
        server.0.try_wait().unwrap().is_none(),
        "ironhouse_server runs until killed"
    );
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(stranger);
}

#[test]
fn our_ironhouse_client_gets_hello_world_from_a_pyzmq_ironhouse_server() {
    let _port = PORT_9000.lock().unwrap_or_else(|e| e.into_inner());
    let (dir, stranger) = certificates("our-client");
    let mut server = PyPeer::spawn("ironhouse.py", &["server", dir.to_str().unwrap()]);
    assert_eq!(server.read_line(STARTUP), "listening");

    let (status, output) = run_our_client(&dir);
    assert!(status.success(), "exit status {status}; printed:\n{output}");
    assert_eq!(output, "Hello World\n");

    let started = Instant::now();
    let (status, output) = run_our_client(&stranger);
    assert_eq!(
        status.code(),
        Some(1),
        "a client the server does not know exits 1; printed:\n{output}"
    );
    assert!(output.is_empty(), "no reply printed: {output}");
    assert!(
        started.elapsed() >= Duration::from_secs(5),
        "it gave up only after 5 s"
    );
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(stranger);
}
