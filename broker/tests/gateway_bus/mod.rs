//! A whole bus as separate processes for the gateway's browser and load tests:
//! `purezmq broker`, `purezmq echo` workers and `purezmq http`, each logging to a
//! file and killed (SIGKILL) when dropped; and a minimal HTTP/1.1 GET over a std
//! TcpStream with timeouts.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a process may take to say it is up, on a loaded machine.
pub const STARTUP: Duration = Duration::from_secs(30);

pub use super::cli_util::free_port;

/// A process logging to a file, SIGKILLed and reaped when dropped.
pub struct Process {
    child: Child,
    log: PathBuf,
    name: String,
}

impl Process {
    /// Starts `program ARGS` with its output in `log`. With `raise_fd_limit`, through
    /// `sh -c 'ulimit -n HARD; exec …'`, so that it may hold thousands of sockets
    /// whatever the soft limit (the same process id: `exec`).
    pub fn start(program: &Path, args: &[&str], log: PathBuf, raise_fd_limit: bool) -> Process {
        let out = std::fs::File::create(&log).unwrap();
        let mut command = if raise_fd_limit {
            let mut sh = Command::new("sh");
            sh.arg("-c")
                .arg(r#"ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@""#)
                .arg("sh")
                .arg(program);
            sh
        } else {
            Command::new(program)
        };
        let child = command
            .args(args)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let name = program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = format!("{name} {}", args.first().copied().unwrap_or_default());
        Process { child, log, name }
    }

    /// `purezmq ARGS`, with the fd limit raised (the broker and the gateway hold
    /// a socket per concurrent request under load).
    pub fn purezmq(args: &[&str], log: PathBuf) -> Process {
        Process::start(Path::new(env!("CARGO_BIN_EXE_purezmq")), args, log, true)
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// What it printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// How many lines of its output contain `text`.
    pub fn lines_with(&self, text: &str) -> usize {
        self.output().lines().filter(|l| l.contains(text)).count()
    }

    /// Waits until `count` lines contain `text` (at most [`STARTUP`]).
    pub fn wait_lines(&self, text: &str, count: usize) {
        let start = Instant::now();
        while self.lines_with(text) < count {
            assert!(
                start.elapsed() < STARTUP,
                "{} never printed {text:?} ({count} times); its output:\n{}",
                self.name,
                self.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits (at most `limit`) for it to exit by itself.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// `kill -9`, then reap.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The resident memory now (VmRSS), in bytes.
    pub fn rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.id())).unwrap();
        let line = status
            .lines()
            .find(|line| line.starts_with("VmRSS:"))
            .unwrap();
        let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kib * 1024
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A broker, echo workers and the gateway, each a process.
pub struct Bus {
    /// Where the logs go.
    pub dir: tempfile::TempDir,
    /// The broker's port.
    pub broker_port: u16,
    /// The gateway's port.
    pub http_port: u16,
    /// `purezmq broker`.
    pub broker: Process,
    /// `purezmq echo SERVICE`, one per service asked for.
    pub workers: Vec<Process>,
    /// `purezmq http`.
    pub gateway: Process,
}

impl Bus {
    /// Starts the broker (heartbeat 250 ms), a `purezmq echo` for each of
    /// `services` (a service may come more than once), and the gateway with
    /// `gateway_args` besides `--broker` and `--listen`; returns once each is up
    /// and every worker has registered.
    pub fn start(services: &[&str], gateway_args: &[&str]) -> Bus {
        let dir = tempfile::tempdir().unwrap();
        let broker_port = free_port();
        let broker = start_broker(&dir, broker_port, "broker.log");
        let endpoint = format!("tcp://127.0.0.1:{broker_port}");
        let mut workers = Vec::new();
        for (i, service) in services.iter().enumerate() {
            let worker = Process::purezmq(
                &[
                    "echo",
                    service,
                    "--broker",
                    &endpoint,
                    "--heartbeat",
                    "250ms",
                ],
                dir.path().join(format!("echo-{i}.log")),
            );
            workers.push(worker);
        }
        for worker in &workers {
            worker.wait_lines("worker ready", 1);
        }
        let http_port = free_port();
        let listen = format!("127.0.0.1:{http_port}");
        let mut args = vec!["http", "--broker", &endpoint, "--listen", &listen];
        args.extend_from_slice(gateway_args);
        let gateway = Process::purezmq(&args, dir.path().join("http.log"));
        gateway.wait_lines("listening on", 1);
        Bus {
            dir,
            broker_port,
            http_port,
            broker,
            workers,
            gateway,
        }
    }

    /// `http://127.0.0.1:PORT` of the gateway.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// Kills the broker with SIGKILL.
    pub fn kill_broker(&mut self) {
        self.broker.kill9();
    }

    /// Starts the broker again on its port, logging to `log`.
    pub fn restart_broker(&mut self, log: &str) {
        self.broker = start_broker(&self.dir, self.broker_port, log);
    }

    /// Everything each process printed, for a failure message.
    pub fn logs(&self) -> String {
        let mut text = format!(
            "--- broker:\n{}\n--- gateway:\n{}\n",
            self.broker.output(),
            self.gateway.output()
        );
        for (i, worker) in self.workers.iter().enumerate() {
            text.push_str(&format!("--- worker {i}:\n{}\n", worker.output()));
        }
        text
    }
}

fn start_broker(dir: &tempfile::TempDir, port: u16, log: &str) -> Process {
    let endpoint = format!("tcp://127.0.0.1:{port}");
    let broker = Process::purezmq(
        &["broker", &endpoint, "--heartbeat", "250ms"],
        dir.path().join(log),
    );
    broker.wait_lines("broker listening on", 1);
    broker
}

/// An HTTP response: status, headers (lower-case names) and body.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

impl Response {
    /// The value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `GET target` from `127.0.0.1:port` on a connection of its own (closed after),
/// failing after `limit`.
pub fn get(port: u16, target: &str, limit: Duration) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(limit))?;
    stream.set_write_timeout(Some(limit))?;
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not an HTTP response: {:?}", String::from_utf8_lossy(&raw)),
        )
    })
}

fn parse_response(raw: &[u8]) -> Option<Response> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_owned()
    };
    Some(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &str) -> Option<String> {
    let mut body = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n")?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            return Some(body);
        }
        body.push_str(after.get(..size)?);
        rest = after.get(size + 2..)?;
    }
}
