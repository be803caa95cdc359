//! [`Socket`]: frame-at-a-time sends and receives over purezmq's whole messages.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use purezmq::TrySendError;

use crate::context::{Context, RUNTIME, wait, wait_receiving};
use crate::error::{Error, Result, from_purezmq};
use crate::inbox::Inbox;
use crate::message::Message;
use crate::sockopt::Extra;
use crate::{DONTWAIT, SNDMORE, SocketType};

/// A ZeroMQ socket, made by [`Context::socket`].
///
/// It may move to another thread but not be shared between threads (`Send`, not
/// `Sync`), as with libzmq. Calls block the calling thread as libzmq's do: a send
/// waits while the socket type says so (no peer, or every peer at SNDHWM) unless
/// [`DONTWAIT`] is given, for at most SNDTIMEO; a receive waits for at most
/// RCVTIMEO. Both then fail with [`Error::EAGAIN`].
///
/// Frames sent with [`SNDMORE`] are kept until the last frame of the message, which
/// sends them all at once: a message is queued whole or not at all.
pub struct Socket {
    /// `None` only while being dropped.
    inner: Option<purezmq::Socket>,
    pub(crate) context: Context,
    socket_type: SocketType,
    pub(crate) state: RefCell<State>,
    pub(crate) inbox: Arc<Inbox>,
}

/// What the socket keeps between calls.
#[derive(Default)]
pub(crate) struct State {
    /// Frames sent with SNDMORE, waiting for the last one.
    outgoing: Vec<Bytes>,
    /// The frames of the message being received that are still to be read.
    incoming: VecDeque<Bytes>,
    /// Whole messages taken off the socket in one batch while they arrive back to
    /// back, to be received before anything in the inbox (see [`PREFETCH`]).
    prefetched: VecDeque<purezmq::Message>,
    /// `ZMQ_RCVMORE`.
    rcvmore: bool,
    /// REQ: a request was sent and its reply is not yet all read. REP: a request
    /// was read and not yet answered.
    in_exchange: bool,
    /// The last receive found its message queued, without waiting: a stream (never
    /// on REQ and REP).
    streaming: bool,
    /// Options libzmq has that purezmq keeps for reading back only.
    pub(crate) extra: Extra,
}

impl State {
    /// The rest of a message whose first frames were received, as a message; else
    /// the next message taken off the socket already.
    pub(crate) fn take_partial(&mut self) -> Option<purezmq::Message> {
        if self.incoming.is_empty() {
            return self.prefetched.pop_front();
        }
        self.rcvmore = false;
        Some(purezmq::Message::from(Vec::from(std::mem::take(
            &mut self.incoming,
        ))))
    }
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("type", &self.socket_type)
            .finish_non_exhaustive()
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            self.context.inner.linger(inner, self.inbox.close());
        }
    }
}

impl Socket {
    pub(crate) fn new(context: Context, socket_type: SocketType) -> Result<Socket> {
        let native = socket_type.native().ok_or(Error::ENOTSUP)?;
        Ok(Socket {
            inner: Some(purezmq::Socket::new(native)),
            context,
            socket_type,
            state: RefCell::new(State::default()),
            inbox: Arc::default(),
        })
    }

    /// The purezmq socket underneath.
    pub(crate) fn inner(&self) -> &purezmq::Socket {
        self.inner
            .as_ref()
            .expect("a socket is only emptied while it is dropped")
    }

    pub(crate) fn check_term(&self) -> Result<()> {
        if self.context.inner.is_destroyed() {
            return Err(Error::ETERM);
        }
        Ok(())
    }

    /// Runs `work` on the runtime until it is done or the context is destroyed.
    pub(crate) fn block<T>(&self, work: impl Future<Output = purezmq::Result<T>>) -> Result<T> {
        self.check_term()?;
        wait(self.until_destroyed(work))
    }

    /// As [`block`](Self::block), for a receive: the thread waits in the kernel on
    /// the socket's lone connection, if it has one, and reads it when the kernel
    /// wakes it (see `wait_receiving`).
    fn block_receiving<T>(&self, work: impl Future<Output = purezmq::Result<T>>) -> Result<T> {
        self.check_term()?;
        wait_receiving(self.inner(), self.until_destroyed(work))
    }

    /// `work`, ended with `ETERM` if the context is destroyed first.
    async fn until_destroyed<T>(
        &self,
        work: impl Future<Output = purezmq::Result<T>>,
    ) -> Result<T> {
        tokio::select! {
            biased;
            () = self.context.inner.terminated.cancelled() => Err(Error::ETERM),
            result = work => result.map_err(from_purezmq),
        }
    }

    /// Accepts connections on `endpoint` (`tcp://127.0.0.1:5555`, `tcp://*:*`,
    /// `ipc:///tmp/feed`, `inproc://name`).
    pub fn bind(&self, endpoint: &str) -> Result<()> {
        self.check_term()?;
        let _runtime = RUNTIME.enter();
        let endpoint = self.context.inner.native_endpoint(endpoint);
        self.inner().bind(&endpoint).map_err(from_purezmq)
    }

    /// Stops accepting connections on an endpoint given to `bind` (or as
    /// `get_last_endpoint` gave it).
    pub fn unbind(&self, endpoint: &str) -> Result<()> {
        self.check_term()?;
        let _runtime = RUNTIME.enter();
        let endpoint = self.context.inner.native_endpoint(endpoint);
        self.inner().unbind(&endpoint).map_err(from_purezmq)
    }

    /// Connects to `endpoint`; the connection is made, and remade, in the background.
    pub fn connect(&self, endpoint: &str) -> Result<()> {
        self.check_term()?;
        let _runtime = RUNTIME.enter();
        let endpoint = self.context.inner.native_endpoint(endpoint);
        self.inner().connect(&endpoint).map_err(from_purezmq)
    }

    /// Ends a connection made by `connect` (`ENOENT` if there is none to it).
    pub fn disconnect(&self, endpoint: &str) -> Result<()> {
        self.check_term()?;
        let _runtime = RUNTIME.enter();
        let endpoint = self.context.inner.native_endpoint(endpoint);
        self.inner().disconnect(&endpoint).map_err(from_purezmq)
    }

    /// Sends one frame: anything that converts into a [`Message`] (`&str`, `&[u8]`,
    /// `Vec<u8>`, `Message`…). With [`SNDMORE`] more frames of the message follow;
    /// with [`DONTWAIT`] the call fails with `EAGAIN` rather than wait.
    pub fn send<T>(&self, data: T, flags: i32) -> Result<()>
    where
        T: Sendable,
    {
        data.send(self, flags)
    }

    /// Sends a [`Message`] (the old name of [`send`](Socket::send)).
    #[deprecated(since = "0.9.0", note = "use `send`")]
    pub fn send_msg(&self, message: Message, flags: i32) -> Result<()> {
        self.send(message, flags)
    }

    /// Sends text (the old name of [`send`](Socket::send)).
    #[deprecated(since = "0.9.0", note = "use `send`")]
    pub fn send_str(&self, data: &str, flags: i32) -> Result<()> {
        self.send(data, flags)
    }

    /// Sends every item as one frame of one message; `flags` apply to each (SNDMORE
    /// is added to all but the last). An empty iterator sends nothing. On an error
    /// (`EAGAIN` with `DONTWAIT`, say) nothing of the message is sent or kept.
    pub fn send_multipart<I, T>(&self, iter: I, flags: i32) -> Result<()>
    where
        I: IntoIterator<Item = T>,
        T: Into<Message>,
    {
        let kept = self.state.borrow().outgoing.len();
        let mut parts = iter.into_iter().peekable();
        while let Some(part) = parts.next() {
            let more = if parts.peek().is_some() { SNDMORE } else { 0 };
            if let Err(error) = self.send_frame(part.into().into_bytes(), flags | more) {
                // The message was not sent: none of its frames stays kept, so that
                // sending it again sends it once.
                self.state.borrow_mut().outgoing.truncate(kept);
                return Err(error);
            }
        }
        Ok(())
    }

    pub(crate) fn send_frame(&self, frame: Bytes, flags: i32) -> Result<()> {
        self.check_term()?;
        let mut state = self.state.borrow_mut();
        if state.outgoing.is_empty() {
            self.check_can_send(&state)?;
            // As libzmq, a message that cannot be queued now is refused at its
            // first frame (only a first frame that is kept needs asking: a
            // single frame's send answers for itself).
            if flags & (SNDMORE | DONTWAIT) == SNDMORE | DONTWAIT && !self.inner().can_send() {
                return Err(Error::EAGAIN);
            }
        }
        if flags & SNDMORE != 0 {
            state.outgoing.push(frame);
            return Ok(());
        }
        let (message, backup) = if state.outgoing.is_empty() {
            (purezmq::Message::from(frame), None)
        } else {
            let mut frames = std::mem::take(&mut state.outgoing);
            // Frames are reference-counted: keeping copies to restore costs little.
            let backup = frames.clone();
            frames.push(frame);
            (purezmq::Message::from(frames), Some(backup))
        };
        let sent = if flags & DONTWAIT != 0 {
            self.inner()
                .try_send(message)
                .map_err(|TrySendError { error, .. }| from_purezmq(error))
        } else {
            // Most sends need no wait: only those that do go through the runtime.
            match self.inner().try_send(message) {
                Err(TrySendError {
                    error: purezmq::Error::WouldBlock,
                    message,
                }) => self.block(self.inner().send(message)),
                sent => sent.map_err(|TrySendError { error, .. }| from_purezmq(error)),
            }
        };
        match sent {
            Ok(()) => {
                if matches!(self.socket_type, SocketType::REQ | SocketType::REP) {
                    state.in_exchange = self.socket_type == SocketType::REQ;
                }
                self.inbox.on_sent();
                Ok(())
            }
            Err(Error::EAGAIN) => {
                // As in libzmq, the frames sent before stay queued: sending this
                // last one again completes the message.
                state.outgoing = backup.unwrap_or_default();
                Err(Error::EAGAIN)
            }
            Err(error) => Err(error),
        }
    }

    /// libzmq refuses the first frame of a message the socket cannot send now.
    fn check_can_send(&self, state: &State) -> Result<()> {
        match self.socket_type {
            SocketType::PULL | SocketType::SUB => Err(Error::ENOTSUP),
            SocketType::REQ if state.in_exchange && !self.req_relaxed() => Err(Error::EFSM),
            SocketType::REP if !state.in_exchange => Err(Error::EFSM),
            _ => Ok(()),
        }
    }

    fn req_relaxed(&self) -> bool {
        self.inner().options().req_relaxed
    }

    /// Receives the next frame into `msg`; [`get_more`](Message::get_more) and
    /// [`get_rcvmore`](Socket::get_rcvmore) tell whether more of the message follow.
    pub fn recv(&self, msg: &mut Message, flags: i32) -> Result<()> {
        let (frame, more) = self.recv_frame(flags)?;
        *msg = Message::from_frame(frame, more);
        Ok(())
    }

    /// Receives the next frame into `bytes`, returning the frame's size, which may be
    /// larger than `bytes` (the rest is cut off).
    pub fn recv_into(&self, bytes: &mut [u8], flags: i32) -> Result<usize> {
        let (frame, _) = self.recv_frame(flags)?;
        let n = frame.len().min(bytes.len());
        bytes[..n].copy_from_slice(&frame[..n]);
        Ok(frame.len())
    }

    /// Receives the next frame as a new [`Message`].
    pub fn recv_msg(&self, flags: i32) -> Result<Message> {
        let (frame, more) = self.recv_frame(flags)?;
        Ok(Message::from_frame(frame, more))
    }

    /// Receives the next frame as bytes.
    pub fn recv_bytes(&self, flags: i32) -> Result<Vec<u8>> {
        let (frame, _) = self.recv_frame(flags)?;
        Ok(frame.to_vec())
    }

    /// Receives the next frame as text; a frame that is not UTF-8 comes back as
    /// `Ok(Err(bytes))`.
    pub fn recv_string(&self, flags: i32) -> Result<std::result::Result<String, Vec<u8>>> {
        let bytes = self.recv_bytes(flags)?;
        Ok(String::from_utf8(bytes).map_err(|e| e.into_bytes()))
    }

    /// Receives every remaining frame of a message.
    pub fn recv_multipart(&self, flags: i32) -> Result<Vec<Vec<u8>>> {
        let mut parts = vec![self.recv_bytes(flags)?];
        while self.get_rcvmore()? {
            parts.push(self.recv_bytes(flags)?);
        }
        Ok(parts)
    }

    pub(crate) fn recv_frame(&self, flags: i32) -> Result<(Bytes, bool)> {
        self.check_term()?;
        let mut state = self.state.borrow_mut();
        if state.incoming.is_empty() {
            let message = match state.prefetched.pop_front().or_else(|| self.inbox.pop()) {
                Some(message) => message,
                None if flags & DONTWAIT != 0 => self
                    .inner()
                    .try_recv()
                    .map_err(from_purezmq)?
                    .ok_or(Error::EAGAIN)?,
                None if self.inbox.watched() => self.recv_watched()?,
                // While messages arrive back to back, take what is queued in one
                // batch: the socket's lock once, not once per message.
                None if state.streaming => {
                    let prefetched = &mut state.prefetched;
                    match self.inner().try_recv_batch(prefetched, PREFETCH) {
                        Ok(0) => {
                            // The next is likely a moment away, which purezmq's
                            // `recv` spins briefly for.
                            state.streaming = false;
                            self.block(self.inner().recv())?
                        }
                        Ok(_) => prefetched.pop_front().ok_or(Error::EAGAIN)?,
                        Err(error) => return Err(from_purezmq(error)),
                    }
                }
                // A queued message needs no trip through the runtime.
                None => match self.inner().try_recv().map_err(from_purezmq)? {
                    Some(message) => {
                        // A REQ's reply, a REP's next request, are a round trip
                        // away however fast messages came before.
                        state.streaming =
                            !matches!(self.socket_type, SocketType::REQ | SocketType::REP);
                        message
                    }
                    None => self.recv_waiting()?,
                },
            };
            if message.len() == 1 {
                // The common case needs no queue of frames.
                let frame = message.frames()[0].clone();
                state.rcvmore = false;
                self.end_of_message(&mut state);
                return Ok((frame, false));
            }
            state.incoming = message.into_frames().into();
        }
        let frame = state.incoming.pop_front().unwrap_or_default();
        let more = !state.incoming.is_empty();
        state.rcvmore = more;
        if !more {
            self.end_of_message(&mut state);
        }
        Ok((frame, more))
    }

    /// The last frame of a message was received: a REQ's exchange is over, a REP's
    /// begins.
    fn end_of_message(&self, state: &mut State) {
        if matches!(self.socket_type, SocketType::REQ | SocketType::REP) {
            state.in_exchange = self.socket_type == SocketType::REP;
        }
    }

    /// A blocking receive that found nothing queued, and found nothing queued the
    /// time before either: parks this thread until a message arrives, for at most
    /// RCVTIMEO.
    ///
    /// purezmq's own `recv` spins a while before it parks, for callers whose
    /// message may be a moment away on another thread. A caller that waited last
    /// time too (a REQ waiting for its reply, a REP for the next request) would
    /// spin in vain, taking the CPU from the I/O thread that delivers (on a busy
    /// machine, delaying the very message waited for). `recv_without_spin` parks at
    /// once; with a lone tcp or ipc peer it reads the connection itself when woken,
    /// as a REQ's or REP's send writes it itself.
    fn recv_waiting(&self) -> Result<purezmq::Message> {
        self.block_receiving(self.inner().recv_without_spin())
    }

    /// A blocking receive while the `get_fd` watcher takes messages off the socket:
    /// waits on the inbox, for at most RCVTIMEO.
    fn recv_watched(&self) -> Result<purezmq::Message> {
        let timeout = self.inner().options().rcvtimeo;
        let inbox = &self.inbox;
        let inner = self.inner();
        let wait = async {
            loop {
                let arrival = inbox.wait_arrival();
                if let Some(message) = inbox.pop() {
                    return Ok(message);
                }
                if let Some(message) = inner.try_recv()? {
                    return Ok(message);
                }
                arrival.await;
            }
        };
        self.block(async {
            match timeout {
                None => wait.await,
                Some(limit) => tokio::time::timeout(limit, wait)
                    .await
                    .unwrap_or(Err(purezmq::Error::Timeout(limit))),
            }
        })
    }

    /// `ZMQ_RCVMORE`: whether the frame last received has more after it.
    pub fn get_rcvmore(&self) -> Result<bool> {
        Ok(self.state.borrow().rcvmore)
    }

    /// `ZMQ_TYPE`.
    pub fn get_socket_type(&self) -> Result<SocketType> {
        Ok(self.socket_type)
    }

    /// Whether a frame can be received now, taking a message off the socket into
    /// the inbox to find out.
    pub(crate) fn readable_now(&self) -> bool {
        {
            let state = self.state.borrow();
            if !state.incoming.is_empty() || !state.prefetched.is_empty() {
                return true;
            }
        }
        if !self.inbox.is_empty() {
            return true;
        }
        match self.inner().try_recv() {
            Ok(Some(message)) => {
                self.inbox.push(VecDeque::from([message]));
                true
            }
            _ => false,
        }
    }

    /// Whether a frame can be sent now without `EAGAIN` (`ZMQ_POLLOUT`): the REQ/REP
    /// turn as this socket keeps it, and then whether the socket can take a message
    /// now (a peer below SNDHWM for PUSH, DEALER, REQ and PAIR…), as purezmq
    /// answers it for the socket type.
    ///
    /// Frames kept with SNDMORE are queued with the last one, so in the middle of
    /// a message it is whether that message can be queued now.
    pub(crate) fn writable_now(&self) -> bool {
        self.may_send() && self.inner().can_send()
    }

    /// Whether this socket's own turn lets it send: what only its owner's sends
    /// and receives change. A socket poll waits for room only when it does.
    pub(crate) fn may_send(&self) -> bool {
        let state = self.state.borrow();
        !state.outgoing.is_empty() || self.check_can_send(&state).is_ok()
    }
}

/// How many messages a receive takes off the socket at once while they arrive back
/// to back. They count against no HWM once taken, as libzmq's own batches between
/// its pipes and the application do not.
const PREFETCH: usize = 32;

/// Anything [`Socket::send`] takes: whatever converts into a [`Message`].
pub trait Sendable {
    /// Sends `self` as one frame.
    fn send(self, socket: &Socket, flags: i32) -> Result<()>;
}

impl<T> Sendable for T
where
    T: Into<Message>,
{
    fn send(self, socket: &Socket, flags: i32) -> Result<()> {
        socket.send_frame(self.into().into_bytes(), flags)
    }
}
