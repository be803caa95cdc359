//! Why a message is not valid MDP.

use thiserror::Error;

/// A message that breaks MDP/0.1 or MDP/0.2. Each variant names the rule.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MdpError {
    /// The message has no frames at all.
    #[error("the message is empty")]
    Empty,
    /// The header is not one of MDPC01, MDPW01, MDPC02, MDPW02.
    #[error(
        "the message has no MDP header (MDPC01, MDPW01, MDPC02 or MDPW02), with or without an empty frame before it"
    )]
    UnknownHeader,
    /// The header is valid but for the other side: a client message where a
    /// worker's was expected, or the other way round.
    #[error("the {found} header is not valid here: a {expected} message was expected")]
    WrongHeader {
        /// The header that arrived, as text.
        found: &'static str,
        /// What the receiver expected.
        expected: &'static str,
    },
    /// An MDP/0.1 message must start with an empty frame (RFC 7).
    #[error("an MDP/0.1 message must start with an empty frame")]
    MissingEmptyFrame,
    /// The command frame is missing.
    #[error("the message has no command frame after its header")]
    MissingCommand,
    /// The command frame is not one byte naming a command of this version.
    #[error("the command frame {frame:02x?} is not an {version} {side} command")]
    UnknownCommand {
        /// The frame that arrived (at most 8 bytes of it).
        frame: Vec<u8>,
        /// MDP/0.1 or MDP/0.2.
        version: &'static str,
        /// "client" or "worker".
        side: &'static str,
    },
    /// A command that names a service has no service frame.
    #[error("the message has no service-name frame")]
    MissingService,
    /// The service name is empty.
    #[error("the service name is empty")]
    EmptyService,
    /// The service name is longer than [`crate::mdp::MAX_SERVICE_LEN`].
    #[error("the service name is {len} bytes long; at most 255 are accepted")]
    ServiceTooLong {
        /// Its length.
        len: usize,
    },
    /// A REQUEST, REPLY, PARTIAL or FINAL has no client-address frame.
    #[error("the {command} has no client-address frame")]
    MissingClientAddress {
        /// The command.
        command: &'static str,
    },
    /// The client address is not followed by an empty frame (RFC 7 and RFC 18:
    /// exactly one address frame, then an empty one).
    #[error("the {command}'s client address is not followed by an empty frame")]
    MissingDelimiter {
        /// The command.
        command: &'static str,
    },
    /// A command that has a fixed number of frames carries more.
    #[error("the {command} carries {extra} frame(s) more than it may")]
    ExtraFrames {
        /// The command.
        command: &'static str,
        /// How many frames too many.
        extra: usize,
    },
    /// A valid command that goes the other way: a client sending PARTIAL or FINAL,
    /// which only a broker sends to a client.
    #[error("a client may not send {command}: only a broker sends it")]
    NotFromAClient {
        /// The command.
        command: &'static str,
    },
    /// MDP/0.1 has no partial replies; this reply cannot be said in it.
    #[error("MDP/0.1 has no partial replies")]
    PartialInVersion01,
}
