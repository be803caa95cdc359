//! zmq.rs's roles: the `zeromq` crate's sockets on the tokio runtime
//! [`runtime`] builds.
//!
//! zmq.rs 0.7 has no inproc transport, no CURVE and no XPUB_NODROP (its PUB drops for
//! a subscriber whose queue is full, as ZMTP allows): those roles say so.

use std::time::{Duration, Instant};

use bytes::Bytes;
use zeromq::{Socket, SocketRecv, SocketSend, ZmqMessage};

use super::{
    BYE, Bind, Broker, BrokerReady, Device, END, HELLO, MARKER_INTERVAL, Pattern, Ready, Roles,
    SubReport, WARM_UP, check_size, next_peer_deadline, runtime,
};
use crate::compare::{control, measure};

/// zmq.rs, the `zeromq` crate.
pub struct ZmqRs;

fn text(error: zeromq::ZmqError) -> String {
    error.to_string()
}

/// The total size of a message's frames.
fn size(message: &ZmqMessage) -> usize {
    message.iter().map(Bytes::len).sum()
}

/// A REQ or DEALER: what [`Roles::ping`] needs of either.
trait Client: SocketSend + SocketRecv {}
impl<T: SocketSend + SocketRecv> Client for T {}

async fn ping_with(
    client: &mut dyn Client,
    size: usize,
    warmup: usize,
    duration: Duration,
) -> Result<Vec<u64>, String> {
    let payload = vec![0u8; size];
    for _ in 0..warmup {
        client
            .send(ZmqMessage::from(Bytes::copy_from_slice(&payload)))
            .await
            .map_err(text)?;
        check_size(self::size(&client.recv().await.map_err(text)?), size)?;
    }
    let mut round_trips = Vec::with_capacity(100_000);
    let start = Instant::now();
    while start.elapsed() < duration {
        let sent = Instant::now();
        client
            .send(ZmqMessage::from(Bytes::copy_from_slice(&payload)))
            .await
            .map_err(text)?;
        let reply = client.recv().await.map_err(text)?;
        round_trips.push(sent.elapsed().as_nanos() as u64);
        check_size(self::size(&reply), size)?;
    }
    client
        .send(ZmqMessage::from(Bytes::new()))
        .await
        .map_err(text)?;
    client.recv().await.map_err(text)?;
    Ok(round_trips)
}

impl Roles for ZmqRs {
    fn pull(
        &self,
        bind: &Bind,
        size: usize,
        count: usize,
        curve: bool,
        ready: Ready,
    ) -> Result<Duration, String> {
        if curve {
            return Err("zmq.rs 0.7 has no CURVE".to_owned());
        }
        runtime()?.block_on(async {
            let mut pull = zeromq::PullSocket::new();
            let endpoint = pull.bind(&bind.port_zero_endpoint()).await.map_err(text)?;
            ready(&endpoint.to_string(), None);
            check_size(self::size(&pull.recv().await.map_err(text)?), size)?;
            let start = Instant::now();
            for _ in 1..count {
                check_size(self::size(&pull.recv().await.map_err(text)?), size)?;
            }
            let elapsed = start.elapsed();
            pull.close().await;
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
            return Err("zmq.rs 0.7 has no CURVE".to_owned());
        }
        runtime()?.block_on(async {
            let mut push = zeromq::PushSocket::new();
            push.connect(endpoint).await.map_err(text)?;
            let payload = vec![0u8; size];
            for _ in 0..count {
                push.send(ZmqMessage::from(Bytes::copy_from_slice(&payload)))
                    .await
                    .map_err(text)?;
            }
            // Hold the connection until the PULL has everything.
            control::wait_stop_async().await;
            push.close().await;
            Ok(())
        })
    }

    fn inproc(&self, _size: usize, _count: usize) -> Result<Duration, String> {
        Err("zmq.rs 0.7 has no inproc transport".to_owned())
    }

    fn publish(&self, bind: &Bind, size: usize, count: usize, ready: Ready) -> Result<(), String> {
        runtime()?.block_on(async {
            let mut publisher = zeromq::PubSocket::new();
            let endpoint = publisher
                .bind(&bind.port_zero_endpoint())
                .await
                .map_err(text)?;
            ready(&endpoint.to_string(), None);
            while !control::go() {
                publisher
                    .send(ZmqMessage::from(Bytes::from_static(WARM_UP)))
                    .await
                    .map_err(text)?;
                tokio::time::sleep(MARKER_INTERVAL).await;
            }
            let payload = vec![0u8; size];
            for _ in 0..count {
                publisher
                    .send(ZmqMessage::from(Bytes::copy_from_slice(&payload)))
                    .await
                    .map_err(text)?;
            }
            while !control::stopped() {
                let _ = publisher
                    .send(ZmqMessage::from(Bytes::from_static(END)))
                    .await;
                tokio::time::sleep(MARKER_INTERVAL).await;
            }
            publisher.close().await;
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
            let mut sub = zeromq::SubSocket::new();
            sub.subscribe("").await.map_err(text)?;
            sub.connect(endpoint).await.map_err(text)?;
            let mut report = SubReport::default();
            let mut announced = false;
            while report.received < count {
                let message = sub.recv().await.map_err(text)?;
                let body = message.get(0).cloned().unwrap_or_default();
                if &body[..] == WARM_UP {
                    if !announced {
                        announced = true;
                        subscribed();
                    }
                    continue;
                }
                if &body[..] == END {
                    break;
                }
                check_size(self::size(&message), size)?;
                report.last_ns = measure::monotonic_ns();
                if report.received == 0 {
                    report.first_ns = report.last_ns;
                }
                report.received += 1;
            }
            sub.close().await;
            Ok(report)
        })
    }

    fn echo(&self, pattern: Pattern, bind: &Bind, ready: Ready) -> Result<u64, String> {
        runtime()?.block_on(async {
            let endpoint = bind.port_zero_endpoint();
            let mut echoed = 0;
            match pattern {
                Pattern::ReqRep => {
                    let mut rep = zeromq::RepSocket::new();
                    let bound = rep.bind(&endpoint).await.map_err(text)?;
                    ready(&bound.to_string(), None);
                    loop {
                        let message = rep.recv().await.map_err(text)?;
                        let last = self::size(&message);
                        rep.send(message).await.map_err(text)?;
                        echoed += 1;
                        if last == 0 {
                            break;
                        }
                    }
                    rep.close().await;
                }
                Pattern::DealerRouter => {
                    let mut router = zeromq::RouterSocket::new();
                    let bound = router.bind(&endpoint).await.map_err(text)?;
                    ready(&bound.to_string(), None);
                    loop {
                        let message = router.recv().await.map_err(text)?;
                        let last = message.iter().last().map_or(0, Bytes::len);
                        router.send(message).await.map_err(text)?;
                        echoed += 1;
                        if last == 0 {
                            break;
                        }
                    }
                    router.close().await;
                }
            }
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
            match pattern {
                Pattern::ReqRep => {
                    let mut req = zeromq::ReqSocket::new();
                    req.connect(endpoint).await.map_err(text)?;
                    let result = ping_with(&mut req, size, warmup, duration).await;
                    req.close().await;
                    result
                }
                Pattern::DealerRouter => {
                    let mut dealer = zeromq::DealerSocket::new();
                    dealer.connect(endpoint).await.map_err(text)?;
                    let result = ping_with(&mut dealer, size, warmup, duration).await;
                    dealer.close().await;
                    result
                }
            }
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
            let mut router = zeromq::RouterSocket::new();
            let bound = router
                .bind(&bind.port_zero_endpoint())
                .await
                .map_err(text)?;
            ready(&bound.to_string(), None);
            let until = tokio::time::Instant::now() + deadline;
            let mut peers = Vec::with_capacity(expect);
            let mut last_peer = None;
            while peers.len() < expect {
                let wait = next_peer_deadline(until, last_peer);
                match tokio::time::timeout_at(wait, router.recv()).await {
                    Err(_) => break,
                    Ok(message) => {
                        let message = message.map_err(text)?;
                        if message.get(1).map(|f| &f[..]) == Some(HELLO)
                            && let Some(id) = message.get(0)
                        {
                            peers.push(id.clone());
                            last_peer = Some(tokio::time::Instant::now());
                        }
                    }
                }
            }
            connected(peers.len());
            for peer in peers {
                let reply = ZmqMessage::try_from(vec![peer, Bytes::from_static(BYE)])
                    .map_err(|e| format!("{e:?}"))?;
                // A peer that went away is the client's to report, not a reason
                // to drop every other connection.
                let _ = router.send(reply).await;
            }
            control::wait_stop_async().await;
            router.close().await;
            Ok(())
        })
    }

    fn proxy(&self, _device: Device, _endpoint: &str, _ready: Ready) -> Result<(), String> {
        Err(
            "no proxy for these pairs: `zeromq::proxy` takes two sockets that both send \
             and receive (ROUTER, DEALER, XSUB, XPUB), not PULL and PUSH, and zmq.rs's \
             XPUB, like its PUB, drops for a slow subscriber (no XPUB_NODROP)"
                .to_owned(),
        )
    }

    fn broker(&self, broker: Broker, _ready: BrokerReady) -> Result<(), String> {
        Err(format!(
            "no {} broker here: the broker cases do not run this stack",
            broker.key()
        ))
    }
}
