//! The direct path: a stream connection's wire and codec behind one lock, so that the
//! application's own `send` can write to the connection in its future, and its `recv`
//! read from it, instead of waking the connection's engine task to do it.
//!
//! The engine task holds the lock for each of its polls; the application only ever
//! *tries* the lock and, when it is taken (or the write cannot finish), leaves the
//! work to the engine by waking it. Either side runs the same steps: take what the
//! outbound pipe holds, encode it, write what the kernel takes. So the order of
//! messages to the peer is the order of the pipe, whoever writes, and CURVE's nonces
//! advance under the one lock.
//!
//! Reading: a `recv` that finds nothing queued reads from the connection into the
//! inbound pipe itself, and while it waits it takes the stream's read interest over
//! from the engine (tokio keeps one waker for it), so the data wakes the waiting
//! application and not the engine. When that `recv` ends, returned or dropped, it
//! hands the interest back to the engine's waker without waking it (or wakes it, if
//! data is there already). The waiting `recv` also listens to the socket's
//! readiness, so whichever side reads, the message reaches it.
//!
//! What stays with the engine: the handshake and ZAP (the application never sees a
//! link before its peer is attached), timers and heartbeats, the end of the
//! connection and its monitor events. A failure or end of stream the application
//! meets is recorded here for the engine to act on, exactly as if it had met it
//! itself; a PONG it owes, or a heartbeat deadline a PING brought forward, wakes the
//! engine if the application cannot settle it at once.

use std::cell::Cell;
use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};

use bytes::BytesMut;
use purezmq_zmtp::{Connection, Event, Message};
use tokio::io::Interest;
use tokio::net::{TcpStream, UnixStream};

use crate::pipe::{Pipe, subscription_message};

/// Encoded data waiting for the socket beyond which no more messages are taken from
/// the outbound pipe.
pub(crate) const SEND_BUFFER_HIGH: usize = 256 * 1024;
/// Chunks per vectored write.
const IOV_MAX: usize = 64;
/// The smallest and largest room the receive buffer makes before a read. A new
/// connection starts small, so that idle ones cost little; each read that fills the
/// room doubles it, and each that uses under a quarter of it halves it.
const READ_MIN: usize = 8 * 1024;
pub(crate) const READ_MAX: usize = 256 * 1024;

/// The stream under a connection: tcp or ipc. Every call takes `&self`, so the
/// engine and the socket's callers can share it.
pub(crate) enum Wire {
    Tcp(TcpStream),
    Ipc(UnixStream),
}

impl Wire {
    /// Writes what the kernel takes now from one buffer, registering no waker.
    fn try_write(&self, buffer: &[u8]) -> io::Result<usize> {
        match self {
            Wire::Tcp(s) => s.try_write(buffer),
            Wire::Ipc(s) => s.try_write(buffer),
        }
    }

    /// Writes what the kernel takes now, registering no waker.
    fn try_write_vectored(&self, slices: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Wire::Tcp(s) => s.try_write_vectored(slices),
            Wire::Ipc(s) => s.try_write_vectored(slices),
        }
    }

    /// Ready when the stream may be written; registers the task otherwise.
    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Wire::Tcp(s) => s.poll_write_ready(cx),
            Wire::Ipc(s) => s.poll_write_ready(cx),
        }
    }

    /// Ready when the stream may be read; otherwise makes the task the one woken
    /// when it may (tokio keeps one such waker per stream: this replaces the last).
    pub(crate) fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Wire::Tcp(s) => s.poll_read_ready(cx),
            Wire::Ipc(s) => s.poll_read_ready(cx),
        }
    }

    /// Reads what the kernel has into `buffer`'s spare room, without waiting. As
    /// tokio's own reads do, a read that does not fill the room counts as having
    /// drained the socket: the next one waits for readiness instead of asking the
    /// kernel again (an edge that arrives meanwhile is not lost: tokio clears only
    /// the readiness it saw before the read).
    pub(crate) fn try_read(&self, buffer: &mut BytesMut) -> io::Result<usize> {
        let room = buffer.capacity() - buffer.len();
        let mut got = 0;
        let mut read = || {
            got = match self {
                Wire::Tcp(s) => s.try_read_buf(buffer)?,
                Wire::Ipc(s) => s.try_read_buf(buffer)?,
            };
            if got > 0 && got < room {
                return Err(io::Error::from(io::ErrorKind::WouldBlock));
            }
            Ok(())
        };
        let result = match self {
            Wire::Tcp(s) => s.try_io(Interest::READABLE, &mut read),
            Wire::Ipc(s) => s.try_io(Interest::READABLE, &mut read),
        };
        match result {
            Ok(()) => Ok(got),
            Err(_) if got > 0 => Ok(got),
            Err(e) => Err(e),
        }
    }

    /// Reads what the kernel has into `buffer`, at most `room` bytes, asking the
    /// kernel itself rather than tokio's record of readiness: for a caller the kernel
    /// woke on this descriptor (see `wait`) before the runtime's I/O thread saw the
    /// event, which tokio's own reads would not look at yet. A read that drains the
    /// socket also clears tokio's record, so the engine is not woken for data already
    /// taken (tokio clears only what it had recorded before).
    fn read_woken(&self, buffer: &mut BytesMut, room: usize) -> io::Result<usize> {
        buffer.reserve(room);
        let spare = &mut buffer.spare_capacity_mut()[..room];
        let got = match self {
            Wire::Tcp(s) => socket2::SockRef::from(s).recv(spare),
            Wire::Ipc(s) => socket2::SockRef::from(s).recv(spare),
        };
        if let Ok(n) = got {
            // SAFETY: recv(2) wrote the first `n` bytes of `spare`, the room after
            // the buffer's initialised `len()` bytes (it returns how many it wrote,
            // at most `spare.len()`, which `reserve` made fit the capacity). So the
            // first `len() + n` bytes are initialised and within the capacity.
            // Exercised by tests/wait_for_receive.rs (1 B to 300 kB over tcp and ipc).
            unsafe { buffer.set_len(buffer.len() + n) };
        }
        match got {
            Ok(n) if n > 0 && n < room => self.forget_readable(),
            Err(ref e) if e.kind() == io::ErrorKind::WouldBlock => self.forget_readable(),
            _ => {}
        }
        got
    }

    /// Clears tokio's record that the stream is readable, if it has one.
    fn forget_readable(&self) {
        let drained = || Err::<(), _>(io::Error::from(io::ErrorKind::WouldBlock));
        let _ = match self {
            Wire::Tcp(s) => s.try_io(Interest::READABLE, drained),
            Wire::Ipc(s) => s.try_io(Interest::READABLE, drained),
        };
    }

    /// The stream's descriptor, for a thread that waits on it in the kernel.
    pub(crate) fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Wire::Tcp(s) => s.as_fd(),
            Wire::Ipc(s) => s.as_fd(),
        }
    }

    /// Shuts both directions down, so the peer sees the connection end even while
    /// a waiting `recv` still holds the link (and with it the file descriptor).
    fn shutdown(&self) {
        let _ = match self {
            Wire::Tcp(s) => socket2::SockRef::from(s).shutdown(std::net::Shutdown::Both),
            Wire::Ipc(s) => socket2::SockRef::from(s).shutdown(std::net::Shutdown::Both),
        };
    }
}

/// Why a connection ends badly.
#[derive(Debug)]
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
    pub(crate) wire: Wire,
    io: Mutex<Io>,
    /// The pipe of messages to the peer, set when the peer is attached.
    out: OnceLock<Arc<Pipe>>,
    /// The pipe of messages from the peer, set when the peer is attached.
    inp: OnceLock<Arc<Pipe>>,
    /// The engine task's waker, to hand the stream's read interest back to.
    engine: Mutex<Option<Waker>>,
    /// When the engine started: the codec's clock counts from here.
    epoch: tokio::time::Instant,
    /// Set by the engine when it stops: nobody may take from the pipe for this
    /// connection any more (what is queued waits for the next one), nor read.
    retired: AtomicBool,
    /// SUB and XSUB: `0x01`/`0x00` messages go out as SUBSCRIBE/CANCEL.
    subscriptions_as_commands: bool,
}

/// What the lock guards.
pub(crate) struct Io {
    pub(crate) conn: Connection,
    /// Messages decoded from one read, for the inbound pipe.
    pub(crate) inbox: VecDeque<Message>,
    /// How much room to make in the receive buffer before the next read.
    read_room: usize,
    /// The end of the stream, met by a caller, for the engine to end the connection.
    pub(crate) eof: bool,
    /// Messages taken from the outbound pipe, to encode (kept for its allocation).
    outbox: VecDeque<Message>,
    /// A failure met by a caller, for the engine to end the connection with.
    pub(crate) failure: Option<Failure>,
}

impl Link {
    pub(crate) fn new(
        wire: Wire,
        conn: Connection,
        subscriptions_as_commands: bool,
        epoch: tokio::time::Instant,
    ) -> Link {
        Link {
            wire,
            io: Mutex::new(Io {
                conn,
                inbox: VecDeque::new(),
                read_room: READ_MIN,
                eof: false,
                outbox: VecDeque::new(),
                failure: None,
            }),
            out: OnceLock::new(),
            inp: OnceLock::new(),
            engine: Mutex::new(None),
            epoch,
            retired: AtomicBool::new(false),
            subscriptions_as_commands,
        }
    }

    /// The engine has stopped: from now on only it may touch the connection, to
    /// flush an ERROR (see [`shut`](Self::shut)).
    pub(crate) fn retire(&self) {
        let _io = self.lock();
        self.retired.store(true, Ordering::Release);
    }

    /// Whether the engine has stopped.
    pub(crate) fn is_retired(&self) -> bool {
        self.retired.load(Ordering::Acquire)
    }

    /// Ends the connection for the peer, whoever still holds the link.
    pub(crate) fn shut(&self) {
        self.wire.shutdown();
    }

    /// The codec's clock now.
    pub(crate) fn now(&self) -> purezmq_zmtp::Instant {
        purezmq_zmtp::Instant::from_elapsed(self.epoch.elapsed())
    }

    /// Records the engine task's waker (each poll, in case it changed).
    pub(crate) fn set_engine_waker(&self, waker: &Waker) {
        let mut slot = self.engine.lock().unwrap_or_else(|e| e.into_inner());
        match &mut *slot {
            Some(old) if old.will_wake(waker) => {}
            slot => *slot = Some(waker.clone()),
        }
    }

    fn engine_waker(&self) -> Option<Waker> {
        self.engine
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn wake_engine(&self) {
        if let Some(waker) = self.engine_waker() {
            waker.wake();
        }
    }

    /// The engine's hold on the connection, for one poll.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Io> {
        // A panic while holding the lock leaves a codec the engine then fails with.
        self.io.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records the pipes of messages to and from the peer, once attached.
    pub(crate) fn set_pipes(&self, out: &Arc<Pipe>, inp: &Arc<Pipe>) {
        let _ = self.out.set(Arc::clone(out));
        let _ = self.inp.set(Arc::clone(inp));
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
        if !self.is_open(&io) {
            return false;
        }
        if let Err(e) = io.encode_outbound(out, self.subscriptions_as_commands) {
            io.failure = Some(e.into());
            return false;
        }
        if let Err(e) = io.write(&self.wire, None) {
            io.failure = Some(e.into());
            return false;
        }
        io.conn.send_buffer().is_empty() && out.len() == 0
    }
}

impl Link {
    /// Whether callers may drive the connection: it is up, has not failed and the
    /// engine still serves it.
    fn is_open(&self, io: &Io) -> bool {
        !self.is_retired() && io.failure.is_none() && io.conn.is_ready()
    }

    /// The connection and the inbound pipe, for a caller about to read one into the
    /// other; `None` while the engine holds the connection, before the peer is
    /// attached, once the connection is no longer open or its stream ended, or while
    /// the pipe is at its HWM.
    fn read_turn(&self) -> Option<(MutexGuard<'_, Io>, &Arc<Pipe>)> {
        let inp = self.inp.get()?;
        let io = self.io.try_lock().ok()?;
        if !self.is_open(&io) || io.eof || inp.is_full() {
            return None;
        }
        Some((io, inp))
    }

    /// Ends a caller's read: what it read (`Ok(n)`, n > 0) goes decoded into the
    /// inbound pipe; the end of the stream (`Ok(0)`, or `eof` set) or a failure is
    /// left for the engine, which is woken for it, as for anything settling left.
    fn finish_read(&self, mut io: MutexGuard<'_, Io>, inp: &Arc<Pipe>, read: io::Result<usize>) {
        match read {
            Ok(0) => io.eof = true,
            Ok(_) => {
                if self.settle(&mut io, inp) && !io.eof {
                    return;
                }
            }
            Err(e) => io.failure = Some(e.into()),
        }
        drop(io);
        self.wake_engine();
    }

    /// Reads from the connection into the inbound pipe, for a `recv` that found
    /// nothing queued: `Ready` once it moved something there (or met something the
    /// engine must act on, which it has been woken for); `Pending` once the task
    /// is registered to be woken when the stream has data. Either way the caller
    /// also waits on the socket's readiness: if the engine is busy with the
    /// connection, it is the one that reads.
    pub(crate) fn poll_read(&self, cx: &mut Context<'_>) -> Poll<()> {
        let Some((mut io, inp)) = self.read_turn() else {
            return Poll::Pending;
        };
        loop {
            let room = io.read_room;
            let buffer = io.conn.recv_buffer();
            buffer.reserve(room);
            let spare = buffer.capacity() - buffer.len();
            let read = match self.wire.try_read(buffer) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // A thread waiting in the kernel on this wire is woken by the
                    // kernel for it; tokio need wake nobody (see `WatchedWire`).
                    let waker = if self.is_watched_here() {
                        Waker::noop()
                    } else {
                        cx.waker()
                    };
                    match self.wire.poll_read_ready(&mut Context::from_waker(waker)) {
                        Poll::Ready(Ok(())) => continue,
                        Poll::Ready(Err(e)) => Err(e),
                        Poll::Pending => return Poll::Pending,
                    }
                }
                Ok(n) => {
                    if n > 0 {
                        io.grow_or_shrink(n, spare);
                    }
                    Ok(n)
                }
                Err(e) => Err(e),
            };
            self.finish_read(io, inp, read);
            return Poll::Ready(());
        }
    }

    /// Reads what the kernel has for this connection now, for a thread the kernel
    /// woke because the descriptor turned readable (see `wait`), and hands what it
    /// decodes to the inbound pipe, whose readiness tells the waiting `recv`.
    /// Returns whether it got anywhere: read something, or met what the engine must
    /// act on (which it has been woken for). Nothing when the engine holds the
    /// connection (it reads then) or the inbound pipe is full.
    pub(crate) fn read_woken(&self) -> bool {
        let Some((mut io, inp)) = self.read_turn() else {
            return false;
        };
        // A round trip's message is small: the least room, read again while it
        // fills, up to what one read of the engine's may take.
        let mut got = 0;
        let read = loop {
            match self.wire.read_woken(io.conn.recv_buffer(), READ_MIN) {
                Ok(0) => {
                    io.eof = true;
                    break Ok(got);
                }
                Ok(n) => {
                    got += n;
                    if n < READ_MIN || got >= READ_MAX {
                        break Ok(got);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Ok(got),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        if matches!(read, Ok(0)) && !io.eof {
            return false;
        }
        self.finish_read(io, inp, read);
        true
    }

    /// Whether the calling thread waits in the kernel on this link's wire (see
    /// [`WatchedWire`]).
    fn is_watched_here(&self) -> bool {
        WATCHED.get() == address(self)
    }

    /// Decodes what was read, hands the messages to the inbound pipe and writes what
    /// the codec owes the peer (a PONG); returns whether nothing is left for the
    /// engine to do (nothing unwritten, no failure, no earlier deadline).
    fn settle(&self, io: &mut Io, inp: &Arc<Pipe>) -> bool {
        let deadline = io.conn.poll_timeout();
        let processed = io.conn.process(self.now());
        // As the engine does: what was decoded before a violation still counts.
        while let Some(event) = io.conn.poll_event() {
            match event {
                Event::Message(message) => io.inbox.push_back(message),
                Event::Subscribe(topic) => io.inbox.push_back(subscription_message(1, &topic)),
                Event::Cancel(topic) => io.inbox.push_back(subscription_message(0, &topic)),
                // Only a handshake raises these, and a link is attached after it.
                Event::HandshakeSucceeded(_) | Event::AuthenticationRequested(_) => {}
            }
        }
        inp.push_batch(&mut io.inbox);
        if let Err(e) = processed {
            io.failure = Some(e.into());
            return false;
        }
        if let Err(e) = io.write(&self.wire, None) {
            io.failure = Some(e.into());
            return false;
        }
        let sooner = match (deadline, io.conn.poll_timeout()) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(before), Some(now)) => now < before,
        };
        io.conn.send_buffer().is_empty() && !sooner
    }

    /// Hands the stream's read interest back to the engine after a `recv` that may
    /// have taken it: registers the engine's waker, or wakes it if data is there.
    pub(crate) fn return_read_interest(&self) {
        let Some(waker) = self.engine_waker() else {
            return;
        };
        let mut cx = Context::from_waker(&waker);
        if self.wire.poll_read_ready(&mut cx).is_ready() {
            waker.wake();
        }
    }
}

thread_local! {
    /// The link whose wire this thread waits on in `poll(2)` (its address, only
    /// ever compared), or 0.
    static WATCHED: Cell<usize> = const { Cell::new(0) };
}

fn address(link: &Link) -> usize {
    std::ptr::from_ref(link) as usize
}

/// The wire a thread outside the runtime waits on in the kernel (see `wait`), for
/// as long as this lives. Meanwhile a `recv` reading that link gives tokio no waker
/// for its readability: the kernel wakes the thread for it, and a wake from the I/O
/// thread, which sees the same edge, would only ring the thread's bell for nothing.
pub(crate) struct WatchedWire {
    before: usize,
}

impl WatchedWire {
    pub(crate) fn enter() -> WatchedWire {
        WatchedWire {
            before: WATCHED.get(),
        }
    }

    /// The link whose wire this thread watches now, if any.
    pub(crate) fn set(&self, link: Option<&Link>) {
        WATCHED.set(link.map_or(0, address));
    }
}

impl Drop for WatchedWire {
    fn drop(&mut self) {
        WATCHED.set(self.before);
    }
}

/// A `recv` reading from a link: gives the stream's read interest back to the
/// engine when the `recv` ends, however it ends.
pub(crate) struct ReadTurn {
    pub(crate) link: Arc<Link>,
}

impl Drop for ReadTurn {
    fn drop(&mut self) {
        self.link.return_read_interest();
    }
}

impl Io {
    /// Adapts the room made before the next read to what this one used.
    pub(crate) fn grow_or_shrink(&mut self, n: usize, room: usize) {
        if n >= room.min(self.read_room) {
            self.read_room = (self.read_room * 2).min(READ_MAX);
        } else if n < self.read_room / 4 {
            self.read_room = (self.read_room / 2).max(READ_MIN);
        }
    }

    /// The room to make before the next read.
    pub(crate) fn read_room(&self) -> usize {
        self.read_room
    }

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
    pub(crate) fn write(
        &mut self,
        wire: &Wire,
        mut cx: Option<&mut Context<'_>>,
    ) -> io::Result<bool> {
        let mut wrote = false;
        loop {
            let buffer = self.conn.send_buffer();
            if buffer.is_empty() {
                return Ok(wrote);
            }
            let mut parts: [&[u8]; IOV_MAX] = [&[]; IOV_MAX];
            let n = buffer.chunks(&mut parts);
            // One chunk (a request, a reply) goes with a plain write: the kernel's
            // vectored path costs measurably more per call than its single-buffer one.
            let written = if n == 1 {
                wire.try_write(parts[0])
            } else {
                let slices: [IoSlice<'_>; IOV_MAX] =
                    std::array::from_fn(|i| IoSlice::new(parts[i]));
                wire.try_write_vectored(&slices[..n])
            };
            match written {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
                Ok(written) => {
                    self.conn.send_buffer().advance(written);
                    wrote = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let Some(cx) = cx.as_deref_mut() else {
                        return Ok(wrote);
                    };
                    match wire.poll_write_ready(cx) {
                        Poll::Ready(Ok(())) => {}
                        Poll::Ready(Err(e)) => return Err(e),
                        Poll::Pending => return Ok(wrote),
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }
}
