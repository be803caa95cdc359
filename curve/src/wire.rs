//! The layout of CurveZMQ's handshake commands, in octets after the command name.

use alloc::string::String;
use purezmq_zmtp::Error;

/// Name of the HELLO command.
pub(crate) const HELLO: &[u8] = b"HELLO";
/// Name of the WELCOME command.
pub(crate) const WELCOME: &[u8] = b"WELCOME";
/// Name of the INITIATE command.
pub(crate) const INITIATE: &[u8] = b"INITIATE";

/// CurveZMQ 1.0, the only version.
pub(crate) const VERSION: [u8; 2] = [1, 0];
/// HELLO's zero padding, which makes HELLO as long as WELCOME is and so denies an
/// attacker any amplification.
pub(crate) const HELLO_PADDING: usize = 72;
/// The box of HELLO: 64 zero octets.
pub(crate) const HELLO_BOX_LEN: usize = 16 + 64;
/// HELLO after its name: version, padding, C', short nonce, box (200 octets in all).
pub(crate) const HELLO_DATA_LEN: usize = 2 + HELLO_PADDING + 32 + 8 + HELLO_BOX_LEN;

/// The cookie: a long nonce and the box of C' and s' under the cookie key.
pub(crate) const COOKIE_LEN: usize = 16 + 16 + 64;
/// WELCOME after its name: long nonce and the box of S' and the cookie (168 in all).
pub(crate) const WELCOME_DATA_LEN: usize = 16 + 16 + 32 + COOKIE_LEN;

/// The vouch: the box of C' and S under the client's long-term key.
pub(crate) const VOUCH_BOX_LEN: usize = 16 + 64;
/// INITIATE's plaintext before the metadata: C, the vouch's long nonce, the vouch.
pub(crate) const INITIATE_PLAIN_FIXED: usize = 32 + 16 + VOUCH_BOX_LEN;
/// The shortest INITIATE after its name: cookie, short nonce, box with no metadata
/// (257 octets in all).
pub(crate) const INITIATE_MIN_DATA_LEN: usize = COOKIE_LEN + 8 + 16 + INITIATE_PLAIN_FIXED;

/// The shortest READY after its name: short nonce and an empty box (30 in all, as
/// libzmq counts it: 14 octets of name and nonce, and the tag).
pub(crate) const READY_MIN_DATA_LEN: usize = 8 + 16;

pub(crate) fn malformed(command: &str, reason: &'static str) -> Error {
    Error::MalformedCommand {
        command: String::from(command),
        reason,
    }
}

pub(crate) fn unexpected(command: &[u8], expected: &'static str) -> Error {
    Error::UnexpectedCommand {
        command: crate::printable(command),
        expected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lengths_are_libzmqs() {
        assert_eq!(1 + HELLO.len() + HELLO_DATA_LEN, 200);
        assert_eq!(1 + WELCOME.len() + WELCOME_DATA_LEN, 168);
        assert_eq!(1 + INITIATE.len() + INITIATE_MIN_DATA_LEN, 257);
        assert_eq!(1 + 5 + READY_MIN_DATA_LEN, 30);
    }
}
