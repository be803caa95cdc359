//! The load generator: keep-alive HTTP/1.1 connections over plain tokio TCP, each
//! with one request in flight, timing every round trip.
//!
//! It speaks just enough HTTP/1.1 for the two servers measured: a GET, then a
//! response with a `Content-Length` (both answer every request so), whose status
//! and body it checks.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The most bytes of response headers taken before giving up on a response.
const MAX_HEAD: usize = 16 * 1024;
/// The largest response body taken.
const MAX_BODY: usize = 1024 * 1024;

/// What one run is.
#[derive(Clone, Debug)]
pub struct Load {
    /// The server.
    pub addr: SocketAddr,
    /// The request target, such as `/echo?args=%5B%22hello%22%5D`.
    pub target: String,
    /// The body every response must have.
    pub expect: Vec<u8>,
    /// Keep-alive connections, each with one request in flight.
    pub connections: usize,
    /// Requests before the measurement, not timed.
    pub warmup: Duration,
    /// How long the measurement lasts.
    pub duration: Duration,
}

/// What one run measured.
#[derive(Clone, Debug, Default)]
pub struct Measured {
    /// Every timed round trip in nanoseconds, sorted.
    pub round_trips: Vec<u64>,
    /// How long the measurement lasted.
    pub elapsed: Duration,
    /// Responses that were not `200` with the expected body.
    pub errors: u64,
    /// The first of those, described.
    pub first_error: Option<String>,
}

impl Measured {
    /// Requests per second over the measurement.
    pub fn rate(&self) -> f64 {
        self.round_trips.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The `q` quantile of the round trips (0.5 for the median), in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.round_trips.is_empty() {
            return f64::NAN;
        }
        let last = self.round_trips.len() - 1;
        let index = ((last as f64) * q).round() as usize;
        self.round_trips[index.min(last)] as f64 / 1e6
    }
}

/// One connection's tally.
struct Tally {
    times: Vec<u64>,
    errors: u64,
    first_error: Option<String>,
}

impl Load {
    /// Runs the load (in the current tokio runtime): every connection warms up,
    /// then all are timed together until the measurement ends.
    pub async fn run(&self) -> Result<Measured, String> {
        let request = Arc::new(
            format!(
                "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: httpbench\r\n\r\n",
                self.target, self.addr
            )
            .into_bytes(),
        );
        let expect = Arc::new(self.expect.clone());
        let mut streams = Vec::with_capacity(self.connections);
        for _ in 0..self.connections {
            let stream = TcpStream::connect(self.addr)
                .await
                .map_err(|e| format!("cannot connect to {}: {e}", self.addr))?;
            stream
                .set_nodelay(true)
                .map_err(|e| format!("TCP_NODELAY: {e}"))?;
            streams.push(stream);
        }
        let begin = Instant::now() + self.warmup;
        let end = begin + self.duration;
        let mut tasks = Vec::with_capacity(self.connections);
        for stream in streams {
            let request = Arc::clone(&request);
            let expect = Arc::clone(&expect);
            tasks.push(tokio::spawn(connection(
                stream, request, expect, begin, end,
            )));
        }
        let mut measured = Measured::default();
        for task in tasks {
            let tally = task
                .await
                .map_err(|e| format!("a connection's task failed: {e}"))??;
            measured.round_trips.extend(tally.times);
            measured.errors += tally.errors;
            if measured.first_error.is_none() {
                measured.first_error = tally.first_error;
            }
        }
        measured.elapsed = end.saturating_duration_since(begin);
        measured.round_trips.sort_unstable();
        Ok(measured)
    }
}

/// Sends requests one after the other until `end`; times those sent after `begin`.
async fn connection(
    mut stream: TcpStream,
    request: Arc<Vec<u8>>,
    expect: Arc<Vec<u8>>,
    begin: Instant,
    end: Instant,
) -> Result<Tally, String> {
    let mut tally = Tally {
        times: Vec::with_capacity(64 * 1024),
        errors: 0,
        first_error: None,
    };
    let mut buffer = Vec::with_capacity(4096);
    loop {
        let sent = Instant::now();
        if sent >= end {
            return Ok(tally);
        }
        stream
            .write_all(&request)
            .await
            .map_err(|e| format!("cannot send a request: {e}"))?;
        let (status, body) = read_response(&mut stream, &mut buffer).await?;
        let took = sent.elapsed();
        if status != 200 || body != expect.as_slice() {
            tally.errors += 1;
            if tally.first_error.is_none() {
                tally.first_error = Some(format!(
                    "status {status}, body {:?}",
                    String::from_utf8_lossy(&body)
                ));
            }
        } else if sent >= begin {
            tally.times.push(took.as_nanos() as u64);
        }
    }
}

/// Reads one response: its status and body. `buffer` keeps bytes read past it.
pub async fn read_response(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
) -> Result<(u16, Vec<u8>), String> {
    let head_end = loop {
        if let Some(at) = find(buffer, b"\r\n\r\n") {
            break at + 4;
        }
        if buffer.len() > MAX_HEAD {
            return Err(format!("response headers over {MAX_HEAD} bytes"));
        }
        fill(stream, buffer).await?;
    };
    let head = std::str::from_utf8(&buffer[..head_end])
        .map_err(|_| "response headers are not UTF-8".to_owned())?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| format!("not an HTTP status line: {status_line:?}"))?;
    let mut length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.trim().parse::<usize>().ok();
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(format!(
                "a response with Transfer-Encoding {}: only Content-Length is read",
                value.trim()
            ));
        }
    }
    let length = length.ok_or_else(|| "a response without Content-Length".to_owned())?;
    if length > MAX_BODY {
        return Err(format!("a response body of {length} bytes"));
    }
    while buffer.len() < head_end + length {
        fill(stream, buffer).await?;
    }
    let body = buffer[head_end..head_end + length].to_vec();
    buffer.drain(..head_end + length);
    Ok((status, body))
}

/// Reads more into `buffer`; the peer closing is an error (a response is due).
async fn fill(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Result<(), String> {
    let mut chunk = [0u8; 4096];
    let n = stream
        .read(&mut chunk)
        .await
        .map_err(|e| format!("cannot read a response: {e}"))?;
    if n == 0 {
        return Err("the server closed the connection mid-response".to_owned());
    }
    buffer.extend_from_slice(&chunk[..n]);
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}
