//! Transports: tcp and ipc streams driven by engines, and inproc pipes between two
//! sockets of this process.
//!
//! A bind starts a listener task that accepts in a loop and runs an engine per
//! connection. A connect starts a connecter task that dials, runs the engine, and
//! dials again after RECONNECT_IVL (doubling up to RECONNECT_IVL_MAX) whenever the
//! connection fails or ends.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::Duration;

use bytes::Bytes;
use purezmq_zmtp::SocketType;
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio_util::sync::CancellationToken;

use crate::core::{Core, next_peer_id};
use crate::endpoint::{Endpoint, Host, IpcEndpoint, Port, TcpEndpoint};
use crate::engine;
use crate::error::Error;
use crate::monitor::EventKind;
use crate::options::Options;
use crate::pipe::{End, Pipe};

/// What a bind or connect left running, to stop on unbind or disconnect.
pub(crate) struct Handle {
    /// The endpoint as given, and as resolved (`tcp://127.0.0.1:41234`).
    pub(crate) given: String,
    pub(crate) resolved: String,
    pub(crate) bound: bool,
    pub(crate) cancel: CancellationToken,
    /// Peers made by this connect (a connect's own peer, inproc peers).
    pub(crate) peers: Vec<u64>,
    /// An ipc path to remove when the bind goes.
    pub(crate) ipc_path: Option<PathBuf>,
    /// An inproc name to unregister when the bind goes.
    pub(crate) inproc_name: Option<String>,
}

impl Handle {
    /// Removes the file of an ipc bind, and the directory `ipc://*` made for it.
    pub(crate) fn remove_ipc_file(&self) {
        let Some(path) = &self.ipc_path else {
            return;
        };
        let _ = std::fs::remove_file(path);
        if self.given == "ipc://*"
            && let Some(dir) = path.parent()
        {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Binds `endpoint`; needs a tokio runtime.
pub(crate) fn bind(core: &Arc<Core>, given: &str, endpoint: Endpoint) -> Result<Handle, Error> {
    let options = core.options();
    let cancel = CancellationToken::new();
    let mut handle = Handle {
        given: given.to_owned(),
        resolved: String::new(),
        bound: true,
        cancel: cancel.clone(),
        peers: Vec::new(),
        ipc_path: None,
        inproc_name: None,
    };
    match endpoint {
        Endpoint::Tcp(tcp) => {
            let listener = bind_tcp(&tcp, &options).map_err(|source| Error::Bind {
                endpoint: given.to_owned(),
                source,
            })?;
            let local = listener.local_addr()?;
            handle.resolved = format!("tcp://{local}");
            let listener = Listener::Tcp(TcpListener::from_std(listener)?, options.tcp_keepalive);
            spawn_listener(core, handle.resolved.clone(), cancel, listener);
        }
        Endpoint::Ipc(ipc) => {
            let (listener, name, path) = bind_ipc(&ipc).map_err(|source| Error::Bind {
                endpoint: given.to_owned(),
                source,
            })?;
            handle.resolved = format!("ipc://{name}");
            handle.ipc_path = path;
            spawn_listener(
                core,
                handle.resolved.clone(),
                cancel,
                Listener::Ipc(listener),
            );
        }
        Endpoint::Inproc(name) => {
            handle.resolved = format!("inproc://{name}");
            inproc_bind(core, &name)?;
            handle.inproc_name = Some(name);
        }
    }
    core.monitors.emit(EventKind::Listening, &handle.resolved);
    Ok(handle)
}

/// Connects to `endpoint`; needs a tokio runtime.
pub(crate) fn connect(core: &Arc<Core>, given: &str, endpoint: Endpoint) -> Result<Handle, Error> {
    let options = core.options();
    let cancel = CancellationToken::new();
    let mut handle = Handle {
        given: given.to_owned(),
        resolved: endpoint.to_string(),
        bound: false,
        cancel: cancel.clone(),
        peers: Vec::new(),
        ipc_path: None,
        inproc_name: None,
    };
    if let Endpoint::Inproc(name) = &endpoint {
        handle.peers.push(inproc_connect(core, name)?);
        return Ok(handle);
    }
    // Without IMMEDIATE the peer exists from now on and messages queue for it; a
    // ROUTER learns its peers' routing ids only from their handshakes.
    let mut peer_hint = None;
    if !options.immediate && core.socket_type != SocketType::Router {
        let (id, _, _) = core.add_connecting_peer();
        handle.peers.push(id);
        peer_hint = Some(id);
    } else if core.socket_type == SocketType::Router
        && let Some(routing_id) = options.connect_routing_id.clone()
    {
        // Claimed by this connect's handshakes.
        let id = next_peer_id();
        core.lock().connect_routing_ids.insert(id, routing_id);
        handle.peers.push(id);
        peer_hint = Some(id);
    }
    let resolved = handle.resolved.clone();
    match endpoint {
        Endpoint::Tcp(tcp) => {
            if matches!(tcp.host(), Host::Any) || matches!(tcp.port(), Port::Any) {
                return Err(Error::Resolve {
                    endpoint: given.to_owned(),
                    reason: "a connect needs a host and port, not \"*\"".into(),
                });
            }
            let keepalive = options.tcp_keepalive;
            let ipv6 = options.ipv6;
            spawn_connecter(core, resolved, peer_hint, cancel, move || {
                let tcp = tcp.clone();
                async move {
                    let stream = dial_tcp(&tcp, ipv6).await?;
                    configure_tcp(&stream, keepalive);
                    Ok(stream)
                }
            });
        }
        Endpoint::Ipc(ipc) => {
            spawn_connecter(core, resolved, peer_hint, cancel, move || {
                let ipc = ipc.clone();
                async move { dial_ipc(&ipc) }
            });
        }
        Endpoint::Inproc(_) => unreachable!("handled above"),
    }
    Ok(handle)
}

/// Stops what a bind or connect started.
pub(crate) fn stop(core: &Arc<Core>, handle: Handle) {
    handle.cancel.cancel();
    handle.remove_ipc_file();
    if let Some(name) = &handle.inproc_name {
        inproc_unbind(core, name);
    }
    for peer in handle.peers {
        core.forget_connect_routing_id(peer);
        core.discard_inbound(peer);
        if let Some((other, id)) = core.detach(peer)
            && let Some(other) = other.upgrade()
        {
            other.detach(id);
        }
    }
    if handle.bound {
        core.monitors.emit(EventKind::Closed, &handle.resolved);
    }
}

/// What a bind accepts on.
enum Listener {
    Tcp(TcpListener, Option<bool>),
    Ipc(UnixListener),
}

fn spawn_listener(
    core: &Arc<Core>,
    endpoint: String,
    cancel: CancellationToken,
    listener: Listener,
) {
    let core2 = Arc::clone(core);
    core.tasks.spawn(async move {
        let core = core2;
        loop {
            let accepted = tokio::select! {
                accepted = accept(&listener) => accepted,
                () = cancel.cancelled() => return,
                () = core.shutdown.cancelled() => return,
            };
            match accepted {
                Ok(start) => {
                    core.monitors.emit(EventKind::Accepted, &endpoint);
                    let engine = start(Arc::clone(&core), endpoint.clone(), cancel.child_token());
                    core.tasks.spawn(engine);
                }
                Err(e) => {
                    core.monitors
                        .emit(EventKind::AcceptFailed(e.to_string()), &endpoint);
                    // Out of file descriptors, say: do not spin.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    });
}

type BoxedEngine = std::pin::Pin<Box<dyn Future<Output = engine::Outcome> + Send>>;
type EngineStarter = Box<dyn FnOnce(Arc<Core>, String, CancellationToken) -> BoxedEngine + Send>;

/// Accepts one connection; returns how to start its engine.
async fn accept(listener: &Listener) -> io::Result<EngineStarter> {
    fn starter<S: engine::Stream>(stream: S, address: String) -> EngineStarter {
        Box::new(move |core, endpoint, kill| {
            Box::pin(engine::run(stream, core, endpoint, address, None, kill))
        })
    }
    match listener {
        Listener::Tcp(listener, keepalive) => {
            let (stream, address) = listener.accept().await?;
            configure_tcp(&stream, *keepalive);
            Ok(starter(stream, address.ip().to_string()))
        }
        Listener::Ipc(listener) => {
            let stream = listener.accept().await?.0;
            configure_ipc(&stream);
            Ok(starter(stream, String::new()))
        }
    }
}

fn spawn_connecter<S, F, Fut>(
    core: &Arc<Core>,
    endpoint: String,
    peer_hint: Option<u64>,
    cancel: CancellationToken,
    dial: F,
) where
    S: engine::Stream,
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = io::Result<S>> + Send,
{
    let core2 = Arc::clone(core);
    core.tasks.spawn(async move {
        let core = core2;
        let options = core.options();
        let mut interval = options.reconnect_ivl;
        let mut stop = Stop {
            cancel: cancel.clone(),
            core: Arc::clone(&core),
            peer: peer_hint,
            linger: options.linger,
            lingering: None,
        };
        loop {
            let dialed = tokio::select! {
                dialed = dial() => dialed,
                () = stop.stopped() => return,
            };
            match dialed {
                Ok(stream) => {
                    core.monitors.emit(EventKind::Connected, &endpoint);
                    let kill = cancel.child_token();
                    let outcome = engine::run(
                        stream,
                        Arc::clone(&core),
                        endpoint.clone(),
                        String::new(),
                        peer_hint,
                        kill,
                    )
                    .await;
                    if outcome.handshaken {
                        interval = options.reconnect_ivl;
                    }
                }
                Err(_) => core.monitors.emit(EventKind::ConnectDelayed, &endpoint),
            }
            if stop.is_stopped() {
                return;
            }
            let Some(wait) = interval.filter(|ivl| !ivl.is_zero()) else {
                // Reconnecting is off: as in libzmq the connect ends here, and its
                // peer goes with whatever was queued for it.
                if let Some(peer) = peer_hint {
                    core.detach(peer);
                }
                return;
            };
            core.monitors
                .emit(EventKind::ConnectRetried(wait), &endpoint);
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = stop.stopped() => return,
            }
            if let Some(max) = options.reconnect_ivl_max
                && max > wait
            {
                interval = Some((wait * 2).min(max));
            }
        }
    });
}

/// When a connecter stops: when its connect is cancelled, or when the socket closes,
/// unless the connect still holds messages; then it goes on dialling to deliver
/// them for as long as LINGER allows, as in libzmq.
struct Stop {
    cancel: CancellationToken,
    core: Arc<Core>,
    peer: Option<u64>,
    linger: Option<Duration>,
    /// Since the socket closed: until when the connect lingers (`None`: no limit).
    lingering: Option<Option<tokio::time::Instant>>,
}

impl Stop {
    /// Whether the connecter should stop now.
    fn is_stopped(&mut self) -> bool {
        if self.cancel.is_cancelled() {
            return true;
        }
        if !self.core.shutdown.is_cancelled() {
            return false;
        }
        let until = *self
            .lingering
            .get_or_insert_with(|| self.linger.map(|l| tokio::time::Instant::now() + l));
        until.is_some_and(|at| tokio::time::Instant::now() >= at) || !self.core.lingers(self.peer)
    }

    /// Resolves when the connecter should stop. Cancel-safe: what it learnt stays.
    async fn stopped(&mut self) {
        loop {
            if self.is_stopped() {
                return;
            }
            match self.lingering {
                None => tokio::select! {
                    () = self.cancel.cancelled() => {}
                    () = self.core.shutdown.cancelled() => {}
                },
                Some(until) => tokio::select! {
                    () = self.cancel.cancelled() => {}
                    () = sleep_until(until) => {}
                },
            }
        }
    }
}

/// Sleeps until `until`, or for ever.
async fn sleep_until(until: Option<tokio::time::Instant>) {
    match until {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn configure_tcp(stream: &TcpStream, keepalive: Option<bool>) {
    let _ = stream.set_nodelay(true);
    if let Some(on) = keepalive {
        let _ = socket2::SockRef::from(stream).set_keepalive(on);
    }
}

fn bind_tcp(tcp: &TcpEndpoint, options: &Options) -> io::Result<std::net::TcpListener> {
    let port = tcp.port().to_u16();
    let addresses: Vec<SocketAddr> = match tcp.host() {
        Host::Any if options.ipv6 => {
            vec![SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, port))]
        }
        Host::Any => vec![SocketAddr::from((std::net::Ipv4Addr::UNSPECIFIED, port))],
        Host::Ip(ip) => vec![SocketAddr::new(*ip, port)],
        Host::Name(name) => {
            use std::net::ToSocketAddrs;
            (name.as_str(), port)
                .to_socket_addrs()?
                .filter(|a| options.ipv6 || a.is_ipv4())
                .collect()
        }
    };
    let mut last = io::Error::new(io::ErrorKind::AddrNotAvailable, "no address to bind to");
    for address in addresses {
        let socket = socket2::Socket::new(
            socket2::Domain::for_address(address),
            socket2::Type::STREAM,
            Some(socket2::Protocol::TCP),
        )?;
        if address.is_ipv6() {
            let _ = socket.set_only_v6(false);
        }
        socket.set_reuse_address(true)?;
        socket.set_nonblocking(true)?;
        match socket
            .bind(&address.into())
            .and_then(|()| socket.listen(1024))
        {
            Ok(()) => return Ok(socket.into()),
            Err(e) => last = e,
        }
    }
    Err(last)
}

async fn dial_tcp(tcp: &TcpEndpoint, ipv6: bool) -> io::Result<TcpStream> {
    let port = tcp.port().to_u16();
    let addresses: Vec<SocketAddr> = match tcp.host() {
        Host::Ip(ip) => vec![SocketAddr::new(*ip, port)],
        Host::Name(name) => tokio::net::lookup_host((name.as_str(), port))
            .await?
            .filter(|a| ipv6 || a.is_ipv4())
            .collect(),
        Host::Any => Vec::new(),
    };
    let mut last = io::Error::new(io::ErrorKind::AddrNotAvailable, "the host has no address");
    for address in addresses {
        let socket = if address.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        if let Some(source) = tcp.source() {
            let ip = match source.host() {
                Host::Ip(ip) => *ip,
                _ if address.is_ipv4() => std::net::Ipv4Addr::UNSPECIFIED.into(),
                _ => std::net::Ipv6Addr::UNSPECIFIED.into(),
            };
            socket.set_reuseaddr(true)?;
            socket.bind(SocketAddr::new(ip, source.port().to_u16()))?;
        }
        match socket.connect(address).await {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Binds a Unix socket; returns it, its name for last_endpoint, and the path to
/// remove later.
fn bind_ipc(ipc: &IpcEndpoint) -> io::Result<(UnixListener, String, Option<PathBuf>)> {
    match ipc {
        IpcEndpoint::Path(path) => {
            // As libzmq: a file left by an earlier process is replaced.
            let _ = std::fs::remove_file(path);
            let listener = UnixListener::bind(path)?;
            Ok((listener, path.display().to_string(), Some(path.clone())))
        }
        IpcEndpoint::Any => {
            let dir = std::env::temp_dir().join(format!(
                "purezmq-{}-{:08x}",
                std::process::id(),
                rand::random::<u32>()
            ));
            std::fs::create_dir_all(&dir)?;
            let path = dir.join("socket");
            let listener = UnixListener::bind(&path)?;
            Ok((listener, path.display().to_string(), Some(path)))
        }
        IpcEndpoint::Abstract(name) => {
            let address = abstract_address(name)?;
            let listener = std::os::unix::net::UnixListener::bind_addr(&address)?;
            listener.set_nonblocking(true)?;
            Ok((UnixListener::from_std(listener)?, format!("@{name}"), None))
        }
    }
}

/// The send and receive buffers asked for on ipc connections. Linux's default for
/// Unix sockets (about 208 KiB) holds only three 64 KiB messages, and halves what a
/// stream of them gets through (64 KiB PUSH/PULL: 45 k msg/s with the default, 90 k
/// with this, the same as raw Unix sockets). The kernel allocates the memory only as
/// data waits in it, so idle connections cost nothing more.
const IPC_BUFFER: usize = 1024 * 1024;

fn configure_ipc(stream: &UnixStream) {
    let socket = socket2::SockRef::from(stream);
    // Only a hint: the kernel caps it at net.core.wmem_max / rmem_max.
    let _ = socket.set_send_buffer_size(IPC_BUFFER);
    let _ = socket.set_recv_buffer_size(IPC_BUFFER);
}

fn dial_ipc(ipc: &IpcEndpoint) -> io::Result<UnixStream> {
    let stream = match ipc {
        IpcEndpoint::Path(path) => std::os::unix::net::UnixStream::connect(path)?,
        IpcEndpoint::Abstract(name) => {
            std::os::unix::net::UnixStream::connect_addr(&abstract_address(name)?)?
        }
        IpcEndpoint::Any => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "ipc://* is for bind only",
            ));
        }
    };
    stream.set_nonblocking(true)?;
    let stream = UnixStream::from_std(stream)?;
    configure_ipc(&stream);
    Ok(stream)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn abstract_address(name: &str) -> io::Result<std::os::unix::net::SocketAddr> {
    #[cfg(target_os = "android")]
    use std::os::android::net::SocketAddrExt;
    #[cfg(target_os = "linux")]
    use std::os::linux::net::SocketAddrExt;
    std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn abstract_address(_name: &str) -> io::Result<std::os::unix::net::SocketAddr> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract ipc names exist only on Linux",
    ))
}

// ---- inproc ----

/// Sockets bound to inproc names, and connects waiting for their bind.
#[derive(Default)]
struct Registry {
    bound: std::collections::HashMap<String, Weak<Core>>,
    waiting: std::collections::HashMap<String, Vec<Waiting>>,
}

/// A connect that came before its bind: its pipes exist, the binder's end waits.
struct Waiting {
    connecter: Weak<Core>,
    connecter_peer: u64,
    binder_peer: u64,
    /// connecter → binder
    to_binder: Arc<Pipe>,
    /// binder → connecter
    to_connecter: Arc<Pipe>,
    routing_id: Bytes,
}

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(Mutex::default);

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// The socket bound at inproc `name` now, if any (the ZAP handler at
/// `inproc://zeromq.zap.01` is found this way).
pub(crate) fn inproc_binder(name: &str) -> Option<Weak<Core>> {
    registry()
        .bound
        .get(name)
        .filter(|c| c.strong_count() > 0)
        .cloned()
}

fn inproc_hwm(a: usize, b: usize) -> usize {
    if a == 0 || b == 0 { 0 } else { a + b }
}

fn inproc_bind(core: &Arc<Core>, name: &str) -> Result<(), Error> {
    let waiting = {
        let mut registry = registry();
        if registry
            .bound
            .get(name)
            .is_some_and(|c| c.strong_count() > 0)
        {
            return Err(Error::InprocInUse(name.to_owned()));
        }
        registry.bound.insert(name.to_owned(), Arc::downgrade(core));
        registry.waiting.remove(name).unwrap_or_default()
    };
    for w in waiting {
        let Some(connecter) = w.connecter.upgrade().filter(|c| !c.lock().closed) else {
            // The connecter closed before the bind: what it sent is still delivered
            // (it lingers), as in libzmq.
            w.to_binder.set_reader(&core.readiness);
            continue;
        };
        // As libzmq, the pipes take both sockets' HWMs now that both are known.
        let (ours, theirs) = (connecter.options(), core.options());
        w.to_binder.set_hwm(inproc_hwm(ours.sndhwm, theirs.rcvhwm));
        w.to_connecter
            .set_hwm(inproc_hwm(theirs.sndhwm, ours.rcvhwm));
        w.to_binder.set_reader(&core.readiness);
        w.to_connecter.set_writer(&core.readiness);
        let attached = core.attach_inproc(
            w.binder_peer,
            Arc::clone(&w.to_connecter),
            Arc::clone(&w.to_binder),
            w.routing_id,
            (Arc::downgrade(&connecter), w.connecter_peer),
        );
        if attached.is_ok() {
            // The connecter learns the binder's routing id (ROUTER) now.
            w.to_connecter.set_routing_id(core.options().routing_id);
            connecter.set_inproc_other(w.connecter_peer, Arc::downgrade(core), w.binder_peer);
        } else {
            connecter.detach(w.connecter_peer);
        }
    }
    Ok(())
}

fn inproc_unbind(core: &Arc<Core>, name: &str) {
    let mut registry = registry();
    if registry
        .bound
        .get(name)
        .is_some_and(|c| std::ptr::eq(c.as_ptr(), Arc::as_ptr(core)))
    {
        registry.bound.remove(name);
    }
}

/// Connects over inproc; returns the connecting socket's new peer.
fn inproc_connect(core: &Arc<Core>, name: &str) -> Result<u64, Error> {
    let ours = core.options();
    let connecter_peer = next_peer_id();
    let binder_peer = next_peer_id();
    let mut registry = registry();
    let binder = registry.bound.get(name).and_then(Weak::upgrade);
    let theirs = binder.as_ref().map(|b| b.options());
    let (to_binder_hwm, to_connecter_hwm) = match &theirs {
        Some(t) => (
            inproc_hwm(ours.sndhwm, t.rcvhwm),
            inproc_hwm(t.sndhwm, ours.rcvhwm),
        ),
        // Until the bind comes only our side is known, as in libzmq.
        None => (ours.sndhwm, ours.rcvhwm),
    };
    let end = |b: &Option<Arc<Core>>| match b {
        Some(b) => End::socket(&b.readiness),
        None => End::later(),
    };
    let to_binder = Pipe::new(
        binder_peer,
        to_binder_hwm,
        ours.conflate,
        end(&binder),
        End::socket(&core.readiness),
        Bytes::new(),
    );
    let to_connecter = Pipe::new(
        connecter_peer,
        to_connecter_hwm,
        ours.conflate,
        End::socket(&core.readiness),
        end(&binder),
        theirs
            .as_ref()
            .map(|t| t.routing_id.clone())
            .unwrap_or_default(),
    );
    let routing_id = ours.connect_routing_id.clone().unwrap_or_default();
    let our_routing_id = ours.routing_id.clone();
    match &binder {
        Some(_) => {}
        None => registry
            .waiting
            .entry(name.to_owned())
            .or_default()
            .push(Waiting {
                connecter: Arc::downgrade(core),
                connecter_peer,
                binder_peer,
                to_binder: Arc::clone(&to_binder),
                to_connecter: Arc::clone(&to_connecter),
                routing_id: our_routing_id.clone(),
            }),
    }
    drop(registry);
    let binder_weak = binder.as_ref().map(Arc::downgrade).unwrap_or_default();
    if core.socket_type == SocketType::Router && !routing_id.is_empty() {
        to_connecter.set_routing_id(routing_id);
    }
    core.attach_inproc(
        connecter_peer,
        Arc::clone(&to_binder),
        Arc::clone(&to_connecter),
        to_connecter.routing_id(),
        (binder_weak, binder_peer),
    )
    .map_err(|why| Error::Io(io::Error::other(why.to_string())))?;
    if let Some(binder) = binder
        && binder
            .attach_inproc(
                binder_peer,
                Arc::clone(&to_connecter),
                Arc::clone(&to_binder),
                our_routing_id,
                (Arc::downgrade(core), connecter_peer),
            )
            .is_err()
    {
        core.detach(connecter_peer);
    }
    Ok(connecter_peer)
}

/// Forgets this socket's inproc binds, and its waiting connects unless they hold
/// messages to deliver when the bind comes (LINGER other than zero).
pub(crate) fn inproc_forget(core: &Arc<Core>) {
    let discard = core.options().linger == Some(Duration::ZERO);
    let mut registry = registry();
    let me = Arc::as_ptr(core);
    registry.bound.retain(|_, c| !std::ptr::eq(c.as_ptr(), me));
    for waiting in registry.waiting.values_mut() {
        waiting.retain(|w| {
            !std::ptr::eq(w.connecter.as_ptr(), me) || (!discard && w.to_binder.len() > 0)
        });
    }
}
