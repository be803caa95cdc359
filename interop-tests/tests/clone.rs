//! purezmq's Clone pattern examples (`broker/examples/clonesrv.rs`, `clonecli.rs`)
//! with clone programs on libzmq that speak the guide's model five wire format
//! (`python/clone_peer.py`): Python clients sharing a map through our server, and
//! our clients through a Python server; and, for the record, ours together.
//!
//! The examples are built with `cargo build --workspace --examples` into the
//! target directory this test runs from (a no-op when they are up to date). Each
//! test picks three free consecutive tcp ports, as the guide's programs use.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use purezmq_interop_tests::PyPeer;

mod support;

/// The first line may wait for the Python environment to be created.
const STARTUP: Duration = Duration::from_secs(120);
/// How long the Python clients follow updates after making their changes.
const FOLLOW: &str = "5";
/// Longer than that, for the lines that come at the end.
const PATIENCE: Duration = Duration::from_secs(20);

/// Builds the purezmq-broker examples and gives the path of one.
fn example(name: &str) -> PathBuf {
    support::example(name)
}

/// A port P such that P, P + 1 and P + 2 are free now.
fn three_free_ports() -> u16 {
    loop {
        let first = TcpListener::bind("0.0.0.0:0").expect("a free port");
        let port = first.local_addr().expect("bound").port();
        if port > 65_000 {
            continue;
        }
        let next = TcpListener::bind(("0.0.0.0", port + 1));
        let after = TcpListener::bind(("0.0.0.0", port + 2));
        if next.is_ok() && after.is_ok() {
            return port;
        }
    }
}

/// A child process killed when dropped.
struct Running(Child);

impl Running {
    fn start(program: PathBuf, args: &[&str]) -> Running {
        Running(
            Command::new(&program)
                .args(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("{} starts: {e}", program.display())),
        )
    }

    /// Stops the process and returns what it printed.
    fn stop(mut self) -> String {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let mut printed = String::new();
        let mut stdout = self.0.stdout.take().expect("piped");
        stdout.read_to_string(&mut printed).unwrap();
        printed
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Fails only if the child has exited already.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What a Python client printed, up to and including its final map.
struct ClientRun {
    lines: Vec<String>,
    map: BTreeMap<String, String>,
}

fn finish(client: &mut PyPeer) -> ClientRun {
    let mut lines = Vec::new();
    loop {
        let line = client.read_line(PATIENCE);
        if let Some(json) = line.strip_prefix("map ") {
            let map = parse_map(json);
            return ClientRun { lines, map };
        }
        lines.push(line);
    }
}

/// Reads the flat `{"key": "value", ...}` object the Python client prints (keys and
/// values without quotes or backslashes).
fn parse_map(json: &str) -> BTreeMap<String, String> {
    let inner = json.trim().trim_start_matches('{').trim_end_matches('}');
    inner
        .split(", ")
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let (key, value) = entry.split_once(": ").expect("key: value");
            (
                key.trim_matches('"').to_owned(),
                value.trim_matches('"').to_owned(),
            )
        })
        .collect()
}

fn expected(entries: &[&str]) -> BTreeMap<String, String> {
    entries
        .iter()
        .map(|key| {
            let value = key.rsplit('/').next().unwrap_or_default();
            (key.to_string(), value.to_owned())
        })
        .collect()
}

#[test]
fn libzmq_clone_clients_share_a_map_through_our_clonesrv() {
    let port = three_free_ports();
    let server = Running::start(example("clonesrv"), &[&port.to_string()]);
    std::thread::sleep(Duration::from_millis(300));
    let port = port.to_string();

    let mut a = PyPeer::spawn(
        "clone_peer.py",
        &["client", &port, "/client/", "a", "5", FOLLOW],
    );
    assert_eq!(a.read_line(STARTUP), "snapshot 0");
    let mut b = PyPeer::spawn(
        "clone_peer.py",
        &["client", &port, "/client/", "b", "5", FOLLOW],
    );
    assert!(b.read_line(STARTUP).starts_with("snapshot "));
    let mut other = PyPeer::spawn(
        "clone_peer.py",
        &["client", &port, "/other/", "c", "2", FOLLOW],
    );
    assert!(other.read_line(STARTUP).starts_with("snapshot "));

    // The first key of each has ttl=1: our server expires it and publishes that.
    let shared = expected(&[
        "/client/a1",
        "/client/a2",
        "/client/a3",
        "/client/a4",
        "/client/b1",
        "/client/b2",
        "/client/b3",
        "/client/b4",
    ]);
    let a = finish(&mut a);
    let b = finish(&mut b);
    let other = finish(&mut other);
    assert_eq!(a.map, shared);
    assert_eq!(b.map, shared);
    assert_eq!(other.map, expected(&["/other/c1"]));
    for key in ["/client/a0", "/client/b0"] {
        assert!(
            a.lines
                .iter()
                .any(|line| line.starts_with("delete ") && line.ends_with(key)),
            "a saw no deletion of {key}: {:?}",
            a.lines
        );
    }
    // Subscribers get their subtree only.
    assert!(a.lines.iter().all(|line| !line.contains("/other/")));
    assert!(other.lines.iter().all(|line| !line.contains("/client/")));

    // A late client gets the map by snapshot.
    let mut late = PyPeer::spawn(
        "clone_peer.py",
        &["client", &port, "/client/", "late", "0", "0.1"],
    );
    assert!(late.read_line(STARTUP).starts_with("snapshot "));
    assert_eq!(finish(&mut late).map, shared);
    drop(server);
}

#[test]
fn our_clonecli_clients_share_updates_through_a_libzmq_clone_server() {
    let port = three_free_ports().to_string();
    let mut server = PyPeer::spawn("clone_peer.py", &["server", &port]);
    assert_eq!(server.read_line(STARTUP), "listening");

    let first = Running::start(example("clonecli"), &["localhost", &port]);
    std::thread::sleep(Duration::from_millis(2500));
    let second = Running::start(example("clonecli"), &["localhost", &port]);
    std::thread::sleep(Duration::from_millis(3500));
    let first = first.stop();
    let second = second.stop();

    // Each sets a key a second; each hears of the other's.
    let first_lines: Vec<&str> = first.lines().collect();
    let second_lines: Vec<&str> = second.lines().collect();
    assert_eq!(
        first_lines.first(),
        Some(&"I: received snapshot=0"),
        "{first}"
    );
    let snapshot: i64 = second_lines
        .first()
        .and_then(|line| line.strip_prefix("I: received snapshot="))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no snapshot line: {second}"));
    assert!(snapshot >= 1, "the second client joined after some updates");
    for (name, lines) in [("first", &first_lines), ("second", &second_lines)] {
        assert!(
            lines
                .iter()
                .any(|line| line.starts_with("I: received update=")),
            "the {name} client heard no update from the other: {lines:?}"
        );
    }
    let mut published = 0;
    while let Ok(line) = server.next_line(Duration::from_millis(200)) {
        if line.starts_with("publish ") {
            published += 1;
        }
    }
    assert!(published >= 6, "the server published {published} updates");
}

#[test]
fn our_clonecli_clients_share_updates_through_our_clonesrv() {
    let port = three_free_ports();
    let server = Running::start(example("clonesrv"), &[&port.to_string()]);
    std::thread::sleep(Duration::from_millis(300));
    let port = port.to_string();

    let first = Running::start(example("clonecli"), &["localhost", &port]);
    std::thread::sleep(Duration::from_millis(2500));
    let second = Running::start(example("clonecli"), &["localhost", &port]);
    std::thread::sleep(Duration::from_millis(3500));
    let first = first.stop();
    let second = second.stop();
    drop(server);

    let first_lines: Vec<&str> = first.lines().collect();
    let second_lines: Vec<&str> = second.lines().collect();
    assert_eq!(
        first_lines.first(),
        Some(&"I: received snapshot=0"),
        "{first}"
    );
    assert!(
        second_lines
            .first()
            .is_some_and(|line| line.starts_with("I: received snapshot=")
                && *line != "I: received snapshot=0"),
        "{second}"
    );
    // Each hears of the other's changes and not of its own: every sequence number
    // is reported by at most one of the two while both run.
    for (name, lines) in [("first", &first_lines), ("second", &second_lines)] {
        assert!(
            lines
                .iter()
                .any(|line| line.starts_with("I: received update=")),
            "the {name} client heard no update from the other: {lines:?}"
        );
    }
    let updates = |lines: &[&str]| -> Vec<String> {
        lines
            .iter()
            .filter_map(|line| line.strip_prefix("I: received update="))
            .map(str::to_owned)
            .collect()
    };
    let (heard_by_first, heard_by_second) = (updates(&first_lines), updates(&second_lines));
    assert!(
        heard_by_first.iter().all(|n| !heard_by_second.contains(n)),
        "both reported the same update: {heard_by_first:?} {heard_by_second:?}"
    );
}
