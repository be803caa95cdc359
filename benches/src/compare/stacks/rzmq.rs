//! rzmq's roles: `rzmq::Socket`s of one `rzmq::Context` per process, on the tokio
//! runtime [`runtime`] builds (rzmq's plain tokio path: its io_uring backend is a
//! feature these benches leave off).
//!
//! rzmq frames DEALER and ROUTER messages as REQ and REP do unless told otherwise
//! (an empty delimiter added and stripped); here both run with `AUTO_DELIMITER` off,
//! libzmq's framing, so a DEALER's message is its payload alone as in every other
//! stack. rzmq has no XSUB, XPUB or proxy, and its CURVE (the `curve` feature) is
//! not built into these benches: those roles say so.

use std::time::{Duration, Instant};

use bytes::Bytes;
use rzmq::socket::options::{AUTO_DELIMITER, LAST_ENDPOINT, SUBSCRIBE, XPUB_NODROP};
use rzmq::{Context, Msg, MsgFlags, Socket, SocketType, ZmqError};

use super::{
    BYE, Bind, Broker, BrokerReady, Device, END, HELLO, MARKER_INTERVAL, Pattern, Ready, Roles,
    SubReport, WARM_UP, check_size, next_peer_deadline, runtime,
};
use crate::compare::{control, measure};

/// rzmq, the `rzmq` crate.
pub struct Rzmq;

fn text(error: ZmqError) -> String {
    error.to_string()
}

const NO_CURVE: &str = "rzmq's CURVE (its `curve` feature) is not built into these benches";

/// A fresh copy of a `size`-byte payload, as `zmq_send` would make.
fn copy(payload: &[u8]) -> Msg {
    Msg::from_bytes(Bytes::copy_from_slice(payload))
}

/// Binds `socket` and returns the endpoint peers connect to (the port the OS
/// picked, for tcp).
async fn bind(socket: &Socket, bind: &Bind) -> Result<String, String> {
    socket
        .bind(&bind.port_zero_endpoint())
        .await
        .map_err(text)?;
    let bound = socket.get_option(LAST_ENDPOINT).await.map_err(text)?;
    let bound = String::from_utf8_lossy(&bound)
        .trim_end_matches('\0')
        .to_owned();
    if bound.is_empty() {
        return Err("rzmq did not say which endpoint it bound".to_owned());
    }
    Ok(bound)
}

/// A DEALER or ROUTER with libzmq's framing (no delimiter added or stripped).
async fn plain_framed(context: &Context, kind: SocketType) -> Result<Socket, String> {
    let socket = context.socket(kind).map_err(text)?;
    socket
        .set_option(AUTO_DELIMITER, 0i32)
        .await
        .map_err(text)?;
    Ok(socket)
}

/// The frames of one message, sent as one.
fn frames(parts: Vec<Msg>) -> Vec<Msg> {
    let last = parts.len().saturating_sub(1);
    parts
        .into_iter()
        .enumerate()
        .map(|(i, mut part)| {
            part.set_flags(if i < last {
                MsgFlags::MORE
            } else {
                MsgFlags::empty()
            });
            part
        })
        .collect()
}

/// The total size of a message's frames.
fn size(message: &[Msg]) -> usize {
    message.iter().map(Msg::size).sum()
}

impl Roles for Rzmq {
    fn pull(
        &self,
        bind: &Bind,
        size: usize,
        count: usize,
        curve: bool,
        ready: Ready,
    ) -> Result<Duration, String> {
        if curve {
            return Err(NO_CURVE.to_owned());
        }
        runtime()?.block_on(async {
            let context = Context::new().map_err(text)?;
            let pull = context.socket(SocketType::Pull).map_err(text)?;
            let endpoint = self::bind(&pull, bind).await?;
            ready(&endpoint, None);
            check_size(pull.recv().await.map_err(text)?.size(), size)?;
            let start = Instant::now();
            for _ in 1..count {
                check_size(pull.recv().await.map_err(text)?.size(), size)?;
            }
            let elapsed = start.elapsed();
            context.term().await.map_err(text)?;
            Ok(elapsed)
        })
    }

    fn push(
        &self,
        endpoint: &str,
        size: usize,
        count: usize,
        server_key: Option<&str>,
    ) -> Result<(), String> {
        if server_key.is_some() {
            return Err(NO_CURVE.to_owned());
        }
        runtime()?.block_on(async {
            let context = Context::new().map_err(text)?;
            let push = context.socket(SocketType::Push).map_err(text)?;
            push.connect(endpoint).await.map_err(text)?;
            let payload = vec![0u8; size];
            for _ in 0..count {
                push.send(copy(&payload)).await.map_err(text)?;
            }
            // Hold the connection until the PULL has everything.
            control::wait_stop_async().await;
            context.term().await.map_err(text)?;
            Ok(())
        })
    }

    fn inproc(&self, size: usize, count: usize) -> Result<Duration, String> {
        runtime()?.block_on(async {
            let context = Context::new().map_err(text)?;
            let pull = context.socket(SocketType::Pull).map_err(text)?;
            pull.bind("inproc://compare").await.map_err(text)?;
            let push = context.socket(SocketType::Push).map_err(text)?;
            push.connect("inproc://compare").await.map_err(text)?;
            let sender = tokio::spawn(async move {
                let payload = vec![0u8; size];
                for _ in 0..count {
                    push.send(copy(&payload)).await?;
                }
                Ok::<_, ZmqError>(())
            });
            check_size(pull.recv().await.map_err(text)?.size(), size)?;
            let start = Instant::now();
            for _ in 1..count {
                check_size(pull.recv().await.map_err(text)?.size(), size)?;
            }
            let elapsed = start.elapsed();
            sender
                .await
                .map_err(|e| format!("the sending task failed: {e}"))?
                .map_err(text)?;
            context.term().await.map_err(text)?;
            Ok(elapsed)
        })
    }

    fn publish(&self, bind: &Bind, size: usize, count: usize, ready: Ready) -> Result<(), String> {
        let runtime = runtime()?;
        let result = runtime.block_on(async {
            let context = Context::new().map_err(text)?;
            let publisher = context.socket(SocketType::Pub).map_err(text)?;
            publisher
                .set_option(XPUB_NODROP, 1i32)
                .await
                .map_err(text)?;
            let endpoint = self::bind(&publisher, bind).await?;
            ready(&endpoint, None);
            while !control::go() {
                publisher
                    .send(Msg::from_static(WARM_UP))
                    .await
                    .map_err(text)?;
                tokio::time::sleep(MARKER_INTERVAL).await;
            }
            let payload = vec![0u8; size];
            for _ in 0..count {
                publisher.send(copy(&payload)).await.map_err(text)?;
            }
            // A SUB that has what it needs goes away; an end marker it no longer
            // reads must not hold this loop up.
            while !control::stopped() {
                let _ =
                    tokio::time::timeout(MARKER_INTERVAL, publisher.send(Msg::from_static(END)))
                        .await;
                tokio::time::sleep(MARKER_INTERVAL).await;
            }
            Ok(())
        });
        // Undelivered end markers are of no use once the run is over.
        runtime.shutdown_background();
        result
    }

    fn subscribe(
        &self,
        endpoint: &str,
        size: usize,
        count: usize,
        subscribed: &mut dyn FnMut(),
    ) -> Result<SubReport, String> {
        runtime()?.block_on(async {
            let context = Context::new().map_err(text)?;
            let sub = context.socket(SocketType::Sub).map_err(text)?;
            sub.set_option(SUBSCRIBE, &b""[..]).await.map_err(text)?;
            sub.connect(endpoint).await.map_err(text)?;
            let mut report = SubReport::default();
            let mut announced = false;
            while report.received < count {
                let message = sub.recv_multipart().await.map_err(text)?;
                let body = message.first().and_then(Msg::data).unwrap_or_default();
                if body == WARM_UP {
                    if !announced {
                        announced = true;
                        subscribed();
                    }
                    continue;
                }
                if body == END {
                    break;
                }
                check_size(self::size(&message), size)?;
                report.last_ns = measure::monotonic_ns();
                if report.received == 0 {
                    report.first_ns = report.last_ns;
                }
                report.received += 1;
            }
            sub.set_option(rzmq::socket::options::LINGER, 0i32)
                .await
                .map_err(text)?;
            context.term().await.map_err(text)?;
            Ok(report)
        })
    }

    fn echo(&self, pattern: Pattern, bind: &Bind, ready: Ready) -> Result<u64, String> {
        runtime()?.block_on(async {
            let context = Context::new().map_err(text)?;
            let server = match pattern {
                Pattern::ReqRep => context.socket(SocketType::Rep).map_err(text)?,
                Pattern::DealerRouter => plain_framed(&context, SocketType::Router).await?,
            };
            let endpoint = self::bind(&server, bind).await?;
            ready(&endpoint, None);
            let mut echoed = 0;
            loop {
                let message = server.recv_multipart().await.map_err(text)?;
                let last = message.last().map_or(0, Msg::size);
                server.send_multipart(frames(message)).await.map_err(text)?;
                echoed += 1;
                if last == 0 {
                    break;
                }
            }
            context.term().await.map_err(text)?;
            Ok(echoed)
        })
    }

    fn ping(
        &self,
        pattern: Pattern,
        endpoint: &str,
        size: usize,
        warmup: usize,
        duration: Duration,
    ) -> Result<Vec<u64>, String> {
        runtime()?.block_on(async {
            let context = Context::new().map_err(text)?;
            let client = match pattern {
                Pattern::ReqRep => context.socket(SocketType::Req).map_err(text)?,
                Pattern::DealerRouter => plain_framed(&context, SocketType::Dealer).await?,
            };
            client.connect(endpoint).await.map_err(text)?;
            let payload = vec![0u8; size];
            for _ in 0..warmup {
                client.send(copy(&payload)).await.map_err(text)?;
                check_size(
                    self::size(&client.recv_multipart().await.map_err(text)?),
                    size,
                )?;
            }
            let mut round_trips = Vec::with_capacity(100_000);
            let start = Instant::now();
            while start.elapsed() < duration {
                let sent = Instant::now();
                client.send(copy(&payload)).await.map_err(text)?;
                let reply = client.recv_multipart().await.map_err(text)?;
                round_trips.push(sent.elapsed().as_nanos() as u64);
                check_size(self::size(&reply), size)?;
            }
            client.send(Msg::new()).await.map_err(text)?;
            client.recv_multipart().await.map_err(text)?;
            context.term().await.map_err(text)?;
            Ok(round_trips)
        })
    }

    fn idle_router(
        &self,
        bind: &Bind,
        expect: usize,
        deadline: Duration,
        ready: Ready,
        connected: &mut dyn FnMut(usize),
    ) -> Result<(), String> {
        let runtime = runtime()?;
        let result = runtime.block_on(async {
            let context = Context::new().map_err(text)?;
            let router = plain_framed(&context, SocketType::Router).await?;
            let endpoint = self::bind(&router, bind).await?;
            ready(&endpoint, None);
            let until = tokio::time::Instant::now() + deadline;
            let mut peers = Vec::with_capacity(expect);
            let mut last_peer = None;
            while peers.len() < expect {
                let wait = next_peer_deadline(until, last_peer);
                match tokio::time::timeout_at(wait, router.recv_multipart()).await {
                    Err(_) => break,
                    Ok(message) => {
                        let mut message = message.map_err(text)?.into_iter();
                        let id = message.next();
                        let body = message.next();
                        if let (Some(id), Some(body)) = (id, body)
                            && body.data() == Some(HELLO)
                        {
                            peers.push(id);
                            last_peer = Some(tokio::time::Instant::now());
                        }
                    }
                }
            }
            connected(peers.len());
            for peer in peers {
                // A peer that went away is the client's to report, not a reason
                // to drop every other connection.
                let _ = router
                    .send_multipart(frames(vec![peer, Msg::from_static(BYE)]))
                    .await;
            }
            control::wait_stop_async().await;
            Ok(())
        });
        // Ten thousand idle peers need not be said goodbye to one by one.
        runtime.shutdown_background();
        result
    }

    fn proxy(&self, _device: Device, _endpoint: &str, _ready: Ready) -> Result<(), String> {
        Err("no proxy: rzmq 0.5 has no proxy, XSUB or XPUB".to_owned())
    }

    fn broker(&self, broker: Broker, _ready: BrokerReady) -> Result<(), String> {
        Err(format!(
            "no {} broker here: the broker cases do not run this stack",
            broker.key()
        ))
    }
}
