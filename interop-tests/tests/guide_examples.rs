//! purezmq's ports of the ZeroMQ guide's examples (`sockets/examples/`) work with
//! the guide's own programs on libzmq: the Python hwclient against our hwserver,
//! and our hwclient against the Python hwserver, on the guide's tcp port 5555.
//!
//! The examples are built with `cargo build --workspace --examples` into the target
//! directory this test runs from (a no-op when they are up to date). Both tests
//! bind port 5555, so they take turns.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use purezmq_interop_tests::PyPeer;

mod support;

/// The first line may wait for the Python environment to be created.
const STARTUP: Duration = Duration::from_secs(120);
/// Our hwserver works a second per request.
const PER_REQUEST: Duration = Duration::from_secs(15);

/// Both tests use the guide's port 5555.
static PORT_5555: Mutex<()> = Mutex::new(());

/// Builds the purezmq examples and gives the path of one.
fn example(name: &str) -> PathBuf {
    support::example(name)
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

#[test]
fn guide_python_hwclient_gets_worlds_from_our_hwserver() {
    let _port = PORT_5555.lock().unwrap_or_else(|e| e.into_inner());
    let mut server = Running(
        Command::new(example("hwserver"))
            .stdout(Stdio::piped())
            .spawn()
            .expect("hwserver starts"),
    );
    // A server that cannot bind port 5555 exits at once.
    std::thread::sleep(Duration::from_millis(300));
    if let Some(status) = server.0.try_wait().unwrap() {
        panic!("hwserver stopped ({status}); is port 5555 taken?");
    }

    let mut client = PyPeer::spawn("guide_hwclient.py", &[]);
    assert_eq!(
        client.read_line(STARTUP),
        "Connecting to hello world server..."
    );
    for n in 0..10 {
        assert_eq!(
            client.read_line(PER_REQUEST),
            format!("Sending request {n} ...")
        );
        assert_eq!(
            client.read_line(PER_REQUEST),
            format!("Received reply {n} [ World ]")
        );
    }

    // Our server is still up (it did bind the port) and saw every request.
    assert!(
        server.0.try_wait().unwrap().is_none(),
        "hwserver stopped early"
    );
    server.0.kill().unwrap();
    let mut printed = String::new();
    let mut stdout = server.0.stdout.take().expect("piped");
    stdout.read_to_string(&mut printed).unwrap();
    assert_eq!(printed, "Received Hello\n".repeat(10));
}

#[test]
fn our_hwclient_gets_worlds_from_guide_python_hwserver() {
    let _port = PORT_5555.lock().unwrap_or_else(|e| e.into_inner());
    let mut server = PyPeer::spawn("guide_hwserver.py", &[]);
    assert_eq!(server.read_line(STARTUP), "Listening on tcp://*:5555");

    let client = Running(
        Command::new(example("hwclient"))
            .stdout(Stdio::piped())
            .spawn()
            .expect("hwclient starts"),
    );
    let output = wait_with_output(client, PER_REQUEST);
    let mut expected = String::from("Connecting to hello world server...\n");
    for n in 0..10 {
        expected += &format!("Sending Hello {n}...\nReceived World {n}\n");
    }
    assert_eq!(output, expected);
    for _ in 0..10 {
        assert_eq!(server.read_line(PER_REQUEST), "Received request: Hello");
    }
}

/// Waits for the child to exit successfully within `limit`; returns its stdout.
fn wait_with_output(mut child: Running, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "no exit within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut output = String::new();
    let mut stdout = child.0.stdout.take().expect("piped");
    stdout.read_to_string(&mut output).unwrap();
    assert!(status.success(), "exit status {status}; printed:\n{output}");
    output
}
