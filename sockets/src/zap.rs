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

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bytes::Bytes;
pub use purezmq_zmtp::{AuthReply, MechanismName};
use purezmq_zmtp::{Message, Metadata, SocketType};
use tokio::sync::oneshot;

use crate::core::Core;
use crate::options::Options;
use crate::socket::Socket;
use crate::transport;

/// Where a socket without a handler of its own sends its ZAP requests (RFC 27).
pub const ZAP_ENDPOINT: &str = "inproc://zeromq.zap.01";
/// [`ZAP_ENDPOINT`]'s inproc name.
const ZAP_NAME: &str = "zeromq.zap.01";
/// The only ZAP version there is.
const VERSION: &[u8] = b"1.0";
/// How often a connection waiting for the handler at [`ZAP_ENDPOINT`] checks that it
/// is still there.
const LIVENESS_CHECK: Duration = Duration::from_millis(100);

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

/// The handler a connection asks: the socket's own one, else the socket bound at
/// [`ZAP_ENDPOINT`] if there is one, else none.
pub(crate) fn handler_for(own: Option<Arc<dyn ZapHandler>>) -> Option<Arc<dyn ZapHandler>> {
    if own.is_some() {
        return own;
    }
    transport::inproc::binder(ZAP_NAME)?;
    Some(Arc::new(InprocHandler))
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

// ---- the handler at inproc://zeromq.zap.01 ----

/// What a connection asks when its socket has no handler but one is bound at
/// [`ZAP_ENDPOINT`].
struct InprocHandler;

impl ZapHandler for InprocHandler {
    fn authenticate(&self, request: ZapRequest) -> ZapFuture {
        Box::pin(async move {
            match InprocClient::current() {
                Ok(Some(client)) => client.ask(request).await,
                // The handler went between the handshake's start and now: as when
                // there is none (libzmq without ZAP_ENFORCE_DOMAIN).
                Ok(None) => AuthReply::accept(Bytes::new()),
                Err(e) => AuthReply::deny(500, format!("cannot reach the ZAP handler: {e}")),
            }
        })
    }
}

/// The process's one connection to the socket bound at [`ZAP_ENDPOINT`]: a DEALER
/// that every waiting connection shares, replies matched to requests by id.
struct InprocClient {
    /// The socket bound at [`ZAP_ENDPOINT`] when this client connected to it.
    binder: Weak<Core>,
    dealer: Socket,
    next_id: AtomicU64,
    /// Requests sent and not yet answered, oldest first.
    pending: Mutex<BTreeMap<u64, oneshot::Sender<AuthReply>>>,
    /// Held by the one waiting request that reads replies for all of them.
    reading: tokio::sync::Mutex<()>,
}

/// The client for the socket bound at [`ZAP_ENDPOINT`] now.
static CLIENT: Mutex<Option<Arc<InprocClient>>> = Mutex::new(None);

impl InprocClient {
    /// The client for the socket bound at [`ZAP_ENDPOINT`] now, connected on first
    /// use and again whenever another socket binds there; none when nothing is bound.
    fn current() -> crate::Result<Option<Arc<InprocClient>>> {
        let Some(binder) = transport::inproc::binder(ZAP_NAME) else {
            return Ok(None);
        };
        let mut slot = CLIENT.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(client) = &*slot
            && Weak::ptr_eq(&client.binder, &binder)
        {
            return Ok(Some(Arc::clone(client)));
        }
        let options = Options {
            linger: Some(Duration::ZERO),
            ..Options::default()
        };
        let dealer = Socket::with_options(SocketType::Dealer, options)?;
        dealer.connect(ZAP_ENDPOINT)?;
        let client = Arc::new(InprocClient {
            binder,
            dealer,
            next_id: AtomicU64::new(1),
            pending: Mutex::new(BTreeMap::new()),
            reading: tokio::sync::Mutex::new(()),
        });
        *slot = Some(Arc::clone(&client));
        Ok(Some(client))
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, oneshot::Sender<AuthReply>>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends one request and waits for its reply. Whichever waiting request holds
    /// `reading` receives replies for everyone, so no task of its own is needed and
    /// the client serves connections of any runtime.
    async fn ask(&self, request: ZapRequest) -> AuthReply {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (answer, mut answered) = oneshot::channel();
        self.pending().insert(id, answer);
        let _forget = Forget { client: self, id };
        let mut message = Message::new();
        message.push(Bytes::new());
        for frame in request_frames(Bytes::from(id.to_string()), &request) {
            message.push(frame);
        }
        if let Err(e) = self.dealer.send(message).await {
            return AuthReply::deny(500, format!("cannot ask the ZAP handler: {e}"));
        }
        loop {
            let turn = tokio::select! {
                biased;
                reply = &mut answered => return reply.unwrap_or_else(|_| gone()),
                turn = self.reading.lock() => turn,
            };
            if let Ok(reply) = answered.try_recv() {
                return reply;
            }
            match tokio::time::timeout(LIVENESS_CHECK, self.dealer.recv()).await {
                Ok(Ok(reply)) => self.dispatch(reply),
                Ok(Err(e)) => {
                    self.fail_all(&format!("cannot hear the ZAP handler: {e}"));
                }
                Err(_) if self.binder.strong_count() == 0 => {
                    self.fail_all("the ZAP handler at inproc://zeromq.zap.01 went away");
                }
                Err(_) => {}
            }
            drop(turn);
        }
    }

    /// Hands a reply to the request it answers. A reply that breaks RFC 27 refuses
    /// its request with 500; when it names no request it can be matched to, the
    /// oldest one waiting (a REP handler answers in order).
    fn dispatch(&self, reply: Message) {
        let frames = reply.frames();
        let parsed = match frames.split_first() {
            Some((delimiter, body)) if delimiter.is_empty() => parse_reply(body),
            _ => Err("a ZAP reply starts with an empty delimiter frame"),
        };
        let body = match frames.first() {
            Some(first) if first.is_empty() => &frames[1..],
            _ => frames,
        };
        let id = body
            .get(1)
            .and_then(|id| std::str::from_utf8(id).ok())
            .and_then(|id| id.parse::<u64>().ok());
        let mut pending = self.pending();
        let target = match (id, &parsed) {
            (Some(id), _) if pending.contains_key(&id) => id,
            // A late answer to a request whose connection gave up.
            (_, Ok(_)) => return,
            (_, Err(_)) => match pending.keys().next() {
                Some(&oldest) => oldest,
                None => return,
            },
        };
        let reply = parsed.unwrap_or_else(|why| AuthReply::deny(500, why));
        if let Some(answer) = pending.remove(&target) {
            let _ = answer.send(reply);
        }
    }

    /// Refuses every waiting request with 500.
    fn fail_all(&self, why: &str) {
        for (_, answer) in std::mem::take(&mut *self.pending()) {
            let _ = answer.send(AuthReply::deny(500, why));
        }
    }
}

fn gone() -> AuthReply {
    AuthReply::deny(500, "the ZAP handler at inproc://zeromq.zap.01 went away")
}

/// Forgets a request whose connection stopped waiting for it.
struct Forget<'a> {
    client: &'a InprocClient,
    id: u64,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.client.pending().remove(&self.id);
    }
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
