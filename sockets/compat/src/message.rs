//! [`Message`]: one frame, as the `zmq` crate's `Message` is.

use std::fmt;
use std::ops::{Deref, DerefMut};

use bytes::Bytes;

/// One frame of a message: bytes, and whether more frames follow.
///
/// Received frames share the buffer they arrived in; changing one through
/// `DerefMut` copies it first.
#[derive(Clone, Default)]
pub struct Message {
    data: Data,
    more: bool,
}

#[derive(Clone)]
enum Data {
    Shared(Bytes),
    Owned(Vec<u8>),
}

impl Default for Data {
    fn default() -> Data {
        Data::Shared(Bytes::new())
    }
}

impl Message {
    /// An empty frame.
    pub fn new() -> Message {
        Message::default()
    }

    /// A frame of `len` zero bytes.
    pub fn with_size(len: usize) -> Message {
        Message::from(vec![0; len])
    }

    /// A frame of `len` zero bytes (the old name of [`with_size`](Message::with_size)).
    #[deprecated(since = "0.9.1", note = "use `with_size`, which this is")]
    pub fn with_capacity(len: usize) -> Message {
        Message::with_size(len)
    }

    /// A frame holding a copy of `data`.
    #[deprecated(since = "0.9.1", note = "use `Message::from`")]
    pub fn from_slice(data: &[u8]) -> Message {
        Message::from(data)
    }

    /// The frame as text, if it is UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(self).ok()
    }

    /// Whether more frames of the same message follow this one (`ZMQ_MORE`).
    pub fn get_more(&self) -> bool {
        self.more
    }

    /// A metadata property of the connection the frame came in on (`zmq_msg_gets`).
    ///
    /// purezmq does not attach connection metadata to received frames, so this is
    /// always `None`.
    pub fn gets<'a>(&'a mut self, property: &str) -> Option<&'a str> {
        let _ = property;
        None
    }

    pub(crate) fn from_frame(frame: Bytes, more: bool) -> Message {
        Message {
            data: Data::Shared(frame),
            more,
        }
    }

    pub(crate) fn into_bytes(self) -> Bytes {
        match self.data {
            Data::Shared(bytes) => bytes,
            Data::Owned(vec) => Bytes::from(vec),
        }
    }
}

impl Deref for Message {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match &self.data {
            Data::Shared(bytes) => bytes,
            Data::Owned(vec) => vec,
        }
    }
}

impl DerefMut for Message {
    fn deref_mut(&mut self) -> &mut [u8] {
        if let Data::Shared(bytes) = &self.data {
            self.data = Data::Owned(bytes.to_vec());
        }
        match &mut self.data {
            Data::Owned(vec) => vec,
            Data::Shared(_) => unreachable!("made owned just above"),
        }
    }
}

impl AsRef<[u8]> for Message {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl AsMut<[u8]> for Message {
    fn as_mut(&mut self) -> &mut [u8] {
        self
    }
}

impl PartialEq for Message {
    fn eq(&self, other: &Message) -> bool {
        self[..] == other[..]
    }
}

impl Eq for Message {}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // As the `zmq` crate: the bytes as a list.
        fmt::Debug::fmt(&self[..], f)
    }
}

impl From<&[u8]> for Message {
    /// Copies the bytes.
    fn from(data: &[u8]) -> Message {
        Message::from(data.to_vec())
    }
}

impl From<Vec<u8>> for Message {
    /// Takes the vector without copying.
    fn from(data: Vec<u8>) -> Message {
        Message {
            data: Data::Owned(data),
            more: false,
        }
    }
}

impl From<Box<[u8]>> for Message {
    /// Takes the boxed slice without copying.
    fn from(data: Box<[u8]>) -> Message {
        Message::from(data.into_vec())
    }
}

impl From<&str> for Message {
    /// Copies the text's UTF-8 bytes.
    fn from(text: &str) -> Message {
        Message::from(text.as_bytes())
    }
}

impl From<&String> for Message {
    /// Copies the text's UTF-8 bytes.
    fn from(text: &String) -> Message {
        Message::from(text.as_bytes())
    }
}

impl<'a, T> From<&'a T> for Message
where
    T: Into<Message> + Clone,
{
    /// Converts a clone of the value.
    fn from(value: &'a T) -> Message {
        value.clone().into()
    }
}
