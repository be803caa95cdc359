//! REP: requests fair-queued from every peer; the envelope (everything up to the
//! empty delimiter) is kept and put back in front of the reply, which goes to the
//! peer the request came from. Receive and send alternate.

use bytes::Bytes;
use purezmq_zmtp::{Message, SocketType};

use super::{Context, FairQueue, Policy, refuse};
use crate::error::{Error, TrySendError};

#[derive(Default)]
pub(crate) struct Rep {
    inp: FairQueue,
    /// The envelope of the request being answered, and its peer.
    answering: Option<(u64, Vec<Bytes>)>,
}

impl Policy for Rep {
    const TYPE: SocketType = SocketType::Rep;

    fn recv(&mut self, cx: &Context<'_>) -> Result<Option<Message>, Error> {
        if self.answering.is_some() {
            return Err(Error::State(
                "a REP socket must send the reply before it receives another request",
            ));
        }
        while let Some((peer, message)) = self.inp.recv(cx.readiness, false) {
            let mut frames = message.into_frames();
            let Some(delimiter) = frames.iter().position(|f| f.is_empty()) else {
                continue; // no envelope: libzmq drops such a request
            };
            // The envelope keeps the allocation; a one-frame body needs none.
            let body: Message = frames.drain(delimiter + 1..).collect();
            if body.is_empty() {
                continue;
            }
            self.answering = Some((peer, frames));
            return Ok(Some(body));
        }
        Ok(None)
    }

    fn send(&mut self, cx: &Context<'_>, message: Message) -> Result<(), TrySendError> {
        let Some((peer, mut envelope)) = self.answering.take() else {
            return refuse(
                Error::State("a REP socket must receive a request before it can send a reply"),
                message,
            );
        };
        if let Some(p) = cx.peers.get(&peer) {
            envelope.extend(message);
            // libzmq drops a reply its peer has no room for, or whose peer is gone.
            if !p.out.is_full() {
                p.out.push(Message::from(envelope));
            }
        }
        Ok(())
    }

    /// Only with a request to answer; the reply is then always taken (dropped if
    /// its peer has no room or is gone), as libzmq's REP does.
    fn has_out(&self, _cx: &Context<'_>) -> bool {
        self.answering.is_some()
    }

    fn fair_queue(&mut self) -> Option<&mut FairQueue> {
        Some(&mut self.inp)
    }

    fn alternates(&self) -> bool {
        true
    }
}
