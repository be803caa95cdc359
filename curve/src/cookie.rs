//! Cookie keys: what a CURVE server seals its cookies with.
//!
//! Between WELCOME and INITIATE a CurveZMQ server keeps no secret for the client: its
//! transient secret key travels inside the cookie, sealed under a cookie key, and
//! comes back with INITIATE. A [`CookieKeys`] source shared by all of a socket's
//! connections provides that key. [`CookieKeyring`] draws a fresh key every minute
//! and still opens cookies sealed under the one before, so a handshake that straddles
//! a rotation completes, while a cookie older than two lifetimes opens under no key.
//!
//! A server without a shared source draws a key of its own for each connection.

use zeroize::Zeroizing;

/// A 32-octet XSalsa20-Poly1305 key that is zeroized when dropped.
pub type CookieKey = Zeroizing<[u8; 32]>;

/// A source of cookie keys, shared by the connections of one server.
pub trait CookieKeys: Send + Sync {
    /// The key to seal a new cookie under.
    fn sealing_key(&self) -> CookieKey;

    /// The keys a cookie sealed recently may have been sealed under, newest first.
    fn opening_keys(&self) -> [Option<CookieKey>; 2];
}

#[cfg(feature = "std")]
pub use ring::CookieKeyring;

#[cfg(feature = "std")]
mod ring {
    use std::boxed::Box;
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    use super::{CookieKey, CookieKeys};

    /// Cookie keys that rotate: a fresh key every [`LIFETIME`](Self::LIFETIME), the
    /// previous one kept for one more lifetime to open cookies sealed under it.
    pub struct CookieKeyring {
        lifetime: Duration,
        inner: Mutex<Ring>,
    }

    struct Ring {
        rng: Box<dyn rand_core::CryptoRngCore + Send>,
        current: CookieKey,
        previous: Option<CookieKey>,
        drawn_at: Instant,
    }

    impl core::fmt::Debug for CookieKeyring {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.debug_struct("CookieKeyring")
                .field("lifetime", &self.lifetime)
                .finish_non_exhaustive()
        }
    }

    impl CookieKeyring {
        /// How long a key seals cookies: about a minute, as the CurveZMQ spec asks.
        pub const LIFETIME: Duration = Duration::from_secs(60);

        /// A keyring drawing keys from the operating system's random numbers.
        #[cfg(feature = "getrandom")]
        pub fn new() -> CookieKeyring {
            CookieKeyring::with_rng(crate::crypto::os_rng(), CookieKeyring::LIFETIME)
        }

        /// A keyring drawing keys from `rng`, each sealing cookies for `lifetime`.
        pub fn with_rng(
            mut rng: Box<dyn rand_core::CryptoRngCore + Send>,
            lifetime: Duration,
        ) -> CookieKeyring {
            let current = draw(&mut *rng);
            CookieKeyring {
                lifetime,
                inner: Mutex::new(Ring {
                    rng,
                    current,
                    previous: None,
                    drawn_at: Instant::now(),
                }),
            }
        }

        /// Draws a new key now: the current one becomes the previous one, and the
        /// previous one is forgotten.
        pub fn rotate(&self) {
            let mut ring = self.lock();
            ring.rotate(Instant::now());
        }

        /// The ring, rotated as far as the clock says it should be.
        fn lock(&self) -> std::sync::MutexGuard<'_, Ring> {
            let mut ring = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let age = now.saturating_duration_since(ring.drawn_at);
            if age >= self.lifetime.saturating_mul(2) {
                // Idle for two lifetimes: nothing sealed before may open any more.
                ring.rotate(now);
                ring.previous = None;
            } else if age >= self.lifetime {
                ring.rotate(now);
            }
            ring
        }
    }

    #[cfg(feature = "getrandom")]
    impl Default for CookieKeyring {
        fn default() -> CookieKeyring {
            CookieKeyring::new()
        }
    }

    impl Ring {
        fn rotate(&mut self, now: Instant) {
            let fresh = draw(&mut *self.rng);
            self.previous = Some(core::mem::replace(&mut self.current, fresh));
            self.drawn_at = now;
        }
    }

    fn draw(rng: &mut dyn rand_core::CryptoRngCore) -> CookieKey {
        let mut key = CookieKey::default();
        rng.fill_bytes(&mut key[..]);
        key
    }

    impl CookieKeys for CookieKeyring {
        fn sealing_key(&self) -> CookieKey {
            self.lock().current.clone()
        }

        fn opening_keys(&self) -> [Option<CookieKey>; 2] {
            let ring = self.lock();
            [Some(ring.current.clone()), ring.previous.clone()]
        }
    }
}
