//! The server side of CurveZMQ.
//!
//! Between WELCOME and INITIATE the server keeps no secret for the client: its
//! transient secret key s' travels in the cookie, sealed under a cookie key, and comes
//! back with INITIATE. The cookie key comes from a [`CookieKeys`] source shared by a
//! socket's connections (rotated every minute by [`CookieKeyring`](crate::CookieKeyring)),
//! or, without one, is drawn for the connection alone and zeroized when INITIATE
//! arrives. The connection remembers only the client's transient public key C' from
//! HELLO and the nonce of the cookie it sent in WELCOME, so that a cookie made for
//! another connection is refused: under a shared key, another connection's cookie
//! would open, and an eavesdropper replaying a whole captured handshake (its HELLO,
//! then its INITIATE, whose C' matches) would pass for the client it recorded, and
//! its recorded MESSAGEs would be delivered again.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use bytes::Bytes;
use purezmq_zmtp::command::{self, Command};
use purezmq_zmtp::frame::Frame;
use purezmq_zmtp::mechanism::{
    AuthReply, AuthRequest, Context, Mechanism, parse_peer_metadata, refused,
};
use purezmq_zmtp::{Error, MechanismName, Metadata, SendBuffer};
use zeroize::{Zeroize, Zeroizing};

use crate::cookie::{CookieKey, CookieKeys};
use crate::crypto::{self, BoxKey, Rng};
use crate::error::CurveError;
use crate::key::{KeyPair, PublicKey, SecretKey};
use crate::session::{Nonces, Session};
use crate::wire;

/// The server side of CURVE: holds the server's long-term keys, accepts clients that
/// know its public key, and encrypts everything after the handshake.
///
/// [`new`](Self::new) admits every client, as libzmq does without a ZAP handler (the
/// guide's Stonehouse pattern); [`with_authentication`](Self::with_authentication)
/// asks the caller about each client's long-term public key (Ironhouse).
pub struct CurveServer {
    keys: KeyPair,
    authenticate: bool,
    rng: Rng,
    state: State,
    nonces: Nonces,
    /// The client's transient key, from HELLO until INITIATE.
    client_transient: Option<PublicKey>,
    /// Where cookie keys come from, if shared with other connections.
    cookie_keys: Option<Arc<dyn CookieKeys>>,
    /// This connection's own cookie key, from WELCOME until INITIATE, when there is
    /// no shared source.
    cookie_key: Option<CookieKey>,
    /// The nonce of the cookie this connection sent in WELCOME, until INITIATE: the
    /// only cookie INITIATE may bring back.
    cookie_nonce: Option<[u8; 16]>,
    /// The session's key, from INITIATE until READY is sealed.
    session_key: Option<BoxKey>,
    client_key: Option<PublicKey>,
    session: Option<Session>,
    peer: Option<Metadata>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    AwaitHello,
    SendWelcome,
    AwaitInitiate,
    AwaitAuth,
    SendReady,
    Ready,
}

impl core::fmt::Debug for CurveServer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CurveServer")
            .field("public", self.keys.public())
            .field("authenticate", &self.authenticate)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl CurveServer {
    /// A server with the long-term keys `keys` that admits every client; random
    /// numbers come from the operating system.
    #[cfg(feature = "getrandom")]
    pub fn new(keys: KeyPair) -> CurveServer {
        CurveServer::with_rng(keys, crypto::os_rng())
    }

    /// A server that asks the caller to authenticate each client: the connection
    /// raises an authentication request whose one credential is the client's 32-octet
    /// long-term public key (ZAP mechanism `CURVE`).
    #[cfg(feature = "getrandom")]
    pub fn with_authentication(keys: KeyPair) -> CurveServer {
        CurveServer::with_rng(keys, crypto::os_rng()).authenticating(true)
    }

    /// A server that admits every client, with random numbers from `rng`.
    pub fn with_rng(keys: KeyPair, rng: Box<dyn rand_core::CryptoRngCore + Send>) -> CurveServer {
        CurveServer {
            keys,
            authenticate: false,
            rng,
            state: State::AwaitHello,
            nonces: Nonces::new(),
            client_transient: None,
            cookie_keys: None,
            cookie_key: None,
            cookie_nonce: None,
            session_key: None,
            client_key: None,
            session: None,
            peer: None,
        }
    }

    /// Seals cookies under keys from `keys`, shared with other connections (see
    /// [`CookieKeyring`](crate::CookieKeyring)), instead of a key of this
    /// connection's own.
    pub fn with_cookie_keys(mut self, keys: Arc<dyn CookieKeys>) -> CurveServer {
        self.cookie_keys = Some(keys);
        self
    }

    /// Whether to ask the caller to authenticate each client.
    pub fn authenticating(mut self, authenticate: bool) -> CurveServer {
        self.authenticate = authenticate;
        self
    }

    fn process_hello(&mut self, data: &[u8]) -> Result<(), Error> {
        if data.len() != wire::HELLO_DATA_LEN {
            return Err(wire::malformed("HELLO", "not 200 octets"));
        }
        let (version, rest) = data.split_at(2);
        if version != wire::VERSION {
            return Err(CurveError::UnsupportedVersion {
                major: version[0],
                minor: version[1],
            }
            .into());
        }
        // Like libzmq, the padding's content is not checked: only its length matters.
        let (client_transient, rest) = rest[wire::HELLO_PADDING..].split_at(32);
        let (nonce, signature) = rest.split_at(8);
        let client_transient = PublicKey::try_from(client_transient)
            .map_err(|_| wire::malformed("HELLO", "client transient key"))?;
        let nonce = u64::from_be_bytes(nonce.try_into().unwrap_or_default());
        BoxKey::agree(&client_transient, self.keys.secret())
            .open(&crypto::short_nonce(crypto::HELLO_PREFIX, nonce), signature)
            .ok_or(CurveError::HelloBox)?;
        self.nonces.accept(nonce);
        self.client_transient = Some(client_transient);
        self.state = State::SendWelcome;
        Ok(())
    }

    fn welcome(&mut self) -> Option<Bytes> {
        if self.state != State::SendWelcome {
            return None;
        }
        let client_transient = self.client_transient?;
        let transient = KeyPair::generate_with(&mut *self.rng);

        // The cookie: C' and s' under the cookie key.
        let cookie_key = match &self.cookie_keys {
            Some(keys) => keys.sealing_key(),
            None => {
                let mut key = CookieKey::default();
                self.rng.fill_bytes(&mut key[..]);
                self.cookie_key = Some(key.clone());
                key
            }
        };
        let cookie_nonce = crypto::random_16(&mut self.rng);
        self.cookie_nonce = Some(cookie_nonce);
        let mut cookie_plain = Zeroizing::new([0u8; 64]);
        cookie_plain[..32].copy_from_slice(client_transient.as_bytes());
        cookie_plain[32..].copy_from_slice(transient.secret().as_bytes());
        let mut plaintext = Zeroizing::new(Vec::with_capacity(32 + wire::COOKIE_LEN));
        plaintext.extend_from_slice(transient.public().as_bytes());
        plaintext.extend_from_slice(&cookie_nonce);
        BoxKey::symmetric(&cookie_key).seal_into(
            &crypto::long_nonce(crypto::COOKIE_PREFIX, &cookie_nonce),
            &cookie_plain[..],
            &mut plaintext,
        );

        let welcome_nonce = crypto::random_16(&mut self.rng);
        let mut data = Vec::with_capacity(wire::WELCOME_DATA_LEN);
        data.extend_from_slice(&welcome_nonce);
        BoxKey::agree(&client_transient, self.keys.secret()).seal_into(
            &crypto::long_nonce(crypto::WELCOME_PREFIX, &welcome_nonce),
            &plaintext,
            &mut data,
        );
        Some(Command::encode(wire::WELCOME, &[&data]))
    }

    fn process_initiate(&mut self, ctx: &Context<'_>, data: &[u8]) -> Result<(), Error> {
        if data.len() < wire::INITIATE_MIN_DATA_LEN {
            return Err(wire::malformed("INITIATE", "shorter than 257 octets"));
        }
        // One INITIATE per HELLO, whatever it holds.
        let Some(hello_transient) = self.client_transient.take() else {
            return Err(wire::unexpected(wire::INITIATE, "the handshake is over"));
        };
        let (cookie, rest) = data.split_at(wire::COOKIE_LEN);
        let (nonce, boxed) = rest.split_at(8);

        let (cookie_nonce, cookie_box) = cookie.split_at(16);
        let cookie_nonce: &[u8; 16] = cookie_nonce.try_into().unwrap_or(&[0; 16]);
        let keys = match (&self.cookie_keys, self.cookie_key.take()) {
            (Some(shared), _) => shared.opening_keys(),
            (None, own) => [own, None],
        };
        // Only the cookie sent on this connection: a shared key would open another
        // connection's, replayed with its HELLO.
        if self.cookie_nonce.take().as_ref() != Some(cookie_nonce) {
            return Err(CurveError::Cookie.into());
        }
        let cookie_nonce = crypto::long_nonce(crypto::COOKIE_PREFIX, cookie_nonce);
        let cookie = keys
            .iter()
            .flatten()
            .find_map(|key| BoxKey::symmetric(key).open(&cookie_nonce, cookie_box))
            .ok_or(CurveError::Cookie)?;
        drop(keys);
        let (client_transient, transient_secret) = cookie.split_at(32);
        // A cookie sealed for another connection's HELLO opens under a shared key,
        // but names another C'.
        if client_transient != &hello_transient.as_bytes()[..] {
            return Err(CurveError::Cookie.into());
        }
        let client_transient = hello_transient;
        let mut secret_bytes = [0u8; 32];
        secret_bytes.copy_from_slice(transient_secret);
        let transient_secret = SecretKey::from_bytes(secret_bytes);
        secret_bytes.zeroize();

        let nonce = u64::from_be_bytes(nonce.try_into().unwrap_or_default());
        self.nonces.check("INITIATE", nonce)?;
        let session_key = BoxKey::agree(&client_transient, &transient_secret);
        let plaintext = session_key
            .open(&crypto::short_nonce(crypto::INITIATE_PREFIX, nonce), boxed)
            .ok_or(CurveError::InitiateBox)?;
        self.nonces.accept(nonce);

        let (client_key, rest) = plaintext.split_at(32);
        let (vouch_nonce, rest) = rest.split_at(16);
        let (vouch, metadata) = rest.split_at(wire::VOUCH_BOX_LEN);
        let client_key = PublicKey::try_from(client_key).map_err(|_| CurveError::Vouch)?;
        let vouch_nonce: &[u8; 16] = vouch_nonce.try_into().unwrap_or(&[0; 16]);
        let vouch = BoxKey::agree(&client_key, &transient_secret)
            .open(
                &crypto::long_nonce(crypto::VOUCH_PREFIX, vouch_nonce),
                vouch,
            )
            .ok_or(CurveError::Vouch)?;
        if vouch[..32] != client_transient.as_bytes()[..]
            || vouch[32..] != self.keys.public().as_bytes()[..]
        {
            return Err(CurveError::VouchMismatch.into());
        }

        self.peer = Some(parse_peer_metadata(ctx, &Bytes::copy_from_slice(metadata))?);
        self.session_key = Some(session_key);
        self.client_key = Some(client_key);
        self.state = if self.authenticate {
            State::AwaitAuth
        } else {
            State::SendReady
        };
        Ok(())
    }

    fn ready(&mut self, ctx: &Context<'_>) -> Option<Bytes> {
        let key = self.session_key.take()?;
        let mut metadata = bytes::BytesMut::with_capacity(ctx.metadata.encoded_len());
        ctx.metadata.encode(&mut metadata);
        let nonce = self.nonces.next();
        let mut boxed = Vec::with_capacity(crypto::TAG_LEN + metadata.len());
        key.seal_into(
            &crypto::short_nonce(crypto::READY_PREFIX, nonce),
            &metadata,
            &mut boxed,
        );
        self.session = Some(Session::new(key, true, self.nonces));
        Some(Command::encode(
            command::READY,
            &[&nonce.to_be_bytes(), &boxed],
        ))
    }
}

impl Mechanism for CurveServer {
    fn name(&self) -> MechanismName {
        MechanismName::CURVE
    }

    fn as_server(&self) -> bool {
        true
    }

    fn next_command(&mut self, ctx: &Context<'_>) -> Option<Bytes> {
        match self.state {
            State::SendWelcome => {
                let welcome = self.welcome()?;
                self.state = State::AwaitInitiate;
                Some(welcome)
            }
            State::SendReady => {
                let ready = self.ready(ctx)?;
                self.state = State::Ready;
                Some(ready)
            }
            _ => None,
        }
    }

    fn process_command(&mut self, ctx: &Context<'_>, cmd: Command) -> Result<(), Error> {
        if cmd.is(command::ERROR) {
            return Err(refused(&cmd));
        }
        match self.state {
            State::AwaitHello if cmd.is(wire::HELLO) => self.process_hello(&cmd.data),
            State::AwaitInitiate if cmd.is(wire::INITIATE) => self.process_initiate(ctx, &cmd.data),
            State::AwaitHello => Err(wire::unexpected(&cmd.name, "waiting for HELLO")),
            State::AwaitInitiate => Err(wire::unexpected(&cmd.name, "waiting for INITIATE")),
            State::AwaitAuth => Err(wire::unexpected(
                &cmd.name,
                "waiting for the client to be authenticated",
            )),
            _ => Err(wire::unexpected(
                &cmd.name,
                "the client has nothing to send",
            )),
        }
    }

    fn auth_request(&mut self) -> Option<AuthRequest> {
        if self.state != State::AwaitAuth {
            return None;
        }
        let key = self.client_key.take()?;
        Some(AuthRequest {
            mechanism: MechanismName::CURVE,
            credentials: vec![Bytes::copy_from_slice(key.as_bytes())],
        })
    }

    fn auth_reply(&mut self, reply: AuthReply) -> Result<(), Error> {
        if self.state != State::AwaitAuth {
            return Ok(());
        }
        if !reply.is_accepted() {
            return Err(Error::AuthenticationFailed {
                status_code: reply.status_code,
                status_text: reply.status_text,
            });
        }
        self.state = State::SendReady;
        Ok(())
    }

    fn is_ready(&self) -> bool {
        self.state == State::Ready
    }

    fn take_peer_metadata(&mut self) -> Metadata {
        self.peer.take().unwrap_or_default()
    }

    fn encrypts(&self) -> bool {
        true
    }

    fn encrypt(&mut self, flags: u8, body: &Bytes, out: &mut SendBuffer) {
        if let Some(session) = &mut self.session {
            session.encrypt(flags, body, out);
        }
    }

    fn decrypt(&mut self, frame: Frame) -> Result<Frame, Error> {
        match &mut self.session {
            Some(session) => session.decrypt(frame),
            None => Err(Error::NotReady),
        }
    }
}

#[cfg(test)]
mod tests {
    //! A hand-made client, to reach what an honest CurveClient never sends: vouches
    //! that do not match.

    use super::*;
    use crate::crypto::{HELLO_PREFIX, INITIATE_PREFIX, VOUCH_PREFIX, WELCOME_PREFIX};
    use crate::crypto::{long_nonce, short_nonce};
    use purezmq_zmtp::SocketType;

    fn generate() -> KeyPair {
        KeyPair::generate_with(&mut rand_core::OsRng)
    }

    /// A server that has answered our HELLO, our transient keys, S' and the cookie.
    fn welcomed(
        server_keys: &KeyPair,
        ctx: &Context<'_>,
    ) -> (CurveServer, KeyPair, PublicKey, Vec<u8>) {
        let server = CurveServer::with_rng(server_keys.clone(), Box::new(rand_core::OsRng));
        let ((server, _), transient, s_prime, cookie) = welcomed_by(server, server_keys, ctx);
        (server, transient, s_prime, cookie)
    }

    /// [`welcomed`] with this `server`; also gives the HELLO it answered.
    fn welcomed_by(
        mut server: CurveServer,
        server_keys: &KeyPair,
        ctx: &Context<'_>,
    ) -> ((CurveServer, Command), KeyPair, PublicKey, Vec<u8>) {
        let transient = generate();
        let mut signature = Vec::new();
        BoxKey::agree(server_keys.public(), transient.secret()).seal_into(
            &short_nonce(HELLO_PREFIX, 1),
            &[0; 64],
            &mut signature,
        );
        let hello = Command::encode(
            wire::HELLO,
            &[
                &wire::VERSION,
                &[0; wire::HELLO_PADDING],
                transient.public().as_bytes(),
                &1u64.to_be_bytes(),
                &signature,
            ],
        );
        let hello = Command::parse(hello).expect("a command");
        server
            .process_command(ctx, hello.clone())
            .expect("HELLO opens");
        let welcome = server.next_command(ctx).expect("WELCOME");
        let welcome = Command::parse(welcome).expect("a command");
        let (nonce, boxed) = welcome.data.split_at(16);
        let nonce: &[u8; 16] = nonce.try_into().expect("16 octets");
        let plaintext = BoxKey::agree(server_keys.public(), transient.secret())
            .open(&long_nonce(WELCOME_PREFIX, nonce), boxed)
            .expect("WELCOME opens");
        let server_transient = PublicKey::try_from(&plaintext[..32]).expect("S'");
        (
            (server, hello),
            transient,
            server_transient,
            plaintext[32..].to_vec(),
        )
    }

    /// INITIATE presenting `claimed` as the client's key, with a vouch of `vouched`
    /// sealed by `signer`.
    fn initiate(
        transient: &KeyPair,
        server_transient: &PublicKey,
        cookie: &[u8],
        claimed: &PublicKey,
        signer: &SecretKey,
        vouched: [u8; 64],
    ) -> Command {
        let mut vouch = Vec::new();
        BoxKey::agree(server_transient, signer).seal_into(
            &long_nonce(VOUCH_PREFIX, &[9; 16]),
            &vouched,
            &mut vouch,
        );
        let mut plaintext = claimed.as_bytes().to_vec();
        plaintext.extend_from_slice(&[9; 16]);
        plaintext.extend_from_slice(&vouch);
        let mut boxed = Vec::new();
        BoxKey::agree(server_transient, transient.secret()).seal_into(
            &short_nonce(INITIATE_PREFIX, 2),
            &plaintext,
            &mut boxed,
        );
        let body = Command::encode(wire::INITIATE, &[cookie, &2u64.to_be_bytes(), &boxed]);
        Command::parse(body).expect("a command")
    }

    fn vouched(a: &PublicKey, b: &PublicKey) -> [u8; 64] {
        let mut out = [0; 64];
        out[..32].copy_from_slice(a.as_bytes());
        out[32..].copy_from_slice(b.as_bytes());
        out
    }

    #[test]
    fn hand_made_initiate_is_accepted() {
        let metadata = Metadata::new();
        let ctx = Context {
            socket_type: SocketType::Rep,
            metadata: &metadata,
        };
        let server_keys = generate();
        let client = generate();
        let (mut server, transient, s_prime, cookie) = welcomed(&server_keys, &ctx);
        let cmd = initiate(
            &transient,
            &s_prime,
            &cookie,
            client.public(),
            client.secret(),
            vouched(transient.public(), server_keys.public()),
        );
        assert_eq!(server.process_command(&ctx, cmd), Ok(()));
        assert!(server.next_command(&ctx).is_some(), "READY");
        assert!(server.is_ready());
    }

    #[test]
    fn vouch_not_sealed_by_the_presented_key_is_refused() {
        let metadata = Metadata::new();
        let ctx = Context {
            socket_type: SocketType::Rep,
            metadata: &metadata,
        };
        let server_keys = generate();
        let (claimed, impostor) = (generate(), generate());
        let (mut server, transient, s_prime, cookie) = welcomed(&server_keys, &ctx);
        let cmd = initiate(
            &transient,
            &s_prime,
            &cookie,
            claimed.public(),
            impostor.secret(),
            vouched(transient.public(), server_keys.public()),
        );
        assert_eq!(
            server.process_command(&ctx, cmd),
            Err(CurveError::Vouch.into())
        );
    }

    #[test]
    fn vouch_for_another_connection_or_server_is_refused() {
        let metadata = Metadata::new();
        let ctx = Context {
            socket_type: SocketType::Rep,
            metadata: &metadata,
        };
        let server_keys = generate();
        let client = generate();
        let other = generate();
        for wrong in [0, 1] {
            let (mut server, transient, s_prime, cookie) = welcomed(&server_keys, &ctx);
            let content = if wrong == 0 {
                vouched(other.public(), server_keys.public())
            } else {
                vouched(transient.public(), other.public())
            };
            let cmd = initiate(
                &transient,
                &s_prime,
                &cookie,
                client.public(),
                client.secret(),
                content,
            );
            assert_eq!(
                server.process_command(&ctx, cmd),
                Err(CurveError::VouchMismatch.into())
            );
        }
    }

    #[test]
    fn cookie_from_another_connection_is_refused() {
        let metadata = Metadata::new();
        let ctx = Context {
            socket_type: SocketType::Rep,
            metadata: &metadata,
        };
        let server_keys = generate();
        let client = generate();
        let (_, _, _, old_cookie) = welcomed(&server_keys, &ctx);
        let (mut server, transient, s_prime, _) = welcomed(&server_keys, &ctx);
        let cmd = initiate(
            &transient,
            &s_prime,
            &old_cookie,
            client.public(),
            client.secret(),
            vouched(transient.public(), server_keys.public()),
        );
        assert_eq!(
            server.process_command(&ctx, cmd),
            Err(CurveError::Cookie.into())
        );
        // The cookie key is gone: even the right cookie no longer opens.
        assert!(server.cookie_key.is_none());
    }

    #[test]
    fn a_handshake_replayed_on_a_connection_sharing_the_cookie_keys_is_refused() {
        let metadata = Metadata::new();
        let ctx = Context {
            socket_type: SocketType::Rep,
            metadata: &metadata,
        };
        let server_keys = generate();
        let client = generate();
        let shared: Arc<dyn CookieKeys> = Arc::new(crate::CookieKeyring::new());
        let server = || {
            CurveServer::with_rng(server_keys.clone(), Box::new(rand_core::OsRng))
                .with_cookie_keys(Arc::clone(&shared))
        };
        // An honest handshake, recorded.
        let ((mut first, hello), transient, s_prime, cookie) =
            welcomed_by(server(), &server_keys, &ctx);
        let initiate = initiate(
            &transient,
            &s_prime,
            &cookie,
            client.public(),
            client.secret(),
            vouched(transient.public(), server_keys.public()),
        );
        assert_eq!(first.process_command(&ctx, initiate.clone()), Ok(()));

        // Its HELLO and INITIATE replayed on another connection: the cookie opens under
        // the shared key and names the replayed HELLO's C', but this connection never
        // sent it.
        let mut second = server();
        assert_eq!(second.process_command(&ctx, hello), Ok(()));
        assert!(second.next_command(&ctx).is_some(), "WELCOME");
        assert_eq!(
            second.process_command(&ctx, initiate),
            Err(CurveError::Cookie.into())
        );
        assert!(!second.is_ready());
    }
}
