//! Running a Python script from `interop-tests/python/` as a test peer.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use crate::python;

/// Why [`PyPeer::next_line`] has no line to give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoLine {
    /// The script printed nothing within the time allowed; it may still print.
    Timeout(Duration),
    /// The script's output ended, with this exit status (as text).
    Ended(String),
}

impl std::fmt::Display for NoLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoLine::Timeout(timeout) => {
                write!(f, "the Python peer printed no line within {timeout:?}")
            }
            NoLine::Ended(status) => {
                write!(f, "the Python peer's output ended (exit status: {status})")
            }
        }
    }
}

/// A Python script running as a child process, typically the libzmq side of
/// an interop test.
///
/// Its stdout is read line by line (the script's way of reporting, e.g., the
/// endpoint it bound); its stderr passes straight through so tracebacks show
/// in the test output. The child is killed when the `PyPeer` is dropped.
pub struct PyPeer {
    child: Child,
    /// Lines from a reader thread, so that [`PyPeer::read_line`] can time out.
    lines: Receiver<String>,
}

impl PyPeer {
    /// Starts `python -u <script> <args...>` with the interpreter from
    /// [`python`], where `script` is a path relative to `interop-tests/python/`.
    ///
    /// # Panics
    ///
    /// If the environment cannot be set up or the process cannot start.
    pub fn spawn(script: &str, args: &[&str]) -> PyPeer {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("python")
            .join(script);
        let mut child = Command::new(python())
            // -u: unbuffered, so each line arrives as soon as it is printed.
            .arg("-u")
            .arg(&path)
            .args(args)
            // Keep __pycache__ directories out of the source tree.
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}", path.display()));

        let stdout = child.stdout.take().expect("stdout was configured as piped");
        let (sender, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                // Stop on a read error or once nobody listens any more.
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        PyPeer { child, lines }
    }

    /// Returns the script's next line of output, without the line ending.
    ///
    /// # Panics
    ///
    /// If no line arrives within `timeout`, or if the script's output ended
    /// (the message then includes its exit status).
    pub fn read_line(&mut self, timeout: Duration) -> String {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => {
                panic!("the Python peer printed no line within {timeout:?}")
            }
            Err(RecvTimeoutError::Disconnected) => {
                let status = self.child.wait();
                panic!("the Python peer's output ended (exit status: {status:?})")
            }
        }
    }

    /// Returns the script's next line like [`PyPeer::read_line`], but says why there
    /// is none instead of panicking, for tests that expect silence or collect
    /// failures.
    pub fn next_line(&mut self, timeout: Duration) -> Result<String, NoLine> {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => Ok(line),
            Err(RecvTimeoutError::Timeout) => Err(NoLine::Timeout(timeout)),
            Err(RecvTimeoutError::Disconnected) => {
                Err(NoLine::Ended(format!("{:?}", self.child.wait())))
            }
        }
    }

    /// The script's process id, to send it signals.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for PyPeer {
    fn drop(&mut self) {
        // Either may fail only because the child already exited; nothing to do then.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
