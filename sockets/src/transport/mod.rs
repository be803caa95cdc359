//! Transports: tcp ([`tcp`]) and ipc ([`ipc`]) streams driven by engines, and inproc
//! pipes between two sockets of this process ([`inproc`]).
//!
//! A bind starts a listener task that accepts in a loop and runs an engine per
//! connection. A connect starts a connecter task that dials, runs the engine, and
//! dials again after RECONNECT_IVL (doubling up to RECONNECT_IVL_MAX) whenever the
//! connection fails or ends.

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use purezmq_zmtp::SocketType;
use tokio::net::{TcpListener, UnixListener};
use tokio_util::sync::CancellationToken;

use crate::core::Core;
use crate::direct::{Link, Wire};
use crate::endpoint::{Endpoint, Host, Port};
use crate::engine;
use crate::error::Error;
use crate::monitor::EventKind;
use crate::peer::{Attached, Refused, next_peer_id};

pub(crate) mod inproc;
mod ipc;
mod tcp;

use ipc::{bind_ipc, configure_ipc, dial_ipc};
use tcp::{bind_tcp, configure_tcp, dial_tcp};

/// The engines serve a socket's core through [`engine::Host`]; the impl sits here,
/// where both are known, so that neither imports the other.
impl engine::Host for Core {
    fn socket_type(&self) -> SocketType {
        self.socket_type
    }

    fn options(&self) -> crate::options::Options {
        Core::options(self)
    }

    fn zap_handler(&self) -> Option<Arc<dyn crate::zap::ZapHandler>> {
        Core::zap_handler(self)
    }

    fn cookie_keys(&self) -> Arc<purezmq_curve::CookieKeyring> {
        Core::cookie_keys(self)
    }

    fn shutdown(&self) -> &CancellationToken {
        &self.shutdown
    }

    fn monitors(&self) -> &crate::monitor::Monitors {
        &self.monitors
    }

    fn attach_stream(
        &self,
        info: &purezmq_zmtp::PeerInfo,
        fixed: Option<u64>,
        kill: &CancellationToken,
        link: &Arc<Link>,
    ) -> Result<Attached, Refused> {
        Core::attach_stream(self, info, fixed, kill, link)
    }

    fn stream_disconnected(&self, peer: u64) {
        Core::stream_disconnected(self, peer);
    }

    fn detach(&self, peer: u64) {
        Core::detach(self, peer);
    }

    fn lingers(&self, peer: Option<u64>) -> bool {
        Core::lingers(self, peer)
    }
}

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
            inproc::bind(core, &name)?;
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
        handle.peers.push(inproc::connect(core, name)?);
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
                    Ok(Wire::Tcp(stream))
                }
            });
        }
        Endpoint::Ipc(ipc) => {
            spawn_connecter(core, resolved, peer_hint, cancel, move || {
                let ipc = ipc.clone();
                async move { dial_ipc(&ipc).map(Wire::Ipc) }
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
        inproc::unbind(core, name);
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
    fn starter(wire: Wire, address: String) -> EngineStarter {
        Box::new(move |core, endpoint, kill| {
            Box::pin(engine::run(wire, core, endpoint, address, None, kill))
        })
    }
    match listener {
        Listener::Tcp(listener, keepalive) => {
            let (stream, address) = listener.accept().await?;
            configure_tcp(&stream, *keepalive);
            Ok(starter(Wire::Tcp(stream), address.ip().to_string()))
        }
        Listener::Ipc(listener) => {
            let stream = listener.accept().await?.0;
            configure_ipc(&stream);
            Ok(starter(Wire::Ipc(stream), String::new()))
        }
    }
}

fn spawn_connecter<F, Fut>(
    core: &Arc<Core>,
    endpoint: String,
    peer_hint: Option<u64>,
    cancel: CancellationToken,
    dial: F,
) where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = io::Result<Wire>> + Send,
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
