//! Time as the caller measures it.
//!
//! The codec has no clock: every call that depends on time takes the current
//! [`Instant`] from the caller, and [`Connection::poll_timeout`] hands back the next
//! instant at which it wants to be called again.
//!
//! [`Connection::poll_timeout`]: crate::Connection::poll_timeout

use core::ops::Add;
use core::time::Duration;

/// A point in time: how long after an origin of the caller's choosing it is.
///
/// An engine on std typically takes its origin when it starts and converts with
/// `Instant::from_elapsed(std_now - origin)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(Duration);

impl Instant {
    /// The caller's origin.
    pub const ZERO: Instant = Instant(Duration::ZERO);

    /// The instant that lies `elapsed` after the caller's origin.
    pub const fn from_elapsed(elapsed: Duration) -> Self {
        Instant(elapsed)
    }

    /// How long after the caller's origin this instant lies.
    pub const fn elapsed(self) -> Duration {
        self.0
    }

    /// How long after `earlier` this instant lies, or zero if it lies before it.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// Saturates at the largest representable instant instead of overflowing: a
    /// deadline that far away never fires, which is what a huge interval means.
    fn add(self, rhs: Duration) -> Instant {
        Instant(self.0.saturating_add(rhs))
    }
}
