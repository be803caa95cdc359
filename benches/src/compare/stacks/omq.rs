//! omq's roles: `omq_tokio::Socket` driven on the caller's tokio runtime (see
//! [`runtime`]), with libzmq's infinite LINGER where a role must deliver everything
//! (omq's own default is to discard on close).

use std::time::{Duration, Instant};

use bytes::Bytes;
use omq_tokio::{Message, Options, Socket, SocketType};

use super::{
    BYE, Bind, Broker, BrokerReady, Device, END, HELLO, MARKER_INTERVAL, Pattern, Ready, Roles,
    SubReport, WARM_UP, check_size, next_peer_deadline, runtime,
};
use crate::compare::{control, measure};

/// omq, the `omq-tokio` crate.
pub struct Omq;

fn text(error: omq_tokio::Error) -> String {
    error.to_string()
}

/// libzmq's defaults where omq differs: wait for ever on close to deliver.
fn options() -> Options {
    Options {
        linger: None,
        ..Options::default()
    }
}

fn payload_of(message: &Message, part: usize) -> Option<&[u8]> {
    message.part_slice(part)
}

impl Roles for Omq {
    fn pull(
        &self,
        bind: &Bind,
        size: usize,
        count: usize,
        curve: bool,
        ready: Ready,
    ) -> Result<Duration, String> {
        if curve {
            return Err(
                "omq's CURVE (its `curve` feature) is not built into these benches".to_owned(),
            );
        }
        runtime()?.block_on(async {
            let pull = Socket::new(SocketType::Pull, options());
            let endpoint = pull.bind(bind.port_zero_endpoint()).await.map_err(text)?;
            ready(&endpoint.to_string(), None);
            check_size(pull.recv().await.map_err(text)?.byte_len(), size)?;
            let start = Instant::now();
            for _ in 1..count {
                check_size(pull.recv().await.map_err(text)?.byte_len(), size)?;
            }
            let elapsed = start.elapsed();
            pull.close().await.map_err(text)?;
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
            return Err(
                "omq's CURVE (its `curve` feature) is not built into these benches".to_owned(),
            );
        }
        runtime()?.block_on(async {
            let push = Socket::new(SocketType::Push, options());
            push.connect(endpoint).await.map_err(text)?;
            let payload = vec![0u8; size];
            for _ in 0..count {
                push.send(Message::single(Bytes::copy_from_slice(&payload)))
                    .await
                    .map_err(text)?;
            }
            // Hold the connection until the PULL has everything.
            control::wait_stop_async().await;
            push.close().await.map_err(text)?;
            Ok(())
        })
    }

    fn inproc(&self, size: usize, count: usize) -> Result<Duration, String> {
        runtime()?.block_on(async {
            let pull = Socket::new(SocketType::Pull, options());
            pull.bind("inproc://compare").await.map_err(text)?;
            let push = Socket::new(SocketType::Push, options());
            push.connect("inproc://compare").await.map_err(text)?;
            let sender = tokio::spawn(async move {
                let payload = vec![0u8; size];
                for _ in 0..count {
                    push.send(Message::single(Bytes::copy_from_slice(&payload)))
                        .await?;
                }
                push.close().await
            });
            check_size(pull.recv().await.map_err(text)?.byte_len(), size)?;
            let start = Instant::now();
            for _ in 1..count {
                check_size(pull.recv().await.map_err(text)?.byte_len(), size)?;
            }
            let elapsed = start.elapsed();
            sender
                .await
                .map_err(|e| format!("the sending task failed: {e}"))?
                .map_err(text)?;
            Ok(elapsed)
        })
    }

    fn publish(&self, bind: &Bind, size: usize, count: usize, ready: Ready) -> Result<(), String> {
        runtime()?.block_on(async {
            let options = Options {
                xpub_nodrop: true,
                ..options()
            };
            let publisher = Socket::new(SocketType::Pub, options);
            let endpoint = publisher
                .bind(bind.port_zero_endpoint())
                .await
                .map_err(text)?;
            ready(&endpoint.to_string(), None);
            while !control::go() {
                publisher
                    .send(Message::single(Bytes::from_static(WARM_UP)))
                    .await
                    .map_err(text)?;
                tokio::time::sleep(MARKER_INTERVAL).await;
            }
            let payload = vec![0u8; size];
            for _ in 0..count {
                publisher
                    .send(Message::single(Bytes::copy_from_slice(&payload)))
                    .await
                    .map_err(text)?;
            }
            while !control::stopped() {
                let _ = publisher.try_send(Message::single(Bytes::from_static(END)));
                tokio::time::sleep(MARKER_INTERVAL).await;
            }
            publisher
                .close_with_linger(Some(Duration::ZERO))
                .await
                .map_err(text)?;
            Ok(())
        })
    }

    fn subscribe(
        &self,
        endpoint: &str,
        size: usize,
        count: usize,
        subscribed: &mut dyn FnMut(),
    ) -> Result<SubReport, String> {
        runtime()?.block_on(async {
            let sub = Socket::new(SocketType::Sub, options());
            sub.subscribe(Bytes::new()).await.map_err(text)?;
            sub.connect(endpoint).await.map_err(text)?;
            let mut report = SubReport::default();
            let mut announced = false;
            while report.received < count {
                let message = sub.recv().await.map_err(text)?;
                let body = payload_of(&message, 0).unwrap_or_default();
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
                check_size(message.byte_len(), size)?;
                report.last_ns = measure::monotonic_ns();
                if report.received == 0 {
                    report.first_ns = report.last_ns;
                }
                report.received += 1;
            }
            sub.close_with_linger(Some(Duration::ZERO))
                .await
                .map_err(text)?;
            Ok(report)
        })
    }

    fn echo(&self, pattern: Pattern, bind: &Bind, ready: Ready) -> Result<u64, String> {
        runtime()?.block_on(async {
            let kind = match pattern {
                Pattern::ReqRep => SocketType::Rep,
                Pattern::DealerRouter => SocketType::Router,
            };
            let server = Socket::new(kind, options());
            let endpoint = server.bind(bind.port_zero_endpoint()).await.map_err(text)?;
            ready(&endpoint.to_string(), None);
            let mut echoed = 0;
            loop {
                let message = server.recv().await.map_err(text)?;
                let last = message.len().checked_sub(1);
                let last = last
                    .and_then(|i| payload_of(&message, i))
                    .map_or(0, <[u8]>::len);
                server.send(message).await.map_err(text)?;
                echoed += 1;
                if last == 0 {
                    break;
                }
            }
            server.close().await.map_err(text)?;
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
            let kind = match pattern {
                Pattern::ReqRep => SocketType::Req,
                Pattern::DealerRouter => SocketType::Dealer,
            };
            let client = Socket::new(kind, options());
            client.connect(endpoint).await.map_err(text)?;
            let payload = vec![0u8; size];
            for _ in 0..warmup {
                client
                    .send(Message::single(Bytes::copy_from_slice(&payload)))
                    .await
                    .map_err(text)?;
                check_size(client.recv().await.map_err(text)?.byte_len(), size)?;
            }
            let mut round_trips = Vec::with_capacity(100_000);
            let start = Instant::now();
            while start.elapsed() < duration {
                let sent = Instant::now();
                client
                    .send(Message::single(Bytes::copy_from_slice(&payload)))
                    .await
                    .map_err(text)?;
                let reply = client.recv().await.map_err(text)?;
                round_trips.push(sent.elapsed().as_nanos() as u64);
                check_size(reply.byte_len(), size)?;
            }
            client
                .send(Message::single(Bytes::new()))
                .await
                .map_err(text)?;
            client.recv().await.map_err(text)?;
            client.close().await.map_err(text)?;
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
        runtime()?.block_on(async {
            let router = Socket::new(SocketType::Router, options());
            let endpoint = router.bind(bind.port_zero_endpoint()).await.map_err(text)?;
            ready(&endpoint.to_string(), None);
            let until = tokio::time::Instant::now() + deadline;
            let mut peers = Vec::with_capacity(expect);
            let mut last_peer = None;
            while peers.len() < expect {
                let wait = next_peer_deadline(until, last_peer);
                match tokio::time::timeout_at(wait, router.recv()).await {
                    Err(_) => break,
                    Ok(message) => {
                        let message = message.map_err(text)?;
                        if payload_of(&message, 1) == Some(HELLO)
                            && let Some(id) = message.part_bytes(0)
                        {
                            peers.push(id);
                            last_peer = Some(tokio::time::Instant::now());
                        }
                    }
                }
            }
            connected(peers.len());
            for peer in peers {
                let reply = Message::multipart([peer, Bytes::from_static(BYE)]);
                // A peer that went away is the client's to report, not a reason
                // to drop every other connection.
                let _ = router.send(reply).await;
            }
            control::wait_stop_async().await;
            router
                .close_with_linger(Some(Duration::ZERO))
                .await
                .map_err(text)?;
            Ok(())
        })
    }

    fn proxy(&self, device: Device, endpoint: &str, ready: Ready) -> Result<(), String> {
        let runtime = runtime()?;
        let result = runtime.block_on(async {
            let bind = Bind::Tcp.port_zero_endpoint();
            let (frontend, backend, bound) = match device {
                Device::Streamer => {
                    let frontend = Socket::new(SocketType::Pull, options());
                    let backend = Socket::new(SocketType::Push, options());
                    backend.connect(endpoint).await.map_err(text)?;
                    let bound = frontend.bind(bind).await.map_err(text)?;
                    (frontend, backend, bound)
                }
                Device::Forwarder => {
                    let frontend = Socket::new(SocketType::XSub, options());
                    let nodrop = Options {
                        xpub_nodrop: true,
                        ..options()
                    };
                    let backend = Socket::new(SocketType::XPub, nodrop);
                    frontend.connect(endpoint).await.map_err(text)?;
                    let bound = backend.bind(bind).await.map_err(text)?;
                    (frontend, backend, bound)
                }
            };
            ready(&bound.to_string(), None);
            tokio::select! {
                exit = omq_tokio::Proxy::new(frontend, backend).run() => {
                    Err(format!("omq's proxy stopped before the run ended: {exit:?}"))
                }
                () = control::wait_stop_async() => Ok(()),
            }
        });
        // The proxy's sockets may still hold undelivered messages: do not wait for
        // them, the run is over.
        runtime.shutdown_background();
        result
    }

    fn broker(&self, broker: Broker, _ready: BrokerReady) -> Result<(), String> {
        Err(format!(
            "no {} broker here: the broker cases do not run this stack",
            broker.key()
        ))
    }
}
