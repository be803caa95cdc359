//! REQ: a request to the next peer with room (round-robin), behind an empty
//! delimiter; then only that peer's reply to that request is received.
//!
//! The state machine alternates send and receive unless REQ_RELAXED; with
//! REQ_CORRELATE each request carries a 4-byte id the reply must echo.

use bytes::Bytes;
use purezmq_zmtp::{Message, SocketType};

use super::{Context, FairQueue, LoadBalancer, Policy, refuse, would_block};
use crate::error::{Error, TrySendError};
use crate::options::Options;
use crate::peer::Peer;

#[derive(Default)]
pub(crate) struct Req {
    out: LoadBalancer,
    inp: FairQueue,
    /// A request is out and its reply not yet received.
    awaiting_reply: bool,
    /// The peer the request went to.
    peer: Option<u64>,
    /// The id of the last request (REQ_CORRELATE).
    request_id: u32,
}

impl Policy for Req {
    const TYPE: SocketType = SocketType::Req;

    fn attach(&mut self, id: u64, peer: &Peer) {
        self.out.attach(id, &peer.out);
    }

    fn detach(&mut self, id: u64, _peer: &Peer, _options: &Options) {
        self.out.detach(id);
    }

    fn send(&mut self, cx: &Context<'_>, message: Message) -> Result<(), TrySendError> {
        if self.awaiting_reply && !cx.options.req_relaxed {
            return refuse(
                Error::State(
                    "a REQ socket must receive the reply before it sends another request (or set REQ_RELAXED)",
                ),
                message,
            );
        }
        let Some((peer, pipe)) = self.out.pick() else {
            return would_block(message);
        };
        // As libzmq: drop every reply queued now, so that a stale reply from this
        // peer (to an earlier, abandoned request) is not taken for the new one.
        while self.inp.recv(cx.readiness, false).is_some() {}
        let mut frames = Vec::with_capacity(message.len() + 2);
        if cx.options.req_correlate {
            self.request_id = self.request_id.wrapping_add(1);
            frames.push(Bytes::copy_from_slice(&self.request_id.to_be_bytes()));
        }
        frames.push(Bytes::new());
        frames.extend(message);
        pipe.push(Message::from(frames));
        self.awaiting_reply = true;
        self.peer = Some(peer);
        Ok(())
    }

    /// As libzmq: not while the reply is awaited (unless REQ_RELAXED), else as
    /// DEALER, some peer below SNDHWM.
    fn has_out(&self, cx: &Context<'_>) -> bool {
        (!self.awaiting_reply || cx.options.req_relaxed) && self.out.has_out()
    }

    fn recv(&mut self, cx: &Context<'_>) -> Result<Option<Message>, Error> {
        if !self.awaiting_reply {
            return Err(Error::State(
                "a REQ socket must send a request before it can receive a reply",
            ));
        }
        while let Some((peer, message)) = self.inp.recv(cx.readiness, false) {
            if Some(peer) != self.peer {
                continue; // a late reply to an earlier request, or a stray message
            }
            let mut frames = message.into_iter();
            if cx.options.req_correlate {
                let id = frames.next();
                if id.as_deref() != Some(&self.request_id.to_be_bytes()[..]) {
                    continue;
                }
            }
            if !frames.next().is_some_and(|f| f.is_empty()) {
                continue; // no empty delimiter: not a reply
            }
            let body: Message = frames.collect();
            if body.is_empty() {
                continue;
            }
            self.awaiting_reply = false;
            return Ok(Some(body));
        }
        Ok(None)
    }

    fn fair_queue(&mut self) -> Option<&mut FairQueue> {
        Some(&mut self.inp)
    }

    fn alternates(&self) -> bool {
        true
    }
}
