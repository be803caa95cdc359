//! The policy hook: what a deployment decides about each request and reply as it
//! passes through the broker (seed 004's token checks at the broker).
//!
//! A [`Policy`] is called on every client request (the `mmi.*` ones included)
//! before the broker queues or answers it, and on every worker reply (PARTIAL and
//! FINAL alike) before it goes to the client. It answers with a [`Verdict`]:
//!
//! - [`Verdict::Forward`]: go on as usual.
//! - [`Verdict::Reject`]: for a request, the client gets these frames as the final
//!   reply (in its own version and framing, with the service it asked for) and no
//!   worker sees the request; for a reply, the client gets these frames instead of
//!   the worker's body.
//! - [`Verdict::Discard`]: drop it silently; the client hears nothing (a discarded
//!   FINAL still ends the request for the worker, which is free again).
//!
//! Rejections and discards are counted per service in the broker's
//! [`Stats`](super::Stats).
//!
//! The policy runs inside the broker's loop: it must not block. [`TokenAuth`] is
//! the example:
//!
//! ```
//! use purezmq_broker::broker::{Broker, BrokerConfig, TokenAuth};
//!
//! // Requests must carry one of these tokens as their first body frame.
//! let policy = TokenAuth::new(["s3cret", "0ther"]);
//! let broker = Broker::new(BrokerConfig::default())
//!     .bind("tcp://127.0.0.1:5555")
//!     .policy(policy);
//! # drop(broker);
//! ```

use std::collections::HashSet;

use bytes::Bytes;

use crate::mdp::{Framing, ReplyKind, Version, mmi};

/// A client request as the policy sees it.
#[derive(Debug, Clone, Copy)]
pub struct RequestView<'a> {
    /// The client's routing id on the broker's ROUTER socket.
    pub client: &'a Bytes,
    /// The client's protocol version.
    pub version: Version,
    /// Whether the client puts an empty frame first.
    pub framing: Framing,
    /// The service asked for.
    pub service: &'a Bytes,
    /// The request body.
    pub body: &'a [Bytes],
}

/// A worker reply as the policy sees it.
#[derive(Debug, Clone, Copy)]
pub struct ReplyView<'a> {
    /// The routing id of the client the reply goes to.
    pub client: &'a Bytes,
    /// The routing id of the worker that sent it.
    pub worker: &'a Bytes,
    /// The worker's service.
    pub service: &'a Bytes,
    /// A PARTIAL (MDP/0.2) or the final reply.
    pub kind: ReplyKind,
    /// The reply body.
    pub body: &'a [Bytes],
}

/// What to do with a request or a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Pass it on.
    Forward,
    /// Answer the client with this body instead.
    Reject(Vec<Bytes>),
    /// Drop it without a word.
    Discard,
}

/// Decides about requests and replies passing through the broker. Both methods
/// forward by default. Called from the broker's loop: keep them quick.
pub trait Policy: Send + 'static {
    /// A client's request, before it is queued or answered.
    fn on_request(&mut self, request: &RequestView<'_>) -> Verdict {
        let _ = request;
        Verdict::Forward
    }

    /// A worker's reply, before it goes to the client.
    fn on_reply(&mut self, reply: &ReplyView<'_>) -> Verdict {
        let _ = reply;
        Verdict::Forward
    }
}

/// The policy that forwards everything: the broker's default.
#[derive(Debug, Clone, Copy, Default)]
pub struct ForwardAll;

impl Policy for ForwardAll {}

/// Token authentication at the broker: a request whose token frame is not one of
/// the allowed tokens is rejected with `["401", "unauthorized: unknown token"]`.
///
/// The token is body frame 0 unless [`token_frame`](TokenAuth::token_frame) says
/// otherwise; it stays in the body the worker gets. `mmi.*` requests pass without
/// a token unless [`guard_mmi`](TokenAuth::guard_mmi) is set. Replies pass
/// untouched.
#[derive(Debug, Clone)]
pub struct TokenAuth {
    tokens: HashSet<Bytes>,
    frame: usize,
    guard_mmi: bool,
}

/// The status frame of a rejection by [`TokenAuth`].
pub const UNAUTHORIZED: &[u8] = b"401";
/// The text frame of a rejection by [`TokenAuth`].
pub const UNKNOWN_TOKEN: &[u8] = b"unauthorized: unknown token";

impl TokenAuth {
    /// Admits requests whose body frame 0 is one of `tokens`.
    pub fn new<T: Into<Bytes>>(tokens: impl IntoIterator<Item = T>) -> TokenAuth {
        TokenAuth {
            tokens: tokens.into_iter().map(Into::into).collect(),
            frame: 0,
            guard_mmi: false,
        }
    }

    /// Reads the token from body frame `index` instead of 0.
    pub fn token_frame(mut self, index: usize) -> TokenAuth {
        self.frame = index;
        self
    }

    /// Asks a token of `mmi.*` requests too.
    pub fn guard_mmi(mut self, guard: bool) -> TokenAuth {
        self.guard_mmi = guard;
        self
    }
}

impl Policy for TokenAuth {
    fn on_request(&mut self, request: &RequestView<'_>) -> Verdict {
        if !self.guard_mmi && mmi::is_mmi(request.service) {
            return Verdict::Forward;
        }
        match request.body.get(self.frame) {
            Some(token) if self.tokens.contains(token) => Verdict::Forward,
            _ => Verdict::Reject(vec![
                Bytes::from_static(UNAUTHORIZED),
                Bytes::from_static(UNKNOWN_TOKEN),
            ]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view<'a>(service: &'a Bytes, body: &'a [Bytes], client: &'a Bytes) -> RequestView<'a> {
        RequestView {
            client,
            version: Version::V02,
            framing: Framing::Bare,
            service,
            body,
        }
    }

    #[test]
    fn token_auth_admits_known_tokens_in_the_configured_frame() {
        let client = Bytes::from_static(b"c");
        let echo = Bytes::from_static(b"echo");
        let mut policy = TokenAuth::new(["good"]);
        let good = [Bytes::from_static(b"good"), Bytes::from_static(b"x")];
        assert_eq!(
            policy.on_request(&view(&echo, &good, &client)),
            Verdict::Forward
        );
        let bad = [Bytes::from_static(b"bad")];
        assert!(matches!(
            policy.on_request(&view(&echo, &bad, &client)),
            Verdict::Reject(body) if body[0] == UNAUTHORIZED
        ));
        assert!(matches!(
            policy.on_request(&view(&echo, &[], &client)),
            Verdict::Reject(_)
        ));
        let mut second = TokenAuth::new(["good"]).token_frame(1);
        let swapped = [Bytes::from_static(b"x"), Bytes::from_static(b"good")];
        assert_eq!(
            second.on_request(&view(&echo, &swapped, &client)),
            Verdict::Forward
        );
    }

    #[test]
    fn token_auth_lets_mmi_through_unless_guarded() {
        let client = Bytes::from_static(b"c");
        let mmi = Bytes::from_static(b"mmi.service");
        let body = [Bytes::from_static(b"echo")];
        assert_eq!(
            TokenAuth::new(["t"]).on_request(&view(&mmi, &body, &client)),
            Verdict::Forward
        );
        assert!(matches!(
            TokenAuth::new(["t"])
                .guard_mmi(true)
                .on_request(&view(&mmi, &body, &client)),
            Verdict::Reject(_)
        ));
    }
}
