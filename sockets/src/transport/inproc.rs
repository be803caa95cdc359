//! inproc: two sockets of this process joined by a pair of pipes, with no engine and
//! no encoding between them.
//!
//! A process-wide registry maps names to bound sockets. A connect that comes before
//! its bind parks in the registry with its pipes made and the binder's ends left to
//! fill in; the bind completes them, as in libzmq 4.x.

use std::io;
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::Duration;

use bytes::Bytes;
use purezmq_zmtp::SocketType;

use crate::core::Core;
use crate::error::Error;
use crate::peer::next_peer_id;
use crate::pipe::{End, Pipe};

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
pub(crate) fn binder(name: &str) -> Option<Weak<Core>> {
    registry()
        .bound
        .get(name)
        .filter(|c| c.strong_count() > 0)
        .cloned()
}

fn hwm(a: usize, b: usize) -> usize {
    if a == 0 || b == 0 { 0 } else { a + b }
}

pub(super) fn bind(core: &Arc<Core>, name: &str) -> Result<(), Error> {
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
        w.to_binder.set_hwm(hwm(ours.sndhwm, theirs.rcvhwm));
        w.to_connecter.set_hwm(hwm(theirs.sndhwm, ours.rcvhwm));
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

pub(super) fn unbind(core: &Arc<Core>, name: &str) {
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
pub(super) fn connect(core: &Arc<Core>, name: &str) -> Result<u64, Error> {
    let ours = core.options();
    let connecter_peer = next_peer_id();
    let binder_peer = next_peer_id();
    let mut registry = registry();
    let binder = registry.bound.get(name).and_then(Weak::upgrade);
    let theirs = binder.as_ref().map(|b| b.options());
    let (to_binder_hwm, to_connecter_hwm) = match &theirs {
        Some(t) => (hwm(ours.sndhwm, t.rcvhwm), hwm(t.sndhwm, ours.rcvhwm)),
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
pub(crate) fn forget(core: &Arc<Core>) {
    let discard = core.options().linger == Some(Duration::ZERO);
    let mut registry = registry();
    let me = Arc::as_ptr(core);
    registry.bound.retain(|_, c| !std::ptr::eq(c.as_ptr(), me));
    for waiting in registry.waiting.values_mut() {
        waiting.retain(|w| {
            !std::ptr::eq(w.connecter.as_ptr(), me) || (!discard && w.to_binder.len() > 0)
        });
    }
    // A name nobody waits on any more, and that was never bound, is not kept.
    registry.waiting.retain(|_, waiting| !waiting.is_empty());
}
