//! Socket monitoring: libzmq's `zmq_socket_monitor` events as an async stream.
//!
//! ```no_run
//! # async fn example() -> purezmq::Result<()> {
//! use futures::StreamExt;
//! use purezmq::{Socket, SocketType};
//!
//! let socket = Socket::new(SocketType::Rep);
//! let mut monitor = socket.monitor();
//! socket.bind("tcp://127.0.0.1:*")?;
//! while let Some(event) = monitor.next().await {
//!     println!("{} on {}", event.kind, event.endpoint);
//! }
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use tokio::sync::mpsc;

/// What happened, with libzmq's event names (`ZMQ_EVENT_*`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    /// `CONNECTED`: a connect reached its peer.
    Connected,
    /// `CONNECT_DELAYED`: a connect did not complete at once and is pending.
    ConnectDelayed,
    /// `CONNECT_RETRIED`: a connect will be tried again after this interval.
    ConnectRetried(Duration),
    /// `LISTENING`: a bind is accepting connections.
    Listening,
    /// `BIND_FAILED`: a bind failed, with the reason.
    BindFailed(String),
    /// `ACCEPTED`: a bound endpoint accepted a connection.
    Accepted,
    /// `ACCEPT_FAILED`: accepting a connection failed, with the reason.
    AcceptFailed(String),
    /// `CLOSED`: a listener was closed (unbind or socket close).
    Closed,
    /// `DISCONNECTED`: a connection ended.
    Disconnected,
    /// `HANDSHAKE_SUCCEEDED`: the ZMTP handshake completed; messages may flow.
    HandshakeSucceeded,
    /// `HANDSHAKE_FAILED_NO_DETAIL`: the handshake failed, e.g. the peer went away or
    /// took too long.
    HandshakeFailedNoDetail(String),
    /// `HANDSHAKE_FAILED_PROTOCOL`: the peer broke ZMTP during the handshake.
    HandshakeFailedProtocol(String),
    /// `HANDSHAKE_FAILED_AUTH`: authentication failed; the ZAP status code, if one
    /// was given, and the reason.
    HandshakeFailedAuth {
        /// The ZAP status code (300, 400 or 500), or 0 when the peer refused us.
        status_code: u16,
        /// Why.
        reason: String,
    },
    /// Not one of libzmq's events: an established connection was dropped because
    /// the peer broke the protocol, exceeded MAXMSGSIZE or stopped answering
    /// heartbeats. A `Disconnected` follows.
    ProtocolError(String),
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventKind::Connected => f.write_str("CONNECTED"),
            EventKind::ConnectDelayed => f.write_str("CONNECT_DELAYED"),
            EventKind::ConnectRetried(ivl) => write!(f, "CONNECT_RETRIED ({ivl:?})"),
            EventKind::Listening => f.write_str("LISTENING"),
            EventKind::BindFailed(why) => write!(f, "BIND_FAILED ({why})"),
            EventKind::Accepted => f.write_str("ACCEPTED"),
            EventKind::AcceptFailed(why) => write!(f, "ACCEPT_FAILED ({why})"),
            EventKind::Closed => f.write_str("CLOSED"),
            EventKind::Disconnected => f.write_str("DISCONNECTED"),
            EventKind::HandshakeSucceeded => f.write_str("HANDSHAKE_SUCCEEDED"),
            EventKind::HandshakeFailedNoDetail(why) => {
                write!(f, "HANDSHAKE_FAILED_NO_DETAIL ({why})")
            }
            EventKind::HandshakeFailedProtocol(why) => {
                write!(f, "HANDSHAKE_FAILED_PROTOCOL ({why})")
            }
            EventKind::HandshakeFailedAuth {
                status_code,
                reason,
            } => write!(f, "HANDSHAKE_FAILED_AUTH ({status_code}: {reason})"),
            EventKind::ProtocolError(why) => write!(f, "PROTOCOL_ERROR ({why})"),
        }
    }
}

/// One monitor event: what happened, and on which endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// The endpoint: the one bound or connected to, or for an accepted connection
    /// the bound endpoint.
    pub endpoint: String,
}

/// The stream of a socket's events, from [`Socket::monitor`](crate::Socket::monitor).
/// It ends when the socket is closed.
pub struct Monitor {
    events: mpsc::UnboundedReceiver<Event>,
}

impl Stream for Monitor {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.events.poll_recv(cx)
    }
}

impl Monitor {
    /// The next event; `None` once the socket is closed.
    pub async fn recv(&mut self) -> Option<Event> {
        self.events.recv().await
    }
}

/// The sending side, held by the socket.
#[derive(Default)]
pub(crate) struct Monitors {
    senders: Mutex<Vec<mpsc::UnboundedSender<Event>>>,
}

impl Monitors {
    pub(crate) fn subscribe(&self) -> Monitor {
        let (tx, rx) = mpsc::unbounded_channel();
        self.senders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(tx);
        Monitor { events: rx }
    }

    pub(crate) fn emit(&self, kind: EventKind, endpoint: &str) {
        let mut senders = self.senders.lock().unwrap_or_else(|e| e.into_inner());
        if senders.is_empty() {
            return;
        }
        let event = Event {
            kind,
            endpoint: endpoint.to_owned(),
        };
        senders.retain(|tx| tx.send(event.clone()).is_ok());
    }

    /// Ends every monitor stream.
    pub(crate) fn close(&self) {
        self.senders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}
