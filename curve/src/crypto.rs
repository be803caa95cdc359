//! NaCl boxes as CurveZMQ lays them out, and the nonces that go with them.
//!
//! A box on the wire is the 16-octet Poly1305 tag followed by the XSalsa20 ciphertext
//! (NaCl's `crypto_box` output without its 16 leading zero octets). The same layout
//! serves `crypto_box` (a key agreed by X25519) and `crypto_secretbox` (the cookie key).

use alloc::boxed::Box;
use alloc::vec::Vec;
use crypto_box::SalsaBox;
use crypto_box::aead::AeadInPlace;
use crypto_box::aead::generic_array::GenericArray;
use crypto_secretbox::XSalsa20Poly1305;
use crypto_secretbox::aead::KeyInit;
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::key::{PublicKey, SecretKey};

/// The Poly1305 tag that starts every box.
pub(crate) const TAG_LEN: usize = 16;

/// A full 24-octet nonce.
pub(crate) type Nonce = [u8; 24];

pub(crate) const HELLO_PREFIX: &[u8; 16] = b"CurveZMQHELLO---";
pub(crate) const WELCOME_PREFIX: &[u8; 8] = b"WELCOME-";
pub(crate) const COOKIE_PREFIX: &[u8; 8] = b"COOKIE--";
pub(crate) const INITIATE_PREFIX: &[u8; 16] = b"CurveZMQINITIATE";
pub(crate) const VOUCH_PREFIX: &[u8; 8] = b"VOUCH---";
pub(crate) const READY_PREFIX: &[u8; 16] = b"CurveZMQREADY---";
pub(crate) const MESSAGE_FROM_CLIENT: &[u8; 16] = b"CurveZMQMESSAGEC";
pub(crate) const MESSAGE_FROM_SERVER: &[u8; 16] = b"CurveZMQMESSAGES";

/// The random numbers a mechanism draws on: transient keys, long nonces, cookie keys.
pub(crate) type Rng = Box<dyn CryptoRngCore + Send>;

/// The operating system's random numbers.
#[cfg(feature = "getrandom")]
pub(crate) fn os_rng() -> Rng {
    Box::new(rand_core::OsRng)
}

/// A nonce of a 16-octet prefix and an 8-octet big-endian counter (a short nonce).
pub(crate) fn short_nonce(prefix: &[u8; 16], counter: u64) -> Nonce {
    let mut nonce = [0; 24];
    nonce[..16].copy_from_slice(prefix);
    nonce[16..].copy_from_slice(&counter.to_be_bytes());
    nonce
}

/// A nonce of an 8-octet prefix and 16 random octets (a long nonce).
pub(crate) fn long_nonce(prefix: &[u8; 8], random: &[u8; 16]) -> Nonce {
    let mut nonce = [0; 24];
    nonce[..8].copy_from_slice(prefix);
    nonce[8..].copy_from_slice(random);
    nonce
}

/// 16 random octets for a long nonce.
pub(crate) fn random_16(rng: &mut Rng) -> [u8; 16] {
    let mut out = [0; 16];
    rng.fill_bytes(&mut out);
    out
}

/// The key two parties share: `crypto_box_beforenm`, or a secretbox key.
pub(crate) struct BoxKey(Cipher);

enum Cipher {
    Public(SalsaBox),
    Secret(XSalsa20Poly1305),
}

impl BoxKey {
    /// The key `secret`'s owner shares with `public`'s owner.
    pub(crate) fn agree(public: &PublicKey, secret: &SecretKey) -> BoxKey {
        BoxKey(Cipher::Public(SalsaBox::new(
            &public.to_box_key(),
            &secret.to_box_key(),
        )))
    }

    /// A symmetric key (the cookie key).
    pub(crate) fn symmetric(key: &[u8; 32]) -> BoxKey {
        BoxKey(Cipher::Secret(XSalsa20Poly1305::new(key.into())))
    }

    /// Appends the box of `plaintext` (tag, then ciphertext) to `out`.
    pub(crate) fn seal_into(&self, nonce: &Nonce, plaintext: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[0; TAG_LEN]);
        out.extend_from_slice(plaintext);
        let (tag, ciphertext) = out[start..].split_at_mut(TAG_LEN);
        tag.copy_from_slice(&self.seal_in_place(nonce, ciphertext));
    }

    /// Encrypts `buffer` in place; returns the tag that goes before it.
    pub(crate) fn seal_in_place(&self, nonce: &Nonce, buffer: &mut [u8]) -> [u8; TAG_LEN] {
        let nonce = GenericArray::from_slice(nonce);
        let tag = match &self.0 {
            Cipher::Public(c) => c.encrypt_in_place_detached(nonce, b"", buffer),
            Cipher::Secret(c) => c.encrypt_in_place_detached(nonce, b"", buffer),
        };
        // Encryption fails only for associated data, which boxes never have.
        tag.expect("a box has no associated data").into()
    }

    /// Opens a box (tag, then ciphertext); `None` if it is too short or does not
    /// authenticate. The plaintext is zeroized when dropped.
    pub(crate) fn open(&self, nonce: &Nonce, boxed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let (tag, ciphertext) = boxed.split_at_checked(TAG_LEN)?;
        let mut plaintext = Zeroizing::new(ciphertext.to_vec());
        self.open_in_place(nonce, tag, &mut plaintext)
            .then_some(plaintext)
    }

    /// Decrypts `buffer` in place if `tag` authenticates it; whether it did.
    pub(crate) fn open_in_place(&self, nonce: &Nonce, tag: &[u8], buffer: &mut [u8]) -> bool {
        let nonce = GenericArray::from_slice(nonce);
        let tag = GenericArray::from_slice(tag);
        match &self.0 {
            Cipher::Public(c) => c.decrypt_in_place_detached(nonce, b"", buffer, tag),
            Cipher::Secret(c) => c.decrypt_in_place_detached(nonce, b"", buffer, tag),
        }
        .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_layout_is_tag_then_ciphertext() {
        // The crypto_secretbox test vector of "Cryptography in NaCl" (section 9), whose
        // box there starts with 16 zero octets that the wire leaves out.
        let key: [u8; 32] = [
            0x1b, 0x27, 0x55, 0x64, 0x73, 0xe9, 0x85, 0xd4, 0x62, 0xcd, 0x51, 0x19, 0x7a, 0x9a,
            0x46, 0xc7, 0x60, 0x09, 0x54, 0x9e, 0xac, 0x64, 0x74, 0xf2, 0x06, 0xc4, 0xee, 0x08,
            0x44, 0xf6, 0x83, 0x89,
        ];
        let nonce: Nonce = [
            0x69, 0x69, 0x6e, 0xe9, 0x55, 0xb6, 0x2b, 0x73, 0xcd, 0x62, 0xbd, 0xa8, 0x75, 0xfc,
            0x73, 0xd6, 0x82, 0x19, 0xe0, 0x03, 0x6b, 0x7a, 0x0b, 0x37,
        ];
        let message: [u8; 131] = [
            0xbe, 0x07, 0x5f, 0xc5, 0x3c, 0x81, 0xf2, 0xd5, 0xcf, 0x14, 0x13, 0x16, 0xeb, 0xeb,
            0x0c, 0x7b, 0x52, 0x28, 0xc5, 0x2a, 0x4c, 0x62, 0xcb, 0xd4, 0x4b, 0x66, 0x84, 0x9b,
            0x64, 0x24, 0x4f, 0xfc, 0xe5, 0xec, 0xba, 0xaf, 0x33, 0xbd, 0x75, 0x1a, 0x1a, 0xc7,
            0x28, 0xd4, 0x5e, 0x6c, 0x61, 0x29, 0x6c, 0xdc, 0x3c, 0x01, 0x23, 0x35, 0x61, 0xf4,
            0x1d, 0xb6, 0x6c, 0xce, 0x31, 0x4a, 0xdb, 0x31, 0x0e, 0x3b, 0xe8, 0x25, 0x0c, 0x46,
            0xf0, 0x6d, 0xce, 0xea, 0x3a, 0x7f, 0xa1, 0x34, 0x80, 0x57, 0xe2, 0xf6, 0x55, 0x6a,
            0xd6, 0xb1, 0x31, 0x8a, 0x02, 0x4a, 0x83, 0x8f, 0x21, 0xaf, 0x1f, 0xde, 0x04, 0x89,
            0x77, 0xeb, 0x48, 0xf5, 0x9f, 0xfd, 0x49, 0x24, 0xca, 0x1c, 0x60, 0x90, 0x2e, 0x52,
            0xf0, 0xa0, 0x89, 0xbc, 0x76, 0x89, 0x70, 0x40, 0xe0, 0x82, 0xf9, 0x37, 0x76, 0x38,
            0x48, 0x64, 0x5e, 0x07, 0x05,
        ];
        let expected: [u8; 147] = [
            0xf3, 0xff, 0xc7, 0x70, 0x3f, 0x94, 0x00, 0xe5, 0x2a, 0x7d, 0xfb, 0x4b, 0x3d, 0x33,
            0x05, 0xd9, 0x8e, 0x99, 0x3b, 0x9f, 0x48, 0x68, 0x12, 0x73, 0xc2, 0x96, 0x50, 0xba,
            0x32, 0xfc, 0x76, 0xce, 0x48, 0x33, 0x2e, 0xa7, 0x16, 0x4d, 0x96, 0xa4, 0x47, 0x6f,
            0xb8, 0xc5, 0x31, 0xa1, 0x18, 0x6a, 0xc0, 0xdf, 0xc1, 0x7c, 0x98, 0xdc, 0xe8, 0x7b,
            0x4d, 0xa7, 0xf0, 0x11, 0xec, 0x48, 0xc9, 0x72, 0x71, 0xd2, 0xc2, 0x0f, 0x9b, 0x92,
            0x8f, 0xe2, 0x27, 0x0d, 0x6f, 0xb8, 0x63, 0xd5, 0x17, 0x38, 0xb4, 0x8e, 0xee, 0xe3,
            0x14, 0xa7, 0xcc, 0x8a, 0xb9, 0x32, 0x16, 0x45, 0x48, 0xe5, 0x26, 0xae, 0x90, 0x22,
            0x43, 0x68, 0x51, 0x7a, 0xcf, 0xea, 0xbd, 0x6b, 0xb3, 0x73, 0x2b, 0xc0, 0xe9, 0xda,
            0x99, 0x83, 0x2b, 0x61, 0xca, 0x01, 0xb6, 0xde, 0x56, 0x24, 0x4a, 0x9e, 0x88, 0xd5,
            0xf9, 0xb3, 0x79, 0x73, 0xf6, 0x22, 0xa4, 0x3d, 0x14, 0xa6, 0x59, 0x9b, 0x1f, 0x65,
            0x4c, 0xb4, 0x5a, 0x74, 0xe3, 0x55, 0xa5,
        ];
        let mut boxed = Vec::new();
        BoxKey::symmetric(&key).seal_into(&nonce, &message, &mut boxed);
        assert_eq!(boxed, expected);
        let opened = BoxKey::symmetric(&key).open(&nonce, &boxed).expect("opens");
        assert_eq!(&opened[..], &message);
    }

    #[test]
    fn tampered_boxes_do_not_open() {
        let key = BoxKey::symmetric(&[7; 32]);
        let nonce = short_nonce(READY_PREFIX, 1);
        let mut boxed = Vec::new();
        key.seal_into(&nonce, b"metadata", &mut boxed);
        for i in 0..boxed.len() {
            let mut bad = boxed.clone();
            bad[i] ^= 1;
            assert!(key.open(&nonce, &bad).is_none(), "flip at {i}");
        }
        assert!(key.open(&short_nonce(READY_PREFIX, 2), &boxed).is_none());
        assert!(key.open(&nonce, &boxed[..TAG_LEN - 1]).is_none());
    }

    #[test]
    fn both_sides_agree_on_the_box_key() {
        let a = crate::KeyPair::generate_with(&mut rand_core::OsRng);
        let b = crate::KeyPair::generate_with(&mut rand_core::OsRng);
        let nonce = short_nonce(MESSAGE_FROM_CLIENT, 3);
        let mut boxed = Vec::new();
        BoxKey::agree(b.public(), a.secret()).seal_into(&nonce, b"hi", &mut boxed);
        let opened = BoxKey::agree(a.public(), b.secret()).open(&nonce, &boxed);
        assert_eq!(opened.as_deref().map(|v| &v[..]), Some(&b"hi"[..]));
    }
}
