//! Heartbeats (RFC 37): when to PING, and when a silent peer counts as dead.
//!
//! The rules are libzmq's: once the handshake is done a PING goes out every interval;
//! after each PING the peer has the timeout to send *anything*; and a PING from the
//! peer carrying a TTL gives it that long to send anything more. Any traffic from the
//! peer clears both deadlines.

use core::time::Duration;

use crate::command::Ping;
use crate::error::Error;
use crate::time::Instant;

/// Heartbeat settings, libzmq's HEARTBEAT_IVL, HEARTBEAT_TIMEOUT and HEARTBEAT_TTL.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeartbeatConfig {
    /// How often to PING; `None` sends no PINGs.
    pub interval: Option<Duration>,
    /// How long after a PING the peer may stay silent; `None` means the interval.
    pub timeout: Option<Duration>,
    /// The TTL our PINGs announce, in whole tenths of a second up to 6553.5 s.
    pub ttl: Option<Duration>,
}

impl HeartbeatConfig {
    /// The TTL field of our PINGs.
    pub fn ttl_deciseconds(&self) -> u16 {
        let ds = self.ttl.map_or(0, |ttl| ttl.as_millis() / 100);
        u16::try_from(ds).unwrap_or(u16::MAX)
    }
}

/// Heartbeat state of one connection.
#[derive(Clone, Debug, Default)]
pub(crate) struct Heartbeat {
    config: HeartbeatConfig,
    next_ping: Option<Instant>,
    /// Set when we PING; cleared by any traffic.
    timeout_at: Option<Instant>,
    /// Set when the peer's PING announces a TTL; cleared by any traffic.
    ttl: Option<(Instant, Duration)>,
}

impl Heartbeat {
    pub(crate) fn new(config: HeartbeatConfig) -> Heartbeat {
        Heartbeat {
            config,
            ..Heartbeat::default()
        }
    }

    /// The handshake completed: start the PING interval.
    pub(crate) fn start(&mut self, now: Instant) {
        self.next_ping = self.config.interval.map(|ivl| now + ivl);
    }

    /// Something arrived from the peer.
    pub(crate) fn on_traffic(&mut self) {
        self.timeout_at = None;
        self.ttl = None;
    }

    /// The peer sent a PING (after `on_traffic` for the same frame).
    pub(crate) fn on_ping(&mut self, ping: &Ping, now: Instant) {
        if ping.ttl_deciseconds > 0 && self.ttl.is_none() {
            let ttl = Duration::from_millis(u64::from(ping.ttl_deciseconds) * 100);
            self.ttl = Some((now + ttl, ttl));
        }
    }

    /// The earliest instant at which [`poll`](Self::poll) has something to do.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        [self.next_ping, self.timeout_at, self.ttl.map(|(at, _)| at)]
            .into_iter()
            .flatten()
            .min()
    }

    /// Checks the deadlines: fails if the peer is dead, returns a PING to send if one
    /// is due.
    pub(crate) fn poll(&mut self, now: Instant) -> Result<Option<Ping>, Error> {
        if let Some((at, ttl)) = self.ttl
            && now >= at
        {
            return Err(Error::TtlExpired { ttl });
        }
        if self.timeout_at.is_some_and(|at| now >= at) {
            let timeout = self.timeout();
            return Err(Error::HeartbeatTimeout { timeout });
        }
        match (self.next_ping, self.config.interval) {
            (Some(at), Some(ivl)) if now >= at => {
                self.next_ping = Some(now + ivl);
                if self.timeout_at.is_none() {
                    self.timeout_at = Some(now + self.timeout());
                }
                Ok(Some(Ping {
                    ttl_deciseconds: self.config.ttl_deciseconds(),
                    context: bytes::Bytes::new(),
                }))
            }
            _ => Ok(None),
        }
    }

    fn timeout(&self) -> Duration {
        self.config
            .timeout
            .or(self.config.interval)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Instant {
        Instant::from_elapsed(Duration::from_millis(ms))
    }

    fn every_100ms() -> Heartbeat {
        let mut hb = Heartbeat::new(HeartbeatConfig {
            interval: Some(Duration::from_millis(100)),
            timeout: Some(Duration::from_millis(250)),
            ttl: Some(Duration::from_millis(2000)),
        });
        hb.start(at(0));
        hb
    }

    #[test]
    fn pings_every_interval_with_ttl_in_deciseconds() {
        let mut hb = every_100ms();
        assert_eq!(hb.deadline(), Some(at(100)));
        assert_eq!(hb.poll(at(99)), Ok(None));
        let ping = hb.poll(at(100)).expect("alive").expect("due");
        assert_eq!(ping.ttl_deciseconds, 20);
        hb.on_traffic();
        assert!(hb.poll(at(200)).expect("alive").is_some());
    }

    #[test]
    fn silent_peer_dies_at_timeout_after_first_ping() {
        let mut hb = every_100ms();
        assert!(hb.poll(at(100)).expect("alive").is_some());
        assert!(hb.poll(at(200)).expect("alive").is_some());
        assert_eq!(hb.deadline(), Some(at(300)));
        assert!(hb.poll(at(300)).expect("alive").is_some());
        assert_eq!(
            hb.poll(at(350)),
            Err(Error::HeartbeatTimeout {
                timeout: Duration::from_millis(250)
            })
        );
    }

    #[test]
    fn peer_ttl_kills_a_silent_peer() {
        let mut hb = Heartbeat::new(HeartbeatConfig::default());
        hb.start(at(0));
        assert_eq!(hb.deadline(), None);
        let ping = Ping {
            ttl_deciseconds: 5,
            context: bytes::Bytes::new(),
        };
        hb.on_traffic();
        hb.on_ping(&ping, at(1000));
        assert_eq!(hb.deadline(), Some(at(1500)));
        assert!(hb.poll(at(1499)).is_ok());
        assert!(matches!(hb.poll(at(1500)), Err(Error::TtlExpired { .. })));
        hb.on_traffic();
        assert_eq!(hb.deadline(), None);
    }

    #[test]
    fn ttl_saturates_at_the_field_maximum() {
        let config = HeartbeatConfig {
            ttl: Some(Duration::from_secs(100_000)),
            ..HeartbeatConfig::default()
        };
        assert_eq!(config.ttl_deciseconds(), u16::MAX);
    }
}
