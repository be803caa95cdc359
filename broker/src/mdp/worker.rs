//! MDP/Worker: the commands between a broker and its workers.
//!
//! On the wire, without the routing id a ROUTER adds (MDP/0.1 always has the
//! leading empty frame; MDP/0.2 may or may not):
//!
//! | command | 0.1 byte | 0.2 byte | frames after the command |
//! |---|---|---|---|
//! | READY | 0x01 | 0x01 | service |
//! | REQUEST | 0x02 | 0x02 | client address, empty, body… |
//! | REPLY (0.1) / PARTIAL (0.2) | 0x03 | 0x03 | client address, empty, body… |
//! | FINAL (0.2) | — | 0x04 | client address, empty, body… |
//! | HEARTBEAT | 0x04 | 0x05 | none |
//! | DISCONNECT | 0x05 | 0x06 | none |
//!
//! MDP/0.1's REPLY is a [`ReplyKind::Final`] reply here, so a broker handles both
//! versions' replies alike.

use bytes::Bytes;

use super::{
    Framing, MdpError, ReplyKind, Version, WORKER_01, WORKER_02, check_framing, command_frame,
    excerpt, service_name, split_framing, start,
};

/// A worker command, in either version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerCommand {
    /// The worker offers a service (worker to broker).
    Ready {
        /// The service's name.
        service: Bytes,
    },
    /// A request for the worker to handle (broker to worker).
    Request {
        /// The client's address, to be given back in the reply.
        client: Bytes,
        /// The request body.
        body: Vec<Bytes>,
    },
    /// A reply to a client (worker to broker): MDP/0.1's REPLY, MDP/0.2's PARTIAL or
    /// FINAL.
    Reply {
        /// Partial or final.
        kind: ReplyKind,
        /// The address from the request.
        client: Bytes,
        /// The reply body.
        body: Vec<Bytes>,
    },
    /// A sign of life (both ways).
    Heartbeat,
    /// The end of the conversation (both ways).
    Disconnect,
}

impl WorkerCommand {
    /// The command's name, as the RFCs spell it.
    pub fn name(&self) -> &'static str {
        match self {
            WorkerCommand::Ready { .. } => "READY",
            WorkerCommand::Request { .. } => "REQUEST",
            WorkerCommand::Reply {
                kind: ReplyKind::Partial,
                ..
            } => "PARTIAL",
            WorkerCommand::Reply {
                kind: ReplyKind::Final,
                ..
            } => "REPLY",
            WorkerCommand::Heartbeat => "HEARTBEAT",
            WorkerCommand::Disconnect => "DISCONNECT",
        }
    }
}

/// A worker command with its version and framing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerMessage {
    /// The protocol version.
    pub version: Version,
    /// Whether the message starts with an empty frame.
    pub framing: Framing,
    /// The command.
    pub command: WorkerCommand,
}

/// The command bytes of one version.
struct CommandBytes {
    ready: u8,
    request: u8,
    partial: Option<u8>,
    last: u8,
    heartbeat: u8,
    disconnect: u8,
}

const V01: CommandBytes = CommandBytes {
    ready: 0x01,
    request: 0x02,
    partial: None,
    last: 0x03,
    heartbeat: 0x04,
    disconnect: 0x05,
};

const V02: CommandBytes = CommandBytes {
    ready: 0x01,
    request: 0x02,
    partial: Some(0x03),
    last: 0x04,
    heartbeat: 0x05,
    disconnect: 0x06,
};

fn command_bytes(version: Version) -> &'static CommandBytes {
    match version {
        Version::V01 => &V01,
        Version::V02 => &V02,
    }
}

impl WorkerMessage {
    /// A command in `version`'s usual framing.
    pub fn new(version: Version, command: WorkerCommand) -> WorkerMessage {
        WorkerMessage {
            version,
            framing: version.default_framing(),
            command,
        }
    }

    /// Parses a worker command, as either side receives it (a broker after the
    /// routing id).
    pub fn parse(frames: &[Bytes]) -> Result<WorkerMessage, MdpError> {
        let (framing, rest) = split_framing(frames)?;
        let (header, rest) = rest.split_first().ok_or(MdpError::UnknownHeader)?;
        let version = match header.as_ref() {
            WORKER_01 => Version::V01,
            WORKER_02 => Version::V02,
            super::CLIENT_01 | super::CLIENT_02 => {
                return Err(MdpError::WrongHeader {
                    found: "client",
                    expected: "worker",
                });
            }
            _ => return Err(MdpError::UnknownHeader),
        };
        check_framing(version, framing)?;
        let (command, rest) = rest.split_first().ok_or(MdpError::MissingCommand)?;
        let bytes = command_bytes(version);
        let byte = match command.as_ref() {
            [byte] => *byte,
            other => return Err(unknown(version, other)),
        };
        let command = if byte == bytes.ready {
            let (service, extra) = service_name(rest)?;
            no_more("READY", extra)?;
            WorkerCommand::Ready { service }
        } else if byte == bytes.request {
            let (client, body) = addressed("REQUEST", rest)?;
            WorkerCommand::Request { client, body }
        } else if Some(byte) == bytes.partial {
            let (client, body) = addressed("PARTIAL", rest)?;
            WorkerCommand::Reply {
                kind: ReplyKind::Partial,
                client,
                body,
            }
        } else if byte == bytes.last {
            let name = match version {
                Version::V01 => "REPLY",
                Version::V02 => "FINAL",
            };
            let (client, body) = addressed(name, rest)?;
            WorkerCommand::Reply {
                kind: ReplyKind::Final,
                client,
                body,
            }
        } else if byte == bytes.heartbeat {
            no_more("HEARTBEAT", rest)?;
            WorkerCommand::Heartbeat
        } else if byte == bytes.disconnect {
            no_more("DISCONNECT", rest)?;
            WorkerCommand::Disconnect
        } else {
            return Err(unknown(version, command));
        };
        Ok(WorkerMessage {
            version,
            framing,
            command,
        })
    }

    /// The frames to send. MDP/0.1 has no partial replies: encoding one is
    /// [`MdpError::PartialInVersion01`].
    pub fn encode(&self) -> Result<Vec<Bytes>, MdpError> {
        let bytes = command_bytes(self.version);
        let header = self.version.worker_header();
        let frames = match &self.command {
            WorkerCommand::Ready { service } => {
                let mut frames = start(self.framing, header, 2);
                frames.push(command_frame(bytes.ready));
                frames.push(service.clone());
                frames
            }
            WorkerCommand::Request { client, body } => self.addressed(bytes.request, client, body),
            WorkerCommand::Reply {
                kind: ReplyKind::Partial,
                client,
                body,
            } => {
                let partial = bytes.partial.ok_or(MdpError::PartialInVersion01)?;
                self.addressed(partial, client, body)
            }
            WorkerCommand::Reply {
                kind: ReplyKind::Final,
                client,
                body,
            } => self.addressed(bytes.last, client, body),
            WorkerCommand::Heartbeat => {
                let mut frames = start(self.framing, header, 1);
                frames.push(command_frame(bytes.heartbeat));
                frames
            }
            WorkerCommand::Disconnect => {
                let mut frames = start(self.framing, header, 1);
                frames.push(command_frame(bytes.disconnect));
                frames
            }
        };
        Ok(frames)
    }

    fn addressed(&self, command: u8, client: &Bytes, body: &[Bytes]) -> Vec<Bytes> {
        let mut frames = start(self.framing, self.version.worker_header(), body.len() + 3);
        frames.push(command_frame(command));
        frames.push(client.clone());
        frames.push(Bytes::new());
        frames.extend(body.iter().cloned());
        frames
    }
}

/// Reads a client address, its empty delimiter and the body after them.
fn addressed(command: &'static str, frames: &[Bytes]) -> Result<(Bytes, Vec<Bytes>), MdpError> {
    let (client, rest) = frames
        .split_first()
        .ok_or(MdpError::MissingClientAddress { command })?;
    match rest.split_first() {
        Some((delimiter, body)) if delimiter.is_empty() => Ok((client.clone(), body.to_vec())),
        _ => Err(MdpError::MissingDelimiter { command }),
    }
}

fn no_more(command: &'static str, extra: &[Bytes]) -> Result<(), MdpError> {
    match extra.len() {
        0 => Ok(()),
        extra => Err(MdpError::ExtraFrames { command, extra }),
    }
}

fn unknown(version: Version, frame: &[u8]) -> MdpError {
    MdpError::UnknownCommand {
        frame: excerpt(frame),
        version: match version {
            Version::V01 => "MDP/0.1",
            Version::V02 => "MDP/0.2",
        },
        side: "worker",
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

    fn all_commands() -> Vec<WorkerCommand> {
        let client = Bytes::from_static(b"\x00\x6b\x8b\x45\x67");
        vec![
            WorkerCommand::Ready {
                service: Bytes::from_static(b"echo"),
            },
            WorkerCommand::Request {
                client: client.clone(),
                body: frames(&[b"a", b""]),
            },
            WorkerCommand::Reply {
                kind: ReplyKind::Partial,
                client: client.clone(),
                body: frames(&[b"p"]),
            },
            WorkerCommand::Reply {
                kind: ReplyKind::Final,
                client,
                body: vec![],
            },
            WorkerCommand::Heartbeat,
            WorkerCommand::Disconnect,
        ]
    }

    #[test]
    fn every_command_round_trips_in_every_framing() {
        for version in [Version::V01, Version::V02] {
            for framing in [Framing::Delimited, Framing::Bare] {
                for command in all_commands() {
                    let message = WorkerMessage {
                        version,
                        framing,
                        command,
                    };
                    match message.encode() {
                        Ok(encoded) if version == Version::V01 && framing == Framing::Bare => {
                            assert_eq!(
                                WorkerMessage::parse(&encoded),
                                Err(MdpError::MissingEmptyFrame)
                            );
                        }
                        Ok(encoded) => assert_eq!(WorkerMessage::parse(&encoded), Ok(message)),
                        Err(error) => {
                            assert_eq!(error, MdpError::PartialInVersion01);
                            assert_eq!(version, Version::V01);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn command_bytes_are_the_rfcs() {
        let ready = WorkerMessage::new(
            Version::V01,
            WorkerCommand::Ready {
                service: Bytes::from_static(b"echo"),
            },
        );
        assert_eq!(
            ready.encode().unwrap(),
            frames(&[b"", b"MDPW01", &[1], b"echo"])
        );
        let heartbeat = WorkerMessage::new(Version::V02, WorkerCommand::Heartbeat);
        assert_eq!(heartbeat.encode().unwrap(), frames(&[b"MDPW02", &[5]]));
        let disconnect = WorkerMessage::new(Version::V01, WorkerCommand::Disconnect);
        assert_eq!(
            disconnect.encode().unwrap(),
            frames(&[b"", b"MDPW01", &[5]])
        );
        let final_ = WorkerMessage::parse(&frames(&[b"MDPW02", &[4], b"c", b"", b"x"])).unwrap();
        assert!(matches!(
            final_.command,
            WorkerCommand::Reply {
                kind: ReplyKind::Final,
                ..
            }
        ));
        let reply =
            WorkerMessage::parse(&frames(&[b"", b"MDPW01", &[3], b"c", b"", b"x"])).unwrap();
        assert!(matches!(
            reply.command,
            WorkerCommand::Reply {
                kind: ReplyKind::Final,
                ..
            }
        ));
    }

    #[test]
    fn malformed_commands_say_what_is_wrong() {
        let cases: Vec<(Vec<Bytes>, MdpError)> = vec![
            (frames(&[b"", b"MDPW01"]), MdpError::MissingCommand),
            (frames(&[b"", b"MDPW01", &[1]]), MdpError::MissingService),
            (
                frames(&[b"", b"MDPW01", &[1], b"echo", b"more"]),
                MdpError::ExtraFrames {
                    command: "READY",
                    extra: 1,
                },
            ),
            (
                frames(&[b"", b"MDPW01", &[3]]),
                MdpError::MissingClientAddress { command: "REPLY" },
            ),
            (
                frames(&[b"", b"MDPW01", &[3], b"client", b"not empty"]),
                MdpError::MissingDelimiter { command: "REPLY" },
            ),
            (
                frames(&[b"MDPW02", &[4], b"client"]),
                MdpError::MissingDelimiter { command: "FINAL" },
            ),
            (
                frames(&[b"MDPW02", &[5], b"x"]),
                MdpError::ExtraFrames {
                    command: "HEARTBEAT",
                    extra: 1,
                },
            ),
            (
                frames(&[b"", b"MDPW01", &[6]]),
                MdpError::UnknownCommand {
                    frame: vec![6],
                    version: "MDP/0.1",
                    side: "worker",
                },
            ),
            (frames(&[b"MDPW01", &[4]]), MdpError::MissingEmptyFrame),
        ];
        for (input, expected) in cases {
            assert_eq!(WorkerMessage::parse(&input), Err(expected), "{input:?}");
        }
    }
}
