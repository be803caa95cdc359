//! The orchestrator's handle on a worker process: its report lines, its stdin, its
//! stderr (kept for error messages), and a deadline for everything.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::worker::Fields;

/// Lines of stderr kept to explain a failure.
const STDERR_LINES: usize = 8;

/// What a worker says it used.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    /// User plus system CPU time.
    pub cpu: Duration,
    /// Peak resident memory (`VmHWM`), KiB.
    pub hwm_kib: u64,
}

/// A running worker.
pub struct Worker {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    pending: VecDeque<String>,
    ended: bool,
    stderr: Arc<Mutex<VecDeque<String>>>,
}

impl Worker {
    /// Starts `compare --worker <args>` with `env` added; `name` labels its errors.
    pub fn spawn(name: &str, args: &[String], env: &[(String, String)]) -> Result<Worker, String> {
        let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        let mut command = Command::new(exe);
        command
            .arg("--worker")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("could not start the {name} worker: {e}"))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (sender, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let kept = Arc::new(Mutex::new(VecDeque::new()));
        let tail = Arc::clone(&kept);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
                if tail.len() == STDERR_LINES {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
        });
        Ok(Worker {
            name: name.to_owned(),
            stdin: child.stdin.take(),
            child,
            lines,
            pending: VecDeque::new(),
            ended: false,
            stderr: kept,
        })
    }

    /// Moves lines that have arrived into `pending`, waiting up to `wait` for one.
    fn pump(&mut self, wait: Duration) {
        match self.lines.recv_timeout(wait) {
            Ok(line) => self.pending.push_back(line),
            Err(RecvTimeoutError::Timeout) => return,
            Err(RecvTimeoutError::Disconnected) => {
                self.ended = true;
                return;
            }
        }
        while let Ok(line) = self.lines.try_recv() {
            self.pending.push_back(line);
        }
    }

    /// Why the worker failed, if it has: an `ERROR` line, or an exit without `STATS`.
    pub fn failure(&mut self) -> Option<String> {
        self.pump(Duration::ZERO);
        if let Some(error) = self.pending.iter().find_map(|l| l.strip_prefix("ERROR ")) {
            return Some(format!("{}: {error}", self.name));
        }
        let finished = self.pending.iter().any(|l| l.starts_with("STATS "));
        if self.ended && !finished {
            return Some(self.died());
        }
        None
    }

    /// The explanation for a worker that ended without reporting.
    fn died(&mut self) -> String {
        let status = match self.child.wait() {
            Ok(status) => status.to_string(),
            Err(e) => e.to_string(),
        };
        let tail = self.stderr.lock().unwrap_or_else(|e| e.into_inner());
        let tail: Vec<&str> = tail.iter().map(String::as_str).collect();
        format!(
            "{} ended ({status}) without reporting: {}",
            self.name,
            tail.join(" / ")
        )
    }

    /// Waits until the worker prints a line starting with `what` and returns its
    /// `key=value` fields. Fails on the worker's error or death, on a failure of any
    /// of `others` (the other processes of the run), or at `deadline`.
    pub fn expect(
        &mut self,
        what: &str,
        others: &mut [&mut Worker],
        deadline: Instant,
    ) -> Result<Fields, String> {
        loop {
            if let Some(at) = self.pending.iter().position(|l| l.starts_with(what)) {
                let line = self.pending.remove(at).unwrap_or_default();
                return Ok(Fields::parse(line.split_whitespace().skip(1)));
            }
            if let Some(failure) = self.failure() {
                return Err(failure);
            }
            for other in others.iter_mut() {
                if let Some(failure) = other.failure() {
                    return Err(failure);
                }
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "timed out waiting for the {} worker's {what}",
                    self.name
                ));
            }
            self.pump(Duration::from_millis(20));
        }
    }

    /// Writes a control line (`GO`, `STOP`) to the worker's stdin.
    pub fn say(&mut self, line: &str) {
        if let Some(stdin) = self.stdin.as_mut() {
            // A worker that has already exited does not need telling.
            let _ = writeln!(stdin, "{line}");
            let _ = stdin.flush();
        }
    }

    /// Closes the worker's stdin, which it takes as `STOP`.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits for the worker's `STATS` and its exit.
    pub fn finish(mut self, deadline: Instant) -> Result<Stats, String> {
        self.close_stdin();
        let fields = self.expect("STATS", &mut [], deadline)?;
        let stats = Stats {
            cpu: Duration::from_nanos(fields.number("cpu_ns")?),
            hwm_kib: fields.number("hwm_kib")?,
        };
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Ok(stats);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Err(format!(
            "the {} worker did not exit after reporting",
            self.name
        ))
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}
