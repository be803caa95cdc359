//! What the broker counts: per service, in total, and for the protocol as a whole.
//!
//! Counters only grow; gauges (`queued`, `workers`) say how things are now. A
//! service appears in [`Stats::services`] while the broker holds an entry for it
//! (it has a worker or a queued request); [`Stats::totals`] adds up every service,
//! those gone included, and the requests and replies that never belonged to one
//! (MMI, rejected requests for unknown services).

use std::collections::BTreeMap;
use std::fmt;

use bytes::Bytes;

/// The counters of one service (or of all, in [`Stats::totals`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServiceStats {
    /// Client requests accepted for the service (queued or sent to a worker).
    pub requests: u64,
    /// Final replies forwarded to clients.
    pub replies: u64,
    /// MDP/0.2 PARTIAL replies forwarded to clients.
    pub partials: u64,
    /// PARTIAL replies dropped because their client speaks MDP/0.1, which has none.
    pub partials_dropped: u64,
    /// Requests waiting for a worker now (a gauge).
    pub queued: u64,
    /// Queued requests dropped when they had waited `request_ttl`.
    pub expired: u64,
    /// Requests dropped because the queue was full (`max_queue`).
    pub dropped: u64,
    /// Requests and replies the policy rejected.
    pub rejected: u64,
    /// Requests and replies the policy discarded.
    pub discarded: u64,
    /// Workers registered now (a gauge).
    pub workers: u64,
    /// Workers that went away (expired, left, disconnected) with a request in hand.
    pub workers_lost: u64,
    /// Requests put back at the front of the queue after their worker went away.
    pub requeued: u64,
    /// Requests lost with their worker, because part of the reply had gone to the
    /// client already (so it could not be sent again).
    pub lost: u64,
}

impl ServiceStats {
    /// Adds `other`'s counters and gauges to these.
    pub fn add(&mut self, other: &ServiceStats) {
        self.requests += other.requests;
        self.replies += other.replies;
        self.partials += other.partials;
        self.partials_dropped += other.partials_dropped;
        self.queued += other.queued;
        self.expired += other.expired;
        self.dropped += other.dropped;
        self.rejected += other.rejected;
        self.discarded += other.discarded;
        self.workers += other.workers;
        self.workers_lost += other.workers_lost;
        self.requeued += other.requeued;
        self.lost += other.lost;
    }
}

/// A snapshot of the broker's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Every service the broker holds an entry for now, by name.
    pub services: BTreeMap<Bytes, ServiceStats>,
    /// All services together, since the start (gauges: now).
    pub totals: ServiceStats,
    /// `mmi.*` requests answered by the broker.
    pub mmi: u64,
    /// Messages dropped because they were not valid MDP.
    pub malformed: u64,
    /// DISCONNECT commands sent to workers.
    pub disconnects_sent: u64,
    /// Workers removed because nothing came from them for `heartbeat × liveness`.
    pub workers_expired: u64,
}

impl Stats {
    /// The counters of one service, if the broker holds an entry for it.
    pub fn service(&self, name: &[u8]) -> Option<&ServiceStats> {
        self.services.get(name)
    }

    /// The one-line summary `--stats-every` prints.
    pub fn summary(&self) -> Summary<'_> {
        Summary(self)
    }
}

/// One line: the totals, then each service's gauges and main counters.
///
/// `services 2 workers 3 queued 0 requests 10 replies 10 partials 0 expired 0
/// dropped 0 rejected 0 lost 0 malformed 0 disconnects 0 | echo: workers 2 queued 0
/// requests 8 replies 8 | ...`
#[derive(Debug, Clone, Copy)]
pub struct Summary<'a>(&'a Stats);

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stats = self.0;
        let t = &stats.totals;
        write!(
            f,
            "services {} workers {} queued {} requests {} replies {} partials {} expired {} dropped {} rejected {} lost {} malformed {} disconnects {}",
            stats.services.len(),
            t.workers,
            t.queued,
            t.requests,
            t.replies,
            t.partials,
            t.expired,
            t.dropped,
            t.rejected,
            t.lost,
            stats.malformed,
            stats.disconnects_sent,
        )?;
        for (name, s) in &stats.services {
            write!(
                f,
                " | {}: workers {} queued {} requests {} replies {}",
                String::from_utf8_lossy(name),
                s.workers,
                s.queued,
                s.requests,
                s.replies
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_each_counter() {
        let mut stats = Stats::default();
        let echo = ServiceStats {
            requests: 3,
            replies: 2,
            queued: 1,
            workers: 1,
            ..ServiceStats::default()
        };
        stats.services.insert(Bytes::from_static(b"echo"), echo);
        stats.totals.add(&echo);
        stats.malformed = 4;
        assert_eq!(
            stats.summary().to_string(),
            "services 1 workers 1 queued 1 requests 3 replies 2 partials 0 expired 0 dropped 0 \
             rejected 0 lost 0 malformed 4 disconnects 0 | echo: workers 1 queued 1 requests 3 replies 2"
        );
    }
}
