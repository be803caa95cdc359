//! Request identifiers: 16 random bytes, written as 32 hexadecimal characters.
//!
//! RFC 9 only asks for 32 hexadecimal characters. We generate them from 16 random
//! bytes (no version or variant bits: nobody parses them as RFC 4122 UUIDs) and print
//! them in lowercase; parsing accepts either case, as the guide's C server prints
//! uppercase.

use std::fmt;
use std::str::FromStr;

/// The identifier Titanic gives an accepted request.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uuid([u8; 16]);

/// Why a frame is not a Titanic UUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UuidError {
    /// The frame does not have the 32 characters RFC 9 prescribes.
    #[error("a Titanic UUID has 32 hexadecimal characters, this one has {0} bytes")]
    Length(usize),
    /// The frame has a byte that is not a hexadecimal digit.
    #[error(
        "a Titanic UUID has only hexadecimal digits (0-9, a-f, A-F); byte {position} is 0x{byte:02x}"
    )]
    NotHex {
        /// Where the offending byte is, from 0.
        position: usize,
        /// The offending byte.
        byte: u8,
    },
}

impl Uuid {
    /// A fresh identifier from 16 random bytes.
    pub fn random() -> Uuid {
        Uuid(rand::random())
    }

    /// The identifier with these bytes.
    pub fn from_bytes(bytes: [u8; 16]) -> Uuid {
        Uuid(bytes)
    }

    /// The 16 bytes (the store's key).
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Reads 32 hexadecimal characters in either case, as a client sends them.
    pub fn parse(text: &[u8]) -> Result<Uuid, UuidError> {
        if text.len() != 32 {
            return Err(UuidError::Length(text.len()));
        }
        let mut bytes = [0u8; 16];
        for (i, pair) in text.chunks_exact(2).enumerate() {
            let high = hex_value(pair[0]).ok_or(UuidError::NotHex {
                position: 2 * i,
                byte: pair[0],
            })?;
            let low = hex_value(pair[1]).ok_or(UuidError::NotHex {
                position: 2 * i + 1,
                byte: pair[1],
            })?;
            bytes[i] = high << 4 | low;
        }
        Ok(Uuid(bytes))
    }

    /// The 32 lowercase hexadecimal characters, as Titanic replies with them.
    pub fn to_hex(&self) -> [u8; 32] {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut text = [0u8; 32];
        for (i, byte) in self.0.iter().enumerate() {
            text[2 * i] = DIGITS[usize::from(byte >> 4)];
            text[2 * i + 1] = DIGITS[usize::from(byte & 0x0f)];
        }
        text
    }
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in &self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uuid({self})")
    }
}

impl FromStr for Uuid {
    type Err = UuidError;

    fn from_str(s: &str) -> Result<Uuid, UuidError> {
        Uuid::parse(s.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_32_lowercase_hex_digits_and_reads_them_back() {
        let uuid = Uuid::from_bytes([
            0x00, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76,
            0x54, 0x10,
        ]);
        assert_eq!(uuid.to_string(), "000123456789abcdeffedcba98765410");
        assert_eq!(&uuid.to_hex(), b"000123456789abcdeffedcba98765410");
        assert_eq!(Uuid::parse(&uuid.to_hex()), Ok(uuid));
    }

    #[test]
    fn parses_either_case() {
        let lower: Uuid = "0a1b2c3d4e5f60718293a4b5c6d7e8f9".parse().unwrap();
        let upper: Uuid = "0A1B2C3D4E5F60718293A4B5C6D7E8F9".parse().unwrap();
        let mixed: Uuid = "0a1B2c3D4e5F60718293a4B5c6D7e8F9".parse().unwrap();
        assert_eq!(lower, upper);
        assert_eq!(lower, mixed);
    }

    #[test]
    fn rejects_wrong_lengths() {
        assert_eq!(Uuid::parse(b""), Err(UuidError::Length(0)));
        assert_eq!(Uuid::parse(&[b'a'; 31]), Err(UuidError::Length(31)));
        assert_eq!(Uuid::parse(&[b'a'; 33]), Err(UuidError::Length(33)));
        // An RFC 4122 text form with dashes is not what RFC 9 prescribes.
        assert_eq!(
            Uuid::parse(b"0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"),
            Err(UuidError::Length(36))
        );
    }

    #[test]
    fn rejects_non_hex_characters() {
        let mut text = *b"0a1b2c3d4e5f60718293a4b5c6d7e8f9";
        text[7] = b'g';
        assert_eq!(
            Uuid::parse(&text),
            Err(UuidError::NotHex {
                position: 7,
                byte: b'g'
            })
        );
        text[7] = b' ';
        assert!(Uuid::parse(&text).is_err());
        text[7] = 0xc3;
        assert!(Uuid::parse(&text).is_err());
    }

    #[test]
    fn random_identifiers_differ() {
        assert_ne!(Uuid::random(), Uuid::random());
    }
}
