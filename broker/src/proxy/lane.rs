//! One direction of a proxy: messages from one socket to the other, in batches.

use std::collections::VecDeque;

use purezmq::{Error, Message, Socket, TrySendError};

use super::{ProxyError, Role};

/// The most messages moved per batch, as libzmq's proxy burst.
pub(super) const BATCH: usize = 1000;

/// Frames and payload bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Count {
    pub(super) frames: u64,
    pub(super) bytes: u64,
}

impl Count {
    fn of(message: &Message) -> Count {
        Count {
            frames: message.len() as u64,
            bytes: message.size() as u64,
        }
    }

    fn add(&mut self, other: Count) {
        self.frames += other.frames;
        self.bytes += other.bytes;
    }

    fn sub(&mut self, other: Count) {
        self.frames -= other.frames;
        self.bytes -= other.bytes;
    }
}

/// Moves what `from` receives to `to`, copying each message to the capture socket
/// if there is one.
///
/// Back-pressure: messages that `to` cannot take yet (its peers are mute at their
/// HWM, for the socket types that wait) stay in `queue`, and nothing more is read
/// from `from` until they have gone. So the proxy holds at most one batch per
/// direction, whatever the peers do.
pub(super) struct Lane {
    from: Socket,
    from_role: Role,
    to: Socket,
    to_role: Role,
    /// Received, not yet sent.
    queue: VecDeque<Message>,
    /// What `queue` holds.
    queued: Count,
    /// Copies for the capture socket, reused batch after batch.
    copies: VecDeque<Message>,
    /// Everything received from `from`.
    pub(super) received: Count,
    /// Everything sent to `to`.
    pub(super) sent: Count,
    /// Messages the capture socket could not take.
    pub(super) capture_dropped: u64,
}

impl Lane {
    pub(super) fn new(from: (Socket, Role), to: (Socket, Role)) -> Lane {
        Lane {
            from: from.0,
            from_role: from.1,
            to: to.0,
            to_role: to.1,
            queue: VecDeque::with_capacity(BATCH),
            queued: Count::default(),
            copies: VecDeque::new(),
            received: Count::default(),
            sent: Count::default(),
            capture_dropped: 0,
        }
    }

    /// Moves one batch and returns how many messages it received. When messages are
    /// waiting for `to`, waits until some of them can go; otherwise waits for
    /// messages from `from`.
    ///
    /// Cancel-safe: every message is either still in its socket or in `queue`.
    pub(super) async fn step(&mut self, capture: Option<&Socket>) -> Result<usize, ProxyError> {
        if !self.queue.is_empty() {
            let outcome = self.to.send_batch(&mut self.queue).await;
            self.settle(outcome)?;
            return Ok(0);
        }
        let received = self
            .from
            .recv_batch(&mut self.queue, BATCH)
            .await
            .map_err(|source| ProxyError::Socket {
                role: self.from_role,
                source,
            })?;
        for message in &self.queue {
            let count = Count::of(message);
            self.received.add(count);
            self.queued.add(count);
        }
        if let Some(capture) = capture {
            self.capture(capture);
        }
        let outcome = self.to.try_send_batch(&mut self.queue);
        self.settle(outcome)?;
        Ok(received)
    }

    /// Counts what a send took from `queue`, and goes on past messages that `to`
    /// refused for reasons of their own (they are dropped, with a warning).
    fn settle(&mut self, mut outcome: Result<usize, TrySendError>) -> Result<(), ProxyError> {
        loop {
            match outcome {
                Ok(_) => break,
                Err(TrySendError {
                    error: Error::Closed,
                    ..
                }) => {
                    return Err(ProxyError::Socket {
                        role: self.to_role,
                        source: Error::Closed,
                    });
                }
                Err(TrySendError { error, message }) => {
                    tracing::warn!(
                        "the proxy's {} refused a message of {} frame(s), which is dropped: {error}",
                        self.to_role,
                        message.len()
                    );
                    self.queued.sub(Count::of(&message));
                    outcome = self.to.try_send_batch(&mut self.queue);
                }
            }
        }
        let mut remaining = Count::default();
        for message in &self.queue {
            remaining.add(Count::of(message));
        }
        let mut gone = self.queued;
        gone.sub(remaining);
        self.sent.add(gone);
        self.queued = remaining;
        Ok(())
    }

    /// Copies the batch to the capture socket, without waiting: copies it cannot
    /// take now are dropped and counted.
    fn capture(&mut self, capture: &Socket) {
        self.copies.extend(self.queue.iter().cloned());
        while !self.copies.is_empty() {
            match capture.try_send_batch(&mut self.copies) {
                Ok(_) => break,
                Err(TrySendError { error, .. }) => {
                    self.capture_dropped += 1;
                    tracing::debug!("the capture socket refused a copy: {error}");
                }
            }
        }
        self.capture_dropped += self.copies.len() as u64;
        self.copies.clear();
    }
}
