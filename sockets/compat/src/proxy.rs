//! `zmq_proxy` and `zmq_proxy_steerable`: moving messages between two sockets.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;

use crate::error::{Error, Result, from_purezmq};
use crate::socket::Socket;

/// Moves messages between `frontend` and `backend` in the calling thread, both ways,
/// until the context is destroyed (then `Err(ETERM)`), as `zmq_proxy` does.
pub fn proxy(frontend: &Socket, backend: &Socket) -> Result<()> {
    run(frontend, backend, None, None)
}

/// [`proxy`], sending a copy of every message to `capture` too.
pub fn proxy_with_capture(
    frontend: &mut Socket,
    backend: &mut Socket,
    capture: &mut Socket,
) -> Result<()> {
    run(frontend, backend, Some(capture), None)
}

/// [`proxy`], steered by messages on `control`: `PAUSE` stops moving messages,
/// `RESUME` goes on, `TERMINATE` ends the proxy with `Ok(())`, and `STATISTICS`
/// is answered with eight native-endian `u64` frames (messages and bytes in and out
/// of the frontend, then of the backend). A REP control socket gets an empty reply
/// to the other commands, so that its REQ may send the next.
pub fn proxy_steerable(
    frontend: &mut Socket,
    backend: &mut Socket,
    control: &mut Socket,
) -> Result<()> {
    run(frontend, backend, None, Some(control))
}

/// [`proxy_steerable`] with a capture socket, as [`proxy_with_capture`].
pub fn proxy_steerable_with_capture(
    frontend: &mut Socket,
    backend: &mut Socket,
    capture: &mut Socket,
    control: &mut Socket,
) -> Result<()> {
    run(frontend, backend, Some(capture), Some(control))
}

/// Messages and bytes in and out of one side.
#[derive(Default)]
struct Counts {
    messages_in: u64,
    bytes_in: u64,
    messages_out: u64,
    bytes_out: u64,
}

fn run(
    frontend: &Socket,
    backend: &Socket,
    capture: Option<&Socket>,
    control: Option<&Socket>,
) -> Result<()> {
    let mut paused = false;
    let mut counts = [Counts::default(), Counts::default()];
    let mut first = 0;
    loop {
        // 0 is the frontend, 1 the backend, 2 the control socket.
        let mut sources: Vec<(usize, &Socket)> = Vec::new();
        if !paused {
            // A PUSH or PUB side only sends, as zmq_proxy's POLLIN never fires on it.
            let sides = [
                (first, if first == 0 { frontend } else { backend }),
                (1 - first, if first == 0 { backend } else { frontend }),
            ];
            sources.extend(sides.into_iter().filter(|(_, s)| receives(s)));
            first = 1 - first;
        }
        if let Some(control) = control {
            sources.push((2, control));
        }
        let (from, message) = next_message(frontend, &sources)?;
        if from == 2
            && let Some(control) = control
        {
            let command = message.frames().first().map(|f| &f[..]);
            let reply = match command {
                Some(b"STATISTICS") => counts
                    .iter()
                    .flat_map(|c| [c.messages_in, c.bytes_in, c.messages_out, c.bytes_out])
                    .map(|n| Bytes::copy_from_slice(&n.to_ne_bytes()))
                    .collect(),
                // A REP must answer before it can take the next command.
                _ if control.get_socket_type() == Ok(crate::REP) => vec![Bytes::new()],
                _ => Vec::new(),
            };
            if !reply.is_empty() {
                control.block(control.inner().send(purezmq::Message::from(reply)))?;
            }
            match command {
                Some(b"PAUSE") => paused = true,
                Some(b"RESUME") => paused = false,
                Some(b"TERMINATE") => return Ok(()),
                _ => {}
            }
            continue;
        }
        let size = message.size() as u64;
        counts[from].messages_in += 1;
        counts[from].bytes_in += size;
        if let Some(capture) = capture {
            // As libzmq: the capture socket gets what it can take without waiting.
            let _ = capture.inner().try_send(message.clone());
        }
        let to = if from == 0 { backend } else { frontend };
        to.block(to.inner().send(message))?;
        counts[1 - from].messages_out += 1;
        counts[1 - from].bytes_out += size;
    }
}

/// Whether the socket's type receives messages.
fn receives(socket: &Socket) -> bool {
    !matches!(socket.get_socket_type(), Ok(crate::PUSH | crate::PUB))
}

/// A whole message already taken off `socket` by the compat layer, or queued in it.
fn take_ready(socket: &Socket) -> Result<Option<purezmq::Message>> {
    let mut state = socket.state.borrow_mut();
    if let Some(message) = state.take_partial() {
        return Ok(Some(message));
    }
    drop(state);
    if let Some(message) = socket.inbox.pop() {
        return Ok(Some(message));
    }
    socket.inner().try_recv().map_err(from_purezmq)
}

type Receiving =
    Pin<Box<dyn Future<Output = purezmq::Result<(usize, VecDeque<purezmq::Message>)>>>>;

/// The next message from any of `sources`, waiting for one.
fn next_message(any: &Socket, sources: &[(usize, &Socket)]) -> Result<(usize, purezmq::Message)> {
    loop {
        for (index, socket) in sources {
            if let Some(message) = take_ready(socket)? {
                return Ok((*index, message));
            }
        }
        let waits: Vec<Receiving> = sources
            .iter()
            .map(|(index, socket)| {
                let index = *index;
                let inner = socket.inner().clone();
                let inbox = Arc::clone(&socket.inbox);
                Box::pin(async move {
                    let mut taken = VecDeque::new();
                    if inbox.watched() {
                        // The `get_fd` watcher receives for the socket: wait on it.
                        inbox.wait_arrival().await;
                    } else {
                        inner.recv_batch(&mut taken, 1).await?;
                    }
                    Ok((index, taken))
                }) as Receiving
            })
            .collect();
        if waits.is_empty() {
            return Err(Error::EINVAL);
        }
        let (index, taken) = any.block(async { futures::future::select_all(waits).await.0 })?;
        if let Some((_, socket)) = sources.iter().find(|(i, _)| *i == index) {
            socket.inbox.push(taken);
        }
    }
}
