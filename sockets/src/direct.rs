//! The direct path: a stream connection's wire and codec behind one lock, so that the
//! application's own `send` can write to the connection in its future instead of
//! waking the connection's engine task to do it.
//!
//! The engine task holds the lock for each of its polls; the application only ever
//! *tries* the lock and, when it is taken (or the write cannot finish), leaves the
//! work to the engine by waking it. Either side runs the same steps: take what the
//! outbound pipe holds, encode it, write what the kernel takes. So the order of
//! messages to the peer is the order of the pipe, whoever writes, and CURVE's nonces
//! advance under the one lock.
//!
//! What stays with the engine: the handshake and ZAP (the application never sees a
//! link before its peer is attached), reading, timers and heartbeats, the end of the
//! connection and its monitor events. A failure the application meets while writing
//! is recorded here for the engine to act on, exactly as if it had met it itself.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll};

use purezmq_zmtp::{Connection, Message};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream, tcp, unix};

use crate::pipe::Pipe;

/// Encoded data waiting for the socket beyond which no more messages are taken from
/// the outbound pipe.
pub(crate) const SEND_BUFFER_HIGH: usize = 256 * 1024;
/// Chunks per vectored write.
const IOV_MAX: usize = 64;

/// The stream under a connection: tcp or ipc.
pub(crate) enum Wire {
    Tcp(TcpStream),
    Ipc(UnixStream),
}

impl Wire {
    /// Its read half, for the engine alone, and its write half, for whoever holds
    /// the link's lock.
    pub(crate) fn into_split(self) -> (Reader, Writer) {
        match self {
            Wire::Tcp(s) => {
                let (r, w) = s.into_split();
                (Reader::Tcp(r), Writer::Tcp(w))
            }
            Wire::Ipc(s) => {
                let (r, w) = s.into_split();
                (Reader::Ipc(r), Writer::Ipc(w))
            }
        }
    }
}

/// The read half of a [`Wire`].
pub(crate) enum Reader {
    Tcp(tcp::OwnedReadHalf),
    Ipc(unix::OwnedReadHalf),
}

impl AsyncRead for Reader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Reader::Tcp(r) => Pin::new(r).poll_read(cx, buf),
            Reader::Ipc(r) => Pin::new(r).poll_read(cx, buf),
        }
    }
}

/// The write half of a [`Wire`].
pub(crate) enum Writer {
    Tcp(tcp::OwnedWriteHalf),
    Ipc(unix::OwnedWriteHalf),
}

impl Writer {
    /// Writes what the kernel takes now, registering no waker.
    fn try_write_vectored(&self, slices: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Writer::Tcp(w) => w.try_write_vectored(slices),
            Writer::Ipc(w) => w.try_write_vectored(slices),
        }
    }

    /// Writes, or registers the task to be woken when the kernel takes more.
    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        slices: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self {
            Writer::Tcp(w) => Pin::new(w).poll_write_vectored(cx, slices),
            Writer::Ipc(w) => Pin::new(w).poll_write_vectored(cx, slices),
        }
    }
}

/// Why a connection ends badly.
pub(crate) enum Failure {
    Zmtp(purezmq_zmtp::Error),
    Io(io::Error),
    Refused(String),
}

impl From<purezmq_zmtp::Error> for Failure {
    fn from(e: purezmq_zmtp::Error) -> Failure {
        Failure::Zmtp(e)
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Failure {
        Failure::Io(e)
    }
}

/// One connection's wire and codec, shared by its engine task and, once the peer is
/// attached, by the socket's callers.
pub(crate) struct Link {
    io: Mutex<Io>,
    /// The pipe of messages to the peer, set when the peer is attached.
    out: OnceLock<Arc<Pipe>>,
    /// SUB and XSUB: `0x01`/`0x00` messages go out as SUBSCRIBE/CANCEL.
    subscriptions_as_commands: bool,
}

/// What the lock guards.
pub(crate) struct Io {
    pub(crate) conn: Connection,
    writer: Writer,
    /// Messages taken from the outbound pipe, to encode (kept for its allocation).
    outbox: VecDeque<Message>,
    /// A failure met by a caller, for the engine to end the connection with.
    pub(crate) failure: Option<Failure>,
    /// Set by the engine when it stops: nobody may take from the pipe for this
    /// connection any more (what is queued waits for the next one).
    pub(crate) retired: bool,
}

impl Link {
    pub(crate) fn new(writer: Writer, conn: Connection, subscriptions_as_commands: bool) -> Link {
        Link {
            io: Mutex::new(Io {
                conn,
                writer,
                outbox: VecDeque::new(),
                failure: None,
                retired: false,
            }),
            out: OnceLock::new(),
            subscriptions_as_commands,
        }
    }

    /// The engine's hold on the connection, for one poll.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Io> {
        // A panic while holding the lock leaves a codec the engine then fails with.
        self.io.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records the pipe of messages to the peer, once attached.
    pub(crate) fn set_out(&self, out: &Arc<Pipe>) {
        let _ = self.out.set(Arc::clone(out));
    }

    /// The pipe of messages to the peer, once attached.
    pub(crate) fn out(&self) -> Option<&Arc<Pipe>> {
        self.out.get()
    }

    /// Writes what the outbound pipe holds from the caller's future, if the
    /// connection is free and the kernel takes it all; otherwise wakes the engine to
    /// do it. Called after a message was pushed into the pipe without waking the
    /// engine, so either way it goes out.
    pub(crate) fn flush_or_wake(&self) {
        let Some(out) = self.out.get() else {
            return;
        };
        if !self.try_flush(out) {
            out.wake_reader();
        }
    }

    /// Whether everything queued for the peer is written, by this call or before.
    fn try_flush(&self, out: &Pipe) -> bool {
        let Ok(mut io) = self.io.try_lock() else {
            return false;
        };
        if io.retired || io.failure.is_some() || !io.conn.is_ready() {
            return false;
        }
        if let Err(e) = io.encode_outbound(out, self.subscriptions_as_commands) {
            io.failure = Some(e.into());
            return false;
        }
        if let Err(e) = io.write(None) {
            io.failure = Some(e.into());
            return false;
        }
        io.conn.send_buffer().is_empty() && out.len() == 0
    }
}

impl Io {
    /// Takes what the outbound pipe holds and encodes it; returns whether there was
    /// any. Takes nothing while a lot of encoded data waits for the socket.
    pub(crate) fn encode_outbound(
        &mut self,
        out: &Pipe,
        subscriptions_as_commands: bool,
    ) -> Result<bool, purezmq_zmtp::Error> {
        if self.conn.send_buffer().len() >= SEND_BUFFER_HIGH {
            return Ok(false);
        }
        let n = out.take_all(&mut self.outbox);
        if n == 0 {
            return Ok(false);
        }
        out.consumed(n);
        for message in self.outbox.drain(..) {
            let frames = message.frames();
            if subscriptions_as_commands
                && frames.len() == 1
                && let Some(&flag @ (0 | 1)) = frames[0].first()
            {
                let topic = &frames[0][1..];
                if flag == 1 {
                    self.conn.subscribe(topic)?;
                } else {
                    self.conn.cancel(topic)?;
                }
                continue;
            }
            self.conn.send(&message)?;
        }
        Ok(true)
    }

    /// Writes encoded data until it is all written or the kernel takes no more;
    /// returns whether any was written. With a task's context (the engine), the
    /// task is woken when the kernel takes more; without (a caller), nothing waits.
    pub(crate) fn write(&mut self, mut cx: Option<&mut Context<'_>>) -> io::Result<bool> {
        let mut wrote = false;
        loop {
            let buffer = self.conn.send_buffer();
            if buffer.is_empty() {
                return Ok(wrote);
            }
            let mut parts: [&[u8]; IOV_MAX] = [&[]; IOV_MAX];
            let n = buffer.chunks(&mut parts);
            let slices: [IoSlice<'_>; IOV_MAX] = std::array::from_fn(|i| IoSlice::new(parts[i]));
            let written = match cx.as_deref_mut() {
                Some(cx) => match self.writer.poll_write_vectored(cx, &slices[..n]) {
                    Poll::Ready(written) => written,
                    Poll::Pending => return Ok(wrote),
                },
                None => match self.writer.try_write_vectored(&slices[..n]) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(wrote),
                    written => written,
                },
            };
            match written? {
                0 => return Err(io::Error::from(io::ErrorKind::WriteZero)),
                written => {
                    self.conn.send_buffer().advance(written);
                    wrote = true;
                }
            }
        }
    }
}
