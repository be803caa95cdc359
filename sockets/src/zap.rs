//! Authentication: the seam where a socket asks who may connect (ZAP, RFC 27).
//!
//! A server socket with a [`ZapHandler`] hands every peer's credentials to it during
//! the handshake and admits the peer only on status 200. Status 300 disconnects
//! without telling the peer; 400 and 500 send it an ERROR with the code. A NULL
//! socket asks only when it has a ZAP domain, as in libzmq; PLAIN (and CURVE) servers
//! always ask.
//!
//! A socket without a handler of its own asks whatever socket is bound at
//! [`ZAP_ENDPOINT`] (`inproc://zeromq.zap.01`), as libzmq does: the request goes there
//! as RFC 27 frames behind an empty delimiter, so a REP or ROUTER socket can answer
//! it, and the reply's frames decide. A reply that breaks RFC 27 refuses the peer with
//! status 500. With no handler and nothing bound there every peer is admitted (libzmq
//! without ZAP_ENFORCE_DOMAIN). [`Authenticator`](crate::auth::Authenticator) is a
//! ready-made handler for either way.
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
use purezmq_zmtp::Metadata;
pub use purezmq_zmtp::{AuthReply, MechanismName};

/// Where a socket without a handler of its own sends its ZAP requests (RFC 27).
pub const ZAP_ENDPOINT: &str = "inproc://zeromq.zap.01";
/// [`ZAP_ENDPOINT`]'s inproc name.
pub(crate) const ZAP_NAME: &str = "zeromq.zap.01";
/// The only ZAP version there is.
const VERSION: &[u8] = b"1.0";

/// What a ZAP handler is asked: one peer's attempt to connect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZapRequest {
    /// The socket's ZAP_DOMAIN.
    pub domain: String,
    /// The peer's address: its IP for tcp, empty for ipc.
    pub address: String,
    /// The asking socket's own ROUTING_ID (empty if it has none): the identity
    /// frame of a ZAP request, as libzmq fills it.
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

// ---- RFC 27 frames ----

/// A request that cannot be answered as it is.
#[derive(Debug)]
pub(crate) struct BadRequest {
    /// The request id, when the request has one to answer to.
    pub(crate) id: Option<Bytes>,
    /// Why the request is refused.
    pub(crate) reason: &'static str,
}

/// A request's frames: version, request id, domain, address, identity, mechanism and
/// the credentials.
pub(crate) fn request_frames(id: Bytes, request: &ZapRequest) -> Vec<Bytes> {
    let mut frames = vec![
        Bytes::from_static(VERSION),
        id,
        Bytes::copy_from_slice(request.domain.as_bytes()),
        Bytes::copy_from_slice(request.address.as_bytes()),
        request.routing_id.clone(),
        Bytes::copy_from_slice(request.mechanism.as_bytes()),
    ];
    frames.extend(request.credentials.iter().cloned());
    frames
}

/// Reads a request's frames (those after the envelope); returns its id and the request.
pub(crate) fn parse_request(frames: &[Bytes]) -> Result<(Bytes, ZapRequest), BadRequest> {
    let id = frames.get(1).cloned();
    let bad = |reason| BadRequest {
        id: id.clone(),
        reason,
    };
    let [
        version,
        id,
        domain,
        address,
        identity,
        mechanism,
        credentials @ ..,
    ] = frames
    else {
        return Err(bad("Not enough frames"));
    };
    if version != VERSION {
        return Err(bad("Invalid version"));
    }
    let mechanism = std::str::from_utf8(mechanism)
        .ok()
        .filter(|name| name.len() <= 20)
        .map(MechanismName::from_static)
        .ok_or_else(|| bad("Invalid mechanism"))?;
    let request = ZapRequest {
        domain: String::from_utf8_lossy(domain).into_owned(),
        address: String::from_utf8_lossy(address).into_owned(),
        routing_id: identity.clone(),
        mechanism,
        credentials: credentials.to_vec(),
    };
    Ok((id.clone(), request))
}

/// A reply's frames: version, request id, status code, status text, user id and
/// metadata. Only an acceptance names a user.
pub(crate) fn reply_frames(id: Bytes, reply: &AuthReply) -> Vec<Bytes> {
    let user_id = if reply.is_accepted() {
        reply.user_id.clone()
    } else {
        Bytes::new()
    };
    let mut metadata = bytes::BytesMut::new();
    reply.metadata.encode(&mut metadata);
    vec![
        Bytes::from_static(VERSION),
        id,
        Bytes::from(reply.status_code.to_string()),
        Bytes::from(reply.status_text.clone()),
        user_id,
        metadata.freeze(),
    ]
}

/// Reads a reply's frames (those after the empty delimiter); says what is wrong with
/// one that breaks RFC 27.
pub(crate) fn parse_reply(frames: &[Bytes]) -> Result<AuthReply, &'static str> {
    let [version, _id, status_code, status_text, user_id, metadata] = frames else {
        return Err("a ZAP reply has six frames after the delimiter");
    };
    if version != VERSION {
        return Err("the ZAP reply's version is not 1.0");
    }
    let status_code = match &status_code[..] {
        b"200" => 200,
        b"300" => 300,
        b"400" => 400,
        b"500" => 500,
        _ => return Err("the ZAP reply's status code is not 200, 300, 400 or 500"),
    };
    let metadata =
        Metadata::parse(metadata).map_err(|_| "the ZAP reply's metadata is malformed")?;
    Ok(AuthReply {
        status_code,
        status_text: String::from_utf8_lossy(status_text).into_owned(),
        user_id: if status_code == 200 {
            user_id.clone()
        } else {
            Bytes::new()
        },
        metadata,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(texts: &[&str]) -> Vec<Bytes> {
        texts
            .iter()
            .map(|t| Bytes::copy_from_slice(t.as_bytes()))
            .collect()
    }

    #[test]
    fn a_request_survives_its_frames() {
        let request = ZapRequest {
            domain: "global".into(),
            address: "127.0.0.1".into(),
            routing_id: Bytes::from_static(b"peer"),
            mechanism: MechanismName::PLAIN,
            credentials: frames(&["admin", "secret"]),
        };
        let sent = request_frames(Bytes::from_static(b"7"), &request);
        assert_eq!(
            sent,
            frames(&[
                "1.0",
                "7",
                "global",
                "127.0.0.1",
                "peer",
                "PLAIN",
                "admin",
                "secret"
            ])
        );
        let (id, back) = parse_request(&sent).unwrap();
        assert_eq!(id, "7");
        assert_eq!(back, request);
    }

    #[test]
    fn a_short_or_foreign_request_is_refused_with_its_id() {
        let short = parse_request(&frames(&["1.0", "9", "global"])).unwrap_err();
        assert_eq!(
            (short.id.as_deref(), short.reason),
            (Some(&b"9"[..]), "Not enough frames")
        );
        let foreign = parse_request(&frames(&["2.0", "9", "", "", "", "NULL"])).unwrap_err();
        assert_eq!(foreign.reason, "Invalid version");
        let nothing = parse_request(&[]).unwrap_err();
        assert!(nothing.id.is_none());
    }

    #[test]
    fn a_reply_survives_its_frames_and_names_a_user_only_when_accepting() {
        let accepted = AuthReply::accept("alice");
        let sent = reply_frames(Bytes::from_static(b"3"), &accepted);
        assert_eq!(sent, frames(&["1.0", "3", "200", "OK", "alice", ""]));
        assert_eq!(parse_reply(&sent).unwrap(), accepted);

        let refused = parse_reply(&frames(&["1.0", "3", "400", "no", "mallory", ""])).unwrap();
        assert_eq!(refused.status_code, 400);
        assert!(refused.user_id.is_empty());
    }

    #[test]
    fn replies_that_break_rfc_27_are_errors() {
        for bad in [
            frames(&["1.0", "3", "200", "OK", "alice"]),
            frames(&["1.1", "3", "200", "OK", "alice", ""]),
            frames(&["1.0", "3", "201", "OK", "alice", ""]),
            frames(&["1.0", "3", "200", "OK", "alice", "\x05cut"]),
        ] {
            assert!(parse_reply(&bad).is_err(), "{bad:?}");
        }
    }
}
