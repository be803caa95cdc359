//! The Majordomo Protocol, MDP/0.1 ([RFC 7]) and MDP/0.2 ([RFC 18]), as pure
//! functions: frames in, typed commands or a typed error out, and back. Nothing here
//! touches a socket or a clock, so every rule is testable (and fuzzable) on its own;
//! the broker, the client and the worker drive it.
//!
//! A message is told apart by its header frame, `MDPC01`, `MDPW01`, `MDPC02` or
//! `MDPW02`, which may follow one empty frame:
//!
//! - MDP/0.1 puts the empty frame first in every message (a REQ client's socket adds
//!   and strips it); a 0.1 message without it is malformed.
//! - MDP/0.2 has no empty frame, but some implementations send one anyway. Both
//!   forms are accepted, and what is sent back mirrors what the peer sent
//!   ([`Framing`]).
//!
//! Frames are [`Bytes`], so parsing and building never copy a body.
//!
//! [RFC 7]: https://rfc.zeromq.org/spec/7/
//! [RFC 18]: https://rfc.zeromq.org/spec/18/

pub mod client;
mod error;
pub mod mmi;
pub mod worker;

use bytes::Bytes;

pub use client::{ClientReply, ClientRequest, ReplyKind};
pub use error::MdpError;
pub use worker::{WorkerCommand, WorkerMessage};

/// The header frame of an MDP/0.1 client message.
pub const CLIENT_01: &[u8] = b"MDPC01";
/// The header frame of an MDP/0.1 worker message.
pub const WORKER_01: &[u8] = b"MDPW01";
/// The header frame of an MDP/0.2 client message.
pub const CLIENT_02: &[u8] = b"MDPC02";
/// The header frame of an MDP/0.2 worker message.
pub const WORKER_02: &[u8] = b"MDPW02";

/// The longest service name accepted, in bytes, like a ZMTP routing id's limit.
/// A longer name is refused with [`MdpError::ServiceTooLong`].
pub const MAX_SERVICE_LEN: usize = 255;

/// Which version of the protocol a peer speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// MDP/0.1 (RFC 7): one REPLY per request.
    V01,
    /// MDP/0.2 (RFC 18): PARTIAL replies, then one FINAL.
    V02,
}

impl Version {
    /// The header frame of this version's client messages.
    pub fn client_header(self) -> &'static [u8] {
        match self {
            Version::V01 => CLIENT_01,
            Version::V02 => CLIENT_02,
        }
    }

    /// The header frame of this version's worker messages.
    pub fn worker_header(self) -> &'static [u8] {
        match self {
            Version::V01 => WORKER_01,
            Version::V02 => WORKER_02,
        }
    }

    /// The framing this version's peers use when nothing else is known: MDP/0.1
    /// always starts with an empty frame, MDP/0.2 as RFC 18 writes it does not.
    pub fn default_framing(self) -> Framing {
        match self {
            Version::V01 => Framing::Delimited,
            Version::V02 => Framing::Bare,
        }
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Version::V01 => "MDP/0.1",
            Version::V02 => "MDP/0.2",
        })
    }
}

/// Whether a message starts with an empty frame before its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Framing {
    /// An empty frame, then the header: every MDP/0.1 message, and MDP/0.2 as
    /// some implementations (majortomo) send it.
    Delimited,
    /// The header first: MDP/0.2 as RFC 18 writes it.
    Bare,
}

/// What a peer sends a broker: a client's request or a worker's command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// A client asks a service for something.
    Client(ClientRequest),
    /// A worker registers, replies, heartbeats or leaves.
    Worker(WorkerMessage),
}

/// Parses what a broker received from one peer, without the routing id that a
/// ROUTER socket puts first.
pub fn parse_inbound(frames: &[Bytes]) -> Result<Inbound, MdpError> {
    let (_, rest) = split_framing(frames)?;
    match rest.first().map(|header| header.as_ref()) {
        Some(CLIENT_01 | CLIENT_02) => ClientRequest::parse(frames).map(Inbound::Client),
        Some(WORKER_01 | WORKER_02) => WorkerMessage::parse(frames).map(Inbound::Worker),
        Some(_) | None => Err(MdpError::UnknownHeader),
    }
}

/// Splits off the leading empty frame, if any: the framing, then the frames from
/// the header on.
fn split_framing(frames: &[Bytes]) -> Result<(Framing, &[Bytes]), MdpError> {
    match frames.split_first() {
        None => Err(MdpError::Empty),
        Some((first, rest)) if first.is_empty() => Ok((Framing::Delimited, rest)),
        Some(_) => Ok((Framing::Bare, frames)),
    }
}

/// Checks the framing against the version: MDP/0.1 requires the empty frame.
fn check_framing(version: Version, framing: Framing) -> Result<(), MdpError> {
    if version == Version::V01 && framing == Framing::Bare {
        return Err(MdpError::MissingEmptyFrame);
    }
    Ok(())
}

/// Reads a service-name frame and the frames after it.
fn service_name(frames: &[Bytes]) -> Result<(Bytes, &[Bytes]), MdpError> {
    let (service, rest) = frames.split_first().ok_or(MdpError::MissingService)?;
    if service.is_empty() {
        return Err(MdpError::EmptyService);
    }
    if service.len() > MAX_SERVICE_LEN {
        return Err(MdpError::ServiceTooLong { len: service.len() });
    }
    Ok((service.clone(), rest))
}

/// Starts an outgoing message with the framing's empty frame, if any, and a header.
fn start(framing: Framing, header: &'static [u8], capacity: usize) -> Vec<Bytes> {
    let mut frames = Vec::with_capacity(capacity + 2);
    if framing == Framing::Delimited {
        frames.push(Bytes::new());
    }
    frames.push(Bytes::from_static(header));
    frames
}

/// A one-byte command frame, without an allocation for the commands MDP has.
fn command_frame(byte: u8) -> Bytes {
    static COMMANDS: [u8; 7] = [0, 1, 2, 3, 4, 5, 6];
    let index = usize::from(byte);
    match COMMANDS.get(index..=index) {
        Some(frame) => Bytes::from_static(frame),
        None => Bytes::copy_from_slice(&[byte]),
    }
}

/// The first bytes of a frame, for an error message.
fn excerpt(frame: &[u8]) -> Vec<u8> {
    frame.iter().take(8).copied().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(parts: &[&[u8]]) -> Vec<Bytes> {
        parts
            .iter()
            .map(|part| Bytes::copy_from_slice(part))
            .collect()
    }

    #[test]
    fn inbound_tells_clients_from_workers_by_header() {
        let client = frames(&[b"", b"MDPC01", b"echo", b"hi"]);
        assert!(matches!(parse_inbound(&client), Ok(Inbound::Client(_))));
        let worker = frames(&[b"MDPW02", &[5]]);
        assert!(matches!(parse_inbound(&worker), Ok(Inbound::Worker(_))));
        let other = frames(&[b"", b"HTTP/1.1", b"x"]);
        assert_eq!(parse_inbound(&other), Err(MdpError::UnknownHeader));
        assert_eq!(parse_inbound(&[]), Err(MdpError::Empty));
        assert_eq!(parse_inbound(&frames(&[b""])), Err(MdpError::UnknownHeader));
    }

    #[test]
    fn command_frames_are_one_byte() {
        for byte in 0..=255u8 {
            assert_eq!(command_frame(byte).as_ref(), [byte]);
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn any_frames() -> impl Strategy<Value = Vec<Bytes>> {
        let header = prop_oneof![
            Just(Bytes::from_static(CLIENT_01)),
            Just(Bytes::from_static(CLIENT_02)),
            Just(Bytes::from_static(WORKER_01)),
            Just(Bytes::from_static(WORKER_02)),
            Just(Bytes::new()),
            proptest::collection::vec(any::<u8>(), 0..8).prop_map(Bytes::from),
        ];
        let frame = prop_oneof![
            Just(Bytes::new()),
            (0u8..8).prop_map(|byte| Bytes::copy_from_slice(&[byte])),
            proptest::collection::vec(any::<u8>(), 0..300).prop_map(Bytes::from),
        ];
        (
            proptest::collection::vec(header, 0..3),
            proptest::collection::vec(frame, 0..6),
        )
            .prop_map(|(mut head, tail)| {
                head.extend(tail);
                head
            })
    }

    proptest! {
        /// Any frames parse to a command or a typed error, never a panic, and what
        /// parses encodes back to the same frames.
        #[test]
        fn parsing_never_panics_and_round_trips(frames in any_frames()) {
            match parse_inbound(&frames) {
                Ok(Inbound::Client(request)) => prop_assert_eq!(request.encode(), frames.clone()),
                Ok(Inbound::Worker(message)) => {
                    prop_assert_eq!(message.encode().ok(), Some(frames.clone()))
                }
                Err(_) => {}
            }
            if let Ok(reply) = ClientReply::parse(&frames) {
                prop_assert_eq!(reply.encode().ok(), Some(frames.clone()));
            }
        }
    }
}
