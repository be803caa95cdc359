//! How a multipart message is stored inside one redb value.
//!
//! ```text
//! value  = version count frame*     ; version is 1
//! count  = u32, little endian       ; number of frames, 0 allowed
//! frame  = length bytes             ; length: u32, little endian
//! ```
//!
//! Decoding trusts nothing: a length or count is checked against the bytes that are
//! left before anything is allocated from it, and a value that is truncated, has
//! trailing bytes or an unknown version is a [`FrameError`], never a panic.

use bytes::{Buf, Bytes};

/// The format version written in the first byte of every value.
pub const FORMAT_VERSION: u8 = 1;

/// Why a stored value could not be read back as frames, or frames not stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The value is empty or stops in the middle of a count, a length or a frame.
    #[error("the stored message is truncated: {needed} more bytes were expected, {left} are left")]
    Truncated {
        /// Bytes the next field needs.
        needed: usize,
        /// Bytes left in the value.
        left: usize,
    },
    /// The first byte names a format this version does not know.
    #[error("the stored message has format version {0}; this build reads version 1")]
    UnknownVersion(u8),
    /// The frame count cannot fit in the value (each frame takes at least 4 bytes).
    #[error("the stored message claims {count} frames but only {left} bytes are left")]
    TooManyFrames {
        /// The frame count read.
        count: u32,
        /// Bytes left after the count.
        left: usize,
    },
    /// All frames were read and bytes are left over.
    #[error("the stored message has {0} bytes after its last frame")]
    TrailingBytes(usize),
    /// A frame or the frame count does not fit the format's 32-bit fields.
    #[error("a message of more than 4 GiB or 2^32 frames cannot be stored")]
    TooLarge,
}

/// Encodes frames as one value, in the format described in the module docs.
pub fn encode<B: AsRef<[u8]>>(frames: &[B]) -> Result<Vec<u8>, FrameError> {
    let count = u32::try_from(frames.len()).map_err(|_| FrameError::TooLarge)?;
    let size = frames
        .iter()
        .fold(1 + 4, |size, frame| size + 4 + frame.as_ref().len());
    let mut value = Vec::with_capacity(size);
    value.push(FORMAT_VERSION);
    value.extend_from_slice(&count.to_le_bytes());
    for frame in frames {
        let frame = frame.as_ref();
        let length = u32::try_from(frame.len()).map_err(|_| FrameError::TooLarge)?;
        value.extend_from_slice(&length.to_le_bytes());
        value.extend_from_slice(frame);
    }
    Ok(value)
}

/// Decodes a value written by [`encode`]; the frames share `value`'s memory.
pub fn decode(mut value: Bytes) -> Result<Vec<Bytes>, FrameError> {
    if value.is_empty() {
        return Err(FrameError::Truncated { needed: 1, left: 0 });
    }
    let version = value.get_u8();
    if version != FORMAT_VERSION {
        return Err(FrameError::UnknownVersion(version));
    }
    let count = read_u32(&mut value)?;
    // Each frame has at least its 4-byte length, so this bounds the allocation by the
    // value's own size.
    if usize::try_from(count).map_or(true, |count| count > value.len() / 4) {
        return Err(FrameError::TooManyFrames {
            count,
            left: value.len(),
        });
    }
    let mut frames = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let length = read_u32(&mut value)? as usize;
        if length > value.len() {
            return Err(FrameError::Truncated {
                needed: length,
                left: value.len(),
            });
        }
        frames.push(value.split_to(length));
    }
    if !value.is_empty() {
        return Err(FrameError::TrailingBytes(value.len()));
    }
    Ok(frames)
}

fn read_u32(value: &mut Bytes) -> Result<u32, FrameError> {
    if value.len() < 4 {
        return Err(FrameError::Truncated {
            needed: 4,
            left: value.len(),
        });
    }
    Ok(value.get_u32_le())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(frames: &[&[u8]]) -> Vec<Bytes> {
        decode(Bytes::from(encode(frames).unwrap())).unwrap()
    }

    #[test]
    fn round_trips_empty_and_multipart_messages() {
        assert!(round_trip(&[]).is_empty());
        assert_eq!(round_trip(&[b""]), vec![Bytes::new()]);
        assert_eq!(
            round_trip(&[b"echo", b"", b"hello"]),
            vec![
                Bytes::from_static(b"echo"),
                Bytes::new(),
                Bytes::from_static(b"hello")
            ]
        );
    }

    #[test]
    fn the_layout_is_version_count_then_length_prefixed_frames() {
        let value = encode(&[b"ab".as_slice(), b""]).unwrap();
        assert_eq!(value, [1, 2, 0, 0, 0, 2, 0, 0, 0, b'a', b'b', 0, 0, 0, 0]);
    }

    #[test]
    fn rejects_an_empty_value() {
        assert_eq!(
            decode(Bytes::new()),
            Err(FrameError::Truncated { needed: 1, left: 0 })
        );
    }

    #[test]
    fn rejects_an_unknown_version() {
        assert_eq!(
            decode(Bytes::from_static(&[2, 0, 0, 0, 0])),
            Err(FrameError::UnknownVersion(2))
        );
    }

    #[test]
    fn rejects_every_truncation_of_a_valid_value() {
        let value = encode(&[b"echo".as_slice(), b"hello world"]).unwrap();
        for end in 0..value.len() {
            let result = decode(Bytes::copy_from_slice(&value[..end]));
            assert!(result.is_err(), "a value cut at {end} bytes was accepted");
        }
    }

    #[test]
    fn rejects_a_huge_count_without_allocating_for_it() {
        assert_eq!(
            decode(Bytes::from_static(&[1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])),
            Err(FrameError::TooManyFrames {
                count: u32::MAX,
                left: 4
            })
        );
    }

    #[test]
    fn rejects_a_frame_length_beyond_the_value() {
        assert_eq!(
            decode(Bytes::from_static(&[
                1, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, b'x'
            ])),
            Err(FrameError::Truncated {
                needed: u32::MAX as usize,
                left: 1
            })
        );
    }

    #[test]
    fn rejects_trailing_bytes() {
        let mut value = encode(&[b"a".as_slice()]).unwrap();
        value.push(0);
        assert_eq!(
            decode(Bytes::from(value)),
            Err(FrameError::TrailingBytes(1))
        );
    }

    proptest! {
        #[test]
        fn any_message_round_trips(
            frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..16)
        ) {
            let value = encode(&frames).unwrap();
            let decoded = decode(Bytes::from(value)).unwrap();
            prop_assert_eq!(decoded.len(), frames.len());
            for (decoded, frame) in decoded.iter().zip(&frames) {
                prop_assert_eq!(decoded.as_ref(), frame.as_slice());
            }
        }

        #[test]
        fn arbitrary_bytes_decode_to_frames_or_an_error(
            value in proptest::collection::vec(any::<u8>(), 0..128)
        ) {
            if let Ok(frames) = decode(Bytes::from(value.clone())) {
                // Whatever decodes re-encodes to the same bytes: the format has one
                // spelling per message.
                prop_assert_eq!(encode(&frames).unwrap(), value);
            }
        }
    }
}
