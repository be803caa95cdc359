//! Commands: the bodies of command frames (RFC 23, RFC 37).
//!
//! A command body is a name length octet, the name, and data whose layout depends on
//! the name. [`Command`] splits name from data; the types below give the data of the
//! commands every mechanism shares their meaning. Mechanisms parse their own handshake
//! commands (PLAIN's HELLO is not CURVE's HELLO).

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::Error;
use crate::metadata::Metadata;

/// Name of the READY command.
pub const READY: &[u8] = b"READY";
/// Name of the ERROR command.
pub const ERROR: &[u8] = b"ERROR";
/// Name of the SUBSCRIBE command.
pub const SUBSCRIBE: &[u8] = b"SUBSCRIBE";
/// Name of the CANCEL command.
pub const CANCEL: &[u8] = b"CANCEL";
/// Name of the PING command.
pub const PING: &[u8] = b"PING";
/// Name of the PONG command.
pub const PONG: &[u8] = b"PONG";

/// The start of the ERROR command libzmq 4.3.5's PLAIN mechanism sends: its source
/// writes the prefix as the C literal `"\x05ERROR"`, whose hex escape swallows the `E`,
/// so the name length octet is `0x5E` and the name `RROR`. libzmq's PLAIN client
/// recognises only this form.
pub const LIBZMQ_PLAIN_ERROR_PREFIX: &[u8] = b"\x5eRROR";

/// The most context octets PONG echoes from a PING (RFC 37).
pub const MAX_PING_CONTEXT: usize = 16;

/// A command, split into its name and data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// The command's name, e.g. `READY`.
    pub name: Bytes,
    /// Everything after the name.
    pub data: Bytes,
}

impl Command {
    /// Splits a command frame's body.
    pub fn parse(body: Bytes) -> Result<Command, Error> {
        let Some(&name_len) = body.first() else {
            return Err(Error::malformed(b"unnamed", "empty command frame"));
        };
        let name_end = 1 + usize::from(name_len);
        if name_len == 0 || body.len() < name_end {
            if body.starts_with(LIBZMQ_PLAIN_ERROR_PREFIX) {
                return Ok(Command {
                    name: Bytes::from_static(ERROR),
                    data: body.slice(LIBZMQ_PLAIN_ERROR_PREFIX.len()..),
                });
            }
            return Err(Error::malformed(
                b"unnamed",
                "command name length runs past the frame",
            ));
        }
        Ok(Command {
            name: body.slice(1..name_end),
            data: body.slice(name_end..),
        })
    }

    /// Whether the command is called `name`.
    pub fn is(&self, name: &[u8]) -> bool {
        self.name.as_ref() == name
    }

    /// Builds a command body from a name and its data, in one allocation.
    ///
    /// # Panics
    /// If `name` is empty or longer than 255 octets.
    pub fn encode(name: &[u8], data: &[&[u8]]) -> Bytes {
        let mut out = start(name, data.iter().map(|d| d.len()).sum());
        for part in data {
            out.put_slice(part);
        }
        out.freeze()
    }
}

/// A buffer holding a command's name, with room for `data_len` octets of data.
fn start(name: &[u8], data_len: usize) -> BytesMut {
    assert!(
        (1..=255).contains(&name.len()),
        "a command name has 1 to 255 octets"
    );
    let mut out = BytesMut::with_capacity(1 + name.len() + data_len);
    out.put_u8(name.len() as u8);
    out.put_slice(name);
    out
}

/// Encodes a command whose data is metadata (READY, PLAIN's INITIATE).
pub fn encode_with_metadata(name: &[u8], metadata: &Metadata) -> Bytes {
    let mut out = start(name, metadata.encoded_len());
    metadata.encode(&mut out);
    out.freeze()
}

/// ERROR: the peer's reason for refusing the handshake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorCommand {
    /// Up to 255 octets of reason, e.g. `400`.
    pub reason: Bytes,
}

impl ErrorCommand {
    /// Parses ERROR's data: a length octet and the reason.
    pub fn parse(data: &Bytes) -> Result<ErrorCommand, Error> {
        let Some(&len) = data.first() else {
            return Err(Error::malformed(ERROR, "no reason length"));
        };
        // Like libzmq, octets after the reason are ignored.
        let end = 1 + usize::from(len);
        if data.len() < end {
            return Err(Error::malformed(
                ERROR,
                "reason runs past the end of the frame",
            ));
        }
        Ok(ErrorCommand {
            reason: data.slice(1..end),
        })
    }

    /// The command body; a reason longer than 255 octets is cut at 255.
    pub fn encode(reason: &[u8]) -> Bytes {
        let reason = &reason[..reason.len().min(255)];
        Command::encode(ERROR, &[&[reason.len() as u8], reason])
    }

    /// The body libzmq 4.3.5's PLAIN mechanism sends for ERROR (see
    /// [`LIBZMQ_PLAIN_ERROR_PREFIX`]).
    pub fn encode_libzmq_plain(reason: &[u8]) -> Bytes {
        let reason = &reason[..reason.len().min(255)];
        let mut out = BytesMut::with_capacity(LIBZMQ_PLAIN_ERROR_PREFIX.len() + 1 + reason.len());
        out.put_slice(LIBZMQ_PLAIN_ERROR_PREFIX);
        out.put_u8(reason.len() as u8);
        out.put_slice(reason);
        out.freeze()
    }
}

/// PING (RFC 37): asks for a PONG, and announces how long the peer may stay silent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ping {
    /// Time to live, in tenths of a second; 0 means none.
    pub ttl_deciseconds: u16,
    /// Context the PONG echoes.
    pub context: Bytes,
}

impl Ping {
    /// Parses PING's data. Contexts longer than 16 octets are accepted, as libzmq
    /// accepts them; the PONG echoes only 16.
    pub fn parse(data: &Bytes) -> Result<Ping, Error> {
        let Some(ttl) = data.get(..2) else {
            return Err(Error::malformed(PING, "shorter than its two-octet TTL"));
        };
        Ok(Ping {
            ttl_deciseconds: u16::from_be_bytes([ttl[0], ttl[1]]),
            context: data.slice(2..),
        })
    }

    /// The command body.
    pub fn encode(&self) -> Bytes {
        Command::encode(PING, &[&self.ttl_deciseconds.to_be_bytes(), &self.context])
    }

    /// The body of the PONG that answers this PING.
    pub fn pong(&self) -> Bytes {
        let context = &self.context[..self.context.len().min(MAX_PING_CONTEXT)];
        Command::encode(PONG, &[context])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_name_and_data() {
        let cmd = Command::parse(Bytes::from_static(b"\x04PING\x00\x0a")).expect("valid");
        assert!(cmd.is(PING));
        assert_eq!(&cmd.data[..], b"\x00\x0a");
    }

    #[test]
    fn name_must_fit_and_be_non_empty() {
        for body in [&b""[..], b"\x00", b"\x05PIN"] {
            assert!(
                Command::parse(Bytes::copy_from_slice(body)).is_err(),
                "{body:?}"
            );
        }
    }

    #[test]
    fn libzmq_plain_error_reads_as_error() {
        let body = ErrorCommand::encode_libzmq_plain(b"400");
        assert_eq!(&body[..], b"\x5eRROR\x03400");
        let cmd = Command::parse(body).expect("libzmq's form");
        assert!(cmd.is(ERROR));
        assert_eq!(
            ErrorCommand::parse(&cmd.data).map(|e| e.reason),
            Ok(Bytes::from_static(b"400"))
        );
    }

    #[test]
    fn pong_echoes_at_most_16_context_octets() {
        let ping = Ping {
            ttl_deciseconds: 0,
            context: Bytes::from_static(b"0123456789abcdefghij"),
        };
        assert_eq!(&ping.pong()[..], b"\x04PONG0123456789abcdef");
    }

    #[test]
    fn error_reason_must_fit_the_frame() {
        assert_eq!(
            ErrorCommand::parse(&Bytes::from_static(b"\x03400")).map(|e| e.reason),
            Ok(Bytes::from_static(b"400"))
        );
        assert!(ErrorCommand::parse(&Bytes::from_static(b"\x04400")).is_err());
        assert!(ErrorCommand::parse(&Bytes::new()).is_err());
    }
}
