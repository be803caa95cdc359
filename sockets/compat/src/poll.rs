//! `zmq_poll`: waiting for any of several sockets and file descriptors.

use std::collections::VecDeque;
use std::future::Future;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use crate::context;
use crate::error::{Error, Result};
use crate::socket::Socket;

bitflags::bitflags! {
    /// Events to wait for, or that happened: [`POLLIN`], [`POLLOUT`], [`POLLERR`].
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct PollEvents: i16 {
        /// A frame (or, for a file descriptor, data) can be read.
        const POLLIN = 1;
        /// A frame (or data) can be written.
        const POLLOUT = 2;
        /// An error condition, for file descriptors only.
        const POLLERR = 4;
    }
}

/// A frame (or, for a file descriptor, data) can be read.
pub const POLLIN: PollEvents = PollEvents::POLLIN;
/// A frame (or data) can be written.
pub const POLLOUT: PollEvents = PollEvents::POLLOUT;
/// An error condition, for file descriptors only.
pub const POLLERR: PollEvents = PollEvents::POLLERR;

/// A socket or file descriptor to [`poll`], with the events to wait for and, after
/// `poll`, those that happened.
#[derive(Debug)]
pub struct PollItem<'a> {
    socket: Option<&'a Socket>,
    fd: RawFd,
    events: PollEvents,
    revents: PollEvents,
}

impl<'a> PollItem<'a> {
    /// An item for a file descriptor that is not a ZeroMQ socket (a pipe, a TCP
    /// socket…). It must stay open while polled.
    pub fn from_fd(fd: RawFd, events: PollEvents) -> PollItem<'a> {
        PollItem {
            socket: None,
            fd,
            events,
            revents: PollEvents::empty(),
        }
    }

    /// Changes the events to wait for.
    pub fn set_events(&mut self, events: PollEvents) {
        self.events = events;
    }

    /// The events that happened in the last `poll`.
    pub fn get_revents(&self) -> PollEvents {
        self.revents
    }

    /// Whether POLLIN happened.
    pub fn is_readable(&self) -> bool {
        self.revents.contains(POLLIN)
    }

    /// Whether POLLOUT happened.
    pub fn is_writable(&self) -> bool {
        self.revents.contains(POLLOUT)
    }

    /// Whether POLLERR happened.
    pub fn is_error(&self) -> bool {
        self.revents.contains(POLLERR)
    }

    /// Whether this item is for `socket`.
    pub fn has_socket(&self, socket: &Socket) -> bool {
        self.socket.is_some_and(|mine| std::ptr::eq(mine, socket))
    }

    /// Whether this item is for the file descriptor `fd`.
    pub fn has_fd(&self, fd: RawFd) -> bool {
        self.socket.is_none() && self.fd == fd
    }
}

impl Socket {
    /// A [`PollItem`] for this socket.
    pub fn as_poll_item(&self, events: PollEvents) -> PollItem<'_> {
        PollItem {
            socket: Some(self),
            fd: 0,
            events,
            revents: PollEvents::empty(),
        }
    }

    /// [`poll`] with this socket alone: 1 if one of `events` happened, 0 on timeout.
    pub fn poll(&self, events: PollEvents, timeout_ms: i64) -> Result<i32> {
        poll(&mut [self.as_poll_item(events)], timeout_ms)
    }
}

/// Waits until one of the items' events happens, or `timeout` ms pass (-1: no
/// limit, 0: look and return); returns how many items have events, which
/// [`PollItem::get_revents`] tells.
///
/// A socket is readable when a frame can be received, and writable when a frame
/// can be sent without `EAGAIN`, as libzmq decides it: by the socket type, the
/// REQ/REP turn and, for PUSH, DEALER, REQ and PAIR (and ROUTER with
/// ROUTER_MANDATORY), whether some peer is below SNDHWM. A wait for POLLOUT ends
/// as soon as a peer drains below SNDHWM or a peer arrives.
pub fn poll(items: &mut [PollItem], timeout: i64) -> Result<i32> {
    let deadline = u64::try_from(timeout)
        .ok()
        .map(|ms| Instant::now() + Duration::from_millis(ms));
    loop {
        let ready = scan(items)?;
        if ready > 0 {
            return Ok(ready);
        }
        let remaining = match deadline {
            None => None,
            Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Some(left),
                _ => return Ok(0),
            },
        };
        wait(items, remaining)?;
    }
}

/// Sets every item's `revents` to what holds now; returns how many have any.
fn scan(items: &mut [PollItem]) -> Result<i32> {
    let mut fds = Vec::new();
    for (i, item) in items.iter_mut().enumerate() {
        item.revents = PollEvents::empty();
        match item.socket {
            Some(socket) => {
                socket.check_term()?;
                if item.events.contains(POLLIN) && socket.readable_now() {
                    item.revents |= POLLIN;
                }
                if item.events.contains(POLLOUT) && socket.writable_now() {
                    item.revents |= POLLOUT;
                }
            }
            None => fds.push((i, pollfd(item.fd, item.events))),
        }
    }
    if !fds.is_empty() {
        let mut raw: Vec<libc::pollfd> = fds.iter().map(|(_, fd)| *fd).collect();
        let count = libc::nfds_t::try_from(raw.len()).map_err(|_| Error::EINVAL)?;
        // SAFETY: `raw` is a valid, initialised array of `count` pollfd structures
        // that lives across the call; a timeout of 0 makes poll(2) return at once.
        let rc = unsafe { libc::poll(raw.as_mut_ptr(), count, 0) };
        if rc < 0 {
            return Err(Error::EINTR);
        }
        for ((i, _), polled) in fds.iter().zip(&raw) {
            items[*i].revents = revents_of(polled.revents);
        }
    }
    Ok(items.iter().filter(|item| !item.revents.is_empty()).count() as i32)
}

fn pollfd(fd: RawFd, events: PollEvents) -> libc::pollfd {
    let mut wanted = 0;
    if events.contains(POLLIN) {
        wanted |= libc::POLLIN;
    }
    if events.contains(POLLOUT) {
        wanted |= libc::POLLOUT;
    }
    libc::pollfd {
        fd,
        events: wanted,
        revents: 0,
    }
}

/// As `zmq_poll`: anything but readable or writable is an error.
fn revents_of(revents: libc::c_short) -> PollEvents {
    let mut events = PollEvents::empty();
    if revents & libc::POLLIN != 0 {
        events |= POLLIN;
    }
    if revents & libc::POLLOUT != 0 {
        events |= POLLOUT;
    }
    if revents & !(libc::POLLIN | libc::POLLOUT) != 0 {
        events |= POLLERR;
    }
    events
}

/// What ended a wait.
enum Woken {
    /// Messages taken off the socket of item `.0`.
    Messages(usize, VecDeque<purezmq::Message>),
    /// Something else may have changed: look again.
    Look,
}

type Waiter = Pin<Box<dyn Future<Output = Woken>>>;

/// Waits until an item may have an event, or `limit` passes.
fn wait(items: &mut [PollItem], limit: Option<Duration>) -> Result<()> {
    let mut terminated = None;
    let mut waiters: Vec<Waiter> = Vec::new();
    let mut descriptors = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item.socket {
            Some(socket) => {
                terminated.get_or_insert_with(|| socket.context.inner.terminated.clone());
                // A REQ awaiting its reply, a REP before its request, change
                // only by their owner's calls: nothing to wait for. Otherwise wait
                // for room (a pipe falling below SNDHWM, a peer arriving).
                if item.events.contains(POLLOUT) && socket.may_send() {
                    let inner = socket.inner().clone();
                    waiters.push(Box::pin(async move {
                        inner.writable().await;
                        Woken::Look
                    }));
                }
                if item.events.contains(POLLIN) && socket.inbox.watched() {
                    // The `get_fd` watcher receives for the socket: wait on it.
                    let inbox = Arc::clone(&socket.inbox);
                    waiters.push(Box::pin(async move {
                        inbox.wait_arrival().await;
                        Woken::Look
                    }));
                } else if item.events.contains(POLLIN) {
                    let inner = socket.inner().clone();
                    waiters.push(Box::pin(async move {
                        let mut taken = VecDeque::new();
                        match inner.recv_batch(&mut taken, 1).await {
                            Ok(_) => Woken::Messages(i, taken),
                            // A socket that cannot receive now (a REQ before its
                            // request) will not until its owner acts: no wake-up.
                            Err(_) => std::future::pending().await,
                        }
                    }));
                }
            }
            None => {
                let interest = match (item.events.contains(POLLIN), item.events.contains(POLLOUT)) {
                    (_, false) => Interest::READABLE,
                    (false, true) => Interest::WRITABLE,
                    (true, true) => Interest::READABLE | Interest::WRITABLE,
                };
                descriptors.push((dup(item.fd)?, interest));
            }
        }
    }
    let woken = context::wait(async move {
        for (fd, interest) in descriptors {
            waiters.push(Box::pin(async move {
                // SAFETY: `fd` is an OwnedFd: open, and it stays open and the same
                // descriptor until the AsyncFd that owns it is dropped.
                match unsafe { AsyncFd::register_with_interest(fd, interest) } {
                    Ok(fd) => {
                        let _ = fd.ready(interest).await;
                    }
                    // Not pollable by epoll (a regular file, say): look now and then.
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                }
                Woken::Look
            }));
        }
        if let Some(limit) = limit {
            waiters.push(Box::pin(async move {
                tokio::time::sleep(limit).await;
                Woken::Look
            }));
        }
        if let Some(terminated) = terminated {
            waiters.push(Box::pin(async move {
                terminated.cancelled().await;
                Woken::Look
            }));
        }
        if waiters.is_empty() {
            // Nothing can ever happen, as with zmq_poll on no items and no timeout.
            std::future::pending::<()>().await;
        }
        futures::future::select_all(waiters).await.0
    });
    if let Woken::Messages(i, taken) = woken
        && let Some(socket) = items[i].socket
    {
        socket.inbox.push(taken);
    }
    Ok(())
}

/// A descriptor of our own for `fd`, so that registering it with the runtime
/// cannot disturb the caller's.
fn dup(fd: RawFd) -> Result<OwnedFd> {
    // SAFETY: dup(2) reads no memory; any integer is a valid argument (a closed
    // descriptor gives EBADF).
    let copy = unsafe { libc::dup(fd) };
    if copy < 0 {
        return Err(Error::EINVAL);
    }
    // SAFETY: `copy` was just returned by dup(2), is open, and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(copy) })
}
