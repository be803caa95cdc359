//! Security mechanisms behind one abstraction: NULL, PLAIN, and the seam CURVE fills.
//!
//! A mechanism runs the handshake after the greetings: it produces the commands to
//! send, takes the peer's commands, may ask the caller to authenticate the peer, and
//! ends with the peer's metadata. A mechanism that protects traffic (CURVE) also wraps
//! every frame sent and unwraps every frame received after the handshake.

mod null;
mod plain;

pub use null::Null;
pub use plain::{PlainClient, PlainServer};

use alloc::string::String;
use alloc::vec::Vec;
use bytes::Bytes;

use crate::command::Command;
use crate::error::{Error, lossy};
use crate::frame::Frame;
use crate::greeting::MechanismName;
use crate::metadata::{Metadata, SOCKET_TYPE};
use crate::send_buffer::SendBuffer;
use crate::socket_type::SocketType;

/// What a mechanism knows of its own side of the connection.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// Our socket type, to check the peer's against.
    pub socket_type: SocketType,
    /// Our metadata, for READY or INITIATE.
    pub metadata: &'a Metadata,
}

/// A request to authenticate the peer (a ZAP request, RFC 27, without its envelope).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthRequest {
    /// The mechanism asking.
    pub mechanism: MechanismName,
    /// The peer's credentials: none for NULL, username and password for PLAIN, the
    /// client's long-term public key for CURVE.
    pub credentials: Vec<Bytes>,
}

/// The answer to an [`AuthRequest`] (a ZAP reply).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthReply {
    /// 200 accepts; 300 fails without telling the peer; 400 and 500 fail with an ERROR
    /// command carrying the code.
    pub status_code: u16,
    /// Text for logs and monitor events.
    pub status_text: String,
    /// The user id the application sees for the peer.
    pub user_id: Bytes,
    /// Extra properties the application sees for the peer.
    pub metadata: Metadata,
}

impl AuthReply {
    /// Accepts the peer as `user_id`.
    pub fn accept(user_id: impl Into<Bytes>) -> AuthReply {
        AuthReply {
            status_code: 200,
            status_text: String::from("OK"),
            user_id: user_id.into(),
            metadata: Metadata::new(),
        }
    }

    /// Refuses the peer with a ZAP status code (300, 400 or 500).
    pub fn deny(status_code: u16, status_text: impl Into<String>) -> AuthReply {
        AuthReply {
            status_code,
            status_text: status_text.into(),
            user_id: Bytes::new(),
            metadata: Metadata::new(),
        }
    }

    /// Whether the peer is accepted.
    pub fn is_accepted(&self) -> bool {
        self.status_code == 200
    }

    /// The failure this reply stands for, if it is not an acceptance.
    pub(crate) fn into_result(self) -> Result<(), Error> {
        if self.is_accepted() {
            Ok(())
        } else {
            Err(Error::AuthenticationFailed {
                status_code: self.status_code,
                status_text: self.status_text,
            })
        }
    }
}

/// A security mechanism, driven by [`Connection`](crate::Connection).
pub trait Mechanism: Send {
    /// The name announced in the greeting.
    fn name(&self) -> MechanismName;

    /// Whether we take the server role (the greeting's as-server flag).
    fn as_server(&self) -> bool;

    /// The next handshake command to send, if there is one now. Called until it
    /// returns `None` after every change of state.
    fn next_command(&mut self, ctx: &Context<'_>) -> Option<Bytes>;

    /// Takes one command from the peer during the handshake.
    fn process_command(&mut self, ctx: &Context<'_>, command: Command) -> Result<(), Error>;

    /// A request for the caller to authenticate the peer, returned once.
    fn auth_request(&mut self) -> Option<AuthRequest> {
        None
    }

    /// The caller's answer to [`auth_request`](Self::auth_request).
    fn auth_reply(&mut self, reply: AuthReply) -> Result<(), Error> {
        let _ = reply;
        Ok(())
    }

    /// Whether the handshake is complete.
    fn is_ready(&self) -> bool;

    /// The peer's metadata, once ready.
    fn take_peer_metadata(&mut self) -> Metadata;

    /// The body of the ERROR command that refuses the peer with `reason`.
    fn error_command(&self, reason: &[u8]) -> Bytes {
        crate::command::ErrorCommand::encode(reason)
    }

    /// Whether frames after the handshake pass through [`encrypt`](Self::encrypt) and
    /// [`decrypt`](Self::decrypt). NULL and PLAIN leave them alone.
    fn encrypts(&self) -> bool {
        false
    }

    /// Appends one frame sent after the handshake (flags: MORE or COMMAND) to `out`.
    fn encrypt(&mut self, flags: u8, body: &Bytes, out: &mut SendBuffer) {
        out.push_frame(flags, body);
    }

    /// Turns one frame received after the handshake into the frame it carries.
    fn decrypt(&mut self, frame: Frame) -> Result<Frame, Error> {
        Ok(frame)
    }
}

/// Parses the metadata of READY or INITIATE and checks the peer's socket type against
/// ours. Like libzmq, a peer that announces no socket type is let through.
pub fn parse_peer_metadata(ctx: &Context<'_>, data: &Bytes) -> Result<Metadata, Error> {
    let metadata = Metadata::parse(data)?;
    if let Some(peer) = metadata.get(SOCKET_TYPE)
        && !ctx.socket_type.accepts(peer)
    {
        return Err(Error::IncompatibleSocketType {
            ours: ctx.socket_type,
            peer: lossy(peer),
        });
    }
    Ok(metadata)
}

/// The error for an ERROR command received during the handshake.
pub fn refused(command: &Command) -> Error {
    match crate::command::ErrorCommand::parse(&command.data) {
        Ok(err) => Error::PeerRefused {
            reason: lossy(&err.reason),
        },
        Err(e) => e,
    }
}
