//! purezmq's roles: `purezmq::Socket` on the tokio runtime
//! [`runtime`] builds.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use purezmq::curve::{KeyPair, PublicKey};
use purezmq::{Message, Options, Security, Socket, SocketType};
use purezmq_broker::broker::{Broker as MajordomoBroker, BrokerConfig};
use purezmq_broker::proxy::Proxy;

use super::{
    BYE, Bind, Broker, BrokerReady, Device, END, HELLO, MARKER_INTERVAL, Pattern, Ready, Roles,
    SubReport, WARM_UP, check_size, next_peer_deadline, runtime,
};
use crate::compare::{control, measure};

/// purezmq, this workspace.
pub struct Purezmq;

fn text(error: purezmq::Error) -> String {
    error.to_string()
}

fn socket(kind: SocketType, options: Options) -> Result<Socket, String> {
    Socket::with_options(kind, options).map_err(text)
}

impl Roles for Purezmq {
    fn pull(
        &self,
        bind: &Bind,
        size: usize,
        count: usize,
        curve: bool,
        ready: Ready,
    ) -> Result<Duration, String> {
        runtime()?.block_on(async {
            let mut options = Options::default();
            let mut server_key = None;
            if curve {
                let keypair = KeyPair::generate();
                server_key = Some(keypair.public().to_z85());
                options.security = Security::CurveServer { keypair };
            }
            let pull = socket(SocketType::Pull, options)?;
            pull.bind(&bind.zmq_endpoint()).map_err(text)?;
            ready(&pull.last_endpoint(), server_key.as_deref());
            check_size(pull.recv().await.map_err(text)?.size(), size)?;
            let start = Instant::now();
            for _ in 1..count {
                check_size(pull.recv().await.map_err(text)?.size(), size)?;
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
        runtime()?.block_on(async {
            let mut options = Options::default();
            if let Some(key) = server_key {
                let server_key = PublicKey::from_z85(key).map_err(|e| e.to_string())?;
                options.security = Security::CurveClient {
                    keypair: KeyPair::generate(),
                    server_key,
                };
            }
            let push = socket(SocketType::Push, options)?;
            push.connect(endpoint).map_err(text)?;
            let payload = vec![0u8; size];
            for _ in 0..count {
                push.send(Bytes::copy_from_slice(&payload))
                    .await
                    .map_err(text)?;
            }
            // Hold the connection until the PULL has everything.
            control::wait_stop_async().await;
            push.close().await;
            Ok(())
        })
    }

    fn inproc(&self, size: usize, count: usize) -> Result<Duration, String> {
        runtime()?.block_on(async {
            let pull = Socket::new(SocketType::Pull);
            pull.bind("inproc://compare").map_err(text)?;
            let push = Socket::new(SocketType::Push);
            push.connect("inproc://compare").map_err(text)?;
            let sender = tokio::spawn(async move {
                let payload = vec![0u8; size];
                for _ in 0..count {
                    push.send(Bytes::copy_from_slice(&payload)).await?;
                }
                push.close().await;
                Ok::<_, purezmq::Error>(())
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
            Ok(elapsed)
        })
    }

    fn publish(&self, bind: &Bind, size: usize, count: usize, ready: Ready) -> Result<(), String> {
        runtime()?.block_on(async {
            let options = Options {
                xpub_nodrop: true,
                ..Options::default()
            };
            let publisher = socket(SocketType::Pub, options)?;
            publisher.bind(&bind.zmq_endpoint()).map_err(text)?;
            ready(&publisher.last_endpoint(), None);
            while !control::go() {
                publisher
                    .send(Bytes::from_static(WARM_UP))
                    .await
                    .map_err(text)?;
                tokio::time::sleep(MARKER_INTERVAL).await;
            }
            let payload = vec![0u8; size];
            for _ in 0..count {
                publisher
                    .send(Bytes::copy_from_slice(&payload))
                    .await
                    .map_err(text)?;
            }
            while !control::stopped() {
                // The SUBs may be gone already: never wait for them.
                let _ = publisher.try_send(Bytes::from_static(END));
                tokio::time::sleep(MARKER_INTERVAL).await;
            }
            publisher
                .set_options(|o| o.linger = Some(Duration::ZERO))
                .map_err(text)?;
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
            let sub = Socket::new(SocketType::Sub);
            sub.subscribe("").map_err(text)?;
            sub.connect(endpoint).map_err(text)?;
            let mut report = SubReport::default();
            let mut announced = false;
            while report.received < count {
                let message = sub.recv().await.map_err(text)?;
                let body = message.frames().first().cloned().unwrap_or_default();
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
                check_size(message.size(), size)?;
                report.last_ns = measure::monotonic_ns();
                if report.received == 0 {
                    report.first_ns = report.last_ns;
                }
                report.received += 1;
            }
            sub.set_options(|o| o.linger = Some(Duration::ZERO))
                .map_err(text)?;
            sub.close().await;
            Ok(report)
        })
    }

    fn echo(&self, pattern: Pattern, bind: &Bind, ready: Ready) -> Result<u64, String> {
        runtime()?.block_on(async {
            let kind = match pattern {
                Pattern::ReqRep => SocketType::Rep,
                Pattern::DealerRouter => SocketType::Router,
            };
            let server = Socket::new(kind);
            server.bind(&bind.zmq_endpoint()).map_err(text)?;
            ready(&server.last_endpoint(), None);
            let mut echoed = 0;
            loop {
                let message = server.recv().await.map_err(text)?;
                let last = message.frames().last().map_or(0, Bytes::len);
                server.send(message).await.map_err(text)?;
                echoed += 1;
                if last == 0 {
                    break;
                }
            }
            server.close().await;
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
            let client = Socket::new(kind);
            client.connect(endpoint).map_err(text)?;
            let payload = vec![0u8; size];
            for _ in 0..warmup {
                client
                    .send(Bytes::copy_from_slice(&payload))
                    .await
                    .map_err(text)?;
                check_size(client.recv().await.map_err(text)?.size(), size)?;
            }
            let mut round_trips = Vec::with_capacity(100_000);
            let start = Instant::now();
            while start.elapsed() < duration {
                let sent = Instant::now();
                client
                    .send(Bytes::copy_from_slice(&payload))
                    .await
                    .map_err(text)?;
                let reply = client.recv().await.map_err(text)?;
                round_trips.push(sent.elapsed().as_nanos() as u64);
                check_size(reply.size(), size)?;
            }
            client.send(Bytes::new()).await.map_err(text)?;
            client.recv().await.map_err(text)?;
            client.close().await;
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
            let router = Socket::new(SocketType::Router);
            router.bind(&bind.zmq_endpoint()).map_err(text)?;
            ready(&router.last_endpoint(), None);
            let until = tokio::time::Instant::now() + deadline;
            let mut peers = Vec::with_capacity(expect);
            let mut last_peer = None;
            while peers.len() < expect {
                let wait = next_peer_deadline(until, last_peer);
                match tokio::time::timeout_at(wait, router.recv()).await {
                    Err(_) => break,
                    Ok(message) => {
                        let message = message.map_err(text)?;
                        if message.frames().get(1).map(|f| &f[..]) == Some(HELLO) {
                            peers.push(message.frames()[0].clone());
                            last_peer = Some(tokio::time::Instant::now());
                        }
                    }
                }
            }
            connected(peers.len());
            for peer in peers {
                let reply = Message::from_iter([peer, Bytes::from_static(BYE)]);
                // A peer that went away is the client's to report, not a reason
                // to drop every other connection.
                let _ = router.send(reply).await;
            }
            control::wait_stop_async().await;
            router
                .set_options(|o| o.linger = Some(Duration::ZERO))
                .map_err(text)?;
            router.close().await;
            Ok(())
        })
    }

    fn proxy(&self, device: Device, endpoint: &str, ready: Ready) -> Result<(), String> {
        let runtime = runtime()?;
        let result = runtime.block_on(async {
            let bind = Bind::Tcp.zmq_endpoint();
            let (frontend, backend, bound) = match device {
                Device::Streamer => {
                    let frontend = Socket::new(SocketType::Pull);
                    let backend = Socket::new(SocketType::Push);
                    backend.connect(endpoint).map_err(text)?;
                    frontend.bind(&bind).map_err(text)?;
                    let bound = frontend.last_endpoint();
                    (frontend, backend, bound)
                }
                Device::Forwarder => {
                    let frontend = Socket::new(SocketType::XSub);
                    let options = Options {
                        xpub_nodrop: true,
                        ..Options::default()
                    };
                    let backend = socket(SocketType::XPub, options)?;
                    frontend.connect(endpoint).map_err(text)?;
                    backend.bind(&bind).map_err(text)?;
                    let bound = backend.last_endpoint();
                    (frontend, backend, bound)
                }
            };
            ready(&bound, None);
            proxy_until_stopped(frontend, backend).await
        });
        runtime.shutdown_background();
        result
    }

    fn broker(&self, broker: Broker, ready: BrokerReady) -> Result<(), String> {
        let runtime = runtime()?;
        let result = runtime.block_on(async {
            let bind = Bind::Tcp.zmq_endpoint();
            match broker {
                Broker::Queue => {
                    let frontend = Socket::new(SocketType::Router);
                    let backend = Socket::new(SocketType::Dealer);
                    frontend.bind(&bind).map_err(text)?;
                    backend.bind(&bind).map_err(text)?;
                    ready(&frontend.last_endpoint(), Some(&backend.last_endpoint()));
                    proxy_until_stopped(frontend, backend).await
                }
                Broker::LoadBalancer => {
                    let frontend = Socket::new(SocketType::Router);
                    let backend = Socket::new(SocketType::Router);
                    frontend.bind(&bind).map_err(text)?;
                    backend.bind(&bind).map_err(text)?;
                    ready(&frontend.last_endpoint(), Some(&backend.last_endpoint()));
                    tokio::select! {
                        result = load_balance(&frontend, &backend) => result,
                        () = control::wait_stop_async() => Ok(()),
                    }
                }
                Broker::Majordomo => majordomo_until_stopped(&bind, ready).await,
            }
        });
        runtime.shutdown_background();
        result
    }
}

/// Runs `purezmq_broker::proxy::Proxy` between `frontend` and `backend` until
/// `STOP`.
async fn proxy_until_stopped(frontend: Socket, backend: Socket) -> Result<(), String> {
    let proxy = Proxy::new(frontend, backend);
    let handle = proxy.handle();
    let run = proxy.run();
    tokio::pin!(run);
    tokio::select! {
        result = &mut run => Err(match result {
            Ok(()) => "the proxy stopped before the run ended".to_owned(),
            Err(e) => e.to_string(),
        }),
        () = control::wait_stop_async() => {
            handle.terminate();
            // It stops at once; the run is over either way.
            let _ = tokio::time::timeout(Duration::from_secs(1), run).await;
            Ok(())
        }
    }
}

/// The most messages a load-balancing queue takes from a socket at once.
const LOAD_BALANCER_BATCH: usize = 1000;

/// The guide's load-balancing broker over purezmq sockets, in batches as purezmq's
/// Majordomo broker works: a worker says `[empty, READY]` once, then echoes; each
/// gets one request at a time, the least recently used idle worker first, and a
/// request waits in the frontend's queue while no worker is idle. The frontend
/// ROUTER receives `[client, empty, body]`, a worker `[empty, client, empty, body]`.
async fn load_balance(frontend: &Socket, backend: &Socket) -> Result<(), String> {
    let mut idle: VecDeque<Bytes> = VecDeque::new();
    let (mut replies, mut requests) = (VecDeque::new(), VecDeque::new());
    let (mut to_clients, mut to_workers) = (VecDeque::new(), VecDeque::new());
    loop {
        tokio::select! {
            received = backend.recv_batch(&mut replies, LOAD_BALANCER_BATCH) => {
                received.map_err(text)?;
                for reply in replies.drain(..) {
                    let mut frames = reply.into_frames().into_iter();
                    let Some(worker) = frames.next() else { continue };
                    idle.push_back(worker);
                    // [empty, READY] says hello; [empty, client, empty, body] replies.
                    let rest: Vec<Bytes> = frames.skip(1).collect();
                    if rest.len() > 1 {
                        to_clients.push_back(Message::from(rest));
                    }
                }
            }
            received = frontend.recv_batch(&mut requests, idle.len()), if !idle.is_empty() => {
                received.map_err(text)?;
                for request in requests.drain(..) {
                    let Some(worker) = idle.pop_front() else { break };
                    let mut frames = vec![worker, Bytes::new()];
                    frames.extend(request.into_frames());
                    to_workers.push_back(Message::from(frames));
                }
            }
        }
        send_all(frontend, &mut to_clients)?;
        send_all(backend, &mut to_workers)?;
    }
}

/// Sends `queue` through a ROUTER, which never waits (a message for a peer that
/// is gone or at its HWM is dropped).
fn send_all(router: &Socket, queue: &mut VecDeque<Message>) -> Result<(), String> {
    while !queue.is_empty() {
        match router.try_send_batch(queue) {
            Ok(_) if queue.is_empty() => {}
            Ok(_) => return Err("a ROUTER would block".to_owned()),
            Err(e) if matches!(e.error, purezmq::Error::Closed) => return Err(text(e.error)),
            // Another refusal drops that message only.
            Err(_) => {}
        }
    }
    Ok(())
}

/// Runs `purezmq_broker::broker` with its default configuration, bound to `bind`,
/// until `STOP`.
async fn majordomo_until_stopped(bind: &str, ready: BrokerReady<'_>) -> Result<(), String> {
    let broker = MajordomoBroker::new(BrokerConfig::default())
        .bind(bind)
        .spawn()
        .map_err(|e| e.to_string())?;
    let endpoint = broker
        .endpoints()
        .first()
        .cloned()
        .ok_or("the broker bound no endpoint")?;
    ready(&endpoint, None);
    while !control::stopped() {
        if broker.is_finished() {
            return Err(match broker.join().await {
                Ok(()) => "the broker stopped before the run ended".to_owned(),
                Err(e) => e.to_string(),
            });
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    broker.shutdown();
    // It stops at once; the run is over either way.
    let _ = tokio::time::timeout(Duration::from_secs(1), broker.join()).await;
    Ok(())
}
