//! The NULL mechanism (RFC 23): no security, both sides send READY at once.

use bytes::Bytes;

use super::{AuthReply, AuthRequest, Context, Mechanism, parse_peer_metadata, refused};
use crate::command::{self, Command};
use crate::error::Error;
use crate::greeting::MechanismName;
use crate::metadata::Metadata;

/// The NULL mechanism.
#[derive(Debug, Default)]
pub struct Null {
    auth: Auth,
    ready_sent: bool,
    peer: Option<Metadata>,
}

#[derive(Debug, Default, PartialEq, Eq)]
enum Auth {
    #[default]
    NotRequired,
    ToRequest,
    Requested,
    Accepted,
}

impl Null {
    /// NULL without authentication.
    pub fn new() -> Null {
        Null::default()
    }

    /// NULL that asks the caller to authenticate the peer (by address, through ZAP)
    /// before it sends READY, as libzmq does when a ZAP domain is set.
    pub fn with_authentication() -> Null {
        Null {
            auth: Auth::ToRequest,
            ..Null::default()
        }
    }
}

impl Mechanism for Null {
    fn name(&self) -> MechanismName {
        MechanismName::NULL
    }

    fn as_server(&self) -> bool {
        false
    }

    fn next_command(&mut self, ctx: &Context<'_>) -> Option<Bytes> {
        let may_send = matches!(self.auth, Auth::NotRequired | Auth::Accepted);
        if self.ready_sent || !may_send {
            return None;
        }
        self.ready_sent = true;
        Some(command::encode_with_metadata(command::READY, ctx.metadata))
    }

    fn process_command(&mut self, ctx: &Context<'_>, cmd: Command) -> Result<(), Error> {
        if cmd.is(command::ERROR) {
            return Err(refused(&cmd));
        }
        if !cmd.is(command::READY) || self.peer.is_some() {
            return Err(Error::unexpected(&cmd.name, "waiting for READY"));
        }
        self.peer = Some(parse_peer_metadata(ctx, &cmd.data)?);
        Ok(())
    }

    fn auth_request(&mut self) -> Option<AuthRequest> {
        (self.auth == Auth::ToRequest).then(|| {
            self.auth = Auth::Requested;
            AuthRequest {
                mechanism: MechanismName::NULL,
                credentials: alloc::vec::Vec::new(),
            }
        })
    }

    fn auth_reply(&mut self, reply: AuthReply) -> Result<(), Error> {
        reply.into_result()?;
        self.auth = Auth::Accepted;
        Ok(())
    }

    fn is_ready(&self) -> bool {
        self.ready_sent && self.peer.is_some()
    }

    fn take_peer_metadata(&mut self) -> Metadata {
        self.peer.take().unwrap_or_default()
    }
}
