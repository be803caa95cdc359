//! The one error type of socket calls.

use std::io;
use std::time::Duration;

use bytes::Bytes;
use purezmq_zmtp::{Message, SocketType};

use crate::endpoint::EndpointError;
use crate::options::OptionsError;

/// Why a socket call failed. Each message says what to change.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An endpoint string does not parse.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// The options break one of libzmq's rules.
    #[error(transparent)]
    Options(#[from] OptionsError),
    /// The socket type does not do this (`ENOTSUP`), e.g. receiving on a PUB socket.
    #[error("{socket_type} sockets cannot {operation}")]
    NotSupported {
        /// The socket's type.
        socket_type: SocketType,
        /// What was asked: "send", "receive", "subscribe"…
        operation: &'static str,
    },
    /// A REQ or REP socket was used out of turn (`EFSM`).
    #[error("{0}")]
    State(&'static str),
    /// A message with no frames cannot be sent.
    #[error("cannot send a message with no frames; send at least one (possibly empty) frame")]
    EmptyMessage,
    /// A ROUTER message has no routing id frame in front of its body.
    #[error(
        "a ROUTER needs a routing id frame and at least one more frame; the message has {frames} frame(s)"
    )]
    MissingRoutingId {
        /// How many frames the message had.
        frames: usize,
    },
    /// With ROUTER_MANDATORY set, a message named a peer that is not connected
    /// (`EHOSTUNREACH`).
    #[error("no peer with routing id {routing_id:?} is connected (ROUTER_MANDATORY is set)")]
    HostUnreachable {
        /// The routing id the message named.
        routing_id: Bytes,
    },
    /// The operation did not complete within SNDTIMEO or RCVTIMEO (`EAGAIN`).
    #[error("timed out after {0:?} (set by ZMQ_SNDTIMEO or ZMQ_RCVTIMEO)")]
    Timeout(Duration),
    /// A non-blocking call would have had to wait (`EAGAIN`).
    #[error("the operation would block: no peer can take the message now")]
    WouldBlock,
    /// The socket is closed (`ETERM`).
    #[error("the socket is closed")]
    Closed,
    /// `bind` failed.
    #[error("cannot bind to {endpoint}: {source}")]
    Bind {
        /// The endpoint.
        endpoint: String,
        /// Why.
        source: io::Error,
    },
    /// A host name did not resolve to any address.
    #[error("cannot resolve {endpoint}: {reason}")]
    Resolve {
        /// The endpoint.
        endpoint: String,
        /// Why.
        reason: String,
    },
    /// `unbind` or `disconnect` named an endpoint the socket is not bound or
    /// connected to (`ENOENT`).
    #[error(
        "the socket is not {action} {endpoint}; use the endpoint bind or connect was given, or last_endpoint()"
    )]
    NoSuchEndpoint {
        /// "bound to" or "connected to".
        action: &'static str,
        /// The endpoint given.
        endpoint: String,
    },
    /// The inproc name is bound already (`EADDRINUSE`).
    #[error("inproc://{0} is bound by another socket already")]
    InprocInUse(String),
    /// Another I/O failure.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// A send that could not complete at once: the error, and the message back.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct TrySendError {
    /// Why the message was not sent.
    pub error: Error,
    /// The message, unsent.
    pub message: Message,
}

/// The result of socket calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;
