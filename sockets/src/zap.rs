//! Authentication: the seam where a socket asks who may connect (ZAP, RFC 27).
//!
//! A server socket with a [`ZapHandler`] hands every peer's credentials to it during
//! the handshake and admits the peer only on status 200. Status 300 disconnects
//! without telling the peer; 400 and 500 send it an ERROR with the code. A NULL
//! socket asks only when it has a ZAP domain, as in libzmq; PLAIN (and CURVE) servers
//! always ask. Without a handler every peer is admitted.
//!
//! ```
//! use purezmq::zap::{AuthReply, ZapRequest};
//! use purezmq::{Options, Security, Socket, SocketType};
//!
//! let options = Options { security: Security::PlainServer, ..Options::default() };
//! let server = Socket::with_options(SocketType::Rep, options)?;
//! server.set_zap_handler(|request: ZapRequest| async move {
//!     match request.credentials.as_slice() {
//!         [user, password] if user == "admin" && password == "secret" => AuthReply::accept("admin"),
//!         _ => AuthReply::deny(400, "wrong user name or password"),
//!     }
//! });
//! # Ok::<(), purezmq::Error>(())
//! ```

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
pub use purezmq_zmtp::{AuthReply, MechanismName};

/// What a ZAP handler is asked: one peer's attempt to connect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZapRequest {
    /// The socket's ZAP_DOMAIN.
    pub domain: String,
    /// The peer's address: its IP for tcp, empty for ipc.
    pub address: String,
    /// The routing id the socket uses for the peer, if known.
    pub routing_id: Bytes,
    /// NULL, PLAIN or CURVE.
    pub mechanism: MechanismName,
    /// None for NULL; user name and password for PLAIN; the client's public key for
    /// CURVE.
    pub credentials: Vec<Bytes>,
}

/// A boxed answer.
pub type ZapFuture = Pin<Box<dyn Future<Output = AuthReply> + Send>>;

/// Decides who may connect. Implemented for every `Fn(ZapRequest) -> impl Future<Output
/// = AuthReply>`.
pub trait ZapHandler: Send + Sync + 'static {
    /// The answer to one request.
    fn authenticate(&self, request: ZapRequest) -> ZapFuture;
}

impl<F, Fut> ZapHandler for F
where
    F: Fn(ZapRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = AuthReply> + Send + 'static,
{
    fn authenticate(&self, request: ZapRequest) -> ZapFuture {
        Box::pin(self(request))
    }
}

/// The handler a connection asks: the socket's own one. (The seam where a handler
/// bound at `inproc://zeromq.zap.01` is found when the socket has none.)
pub(crate) fn handler_for(
    own: Option<std::sync::Arc<dyn ZapHandler>>,
) -> Option<std::sync::Arc<dyn ZapHandler>> {
    own
}
