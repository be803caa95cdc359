//! MDP/Client: a client's REQUEST, and the broker's REPLY (0.1) or PARTIAL and
//! FINAL (0.2).
//!
//! On the wire, without the routing id a ROUTER adds:
//!
//! | version | message | frames |
//! |---|---|---|
//! | 0.1 | REQUEST, REPLY | empty, `MDPC01`, service, body… |
//! | 0.2 | REQUEST | (empty), `MDPC02`, 0x01, service, body… |
//! | 0.2 | PARTIAL | (empty), `MDPC02`, 0x02, service, body… |
//! | 0.2 | FINAL | (empty), `MDPC02`, 0x03, service, body… |
//!
//! A body may have any number of frames, none included.

use bytes::Bytes;

use super::{
    CLIENT_01, CLIENT_02, Framing, MdpError, Version, check_framing, command_frame, excerpt,
    service_name, split_framing, start,
};

/// MDP/0.2's client REQUEST command.
const REQUEST: u8 = 0x01;
/// MDP/0.2's client PARTIAL command.
const PARTIAL: u8 = 0x02;
/// MDP/0.2's client FINAL command.
const FINAL: u8 = 0x03;

/// A client's request for a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRequest {
    /// The protocol version the client speaks.
    pub version: Version,
    /// Whether the client put an empty frame first; replies do the same.
    pub framing: Framing,
    /// The service asked for.
    pub service: Bytes,
    /// The request body.
    pub body: Vec<Bytes>,
}

/// Whether a reply is the last one for its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplyKind {
    /// More replies follow (MDP/0.2 only).
    Partial,
    /// The last reply: MDP/0.1's REPLY, MDP/0.2's FINAL.
    Final,
}

/// A reply to a client, from the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientReply {
    /// The protocol version.
    pub version: Version,
    /// Whether the message starts with an empty frame.
    pub framing: Framing,
    /// Partial or final.
    pub kind: ReplyKind,
    /// The service that answered.
    pub service: Bytes,
    /// The reply body.
    pub body: Vec<Bytes>,
}

impl ClientRequest {
    /// A request in `version`'s usual framing.
    pub fn new(version: Version, service: impl Into<Bytes>, body: Vec<Bytes>) -> ClientRequest {
        ClientRequest {
            version,
            framing: version.default_framing(),
            service: service.into(),
            body,
        }
    }

    /// Parses a client's request, as a broker receives it after the routing id.
    pub fn parse(frames: &[Bytes]) -> Result<ClientRequest, MdpError> {
        let (framing, rest) = split_framing(frames)?;
        let (version, rest) = client_header(rest)?;
        check_framing(version, framing)?;
        let rest = match version {
            Version::V01 => rest,
            Version::V02 => match client_command(rest)? {
                (REQUEST, rest) => rest,
                (other, _) => return Err(not_a_request(other)),
            },
        };
        let (service, body) = service_name(rest)?;
        Ok(ClientRequest {
            version,
            framing,
            service,
            body: body.to_vec(),
        })
    }

    /// The frames to send, as a client sends them. A client on a REQ socket leaves
    /// out the leading empty frame, which the socket adds itself.
    pub fn encode(&self) -> Vec<Bytes> {
        let mut frames = start(
            self.framing,
            self.version.client_header(),
            self.body.len() + 2,
        );
        if self.version == Version::V02 {
            frames.push(command_frame(REQUEST));
        }
        frames.push(self.service.clone());
        frames.extend(self.body.iter().cloned());
        frames
    }

    /// The final reply to this request: same version, same framing.
    pub fn reply(&self, body: Vec<Bytes>) -> ClientReply {
        ClientReply {
            version: self.version,
            framing: self.framing,
            kind: ReplyKind::Final,
            service: self.service.clone(),
            body,
        }
    }
}

impl ClientReply {
    /// Parses a reply, as a client receives it. A REQ socket has already taken the
    /// leading empty frame away; a DEALER has not.
    pub fn parse(frames: &[Bytes]) -> Result<ClientReply, MdpError> {
        let (framing, rest) = split_framing(frames)?;
        let (version, rest) = client_header(rest)?;
        let (kind, rest) = match version {
            Version::V01 => (ReplyKind::Final, rest),
            Version::V02 => match client_command(rest)? {
                (PARTIAL, rest) => (ReplyKind::Partial, rest),
                (FINAL, rest) => (ReplyKind::Final, rest),
                (other, _) => return Err(unknown(other)),
            },
        };
        let (service, body) = service_name(rest)?;
        Ok(ClientReply {
            version,
            framing,
            kind,
            service,
            body: body.to_vec(),
        })
    }

    /// The frames to send. MDP/0.1 has no partial replies: encoding one is
    /// [`MdpError::PartialInVersion01`].
    pub fn encode(&self) -> Result<Vec<Bytes>, MdpError> {
        let mut frames = start(
            self.framing,
            self.version.client_header(),
            self.body.len() + 2,
        );
        match (self.version, self.kind) {
            (Version::V01, ReplyKind::Final) => {}
            (Version::V01, ReplyKind::Partial) => return Err(MdpError::PartialInVersion01),
            (Version::V02, ReplyKind::Partial) => frames.push(command_frame(PARTIAL)),
            (Version::V02, ReplyKind::Final) => frames.push(command_frame(FINAL)),
        }
        frames.push(self.service.clone());
        frames.extend(self.body.iter().cloned());
        Ok(frames)
    }
}

/// Reads a client header: the version and the frames after it.
fn client_header(frames: &[Bytes]) -> Result<(Version, &[Bytes]), MdpError> {
    let (header, rest) = frames.split_first().ok_or(MdpError::UnknownHeader)?;
    match header.as_ref() {
        CLIENT_01 => Ok((Version::V01, rest)),
        CLIENT_02 => Ok((Version::V02, rest)),
        super::WORKER_01 | super::WORKER_02 => Err(MdpError::WrongHeader {
            found: "worker",
            expected: "client",
        }),
        _ => Err(MdpError::UnknownHeader),
    }
}

/// Reads an MDP/0.2 client command byte.
fn client_command(frames: &[Bytes]) -> Result<(u8, &[Bytes]), MdpError> {
    let (command, rest) = frames.split_first().ok_or(MdpError::MissingCommand)?;
    match command.as_ref() {
        [byte] => Ok((*byte, rest)),
        other => Err(MdpError::UnknownCommand {
            frame: excerpt(other),
            version: "MDP/0.2",
            side: "client",
        }),
    }
}

fn unknown(byte: u8) -> MdpError {
    MdpError::UnknownCommand {
        frame: vec![byte],
        version: "MDP/0.2",
        side: "client",
    }
}

/// A valid 0.2 client command that a client may not send (PARTIAL, FINAL) or an
/// unknown one.
fn not_a_request(byte: u8) -> MdpError {
    match byte {
        PARTIAL => MdpError::NotFromAClient { command: "PARTIAL" },
        FINAL => MdpError::NotFromAClient { command: "FINAL" },
        other => unknown(other),
    }
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
    fn version_01_request_needs_the_empty_frame() {
        let request = ClientRequest::parse(&frames(&[b"", b"MDPC01", b"echo", b"a", b"b"]));
        let request = request.unwrap();
        assert_eq!(request.version, Version::V01);
        assert_eq!(request.framing, Framing::Delimited);
        assert_eq!(request.service, "echo");
        assert_eq!(request.body, frames(&[b"a", b"b"]));
        assert_eq!(
            ClientRequest::parse(&frames(&[b"MDPC01", b"echo", b"a"])),
            Err(MdpError::MissingEmptyFrame)
        );
    }

    #[test]
    fn version_02_request_with_or_without_the_empty_frame() {
        let bare = ClientRequest::parse(&frames(&[b"MDPC02", &[1], b"echo", b"x"])).unwrap();
        assert_eq!(bare.framing, Framing::Bare);
        let delimited =
            ClientRequest::parse(&frames(&[b"", b"MDPC02", &[1], b"echo", b"x"])).unwrap();
        assert_eq!(delimited.framing, Framing::Delimited);
        assert_eq!(bare.body, delimited.body);
        // The reply mirrors each.
        let reply = bare.reply(frames(&[b"y"])).encode().unwrap();
        assert_eq!(reply, frames(&[b"MDPC02", &[3], b"echo", b"y"]));
        let reply = delimited.reply(frames(&[b"y"])).encode().unwrap();
        assert_eq!(reply, frames(&[b"", b"MDPC02", &[3], b"echo", b"y"]));
    }

    #[test]
    fn requests_round_trip() {
        for version in [Version::V01, Version::V02] {
            for framing in [Framing::Delimited, Framing::Bare] {
                if version == Version::V01 && framing == Framing::Bare {
                    continue;
                }
                let request = ClientRequest {
                    version,
                    framing,
                    service: Bytes::from_static(b"svc"),
                    body: frames(&[b"", b"1", b"two"]),
                };
                assert_eq!(ClientRequest::parse(&request.encode()), Ok(request));
            }
        }
    }

    #[test]
    fn replies_round_trip_and_01_has_no_partials() {
        let reply = ClientReply {
            version: Version::V02,
            framing: Framing::Bare,
            kind: ReplyKind::Partial,
            service: Bytes::from_static(b"svc"),
            body: frames(&[b"chunk"]),
        };
        assert_eq!(
            ClientReply::parse(&reply.encode().unwrap()),
            Ok(reply.clone())
        );
        let old = ClientReply {
            version: Version::V01,
            framing: Framing::Delimited,
            ..reply
        };
        assert_eq!(old.encode(), Err(MdpError::PartialInVersion01));
        let old = ClientReply {
            kind: ReplyKind::Final,
            ..old
        };
        assert_eq!(ClientReply::parse(&old.encode().unwrap()), Ok(old));
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        assert_eq!(
            ClientRequest::parse(&frames(&[b"", b"MDPC01"])),
            Err(MdpError::MissingService)
        );
        assert_eq!(
            ClientRequest::parse(&frames(&[b"", b"MDPC01", b""])),
            Err(MdpError::EmptyService)
        );
        assert_eq!(
            ClientRequest::parse(&frames(&[b"", b"MDPC01", &[b'x'; 256]])),
            Err(MdpError::ServiceTooLong { len: 256 })
        );
        assert_eq!(
            ClientRequest::parse(&frames(&[b"MDPC02"])),
            Err(MdpError::MissingCommand)
        );
        assert_eq!(
            ClientRequest::parse(&frames(&[b"MDPC02", &[3], b"echo"])),
            Err(MdpError::NotFromAClient { command: "FINAL" })
        );
        assert!(matches!(
            ClientRequest::parse(&frames(&[b"MDPC02", &[9], b"echo"])),
            Err(MdpError::UnknownCommand { .. })
        ));
        assert!(matches!(
            ClientRequest::parse(&frames(&[b"MDPC02", b"\x01\x01", b"echo"])),
            Err(MdpError::UnknownCommand { .. })
        ));
        assert!(matches!(
            ClientRequest::parse(&frames(&[b"", b"MDPW01", &[1], b"echo"])),
            Err(MdpError::WrongHeader { .. })
        ));
    }
}
