//! The PLAIN mechanism (RFC 24): a username and password in clear text.
//!
//! ```text
//! client                      server
//! HELLO username password  →
//!                          ←  WELCOME          (or ERROR, after authentication)
//! INITIATE metadata        →
//!                          ←  READY metadata
//! ```

use alloc::vec;
use bytes::Bytes;

use super::{AuthReply, AuthRequest, Context, Mechanism, parse_peer_metadata, refused};
use crate::command::{self, Command};
use crate::error::Error;
use crate::greeting::MechanismName;
use crate::metadata::Metadata;

const HELLO: &[u8] = b"HELLO";
const WELCOME: &[u8] = b"WELCOME";
const INITIATE: &[u8] = b"INITIATE";

/// The client side of PLAIN.
#[derive(Debug)]
pub struct PlainClient {
    username: Bytes,
    password: Bytes,
    state: ClientState,
    peer: Option<Metadata>,
}

#[derive(Debug, PartialEq, Eq)]
enum ClientState {
    SendHello,
    AwaitWelcome,
    SendInitiate,
    AwaitReady,
    Ready,
}

impl PlainClient {
    /// A client presenting these credentials.
    ///
    /// # Panics
    /// If the username or password is longer than 255 octets, which PLAIN cannot carry.
    pub fn new(username: impl Into<Bytes>, password: impl Into<Bytes>) -> PlainClient {
        let (username, password) = (username.into(), password.into());
        assert!(
            username.len() <= 255,
            "a PLAIN username has at most 255 octets"
        );
        assert!(
            password.len() <= 255,
            "a PLAIN password has at most 255 octets"
        );
        PlainClient {
            username,
            password,
            state: ClientState::SendHello,
            peer: None,
        }
    }
}

impl Mechanism for PlainClient {
    fn name(&self) -> MechanismName {
        MechanismName::PLAIN
    }

    fn as_server(&self) -> bool {
        false
    }

    fn next_command(&mut self, ctx: &Context<'_>) -> Option<Bytes> {
        match self.state {
            ClientState::SendHello => {
                self.state = ClientState::AwaitWelcome;
                Some(Command::encode(
                    HELLO,
                    &[
                        &[self.username.len() as u8],
                        &self.username,
                        &[self.password.len() as u8],
                        &self.password,
                    ],
                ))
            }
            ClientState::SendInitiate => {
                self.state = ClientState::AwaitReady;
                Some(command::encode_with_metadata(INITIATE, ctx.metadata))
            }
            _ => None,
        }
    }

    fn process_command(&mut self, ctx: &Context<'_>, cmd: Command) -> Result<(), Error> {
        if cmd.is(command::ERROR) {
            return Err(refused(&cmd));
        }
        match self.state {
            ClientState::AwaitWelcome if cmd.is(WELCOME) => {
                if !cmd.data.is_empty() {
                    return Err(Error::malformed(WELCOME, "WELCOME carries no data"));
                }
                self.state = ClientState::SendInitiate;
            }
            ClientState::AwaitReady if cmd.is(command::READY) => {
                self.peer = Some(parse_peer_metadata(ctx, &cmd.data)?);
                self.state = ClientState::Ready;
            }
            ClientState::AwaitWelcome => {
                return Err(Error::unexpected(&cmd.name, "waiting for WELCOME"));
            }
            _ => return Err(Error::unexpected(&cmd.name, "waiting for READY")),
        }
        Ok(())
    }

    fn is_ready(&self) -> bool {
        self.state == ClientState::Ready
    }

    fn take_peer_metadata(&mut self) -> Metadata {
        self.peer.take().unwrap_or_default()
    }
}

/// The server side of PLAIN.
#[derive(Debug)]
pub struct PlainServer {
    authenticate: bool,
    state: ServerState,
    credentials: Option<(Bytes, Bytes)>,
    peer: Option<Metadata>,
}

#[derive(Debug, PartialEq, Eq)]
enum ServerState {
    AwaitHello,
    AwaitAuth,
    SendWelcome,
    AwaitInitiate,
    SendReady,
    Ready,
}

impl PlainServer {
    /// A server that accepts every username and password, as libzmq does when no ZAP
    /// handler is there.
    pub fn new() -> PlainServer {
        PlainServer {
            authenticate: false,
            state: ServerState::AwaitHello,
            credentials: None,
            peer: None,
        }
    }

    /// A server that asks the caller to check each client's credentials.
    pub fn with_authentication() -> PlainServer {
        PlainServer {
            authenticate: true,
            ..PlainServer::new()
        }
    }

    fn parse_hello(data: &Bytes) -> Result<(Bytes, Bytes), Error> {
        let malformed = |reason| Error::malformed(HELLO, reason);
        let user_len = usize::from(*data.first().ok_or(malformed("no username length"))?);
        let user_end = 1 + user_len;
        let pass_len = usize::from(
            *data
                .get(user_end)
                .ok_or(malformed("username runs past the end of the command"))?,
        );
        let pass_end = user_end + 1 + pass_len;
        if data.len() < pass_end {
            return Err(malformed("password runs past the end of the command"));
        }
        if data.len() > pass_end {
            return Err(malformed("octets after the password"));
        }
        Ok((data.slice(1..user_end), data.slice(user_end + 1..pass_end)))
    }
}

impl Default for PlainServer {
    fn default() -> Self {
        PlainServer::new()
    }
}

impl Mechanism for PlainServer {
    fn name(&self) -> MechanismName {
        MechanismName::PLAIN
    }

    fn as_server(&self) -> bool {
        true
    }

    fn next_command(&mut self, ctx: &Context<'_>) -> Option<Bytes> {
        match self.state {
            ServerState::SendWelcome => {
                self.state = ServerState::AwaitInitiate;
                Some(Command::encode(WELCOME, &[]))
            }
            ServerState::SendReady => {
                self.state = ServerState::Ready;
                Some(command::encode_with_metadata(command::READY, ctx.metadata))
            }
            _ => None,
        }
    }

    fn process_command(&mut self, ctx: &Context<'_>, cmd: Command) -> Result<(), Error> {
        if cmd.is(command::ERROR) {
            return Err(refused(&cmd));
        }
        match self.state {
            ServerState::AwaitHello if cmd.is(HELLO) => {
                let credentials = Self::parse_hello(&cmd.data)?;
                if self.authenticate {
                    self.credentials = Some(credentials);
                    self.state = ServerState::AwaitAuth;
                } else {
                    self.state = ServerState::SendWelcome;
                }
            }
            ServerState::AwaitInitiate if cmd.is(INITIATE) => {
                self.peer = Some(parse_peer_metadata(ctx, &cmd.data)?);
                self.state = ServerState::SendReady;
            }
            ServerState::AwaitHello => {
                return Err(Error::unexpected(&cmd.name, "waiting for HELLO"));
            }
            ServerState::AwaitInitiate => {
                return Err(Error::unexpected(&cmd.name, "waiting for INITIATE"));
            }
            _ => {
                return Err(Error::unexpected(
                    &cmd.name,
                    "the client has nothing to send",
                ));
            }
        }
        Ok(())
    }

    /// libzmq's form of ERROR, which libzmq's PLAIN clients need to see the refusal
    /// as one (see [`command::LIBZMQ_PLAIN_ERROR_PREFIX`]); purezmq's client reads both.
    fn error_command(&self, reason: &[u8]) -> Bytes {
        command::ErrorCommand::encode_libzmq_plain(reason)
    }

    fn auth_request(&mut self) -> Option<AuthRequest> {
        let (username, password) = self.credentials.take()?;
        Some(AuthRequest {
            mechanism: MechanismName::PLAIN,
            credentials: vec![username, password],
        })
    }

    fn auth_reply(&mut self, reply: AuthReply) -> Result<(), Error> {
        if self.state != ServerState::AwaitAuth {
            return Ok(());
        }
        reply.into_result()?;
        self.state = ServerState::SendWelcome;
        Ok(())
    }

    fn is_ready(&self) -> bool {
        self.state == ServerState::Ready
    }

    fn take_peer_metadata(&mut self) -> Metadata {
        self.peer.take().unwrap_or_default()
    }
}
