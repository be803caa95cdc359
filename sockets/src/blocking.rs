//! A blocking API for programs without async: the same sockets, driven by a runtime
//! that background threads own.
//!
//! ```
//! use purezmq::blocking::Socket;
//! use purezmq::SocketType;
//!
//! let pull = Socket::new(SocketType::Pull);
//! pull.bind("inproc://blocking-doc")?;
//! let push = Socket::new(SocketType::Push);
//! push.connect("inproc://blocking-doc")?;
//! push.send("work")?;
//! assert_eq!(pull.recv()?.frames(), ["work"]);
//! # Ok::<(), purezmq::Error>(())
//! ```

use std::sync::LazyLock;

use purezmq_zmtp::{Message, SocketType};
use tokio::runtime::Runtime;

use crate::error::{Result, TrySendError};
use crate::monitor::Event;
use crate::options::Options;

/// One runtime for every blocking socket of the process, like libzmq's I/O threads.
static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("purezmq-io")
        .enable_all()
        .build()
        .expect("cannot start the purezmq I/O thread")
});

/// A socket whose calls block the calling thread. See [`crate::Socket`] for what
/// each call does.
#[derive(Clone, Debug)]
pub struct Socket {
    inner: crate::Socket,
}

impl Socket {
    /// A socket of this type with libzmq's default options.
    pub fn new(socket_type: SocketType) -> Socket {
        Socket {
            inner: crate::Socket::new(socket_type),
        }
    }

    /// A socket of this type with these options.
    pub fn with_options(socket_type: SocketType, options: Options) -> Result<Socket> {
        Ok(Socket {
            inner: crate::Socket::with_options(socket_type, options)?,
        })
    }

    /// The async socket underneath.
    pub fn as_async(&self) -> &crate::Socket {
        &self.inner
    }

    /// See [`crate::Socket::set_options`].
    pub fn set_options(&self, change: impl FnOnce(&mut Options)) -> Result<()> {
        self.inner.set_options(change)
    }

    /// See [`crate::Socket::bind`].
    pub fn bind(&self, endpoint: &str) -> Result<()> {
        let _runtime = RUNTIME.enter();
        self.inner.bind(endpoint)
    }

    /// See [`crate::Socket::connect`].
    pub fn connect(&self, endpoint: &str) -> Result<()> {
        let _runtime = RUNTIME.enter();
        self.inner.connect(endpoint)
    }

    /// See [`crate::Socket::unbind`].
    pub fn unbind(&self, endpoint: &str) -> Result<()> {
        self.inner.unbind(endpoint)
    }

    /// See [`crate::Socket::disconnect`].
    pub fn disconnect(&self, endpoint: &str) -> Result<()> {
        self.inner.disconnect(endpoint)
    }

    /// See [`crate::Socket::last_endpoint`].
    pub fn last_endpoint(&self) -> String {
        self.inner.last_endpoint()
    }

    /// See [`crate::Socket::send`].
    pub fn send(&self, message: impl Into<Message>) -> Result<()> {
        RUNTIME.block_on(self.inner.send(message))
    }

    /// See [`crate::Socket::try_send`].
    pub fn try_send(&self, message: impl Into<Message>) -> Result<(), TrySendError> {
        self.inner.try_send(message)
    }

    /// See [`crate::Socket::recv`]. The thread waits in the kernel (see
    /// [`wait_for_receive`]).
    pub fn recv(&self) -> Result<Message> {
        if tokio::runtime::Handle::try_current().is_ok() {
            // Blocking inside a runtime is a mistake tokio reports.
            return RUNTIME.block_on(self.inner.recv());
        }
        let _runtime = RUNTIME.enter();
        wait_for_receive(&self.inner, self.inner.recv())
    }

    /// See [`crate::Socket::try_recv`].
    pub fn try_recv(&self) -> Result<Option<Message>> {
        self.inner.try_recv()
    }

    /// See [`crate::Socket::subscribe`].
    pub fn subscribe(&self, topic: impl AsRef<[u8]>) -> Result<()> {
        self.inner.subscribe(topic)
    }

    /// See [`crate::Socket::unsubscribe`].
    pub fn unsubscribe(&self, topic: impl AsRef<[u8]>) -> Result<()> {
        self.inner.unsubscribe(topic)
    }

    /// The socket's monitor events, received with [`Monitor::recv`].
    pub fn monitor(&self) -> Monitor {
        Monitor {
            inner: self.inner.monitor(),
        }
    }

    /// Closes the socket and waits until queued messages are sent or LINGER passes.
    pub fn close(self) {
        RUNTIME.block_on(self.inner.close());
    }
}

/// Runs `work`, a receive on `socket` (or a future that ends with one), to
/// completion on the calling thread, which blocks meanwhile: for threads outside
/// any runtime, such as the blocking API's callers and the `zmq` drop-in's. The
/// caller enters the runtime that drives `socket` first.
///
/// The thread sleeps in the kernel: when `socket` has a lone tcp or ipc peer, in
/// `poll(2)` on that connection, so the kernel wakes it when the message arrives
/// and it reads the connection itself, with no hand-off through the runtime's I/O
/// thread; everything else the receive waits for (a message that came another way,
/// a peer that came or went, RCVTIMEO) rings a bell it also watches.
///
/// ```
/// use purezmq::{Socket, SocketType, blocking};
///
/// let runtime = tokio::runtime::Runtime::new()?;
/// let _entered = runtime.enter();
/// let pull = Socket::new(SocketType::Pull);
/// pull.bind("tcp://127.0.0.1:*")?;
/// let push = Socket::new(SocketType::Push);
/// push.connect(&pull.last_endpoint())?;
/// runtime.block_on(push.send("work"))?;
/// let message = blocking::wait_for_receive(&pull, pull.recv())?;
/// assert_eq!(message.frames(), ["work"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn wait_for_receive<F: std::future::Future>(socket: &crate::Socket, work: F) -> F::Output {
    crate::wait::run(socket.direct_link(), work)
}

/// Monitor events, received one by one.
pub struct Monitor {
    inner: crate::monitor::Monitor,
}

impl Monitor {
    /// The next event; `None` once the socket is closed.
    pub fn recv(&mut self) -> Option<Event> {
        RUNTIME.block_on(self.inner.recv())
    }
}
