//! CURVE keys: X25519 public and secret keys, 32 octets, printed in Z85.

use alloc::string::String;
use core::fmt;
use core::str::FromStr;
use rand_core::CryptoRngCore;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::KeyError;
use crate::z85;

/// The length of a key in octets.
pub const KEY_LEN: usize = 32;
/// The length of a key in Z85 characters.
pub const Z85_KEY_LEN: usize = 40;

/// A CURVE public key. Prints (`Display`, `Debug`) as Z85.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublicKey([u8; KEY_LEN]);

impl PublicKey {
    /// The key with these octets.
    pub const fn from_bytes(bytes: [u8; KEY_LEN]) -> PublicKey {
        PublicKey(bytes)
    }

    /// Reads a key from its 40 Z85 characters.
    pub fn from_z85(text: &str) -> Result<PublicKey, KeyError> {
        let mut bytes = [0; KEY_LEN];
        decode_key(text, &mut bytes)?;
        Ok(PublicKey(bytes))
    }

    /// The key's octets.
    pub const fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// The key as 40 Z85 characters.
    pub fn to_z85(&self) -> String {
        encode_key(&self.0)
    }

    pub(crate) fn to_box_key(self) -> crypto_box::PublicKey {
        crypto_box::PublicKey::from_bytes(self.0)
    }
}

impl TryFrom<&[u8]> for PublicKey {
    type Error = KeyError;

    /// Reads a key from its 32 octets (a ZAP request's CURVE credentials, say).
    fn try_from(bytes: &[u8]) -> Result<PublicKey, KeyError> {
        let bytes: [u8; KEY_LEN] = bytes
            .try_into()
            .map_err(|_| KeyError::Length { len: bytes.len() })?;
        Ok(PublicKey(bytes))
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;

    fn from_str(text: &str) -> Result<PublicKey, KeyError> {
        PublicKey::from_z85(text)
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_z85())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

/// A CURVE secret key. Its octets are zeroized when it is dropped, and `Debug` does
/// not print them.
#[derive(Clone)]
pub struct SecretKey([u8; KEY_LEN]);

impl SecretKey {
    /// The key with these octets.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> SecretKey {
        SecretKey(bytes)
    }

    /// A fresh random key.
    pub fn generate_with(rng: &mut dyn CryptoRngCore) -> SecretKey {
        let mut key = SecretKey([0; KEY_LEN]);
        rng.fill_bytes(&mut key.0);
        key
    }

    /// Reads a key from its 40 Z85 characters.
    pub fn from_z85(text: &str) -> Result<SecretKey, KeyError> {
        let mut key = SecretKey([0; KEY_LEN]);
        decode_key(text, &mut key.0)?;
        Ok(key)
    }

    /// The key's octets.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// The key as 40 Z85 characters, zeroized when dropped.
    pub fn to_z85(&self) -> Zeroizing<String> {
        Zeroizing::new(encode_key(&self.0))
    }

    /// The public key that goes with this secret key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.to_box_key().public_key().to_bytes())
    }

    /// The key for `crypto_box`, which zeroizes its own copy.
    pub(crate) fn to_box_key(&self) -> crypto_box::SecretKey {
        crypto_box::SecretKey::from_bytes(self.0)
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl ZeroizeOnDrop for SecretKey {}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

/// A public key and its secret key: a socket's long-term identity, or a connection's
/// transient keys.
#[derive(Clone, Debug)]
pub struct KeyPair {
    public: PublicKey,
    secret: SecretKey,
}

impl KeyPair {
    /// A fresh key pair from the operating system's random numbers.
    #[cfg(feature = "getrandom")]
    pub fn generate() -> KeyPair {
        KeyPair::generate_with(&mut rand_core::OsRng)
    }

    /// A fresh key pair from `rng`.
    pub fn generate_with(rng: &mut dyn CryptoRngCore) -> KeyPair {
        KeyPair::from_secret(SecretKey::generate_with(rng))
    }

    /// The pair of `secret` and its public key.
    pub fn from_secret(secret: SecretKey) -> KeyPair {
        KeyPair {
            public: secret.public_key(),
            secret,
        }
    }

    /// The public key.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// The secret key.
    pub fn secret(&self) -> &SecretKey {
        &self.secret
    }
}

fn decode_key(text: &str, out: &mut [u8; KEY_LEN]) -> Result<(), KeyError> {
    if text.len() != Z85_KEY_LEN {
        return Err(KeyError::Z85Length { len: text.len() });
    }
    z85::decode_into(text.as_bytes(), out)?;
    Ok(())
}

fn encode_key(key: &[u8; KEY_LEN]) -> String {
    match z85::encode(key) {
        Ok(text) => text,
        // 32 is a multiple of 4.
        Err(_) => unreachable!("a key is whole Z85 groups"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn generate() -> KeyPair {
        KeyPair::generate_with(&mut rand_core::OsRng)
    }

    // The example keys of libzmq's zmq_curve(7) and its tests.
    const CLIENT_PUBLIC: &str = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
    const CLIENT_SECRET: &str = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";
    const SERVER_PUBLIC: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    const SERVER_SECRET: &str = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";

    #[test]
    fn public_key_from_secret_matches_libzmq() {
        for (public, secret) in [
            (CLIENT_PUBLIC, CLIENT_SECRET),
            (SERVER_PUBLIC, SERVER_SECRET),
        ] {
            let secret = SecretKey::from_z85(secret).expect("valid");
            assert_eq!(secret.public_key().to_z85(), public);
        }
    }

    #[test]
    fn z85_round_trip() {
        let key = PublicKey::from_z85(SERVER_PUBLIC).expect("valid");
        assert_eq!(key.to_string(), SERVER_PUBLIC);
        assert_eq!(key.to_z85().parse::<PublicKey>(), Ok(key));
        let secret = SecretKey::from_z85(SERVER_SECRET).expect("valid");
        assert_eq!(&**secret.to_z85(), SERVER_SECRET);
    }

    #[test]
    fn wrong_lengths_are_refused() {
        assert_eq!(
            PublicKey::from_z85("HelloWorld"),
            Err(KeyError::Z85Length { len: 10 })
        );
        assert_eq!(
            PublicKey::try_from(&[0u8; 31][..]),
            Err(KeyError::Length { len: 31 })
        );
        assert!(matches!(
            SecretKey::from_z85(&SERVER_SECRET.replace('J', " ")),
            Err(KeyError::Z85(_))
        ));
    }

    #[test]
    fn secret_key_debug_hides_the_key() {
        let pair = generate();
        let printed = alloc::format!("{pair:?}");
        assert!(!printed.contains(&**pair.secret().to_z85()));
        assert!(printed.contains(&pair.public().to_z85()));
    }

    #[test]
    fn generated_pairs_differ_and_match() {
        let (a, b) = (generate(), generate());
        assert_ne!(a.public(), b.public());
        assert_eq!(a.secret().public_key(), *a.public());
    }
}
