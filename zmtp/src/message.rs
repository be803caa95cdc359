//! Multipart messages.

use alloc::vec::Vec;
use bytes::Bytes;

/// A message: one or more frames, delivered and sent atomically.
///
/// Most messages have one frame; that frame is held inline, so receiving or building
/// such a message allocates nothing beyond the frame's own `Bytes`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Message {
    frames: Frames,
}

/// Invariant: `Many` never holds exactly one frame, so that the derived equality
/// and hash see one representation per message.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Frames {
    One(Bytes),
    Many(Vec<Bytes>),
}

impl Default for Frames {
    fn default() -> Frames {
        Frames::Many(Vec::new())
    }
}

impl Message {
    /// A message with no frames yet.
    pub fn new() -> Message {
        Message::default()
    }

    /// Appends a frame.
    pub fn push(&mut self, frame: impl Into<Bytes>) {
        let frame = frame.into();
        match &mut self.frames {
            Frames::Many(frames) if frames.is_empty() => self.frames = Frames::One(frame),
            Frames::Many(frames) => frames.push(frame),
            Frames::One(first) => {
                let first = core::mem::take(first);
                self.frames = Frames::Many(alloc::vec![first, frame]);
            }
        }
    }

    /// Inserts a frame at the front (a routing envelope, say).
    pub fn push_front(&mut self, frame: impl Into<Bytes>) {
        let frame = frame.into();
        match &mut self.frames {
            Frames::Many(frames) if frames.is_empty() => self.frames = Frames::One(frame),
            Frames::Many(frames) => frames.insert(0, frame),
            Frames::One(first) => {
                let first = core::mem::take(first);
                self.frames = Frames::Many(alloc::vec![frame, first]);
            }
        }
    }

    /// The frames in order.
    pub fn frames(&self) -> &[Bytes] {
        match &self.frames {
            Frames::One(frame) => core::slice::from_ref(frame),
            Frames::Many(frames) => frames,
        }
    }

    /// The frames, to take apart.
    pub fn into_frames(mut self) -> Vec<Bytes> {
        self.take_frames()
    }

    fn take_frames(&mut self) -> Vec<Bytes> {
        match core::mem::take(&mut self.frames) {
            Frames::One(frame) => alloc::vec![frame],
            Frames::Many(frames) => frames,
        }
    }

    /// How many frames there are.
    pub fn len(&self) -> usize {
        self.frames().len()
    }

    /// Whether there are no frames.
    pub fn is_empty(&self) -> bool {
        self.frames().is_empty()
    }

    /// Total octets over all frames.
    pub fn size(&self) -> usize {
        match &self.frames {
            Frames::One(frame) => frame.len(),
            Frames::Many(frames) => frames.iter().map(Bytes::len).sum(),
        }
    }
}

impl From<Vec<Bytes>> for Message {
    fn from(mut frames: Vec<Bytes>) -> Message {
        let frames = match frames.len() {
            1 => Frames::One(frames.pop().unwrap_or_default()),
            _ => Frames::Many(frames),
        };
        Message { frames }
    }
}

impl From<Bytes> for Message {
    fn from(frame: Bytes) -> Message {
        Message {
            frames: Frames::One(frame),
        }
    }
}

impl From<&'static str> for Message {
    fn from(frame: &'static str) -> Message {
        Message::from(Bytes::from_static(frame.as_bytes()))
    }
}

impl From<alloc::vec::Vec<u8>> for Message {
    fn from(frame: Vec<u8>) -> Message {
        Message::from(Bytes::from(frame))
    }
}

impl From<alloc::string::String> for Message {
    fn from(frame: alloc::string::String) -> Message {
        Message::from(Bytes::from(frame))
    }
}

impl<F: Into<Bytes>> FromIterator<F> for Message {
    /// A message of these frames, in order; one frame allocates nothing more.
    fn from_iter<I: IntoIterator<Item = F>>(frames: I) -> Message {
        let mut frames = frames.into_iter().map(Into::into);
        let Some(first) = frames.next() else {
            return Message::new();
        };
        let Some(second) = frames.next() else {
            return Message::from(first);
        };
        let mut many = Vec::with_capacity(2 + frames.size_hint().0);
        many.push(first);
        many.push(second);
        many.extend(frames);
        Message {
            frames: Frames::Many(many),
        }
    }
}

impl IntoIterator for Message {
    type Item = Bytes;
    type IntoIter = IntoFrames;

    /// The frames, in order, taken apart without allocating (unlike
    /// [`into_frames`](Message::into_frames) for a one-frame message).
    fn into_iter(self) -> IntoFrames {
        IntoFrames(match self.frames {
            Frames::One(frame) => Remaining::One(Some(frame).into_iter()),
            Frames::Many(frames) => Remaining::Many(frames.into_iter()),
        })
    }
}

/// The frames of a [`Message`], by value, in order.
#[derive(Debug)]
pub struct IntoFrames(Remaining);

#[derive(Debug)]
enum Remaining {
    One(core::option::IntoIter<Bytes>),
    Many(alloc::vec::IntoIter<Bytes>),
}

impl Iterator for IntoFrames {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        match &mut self.0 {
            Remaining::One(frame) => frame.next(),
            Remaining::Many(frames) => frames.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.0 {
            Remaining::One(frame) => frame.size_hint(),
            Remaining::Many(frames) => frames.size_hint(),
        }
    }
}

impl ExactSizeIterator for IntoFrames {}

impl<'a> IntoIterator for &'a Message {
    type Item = &'a Bytes;
    type IntoIter = core::slice::Iter<'a, Bytes>;

    fn into_iter(self) -> Self::IntoIter {
        self.frames().iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(m: &Message) -> Vec<&[u8]> {
        m.frames().iter().map(|f| &f[..]).collect()
    }

    #[test]
    fn grows_from_none_to_one_to_many_and_back_to_parts() {
        let mut m = Message::new();
        assert!(m.is_empty());
        m.push("a");
        assert_eq!(frames(&m), [b"a"]);
        m.push("b");
        m.push_front("id");
        assert_eq!(frames(&m), [&b"id"[..], b"a", b"b"]);
        assert_eq!(m.size(), 4);
        assert_eq!(m.into_frames().len(), 3);
    }

    #[test]
    fn taken_apart_and_collected_again_keeps_the_frames() {
        for texts in [&[][..], &["a"][..], &["a", "b", "c"][..]] {
            let m: Message = texts.iter().copied().collect();
            assert_eq!(m.len(), texts.len());
            assert_eq!(m.clone().into_iter().len(), texts.len());
            let again: Message = m.clone().into_iter().collect();
            assert_eq!(again, m);
            let mut front = m.clone();
            front.push_front("id");
            assert_eq!(front.len(), texts.len() + 1);
            assert_eq!(front.frames()[0], "id");
            assert_eq!(&front.frames()[1..], m.frames());
        }
    }

    #[test]
    fn one_frame_messages_are_equal_however_they_were_built() {
        let mut pushed = Message::new();
        pushed.push("x");
        let from_vec = Message::from(alloc::vec![Bytes::from_static(b"x")]);
        assert_eq!(pushed, Message::from("x"));
        assert_eq!(from_vec, Message::from("x"));
    }
}
