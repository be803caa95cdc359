//! The proxy's counters, as `zmq_proxy_steerable`'s STATISTICS reports them.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// What one side of the proxy (frontend or backend) received and sent.
///
/// As in libzmq 4.3.5, each frame of a multipart message counts as one message,
/// and bytes are the frames' payload octets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SideStatistics {
    /// Frames received on this side.
    pub messages_in: u64,
    /// Payload bytes received on this side.
    pub bytes_in: u64,
    /// Frames sent on this side.
    pub messages_out: u64,
    /// Payload bytes sent on this side.
    pub bytes_out: u64,
}

/// The proxy's counters since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Statistics {
    /// The frontend's traffic.
    pub frontend: SideStatistics,
    /// The backend's traffic.
    pub backend: SideStatistics,
    /// Messages the capture socket could not take (it was at its high-water mark)
    /// and that were therefore not copied to it. The data path never waits for it.
    pub capture_dropped: u64,
}

impl Statistics {
    /// The eight values of libzmq's STATISTICS reply, in its order: frontend
    /// messages in, bytes in, messages out, bytes out, then the same for the
    /// backend.
    pub fn to_frames(&self) -> [u64; 8] {
        let (f, b) = (&self.frontend, &self.backend);
        [
            f.messages_in,
            f.bytes_in,
            f.messages_out,
            f.bytes_out,
            b.messages_in,
            b.bytes_in,
            b.messages_out,
            b.bytes_out,
        ]
    }

    /// The inverse of [`to_frames`](Statistics::to_frames); `capture_dropped` is 0.
    fn from_values(v: [u64; 8]) -> Statistics {
        let side = |v: &[u64]| SideStatistics {
            messages_in: v[0],
            bytes_in: v[1],
            messages_out: v[2],
            bytes_out: v[3],
        };
        Statistics {
            frontend: side(&v[..4]),
            backend: side(&v[4..]),
            capture_dropped: 0,
        }
    }

    /// Reads a STATISTICS reply: eight frames of eight bytes each, native byte
    /// order. `None` if the reply has another shape.
    pub fn from_reply<F: AsRef<[u8]>>(frames: &[F]) -> Option<Statistics> {
        if frames.len() != 8 {
            return None;
        }
        let mut values = [0u64; 8];
        for (value, frame) in values.iter_mut().zip(frames) {
            *value = u64::from_ne_bytes(frame.as_ref().try_into().ok()?);
        }
        Some(Statistics::from_values(values))
    }
}

/// Counters the proxy publishes for its [`ProxyHandle`](super::ProxyHandle)s, updated
/// once per batch.
#[derive(Default)]
pub(super) struct Published {
    values: [AtomicU64; 9],
}

impl Published {
    pub(super) fn store(&self, statistics: &Statistics) {
        let frames = statistics.to_frames();
        for (slot, value) in self.values.iter().zip(frames) {
            slot.store(value, Ordering::Relaxed);
        }
        self.values[8].store(statistics.capture_dropped, Ordering::Relaxed);
    }

    pub(super) fn load(&self) -> Statistics {
        let [values @ .., capture_dropped] =
            self.values.each_ref().map(|v| v.load(Ordering::Relaxed));
        Statistics {
            capture_dropped,
            ..Statistics::from_values(values)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_in_libzmq_order_and_read_back() {
        let statistics = Statistics {
            frontend: SideStatistics {
                messages_in: 1,
                bytes_in: 2,
                messages_out: 3,
                bytes_out: 4,
            },
            backend: SideStatistics {
                messages_in: 5,
                bytes_in: 6,
                messages_out: 7,
                bytes_out: 8,
            },
            capture_dropped: 0,
        };
        assert_eq!(statistics.to_frames(), [1, 2, 3, 4, 5, 6, 7, 8]);
        let frames: Vec<[u8; 8]> = statistics
            .to_frames()
            .iter()
            .map(|v| v.to_ne_bytes())
            .collect();
        assert_eq!(Statistics::from_reply(&frames), Some(statistics));
        assert_eq!(Statistics::from_reply(&frames[..7]), None);
        assert_eq!(Statistics::from_reply(&[[0u8; 4]; 8]), None);
    }

    #[test]
    fn published_counters_read_back() {
        let published = Published::default();
        let statistics = Statistics {
            capture_dropped: 9,
            ..Statistics::default()
        };
        published.store(&statistics);
        assert_eq!(published.load(), statistics);
    }
}
