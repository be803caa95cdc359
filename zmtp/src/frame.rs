//! Frames: the unit of ZMTP traffic after the greeting.
//!
//! A frame is a flags octet, a size (one octet, or eight big-endian octets when the
//! LONG flag is set) and a body. Bodies are sliced out of the receive buffer as
//! [`Bytes`]: decoding never copies a payload, and never allocates from a size the peer
//! announced.

use bytes::{Buf, Bytes, BytesMut};

use crate::error::Error;

/// Flag: more frames of the same message follow.
pub const MORE: u8 = 0x01;
/// Flag: the size is eight octets instead of one.
pub const LONG: u8 = 0x02;
/// Flag: the frame is a command, not part of a message.
pub const COMMAND: u8 = 0x04;
const RESERVED: u8 = !(MORE | LONG | COMMAND);

/// The longest frame header: flags and an eight-octet size.
pub const MAX_HEADER_LEN: usize = 9;

/// One decoded frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The frame's [`MORE`] and [`COMMAND`] flags ([`LONG`] is the header's business).
    pub flags: u8,
    /// The frame's body.
    pub body: Bytes,
}

impl Frame {
    /// A message frame.
    pub fn message(body: Bytes, more: bool) -> Frame {
        Frame {
            flags: if more { MORE } else { 0 },
            body,
        }
    }

    /// A command frame.
    pub fn command(body: Bytes) -> Frame {
        Frame {
            flags: COMMAND,
            body,
        }
    }

    /// Whether more frames of the same message follow.
    pub fn more(&self) -> bool {
        self.flags & MORE != 0
    }

    /// Whether the frame is a command.
    pub fn is_command(&self) -> bool {
        self.flags & COMMAND != 0
    }
}

/// Writes a frame header for a body of `len` octets into `dst`; returns its length.
/// The LONG form is used only when the size does not fit one octet, as libzmq does.
pub fn encode_header(dst: &mut [u8; MAX_HEADER_LEN], flags: u8, len: usize) -> usize {
    let flags = flags & (MORE | COMMAND);
    match u8::try_from(len) {
        Ok(short) => {
            dst[0] = flags;
            dst[1] = short;
            2
        }
        Err(_) => {
            dst[0] = flags | LONG;
            dst[1..].copy_from_slice(&(len as u64).to_be_bytes());
            MAX_HEADER_LEN
        }
    }
}

/// Splits frames off the front of a receive buffer.
#[derive(Clone, Debug)]
pub struct FrameDecoder {
    max_message_size: Option<u64>,
    max_command_size: u64,
}

/// Commands are small, but a tiny maximum message size must not make the handshake
/// impossible: command frames may always be this large.
pub const MIN_COMMAND_LIMIT: u64 = 8192;

/// The largest frame any peer may announce, whatever the maximum message size: as
/// libzmq, a size with the top bit set (over `i64::MAX`) breaks the protocol.
pub const MAX_FRAME_SIZE: u64 = i64::MAX as u64;

impl FrameDecoder {
    /// A decoder refusing message frames longer than `max_message_size` octets (`None`:
    /// no limit). Command frames are limited to the larger of that and
    /// [`MIN_COMMAND_LIMIT`].
    pub fn new(max_message_size: Option<u64>) -> FrameDecoder {
        FrameDecoder {
            max_message_size,
            max_command_size: max_message_size.map_or(u64::MAX, |m| m.max(MIN_COMMAND_LIMIT)),
        }
    }

    /// The limit on message frames.
    pub fn max_message_size(&self) -> Option<u64> {
        self.max_message_size
    }

    /// Decodes the frame at the front of `buf`, if it has arrived whole, removing it
    /// from `buf`. A header that breaks a rule fails as soon as it has arrived, before
    /// the body does.
    pub fn decode(&self, buf: &mut BytesMut) -> Result<Option<Frame>, Error> {
        let Some(&flags) = buf.first() else {
            return Ok(None);
        };
        if flags & RESERVED != 0 {
            return Err(Error::ReservedFlags { flags });
        }
        if flags & (COMMAND | MORE) == COMMAND | MORE {
            return Err(Error::CommandWithMore);
        }
        let (header_len, size) = if flags & LONG != 0 {
            let Some(octets) = buf.get(1..MAX_HEADER_LEN) else {
                return Ok(None);
            };
            let mut be = [0u8; 8];
            be.copy_from_slice(octets);
            (MAX_HEADER_LEN, u64::from_be_bytes(be))
        } else {
            let Some(&size) = buf.get(1) else {
                return Ok(None);
            };
            (2, u64::from(size))
        };
        let max = if flags & COMMAND != 0 {
            self.max_command_size
        } else {
            self.max_message_size.unwrap_or(MAX_FRAME_SIZE)
        };
        let max = max.min(MAX_FRAME_SIZE);
        if size > max {
            return Err(Error::FrameTooLarge { size, max });
        }
        // Whatever the size, the body must already be in `buf`, so it fits a usize.
        let available = (buf.len() - header_len) as u64;
        if size > available {
            return Ok(None);
        }
        buf.advance(header_len);
        let body = buf.split_to(size as usize).freeze();
        Ok(Some(Frame {
            flags: flags & (MORE | COMMAND),
            body,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn encode(flags: u8, body: &[u8]) -> Vec<u8> {
        let mut header = [0; MAX_HEADER_LEN];
        let n = encode_header(&mut header, flags, body.len());
        let mut out = header[..n].to_vec();
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn short_and_long_sizes_switch_at_256() {
        assert_eq!(&encode(MORE, &[7; 255])[..2], &[0x01, 255]);
        assert_eq!(&encode(0, &[7; 256])[..9], &[0x02, 0, 0, 0, 0, 0, 0, 1, 0]);
        assert_eq!(&encode(COMMAND, &[])[..], &[0x04, 0]);
    }

    #[test]
    fn decodes_only_whole_frames() {
        let wire = encode(MORE, b"hello");
        let dec = FrameDecoder::new(None);
        for cut in 0..wire.len() {
            let mut buf = BytesMut::from(&wire[..cut]);
            assert_eq!(dec.decode(&mut buf), Ok(None), "cut at {cut}");
            assert_eq!(buf.len(), cut, "nothing consumed");
        }
        let mut buf = BytesMut::from(&wire[..]);
        let frame = dec.decode(&mut buf).expect("valid").expect("whole");
        assert_eq!(frame, Frame::message(Bytes::from_static(b"hello"), true));
        assert!(buf.is_empty());
    }

    #[test]
    fn reserved_bits_are_a_protocol_error() {
        let dec = FrameDecoder::new(None);
        for bit in 3..8 {
            let mut buf = BytesMut::from(&[1u8 << bit][..]);
            assert_eq!(
                dec.decode(&mut buf),
                Err(Error::ReservedFlags { flags: 1 << bit })
            );
        }
    }

    #[test]
    fn command_with_more_is_refused() {
        let mut buf = BytesMut::from(&[COMMAND | MORE, 0][..]);
        let dec = FrameDecoder::new(None);
        assert_eq!(dec.decode(&mut buf), Err(Error::CommandWithMore));
    }

    #[test]
    fn oversized_frame_fails_on_its_header_alone() {
        let dec = FrameDecoder::new(Some(1_048_576));
        let mut buf = BytesMut::from(&[LONG, 0x80, 0, 0, 0, 0, 0, 0, 0][..]);
        let err = dec.decode(&mut buf).expect_err("too large");
        assert_eq!(
            alloc::format!("{err}"),
            "frame of 9223372036854775808 bytes exceeds the maximum message size of 1048576"
        );
    }

    #[test]
    fn command_limit_has_a_floor() {
        let dec = FrameDecoder::new(Some(10));
        let mut cmd = BytesMut::from(&encode(COMMAND, &[0; 300])[..]);
        assert!(dec.decode(&mut cmd).expect("within floor").is_some());
        let mut msg = BytesMut::from(&encode(0, &[0; 11])[..]);
        assert!(matches!(
            dec.decode(&mut msg),
            Err(Error::FrameTooLarge { size: 11, max: 10 })
        ));
    }

    #[test]
    fn huge_unlimited_size_waits_without_allocating() {
        let dec = FrameDecoder::new(None);
        let mut buf = BytesMut::from(&[LONG, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF][..]);
        assert_eq!(dec.decode(&mut buf), Ok(None));
        assert_eq!(buf.capacity(), 9);
    }

    #[test]
    fn a_size_over_i64_max_is_refused_even_without_a_limit() {
        for flags in [LONG, LONG | COMMAND] {
            let dec = FrameDecoder::new(None);
            let mut buf = BytesMut::from(&[flags, 0x80, 0, 0, 0, 0, 0, 0, 0][..]);
            assert_eq!(
                dec.decode(&mut buf),
                Err(Error::FrameTooLarge {
                    size: 1 << 63,
                    max: MAX_FRAME_SIZE
                })
            );
        }
    }
}
