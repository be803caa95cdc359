//! The three Titanic services as functions: request frames in, reply frames out.
//!
//! Each function is what one MDP worker (`titanic.request`, `titanic.reply`,
//! `titanic.close`) answers for a request's body frames. The first reply frame is the
//! status of RFC 9: three digits, a space and a short text that clients must not
//! interpret ([`Status`] reads and writes it).
//!
//! The functions block while the store commits to disk: from async code (the MDP
//! workers' handlers), call them through `tokio::task::spawn_blocking`.
//!
//! Decisions the RFC leaves open:
//! - `titanic.request` answers `400` (the RFC's "invalid, do not retry") to a request
//!   without a service frame, an empty service name, a name longer than the broker
//!   accepts ([`mdp::MAX_SERVICE_LEN`]), a name that is not printable ASCII (bytes 0x20
//!   to 0x7e), and names starting with `titanic.` (Titanic would call
//!   itself) or `mmi.` (the broker answers those at once about its present state; a
//!   stored, replayed query would answer about some later time). A request with no body
//!   frames after the service name is accepted: MDP allows empty bodies.
//! - `titanic.reply` and `titanic.close` take exactly one frame, the UUID in either
//!   case; anything else is `400`. `titanic.close` answers `200` for unknown UUIDs, as
//!   the RFC requires.
//! - A store error (disk, corruption, or the pending limit reached) is `500`: the client
//!   should retry later.

use std::fmt;

use bytes::Bytes;

use super::store::{Lookup, Store};
use super::{TitanicError, Uuid};
use crate::mdp;

/// The name of the service that stores requests.
pub const REQUEST: &str = "titanic.request";
/// The name of the service that gives replies.
pub const REPLY: &str = "titanic.reply";
/// The name of the service that forgets requests and replies.
pub const CLOSE: &str = "titanic.close";

/// RFC 9's status codes, the first frame of every Titanic reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// 200: done; for `titanic.reply`, the service's reply follows.
    Ok,
    /// 300: the request has no reply yet; ask again later.
    Pending,
    /// 400: an invalid or unknown UUID (or request); do not retry.
    Unknown,
    /// 500: Titanic could not do it now; retry later.
    Error,
}

/// Why a frame is not an RFC 9 status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusError {
    /// The frame does not start with three digits, or they are not followed by a space.
    #[error("a Titanic status is three digits, optionally followed by a space and text")]
    Malformed,
    /// Three digits that RFC 9 does not define.
    #[error("Titanic status {0} is not one RFC 9 defines (200, 300, 400, 500)")]
    Undefined(u16),
}

impl Status {
    /// The three digits.
    pub fn code(self) -> u16 {
        match self {
            Status::Ok => 200,
            Status::Pending => 300,
            Status::Unknown => 400,
            Status::Error => 500,
        }
    }

    /// The status frame: the code, then a space and `text` unless it is empty.
    pub fn frame(self, text: &str) -> Bytes {
        if text.is_empty() {
            Bytes::from(self.code().to_string())
        } else {
            Bytes::from(format!("{} {text}", self.code()))
        }
    }

    /// Reads a status frame; the text after the digits is ignored, as RFC 9 requires.
    pub fn parse(frame: &[u8]) -> Result<Status, StatusError> {
        let (digits, rest) = frame.split_at_checked(3).ok_or(StatusError::Malformed)?;
        if !digits.iter().all(u8::is_ascii_digit) || !(rest.is_empty() || rest[0] == b' ') {
            return Err(StatusError::Malformed);
        }
        let code = digits
            .iter()
            .fold(0u16, |code, digit| code * 10 + u16::from(digit - b'0'));
        match code {
            200 => Ok(Status::Ok),
            300 => Ok(Status::Pending),
            400 => Ok(Status::Unknown),
            500 => Ok(Status::Error),
            other => Err(StatusError::Undefined(other)),
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}

/// Answers a request to one of the three services by name; `None` for other names.
pub fn handle(store: &Store, service: &[u8], frames: &[Bytes]) -> Option<Vec<Bytes>> {
    match service {
        s if s == REQUEST.as_bytes() => Some(request(store, frames)),
        s if s == REPLY.as_bytes() => Some(reply(store, frames)),
        s if s == CLOSE.as_bytes() => Some(close(store, frames)),
        _ => None,
    }
}

/// `titanic.request`: frame 0 names a service, frames 1+ are its request; stores it and
/// answers `["200", uuid]`.
pub fn request(store: &Store, frames: &[Bytes]) -> Vec<Bytes> {
    let Some((service, body)) = frames.split_first() else {
        return status(Status::Unknown, "no service name frame");
    };
    if let Err(why) = check_service_name(service) {
        tracing::debug!(why, "titanic.request refused");
        return status(Status::Unknown, why);
    }
    match store.accept(service, body) {
        Ok(uuid) => vec![Status::Ok.frame(""), Bytes::copy_from_slice(&uuid.to_hex())],
        Err(error) => store_error(REQUEST, &error),
    }
}

/// `titanic.reply`: frame 0 is a UUID; answers `["200", reply...]`, `["300"]` while the
/// request is pending, `["400"]` for an unknown or malformed UUID.
pub fn reply(store: &Store, frames: &[Bytes]) -> Vec<Bytes> {
    let uuid = match one_uuid(frames) {
        Ok(uuid) => uuid,
        Err(reply) => return reply,
    };
    match store.reply(uuid) {
        Ok(Lookup::Ready(frames)) => {
            let mut reply = Vec::with_capacity(1 + frames.len());
            reply.push(Status::Ok.frame(""));
            reply.extend(frames);
            reply
        }
        Ok(Lookup::Pending) => status(Status::Pending, "pending"),
        Ok(Lookup::Unknown) => status(Status::Unknown, "unknown request"),
        Err(error) => store_error(REPLY, &error),
    }
}

/// `titanic.close`: frame 0 is a UUID; forgets its request and reply and answers
/// `["200"]`, also for unknown UUIDs.
pub fn close(store: &Store, frames: &[Bytes]) -> Vec<Bytes> {
    let uuid = match one_uuid(frames) {
        Ok(uuid) => uuid,
        Err(reply) => return reply,
    };
    match store.close(uuid) {
        Ok(()) => status(Status::Ok, ""),
        Err(error) => store_error(CLOSE, &error),
    }
}

/// Whether `name` may be stored for later delivery (see the module docs); the error is
/// the reason, as sent after "400".
pub fn check_service_name(name: &[u8]) -> Result<(), &'static str> {
    if name.is_empty() {
        Err("empty service name")
    } else if name.len() > mdp::MAX_SERVICE_LEN {
        Err("service name longer than 255 bytes")
    } else if !name.iter().all(|b| (0x20..=0x7e).contains(b)) {
        Err("service name is not printable ASCII")
    } else if name.starts_with(b"titanic.") {
        Err("titanic.* services cannot be called through Titanic")
    } else if mdp::mmi::is_mmi(name) {
        Err("mmi.* services cannot be called through Titanic")
    } else {
        Ok(())
    }
}

fn one_uuid(frames: &[Bytes]) -> Result<Uuid, Vec<Bytes>> {
    match frames {
        [frame] => Uuid::parse(frame).map_err(|error| {
            tracing::debug!(%error, "titanic: malformed UUID");
            status(Status::Unknown, "malformed UUID")
        }),
        _ => Err(status(Status::Unknown, "expected one UUID frame")),
    }
}

fn store_error(service: &str, error: &TitanicError) -> Vec<Bytes> {
    match error {
        TitanicError::Full { .. } => {
            tracing::warn!(service, %error, "titanic: request refused");
            status(Status::Error, "full, retry later")
        }
        _ => {
            tracing::error!(service, %error, "titanic: store error");
            status(Status::Error, "store error, retry later")
        }
    }
}

fn status(status: Status, text: &str) -> Vec<Bytes> {
    vec![status.frame(text)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(list: &[&[u8]]) -> Vec<Bytes> {
        list.iter().map(|f| Bytes::copy_from_slice(f)).collect()
    }

    fn code(reply: &[Bytes]) -> Status {
        Status::parse(&reply[0]).unwrap()
    }

    #[test]
    fn request_reply_close_through_the_status_codes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 10).unwrap();

        let accepted = request(&store, &frames(&[b"echo", b"hello"]));
        assert_eq!(accepted.len(), 2);
        assert_eq!(accepted[0], "200");
        let uuid = accepted[1].clone();
        assert_eq!(uuid.len(), 32);
        assert!(
            uuid.iter()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );

        assert_eq!(
            code(&reply(&store, std::slice::from_ref(&uuid))),
            Status::Pending
        );

        let id = Uuid::parse(&uuid).unwrap();
        store.complete(id, &frames(&[b"hello", b"world"])).unwrap();
        assert_eq!(
            reply(&store, std::slice::from_ref(&uuid)),
            frames(&[b"200", b"hello", b"world"])
        );
        // Upper case is the same UUID.
        let upper = Bytes::from(uuid.to_ascii_uppercase());
        assert_eq!(code(&reply(&store, &[upper])), Status::Ok);

        assert_eq!(
            close(&store, std::slice::from_ref(&uuid)),
            frames(&[b"200"])
        );
        assert_eq!(
            code(&reply(&store, std::slice::from_ref(&uuid))),
            Status::Unknown
        );
        assert_eq!(close(&store, &[uuid]), frames(&[b"200"]));
    }

    #[test]
    fn close_answers_200_for_unknown_uuids() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 10).unwrap();
        let unknown = Bytes::copy_from_slice(&Uuid::random().to_hex());
        assert_eq!(
            close(&store, std::slice::from_ref(&unknown)),
            frames(&[b"200"])
        );
        assert_eq!(code(&reply(&store, &[unknown])), Status::Unknown);
    }

    #[test]
    fn malformed_uuids_are_400() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 10).unwrap();
        for bad in [
            frames(&[]),
            frames(&[b""]),
            frames(&[b"not-a-uuid"]),
            frames(&[b"0123456789abcdef0123456789abcdeg"]),
            frames(&[b"0123456789abcdef0123456789abcdef", b"extra"]),
        ] {
            assert_eq!(code(&reply(&store, &bad)), Status::Unknown, "{bad:?}");
            assert_eq!(code(&close(&store, &bad)), Status::Unknown, "{bad:?}");
        }
    }

    #[test]
    fn invalid_service_names_are_400_and_not_stored() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 10).unwrap();
        for bad in [
            frames(&[]),
            frames(&[b"", b"body"]),
            frames(&[b"titanic.request", b"echo", b"x"]),
            frames(&[b"mmi.service", b"echo"]),
            frames(&[b"ec\nho", b"x"]),
            frames(&[b"\xff", b"x"]),
            frames(&[&[b'a'; 256], b"x"]),
        ] {
            let answer = request(&store, &bad);
            assert_eq!(answer.len(), 1, "{bad:?}");
            assert_eq!(code(&answer), Status::Unknown, "{bad:?}");
        }
        assert!(store.pending().unwrap().is_empty());
        // No body frames is fine, and so is the longest name.
        assert_eq!(code(&request(&store, &frames(&[b"ping"]))), Status::Ok);
        assert_eq!(code(&request(&store, &frames(&[&[b'a'; 255]]))), Status::Ok);
    }

    #[test]
    fn a_full_store_answers_500() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 1).unwrap();
        assert_eq!(
            code(&request(&store, &frames(&[b"echo", b"1"]))),
            Status::Ok
        );
        let refused = request(&store, &frames(&[b"echo", b"2"]));
        assert_eq!(refused.len(), 1);
        assert_eq!(code(&refused), Status::Error);
    }

    #[test]
    fn handle_routes_by_service_name() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 10).unwrap();
        let accepted = handle(&store, b"titanic.request", &frames(&[b"echo", b"x"])).unwrap();
        assert_eq!(code(&accepted), Status::Ok);
        let pending = handle(&store, b"titanic.reply", &accepted[1..]).unwrap();
        assert_eq!(code(&pending), Status::Pending);
        let closed = handle(&store, b"titanic.close", &accepted[1..]).unwrap();
        assert_eq!(code(&closed), Status::Ok);
        assert!(handle(&store, b"echo", &[]).is_none());
    }

    #[test]
    fn status_frames_read_with_or_without_text() {
        assert_eq!(Status::parse(b"200"), Ok(Status::Ok));
        assert_eq!(Status::parse(b"300 PENDING"), Ok(Status::Pending));
        assert_eq!(Status::parse(b"400 anything at all"), Ok(Status::Unknown));
        assert_eq!(Status::parse(b"500 "), Ok(Status::Error));
        assert_eq!(Status::parse(b"404"), Err(StatusError::Undefined(404)));
        assert_eq!(Status::parse(b"20"), Err(StatusError::Malformed));
        assert_eq!(Status::parse(b"2000"), Err(StatusError::Malformed));
        assert_eq!(Status::parse(b"OK!"), Err(StatusError::Malformed));
        assert_eq!(Status::Pending.frame("pending"), "300 pending");
        assert_eq!(Status::Ok.frame(""), "200");
    }
}
