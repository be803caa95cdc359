//! Seed 003's exercise, the master: a web server whose files are read by worker
//! processes. It listens for HTTP on a plain TCP socket, takes the path of each
//! request and hands it over ZeroMQ to a free worker (`fileworker`), with the
//! guide's load-balancing broker pattern; then it writes the worker's answer out as
//! the HTTP response.
//!
//! ```text
//! cargo run -p purezmq-broker --example webmaster -- [--http 127.0.0.1:8080] [--workers tcp://127.0.0.1:5570]
//! cargo run -p purezmq-broker --example fileworker -- ROOT [--master tcp://127.0.0.1:5570]
//! curl -i http://127.0.0.1:8080/index.html
//! ```
//!
//! It prints `webmaster listening on http://ADDR` and `workers connect to ENDPOINT`
//! (port 0 and `tcp://…:*` pick free ports) and runs until Ctrl-C.
//!
//! # The workers' protocol
//!
//! The master binds a ROUTER; a worker connects a DEALER (or a REQ) and, each time its
//! connection is established, sends `["", "READY"]`. The master keeps the free
//! workers in a queue, least recently used first, and sends each request to the
//! first of them as `["", ID, PATH]`: ID is 8 bytes naming the request, PATH the
//! request target as it came (still percent-encoded, without the query). The worker
//! answers `["", ID, STATUS, HEADER..., BODY]`: STATUS three digits (`200`, `404`,
//! `403`, …), each HEADER one `Name: value` line (`Content-Type`, `X-Worker`), BODY
//! the bytes. The answer also says that the worker is free again.
//!
//! # HTTP
//!
//! A minimal HTTP/1.1 server written out by hand: GET and HEAD (405 for any other
//! method), keep-alive (HTTP/1.1's default, `Connection: close` ends it), a request
//! head of at most 8 KiB (431 past that), 400 for a malformed request, 505 for a
//! version other than 1.0 and 1.1. A request with a body is answered and its
//! connection closed, since the body is never read.
//!
//! What the master answers itself:
//! - **503** when more than `--queue` requests already wait for a worker: requests
//!   wait in a bounded queue while every worker is busy or none is connected.
//! - **504** when no worker answered within `--timeout-ms` (5 s), waiting in the
//!   queue included: with no worker at all, requests wait that long, then get 504.
//! - **502** when a worker's answer is malformed (a bad status or header line), so a
//!   worker cannot inject headers into the response.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use bytes::Bytes;
use clap::Parser;
use purezmq::{Message, Socket, SocketType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

/// The largest request head (request line and headers) read.
const MAX_HEAD: usize = 8 * 1024;
/// The largest answer taken from a worker (ZeroMQ's MAXMSGSIZE on the ROUTER).
const MAX_ANSWER: u64 = 64 * 1024 * 1024;
/// How long an idle keep-alive connection, or a slow request head, is waited for.
const IDLE: Duration = Duration::from_secs(30);
/// What a worker sends when its connection is established.
const READY: &[u8] = b"READY";
/// Headers the master writes itself, which a worker's answer may not set.
const RESERVED: [&str; 4] = ["content-length", "transfer-encoding", "connection", "date"];

#[derive(Parser)]
#[command(about = "Seed 003's web master: serves HTTP, hands each path to a free fileworker")]
struct Args {
    /// Where to listen for HTTP (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    http: String,
    /// Where workers connect: the master binds a ROUTER there.
    #[arg(long, default_value = "tcp://127.0.0.1:5570")]
    workers: String,
    /// How long a request waits for a worker's answer, queueing included, before 504.
    #[arg(long, default_value_t = 5000)]
    timeout_ms: u64,
    /// How many requests may wait for a free worker; past that, 503.
    #[arg(long, default_value_t = 256)]
    queue: usize,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let timeout = Duration::from_millis(args.timeout_ms);

    let backend = Socket::new(SocketType::Router);
    backend.set_options(|o| {
        // A send to a worker that has gone fails at once, so the request goes to another.
        o.router_mandatory = true;
        o.maxmsgsize = Some(MAX_ANSWER);
        // A worker whose machine vanished is noticed and dropped.
        o.heartbeat_ivl = Some(Duration::from_secs(1));
        o.heartbeat_timeout = Some(Duration::from_secs(5));
    })?;
    backend.bind(&args.workers)?;
    let listener = TcpListener::bind(&args.http).await?;
    println!("workers connect to {}", backend.last_endpoint());
    println!("webmaster listening on http://{}", listener.local_addr()?);

    let (jobs, queue) = mpsc::channel(1024);
    let dispatcher = Dispatcher::new(backend, args.queue);
    tokio::spawn(async move {
        if let Err(error) = dispatcher.run(queue).await {
            eprintln!("webmaster: the workers' socket failed: {error}");
            std::process::exit(1);
        }
    });

    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(serve_connection(stream, jobs.clone(), timeout));
                }
                // Out of file descriptors, say: wait a little rather than spin.
                Err(error) => {
                    eprintln!("webmaster: accept failed: {error}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

/// A request path on its way to a worker, and where its answer goes.
struct Job {
    path: Bytes,
    reply: oneshot::Sender<Outcome>,
}

/// What the dispatcher tells a connection.
enum Outcome {
    /// The worker's answer: status, headers and body frames.
    Answer(Vec<Bytes>),
    /// The queue of waiting requests is full.
    Busy,
}

/// The load-balancing broker: owns the workers' ROUTER, the queue of free workers
/// and the queue of requests waiting for one.
struct Dispatcher {
    backend: Socket,
    /// Free workers' routing ids, the one free the longest first.
    free: VecDeque<Bytes>,
    /// Busy workers, with the id of their request and where its answer goes.
    busy: HashMap<Bytes, (u64, oneshot::Sender<Outcome>)>,
    /// Requests waiting for a free worker.
    waiting: VecDeque<Job>,
    max_waiting: usize,
    next_id: u64,
}

impl Dispatcher {
    fn new(backend: Socket, max_waiting: usize) -> Dispatcher {
        Dispatcher {
            backend,
            free: VecDeque::new(),
            busy: HashMap::new(),
            waiting: VecDeque::new(),
            max_waiting,
            next_id: 0,
        }
    }

    async fn run(mut self, mut jobs: mpsc::Receiver<Job>) -> purezmq::Result<()> {
        loop {
            tokio::select! {
                message = self.backend.recv() => self.on_worker_message(message?),
                job = jobs.recv() => match job {
                    Some(job) => self.enqueue(job),
                    None => return Ok(()),
                },
            }
            self.dispatch().await?;
        }
    }

    /// A worker's READY or answer.
    fn on_worker_message(&mut self, message: Message) {
        let frames = message.into_frames();
        let [worker, delimiter, rest @ ..] = frames.as_slice() else {
            eprintln!("webmaster: a worker sent a message without an envelope; ignored");
            return;
        };
        if !delimiter.is_empty() {
            eprintln!("webmaster: a worker's message lacks the empty delimiter frame; ignored");
            return;
        }
        match rest {
            [ready] if ready == READY => {
                // A worker that was busy and says READY again has given its request
                // up: dropping the reply sender tells the connection so (502).
                self.busy.remove(worker);
                if !self.free.contains(worker) {
                    self.free.push_back(worker.clone());
                }
            }
            [id, answer @ ..] if !answer.is_empty() => {
                let Some((expected, reply)) = self.busy.remove(worker) else {
                    eprintln!("webmaster: an answer from a worker that had no request; ignored");
                    return;
                };
                if id[..] == expected.to_be_bytes() {
                    // The connection may have given up (504): then nobody listens.
                    let _ = reply.send(Outcome::Answer(answer.to_vec()));
                } else {
                    eprintln!("webmaster: a worker answered another request than its own");
                }
                self.free.push_back(worker.clone());
            }
            _ => eprintln!(
                "webmaster: a worker sent a malformed message ({} frames); ignored",
                frames.len()
            ),
        }
    }

    /// Queues a request, or answers 503 when too many already wait.
    fn enqueue(&mut self, job: Job) {
        if self.waiting.len() >= self.max_waiting {
            // Requests whose clients have given up need no worker.
            self.waiting.retain(|job| !job.reply.is_closed());
        }
        if self.waiting.len() >= self.max_waiting {
            let _ = job.reply.send(Outcome::Busy);
        } else {
            self.waiting.push_back(job);
        }
    }

    /// Hands waiting requests to free workers, as long as there are both.
    async fn dispatch(&mut self) -> purezmq::Result<()> {
        while !self.free.is_empty() {
            let Some(job) = self.waiting.pop_front() else {
                break;
            };
            if job.reply.is_closed() {
                continue;
            }
            let Some(worker) = self.free.pop_front() else {
                break;
            };
            self.next_id += 1;
            let request = Message::from_iter([
                worker.clone(),
                Bytes::new(),
                Bytes::copy_from_slice(&self.next_id.to_be_bytes()),
                job.path.clone(),
            ]);
            match self.backend.send(request).await {
                Ok(()) => {
                    self.busy.insert(worker, (self.next_id, job.reply));
                }
                // That worker has disconnected: forget it, give the job to the next.
                Err(purezmq::Error::HostUnreachable { .. }) => self.waiting.push_front(job),
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }
}

/// Why a request is refused before it reaches a worker.
#[derive(Debug, thiserror::Error)]
enum RequestError {
    #[error("the request head is larger than {MAX_HEAD} bytes")]
    HeadTooLarge,
    #[error("malformed request: {0}")]
    Malformed(&'static str),
    #[error("only HTTP/1.0 and HTTP/1.1 are spoken here")]
    Version,
    #[error("only GET and HEAD are allowed here")]
    Method,
}

impl RequestError {
    fn status(&self) -> u16 {
        match self {
            RequestError::HeadTooLarge => 431,
            RequestError::Malformed(_) => 400,
            RequestError::Version => 505,
            RequestError::Method => 405,
        }
    }
}

/// A parsed request head.
struct Request {
    head_only: bool,
    /// The request target's path, still percent-encoded.
    path: Bytes,
    keep_alive: bool,
}

/// An HTTP response about to be written.
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Bytes,
}

impl Response {
    /// A plain-text response written by the master itself.
    fn text(status: u16, message: impl std::fmt::Display) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
            body: format!("{status} {}: {message}\n", reason(status)).into(),
        }
    }
}

/// Serves one HTTP connection: its requests one after the other.
async fn serve_connection(mut stream: TcpStream, jobs: mpsc::Sender<Job>, timeout: Duration) {
    // Head and body go out in two writes: without this, Nagle's algorithm and
    // delayed ACKs would hold the body back on a keep-alive connection.
    let _ = stream.set_nodelay(true);
    let mut buffer = Vec::with_capacity(1024);
    loop {
        let end = match read_head(&mut stream, &mut buffer).await {
            Ok(Some(end)) => end,
            // The client closed, went idle or broke off mid-head: nothing to answer.
            Ok(None) | Err(HeadEnd::Gone) => return,
            Err(HeadEnd::TooLarge) => {
                let error = RequestError::HeadTooLarge;
                let _ = write_response(
                    &mut stream,
                    Response::text(error.status(), &error),
                    false,
                    false,
                )
                .await;
                return;
            }
        };
        let parsed = parse_head(&buffer[..end]);
        buffer.drain(..end);
        let (response, head_only, keep_alive) = match parsed {
            Ok(request) => (
                ask_worker(&jobs, request.path, timeout).await,
                request.head_only,
                request.keep_alive,
            ),
            Err(error) => {
                let mut response = Response::text(error.status(), &error);
                if let RequestError::Method = error {
                    response.headers.push(("Allow".into(), "GET, HEAD".into()));
                }
                (response, false, false)
            }
        };
        let written = write_response(&mut stream, response, head_only, keep_alive).await;
        if written.is_err() || !keep_alive {
            return;
        }
    }
}

/// How reading a request head can end without one.
enum HeadEnd {
    TooLarge,
    Gone,
}

/// Reads until `buffer` holds a whole request head; its length, or `None` when the
/// client closed the connection between requests.
async fn read_head(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Result<Option<usize>, HeadEnd> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            return if at + 4 > MAX_HEAD {
                Err(HeadEnd::TooLarge)
            } else {
                Ok(Some(at + 4))
            };
        }
        if buffer.len() > MAX_HEAD {
            return Err(HeadEnd::TooLarge);
        }
        let read = tokio::time::timeout(IDLE, stream.read(&mut chunk)).await;
        match read {
            Ok(Ok(0)) if buffer.is_empty() => return Ok(None),
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return Err(HeadEnd::Gone),
            Ok(Ok(n)) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Whether `name` is an HTTP token (RFC 9110's `tchar`s).
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Parses a request head, which ends with an empty line.
fn parse_head(head: &[u8]) -> Result<Request, RequestError> {
    let head = std::str::from_utf8(head)
        .map_err(|_| RequestError::Malformed("the request head is not UTF-8"))?;
    let mut lines = head.trim_end_matches("\r\n").split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(RequestError::Malformed(
            "the request line is not METHOD TARGET VERSION",
        ));
    };
    if !is_token(method) {
        return Err(RequestError::Malformed("the method is not a token"));
    }
    let http11 = match version {
        "HTTP/1.1" => true,
        "HTTP/1.0" => false,
        _ if version.starts_with("HTTP/") => return Err(RequestError::Version),
        _ => return Err(RequestError::Malformed("the version is not HTTP/x.y")),
    };

    let mut keep_alive = http11;
    let mut has_body = false;
    let mut has_host = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(RequestError::Malformed("a header line has no colon"));
        };
        if !is_token(name) {
            return Err(RequestError::Malformed("a header name is not a token"));
        }
        let value = value.trim_matches([' ', '\t']);
        if value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
            return Err(RequestError::Malformed(
                "a header value has control characters",
            ));
        }
        match name.to_ascii_lowercase().as_str() {
            "host" => has_host = true,
            "connection" => {
                for option in value.split(',').map(str::trim) {
                    if option.eq_ignore_ascii_case("close") {
                        keep_alive = false;
                    } else if option.eq_ignore_ascii_case("keep-alive") {
                        keep_alive = true;
                    }
                }
            }
            "content-length" => {
                let length: u64 = value
                    .parse()
                    .map_err(|_| RequestError::Malformed("Content-Length is not a number"))?;
                has_body |= length > 0;
            }
            "transfer-encoding" => has_body = true,
            _ => {}
        }
    }
    if http11 && !has_host {
        return Err(RequestError::Malformed(
            "an HTTP/1.1 request needs a Host header",
        ));
    }

    let head_only = match method {
        "GET" => false,
        "HEAD" => true,
        _ => return Err(RequestError::Method),
    };
    // The absolute form (`http://host/path`) names the path after the authority.
    let path = match target.strip_prefix("http://") {
        Some(rest) => rest.find('/').map_or("/", |at| &rest[at..]),
        None => target,
    };
    if !path.starts_with('/') {
        return Err(RequestError::Malformed("the request target is not a path"));
    }
    let path = path.split(['?', '#']).next().unwrap_or(path);
    Ok(Request {
        head_only,
        path: Bytes::copy_from_slice(path.as_bytes()),
        // A body this server does not read would be taken for the next request.
        keep_alive: keep_alive && !has_body,
    })
}

/// Sends a path to a free worker and turns its answer, or its silence, into a response.
async fn ask_worker(jobs: &mpsc::Sender<Job>, path: Bytes, timeout: Duration) -> Response {
    let (reply, answer) = oneshot::channel();
    if jobs.send(Job { path, reply }).await.is_err() {
        return Response::text(503, "the dispatcher has stopped");
    }
    match tokio::time::timeout(timeout, answer).await {
        Ok(Ok(Outcome::Answer(frames))) => worker_response(frames)
            .unwrap_or_else(|why| Response::text(502, format_args!("the worker's answer {why}"))),
        Ok(Ok(Outcome::Busy)) => {
            let mut response = Response::text(503, "every worker is busy and the queue is full");
            response.headers.push(("Retry-After".into(), "1".into()));
            response
        }
        Ok(Err(_)) => Response::text(502, "the worker gave the request up"),
        Err(_) => Response::text(
            504,
            format_args!("no worker answered within {} ms", timeout.as_millis()),
        ),
    }
}

/// A worker's `[STATUS, HEADER..., BODY]` as a response, checked.
fn worker_response(frames: Vec<Bytes>) -> Result<Response, &'static str> {
    let [status, headers @ .., body] = frames.as_slice() else {
        return Err("has no status frame");
    };
    let status = std::str::from_utf8(status)
        .ok()
        .filter(|s| s.len() == 3)
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|s| (200..600).contains(s))
        .ok_or("has a status that is not 200 to 599")?;
    let mut checked = Vec::with_capacity(headers.len());
    for header in headers {
        let line = std::str::from_utf8(header).map_err(|_| "has a header that is not UTF-8")?;
        let (name, value) = line.split_once(':').ok_or("has a header without a colon")?;
        let value = value.trim();
        if !is_token(name) || value.bytes().any(|b| b.is_ascii_control()) {
            return Err("has a malformed header line");
        }
        if !RESERVED.contains(&name.to_ascii_lowercase().as_str()) {
            checked.push((name.to_string(), value.to_string()));
        }
    }
    Ok(Response {
        status,
        headers: checked,
        body: body.clone(),
    })
}

/// Writes a response; for HEAD, its head alone.
async fn write_response(
    stream: &mut TcpStream,
    response: Response,
    head_only: bool,
    keep_alive: bool,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n", response.body.len()));
    let connection = if keep_alive { "keep-alive" } else { "close" };
    head.push_str(&format!("Connection: {connection}\r\n\r\n"));
    stream.write_all(head.as_bytes()).await?;
    if !head_only {
        stream.write_all(&response.body).await?;
    }
    stream.flush().await
}

/// The reason phrase of the statuses this server writes.
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Status",
    }
}
