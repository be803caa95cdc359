//! The ZAP handler at `inproc://zeromq.zap.01`: what a connection asks when its
//! socket has no handler of its own.
//!
//! It talks to the socket bound there through a DEALER [`Socket`], so it lives with
//! the socket handle, at the top of the crate. The engines below reach it only as the
//! function [`bound_handler`], which every socket's core is given when it is made:
//! no module below imports this one.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bytes::Bytes;
use purezmq_zmtp::{Message, SocketType};
use tokio::sync::oneshot;

use crate::core::Core;
use crate::options::Options;
use crate::socket::Socket;
use crate::transport;
use crate::zap::{
    AuthReply, ZAP_ENDPOINT, ZAP_NAME, ZapFuture, ZapHandler, ZapRequest, parse_reply,
    request_frames,
};

/// How often a connection waiting for the handler at [`ZAP_ENDPOINT`] checks that it
/// is still there.
const LIVENESS_CHECK: Duration = Duration::from_millis(100);

/// The handler a connection asks when its socket has none of its own: the socket
/// bound at [`ZAP_ENDPOINT`] if there is one, else none. Every socket's core is
/// given this function when the socket is made (see `Core::zap_handler`).
pub(crate) fn bound_handler() -> Option<Arc<dyn ZapHandler>> {
    transport::inproc::binder(ZAP_NAME)?;
    Some(Arc::new(InprocHandler))
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
