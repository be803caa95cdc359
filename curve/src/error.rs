//! What can go wrong: Z85 text, keys, certificates, and the CURVE handshake itself.
//!
//! Handshake failures reach the caller through [`purezmq_zmtp::Error`]: lengths and
//! command order as its own `MalformedCommand` and `UnexpectedCommand`, and everything
//! cryptographic as `Error::Mechanism` for CURVE, whose reason is a [`CurveError`]'s
//! message (`Error::from(CurveError::..)` builds the same value, for comparisons).

use alloc::string::ToString;
use purezmq_zmtp::{Error, MechanismName};

/// Why Z85 text or data could not be converted (RFC 32).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Z85Error {
    /// Z85 encodes whole groups of four octets.
    #[error("Z85 encodes groups of 4 octets; {len} octets is not a multiple of 4")]
    DataLength {
        /// The length of the data given.
        len: usize,
    },

    /// Z85 text is made of whole groups of five characters.
    #[error("Z85 text comes in groups of 5 characters; {len} characters is not a multiple of 5")]
    TextLength {
        /// The length of the text given.
        len: usize,
    },

    /// A character outside the Z85 alphabet.
    #[error("octet {byte:#04x} at position {position} is not a Z85 character")]
    Character {
        /// Its position in the text.
        position: usize,
        /// The octet found there.
        byte: u8,
    },

    /// Five characters whose value does not fit four octets.
    #[error("the 5 characters at position {position} encode a value above 2^32 - 1")]
    Overflow {
        /// The position of the group in the text.
        position: usize,
    },
}

/// Why a CURVE key could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A key is 32 octets.
    #[error("a CURVE key is 32 octets, not {len}")]
    Length {
        /// The number of octets given.
        len: usize,
    },

    /// A key in Z85 is 40 characters.
    #[error("a CURVE key in Z85 is 40 characters, not {len}")]
    Z85Length {
        /// The number of characters given.
        len: usize,
    },

    /// The Z85 text does not decode.
    #[error("invalid Z85 key: {0}")]
    Z85(#[from] Z85Error),
}

/// Why certificate text could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// A line breaks the layout (`name = value` under a section).
    #[error("line {line}: {reason}")]
    Syntax {
        /// The line, counted from 1.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// The `curve` section has no `public-key`.
    #[error("the certificate has no public-key in its curve section")]
    NoPublicKey,

    /// The `public-key` does not decode.
    #[error("the certificate's public-key is invalid: {0}")]
    PublicKey(KeyError),

    /// The `secret-key` does not decode.
    #[error("the certificate's secret-key is invalid: {0}")]
    SecretKey(KeyError),

    /// The secret key's public key is not the certificate's public key.
    #[error("the certificate's secret-key does not belong to its public-key")]
    KeyMismatch,
}

/// A CURVE handshake or message the peer sent that the cryptography refuses. Each is
/// fatal to the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CurveError {
    /// The client's HELLO asks for a CurveZMQ version other than 1.0.
    #[error("client HELLO asks for CurveZMQ version {major}.{minor}; only 1.0 exists")]
    UnsupportedVersion {
        /// The major version asked for.
        major: u8,
        /// The minor version asked for.
        minor: u8,
    },

    /// The HELLO box does not open with the server's secret key: the client was given
    /// another server public key.
    #[error("cannot open the client's HELLO box: the client uses another server public key")]
    HelloBox,

    /// The WELCOME box does not open: the server is not the one whose public key we
    /// were given.
    #[error(
        "cannot open the server's WELCOME box: the server does not hold the secret key of the server public key we were given"
    )]
    WelcomeBox,

    /// The INITIATE cookie does not open: it was not made by this server for this
    /// connection.
    #[error("cannot open the INITIATE cookie: it was not made by this server for this connection")]
    Cookie,

    /// The INITIATE box does not open with the keys its cookie names.
    #[error("cannot open the client's INITIATE box")]
    InitiateBox,

    /// The vouch inside INITIATE does not open with the client's long-term key.
    #[error(
        "cannot open the client's vouch: it was not made with the secret key of the public key it presents"
    )]
    Vouch,

    /// The vouch opens but names another transient key or server.
    #[error("the client's vouch is for another connection or another server")]
    VouchMismatch,

    /// The READY box does not open.
    #[error("cannot open the server's READY box")]
    ReadyBox,

    /// A MESSAGE box does not open: corrupted, forged, or sealed with another key.
    #[error("cannot open a MESSAGE box: it is corrupted or forged")]
    MessageBox,

    /// A short nonce not above the last one: a replayed or reordered command.
    #[error(
        "{command} short nonce {nonce} does not follow {last}: a replayed or reordered command"
    )]
    NonceNotIncreasing {
        /// The command that carried it.
        command: &'static str,
        /// The nonce received.
        nonce: u64,
        /// The last nonce accepted from the peer.
        last: u64,
    },

    /// A MESSAGE's short nonce skips one: over a stream nothing is lost, so a MESSAGE
    /// went missing on the way (deleting a frame would splice two messages into one).
    #[error("MESSAGE short nonce {nonce} skips from {last}: a command went missing")]
    NonceSkipped {
        /// The nonce received.
        nonce: u64,
        /// The last nonce accepted from the peer.
        last: u64,
    },

    /// A MESSAGE's payload is a command and also has MORE set.
    #[error("a MESSAGE carries a command with the MORE flag set")]
    CommandWithMore,
}

impl From<CurveError> for Error {
    fn from(e: CurveError) -> Error {
        Error::Mechanism {
            mechanism: MechanismName::CURVE,
            reason: e.to_string(),
        }
    }
}
