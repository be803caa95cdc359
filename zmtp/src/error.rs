//! Every rule a peer can break, as a typed error.
//!
//! Each variant is one rule and its message says what happened, so that a monitor event
//! or a log line is enough to tell what the peer did wrong.

use alloc::string::String;
use core::time::Duration;

use crate::greeting::MechanismName;
use crate::socket_type::SocketType;

/// Why a connection failed. After any of these the connection is dead: send what it
/// still has to send (an ERROR command, perhaps) and close it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The peer's first octets are not a ZMTP 3 signature: it speaks ZMTP 1.0.
    #[error(
        "peer speaks unversioned ZMTP 1.0 (no 0xFF..0x7F signature); ZMTP 3.0 or later is required"
    )]
    UnversionedPeer,

    /// The peer announced a major version older than 3 (ZMTP 2.0 or older).
    #[error(
        "peer announced ZMTP major version {major} (ZMTP 2.0 or older); ZMTP 3.0 or later is required"
    )]
    UnsupportedVersion {
        /// The major version the peer announced.
        major: u8,
    },

    /// The peer's greeting names another security mechanism than ours.
    #[error("peer uses the {peer} security mechanism but this socket uses {ours}")]
    MechanismMismatch {
        /// Our mechanism.
        ours: MechanismName,
        /// The peer's mechanism.
        peer: MechanismName,
    },

    /// A frame's flags octet has reserved bits set.
    #[error(
        "frame flags {flags:#04x} set reserved bits (only MORE 0x01, LONG 0x02 and COMMAND 0x04 exist)"
    )]
    ReservedFlags {
        /// The flags octet received.
        flags: u8,
    },

    /// A command frame carries the MORE flag, which commands never have.
    #[error("command frame has the MORE flag set")]
    CommandWithMore,

    /// A frame announced more octets than the maximum message size allows.
    #[error("frame of {size} bytes exceeds the maximum message size of {max}")]
    FrameTooLarge {
        /// The size the frame announced.
        size: u64,
        /// The limit in force.
        max: u64,
    },

    /// The frames of one multipart message add up to more than the maximum message size.
    #[error("multipart message of {size} bytes so far exceeds the maximum message size of {max}")]
    MessageTooLarge {
        /// The size of the message so far.
        size: u64,
        /// The limit in force.
        max: u64,
    },

    /// A command frame does not hold a well-formed command.
    #[error("malformed {command} command: {reason}")]
    MalformedCommand {
        /// The command's name, or `"unnamed"` when even the name is broken.
        command: String,
        /// Which rule it breaks.
        reason: &'static str,
    },

    /// Metadata in READY or INITIATE does not parse.
    #[error("malformed metadata: {reason}")]
    MalformedMetadata {
        /// Which rule it breaks.
        reason: &'static str,
    },

    /// The peer sent a command the handshake does not expect at this point.
    #[error("unexpected {command} command while {expected}")]
    UnexpectedCommand {
        /// The command's name.
        command: String,
        /// What the handshake was waiting for.
        expected: &'static str,
    },

    /// The peer sent a message frame before the handshake completed.
    #[error("peer sent a message frame before the handshake completed")]
    MessageDuringHandshake,

    /// The peer's socket type may not talk to ours (RFC 23).
    #[error("peer socket type {peer} cannot talk to a {ours} socket")]
    IncompatibleSocketType {
        /// Our socket type.
        ours: SocketType,
        /// The `Socket-Type` the peer announced, as text (it may be unknown to us).
        peer: String,
    },

    /// The peer refused the handshake with an ERROR command.
    #[error("peer refused the handshake: {reason}")]
    PeerRefused {
        /// The reason the peer gave.
        reason: String,
    },

    /// Authentication (ZAP or the caller's own) did not accept the peer.
    #[error("authentication refused the peer: {status_code} {status_text}")]
    AuthenticationFailed {
        /// The ZAP status code: 300 (temporary), 400 (refused) or 500 (internal error).
        status_code: u16,
        /// The status text that came with it.
        status_text: String,
    },

    /// The security mechanism refused what the peer sent, in the handshake or after it
    /// (CURVE: a box that does not open, a replayed nonce).
    #[error("{mechanism}: {reason}")]
    Mechanism {
        /// The mechanism that failed.
        mechanism: MechanismName,
        /// What went wrong.
        reason: String,
    },

    /// The handshake did not finish in time.
    #[error("handshake did not complete within {limit:?}")]
    HandshakeTimeout {
        /// The handshake interval in force.
        limit: Duration,
    },

    /// Nothing arrived from the peer within the heartbeat timeout after a PING.
    #[error("peer sent nothing within the heartbeat timeout of {timeout:?} after our PING")]
    HeartbeatTimeout {
        /// The heartbeat timeout in force.
        timeout: Duration,
    },

    /// Nothing arrived from the peer within the TTL its last PING announced.
    #[error("peer sent nothing within the {ttl:?} TTL its PING announced")]
    TtlExpired {
        /// The TTL the peer announced.
        ttl: Duration,
    },

    /// The caller tried to send before the handshake completed.
    #[error("cannot send before the handshake has completed")]
    NotReady,
}

impl Error {
    /// Whether the failure is an authentication failure (a monitor's
    /// HANDSHAKE_FAILED_AUTH) rather than a protocol violation or a timeout: our own
    /// refusal, or the peer's ERROR carrying a ZAP status code, as libzmq counts it.
    pub fn is_authentication_failure(&self) -> bool {
        match self {
            Error::AuthenticationFailed { .. } => true,
            Error::PeerRefused { reason } => {
                reason.len() == 3 && reason.bytes().all(|b| b.is_ascii_digit())
            }
            _ => false,
        }
    }

    /// Whether the peer broke a protocol rule (a monitor's HANDSHAKE_FAILED_PROTOCOL).
    pub fn is_protocol_violation(&self) -> bool {
        !self.is_authentication_failure()
            && !matches!(
                self,
                Error::HandshakeTimeout { .. }
                    | Error::HeartbeatTimeout { .. }
                    | Error::TtlExpired { .. }
                    | Error::NotReady
            )
    }

    pub(crate) fn malformed(command: &[u8], reason: &'static str) -> Error {
        Error::MalformedCommand {
            command: lossy(command),
            reason,
        }
    }

    pub(crate) fn unexpected(command: &[u8], expected: &'static str) -> Error {
        Error::UnexpectedCommand {
            command: lossy(command),
            expected,
        }
    }
}

/// Peer-supplied octets as printable text: ASCII kept, everything else escaped.
pub(crate) fn lossy(bytes: &[u8]) -> String {
    use core::fmt::Write;
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_graphic() || b == b' ' {
            out.push(b as char);
        } else {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_error_with_a_zap_status_is_an_authentication_failure() {
        let refused = |reason: &str| Error::PeerRefused {
            reason: reason.into(),
        };
        assert!(refused("400").is_authentication_failure());
        assert!(!refused("400").is_protocol_violation());
        assert!(!refused("invalid socket type").is_authentication_failure());
        assert!(refused("invalid socket type").is_protocol_violation());
        assert!(!Error::NotReady.is_protocol_violation());
    }
}
