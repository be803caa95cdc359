//! The greeting that opens every ZMTP connection (RFC 23 and RFC 37).
//!
//! A greeting is 64 octets: a 10-octet signature (`0xFF`, 8 octets of padding, `0x7F`),
//! the protocol version, the 20-octet mechanism name, the as-server flag and filler.
//!
//! libzmq does not send its greeting in one piece: it sends the signature, waits for the
//! peer's signature, sends its major version, waits for the peer's major version, and
//! only then the rest. A ZMTP 1.0 peer gives itself away before any of that by not
//! starting with `0xFF` (or by a clear low bit in octet 9), a ZMTP 2.0 peer by its major
//! version. [`GreetingExchange`] follows the same stages so that such peers are told
//! apart; they are refused, never downgraded to.

use core::fmt;

use crate::error::Error;

/// Length of the signature that starts the greeting.
pub const SIGNATURE_LEN: usize = 10;
/// Length of a whole ZMTP 3.x greeting.
pub const GREETING_LEN: usize = 64;

const MAJOR_POS: usize = 10;
const MINOR_POS: usize = 11;
const MECHANISM_POS: usize = 12;
const AS_SERVER_POS: usize = 32;

/// The ZMTP version a peer announces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Major version: 3 for every peer purezmq talks to.
    pub major: u8,
    /// Minor version: 0 for ZMTP 3.0, 1 for ZMTP 3.1.
    pub minor: u8,
}

impl Version {
    /// ZMTP 3.0 (RFC 23).
    pub const V3_0: Version = Version { major: 3, minor: 0 };
    /// ZMTP 3.1 (RFC 37): heartbeats, and subscriptions as commands.
    pub const V3_1: Version = Version { major: 3, minor: 1 };

    /// Whether a peer of this version takes SUBSCRIBE/CANCEL commands and PING/PONG
    /// (ZMTP 3.1 and later).
    pub fn has_commands_of_3_1(self) -> bool {
        self >= Version::V3_1
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// A security mechanism's name: up to 20 ASCII octets, padded with zeros on the wire.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MechanismName([u8; 20]);

impl MechanismName {
    /// The NULL mechanism (no security).
    pub const NULL: MechanismName = MechanismName::from_static("NULL");
    /// The PLAIN mechanism (RFC 24).
    pub const PLAIN: MechanismName = MechanismName::from_static("PLAIN");
    /// The CURVE mechanism (RFC 26).
    pub const CURVE: MechanismName = MechanismName::from_static("CURVE");

    /// A mechanism name from a constant string.
    ///
    /// # Panics
    /// If `name` is longer than 20 octets.
    pub const fn from_static(name: &str) -> MechanismName {
        let bytes = name.as_bytes();
        assert!(bytes.len() <= 20, "a mechanism name has at most 20 octets");
        let mut out = [0u8; 20];
        let mut i = 0;
        while i < bytes.len() {
            out[i] = bytes[i];
            i += 1;
        }
        MechanismName(out)
    }

    /// The name exactly as it travels in the greeting.
    pub const fn as_wire(&self) -> &[u8; 20] {
        &self.0
    }

    /// The name without its zero padding.
    pub fn as_bytes(&self) -> &[u8] {
        let end = self.0.iter().position(|&b| b == 0).unwrap_or(20);
        &self.0[..end]
    }
}

impl fmt::Display for MechanismName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &b in self.as_bytes() {
            if b.is_ascii_graphic() {
                write!(f, "{}", b as char)?;
            } else {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for MechanismName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MechanismName(\"{self}\")")
    }
}

/// A ZMTP 3.x greeting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Greeting {
    /// The protocol version.
    pub version: Version,
    /// The security mechanism.
    pub mechanism: MechanismName,
    /// Whether the sender takes the server role of the mechanism (PLAIN and CURVE).
    pub as_server: bool,
}

impl Greeting {
    /// The greeting purezmq sends: ZMTP 3.1 with the given mechanism and role.
    pub fn new(mechanism: MechanismName, as_server: bool) -> Greeting {
        Greeting {
            version: Version::V3_1,
            mechanism,
            as_server,
        }
    }

    /// The 64 octets of this greeting, with zero padding and filler.
    pub fn encode(&self) -> [u8; GREETING_LEN] {
        let mut out = [0u8; GREETING_LEN];
        out[0] = 0xFF;
        out[SIGNATURE_LEN - 1] = 0x7F;
        out[MAJOR_POS] = self.version.major;
        out[MINOR_POS] = self.version.minor;
        out[MECHANISM_POS..AS_SERVER_POS].copy_from_slice(self.mechanism.as_wire());
        out[AS_SERVER_POS] = u8::from(self.as_server);
        out
    }

    /// Decodes a whole greeting received from a peer.
    ///
    /// The padding and filler are not checked (libzmq puts its routing id's length in
    /// the padding), any as-server octet other than zero counts as set, and any major
    /// version of 3 or more is accepted.
    pub fn decode(bytes: &[u8; GREETING_LEN]) -> Result<Greeting, Error> {
        check_signature(bytes)?;
        check_major(bytes[MAJOR_POS])?;
        let mut mechanism = [0u8; 20];
        mechanism.copy_from_slice(&bytes[MECHANISM_POS..AS_SERVER_POS]);
        Ok(Greeting {
            version: Version {
                major: bytes[MAJOR_POS],
                minor: bytes[MINOR_POS],
            },
            mechanism: MechanismName(mechanism),
            as_server: bytes[AS_SERVER_POS] != 0,
        })
    }
}

/// Checks as much of the signature as has arrived.
fn check_signature(received: &[u8]) -> Result<(), Error> {
    if received.first().is_some_and(|&b| b != 0xFF) {
        return Err(Error::UnversionedPeer);
    }
    // Octet 9 doubles as the flags of a ZMTP 1.0 identity frame, whose low bit is 0.
    if received.get(SIGNATURE_LEN - 1).is_some_and(|&b| b & 1 == 0) {
        return Err(Error::UnversionedPeer);
    }
    Ok(())
}

fn check_major(major: u8) -> Result<(), Error> {
    if major < 3 {
        return Err(Error::UnsupportedVersion { major });
    }
    Ok(())
}

/// The staged exchange of greetings, without I/O.
///
/// Feed it the peer's bytes with [`receive`](Self::receive); send what
/// [`take_output`](Self::take_output) releases. It releases our signature at once,
/// our major version once the peer's signature checks out, and the rest once the
/// peer's major version is 3 or more.
#[derive(Clone, Debug)]
pub struct GreetingExchange {
    ours: [u8; GREETING_LEN],
    /// How many of our octets may be sent so far.
    released: usize,
    /// How many of our octets have been handed out by `take_output`.
    taken: usize,
    theirs: [u8; GREETING_LEN],
    received: usize,
}

impl GreetingExchange {
    /// Starts an exchange in which we send `ours`.
    pub fn new(ours: &Greeting) -> GreetingExchange {
        GreetingExchange {
            ours: ours.encode(),
            released: SIGNATURE_LEN,
            taken: 0,
            theirs: [0; GREETING_LEN],
            received: 0,
        }
    }

    /// Our octets that have become ready to send since the last call.
    pub fn take_output(&mut self) -> &[u8] {
        let out = &self.ours[self.taken..self.released];
        self.taken = self.released;
        out
    }

    /// Takes the peer's octets from the front of `input`. Returns how many it consumed
    /// (never more than the greeting needs), and the peer's greeting once complete.
    pub fn receive(&mut self, input: &[u8]) -> Result<(usize, Option<Greeting>), Error> {
        let n = input.len().min(GREETING_LEN - self.received);
        self.theirs[self.received..self.received + n].copy_from_slice(&input[..n]);
        self.received += n;
        let got = &self.theirs[..self.received];

        check_signature(got)?;
        if self.received >= SIGNATURE_LEN {
            self.released = self.released.max(MAJOR_POS + 1);
        }
        if self.received > MAJOR_POS {
            check_major(got[MAJOR_POS])?;
            self.released = GREETING_LEN;
        }
        if self.received < GREETING_LEN {
            return Ok((n, None));
        }
        Greeting::decode(&self.theirs).map(|g| (n, Some(g)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain_server() -> Greeting {
        Greeting::new(MechanismName::PLAIN, true)
    }

    #[test]
    fn encode_lays_out_rfc23_fields() {
        let g = plain_server().encode();
        assert_eq!(g[0], 0xFF);
        assert_eq!(&g[1..9], &[0; 8]);
        assert_eq!(g[9], 0x7F);
        assert_eq!(&g[10..12], &[3, 1]);
        assert_eq!(&g[12..17], b"PLAIN");
        assert_eq!(&g[17..32], &[0; 15]);
        assert_eq!(g[32], 1);
        assert_eq!(&g[33..], &[0; 31]);
    }

    #[test]
    fn decode_ignores_padding_and_filler() {
        let mut g = plain_server().encode();
        g[1..9].copy_from_slice(&[0, 0, 0, 0, 0, 0, 0, 7]);
        g[40] = 0xAA;
        assert_eq!(Greeting::decode(&g), Ok(plain_server()));
    }

    #[test]
    fn later_versions_are_accepted() {
        let mut g = plain_server().encode();
        g[10] = 4;
        g[11] = 7;
        let v = Greeting::decode(&g).map(|g| g.version);
        assert_eq!(v, Ok(Version { major: 4, minor: 7 }));
    }

    #[test]
    fn stages_release_signature_then_major_then_rest() {
        let peer = Greeting::new(MechanismName::NULL, false).encode();
        let mut ex = GreetingExchange::new(&Greeting::new(MechanismName::NULL, false));
        assert_eq!(ex.take_output().len(), SIGNATURE_LEN);
        assert_eq!(ex.receive(&peer[..9]), Ok((9, None)));
        assert!(ex.take_output().is_empty());
        assert_eq!(ex.receive(&peer[9..10]), Ok((1, None)));
        assert_eq!(ex.take_output(), &[3]);
        assert_eq!(ex.receive(&peer[10..11]), Ok((1, None)));
        assert_eq!(ex.take_output().len(), GREETING_LEN - SIGNATURE_LEN - 1);
        let (n, done) = ex.receive(&peer[11..]).expect("valid greeting");
        assert_eq!(n, GREETING_LEN - 11);
        assert_eq!(done, Some(Greeting::new(MechanismName::NULL, false)));
    }

    #[test]
    fn zmtp_1_0_is_refused_at_the_first_octet() {
        let mut ex = GreetingExchange::new(&plain_server());
        // A ZMTP 1.0 peer starts with its identity frame: length, flags.
        assert_eq!(ex.receive(&[0x01, 0x00]), Err(Error::UnversionedPeer));
    }

    #[test]
    fn zmtp_1_0_long_identity_is_refused_at_octet_9() {
        let mut ex = GreetingExchange::new(&plain_server());
        let mut sig = [0u8; 10];
        sig[0] = 0xFF;
        sig[8] = 5;
        assert_eq!(ex.receive(&sig), Err(Error::UnversionedPeer));
    }

    #[test]
    fn zmtp_2_0_is_refused_at_the_major_version() {
        let mut ex = GreetingExchange::new(&plain_server());
        let mut bytes = [0u8; 12];
        bytes[0] = 0xFF;
        bytes[9] = 0x7F;
        bytes[10] = 1;
        let err = ex.receive(&bytes);
        assert_eq!(err, Err(Error::UnsupportedVersion { major: 1 }));
        // Our version octet went out, the rest of our greeting never does.
        assert_eq!(ex.take_output().len(), SIGNATURE_LEN + 1);
    }

    #[test]
    fn does_not_consume_past_the_greeting() {
        let mut input = plain_server().encode().to_vec();
        input.extend_from_slice(b"frames");
        let mut ex = GreetingExchange::new(&plain_server());
        let (n, g) = ex.receive(&input).expect("valid greeting");
        assert_eq!(n, GREETING_LEN);
        assert!(g.is_some());
    }
}
