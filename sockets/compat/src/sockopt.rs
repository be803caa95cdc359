//! Socket options: the `zmq` crate's `get_*`/`set_*`/`is_*` methods, mapped onto
//! purezmq's [`Options`](purezmq::Options).

use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use bytes::Bytes;
use purezmq::Security;
use purezmq::curve::{KeyPair, PublicKey, SecretKey};

use crate::error::{Error, Result, from_purezmq};
use crate::socket::Socket;
use crate::{Mechanism, PollEvents};

/// Options libzmq has and purezmq does not act on, kept so they read back as set,
/// and the security settings as libzmq takes them: one option at a time.
#[derive(Clone, Debug)]
pub(crate) struct Extra {
    affinity: u64,
    rate: i32,
    recovery_ivl: i32,
    sndbuf: i32,
    rcvbuf: i32,
    tos: i32,
    backlog: i32,
    multicast_hops: i32,
    tcp_keepalive_cnt: i32,
    tcp_keepalive_idle: i32,
    tcp_keepalive_intvl: i32,
    connect_timeout: i32,
    tcp_maxrt: i32,
    mechanism: Mechanism,
    as_server: bool,
    plain_username: Vec<u8>,
    plain_password: Vec<u8>,
    curve_publickey: [u8; 32],
    curve_secretkey: Option<[u8; 32]>,
    curve_serverkey: [u8; 32],
}

impl Default for Extra {
    /// libzmq 4.3's defaults.
    fn default() -> Extra {
        Extra {
            affinity: 0,
            rate: 100,
            recovery_ivl: 10_000,
            sndbuf: -1,
            rcvbuf: -1,
            tos: 0,
            backlog: 100,
            multicast_hops: 1,
            tcp_keepalive_cnt: -1,
            tcp_keepalive_idle: -1,
            tcp_keepalive_intvl: -1,
            connect_timeout: 0,
            tcp_maxrt: 0,
            mechanism: Mechanism::ZMQ_NULL,
            as_server: false,
            plain_username: Vec::new(),
            plain_password: Vec::new(),
            curve_publickey: [0; 32],
            curve_secretkey: None,
            curve_serverkey: [0; 32],
        }
    }
}

impl Extra {
    /// purezmq's security setting for what has been set so far. CURVE without the
    /// keys it needs stays NULL until they are given.
    fn security(&self) -> Security {
        match self.mechanism {
            Mechanism::ZMQ_NULL | Mechanism::ZMQ_GSSAPI => Security::Null,
            Mechanism::ZMQ_PLAIN if self.as_server => Security::PlainServer,
            Mechanism::ZMQ_PLAIN => Security::PlainClient {
                username: Bytes::from(self.plain_username.clone()),
                password: Bytes::from(self.plain_password.clone()),
            },
            Mechanism::ZMQ_CURVE => match self.curve_secretkey {
                None => Security::Null,
                Some(secret) => {
                    let keypair = KeyPair::from_secret(SecretKey::from_bytes(secret));
                    if self.as_server {
                        Security::CurveServer { keypair }
                    } else {
                        Security::CurveClient {
                            keypair,
                            server_key: PublicKey::from_bytes(self.curve_serverkey),
                        }
                    }
                }
            },
        }
    }
}

/// A CURVE key as libzmq takes it: 32 bytes, or 40 characters of Z85.
fn curve_key(value: &[u8]) -> Result<[u8; 32]> {
    match value.len() {
        32 => Ok(value.try_into().map_err(|_| Error::EINVAL)?),
        40 | 41 => {
            let text = std::str::from_utf8(&value[..40]).map_err(|_| Error::EINVAL)?;
            let bytes = purezmq::curve::z85::decode(text).map_err(|_| Error::EINVAL)?;
            bytes.try_into().map_err(|_| Error::EINVAL)
        }
        _ => Err(Error::EINVAL),
    }
}

fn millis(duration: Duration) -> i32 {
    i32::try_from(duration.as_millis()).unwrap_or(i32::MAX)
}

fn from_millis(ms: i32) -> Duration {
    Duration::from_millis(u64::from(ms.unsigned_abs()))
}

/// -1 is `None`; other negatives are invalid.
fn minus_one_is_none(value: i32) -> Result<Option<Duration>> {
    match value {
        -1 => Ok(None),
        v if v < 0 => Err(Error::EINVAL),
        v => Ok(Some(from_millis(v))),
    }
}

fn none_is_minus_one(value: Option<Duration>) -> i32 {
    value.map_or(-1, millis)
}

/// 0 is `None` (off); negatives are invalid.
fn zero_is_none(value: i32) -> Result<Option<Duration>> {
    match value {
        0 => Ok(None),
        v if v < 0 => Err(Error::EINVAL),
        v => Ok(Some(from_millis(v))),
    }
}

fn none_is_zero(value: Option<Duration>) -> i32 {
    value.map_or(0, millis)
}

fn text(bytes: Vec<u8>) -> std::result::Result<String, Vec<u8>> {
    String::from_utf8(bytes).map_err(|e| e.into_bytes())
}

/// Declares stored-only options: a getter and a setter over a field of `Extra`.
macro_rules! stored {
    ($($(#[$doc:meta])* ($getter:ident, $setter:ident) => $field:ident as $ty:ty,)*) => {
        $(
            $(#[$doc])*
            ///
            /// purezmq keeps the value, and reports it back, but does not act on it.
            pub fn $getter(&self) -> Result<$ty> {
                Ok(self.state.borrow().extra.$field)
            }

            $(#[$doc])*
            ///
            /// purezmq keeps the value, and reports it back, but does not act on it.
            pub fn $setter(&self, value: $ty) -> Result<()> {
                self.state.borrow_mut().extra.$field = value;
                Ok(())
            }
        )*
    };
}

impl Socket {
    fn options(&self) -> purezmq::Options {
        self.inner().options()
    }

    fn set(&self, change: impl FnOnce(&mut purezmq::Options)) -> Result<()> {
        self.inner().set_options(change).map_err(from_purezmq)
    }

    /// Changes a security option as libzmq does, then gives purezmq the result.
    fn set_security(&self, change: impl FnOnce(&mut Extra) -> Result<()>) -> Result<()> {
        let mut state = self.state.borrow_mut();
        let mut extra = state.extra.clone();
        change(&mut extra)?;
        let security = extra.security();
        self.set(|o| o.security = security)?;
        state.extra = extra;
        Ok(())
    }

    stored! {
        /// `ZMQ_AFFINITY`.
        (get_affinity, set_affinity) => affinity as u64,
        /// `ZMQ_RATE` (multicast only).
        (get_rate, set_rate) => rate as i32,
        /// `ZMQ_RECOVERY_IVL` (multicast only).
        (get_recovery_ivl, set_recovery_ivl) => recovery_ivl as i32,
        /// `ZMQ_SNDBUF`.
        (get_sndbuf, set_sndbuf) => sndbuf as i32,
        /// `ZMQ_RCVBUF`.
        (get_rcvbuf, set_rcvbuf) => rcvbuf as i32,
        /// `ZMQ_TOS`.
        (get_tos, set_tos) => tos as i32,
        /// `ZMQ_BACKLOG`.
        (get_backlog, set_backlog) => backlog as i32,
        /// `ZMQ_MULTICAST_HOPS` (multicast only).
        (get_multicast_hops, set_multicast_hops) => multicast_hops as i32,
        /// `ZMQ_TCP_KEEPALIVE_CNT`.
        (get_tcp_keepalive_cnt, set_tcp_keepalive_cnt) => tcp_keepalive_cnt as i32,
        /// `ZMQ_TCP_KEEPALIVE_IDLE`.
        (get_tcp_keepalive_idle, set_tcp_keepalive_idle) => tcp_keepalive_idle as i32,
        /// `ZMQ_TCP_KEEPALIVE_INTVL`.
        (get_tcp_keepalive_intvl, set_tcp_keepalive_intvl) => tcp_keepalive_intvl as i32,
        /// `ZMQ_CONNECT_TIMEOUT`.
        (get_connect_timeout, set_connect_timeout) => connect_timeout as i32,
        /// `ZMQ_TCP_MAXRT`.
        (get_tcp_maxrt, set_tcp_maxrt) => tcp_maxrt as i32,
    }

    /// `ZMQ_IPV6`.
    pub fn is_ipv6(&self) -> Result<bool> {
        Ok(self.options().ipv6)
    }

    /// Sets `ZMQ_IPV6`.
    pub fn set_ipv6(&self, value: bool) -> Result<()> {
        self.set(|o| o.ipv6 = value)
    }

    /// `ZMQ_IMMEDIATE`.
    pub fn is_immediate(&self) -> Result<bool> {
        Ok(self.options().immediate)
    }

    /// Sets `ZMQ_IMMEDIATE`.
    pub fn set_immediate(&self, value: bool) -> Result<()> {
        self.set(|o| o.immediate = value)
    }

    /// `ZMQ_CONFLATE`.
    pub fn is_conflate(&self) -> Result<bool> {
        Ok(self.options().conflate)
    }

    /// Sets `ZMQ_CONFLATE`.
    pub fn set_conflate(&self, value: bool) -> Result<()> {
        self.set(|o| o.conflate = value)
    }

    /// `ZMQ_PROBE_ROUTER`: always false.
    pub fn is_probe_router(&self) -> Result<bool> {
        Ok(false)
    }

    /// Sets `ZMQ_PROBE_ROUTER`: purezmq does not send probes, so `true` is `ENOTSUP`.
    pub fn set_probe_router(&self, value: bool) -> Result<()> {
        if value { Err(Error::ENOTSUP) } else { Ok(()) }
    }

    /// `ZMQ_ROUTER_MANDATORY`.
    pub fn is_router_mandatory(&self) -> Result<bool> {
        Ok(self.options().router_mandatory)
    }

    /// Sets `ZMQ_ROUTER_MANDATORY`.
    pub fn set_router_mandatory(&self, value: bool) -> Result<()> {
        self.set(|o| o.router_mandatory = value)
    }

    /// `ZMQ_ROUTER_HANDOVER`.
    pub fn is_router_handover(&self) -> Result<bool> {
        Ok(self.options().router_handover)
    }

    /// Sets `ZMQ_ROUTER_HANDOVER`.
    pub fn set_router_handover(&self, value: bool) -> Result<()> {
        self.set(|o| o.router_handover = value)
    }

    /// Sets `ZMQ_REQ_RELAXED`.
    pub fn set_req_relaxed(&self, value: bool) -> Result<()> {
        self.set(|o| o.req_relaxed = value)
    }

    /// Sets `ZMQ_REQ_CORRELATE`.
    pub fn set_req_correlate(&self, value: bool) -> Result<()> {
        self.set(|o| o.req_correlate = value)
    }

    /// Sets `ZMQ_XPUB_VERBOSE`.
    pub fn set_xpub_verbose(&self, value: bool) -> Result<()> {
        self.set(|o| o.xpub_verbose = value)
    }

    /// Sets `ZMQ_XPUB_WELCOME_MSG` (`None` for none).
    pub fn set_xpub_welcome_msg(&self, value: Option<&str>) -> Result<()> {
        let welcome = value.map(|text| Bytes::copy_from_slice(text.as_bytes()));
        self.set(|o| o.xpub_welcome_msg = welcome)
    }

    /// `ZMQ_MAXMSGSIZE` (-1: no limit).
    pub fn get_maxmsgsize(&self) -> Result<i64> {
        Ok(self
            .options()
            .maxmsgsize
            .map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX)))
    }

    /// Sets `ZMQ_MAXMSGSIZE` (-1: no limit).
    pub fn set_maxmsgsize(&self, value: i64) -> Result<()> {
        let limit = match value {
            -1 => None,
            v => Some(u64::try_from(v).map_err(|_| Error::EINVAL)?),
        };
        self.set(|o| o.maxmsgsize = limit)
    }

    /// `ZMQ_SNDHWM` (0: no limit).
    pub fn get_sndhwm(&self) -> Result<i32> {
        Ok(i32::try_from(self.options().sndhwm).unwrap_or(i32::MAX))
    }

    /// Sets `ZMQ_SNDHWM` (0: no limit).
    pub fn set_sndhwm(&self, value: i32) -> Result<()> {
        let hwm = usize::try_from(value).map_err(|_| Error::EINVAL)?;
        self.set(|o| o.sndhwm = hwm)
    }

    /// `ZMQ_RCVHWM` (0: no limit).
    pub fn get_rcvhwm(&self) -> Result<i32> {
        Ok(i32::try_from(self.options().rcvhwm).unwrap_or(i32::MAX))
    }

    /// Sets `ZMQ_RCVHWM` (0: no limit).
    pub fn set_rcvhwm(&self, value: i32) -> Result<()> {
        let hwm = usize::try_from(value).map_err(|_| Error::EINVAL)?;
        self.set(|o| o.rcvhwm = hwm)
    }

    /// `ZMQ_LINGER` in ms (-1: for ever).
    pub fn get_linger(&self) -> Result<i32> {
        Ok(none_is_minus_one(self.options().linger))
    }

    /// Sets `ZMQ_LINGER` in ms (-1: for ever, 0: drop unsent messages at close).
    pub fn set_linger(&self, value: i32) -> Result<()> {
        let linger = minus_one_is_none(value)?;
        self.set(|o| o.linger = linger)
    }

    /// `ZMQ_RECONNECT_IVL` in ms (-1: never reconnect).
    pub fn get_reconnect_ivl(&self) -> Result<i32> {
        Ok(none_is_minus_one(self.options().reconnect_ivl))
    }

    /// Sets `ZMQ_RECONNECT_IVL` in ms (-1: never reconnect).
    pub fn set_reconnect_ivl(&self, value: i32) -> Result<()> {
        let ivl = minus_one_is_none(value)?;
        self.set(|o| o.reconnect_ivl = ivl)
    }

    /// `ZMQ_RECONNECT_IVL_MAX` in ms (0: no backoff).
    pub fn get_reconnect_ivl_max(&self) -> Result<i32> {
        Ok(none_is_zero(self.options().reconnect_ivl_max))
    }

    /// Sets `ZMQ_RECONNECT_IVL_MAX` in ms (0: no backoff).
    pub fn set_reconnect_ivl_max(&self, value: i32) -> Result<()> {
        let max = zero_is_none(value)?;
        self.set(|o| o.reconnect_ivl_max = max)
    }

    /// `ZMQ_RCVTIMEO` in ms (-1: wait for ever).
    pub fn get_rcvtimeo(&self) -> Result<i32> {
        Ok(none_is_minus_one(self.options().rcvtimeo))
    }

    /// Sets `ZMQ_RCVTIMEO` in ms (-1: wait for ever, 0: never wait); a receive that
    /// waits that long fails with `EAGAIN`.
    pub fn set_rcvtimeo(&self, value: i32) -> Result<()> {
        let timeout = minus_one_is_none(value)?;
        self.set(|o| o.rcvtimeo = timeout)
    }

    /// `ZMQ_SNDTIMEO` in ms (-1: wait for ever).
    pub fn get_sndtimeo(&self) -> Result<i32> {
        Ok(none_is_minus_one(self.options().sndtimeo))
    }

    /// Sets `ZMQ_SNDTIMEO` in ms (-1: wait for ever, 0: never wait); a send that
    /// waits that long fails with `EAGAIN`.
    pub fn set_sndtimeo(&self, value: i32) -> Result<()> {
        let timeout = minus_one_is_none(value)?;
        self.set(|o| o.sndtimeo = timeout)
    }

    /// `ZMQ_TCP_KEEPALIVE` (-1: the OS default, 0: off, 1: on).
    pub fn get_tcp_keepalive(&self) -> Result<i32> {
        Ok(match self.options().tcp_keepalive {
            None => -1,
            Some(false) => 0,
            Some(true) => 1,
        })
    }

    /// Sets `ZMQ_TCP_KEEPALIVE` (-1: the OS default, 0: off, 1: on).
    pub fn set_tcp_keepalive(&self, value: i32) -> Result<()> {
        let keepalive = match value {
            -1 => None,
            0 => Some(false),
            1 => Some(true),
            _ => return Err(Error::EINVAL),
        };
        self.set(|o| o.tcp_keepalive = keepalive)
    }

    /// `ZMQ_HANDSHAKE_IVL` in ms (0: no limit).
    pub fn get_handshake_ivl(&self) -> Result<i32> {
        Ok(none_is_zero(self.options().handshake_ivl))
    }

    /// Sets `ZMQ_HANDSHAKE_IVL` in ms (0: no limit).
    pub fn set_handshake_ivl(&self, value: i32) -> Result<()> {
        let ivl = zero_is_none(value)?;
        self.set(|o| o.handshake_ivl = ivl)
    }

    /// `ZMQ_HEARTBEAT_IVL` in ms (0: no heartbeats).
    pub fn get_heartbeat_ivl(&self) -> Result<i32> {
        Ok(none_is_zero(self.options().heartbeat_ivl))
    }

    /// Sets `ZMQ_HEARTBEAT_IVL` in ms (0: no heartbeats).
    pub fn set_heartbeat_ivl(&self, value: i32) -> Result<()> {
        let ivl = zero_is_none(value)?;
        self.set(|o| o.heartbeat_ivl = ivl)
    }

    /// `ZMQ_HEARTBEAT_TTL` in ms (0: none announced).
    pub fn get_heartbeat_ttl(&self) -> Result<i32> {
        Ok(none_is_zero(self.options().heartbeat_ttl))
    }

    /// Sets `ZMQ_HEARTBEAT_TTL` in ms (0: none announced; at most 6553500).
    pub fn set_heartbeat_ttl(&self, value: i32) -> Result<()> {
        let ttl = zero_is_none(value)?;
        self.set(|o| o.heartbeat_ttl = ttl)
    }

    /// `ZMQ_HEARTBEAT_TIMEOUT` in ms (-1: the heartbeat interval).
    pub fn get_heartbeat_timeout(&self) -> Result<i32> {
        Ok(none_is_minus_one(self.options().heartbeat_timeout))
    }

    /// Sets `ZMQ_HEARTBEAT_TIMEOUT` in ms (-1: the heartbeat interval).
    pub fn set_heartbeat_timeout(&self, value: i32) -> Result<()> {
        let timeout = minus_one_is_none(value)?;
        self.set(|o| o.heartbeat_timeout = timeout)
    }

    /// `ZMQ_ROUTING_ID` (formerly `ZMQ_IDENTITY`).
    pub fn get_identity(&self) -> Result<Vec<u8>> {
        Ok(self.options().routing_id.to_vec())
    }

    /// Sets `ZMQ_ROUTING_ID`: 0 to 255 bytes, not starting with a zero byte.
    pub fn set_identity(&self, value: &[u8]) -> Result<()> {
        let id = Bytes::copy_from_slice(value);
        self.set(|o| o.routing_id = id)
    }

    /// `ZMQ_SUBSCRIBE` on a SUB or XSUB socket: receive messages starting with
    /// `value` (empty for all).
    pub fn set_subscribe(&self, value: &[u8]) -> Result<()> {
        self.inner().subscribe(value).map_err(from_purezmq)
    }

    /// `ZMQ_UNSUBSCRIBE`: undoes one `set_subscribe` of `value`.
    pub fn set_unsubscribe(&self, value: &[u8]) -> Result<()> {
        self.inner().unsubscribe(value).map_err(from_purezmq)
    }

    /// `ZMQ_LAST_ENDPOINT`: the endpoint of the last bind or connect, resolved.
    pub fn get_last_endpoint(&self) -> Result<std::result::Result<String, Vec<u8>>> {
        Ok(Ok(self
            .context
            .inner
            .public_endpoint(self.inner().last_endpoint())))
    }

    /// `ZMQ_ZAP_DOMAIN`.
    pub fn get_zap_domain(&self) -> Result<std::result::Result<String, Vec<u8>>> {
        Ok(Ok(self.options().zap_domain))
    }

    /// Sets `ZMQ_ZAP_DOMAIN` (at most 255 bytes).
    pub fn set_zap_domain(&self, value: &str) -> Result<()> {
        let domain = value.to_owned();
        self.set(|o| o.zap_domain = domain)
    }

    /// `ZMQ_SOCKS_PROXY`: always empty, as purezmq connects directly.
    pub fn get_socks_proxy(&self) -> Result<std::result::Result<String, Vec<u8>>> {
        Ok(Ok(String::new()))
    }

    /// Sets `ZMQ_SOCKS_PROXY`: purezmq has no SOCKS client, so a proxy is `ENOTSUP`
    /// (rather than connecting around it); `None` is accepted.
    pub fn set_socks_proxy(&self, value: Option<&str>) -> Result<()> {
        match value {
            None | Some("") => Ok(()),
            Some(_) => Err(Error::ENOTSUP),
        }
    }

    /// `ZMQ_MECHANISM`: NULL, PLAIN or CURVE.
    pub fn get_mechanism(&self) -> Result<Mechanism> {
        Ok(self.state.borrow().extra.mechanism)
    }

    /// `ZMQ_PLAIN_SERVER`.
    pub fn is_plain_server(&self) -> Result<bool> {
        let state = self.state.borrow();
        Ok(state.extra.mechanism == Mechanism::ZMQ_PLAIN && state.extra.as_server)
    }

    /// Sets `ZMQ_PLAIN_SERVER`: `true` makes the socket a PLAIN server, `false` turns
    /// security off.
    pub fn set_plain_server(&self, value: bool) -> Result<()> {
        self.set_security(|extra| {
            extra.as_server = value;
            extra.mechanism = if value {
                Mechanism::ZMQ_PLAIN
            } else {
                Mechanism::ZMQ_NULL
            };
            Ok(())
        })
    }

    /// `ZMQ_PLAIN_USERNAME`.
    pub fn get_plain_username(&self) -> Result<std::result::Result<String, Vec<u8>>> {
        Ok(text(self.state.borrow().extra.plain_username.clone()))
    }

    /// Sets `ZMQ_PLAIN_USERNAME`, making the socket a PLAIN client; `None` turns
    /// security off.
    pub fn set_plain_username(&self, value: Option<&str>) -> Result<()> {
        self.set_plain_credential(value, |extra| &mut extra.plain_username)
    }

    /// `ZMQ_PLAIN_PASSWORD`.
    pub fn get_plain_password(&self) -> Result<std::result::Result<String, Vec<u8>>> {
        Ok(text(self.state.borrow().extra.plain_password.clone()))
    }

    /// Sets `ZMQ_PLAIN_PASSWORD`, making the socket a PLAIN client; `None` turns
    /// security off.
    pub fn set_plain_password(&self, value: Option<&str>) -> Result<()> {
        self.set_plain_credential(value, |extra| &mut extra.plain_password)
    }

    fn set_plain_credential(
        &self,
        value: Option<&str>,
        field: impl FnOnce(&mut Extra) -> &mut Vec<u8>,
    ) -> Result<()> {
        self.set_security(|extra| {
            *field(extra) = value.unwrap_or("").as_bytes().to_vec();
            extra.as_server = false;
            extra.mechanism = if value.is_some() {
                Mechanism::ZMQ_PLAIN
            } else {
                Mechanism::ZMQ_NULL
            };
            Ok(())
        })
    }

    /// `ZMQ_CURVE_SERVER`.
    pub fn is_curve_server(&self) -> Result<bool> {
        let state = self.state.borrow();
        Ok(state.extra.mechanism == Mechanism::ZMQ_CURVE && state.extra.as_server)
    }

    /// Sets `ZMQ_CURVE_SERVER`: `true` makes the socket a CURVE server (give it its
    /// secret key with `set_curve_secretkey`), `false` turns security off.
    pub fn set_curve_server(&self, value: bool) -> Result<()> {
        self.set_security(|extra| {
            extra.as_server = value;
            extra.mechanism = if value {
                Mechanism::ZMQ_CURVE
            } else {
                Mechanism::ZMQ_NULL
            };
            Ok(())
        })
    }

    /// `ZMQ_CURVE_PUBLICKEY`, 32 bytes (zero until set).
    pub fn get_curve_publickey(&self) -> Result<Vec<u8>> {
        Ok(self.state.borrow().extra.curve_publickey.to_vec())
    }

    /// Sets `ZMQ_CURVE_PUBLICKEY` (32 bytes or 40 Z85 characters). purezmq derives
    /// the public key from the secret key, so this one is only kept.
    pub fn set_curve_publickey(&self, value: &[u8]) -> Result<()> {
        let key = curve_key(value)?;
        self.set_security(|extra| {
            extra.curve_publickey = key;
            extra.mechanism = Mechanism::ZMQ_CURVE;
            Ok(())
        })
    }

    /// `ZMQ_CURVE_SECRETKEY`, 32 bytes (zero until set).
    pub fn get_curve_secretkey(&self) -> Result<Vec<u8>> {
        Ok(self
            .state
            .borrow()
            .extra
            .curve_secretkey
            .unwrap_or_default()
            .to_vec())
    }

    /// Sets `ZMQ_CURVE_SECRETKEY` (32 bytes or 40 Z85 characters).
    pub fn set_curve_secretkey(&self, value: &[u8]) -> Result<()> {
        let key = curve_key(value)?;
        self.set_security(|extra| {
            extra.curve_secretkey = Some(key);
            extra.mechanism = Mechanism::ZMQ_CURVE;
            Ok(())
        })
    }

    /// `ZMQ_CURVE_SERVERKEY`, 32 bytes (zero until set).
    pub fn get_curve_serverkey(&self) -> Result<Vec<u8>> {
        Ok(self.state.borrow().extra.curve_serverkey.to_vec())
    }

    /// Sets `ZMQ_CURVE_SERVERKEY` (32 bytes or 40 Z85 characters), making the
    /// socket a CURVE client.
    pub fn set_curve_serverkey(&self, value: &[u8]) -> Result<()> {
        let key = curve_key(value)?;
        self.set_security(|extra| {
            extra.curve_serverkey = key;
            extra.as_server = false;
            extra.mechanism = Mechanism::ZMQ_CURVE;
            Ok(())
        })
    }

    /// `ZMQ_GSSAPI_SERVER`: GSSAPI is not available (`EINVAL`, as from a libzmq
    /// built without it).
    pub fn is_gssapi_server(&self) -> Result<bool> {
        Err(Error::EINVAL)
    }

    /// Sets `ZMQ_GSSAPI_SERVER`: `EINVAL`, GSSAPI is not available.
    pub fn set_gssapi_server(&self, value: bool) -> Result<()> {
        let _ = value;
        Err(Error::EINVAL)
    }

    /// `ZMQ_GSSAPI_PLAINTEXT`: `EINVAL`, GSSAPI is not available.
    pub fn is_gssapi_plaintext(&self) -> Result<bool> {
        Err(Error::EINVAL)
    }

    /// Sets `ZMQ_GSSAPI_PLAINTEXT`: `EINVAL`, GSSAPI is not available.
    pub fn set_gssapi_plaintext(&self, value: bool) -> Result<()> {
        let _ = value;
        Err(Error::EINVAL)
    }

    /// `ZMQ_GSSAPI_PRINCIPAL`: `EINVAL`, GSSAPI is not available.
    pub fn get_gssapi_principal(&self) -> Result<std::result::Result<String, Vec<u8>>> {
        Err(Error::EINVAL)
    }

    /// Sets `ZMQ_GSSAPI_PRINCIPAL`: `EINVAL`, GSSAPI is not available.
    pub fn set_gssapi_principal(&self, value: &str) -> Result<()> {
        let _ = value;
        Err(Error::EINVAL)
    }

    /// `ZMQ_GSSAPI_SERVICE_PRINCIPAL`: `EINVAL`, GSSAPI is not available.
    pub fn get_gssapi_service_principal(&self) -> Result<std::result::Result<String, Vec<u8>>> {
        Err(Error::EINVAL)
    }

    /// Sets `ZMQ_GSSAPI_SERVICE_PRINCIPAL`: `EINVAL`, GSSAPI is not available.
    pub fn set_gssapi_service_principal(&self, value: &str) -> Result<()> {
        let _ = value;
        Err(Error::EINVAL)
    }

    /// `ZMQ_EVENTS`: whether a frame can be received ([`POLLIN`](crate::POLLIN))
    /// or sent ([`POLLOUT`](crate::POLLOUT)) now. Reading it resets the
    /// [`get_fd`](Socket::get_fd) descriptor.
    ///
    /// POLLOUT is libzmq's: a send with `DONTWAIT` now would not fail with
    /// `EAGAIN` (see [`poll`](crate::poll)); the descriptor rings when it may have
    /// become true (a peer drained below SNDHWM, a peer arrived).
    pub fn get_events(&self) -> Result<PollEvents> {
        self.check_term()?;
        // First: whatever changes after this look rings the descriptor again.
        self.inbox.reset();
        let mut events = PollEvents::empty();
        if self.readable_now() {
            events |= PollEvents::POLLIN;
        }
        if self.writable_now() {
            events |= PollEvents::POLLOUT;
        }
        Ok(events)
    }

    /// `ZMQ_FD`: a file descriptor, the same for the socket's life, for an event
    /// loop to wait on with `poll(2)`/`epoll(7)` for readability. As libzmq's, it is
    /// edge-triggered and only a hint: it becomes readable when the socket's
    /// events may have changed, and [`get_events`](Socket::get_events) tells what
    /// they are (and resets it). Check `get_events` after every send and receive
    /// too, as they change the events without the descriptor saying so.
    pub fn get_fd(&self) -> Result<RawFd> {
        self.check_term()?;
        self.inbox.fd(self.inner()).map_err(|_| Error::EMFILE)
    }
}

impl AsRawFd for Socket {
    /// [`Socket::get_fd`].
    ///
    /// # Panics
    ///
    /// If the descriptor cannot be made (out of file descriptors) or the context
    /// was destroyed, as the `zmq` crate's does.
    fn as_raw_fd(&self) -> RawFd {
        self.get_fd()
            .expect("cannot make the socket's ZMQ_FD descriptor")
    }
}
