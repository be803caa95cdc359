//! Z85 (RFC 32): binary as printable text, four octets to five characters.
//!
//! This is how ZeroMQ prints CURVE keys: a 32-octet key is 40 characters.

use alloc::string::String;
use alloc::vec::Vec;

pub use crate::error::Z85Error;

const ALPHABET: &[u8; 85] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/// Each character's value, or 0xFF for characters outside the alphabet.
const DECODE: [u8; 256] = {
    let mut table = [0xFF; 256];
    let mut i = 0;
    while i < ALPHABET.len() {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Encodes `data`, whose length must be a multiple of 4.
pub fn encode(data: &[u8]) -> Result<String, Z85Error> {
    if !data.len().is_multiple_of(4) {
        return Err(Z85Error::DataLength { len: data.len() });
    }
    let mut out = String::with_capacity(data.len() / 4 * 5);
    for group in data.chunks_exact(4) {
        let mut value = u32::from_be_bytes([group[0], group[1], group[2], group[3]]);
        let mut chars = [0u8; 5];
        for c in chars.iter_mut().rev() {
            *c = ALPHABET[(value % 85) as usize];
            value /= 85;
        }
        out.extend(chars.iter().map(|&c| char::from(c)));
    }
    Ok(out)
}

/// Decodes Z85 text, whose length must be a multiple of 5.
pub fn decode(text: &str) -> Result<Vec<u8>, Z85Error> {
    let mut out = alloc::vec![0; decoded_len(text.len())?];
    decode_into(text.as_bytes(), &mut out)?;
    Ok(out)
}

/// The number of octets `len` characters of Z85 decode to.
fn decoded_len(len: usize) -> Result<usize, Z85Error> {
    if !len.is_multiple_of(5) {
        return Err(Z85Error::TextLength { len });
    }
    Ok(len / 5 * 4)
}

/// Decodes Z85 text into `out`, which must be exactly as long as the text decodes to
/// (keys decode straight into their array this way, with no copy left on the heap).
pub(crate) fn decode_into(text: &[u8], out: &mut [u8]) -> Result<(), Z85Error> {
    if decoded_len(text.len())? != out.len() {
        return Err(Z85Error::TextLength { len: text.len() });
    }
    for (index, (group, dst)) in text
        .chunks_exact(5)
        .zip(out.chunks_exact_mut(4))
        .enumerate()
    {
        let mut value: u64 = 0;
        for (offset, &byte) in group.iter().enumerate() {
            let digit = DECODE[usize::from(byte)];
            if digit == 0xFF {
                return Err(Z85Error::Character {
                    position: index * 5 + offset,
                    byte,
                });
            }
            value = value * 85 + u64::from(digit);
        }
        let value = u32::try_from(value).map_err(|_| Z85Error::Overflow {
            position: index * 5,
        })?;
        dst.copy_from_slice(&value.to_be_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_32_test_vector() {
        let data = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B];
        assert_eq!(encode(&data).as_deref(), Ok("HelloWorld"));
        assert_eq!(decode("HelloWorld"), Ok(data.to_vec()));
    }

    #[test]
    fn round_trips_every_octet_value() {
        let data: Vec<u8> = (0..=255).collect();
        let text = encode(&data).expect("256 is a multiple of 4");
        assert_eq!(text.len(), 320);
        assert_eq!(decode(&text), Ok(data));
    }

    #[test]
    fn extremes() {
        assert_eq!(encode(&[0; 4]).as_deref(), Ok("00000"));
        assert_eq!(encode(&[0xFF; 4]).as_deref(), Ok("%nSc0"));
        assert_eq!(decode("%nSc0"), Ok([0xFF; 4].to_vec()));
        assert_eq!(decode(""), Ok(Vec::new()));
    }

    #[test]
    fn lengths_must_be_whole_groups() {
        assert_eq!(encode(&[1, 2, 3]), Err(Z85Error::DataLength { len: 3 }));
        assert_eq!(decode("Hello1"), Err(Z85Error::TextLength { len: 6 }));
    }

    #[test]
    fn characters_outside_the_alphabet_are_refused() {
        assert_eq!(
            decode("Hel\"oWorld"),
            Err(Z85Error::Character {
                position: 3,
                byte: b'"'
            })
        );
        assert_eq!(
            decode("Hello Worl"),
            Err(Z85Error::Character {
                position: 5,
                byte: b' '
            })
        );
        assert_eq!(
            decode("Hellé1234"),
            Err(Z85Error::Character {
                position: 4,
                byte: 0xC3
            })
        );
    }

    #[test]
    fn values_above_32_bits_are_refused() {
        // "%nSc1" is 2^32: one past the largest group.
        assert_eq!(decode("%nSc1"), Err(Z85Error::Overflow { position: 0 }));
        assert_eq!(
            decode("00000#####"),
            Err(Z85Error::Overflow { position: 5 })
        );
    }
}
