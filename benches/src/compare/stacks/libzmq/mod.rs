//! libzmq's roles, written once over [`Api`]: the handful of libzmq calls they need.
//!
//! Two builds implement it: [`vendored`] (libzmq 4.3.4 as the `zmq` crate builds and
//! links it) and [`dynamic`] (libzmq 4.3.5 from pyzmq's wheel, loaded at run time).
//! Each role uses one context with libzmq's default single I/O thread and blocking
//! calls, as libzmq's own perf tools do.

use std::time::{Duration, Instant};

use super::{
    BYE, Bind, Broker, BrokerReady, Device, END, HELLO, MARKER_INTERVAL, Pattern, QUIET, Ready,
    Roles, SubReport, WARM_UP, check_size,
};
use crate::compare::{control, measure};

pub mod dynamic;
pub mod ffi;
pub mod vendored;

/// The socket types the roles use.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// `ZMQ_PUB`.
    Pub,
    /// `ZMQ_SUB`.
    Sub,
    /// `ZMQ_REQ`.
    Req,
    /// `ZMQ_REP`.
    Rep,
    /// `ZMQ_DEALER`.
    Dealer,
    /// `ZMQ_ROUTER`.
    Router,
    /// `ZMQ_PULL`.
    Pull,
    /// `ZMQ_PUSH`.
    Push,
    /// `ZMQ_XPUB`.
    XPub,
    /// `ZMQ_XSUB`.
    XSub,
}

impl Kind {
    /// The `ZMQ_*` constant of zmq.h.
    pub fn raw(self) -> i32 {
        match self {
            Kind::Pub => 1,
            Kind::Sub => 2,
            Kind::Req => 3,
            Kind::Rep => 4,
            Kind::Dealer => 5,
            Kind::Router => 6,
            Kind::Pull => 7,
            Kind::Push => 8,
            Kind::XPub => 9,
            Kind::XSub => 10,
        }
    }
}

/// The socket options the roles set.
#[derive(Clone, Copy, Debug)]
pub enum IntOption {
    /// `ZMQ_LINGER`, milliseconds.
    Linger,
    /// `ZMQ_RCVTIMEO`, milliseconds.
    RcvTimeo,
    /// `ZMQ_XPUB_NODROP`: a PUB blocks instead of dropping at HWM.
    XpubNodrop,
    /// `ZMQ_CURVE_SERVER`.
    CurveServer,
    /// `ZMQ_BACKLOG`.
    Backlog,
}

impl IntOption {
    /// The `ZMQ_*` constant of zmq.h.
    pub fn raw(self) -> i32 {
        match self {
            IntOption::Linger => 17,
            IntOption::RcvTimeo => 27,
            IntOption::XpubNodrop => 69,
            IntOption::CurveServer => 47,
            IntOption::Backlog => 19,
        }
    }
}

/// The byte-string socket options the roles set.
#[derive(Clone, Copy, Debug)]
pub enum BytesOption {
    /// `ZMQ_SUBSCRIBE`.
    Subscribe,
    /// `ZMQ_CURVE_PUBLICKEY` (Z85).
    CurvePublicKey,
    /// `ZMQ_CURVE_SECRETKEY` (Z85).
    CurveSecretKey,
    /// `ZMQ_CURVE_SERVERKEY` (Z85).
    CurveServerKey,
}

impl BytesOption {
    /// The `ZMQ_*` constant of zmq.h.
    pub fn raw(self) -> i32 {
        match self {
            BytesOption::Subscribe => 6,
            BytesOption::CurvePublicKey => 48,
            BytesOption::CurveSecretKey => 49,
            BytesOption::CurveServerKey => 50,
        }
    }
}

/// The libzmq calls the roles make: one context, its sockets and messages.
pub trait Api: Send + Sync + 'static {
    /// A socket of this context.
    type Socket: Send + 'static;
    /// A received message (`zmq_msg_t`).
    type Msg;

    /// `zmq_socket`.
    fn socket(&self, kind: Kind) -> Result<Self::Socket, String>;
    /// `zmq_setsockopt` with an `int`.
    fn set_int(
        &self,
        socket: &mut Self::Socket,
        option: IntOption,
        value: i32,
    ) -> Result<(), String>;
    /// `zmq_setsockopt` with bytes.
    fn set_bytes(
        &self,
        socket: &mut Self::Socket,
        option: BytesOption,
        value: &[u8],
    ) -> Result<(), String>;
    /// `zmq_bind`, then `ZMQ_LAST_ENDPOINT`.
    fn bind(&self, socket: &mut Self::Socket, endpoint: &str) -> Result<String, String>;
    /// `zmq_connect`.
    fn connect(&self, socket: &mut Self::Socket, endpoint: &str) -> Result<(), String>;
    /// `zmq_send` of one frame, `ZMQ_SNDMORE` if `more`.
    fn send(&self, socket: &mut Self::Socket, data: &[u8], more: bool) -> Result<(), String>;
    /// `zmq_msg_recv` of one frame; `None` when RCVTIMEO passed.
    fn recv(&self, socket: &mut Self::Socket) -> Result<Option<Self::Msg>, String>;
    /// `zmq_msg_send` of a received frame, `ZMQ_SNDMORE` if `more`.
    fn send_msg(&self, socket: &mut Self::Socket, msg: Self::Msg, more: bool)
    -> Result<(), String>;
    /// `zmq_msg_data` and `zmq_msg_size`.
    fn data<'m>(&self, msg: &'m Self::Msg) -> &'m [u8];
    /// `zmq_msg_more`.
    fn more(&self, msg: &Self::Msg) -> bool;
    /// `zmq_close`.
    fn close(&self, socket: Self::Socket);
    /// `zmq_curve_keypair`: (public, secret) in Z85, or why CURVE is unavailable.
    fn curve_keypair(&self) -> Result<(String, String), String>;
    /// `zmq_proxy(frontend, backend, NULL)`: forwards until the context terminates.
    fn proxy(&self, frontend: &mut Self::Socket, backend: &mut Self::Socket) -> Result<(), String>;
    /// `zmq_ctx_term`: waits for every socket's LINGER.
    fn terminate(self);
}

/// The roles of a libzmq build.
pub struct Libzmq<A> {
    context: fn() -> Result<A, String>,
    pyzmq_proxy: bool,
}

impl<A: Api> Libzmq<A> {
    /// The roles over the contexts `context` makes: each role makes one and
    /// terminates it when done.
    pub fn new(context: fn() -> Result<A, String>) -> Libzmq<A> {
        Libzmq {
            context,
            pyzmq_proxy: false,
        }
    }

    /// The same, with pyzmq's `zmq.proxy` in a Python process as the proxy role
    /// (for the libzmq pyzmq ships: the proxy as Python programs run it).
    pub fn with_pyzmq_proxy(mut self) -> Libzmq<A> {
        self.pyzmq_proxy = true;
        self
    }
}

/// Receives one message and its size, checking there is no more to it.
fn recv_size<A: Api>(api: &A, socket: &mut A::Socket) -> Result<usize, String> {
    loop {
        if let Some(msg) = api.recv(socket)? {
            return Ok(api.data(&msg).len());
        }
    }
}

impl<A: Api> Roles for Libzmq<A> {
    fn pull(
        &self,
        bind: &Bind,
        size: usize,
        count: usize,
        curve: bool,
        ready: Ready,
    ) -> Result<Duration, String> {
        let api = (self.context)()?;
        let mut pull = api.socket(Kind::Pull)?;
        let mut server_key = None;
        if curve {
            let (public, secret) = api.curve_keypair()?;
            api.set_int(&mut pull, IntOption::CurveServer, 1)?;
            api.set_bytes(&mut pull, BytesOption::CurveSecretKey, secret.as_bytes())?;
            server_key = Some(public);
        }
        let endpoint = api.bind(&mut pull, &bind.zmq_endpoint())?;
        ready(&endpoint, server_key.as_deref());
        check_size(recv_size(&api, &mut pull)?, size)?;
        let start = Instant::now();
        for _ in 1..count {
            check_size(recv_size(&api, &mut pull)?, size)?;
        }
        let elapsed = start.elapsed();
        api.close(pull);
        api.terminate();
        Ok(elapsed)
    }

    fn push(
        &self,
        endpoint: &str,
        size: usize,
        count: usize,
        server_key: Option<&str>,
    ) -> Result<(), String> {
        let api = (self.context)()?;
        let mut push = api.socket(Kind::Push)?;
        if let Some(key) = server_key {
            let (public, secret) = api.curve_keypair()?;
            api.set_bytes(&mut push, BytesOption::CurveServerKey, key.as_bytes())?;
            api.set_bytes(&mut push, BytesOption::CurvePublicKey, public.as_bytes())?;
            api.set_bytes(&mut push, BytesOption::CurveSecretKey, secret.as_bytes())?;
        }
        api.connect(&mut push, endpoint)?;
        let payload = vec![0u8; size];
        for _ in 0..count {
            api.send(&mut push, &payload, false)?;
        }
        // Hold the connection until the PULL has everything (libzmq 4.3's LINGER
        // can lose the last messages over ipc when the PUSH closes at once).
        control::wait_stop();
        api.close(push);
        api.terminate();
        Ok(())
    }

    fn inproc(&self, size: usize, count: usize) -> Result<Duration, String> {
        let api = (self.context)()?;
        let mut pull = api.socket(Kind::Pull)?;
        api.bind(&mut pull, "inproc://compare")?;
        let mut push = api.socket(Kind::Push)?;
        api.connect(&mut push, "inproc://compare")?;
        let elapsed = std::thread::scope(|scope| {
            let sender = scope.spawn(|| {
                let payload = vec![0u8; size];
                for _ in 0..count {
                    api.send(&mut push, &payload, false)?;
                }
                Ok::<_, String>(push)
            });
            let received = (|| {
                check_size(recv_size(&api, &mut pull)?, size)?;
                let start = Instant::now();
                for _ in 1..count {
                    check_size(recv_size(&api, &mut pull)?, size)?;
                }
                Ok::<_, String>(start.elapsed())
            })();
            let push = sender
                .join()
                .map_err(|_| "the sending thread panicked".to_owned())??;
            api.close(push);
            received
        })?;
        api.close(pull);
        api.terminate();
        Ok(elapsed)
    }

    fn publish(&self, bind: &Bind, size: usize, count: usize, ready: Ready) -> Result<(), String> {
        let api = (self.context)()?;
        let mut publisher = api.socket(Kind::Pub)?;
        api.set_int(&mut publisher, IntOption::XpubNodrop, 1)?;
        let endpoint = api.bind(&mut publisher, &bind.zmq_endpoint())?;
        ready(&endpoint, None);
        while !control::go() {
            api.send(&mut publisher, WARM_UP, false)?;
            std::thread::sleep(MARKER_INTERVAL);
        }
        let payload = vec![0u8; size];
        for _ in 0..count {
            api.send(&mut publisher, &payload, false)?;
        }
        while !control::stopped() {
            api.send(&mut publisher, END, false)?;
            std::thread::sleep(MARKER_INTERVAL);
        }
        api.set_int(&mut publisher, IntOption::Linger, 0)?;
        api.close(publisher);
        api.terminate();
        Ok(())
    }

    fn subscribe(
        &self,
        endpoint: &str,
        size: usize,
        count: usize,
        subscribed: &mut dyn FnMut(),
    ) -> Result<SubReport, String> {
        let api = (self.context)()?;
        let mut sub = api.socket(Kind::Sub)?;
        api.set_bytes(&mut sub, BytesOption::Subscribe, b"")?;
        api.connect(&mut sub, endpoint)?;
        let mut report = SubReport::default();
        let mut announced = false;
        while report.received < count {
            let Some(msg) = api.recv(&mut sub)? else {
                continue;
            };
            let body = api.data(&msg);
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
            check_size(body.len(), size)?;
            report.last_ns = measure::monotonic_ns();
            if report.received == 0 {
                report.first_ns = report.last_ns;
            }
            report.received += 1;
        }
        api.set_int(&mut sub, IntOption::Linger, 0)?;
        api.close(sub);
        api.terminate();
        Ok(report)
    }

    fn echo(&self, pattern: Pattern, bind: &Bind, ready: Ready) -> Result<u64, String> {
        let api = (self.context)()?;
        let kind = match pattern {
            Pattern::ReqRep => Kind::Rep,
            Pattern::DealerRouter => Kind::Router,
        };
        let mut server = api.socket(kind)?;
        let endpoint = api.bind(&mut server, &bind.zmq_endpoint())?;
        ready(&endpoint, None);
        let mut echoed = 0;
        loop {
            // Echo every frame of the request (a ROUTER's routing id, then the body).
            let mut last_len;
            loop {
                let Some(frame) = api.recv(&mut server)? else {
                    continue;
                };
                let more = api.more(&frame);
                last_len = api.data(&frame).len();
                api.send_msg(&mut server, frame, more)?;
                if !more {
                    break;
                }
            }
            echoed += 1;
            if last_len == 0 {
                break;
            }
        }
        api.close(server);
        api.terminate();
        Ok(echoed)
    }

    fn ping(
        &self,
        pattern: Pattern,
        endpoint: &str,
        size: usize,
        warmup: usize,
        duration: Duration,
    ) -> Result<Vec<u64>, String> {
        let api = (self.context)()?;
        let kind = match pattern {
            Pattern::ReqRep => Kind::Req,
            Pattern::DealerRouter => Kind::Dealer,
        };
        let mut client = api.socket(kind)?;
        api.connect(&mut client, endpoint)?;
        let payload = vec![0u8; size];
        for _ in 0..warmup {
            api.send(&mut client, &payload, false)?;
            check_size(recv_size(&api, &mut client)?, size)?;
        }
        let mut round_trips = Vec::with_capacity(100_000);
        let start = Instant::now();
        while start.elapsed() < duration {
            let sent = Instant::now();
            api.send(&mut client, &payload, false)?;
            let got = recv_size(&api, &mut client)?;
            round_trips.push(sent.elapsed().as_nanos() as u64);
            check_size(got, size)?;
        }
        api.send(&mut client, b"", false)?;
        recv_size(&api, &mut client)?;
        api.close(client);
        api.terminate();
        Ok(round_trips)
    }

    fn idle_router(
        &self,
        bind: &Bind,
        expect: usize,
        deadline: Duration,
        ready: Ready,
        connected: &mut dyn FnMut(usize),
    ) -> Result<(), String> {
        let api = (self.context)()?;
        let mut router = api.socket(Kind::Router)?;
        // The idle client connects many peers at once; libzmq's default backlog
        // is 100.
        api.set_int(&mut router, IntOption::Backlog, 1024)?;
        api.set_int(&mut router, IntOption::RcvTimeo, 100)?;
        let endpoint = api.bind(&mut router, &bind.zmq_endpoint())?;
        ready(&endpoint, None);
        let until = Instant::now() + deadline;
        let mut peers: Vec<Vec<u8>> = Vec::with_capacity(expect);
        let mut last_peer: Option<Instant> = None;
        while peers.len() < expect && Instant::now() < until {
            if last_peer.is_some_and(|last| last.elapsed() > QUIET) {
                break;
            }
            let Some(id) = api.recv(&mut router)? else {
                continue;
            };
            let id_bytes = api.data(&id).to_vec();
            let body = loop {
                if let Some(body) = api.recv(&mut router)? {
                    break body;
                }
            };
            if api.data(&body) == HELLO {
                peers.push(id_bytes);
                last_peer = Some(Instant::now());
            }
        }
        connected(peers.len());
        for peer in &peers {
            // A peer that went away is the client's to report, not a reason to
            // drop every other connection.
            if api.send(&mut router, peer, true).is_ok() {
                let _ = api.send(&mut router, BYE, false);
            }
        }
        control::wait_stop();
        api.set_int(&mut router, IntOption::Linger, 0)?;
        api.close(router);
        api.terminate();
        Ok(())
    }

    fn proxy(&self, device: Device, endpoint: &str, ready: Ready) -> Result<(), String> {
        if self.pyzmq_proxy {
            return crate::compare::pyzmq::proxy(device, endpoint, ready);
        }
        let api = (self.context)()?;
        let bind = Bind::Tcp.zmq_endpoint();
        let (frontend, backend, bound) = match device {
            Device::Streamer => {
                let mut frontend = api.socket(Kind::Pull)?;
                let mut backend = api.socket(Kind::Push)?;
                api.connect(&mut backend, endpoint)?;
                let bound = api.bind(&mut frontend, &bind)?;
                (frontend, backend, bound)
            }
            Device::Forwarder => {
                let mut frontend = api.socket(Kind::XSub)?;
                let mut backend = api.socket(Kind::XPub)?;
                api.set_int(&mut backend, IntOption::XpubNodrop, 1)?;
                api.connect(&mut frontend, endpoint)?;
                let bound = api.bind(&mut backend, &bind)?;
                (frontend, backend, bound)
            }
        };
        ready(&bound, None);
        forward_until_stopped(api, frontend, backend)
    }

    fn broker(&self, broker: Broker, ready: BrokerReady) -> Result<(), String> {
        if broker != Broker::Queue {
            return Err(format!("no {} here: libzmq's is zmq_proxy", broker.key()));
        }
        let api = (self.context)()?;
        let bind = Bind::Tcp.zmq_endpoint();
        let mut frontend = api.socket(Kind::Router)?;
        let mut backend = api.socket(Kind::Dealer)?;
        let clients = api.bind(&mut frontend, &bind)?;
        let workers = api.bind(&mut backend, &bind)?;
        ready(&clients, Some(&workers));
        forward_until_stopped(api, frontend, backend)
    }
}

/// Runs `zmq_proxy` between `frontend` and `backend` on a thread of its own until
/// `STOP`.
fn forward_until_stopped<A: Api>(
    api: A,
    mut frontend: A::Socket,
    mut backend: A::Socket,
) -> Result<(), String> {
    let forwarding = std::thread::spawn(move || api.proxy(&mut frontend, &mut backend));
    while !control::stopped() {
        if forwarding.is_finished() {
            return match forwarding.join() {
                Ok(Err(e)) => Err(e),
                Ok(Ok(())) => Err("zmq_proxy returned before the run ended".to_owned()),
                Err(_) => Err("the zmq_proxy thread panicked".to_owned()),
            };
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    // zmq_proxy returns only once its context terminates, which would wait for
    // the sockets the proxy holds: the worker exits with it still running.
    Ok(())
}
