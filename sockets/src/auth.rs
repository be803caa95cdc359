//! A ready-made ZAP handler: who may connect, by IP address, PLAIN password or CURVE
//! client key, per ZAP domain, as pyzmq's `zmq.auth` and CZMQ's `zauth` decide.
//!
//! An [`Authenticator`] answers for one socket when given to
//! [`Socket::set_zap_handler`], or for every socket of the process without a handler
//! of its own when [served](Authenticator::serve_inproc) at
//! [`inproc://zeromq.zap.01`](crate::zap::ZAP_ENDPOINT), as libzmq applications do
//! it. Its handles share one policy, which may change while sockets run; it applies
//! to handshakes from then on.
//!
//! The policy, in order:
//! 1. **Address**: with addresses [allowed](Authenticator::allow), a peer from any
//!    other address is refused; otherwise one from a [denied](Authenticator::deny)
//!    address is. (ipc peers have no address.)
//! 2. **Mechanism**: NULL passes (as user `anonymous`). PLAIN needs a user name and
//!    password from the domain's [`PlainPasswords`] and is known by the user name;
//!    CURVE needs a client key the domain's [`CurveKeys`] admit and is known by the
//!    key in Z85. A domain's settings are those configured for it, else those for
//!    [`ANY_DOMAIN`] (`"*"`); a socket without a ZAP domain uses the latter.
//!
//! Admitted peers get status 200, refused ones 400 with the reason in the status
//! text (the peer sees only the code).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> purezmq::Result<()> {
//! use bytes::Bytes;
//! use purezmq::auth::{ANY_DOMAIN, Authenticator};
//! use purezmq::{Options, Security, Socket, SocketType};
//!
//! let authenticator = Authenticator::new();
//! authenticator
//!     .allow([127, 0, 0, 1])
//!     .configure_plain(ANY_DOMAIN, [("admin", "secret")]);
//!
//! let server = Socket::with_options(
//!     SocketType::Rep,
//!     Options { security: Security::PlainServer, ..Options::default() },
//! )?;
//! server.set_zap_handler(authenticator.clone());
//! server.bind("tcp://127.0.0.1:*")?;
//!
//! let client = Socket::with_options(
//!     SocketType::Req,
//!     Options {
//!         security: Security::PlainClient {
//!             username: Bytes::from_static(b"admin"),
//!             password: Bytes::from_static(b"secret"),
//!         },
//!         ..Options::default()
//!     },
//! )?;
//! client.connect(&server.last_endpoint())?;
//! client.send("Hello").await?;
//! assert_eq!(server.recv().await?.frames(), ["Hello"]);
//! # Ok(())
//! # }
//! ```

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use purezmq_curve::{LoadError, PublicKey};
use purezmq_zmtp::{Message, SocketType};
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::options::Options;
use crate::socket::Socket;
use crate::zap::{self, AuthReply, MechanismName, ZAP_ENDPOINT, ZapFuture, ZapHandler, ZapRequest};

/// The domain whose settings apply to every domain that has none of its own, and to
/// sockets without a ZAP domain (pyzmq's and CZMQ's `"*"`).
pub const ANY_DOMAIN: &str = "*";

/// The user id of peers admitted without credentials (NULL), as pyzmq names them.
const ANONYMOUS: &str = "anonymous";

/// Decides who may connect: an IP allowlist or denylist, then PLAIN passwords or CURVE
/// client keys per ZAP domain (see the [module](self) for the rules).
///
/// Clones share one policy: configure it through any of them, at any time.
#[derive(Clone, Default)]
pub struct Authenticator {
    policy: Arc<RwLock<Policy>>,
}

#[derive(Default)]
struct Policy {
    allowed: HashSet<IpAddr>,
    denied: HashSet<IpAddr>,
    passwords: HashMap<String, PlainPasswords>,
    curve: HashMap<String, CurveKeys>,
}

impl Policy {
    /// The settings for `domain`: its own, else [`ANY_DOMAIN`]'s.
    fn for_domain<'a, T>(settings: &'a HashMap<String, T>, domain: &str) -> Option<&'a T> {
        settings.get(domain).or_else(|| settings.get(ANY_DOMAIN))
    }

    /// Refuses an address the lists keep out.
    fn check_address(&self, address: &str) -> std::result::Result<(), &'static str> {
        let ip = address.parse::<IpAddr>().ok().map(|ip| ip.to_canonical());
        let listed = |list: &HashSet<IpAddr>| ip.is_some_and(|ip| list.contains(&ip));
        if !self.allowed.is_empty() {
            if listed(&self.allowed) {
                return Ok(());
            }
            return Err("Address not allowed");
        }
        if listed(&self.denied) {
            return Err("Address denied");
        }
        Ok(())
    }

    fn answer(&self, request: &ZapRequest) -> std::result::Result<Bytes, &'static str> {
        self.check_address(&request.address)?;
        match request.mechanism {
            MechanismName::NULL => Ok(Bytes::from_static(ANONYMOUS.as_bytes())),
            MechanismName::PLAIN => {
                let [user, password] = request.credentials.as_slice() else {
                    return Err("Invalid credentials");
                };
                if self.passwords.is_empty() {
                    return Err("No passwords defined");
                }
                let passwords =
                    Policy::for_domain(&self.passwords, &request.domain).ok_or("Invalid domain")?;
                passwords.check(user, password)?;
                Ok(user.clone())
            }
            MechanismName::CURVE => {
                let [key] = request.credentials.as_slice() else {
                    return Err("Invalid credentials");
                };
                let key = PublicKey::try_from(&key[..]).map_err(|_| "Invalid credentials")?;
                if self.curve.is_empty() {
                    return Err("No CURVE keys defined");
                }
                let keys =
                    Policy::for_domain(&self.curve, &request.domain).ok_or("Unknown domain")?;
                if !keys.admits(&key) {
                    return Err("Unknown key");
                }
                Ok(Bytes::from(key.to_z85()))
            }
            _ => Err("Unsupported mechanism"),
        }
    }
}

impl Authenticator {
    /// An authenticator with no policy yet: it admits every NULL peer and refuses
    /// every PLAIN and CURVE one.
    pub fn new() -> Authenticator {
        Authenticator::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Policy> {
        self.policy.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Policy> {
        self.policy.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Admits peers from `address` only (with the others allowed before). NULL
    /// peers from there pass; PLAIN and CURVE ones still need their credentials. An
    /// allowlist makes the denylist moot.
    pub fn allow(&self, address: impl Into<IpAddr>) -> &Authenticator {
        self.write().allowed.insert(address.into().to_canonical());
        self
    }

    /// Refuses peers from `address`, unless addresses are [allowed](Self::allow).
    pub fn deny(&self, address: impl Into<IpAddr>) -> &Authenticator {
        self.write().denied.insert(address.into().to_canonical());
        self
    }

    /// Has PLAIN peers of `domain` ([`ANY_DOMAIN`] for all) log in with these user
    /// names and passwords, replacing the domain's earlier ones.
    pub fn configure_plain(
        &self,
        domain: impl Into<String>,
        passwords: impl Into<PlainPasswords>,
    ) -> &Authenticator {
        self.write()
            .passwords
            .insert(domain.into(), passwords.into());
        self
    }

    /// Has CURVE peers of `domain` ([`ANY_DOMAIN`] for all) admitted by their public
    /// key, replacing the domain's earlier keys.
    pub fn configure_curve(&self, domain: impl Into<String>, keys: CurveKeys) -> &Authenticator {
        self.write().curve.insert(domain.into(), keys);
        self
    }

    /// The answer to one request: 200 with the user id, or 400 with the reason.
    pub fn answer(&self, request: &ZapRequest) -> AuthReply {
        match self.read().answer(request) {
            Ok(user_id) => AuthReply::accept(user_id),
            Err(reason) => AuthReply::deny(400, reason),
        }
    }

    /// Binds a ROUTER socket at [`inproc://zeromq.zap.01`](ZAP_ENDPOINT) and answers
    /// the requests of every socket of this process that has no handler of its own,
    /// until the returned [`ZapServer`] is dropped. Must be called within a tokio
    /// runtime, which runs the answering task.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> purezmq::Result<()> {
    /// use purezmq::auth::Authenticator;
    /// use purezmq::{Options, Socket, SocketType};
    ///
    /// let authenticator = Authenticator::new();
    /// authenticator.deny([127, 0, 0, 1]);
    /// let _zap = authenticator.serve_inproc()?;
    ///
    /// // A NULL socket asks ZAP once it has a domain.
    /// let options = Options { zap_domain: "global".into(), ..Options::default() };
    /// let server = Socket::with_options(SocketType::Pull, options)?;
    /// server.bind("tcp://127.0.0.1:*")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn serve_inproc(&self) -> Result<ZapServer> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::State("Authenticator::serve_inproc must be called within a tokio runtime")
        })?;
        let options = Options {
            linger: Some(Duration::ZERO),
            ..Options::default()
        };
        let socket = Socket::with_options(SocketType::Router, options)?;
        socket.bind(ZAP_ENDPOINT)?;
        let stop = CancellationToken::new();
        runtime.spawn(serve(socket.clone(), self.clone(), stop.clone()));
        Ok(ZapServer { socket, stop })
    }

    /// The reply to a request as it came to the ROUTER: envelope, delimiter, frames.
    /// `None` when there is nobody to answer.
    fn reply_to(&self, message: Message) -> Option<Message> {
        let frames = message.into_frames();
        let delimiter = frames.iter().position(|frame| frame.is_empty())?;
        let (envelope, body) = frames.split_at(delimiter + 1);
        let (id, reply) = match zap::parse_request(body) {
            Ok((id, request)) => (id, self.answer(&request)),
            Err(bad) => (bad.id?, AuthReply::deny(400, bad.reason)),
        };
        let mut out: Message = envelope.iter().cloned().collect();
        for frame in zap::reply_frames(id, &reply) {
            out.push(frame);
        }
        Some(out)
    }
}

impl ZapHandler for Authenticator {
    fn authenticate(&self, request: ZapRequest) -> ZapFuture {
        Box::pin(std::future::ready(self.answer(&request)))
    }
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let policy = self.read();
        f.debug_struct("Authenticator")
            .field("allowed", &policy.allowed)
            .field("denied", &policy.denied)
            .field(
                "plain_domains",
                &policy.passwords.keys().collect::<Vec<_>>(),
            )
            .field("curve_domains", &policy.curve.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Answers requests at the ROUTER until told to stop.
async fn serve(socket: Socket, authenticator: Authenticator, stop: CancellationToken) {
    loop {
        let message = tokio::select! {
            () = stop.cancelled() => return,
            message = socket.recv() => match message {
                Ok(message) => message,
                Err(_) => return,
            },
        };
        if let Some(reply) = authenticator.reply_to(message)
            && socket.send(reply).await.is_err()
        {
            return;
        }
    }
}

/// An [`Authenticator`] answering at [`inproc://zeromq.zap.01`](ZAP_ENDPOINT), from
/// [`Authenticator::serve_inproc`]. Dropping it unbinds the name at once and stops
/// the answering task.
#[derive(Debug)]
pub struct ZapServer {
    socket: Socket,
    stop: CancellationToken,
}

impl ZapServer {
    /// Stops answering (the same as dropping it).
    pub fn stop(self) {}
}

impl Drop for ZapServer {
    fn drop(&mut self) {
        // Unbind now, so that another handler may bind the name right away.
        let _ = self.socket.unbind(ZAP_ENDPOINT);
        self.stop.cancel();
    }
}

/// User names and their passwords, for PLAIN.
///
/// Build one from pairs (`[("admin", "secret")]`, an iterator, a `HashMap`) or load a
/// password file as CZMQ's `zauth` reads it: `user=password` lines, split at the first
/// `=`; lines starting with `#`, blank lines and lines without a name and `=` are
/// skipped; a later line for a user replaces an earlier one.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PlainPasswords {
    users: HashMap<String, String>,
}

impl PlainPasswords {
    /// No users.
    pub fn new() -> PlainPasswords {
        PlainPasswords::default()
    }

    /// Adds (or replaces) a user.
    pub fn insert(&mut self, user: impl Into<String>, password: impl Into<String>) {
        self.users.insert(user.into(), password.into());
    }

    /// Reads a password file's text.
    pub fn parse(text: &str) -> PlainPasswords {
        text.lines()
            .map(|line| line.strip_suffix('\r').unwrap_or(line))
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.split_once('='))
            .filter(|(user, _)| !user.is_empty())
            .collect()
    }

    /// Loads a password file.
    pub fn load(path: impl AsRef<Path>) -> std::io::Result<PlainPasswords> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot read password file {}: {e}", path.display()),
            )
        })?;
        Ok(PlainPasswords::parse(&text))
    }

    /// How many users there are.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Whether `user` exists and `password` is theirs.
    fn check(&self, user: &[u8], password: &[u8]) -> std::result::Result<(), &'static str> {
        let known = std::str::from_utf8(user)
            .ok()
            .and_then(|user| self.users.get(user))
            .ok_or("Invalid username")?;
        if constant_time_eq(known.as_bytes(), password) {
            Ok(())
        } else {
            Err("Invalid password")
        }
    }
}

/// Compares without stopping at the first difference, so the time taken does not
/// tell how much of a password was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0, |diff, (x, y)| diff | (x ^ y)) == 0
}

impl fmt::Debug for PlainPasswords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Passwords stay out of logs.
        let mut users: Vec<_> = self.users.keys().collect();
        users.sort();
        f.debug_struct("PlainPasswords")
            .field("users", &users)
            .finish()
    }
}

impl<U: Into<String>, P: Into<String>> FromIterator<(U, P)> for PlainPasswords {
    fn from_iter<I: IntoIterator<Item = (U, P)>>(pairs: I) -> PlainPasswords {
        let mut passwords = PlainPasswords::new();
        for (user, password) in pairs {
            passwords.insert(user, password);
        }
        passwords
    }
}

impl<U: Into<String>, P: Into<String>, const N: usize> From<[(U, P); N]> for PlainPasswords {
    fn from(pairs: [(U, P); N]) -> PlainPasswords {
        pairs.into_iter().collect()
    }
}

impl<U: Into<String>, P: Into<String>> From<HashMap<U, P>> for PlainPasswords {
    fn from(pairs: HashMap<U, P>) -> PlainPasswords {
        pairs.into_iter().collect()
    }
}

/// The CURVE clients a domain admits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CurveKeys {
    /// Every client, whatever its key: encryption without client authentication
    /// (pyzmq's `CURVE_ALLOW_ANY`, the guide's Stonehouse).
    Any,
    /// Only clients with one of these public keys.
    Only(BTreeSet<PublicKey>),
}

impl CurveKeys {
    /// The public keys of every `*.key` certificate in `dir`, as pyzmq's
    /// `create_certificates` writes them (the `.key_secret` files are not read).
    /// Call it again, and [`configure_curve`](Authenticator::configure_curve) with
    /// the result, to take in keys added later.
    pub fn from_directory(dir: impl AsRef<Path>) -> std::result::Result<CurveKeys, LoadError> {
        let keys = purezmq_curve::Certificate::load_public_keys(dir)?;
        Ok(CurveKeys::only(keys))
    }

    /// Only these keys.
    pub fn only(keys: impl IntoIterator<Item = PublicKey>) -> CurveKeys {
        CurveKeys::Only(keys.into_iter().collect())
    }

    /// Whether a client with `key` may connect.
    pub fn admits(&self, key: &PublicKey) -> bool {
        match self {
            CurveKeys::Any => true,
            CurveKeys::Only(keys) => keys.contains(key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use purezmq_curve::KeyPair;

    fn request(mechanism: MechanismName, domain: &str, credentials: &[&[u8]]) -> ZapRequest {
        ZapRequest {
            domain: domain.into(),
            address: "10.0.0.1".into(),
            routing_id: Bytes::new(),
            mechanism,
            credentials: credentials
                .iter()
                .map(|c| Bytes::copy_from_slice(c))
                .collect(),
        }
    }

    #[test]
    fn a_password_file_is_read_as_czmq_reads_it() {
        let text = "# users\nadmin=secret\n\nbob=pass=word\r\n=nobody\njunk\nadmin=newer\n";
        let passwords = PlainPasswords::parse(text);
        assert_eq!(passwords.len(), 2);
        assert_eq!(passwords.check(b"admin", b"newer"), Ok(()));
        assert_eq!(
            passwords.check(b"admin", b"secret"),
            Err("Invalid password")
        );
        assert_eq!(passwords.check(b"bob", b"pass=word"), Ok(()));
        assert_eq!(passwords.check(b"junk", b""), Err("Invalid username"));
        let shown = format!("{passwords:?}");
        assert!(
            !shown.contains("newer") && !shown.contains("pass="),
            "{shown}"
        );
    }

    #[test]
    fn an_allowlist_outranks_a_denylist() {
        let authenticator = Authenticator::new();
        authenticator.deny([10, 0, 0, 1]).allow([10, 0, 0, 1]);
        assert!(
            authenticator
                .answer(&request(MechanismName::NULL, "", &[]))
                .is_accepted()
        );
        authenticator.allow([10, 0, 0, 2]);
        let mut other = request(MechanismName::NULL, "", &[]);
        other.address = "10.0.0.3".into();
        assert_eq!(authenticator.answer(&other).status_code, 400);
        // ipc peers have no address: an allowlist keeps them out too.
        other.address = String::new();
        assert_eq!(authenticator.answer(&other).status_code, 400);
    }

    #[test]
    fn an_ipv4_mapped_address_is_the_ipv4_address() {
        let authenticator = Authenticator::new();
        authenticator.deny([10, 0, 0, 1]);
        let mut mapped = request(MechanismName::NULL, "", &[]);
        mapped.address = "::ffff:10.0.0.1".into();
        assert_eq!(authenticator.answer(&mapped).status_code, 400);
    }

    #[test]
    fn a_domain_uses_its_own_passwords_else_the_any_domain_ones() {
        let authenticator = Authenticator::new();
        authenticator
            .configure_plain(ANY_DOMAIN, [("admin", "everywhere")])
            .configure_plain("special", [("admin", "here")]);
        let ask = |domain, password: &[u8]| {
            authenticator.answer(&request(
                MechanismName::PLAIN,
                domain,
                &[b"admin", password],
            ))
        };
        assert!(ask("special", b"here").is_accepted());
        assert!(!ask("special", b"everywhere").is_accepted());
        assert!(ask("other", b"everywhere").is_accepted());
        assert!(ask("", b"everywhere").is_accepted());
        assert_eq!(ask("", b"everywhere").user_id, "admin");
    }

    #[test]
    fn a_domain_without_settings_refuses() {
        let authenticator = Authenticator::new();
        authenticator.configure_plain("special", [("admin", "here")]);
        let reply = authenticator.answer(&request(
            MechanismName::PLAIN,
            "other",
            &[b"admin", b"here"],
        ));
        assert_eq!(
            (reply.status_code, reply.status_text.as_str()),
            (400, "Invalid domain")
        );
        let unconfigured = Authenticator::new();
        let curve = unconfigured.answer(&request(
            MechanismName::CURVE,
            "",
            &[KeyPair::generate().public().as_bytes()],
        ));
        assert_eq!(curve.status_code, 400);
    }

    #[test]
    fn curve_names_the_client_by_its_z85_key() {
        let client = *KeyPair::generate().public();
        let authenticator = Authenticator::new();
        authenticator.configure_curve(ANY_DOMAIN, CurveKeys::only([client]));
        let reply = authenticator.answer(&request(MechanismName::CURVE, "", &[client.as_bytes()]));
        assert_eq!(reply.user_id, client.to_z85());
        let short = authenticator.answer(&request(MechanismName::CURVE, "", &[b"short"]));
        assert_eq!(short.status_code, 400);
    }
}
