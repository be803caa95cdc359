//! The client side of CurveZMQ.
//!
//! ```text
//! client                                   server
//! HELLO   C' nonce box[64 zeros](C'→S)  →
//!                                       ←  WELCOME long-nonce box[S' cookie](S→C')
//! INITIATE cookie nonce box[C vouch metadata](C'→S')  →
//!                                       ←  READY nonce box[metadata](S'→C')
//! ```
//!
//! The client's transient secret key c' lives until WELCOME has given the session key,
//! its long-term secret key c until the vouch is sealed; both are zeroized then.

use alloc::vec::Vec;
use bytes::Bytes;
use purezmq_zmtp::command::{self, Command};
use purezmq_zmtp::frame::Frame;
use purezmq_zmtp::mechanism::{Context, Mechanism, parse_peer_metadata, refused};
use purezmq_zmtp::{Error, MechanismName, Metadata, SendBuffer};
use zeroize::Zeroizing;

use crate::crypto::{self, BoxKey, Rng};
use crate::error::CurveError;
use crate::key::{KeyPair, PublicKey};
use crate::session::{Nonces, Session};
use crate::wire;

/// The client side of CURVE: proves its long-term key to a server whose public key it
/// knows, and encrypts everything after the handshake.
pub struct CurveClient {
    /// Our long-term keys, until INITIATE is sealed.
    long_term: Option<KeyPair>,
    server: PublicKey,
    /// Our transient keys: the secret until WELCOME has been opened.
    transient: Option<KeyPair>,
    transient_public: PublicKey,
    /// The server's transient key and cookie, from WELCOME until INITIATE.
    welcome: Option<(PublicKey, [u8; wire::COOKIE_LEN])>,
    session_key: Option<BoxKey>,
    session: Option<Session>,
    nonces: Nonces,
    rng: Rng,
    state: State,
    peer: Option<Metadata>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    SendHello,
    AwaitWelcome,
    SendInitiate,
    AwaitReady,
    Ready,
}

impl core::fmt::Debug for CurveClient {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CurveClient")
            .field("server", &self.server)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl CurveClient {
    /// A client with the long-term keys `ours`, for the server whose public key is
    /// `server`; transient keys and nonces come from the operating system.
    #[cfg(feature = "getrandom")]
    pub fn new(ours: KeyPair, server: PublicKey) -> CurveClient {
        CurveClient::with_rng(ours, server, crypto::os_rng())
    }

    /// Like [`new`](Self::new), with random numbers from `rng` (for targets without an
    /// operating system).
    pub fn with_rng(
        ours: KeyPair,
        server: PublicKey,
        mut rng: alloc::boxed::Box<dyn rand_core::CryptoRngCore + Send>,
    ) -> CurveClient {
        let transient = KeyPair::generate_with(&mut *rng);
        CurveClient {
            long_term: Some(ours),
            server,
            transient_public: *transient.public(),
            transient: Some(transient),
            welcome: None,
            session_key: None,
            session: None,
            nonces: Nonces::new(),
            rng,
            state: State::SendHello,
            peer: None,
        }
    }

    fn hello(&mut self) -> Option<Bytes> {
        let transient = self.transient.as_ref()?;
        let nonce = self.nonces.next();
        let key = BoxKey::agree(&self.server, transient.secret());
        let mut signature = Vec::with_capacity(wire::HELLO_BOX_LEN);
        key.seal_into(
            &crypto::short_nonce(crypto::HELLO_PREFIX, nonce),
            &[0; 64],
            &mut signature,
        );
        Some(Command::encode(
            wire::HELLO,
            &[
                &wire::VERSION,
                &[0; wire::HELLO_PADDING],
                transient.public().as_bytes(),
                &nonce.to_be_bytes(),
                &signature,
            ],
        ))
    }

    fn process_welcome(&mut self, data: &[u8]) -> Result<(), Error> {
        if data.len() != wire::WELCOME_DATA_LEN {
            return Err(wire::malformed("WELCOME", "not 168 octets"));
        }
        let Some(transient) = self.transient.take() else {
            return Err(wire::unexpected(wire::WELCOME, "the handshake is over"));
        };
        let (long_nonce, boxed) = data.split_at(16);
        let long_nonce: &[u8; 16] = long_nonce.try_into().unwrap_or(&[0; 16]);
        let plaintext = BoxKey::agree(&self.server, transient.secret())
            .open(
                &crypto::long_nonce(crypto::WELCOME_PREFIX, long_nonce),
                boxed,
            )
            .ok_or(CurveError::WelcomeBox)?;
        let (server_transient, cookie) = plaintext.split_at(32);
        let server_transient =
            PublicKey::try_from(server_transient).map_err(|_| CurveError::WelcomeBox)?;
        let cookie: [u8; wire::COOKIE_LEN] =
            cookie.try_into().map_err(|_| CurveError::WelcomeBox)?;
        self.session_key = Some(BoxKey::agree(&server_transient, transient.secret()));
        self.welcome = Some((server_transient, cookie));
        self.state = State::SendInitiate;
        Ok(())
    }

    fn initiate(&mut self, ctx: &Context<'_>) -> Option<Bytes> {
        let long_term = self.long_term.take()?;
        let (server_transient, cookie) = self.welcome.take()?;
        let session_key = self.session_key.as_ref()?;
        let our_transient = self.transient_public;

        // The vouch: our transient key and the server's key, from our long-term key.
        let vouch_nonce = crypto::random_16(&mut self.rng);
        let mut vouch_plain = Zeroizing::new([0u8; 64]);
        vouch_plain[..32].copy_from_slice(our_transient.as_bytes());
        vouch_plain[32..].copy_from_slice(self.server.as_bytes());
        let mut vouch = Vec::with_capacity(wire::VOUCH_BOX_LEN);
        BoxKey::agree(&server_transient, long_term.secret()).seal_into(
            &crypto::long_nonce(crypto::VOUCH_PREFIX, &vouch_nonce),
            &vouch_plain[..],
            &mut vouch,
        );

        let mut plaintext = Zeroizing::new(Vec::with_capacity(
            wire::INITIATE_PLAIN_FIXED + ctx.metadata.encoded_len(),
        ));
        plaintext.extend_from_slice(long_term.public().as_bytes());
        plaintext.extend_from_slice(&vouch_nonce);
        plaintext.extend_from_slice(&vouch);
        let mut metadata = bytes::BytesMut::with_capacity(ctx.metadata.encoded_len());
        ctx.metadata.encode(&mut metadata);
        plaintext.extend_from_slice(&metadata);

        let nonce = self.nonces.next();
        let mut boxed = Vec::with_capacity(crypto::TAG_LEN + plaintext.len());
        session_key.seal_into(
            &crypto::short_nonce(crypto::INITIATE_PREFIX, nonce),
            &plaintext,
            &mut boxed,
        );
        Some(Command::encode(
            wire::INITIATE,
            &[&cookie, &nonce.to_be_bytes(), &boxed],
        ))
    }

    fn process_ready(&mut self, ctx: &Context<'_>, data: &[u8]) -> Result<(), Error> {
        if data.len() < wire::READY_MIN_DATA_LEN {
            return Err(wire::malformed("READY", "shorter than 30 octets"));
        }
        let Some(key) = self.session_key.take() else {
            return Err(wire::unexpected(command::READY, "the handshake is over"));
        };
        let (nonce, boxed) = data.split_at(8);
        let nonce = u64::from_be_bytes(nonce.try_into().unwrap_or_default());
        let plaintext = key
            .open(&crypto::short_nonce(crypto::READY_PREFIX, nonce), boxed)
            .ok_or(CurveError::ReadyBox)?;
        let metadata = parse_peer_metadata(ctx, &Bytes::copy_from_slice(&plaintext))?;
        let mut nonces = self.nonces;
        nonces.accept(nonce);
        self.session = Some(Session::new(key, false, nonces));
        self.peer = Some(metadata);
        self.state = State::Ready;
        Ok(())
    }
}

impl Mechanism for CurveClient {
    fn name(&self) -> MechanismName {
        MechanismName::CURVE
    }

    fn as_server(&self) -> bool {
        false
    }

    fn next_command(&mut self, ctx: &Context<'_>) -> Option<Bytes> {
        match self.state {
            State::SendHello => {
                let hello = self.hello()?;
                self.state = State::AwaitWelcome;
                Some(hello)
            }
            State::SendInitiate => {
                let initiate = self.initiate(ctx)?;
                self.state = State::AwaitReady;
                Some(initiate)
            }
            _ => None,
        }
    }

    fn process_command(&mut self, ctx: &Context<'_>, cmd: Command) -> Result<(), Error> {
        if cmd.is(command::ERROR) && matches!(self.state, State::AwaitWelcome | State::AwaitReady) {
            return Err(refused(&cmd));
        }
        match self.state {
            State::AwaitWelcome if cmd.is(wire::WELCOME) => self.process_welcome(&cmd.data),
            State::AwaitReady if cmd.is(command::READY) => self.process_ready(ctx, &cmd.data),
            State::AwaitWelcome => Err(wire::unexpected(&cmd.name, "waiting for WELCOME")),
            State::AwaitReady => Err(wire::unexpected(&cmd.name, "waiting for READY")),
            _ => Err(wire::unexpected(
                &cmd.name,
                "the server has nothing to send",
            )),
        }
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
