//! Seed 003's exercise, the worker: serves the files under ROOT to the web master
//! (`webmaster`), one request at a time. Start several to share the load.
//!
//! ```text
//! cargo run -p purezmq-broker --example fileworker -- ROOT [--master tcp://127.0.0.1:5570]
//! ```
//!
//! It connects a DEALER to the master, says READY each time the connection is
//! established (so it comes back after a master restart), and prints
//! `fileworker ready: ROOT` once it first has. Each request's path (see
//! `webmaster.rs` for the protocol) is answered with:
//! - **200** and the file's bytes, with a `Content-Type` from its extension;
//! - **404** for a missing file, or a directory;
//! - **403** for a path that leaves the root: a `.` or `..` segment (percent-encoded
//!   too: `%2e%2e`), an empty segment (`//etc/passwd` names an absolute path), a
//!   backslash or NUL, or a symlink whose target lies outside ROOT (ROOT and the
//!   file are canonicalized, and the file must lie under ROOT); also for a file the
//!   worker may not read, or one larger than `--max-size`;
//! - **400** for a path whose percent-encoding is broken or that is not UTF-8.
//!
//! Every answer carries `X-Worker: NAME` (the process id unless `--name` is given),
//! so that a client can see which worker served it.
//!
//! The check resolves the path once and then opens the resolved path: someone who
//! can write under ROOT and swap a directory for a symlink between the two steps
//! could still escape it. Serve trees that only trusted people write to.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use clap::Parser;
use purezmq::monitor::EventKind;
use purezmq::{Message, Socket, SocketType};
use tokio::io::AsyncReadExt;

#[derive(Parser)]
#[command(about = "Seed 003's file worker: serves the files under ROOT to a webmaster")]
struct Args {
    /// The directory to serve.
    root: PathBuf,
    /// The master's workers endpoint.
    #[arg(long, default_value = "tcp://127.0.0.1:5570")]
    master: String,
    /// The name sent in the X-Worker header (default: the process id).
    #[arg(long)]
    name: Option<String>,
    /// The largest file served, in bytes; larger ones get 403.
    #[arg(long, default_value_t = 32 * 1024 * 1024)]
    max_size: u64,
}

/// The largest request taken from the master: an 8-byte id and a path.
const MAX_REQUEST: u64 = 64 * 1024;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let root = std::fs::canonicalize(&args.root)
        .map_err(|error| format!("cannot serve {}: {error}", args.root.display()))?;
    if !root.is_dir() {
        return Err(format!("{} is not a directory", root.display()).into());
    }
    let name = args.name.unwrap_or_else(|| std::process::id().to_string());
    let x_worker = Bytes::from(format!("X-Worker: {name}"));

    let master = Socket::new(SocketType::Dealer);
    master.set_options(|o| {
        o.maxmsgsize = Some(MAX_REQUEST);
        o.heartbeat_ivl = Some(Duration::from_secs(1));
        o.heartbeat_timeout = Some(Duration::from_secs(5));
    })?;
    let mut monitor = master.monitor();
    master.connect(&args.master)?;

    let mut announced = false;
    loop {
        tokio::select! {
            event = monitor.recv() => {
                let Some(event) = event else { continue };
                if event.kind == EventKind::HandshakeSucceeded {
                    master.send(Message::from_iter(["", "READY"])).await?;
                    if !announced {
                        announced = true;
                        println!("fileworker ready: {}", root.display());
                    }
                }
            }
            request = master.recv() => {
                let frames = request?.into_frames();
                let [delimiter, id, path] = frames.as_slice() else {
                    eprintln!("fileworker: a malformed request ({} frames); ignored", frames.len());
                    continue;
                };
                if !delimiter.is_empty() {
                    eprintln!("fileworker: a request without the empty delimiter; ignored");
                    continue;
                }
                let answer = serve(&root, path, args.max_size).await;
                let mut reply = Message::from_iter([Bytes::new(), id.clone()]);
                reply.push(answer.status.to_string());
                reply.push(format!("Content-Type: {}", answer.content_type));
                reply.push(x_worker.clone());
                reply.push(answer.body);
                master.send(reply).await?;
            }
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

/// A worker's answer to one path.
struct Answer {
    status: u16,
    content_type: &'static str,
    body: Bytes,
}

impl Answer {
    fn refusal(status: u16, why: impl std::fmt::Display) -> Answer {
        Answer {
            status,
            content_type: "text/plain; charset=utf-8",
            body: format!("{status}: {why}\n").into(),
        }
    }
}

/// Why a path gets no file.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error("{0}")]
    BadRequest(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    NotFound(&'static str),
}

impl From<Refusal> for Answer {
    fn from(refusal: Refusal) -> Answer {
        let status = match refusal {
            Refusal::BadRequest(_) => 400,
            Refusal::Forbidden(_) => 403,
            Refusal::NotFound(_) => 404,
        };
        Answer::refusal(status, refusal)
    }
}

/// Reads the file a request path names, if it may.
async fn serve(root: &Path, raw_path: &[u8], max_size: u64) -> Answer {
    let file = match resolve(root, raw_path) {
        Ok(file) => file,
        Err(refusal) => return refusal.into(),
    };
    match read_file(&file, max_size).await {
        Ok(body) => Answer {
            status: 200,
            content_type: content_type(&file),
            body: body.into(),
        },
        Err(refusal) => refusal.into(),
    }
}

/// The file under `root` that `raw_path` names, canonical, or why there is none.
fn resolve(root: &Path, raw_path: &[u8]) -> Result<PathBuf, Refusal> {
    let decoded = percent_decode(raw_path)
        .ok_or(Refusal::BadRequest("the path's percent-encoding is broken"))?;
    let decoded =
        String::from_utf8(decoded).map_err(|_| Refusal::BadRequest("the path is not UTF-8"))?;
    let relative = decoded.strip_prefix('/').ok_or(Refusal::Forbidden(
        "the path does not start at the site's root",
    ))?;
    let mut path = root.to_path_buf();
    let segments: Vec<&str> = relative.split('/').collect();
    for (at, segment) in segments.iter().enumerate() {
        match *segment {
            // A trailing slash names a directory; one anywhere else an absolute path.
            "" if at + 1 == segments.len() => {}
            "" => {
                return Err(Refusal::Forbidden(
                    "an empty segment (//) would leave the root",
                ));
            }
            "." | ".." => return Err(Refusal::Forbidden("`.` and `..` segments are not allowed")),
            _ if segment.contains(['\\', '\0']) => {
                return Err(Refusal::Forbidden("a backslash or NUL in the path"));
            }
            _ => path.push(segment),
        }
    }
    let canonical = match std::fs::canonicalize(&path) {
        Ok(canonical) => canonical,
        Err(error) if error.kind() == ErrorKind::PermissionDenied => {
            return Err(Refusal::Forbidden("the worker may not read that path"));
        }
        Err(_) => return Err(Refusal::NotFound("no such file")),
    };
    if !canonical.starts_with(root) {
        return Err(Refusal::Forbidden(
            "the path leads outside the root (a symlink)",
        ));
    }
    Ok(canonical)
}

/// Reads a regular file of at most `max_size` bytes.
async fn read_file(file: &Path, max_size: u64) -> Result<Vec<u8>, Refusal> {
    let opened = match tokio::fs::File::open(file).await {
        Ok(opened) => opened,
        Err(error) if error.kind() == ErrorKind::PermissionDenied => {
            return Err(Refusal::Forbidden("the worker may not read that file"));
        }
        Err(_) => return Err(Refusal::NotFound("no such file")),
    };
    let metadata = opened
        .metadata()
        .await
        .map_err(|_| Refusal::NotFound("no such file"))?;
    if !metadata.is_file() {
        return Err(Refusal::NotFound("a directory, not a file"));
    }
    if metadata.len() > max_size {
        return Err(Refusal::Forbidden(
            "the file is larger than this worker serves",
        ));
    }
    // The file may grow while it is read: read one byte past the limit to know.
    let mut body = Vec::with_capacity(metadata.len() as usize);
    opened
        .take(max_size + 1)
        .read_to_end(&mut body)
        .await
        .map_err(|_| Refusal::Forbidden("the file could not be read"))?;
    if body.len() as u64 > max_size {
        return Err(Refusal::Forbidden(
            "the file is larger than this worker serves",
        ));
    }
    Ok(body)
}

/// Decodes `%XX` escapes; `None` when one is broken.
fn percent_decode(raw: &[u8]) -> Option<Vec<u8>> {
    let mut decoded = Vec::with_capacity(raw.len());
    let mut bytes = raw.iter();
    while let Some(&byte) = bytes.next() {
        if byte == b'%' {
            let high = (*bytes.next()? as char).to_digit(16)?;
            let low = (*bytes.next()? as char).to_digit(16)?;
            decoded.push((high * 16 + low) as u8);
        } else {
            decoded.push(byte);
        }
    }
    Some(decoded)
}

/// The content type of a file, from its extension.
fn content_type(file: &Path) -> &'static str {
    let extension = file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("txt") => "text/plain; charset=utf-8",
        Some("css") => "text/css",
        Some("js") => "text/javascript",
        Some("json") => "application/json",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("svg") => "image/svg+xml",
        Some("pdf") => "application/pdf",
        _ => "application/octet-stream",
    }
}
