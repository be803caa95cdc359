//! Multipart messages.

use alloc::vec::Vec;
use bytes::Bytes;

/// A message: one or more frames, delivered and sent atomically.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Message {
    frames: Vec<Bytes>,
}

impl Message {
    /// A message with no frames yet.
    pub fn new() -> Message {
        Message::default()
    }

    /// Appends a frame.
    pub fn push(&mut self, frame: impl Into<Bytes>) {
        self.frames.push(frame.into());
    }

    /// Inserts a frame at the front (a routing envelope, say).
    pub fn push_front(&mut self, frame: impl Into<Bytes>) {
        self.frames.insert(0, frame.into());
    }

    /// The frames in order.
    pub fn frames(&self) -> &[Bytes] {
        &self.frames
    }

    /// The frames, to take apart.
    pub fn into_frames(self) -> Vec<Bytes> {
        self.frames
    }

    /// How many frames there are.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Whether there are no frames.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Total octets over all frames.
    pub fn size(&self) -> usize {
        self.frames.iter().map(Bytes::len).sum()
    }
}

impl From<Vec<Bytes>> for Message {
    fn from(frames: Vec<Bytes>) -> Message {
        Message { frames }
    }
}

impl From<Bytes> for Message {
    fn from(frame: Bytes) -> Message {
        Message {
            frames: alloc::vec![frame],
        }
    }
}

impl From<&'static str> for Message {
    fn from(frame: &'static str) -> Message {
        Message::from(Bytes::from_static(frame.as_bytes()))
    }
}

impl<'a> IntoIterator for &'a Message {
    type Item = &'a Bytes;
    type IntoIter = core::slice::Iter<'a, Bytes>;

    fn into_iter(self) -> Self::IntoIter {
        self.frames.iter()
    }
}
