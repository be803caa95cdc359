//! The idle peers of the memory and connection-count cases: plain tokio TCP sockets
//! that do the ZMTP 3.0 NULL handshake as a DEALER, send one [`HELLO`], read one
//! [`BYE`] and then sit idle. The same client, in its own process, serves every
//! stack, so the ROUTER's process is the only one whose memory differs.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

use super::control;
use super::stacks::{BYE, HELLO, next_peer_deadline};

/// How many connections handshake at once (below libzmq's default listen backlog
/// of 100, so no SYN is dropped and retried a second later).
const CONCURRENT_HANDSHAKES: usize = 64;

/// The ZMTP 3.0 greeting of a NULL client: signature, version 3.0, mechanism,
/// as-server 0, filler.
fn greeting() -> [u8; 64] {
    let mut greeting = [0u8; 64];
    greeting[0] = 0xff;
    greeting[9] = 0x7f;
    greeting[10] = 3;
    greeting[11] = 0;
    greeting[12..16].copy_from_slice(b"NULL");
    greeting
}

/// The NULL mechanism's READY command announcing a DEALER.
fn ready() -> Vec<u8> {
    let mut body = vec![5];
    body.extend_from_slice(b"READY");
    body.push(11);
    body.extend_from_slice(b"Socket-Type");
    body.extend_from_slice(&6u32.to_be_bytes());
    body.extend_from_slice(b"DEALER");
    let mut command = vec![0x04, body.len() as u8];
    command.extend_from_slice(&body);
    command
}

/// Reads one frame: (flags, body).
async fn read_frame(stream: &mut TcpStream) -> std::io::Result<(u8, Vec<u8>)> {
    let flags = stream.read_u8().await?;
    let len = if flags & 0x02 != 0 {
        stream.read_u64().await? as usize
    } else {
        usize::from(stream.read_u8().await?)
    };
    let mut body = vec![0; len];
    stream.read_exact(&mut body).await?;
    Ok((flags, body))
}

/// How far one connection got.
enum Reached {
    /// Failed before the handshake ended.
    Nothing(String),
    /// Handshook and sent HELLO, but no BYE came back.
    Connected(String),
    /// Got its BYE; holds the connection open.
    Replied(TcpStream),
}

async fn connect_one(address: String, handshakes: Arc<Semaphore>) -> Reached {
    let permit = handshakes.acquire_owned().await;
    let mut stream = match handshake(&address).await {
        Ok(stream) => stream,
        Err(e) => return Reached::Nothing(e.to_string()),
    };
    drop(permit);
    loop {
        match read_frame(&mut stream).await {
            // Commands (a PING, say) are not the reply.
            Ok((flags, _)) if flags & 0x04 != 0 => continue,
            Ok((_, body)) if body == BYE => return Reached::Replied(stream),
            Ok((_, body)) => {
                let body = String::from_utf8_lossy(&body).into_owned();
                return Reached::Connected(format!("unexpected reply {body:?}"));
            }
            Err(e) => return Reached::Connected(e.to_string()),
        }
    }
}

async fn handshake(address: &str) -> std::io::Result<TcpStream> {
    let mut stream = TcpStream::connect(address).await?;
    stream.set_nodelay(true)?;
    stream.write_all(&greeting()).await?;
    let mut theirs = [0u8; 64];
    stream.read_exact(&mut theirs).await?;
    if theirs[0] != 0xff || theirs[10] < 3 {
        return Err(std::io::Error::other("the ROUTER's greeting is not ZMTP 3"));
    }
    stream.write_all(&ready()).await?;
    let (flags, _) = read_frame(&mut stream).await?;
    if flags & 0x04 == 0 {
        return Err(std::io::Error::other("expected the ROUTER's READY"));
    }
    let mut hello = vec![0, HELLO.len() as u8];
    hello.extend_from_slice(HELLO);
    stream.write_all(&hello).await?;
    Ok(stream)
}

/// What the client reports: connections that handshook, those that got their
/// reply, and the first failure.
pub struct Outcome {
    /// Connections that completed the handshake and sent HELLO.
    pub connected: usize,
    /// Connections that also received BYE.
    pub replied: usize,
    /// Why the first connection that fell short did.
    pub first_error: Option<String>,
}

/// Opens `count` connections to `endpoint` (`tcp://host:port`) and waits until each
/// got its reply or `deadline` passed; calls `done` with the outcome, then holds the
/// connections until `STOP`.
pub fn run(
    endpoint: &str,
    count: usize,
    deadline: Duration,
    done: impl FnOnce(&Outcome),
) -> Result<(), String> {
    let address = endpoint
        .strip_prefix("tcp://")
        .ok_or_else(|| format!("the idle client speaks tcp only, not {endpoint}"))?
        .to_owned();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let handshakes = Arc::new(Semaphore::new(CONCURRENT_HANDSHAKES));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..count {
            tasks.spawn(connect_one(address.clone(), Arc::clone(&handshakes)));
        }
        let until = tokio::time::Instant::now() + deadline;
        let mut outcome = Outcome {
            connected: 0,
            replied: 0,
            first_error: None,
        };
        let mut open = Vec::with_capacity(count);
        let mut last_answer = None;
        loop {
            let wait = next_peer_deadline(until, last_answer);
            let Ok(Some(joined)) = tokio::time::timeout_at(wait, tasks.join_next()).await else {
                break;
            };
            match joined {
                Ok(Reached::Replied(stream)) => {
                    // Answers come in a burst once the ROUTER has every hello:
                    // from the first, a pause means the rest are not coming.
                    last_answer = Some(tokio::time::Instant::now());
                    outcome.connected += 1;
                    outcome.replied += 1;
                    open.push(stream);
                }
                Ok(Reached::Connected(e)) => {
                    outcome.connected += 1;
                    outcome.first_error.get_or_insert(e);
                }
                Ok(Reached::Nothing(e)) => {
                    outcome.first_error.get_or_insert(e);
                }
                Err(e) => {
                    outcome.first_error.get_or_insert(e.to_string());
                }
            }
        }
        if !tasks.is_empty() && outcome.first_error.is_none() {
            outcome.first_error = Some(format!("{} connections unanswered", tasks.len()));
        }
        done(&outcome);
        control::wait_stop_async().await;
        drop(open);
        tasks.abort_all();
    });
    Ok(())
}
