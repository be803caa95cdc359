//! The guide's examples in `examples/` work: each runs as its own process, as the
//! guide runs them, on the guide's fixed endpoints, and the pairs and trios talk to
//! each other and print what the guide's do.
//!
//! The first test to need an example builds them all with
//! `cargo build --workspace --examples` (a no-op when `cargo test --workspace` has
//! built them already: `--workspace` resolves features as it does, where `-p
//! purezmq` would rebuild dependencies first) into the target directory this test
//! runs from.
//!
//! Tests that share a fixed port take [`BROKER_PORTS`]; the others use ports no other
//! test here uses, so they run in parallel.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long a program may take to print what a test waits for or to finish, on
/// top of the time it needs by design (the guide's workers sleep a second a request).
const SLACK: Duration = Duration::from_secs(20);

/// rrbroker and msgqueue both bind tcp://*:5559 and tcp://*:5560.
static BROKER_PORTS: Mutex<()> = Mutex::new(());

/// Where the compiled examples are, building them on first use.
fn examples_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // This test runs as <target dir>/<profile dir>/deps/examples-<hash>.
        let exe = std::env::current_exe().expect("the test knows its own path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("the test runs from <target>/<profile>/deps");
        let target_dir = profile_dir.parent().expect("a target directory");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(cargo);
        build
            .args([
                "build",
                "--quiet",
                "--workspace",
                "--examples",
                "--target-dir",
            ])
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
            "cargo build --examples failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        profile_dir.join("examples")
    })
}

/// An example running as a child process, killed when dropped.
struct Example {
    name: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
}

/// Starts an example in the current directory.
fn start(name: &'static str, args: &[&str]) -> Example {
    start_in(name, args, Path::new("."))
}

/// Starts an example in `dir`.
fn start_in(name: &'static str, args: &[&str], dir: &Path) -> Example {
    let path = examples_dir().join(name);
    let mut child = Command::new(&path)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", path.display()));
    let stdin = child.stdin.take();
    let stdout = Arc::new(Mutex::new(Vec::new()));
    let stderr = Arc::new(Mutex::new(Vec::new()));
    let readers = vec![
        collect(child.stdout.take().expect("piped"), Arc::clone(&stdout)),
        collect(child.stderr.take().expect("piped"), Arc::clone(&stderr)),
    ];
    Example {
        name,
        child,
        stdin,
        stdout,
        stderr,
        readers,
    }
}

/// Appends all a pipe gives to `into`, as it comes (prompts end with no newline).
fn collect(mut pipe: impl Read + Send + 'static, into: Arc<Mutex<Vec<u8>>>) -> JoinHandle<()> {
    thread::spawn(move || {
        let mut buffer = [0; 4096];
        while let Ok(n @ 1..) = pipe.read(&mut buffer) {
            into.lock().unwrap().extend_from_slice(&buffer[..n]);
        }
    })
}

impl Example {
    fn output(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned()
    }

    fn report(&self) -> String {
        format!(
            "{} printed:\n{}\nand on stderr:\n{}",
            self.name,
            self.output(),
            String::from_utf8_lossy(&self.stderr.lock().unwrap())
        )
    }

    /// Waits until the output contains `text`.
    fn wait_for(&mut self, text: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while !self.output().contains(text) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} ended ({status}) before printing {text:?}; {}",
                    self.name,
                    self.report()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} did not print {text:?} within {limit:?}; {}",
                self.name,
                self.report()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn press_enter(&mut self) {
        let stdin = self.stdin.as_mut().expect("stdin is piped");
        stdin.write_all(b"\n").expect("the example reads stdin");
    }

    /// Checks, a moment after the start, that a program that should run until killed
    /// is running: one that cannot bind its port exits at once.
    fn running(mut self) -> Example {
        thread::sleep(Duration::from_millis(300));
        if let Ok(Some(status)) = self.child.try_wait() {
            self.join_readers();
            panic!("{} stopped ({status}); {}", self.name, self.report());
        }
        self
    }

    /// Waits for the program to exit successfully; returns all it printed.
    fn finish(mut self, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            match self.child.try_wait().expect("the child can be waited for") {
                Some(status) => {
                    self.join_readers();
                    assert!(
                        status.success(),
                        "{} failed ({status}); {}",
                        self.name,
                        self.report()
                    );
                    return self.output();
                }
                None if Instant::now() >= deadline => {
                    panic!(
                        "{} did not finish within {limit:?}; {}",
                        self.name,
                        self.report()
                    )
                }
                None => thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    /// Stops a program that runs until killed, checking it was still running (a
    /// server that could not bind its port exits at once); returns all it printed.
    fn stop(mut self) -> String {
        if let Ok(Some(status)) = self.child.try_wait() {
            self.join_readers();
            panic!(
                "{} had stopped by itself ({status}); {}",
                self.name,
                self.report()
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.join_readers();
        self.output()
    }

    fn join_readers(&mut self) {
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        // Fails only if the child has exited already.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How many times `line` appears as a whole line.
fn count_lines(output: &str, line: &str) -> usize {
    output.lines().filter(|l| *l == line).count()
}

/// The number in `output` between `before` and `after`.
fn number_between(output: &str, before: &str, after: &str) -> i64 {
    let start = output
        .find(before)
        .unwrap_or_else(|| panic!("no {before:?} in {output:?}"))
        + before.len();
    let rest = &output[start..];
    let end = rest
        .find(after)
        .unwrap_or_else(|| panic!("no {after:?} in {rest:?}"));
    rest[..end]
        .parse()
        .unwrap_or_else(|e| panic!("{:?} is not a number: {e}", &rest[..end]))
}

#[test]
fn hwclient_gets_ten_worlds_from_hwserver() {
    let server = start("hwserver", &[]).running();
    let client = start("hwclient", &[]).finish(Duration::from_secs(10) + SLACK);

    let mut expected = vec!["Connecting to hello world server...".to_owned()];
    for n in 0..10 {
        expected.push(format!("Sending Hello {n}..."));
        expected.push(format!("Received World {n}"));
    }
    assert_eq!(client.lines().collect::<Vec<_>>(), expected);
    assert_eq!(count_lines(&server.stop(), "Received Hello"), 10);
}

#[test]
fn wuclient_averages_updates_from_wuserver() {
    let server = start("wuserver", &[]).running();
    // The guide's default zipcode, "10001 ", is one in 100,000 updates: a debug
    // build takes half a minute to see 100 of them. A prefix of 100 zipcodes
    // (the guide's wuclient takes the filter as its argument) tests the same.
    let client = start("wuclient", &["100"]).finish(SLACK);

    assert!(client.starts_with("Collecting updates from weather server...\n"));
    let average = number_between(&client, "Average temperature for zipcode '100' was ", "F\n");
    assert!((-80..135).contains(&average), "{client}");
    server.stop();
}

#[test]
fn taskvent_taskwork_and_tasksink_process_a_batch() {
    let sink = start("tasksink", &[]).running();
    let workers = [start("taskwork", &[]), start("taskwork", &[])];
    let mut ventilator = start("taskvent", &[]);
    ventilator.wait_for("Press Enter when the workers are ready: ", SLACK);
    // Give the workers, which retry every 100 ms until taskvent has bound its port,
    // the time to connect; tasks sent before go to whichever connected first.
    thread::sleep(Duration::from_secs(1));
    ventilator.press_enter();

    let ventilator = ventilator.finish(SLACK);
    assert!(
        ventilator.contains("Sending tasks to workers...\n"),
        "{ventilator}"
    );
    let total_msec = number_between(&ventilator, "Total expected cost: ", " msec\n");

    // The batch costs at most 100 × 100 ms of work, shared by two workers.
    let sink = sink.finish(Duration::from_secs(10) + SLACK);
    let progress = ":.........".repeat(10);
    assert!(sink.starts_with(&progress), "{sink}");
    number_between(&sink, "Total elapsed time: ", " msec\n");

    // Every task went to exactly one worker: the workloads they printed add up to
    // the ventilator's total.
    let workloads: Vec<i64> = workers
        .into_iter()
        .flat_map(|worker| {
            let output = worker.stop();
            let parsed: Vec<i64> = output
                .split_terminator('.')
                .map(|workload| workload.parse().unwrap())
                .collect();
            parsed
        })
        .collect();
    assert_eq!(workloads.len(), 100);
    assert_eq!(workloads.iter().sum::<i64>(), total_msec);
}

/// rrclient's ten requests go through `broker` to two rrworkers and back.
fn request_reply_through(broker: &'static str) {
    let _ports = BROKER_PORTS.lock().unwrap_or_else(|e| e.into_inner());
    let broker = start(broker, &[]).running();
    let workers = [start("rrworker", &[]), start("rrworker", &[])];
    // Each request takes a worker a second.
    let client = start("rrclient", &[]).finish(Duration::from_secs(10) + SLACK);

    let expected: Vec<String> = (0..10)
        .map(|n| format!("Received reply {n} [World]"))
        .collect();
    assert_eq!(client.lines().collect::<Vec<_>>(), expected);
    let requests: usize = workers
        .into_iter()
        .map(|worker| count_lines(&worker.stop(), "Received request: [Hello]"))
        .sum();
    assert_eq!(requests, 10);
    broker.stop();
}

#[test]
fn rrclient_talks_to_rrworkers_through_rrbroker() {
    request_reply_through("rrbroker");
}

#[test]
fn rrclient_talks_to_rrworkers_through_msgqueue() {
    request_reply_through("msgqueue");
}

#[test]
fn lbbroker_serves_every_client_and_exits() {
    // lbbroker binds ipc://frontend.ipc and ipc://backend.ipc in its working
    // directory, as the guide's does.
    let dir = std::env::temp_dir().join(format!("purezmq-lbbroker-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let output = start_in("lbbroker", &[], &dir).finish(SLACK);
    let _ = std::fs::remove_dir_all(&dir);

    assert_eq!(count_lines(&output, "Client: OK"), 10, "{output}");
    assert_eq!(count_lines(&output, "Worker: HELLO"), 10, "{output}");
}

#[test]
fn asyncsrv_clients_get_replies_for_five_seconds() {
    let output = start("asyncsrv", &[]).finish(Duration::from_secs(5) + SLACK);

    // Replies look like "1A2B-3C4D received: request #2". Each worker sends 0 to 4
    // copies of a request back, so there are some in 15 requests but no set number.
    let replies: Vec<&str> = output.lines().collect();
    assert!(!replies.is_empty(), "no replies");
    for reply in replies {
        let (identity, request) = reply
            .split_once(" received: request #")
            .unwrap_or_else(|| panic!("not a reply: {reply:?}"));
        assert_eq!(identity.len(), 9, "{reply:?}");
        assert!(request.parse::<u32>().is_ok(), "{reply:?}");
    }
}

#[test]
fn tour_shows_each_pattern() {
    let output = start("tour", &[]).finish(SLACK);

    assert!(
        output.contains("  REP got \"Hello\", REQ got \"World\"\n"),
        "{output}"
    );
    assert!(
        output.contains("  SUB subscribed to \"weather\" got \"weather sunny\"\n"),
        "{output}"
    );
    assert!(
        output.contains("  PULL got \"task\" \"42\" in 2 frames\n"),
        "{output}"
    );
}

#[test]
fn readme_shows_the_tour_example() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("../README.md")).unwrap();
    let tour = std::fs::read_to_string(root.join("examples/tour.rs")).unwrap();
    let start = readme
        .find("```rust\n//! A tour")
        .expect("README.md shows examples/tour.rs in a rust block")
        + "```rust\n".len();
    let end = start + readme[start..].find("```\n").expect("the block ends");
    assert_eq!(
        &readme[start..end],
        tour,
        "README.md's tour differs from sockets/examples/tour.rs; copy the file into it"
    );
}
