//! Helpers shared by the command-line tests: the built binary, free ports, and
//! processes that are killed if a test fails.

#![allow(dead_code)]

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The `purezmq` binary as cargo built it for these tests.
pub fn purezmq() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin!("purezmq"))
}

/// The same, as an `assert_cmd` command.
pub fn purezmq_cmd() -> assert_cmd::Command {
    assert_cmd::Command::new(assert_cmd::cargo::cargo_bin!("purezmq"))
}

/// A TCP port nobody listens on right now.
///
/// Never the same port twice in one test binary: the tests run side by side, and
/// the kernel may hand a port just let go to the next bind to port 0, so that two
/// tests would start their servers on one port (and one test's wait for its server
/// to listen could be answered by the other's).
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// Waits until `path` exists and is not empty (a file another process writes).
pub fn wait_file(path: &std::path::Path) {
    let start = Instant::now();
    while std::fs::metadata(path).map_or(true, |m| m.len() == 0) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{} was not written",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A running `purezmq`, killed when dropped.
pub struct Running {
    child: Child,
}

impl Running {
    /// Starts `purezmq ARGS` with stdout and stderr captured.
    pub fn start(args: &[&str]) -> Running {
        let child = purezmq()
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Running { child }
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal with `kill -SIGNAL PID`.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.id().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits at most `limit` for the exit; `None` if it is still running.
    pub fn wait_for(&mut self, limit: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Waits (at most `limit`) and returns the exit status, stdout and stderr.
    pub fn finish(mut self, limit: Duration) -> (ExitStatus, String, String) {
        let status = self.wait_for(limit);
        let mut stdout = String::new();
        let mut stderr = String::new();
        if status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if let Some(out) = self.child.stdout.as_mut() {
            out.read_to_string(&mut stdout).unwrap();
        }
        if let Some(err) = self.child.stderr.as_mut() {
            err.read_to_string(&mut stderr).unwrap();
        }
        let status = status.unwrap_or_else(|| {
            panic!("purezmq did not exit within {limit:?}; stdout: {stdout:?}, stderr: {stderr:?}")
        });
        (status, stdout, stderr)
    }

    /// Waits at most `limit` for a successful exit and gives what it printed.
    pub fn succeeds(self, limit: Duration) -> String {
        let (status, stdout, stderr) = self.finish(limit);
        assert!(
            status.success(),
            "purezmq exited with {status}; stderr: {stderr}"
        );
        stdout
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Waits until something listens on `port` (at most 10 s): for tests whose sender
/// closes right after sending, so that it need not linger for a late binder.
pub fn wait_listening(port: u16) {
    let start = Instant::now();
    while !listens(port) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "nothing listens on port {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether a connection to `port` reaches a listener. A connection to a port in the
/// ephemeral range that nobody listens on can be given that same port as its own
/// and connect to itself (TCP simultaneous open), which is no listener at all.
fn listens(port: u16) -> bool {
    match std::net::TcpStream::connect(("127.0.0.1", port)) {
        Ok(stream) => stream.local_addr().ok() != stream.peer_addr().ok(),
        Err(_) => false,
    }
}

/// A `purezmq` process whose stdout and stderr go to a log file; SIGKILLed (no
/// shutdown of any kind) and reaped when dropped.
pub struct LoggedProcess {
    child: Child,
    log: std::path::PathBuf,
    /// Whether dropping it sends SIGTERM first (and SIGKILL only after 5 s), so
    /// that it can stop what it runs itself.
    terminate_on_drop: bool,
}

impl LoggedProcess {
    /// Starts `purezmq ARGS`, writing its output to `log`.
    pub fn start(args: &[&str], log: std::path::PathBuf) -> LoggedProcess {
        LoggedProcess::start_in(args, log, std::path::Path::new("."))
    }

    /// Starts `purezmq ARGS` in the directory `dir`, writing its output to `log`.
    pub fn start_in(
        args: &[&str],
        log: std::path::PathBuf,
        dir: &std::path::Path,
    ) -> LoggedProcess {
        let mut command = purezmq();
        command.args(args).current_dir(dir);
        LoggedProcess::spawn(command, log)
    }

    /// Starts `command` (with its arguments, environment and directory set) with
    /// its output going to `log`.
    pub fn spawn(mut command: Command, log: std::path::PathBuf) -> LoggedProcess {
        let out = std::fs::File::create(&log).unwrap();
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        LoggedProcess {
            child,
            log,
            terminate_on_drop: false,
        }
    }

    /// Dropping it sends SIGTERM and waits up to 5 s before SIGKILL.
    pub fn terminate_on_drop(mut self) -> LoggedProcess {
        self.terminate_on_drop = true;
        self
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// What it printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits at most `limit` until `count` lines contain `text`; panics with the
    /// output if they did not come.
    pub fn wait_lines(&self, text: &str, count: usize, limit: Duration) {
        let start = Instant::now();
        loop {
            let output = self.output();
            if output.lines().filter(|line| line.contains(text)).count() >= count {
                return;
            }
            assert!(
                start.elapsed() < limit,
                "no {count} lines with {text:?} within {limit:?}; output:\n{output}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `kill -9` (what `Child::kill` sends on Unix), then reap.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits at most `limit` for the exit; `None` if it is still
    /// running.
    pub fn terminate(&mut self, limit: Duration) -> Option<ExitStatus> {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM failed");
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Waits at most `limit` for a line containing `text`; panics with the output
    /// if none came.
    pub fn wait_line(&self, text: &str, limit: Duration) -> String {
        let start = Instant::now();
        loop {
            let (found, output) = self.has_line(text);
            if found {
                return output;
            }
            assert!(
                start.elapsed() < limit,
                "no line with {text:?} within {limit:?}; output:\n{output}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the output so far has a line containing `text`, and the output.
    pub fn has_line(&self, text: &str) -> (bool, String) {
        let output = std::fs::read_to_string(&self.log).unwrap_or_default();
        (output.lines().any(|line| line.contains(text)), output)
    }

    /// The log file.
    pub fn log(&self) -> &std::path::Path {
        &self.log
    }
}

impl Drop for LoggedProcess {
    fn drop(&mut self) {
        if self.terminate_on_drop && matches!(self.child.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(5) {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.kill9();
    }
}
