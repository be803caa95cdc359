//! Socket options: libzmq's `zmq_setsockopt(3)` options as one typed struct.
//!
//! [`Options`] holds one public field per option, named after the libzmq option in
//! lower case (`ZMQ_SNDHWM` is [`sndhwm`](Options::sndhwm)), and
//! [`Options::default`] gives libzmq 4.3.5's defaults. Times are [`Duration`]s; where
//! libzmq uses `-1` or `0` as "infinite" or "off", the field is an `Option` whose `None`
//! documents which.
//!
//! `ZMQ_SUBSCRIBE` and `ZMQ_UNSUBSCRIBE` are not here: they are actions on a SUB or
//! XSUB socket, not settings to store.
//!
//! ```
//! use std::time::Duration;
//! use purezmq::options::Options;
//!
//! let options = Options {
//!     linger: Some(Duration::ZERO),
//!     heartbeat_ivl: Some(Duration::from_secs(1)),
//!     ..Options::default()
//! };
//! options.validate()?;
//! # Ok::<(), purezmq::options::OptionsError>(())
//! ```

use std::time::Duration;

use bytes::Bytes;
use purezmq_curve::{KeyPair, PublicKey};
use purezmq_zmtp::{Config, HeartbeatConfig, Metadata, SocketType};

/// The longest routing id, PLAIN username, PLAIN password and ZAP domain libzmq
/// accepts, in bytes.
pub const MAX_NAME_LEN: usize = 255;

/// The longest HEARTBEAT_TTL: PINGs carry it in deciseconds in a `u16`.
pub const MAX_HEARTBEAT_TTL: Duration = Duration::from_millis(u16::MAX as u64 * 100);

/// The socket options, with libzmq 4.3.5's defaults.
///
/// Fields are plain data: set them directly, then [`validate`](Options::validate)
/// before use. Where `Some(Duration::ZERO)` would mean the same as `None` in libzmq
/// (an interval of 0 is "off"), the field's doc says so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// `ZMQ_SNDHWM`: the most outbound messages queued for any one peer; when reached,
    /// the socket type decides whether a send blocks or drops. 0 means no limit.
    /// Default 1000.
    pub sndhwm: usize,
    /// `ZMQ_RCVHWM`: the most inbound messages queued from any one peer; when reached,
    /// the peer is no longer read. 0 means no limit. Default 1000.
    pub rcvhwm: usize,
    /// `ZMQ_LINGER`: how long unsent messages are kept trying after the socket is
    /// closed. `None` waits until they are all sent (libzmq's -1), `Some(ZERO)`
    /// discards them at once. Default `None`.
    pub linger: Option<Duration>,
    /// `ZMQ_ROUTING_ID` (formerly `ZMQ_IDENTITY`): the routing id this socket announces
    /// to its peers, so a ROUTER can address it by name. Empty lets the ROUTER make
    /// one up; otherwise 1 to 255 bytes, not starting with a zero byte (reserved for
    /// generated ids). Default empty.
    pub routing_id: Bytes,
    /// `ZMQ_CONNECT_ROUTING_ID`: the routing id a ROUTER (or STREAM) socket gives the
    /// peer of its next `connect`, instead of generating one; used once. Same rules as
    /// [`routing_id`](Options::routing_id). Default `None`.
    pub connect_routing_id: Option<Bytes>,
    /// `ZMQ_RECONNECT_IVL`: how long to wait before reconnecting a lost or refused
    /// connection. `None` never reconnects (libzmq's -1). Default 100 ms.
    pub reconnect_ivl: Option<Duration>,
    /// `ZMQ_RECONNECT_IVL_MAX`: the cap for exponential backoff, which doubles the
    /// reconnect interval on each failed attempt. `None` (libzmq's 0) does not back
    /// off and always waits [`reconnect_ivl`](Options::reconnect_ivl); values below
    /// that interval are ignored. Default `None`.
    pub reconnect_ivl_max: Option<Duration>,
    /// `ZMQ_HANDSHAKE_IVL`: how long the ZMTP greeting and security handshake may
    /// take before the connection is dropped. `None` (libzmq's 0; `Some(ZERO)` means
    /// the same) waits for ever. Default 30 s.
    pub handshake_ivl: Option<Duration>,
    /// `ZMQ_HEARTBEAT_IVL`: how often to send a ZMTP PING once connected. `None`
    /// (libzmq's 0; `Some(ZERO)` means the same) sends none. Default `None`.
    pub heartbeat_ivl: Option<Duration>,
    /// `ZMQ_HEARTBEAT_TIMEOUT`: how long after a PING the peer may stay silent before
    /// the connection is dropped. `None` (libzmq's -1) uses
    /// [`heartbeat_ivl`](Options::heartbeat_ivl). Default `None`.
    pub heartbeat_timeout: Option<Duration>,
    /// `ZMQ_HEARTBEAT_TTL`: how long the peer should wait for traffic from us before
    /// dropping the connection, announced in our PINGs in whole deciseconds, at most
    /// [`MAX_HEARTBEAT_TTL`]. `None` (libzmq's 0) announces none. Default `None`.
    pub heartbeat_ttl: Option<Duration>,
    /// `ZMQ_MAXMSGSIZE`: the largest inbound message, in bytes; a peer that sends a
    /// larger one is disconnected. `None` (libzmq's -1) has no limit. Default `None`.
    pub maxmsgsize: Option<u64>,
    /// `ZMQ_SNDTIMEO`: how long a send may wait for room before failing with "try
    /// again". `None` (libzmq's -1) waits for ever; `Some(ZERO)` never waits. Default
    /// `None`.
    pub sndtimeo: Option<Duration>,
    /// `ZMQ_RCVTIMEO`: how long a receive may wait for a message before failing with
    /// "try again". `None` (libzmq's -1) waits for ever; `Some(ZERO)` never waits.
    /// Default `None`.
    pub rcvtimeo: Option<Duration>,
    /// `ZMQ_IMMEDIATE`: queue messages only to peers whose connection is complete, so
    /// a send blocks (or drops) rather than queue for a peer that is not there yet.
    /// Default `false`.
    pub immediate: bool,
    /// `ZMQ_CONFLATE`: keep only the newest message in each queue, dropping older
    /// ones; for single-part messages only. Default `false`.
    pub conflate: bool,
    /// `ZMQ_TCP_KEEPALIVE`: turn `SO_KEEPALIVE` on (`Some(true)`) or off
    /// (`Some(false)`) on TCP connections. `None` (libzmq's -1) leaves the OS
    /// default. Default `None`.
    pub tcp_keepalive: Option<bool>,
    /// `ZMQ_IPV6`: use IPv6 (dual-stack) sockets for TCP, so IPv6 addresses resolve
    /// and connect; off, only IPv4 is used. Default `false`.
    pub ipv6: bool,
    /// `ZMQ_REQ_RELAXED`: let a REQ socket send a new request without waiting for the
    /// reply to the last one (which is then discarded). Default `false`.
    pub req_relaxed: bool,
    /// `ZMQ_REQ_CORRELATE`: have a REQ socket prefix each request with a request id
    /// and drop replies that do not carry the current one. Default `false`.
    pub req_correlate: bool,
    /// `ZMQ_ROUTER_MANDATORY`: make a ROUTER's send to an unknown routing id fail
    /// with "host unreachable" instead of dropping the message silently. Default
    /// `false`.
    pub router_mandatory: bool,
    /// `ZMQ_ROUTER_HANDOVER`: let a new peer that announces a routing id already in
    /// use take it over from the old one, instead of being refused. Default `false`.
    pub router_handover: bool,
    /// `ZMQ_XPUB_VERBOSE`: have an XPUB pass on every subscription message, not only
    /// the first for each topic. Default `false`.
    pub xpub_verbose: bool,
    /// `ZMQ_XPUB_MANUAL`: have an XPUB apply subscriptions only when the application
    /// sends them back, so it can rewrite or refuse them. Default `false`.
    pub xpub_manual: bool,
    /// `ZMQ_XPUB_WELCOME_MSG`: a message an XPUB sends to each new subscriber as soon
    /// as it connects. `None` sends none. Default `None`.
    pub xpub_welcome_msg: Option<Bytes>,
    /// `ZMQ_XPUB_NODROP`: make an XPUB or PUB send fail with "try again" when a
    /// subscriber's queue is full, instead of dropping the message. Default `false`.
    pub xpub_nodrop: bool,
    /// `ZMQ_PLAIN_SERVER`, `ZMQ_PLAIN_USERNAME`, `ZMQ_PLAIN_PASSWORD` and the
    /// `ZMQ_CURVE_*` keys: the security mechanism of new connections. Default
    /// [`Security::Null`].
    pub security: Security,
    /// `ZMQ_ZAP_DOMAIN`: the domain sent with authentication requests to the ZAP
    /// handler, at most 255 bytes. Default empty.
    pub zap_domain: String,
}

/// The security mechanism of a socket's connections: libzmq's `ZMQ_MECHANISM`, set
/// through `ZMQ_PLAIN_SERVER`, `ZMQ_PLAIN_USERNAME`, `ZMQ_PLAIN_PASSWORD`,
/// `ZMQ_CURVE_SERVER`, `ZMQ_CURVE_PUBLICKEY`, `ZMQ_CURVE_SECRETKEY` and
/// `ZMQ_CURVE_SERVERKEY`.
///
/// Two settings are equal when they name the same mechanism with the same keys; a
/// key pair is compared by its public key (which its secret key determines), and
/// `Debug` never prints a secret key.
#[derive(Clone, Debug, Default)]
pub enum Security {
    /// NULL: no authentication, no encryption (libzmq's default).
    #[default]
    Null,
    /// PLAIN as the client: send these credentials, each at most 255 bytes.
    PlainClient {
        /// `ZMQ_PLAIN_USERNAME`.
        username: Bytes,
        /// `ZMQ_PLAIN_PASSWORD`.
        password: Bytes,
    },
    /// PLAIN as the server (`ZMQ_PLAIN_SERVER` = 1): accept clients' credentials,
    /// checked by the ZAP handler if there is one.
    PlainServer,
    /// CURVE as the client: encrypt with our long-term key pair and admit only a
    /// server that proves it holds the secret key of `server_key`.
    CurveClient {
        /// `ZMQ_CURVE_PUBLICKEY` and `ZMQ_CURVE_SECRETKEY`: the client's long-term
        /// keys, which the server's ZAP handler sees as the client's identity.
        keypair: KeyPair,
        /// `ZMQ_CURVE_SERVERKEY`: the server's long-term public key.
        server_key: PublicKey,
    },
    /// CURVE as the server (`ZMQ_CURVE_SERVER` = 1): accept clients that know our
    /// public key; the ZAP handler, if there is one, is asked about each client's
    /// public key.
    CurveServer {
        /// `ZMQ_CURVE_PUBLICKEY` and `ZMQ_CURVE_SECRETKEY`: the server's long-term
        /// keys.
        keypair: KeyPair,
    },
}

impl PartialEq for Security {
    fn eq(&self, other: &Security) -> bool {
        match (self, other) {
            (Security::Null, Security::Null) | (Security::PlainServer, Security::PlainServer) => {
                true
            }
            (
                Security::PlainClient { username, password },
                Security::PlainClient {
                    username: u,
                    password: p,
                },
            ) => username == u && password == p,
            (
                Security::CurveClient {
                    keypair,
                    server_key,
                },
                Security::CurveClient {
                    keypair: k,
                    server_key: s,
                },
            ) => keypair.public() == k.public() && server_key == s,
            (Security::CurveServer { keypair }, Security::CurveServer { keypair: k }) => {
                keypair.public() == k.public()
            }
            _ => false,
        }
    }
}

impl Eq for Security {}

/// A rule of libzmq's that [`Options`] break.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    /// A routing id is too long.
    #[error("{option} is {len} bytes long; use at most 255 bytes ({unset_hint})")]
    RoutingIdTooLong {
        /// `ZMQ_ROUTING_ID` or `ZMQ_CONNECT_ROUTING_ID`.
        option: &'static str,
        /// Its length in bytes.
        len: usize,
        /// How to have a routing id generated instead, which differs per option.
        unset_hint: &'static str,
    },
    /// A routing id starts with a zero byte, which libzmq reserves for generated ids.
    #[error(
        "{option} starts with a zero byte, which is reserved for generated routing ids; start it with another byte"
    )]
    RoutingIdStartsWithZero {
        /// `ZMQ_ROUTING_ID` or `ZMQ_CONNECT_ROUTING_ID`.
        option: &'static str,
    },
    /// `connect_routing_id` is `Some` but empty.
    #[error(
        "ZMQ_CONNECT_ROUTING_ID is empty; give it 1 to 255 bytes, or set it to None to have one generated"
    )]
    ConnectRoutingIdEmpty,
    /// A PLAIN username or password is too long.
    #[error("{option} is {len} bytes long; use at most 255 bytes")]
    PlainCredentialTooLong {
        /// `ZMQ_PLAIN_USERNAME` or `ZMQ_PLAIN_PASSWORD`.
        option: &'static str,
        /// Its length in bytes.
        len: usize,
    },
    /// The ZAP domain is too long.
    #[error("ZMQ_ZAP_DOMAIN is {len} bytes long; use at most 255 bytes")]
    ZapDomainTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The heartbeat TTL does not fit a PING's 16-bit count of deciseconds.
    #[error(
        "ZMQ_HEARTBEAT_TTL is {ttl:?}; use at most 6553.5 s (PINGs carry it in deciseconds in 16 bits)"
    )]
    HeartbeatTtlTooLong {
        /// The TTL asked for.
        ttl: Duration,
    },
}

impl Default for Options {
    fn default() -> Options {
        Options {
            sndhwm: 1000,
            rcvhwm: 1000,
            linger: None,
            routing_id: Bytes::new(),
            connect_routing_id: None,
            reconnect_ivl: Some(Duration::from_millis(100)),
            reconnect_ivl_max: None,
            handshake_ivl: Some(Duration::from_secs(30)),
            heartbeat_ivl: None,
            heartbeat_timeout: None,
            heartbeat_ttl: None,
            maxmsgsize: None,
            sndtimeo: None,
            rcvtimeo: None,
            immediate: false,
            conflate: false,
            tcp_keepalive: None,
            ipv6: false,
            req_relaxed: false,
            req_correlate: false,
            router_mandatory: false,
            router_handover: false,
            xpub_verbose: false,
            xpub_manual: false,
            xpub_welcome_msg: None,
            xpub_nodrop: false,
            security: Security::Null,
            zap_domain: String::new(),
        }
    }
}

impl Options {
    /// Checks the options against libzmq's rules; the error says what to change.
    pub fn validate(&self) -> Result<(), OptionsError> {
        check_routing_id(
            "ZMQ_ROUTING_ID",
            "or an empty routing id to have one generated",
            &self.routing_id,
        )?;
        if let Some(id) = &self.connect_routing_id {
            if id.is_empty() {
                return Err(OptionsError::ConnectRoutingIdEmpty);
            }
            check_routing_id(
                "ZMQ_CONNECT_ROUTING_ID",
                "or None to have one generated",
                id,
            )?;
        }
        if let Security::PlainClient { username, password } = &self.security {
            check_credential("ZMQ_PLAIN_USERNAME", username)?;
            check_credential("ZMQ_PLAIN_PASSWORD", password)?;
        }
        if self.zap_domain.len() > MAX_NAME_LEN {
            return Err(OptionsError::ZapDomainTooLong {
                len: self.zap_domain.len(),
            });
        }
        if let Some(ttl) = self.heartbeat_ttl
            && ttl > MAX_HEARTBEAT_TTL
        {
            return Err(OptionsError::HeartbeatTtlTooLong { ttl });
        }
        Ok(())
    }

    /// The ZMTP codec's settings for a connection of a socket of this type.
    ///
    /// A zero handshake or heartbeat interval becomes `None` (off), as in libzmq.
    pub fn zmtp_config(&self, socket_type: SocketType) -> Config {
        Config {
            socket_type,
            routing_id: self.routing_id.clone(),
            properties: Metadata::new(),
            max_message_size: self.maxmsgsize,
            heartbeat: HeartbeatConfig {
                interval: non_zero(self.heartbeat_ivl),
                timeout: self.heartbeat_timeout,
                ttl: non_zero(self.heartbeat_ttl),
            },
            handshake_timeout: non_zero(self.handshake_ivl),
        }
    }
}

/// A set routing id has libzmq's limits; `unset_hint` says how to leave it unset.
fn check_routing_id(
    option: &'static str,
    unset_hint: &'static str,
    id: &[u8],
) -> Result<(), OptionsError> {
    if id.len() > MAX_NAME_LEN {
        return Err(OptionsError::RoutingIdTooLong {
            option,
            len: id.len(),
            unset_hint,
        });
    }
    if id.first() == Some(&0) {
        return Err(OptionsError::RoutingIdStartsWithZero { option });
    }
    Ok(())
}

fn check_credential(option: &'static str, value: &[u8]) -> Result<(), OptionsError> {
    if value.len() > MAX_NAME_LEN {
        return Err(OptionsError::PlainCredentialTooLong {
            option,
            len: value.len(),
        });
    }
    Ok(())
}

/// libzmq spells "off" as 0 for these intervals.
fn non_zero(duration: Option<Duration>) -> Option<Duration> {
    duration.filter(|d| !d.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    fn bytes(len: usize) -> Bytes {
        Bytes::from(vec![b'a'; len])
    }

    fn error(options: Options) -> String {
        options.validate().unwrap_err().to_string()
    }

    #[test]
    fn defaults_are_libzmqs() {
        let o = Options::default();
        assert_eq!(o.sndhwm, 1000, "ZMQ_SNDHWM");
        assert_eq!(o.rcvhwm, 1000, "ZMQ_RCVHWM");
        assert_eq!(o.linger, None, "ZMQ_LINGER -1");
        assert_eq!(o.routing_id, Bytes::new(), "ZMQ_ROUTING_ID");
        assert_eq!(o.connect_routing_id, None, "ZMQ_CONNECT_ROUTING_ID");
        assert_eq!(o.reconnect_ivl, Some(ms(100)), "ZMQ_RECONNECT_IVL");
        assert_eq!(o.reconnect_ivl_max, None, "ZMQ_RECONNECT_IVL_MAX 0");
        assert_eq!(o.handshake_ivl, Some(ms(30_000)), "ZMQ_HANDSHAKE_IVL");
        assert_eq!(o.heartbeat_ivl, None, "ZMQ_HEARTBEAT_IVL 0");
        assert_eq!(o.heartbeat_timeout, None, "ZMQ_HEARTBEAT_TIMEOUT -1");
        assert_eq!(o.heartbeat_ttl, None, "ZMQ_HEARTBEAT_TTL 0");
        assert_eq!(o.maxmsgsize, None, "ZMQ_MAXMSGSIZE -1");
        assert_eq!(o.sndtimeo, None, "ZMQ_SNDTIMEO -1");
        assert_eq!(o.rcvtimeo, None, "ZMQ_RCVTIMEO -1");
        assert!(!o.immediate, "ZMQ_IMMEDIATE");
        assert!(!o.conflate, "ZMQ_CONFLATE");
        assert_eq!(o.tcp_keepalive, None, "ZMQ_TCP_KEEPALIVE -1");
        assert!(!o.ipv6, "ZMQ_IPV6");
        assert!(!o.req_relaxed, "ZMQ_REQ_RELAXED");
        assert!(!o.req_correlate, "ZMQ_REQ_CORRELATE");
        assert!(!o.router_mandatory, "ZMQ_ROUTER_MANDATORY");
        assert!(!o.router_handover, "ZMQ_ROUTER_HANDOVER");
        assert!(!o.xpub_verbose, "ZMQ_XPUB_VERBOSE");
        assert!(!o.xpub_manual, "ZMQ_XPUB_MANUAL");
        assert_eq!(o.xpub_welcome_msg, None, "ZMQ_XPUB_WELCOME_MSG");
        assert!(!o.xpub_nodrop, "ZMQ_XPUB_NODROP");
        assert_eq!(o.security, Security::Null, "ZMQ_MECHANISM");
        assert_eq!(o.zap_domain, "", "ZMQ_ZAP_DOMAIN");
    }

    #[test]
    fn defaults_are_valid() {
        assert_eq!(Options::default().validate(), Ok(()));
    }

    #[test]
    fn curve_keys_compare_by_public_key_and_debug_hides_the_secret() {
        let keypair = KeyPair::generate();
        let secret = keypair.secret().to_z85();
        let server = Security::CurveServer {
            keypair: keypair.clone(),
        };
        assert_eq!(server, server.clone());
        assert_ne!(
            server,
            Security::CurveServer {
                keypair: KeyPair::generate()
            }
        );
        let client = Security::CurveClient {
            keypair: keypair.clone(),
            server_key: *keypair.public(),
        };
        assert_ne!(client, server);
        assert!(!format!("{client:?}").contains(secret.as_str()));
        assert!(!format!("{server:?}").contains(secret.as_str()));
    }

    #[test]
    fn accepts_the_limits() {
        let options = Options {
            routing_id: bytes(255),
            connect_routing_id: Some(Bytes::from_static(b"x")),
            security: Security::PlainClient {
                username: bytes(255),
                password: bytes(255),
            },
            zap_domain: "d".repeat(255),
            heartbeat_ttl: Some(MAX_HEARTBEAT_TTL),
            sndhwm: 0,
            rcvhwm: 0,
            ..Options::default()
        };
        assert_eq!(options.validate(), Ok(()));
        let empty_credentials = Options {
            security: Security::PlainClient {
                username: Bytes::new(),
                password: Bytes::new(),
            },
            ..Options::default()
        };
        assert_eq!(empty_credentials.validate(), Ok(()));
    }

    #[test]
    fn rejects_a_routing_id_over_255_bytes() {
        let options = Options {
            routing_id: bytes(256),
            ..Options::default()
        };
        assert_eq!(
            error(options),
            "ZMQ_ROUTING_ID is 256 bytes long; use at most 255 bytes \
             (or an empty routing id to have one generated)"
        );
    }

    #[test]
    fn rejects_a_routing_id_starting_with_zero() {
        let options = Options {
            routing_id: Bytes::from_static(b"\0id"),
            ..Options::default()
        };
        assert_eq!(
            error(options),
            "ZMQ_ROUTING_ID starts with a zero byte, which is reserved for generated \
             routing ids; start it with another byte"
        );
    }

    #[test]
    fn rejects_an_empty_connect_routing_id() {
        let options = Options {
            connect_routing_id: Some(Bytes::new()),
            ..Options::default()
        };
        assert_eq!(
            error(options),
            "ZMQ_CONNECT_ROUTING_ID is empty; give it 1 to 255 bytes, or set it to None \
             to have one generated"
        );
    }

    #[test]
    fn rejects_a_connect_routing_id_over_255_bytes() {
        let options = Options {
            connect_routing_id: Some(bytes(300)),
            ..Options::default()
        };
        assert_eq!(
            error(options),
            "ZMQ_CONNECT_ROUTING_ID is 300 bytes long; use at most 255 bytes \
             (or None to have one generated)"
        );
    }

    #[test]
    fn rejects_a_connect_routing_id_starting_with_zero() {
        let options = Options {
            connect_routing_id: Some(Bytes::from_static(b"\0")),
            ..Options::default()
        };
        assert_eq!(
            error(options),
            "ZMQ_CONNECT_ROUTING_ID starts with a zero byte, which is reserved for \
             generated routing ids; start it with another byte"
        );
    }

    #[test]
    fn rejects_a_plain_username_over_255_bytes() {
        let options = Options {
            security: Security::PlainClient {
                username: bytes(256),
                password: bytes(1),
            },
            ..Options::default()
        };
        assert_eq!(
            error(options),
            "ZMQ_PLAIN_USERNAME is 256 bytes long; use at most 255 bytes"
        );
    }

    #[test]
    fn rejects_a_plain_password_over_255_bytes() {
        let options = Options {
            security: Security::PlainClient {
                username: bytes(1),
                password: bytes(256),
            },
            ..Options::default()
        };
        assert_eq!(
            error(options),
            "ZMQ_PLAIN_PASSWORD is 256 bytes long; use at most 255 bytes"
        );
    }

    #[test]
    fn rejects_a_zap_domain_over_255_bytes() {
        let options = Options {
            zap_domain: "d".repeat(256),
            ..Options::default()
        };
        assert_eq!(
            error(options),
            "ZMQ_ZAP_DOMAIN is 256 bytes long; use at most 255 bytes"
        );
    }

    #[test]
    fn rejects_a_heartbeat_ttl_over_6553_5_seconds() {
        let options = Options {
            heartbeat_ttl: Some(MAX_HEARTBEAT_TTL + ms(1)),
            ..Options::default()
        };
        assert_eq!(
            error(options),
            "ZMQ_HEARTBEAT_TTL is 6553.501s; use at most 6553.5 s \
             (PINGs carry it in deciseconds in 16 bits)"
        );
    }

    #[test]
    fn zmtp_config_of_defaults_is_the_codecs_default() {
        let config = Options::default().zmtp_config(SocketType::Dealer);
        let expected = Config::new(SocketType::Dealer);
        assert_eq!(config.socket_type, expected.socket_type);
        assert_eq!(config.routing_id, expected.routing_id);
        assert_eq!(config.properties, expected.properties);
        assert_eq!(config.max_message_size, expected.max_message_size);
        assert_eq!(config.heartbeat, expected.heartbeat);
        assert_eq!(config.handshake_timeout, expected.handshake_timeout);
    }

    #[test]
    fn zmtp_config_maps_each_field() {
        let options = Options {
            routing_id: Bytes::from_static(b"worker-1"),
            maxmsgsize: Some(4096),
            heartbeat_ivl: Some(ms(1000)),
            heartbeat_timeout: Some(ms(3000)),
            heartbeat_ttl: Some(ms(5000)),
            handshake_ivl: Some(ms(2000)),
            ..Options::default()
        };
        let config = options.zmtp_config(SocketType::Router);
        assert_eq!(config.socket_type, SocketType::Router);
        assert_eq!(config.routing_id, Bytes::from_static(b"worker-1"));
        assert_eq!(config.max_message_size, Some(4096));
        assert_eq!(config.heartbeat.interval, Some(ms(1000)));
        assert_eq!(config.heartbeat.timeout, Some(ms(3000)));
        assert_eq!(config.heartbeat.ttl, Some(ms(5000)));
        assert_eq!(config.handshake_timeout, Some(ms(2000)));
    }

    #[test]
    fn zmtp_config_turns_zero_intervals_off() {
        let options = Options {
            handshake_ivl: Some(Duration::ZERO),
            heartbeat_ivl: Some(Duration::ZERO),
            heartbeat_ttl: Some(Duration::ZERO),
            ..Options::default()
        };
        let config = options.zmtp_config(SocketType::Req);
        assert_eq!(config.handshake_timeout, None);
        assert_eq!(config.heartbeat.interval, None);
        assert_eq!(config.heartbeat.ttl, None);
        let no_handshake_timeout = Options {
            handshake_ivl: None,
            ..Options::default()
        };
        assert_eq!(
            no_handshake_timeout
                .zmtp_config(SocketType::Req)
                .handshake_timeout,
            None
        );
    }
}
