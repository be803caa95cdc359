//! [`Context`]: what sockets are made from, and the runtime that drives them.

use std::borrow::Cow;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::task::{Poll, Wake, Waker};

use tokio::runtime::Runtime;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::SocketType;
use crate::error::{Error, Result};
use crate::socket::Socket;

/// libzmq's default number of I/O threads (`ZMQ_IO_THREADS_DFLT`).
const IO_THREADS_DEFAULT: i32 = 1;

/// The runtime under every socket of the process: libzmq's I/O thread. Users never
/// see it.
pub(crate) static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("purezmq-compat-io")
        .enable_all()
        .build()
        .expect("cannot start the purezmq I/O thread")
});

/// Runs `work` to completion on the calling thread, which blocks meanwhile, as
/// libzmq's calls block.
///
/// From async code (a tokio task calling the `zmq` API, which libzmq allows, if
/// unwisely) the runtime cannot be re-entered with `block_on`; the future is
/// polled here instead, with the I/O runtime entered for its timers.
pub(crate) fn wait<F: Future>(work: F) -> F::Output {
    if tokio::runtime::Handle::try_current().is_err() {
        return RUNTIME.block_on(work);
    }
    let _runtime = RUNTIME.enter();
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    // Unconstrained: the caller's task budget must not make it spin.
    let mut work = pin!(tokio::task::unconstrained(work));
    loop {
        if let Poll::Ready(output) = work.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::park();
    }
}

/// Runs `work`, a receive on `socket`, to completion as [`wait`] does, with the
/// calling thread waiting in the kernel on the socket's lone connection, as a
/// libzmq application thread waits in `poll`: the kernel wakes it when the message
/// arrives, not the I/O thread (see `purezmq::blocking::wait_for_receive`).
pub(crate) fn wait_receiving<F: Future>(socket: &purezmq::Socket, work: F) -> F::Output {
    if tokio::runtime::Handle::try_current().is_ok() {
        return wait(work);
    }
    let _runtime = RUNTIME.enter();
    purezmq::blocking::wait_for_receive(socket, work)
}

/// Wakes a thread parked in [`wait`].
struct Unpark(std::thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Makes sockets. Clones share one context.
///
/// As in the `zmq` crate, each socket holds a clone of its context, and the context
/// ends when its last clone and last socket are gone: it then waits, as
/// `zmq_ctx_term` does, until every socket has sent what it had queued or its
/// LINGER has passed.
///
/// As in libzmq, inproc names are per context: sockets of different contexts
/// cannot reach each other over inproc, and may bind the same name.
#[derive(Clone)]
pub struct Context {
    pub(crate) inner: Arc<ContextInner>,
}

pub(crate) struct ContextInner {
    /// Names this context's inproc endpoints apart from other contexts'.
    inproc_prefix: String,
    io_threads: AtomicI32,
    /// Cancelled by [`Context::destroy`]: blocked calls return `ETERM`.
    pub(crate) terminated: CancellationToken,
    /// Set by [`Context::destroy`], before `terminated`: what every call looks at
    /// (the token's own flag sits behind a lock).
    destroyed: AtomicBool,
    /// Sockets that were dropped and may still be sending what they had queued.
    closing: Mutex<Vec<JoinHandle<()>>>,
}

/// `native` with the context's inproc prefix taken off.
pub(crate) fn public_endpoint(prefix: &str, native: String) -> String {
    match native
        .strip_prefix("inproc://")
        .and_then(|name| name.strip_prefix(prefix))
    {
        Some(name) => format!("inproc://{name}"),
        None => native,
    }
}

/// Numbers contexts, for their inproc names.
static NEXT_CONTEXT: AtomicU64 = AtomicU64::new(0);

impl ContextInner {
    /// Whether [`Context::destroy`] was called.
    pub(crate) fn is_destroyed(&self) -> bool {
        self.destroyed.load(Ordering::Acquire)
    }

    /// purezmq's name for `endpoint`: inproc names are per context in libzmq, and
    /// process-wide in purezmq, so each context's get a prefix of their own.
    pub(crate) fn native_endpoint<'a>(&self, endpoint: &'a str) -> Cow<'a, str> {
        match endpoint.strip_prefix("inproc://") {
            Some(name) if !name.is_empty() => {
                Cow::Owned(format!("inproc://{}{name}", self.inproc_prefix))
            }
            _ => Cow::Borrowed(endpoint),
        }
    }

    /// The endpoint as the user named it.
    pub(crate) fn public_endpoint(&self, native: String) -> String {
        public_endpoint(&self.inproc_prefix, native)
    }

    /// What [`public_endpoint`] needs, for tasks that outlive a borrow.
    pub(crate) fn inproc_prefix(&self) -> String {
        self.inproc_prefix.clone()
    }

    /// Lets `socket` finish sending in the background; the context waits for it.
    /// `watcher` holds a handle to the socket too: it ends first.
    pub(crate) fn linger(&self, socket: purezmq::Socket, watcher: Option<JoinHandle<()>>) {
        let task = RUNTIME.spawn(async move {
            if let Some(watcher) = watcher {
                let _ = watcher.await;
            }
            socket.close().await;
        });
        let mut closing = self.closing.lock().unwrap_or_else(|e| e.into_inner());
        closing.retain(|task| !task.is_finished());
        closing.push(task);
    }
}

impl Drop for ContextInner {
    fn drop(&mut self) {
        let closing = std::mem::take(self.closing.get_mut().unwrap_or_else(|e| e.into_inner()));
        if closing.is_empty() {
            return;
        }
        wait(async {
            for task in closing {
                let _ = task.await;
            }
        });
    }
}

impl Context {
    /// A new context.
    pub fn new() -> Context {
        Context {
            inner: Arc::new(ContextInner {
                inproc_prefix: format!("{:x}~", NEXT_CONTEXT.fetch_add(1, Ordering::Relaxed)),
                io_threads: AtomicI32::new(IO_THREADS_DEFAULT),
                terminated: CancellationToken::new(),
                destroyed: AtomicBool::new(false),
                closing: Mutex::new(Vec::new()),
            }),
        }
    }

    /// `ZMQ_IO_THREADS`: the number of I/O threads asked for.
    pub fn get_io_threads(&self) -> Result<i32> {
        Ok(self.inner.io_threads.load(Ordering::Relaxed))
    }

    /// Sets `ZMQ_IO_THREADS`. The value is kept and reported back; purezmq's one
    /// runtime thread serves every context (`EINVAL` for a negative value).
    pub fn set_io_threads(&self, value: i32) -> Result<()> {
        if value < 0 {
            return Err(Error::EINVAL);
        }
        self.inner.io_threads.store(value, Ordering::Relaxed);
        Ok(())
    }

    /// A new socket of this type.
    ///
    /// `STREAM` sockets are not available: `ENOTSUP`.
    pub fn socket(&self, socket_type: SocketType) -> Result<Socket> {
        if self.inner.is_destroyed() {
            return Err(Error::ETERM);
        }
        Socket::new(self.clone(), socket_type)
    }

    /// Terminates the context: calls blocked in its sockets, and every later call on
    /// them, fail with `ETERM`.
    ///
    /// Unlike `zmq_ctx_term` it does not wait for the sockets to be closed; the last
    /// drop of the context waits for their queued messages instead.
    pub fn destroy(&mut self) -> Result<()> {
        self.inner.destroyed.store(true, Ordering::Release);
        self.inner.terminated.cancel();
        Ok(())
    }
}

impl Default for Context {
    fn default() -> Context {
        Context::new()
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").finish_non_exhaustive()
    }
}
