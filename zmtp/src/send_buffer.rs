//! The outgoing byte stream, ready for vectored writes.
//!
//! Frame headers (and small payloads, which are cheaper to copy than to give their own
//! I/O vector) accumulate in one growing buffer; a large payload is queued as the
//! [`Bytes`] the application handed over, never copied. An engine writes with
//! [`chunks`](SendBuffer::chunks) as the I/O vectors of one `writev`, then
//! [`advance`](SendBuffer::advance)s by what the kernel took.

use alloc::collections::VecDeque;
use bytes::{Buf, Bytes, BytesMut};

use crate::frame::{MAX_HEADER_LEN, encode_header};

/// Payloads up to this many octets are copied next to their header; larger ones travel
/// as their own chunk.
pub const COPY_THRESHOLD: usize = 1024;

/// How much room the header buffer takes at a time once large payloads are queued.
const TAIL_CHUNK: usize = 16 * 1024;

/// Octets waiting to be written to the peer.
#[derive(Debug, Default)]
pub struct SendBuffer {
    /// Chunks sealed in order, before `tail`.
    sealed: VecDeque<Bytes>,
    /// Where headers and small payloads are appended.
    tail: BytesMut,
    len: usize,
}

impl SendBuffer {
    /// An empty buffer.
    pub fn new() -> SendBuffer {
        SendBuffer::default()
    }

    /// Total octets waiting.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends raw octets (the greeting).
    pub fn push_raw(&mut self, octets: &[u8]) {
        self.tail.extend_from_slice(octets);
        self.len += octets.len();
    }

    /// Appends one frame: its header, then its body.
    pub fn push_frame(&mut self, flags: u8, body: &Bytes) {
        let mut header = [0; MAX_HEADER_LEN];
        let n = encode_header(&mut header, flags, body.len());
        self.tail.extend_from_slice(&header[..n]);
        self.len += n;
        self.push_payload(body);
    }

    /// Appends a payload with no header of its own (part of a frame already started).
    pub fn push_payload(&mut self, body: &Bytes) {
        self.len += body.len();
        if body.len() <= COPY_THRESHOLD {
            self.tail.extend_from_slice(body);
        } else {
            if !self.tail.is_empty() {
                self.sealed.push_back(self.tail.split().freeze());
                // Without room left, the next header would get an allocation of its
                // own: let the headers to come share one.
                if self.tail.capacity() < MAX_HEADER_LEN {
                    self.tail.reserve(TAIL_CHUNK);
                }
            }
            self.sealed.push_back(body.clone());
        }
    }

    /// Fills `out` with the waiting chunks in order, as many as fit; returns how many.
    pub fn chunks<'a>(&'a self, out: &mut [&'a [u8]]) -> usize {
        let tail = (!self.tail.is_empty()).then_some(&self.tail[..]);
        let all = self.sealed.iter().map(|b| &b[..]).chain(tail);
        let mut n = 0;
        for (slot, chunk) in out.iter_mut().zip(all) {
            *slot = chunk;
            n += 1;
        }
        n
    }

    /// Forgets the first `n` octets, which have been written.
    ///
    /// # Panics
    /// If `n` is more than [`len`](Self::len).
    pub fn advance(&mut self, mut n: usize) {
        assert!(n <= self.len, "advanced past the end of the send buffer");
        self.len -= n;
        while n > 0 {
            let Some(front) = self.sealed.front_mut() else {
                self.tail.advance(n);
                break;
            };
            if n < front.len() {
                front.advance(n);
                break;
            }
            n -= front.len();
            self.sealed.pop_front();
        }
        if self.len == 0 {
            // Lets the tail reuse its allocation once no sealed chunk shares it.
            self.tail.clear();
        }
    }

    /// Moves every waiting octet into one contiguous buffer (tests and simple callers).
    pub fn take_all(&mut self) -> BytesMut {
        let mut out = BytesMut::with_capacity(self.len);
        for chunk in self.sealed.drain(..) {
            out.extend_from_slice(&chunk);
        }
        out.extend_from_slice(&self.tail);
        self.tail.clear();
        self.len = 0;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn concat(buf: &SendBuffer) -> Vec<u8> {
        let mut slots = [&[][..]; 16];
        let n = buf.chunks(&mut slots);
        slots[..n].concat()
    }

    #[test]
    fn large_payloads_are_not_copied() {
        let big = Bytes::from(alloc::vec![9u8; COPY_THRESHOLD + 1]);
        let mut buf = SendBuffer::new();
        buf.push_frame(0, &Bytes::from_static(b"small"));
        buf.push_frame(0, &big);
        buf.push_frame(0, &Bytes::from_static(b"after"));
        let mut slots = [&[][..]; 8];
        assert_eq!(buf.chunks(&mut slots), 3);
        assert_eq!(
            slots[1].as_ptr(),
            big.as_ptr(),
            "the payload itself is queued"
        );
        assert_eq!(buf.len(), 2 + 5 + 9 + big.len() + 2 + 5);
    }

    #[test]
    fn advance_across_chunk_boundaries() {
        let big = Bytes::from(alloc::vec![1u8; 2000]);
        let mut buf = SendBuffer::new();
        buf.push_raw(b"abc");
        buf.push_frame(0, &big);
        buf.push_raw(b"xyz");
        let all = concat(&buf);
        for step in [1, 7, 500, 3000] {
            let mut b = SendBuffer::new();
            b.push_raw(b"abc");
            b.push_frame(0, &big);
            b.push_raw(b"xyz");
            let mut seen = Vec::new();
            while !b.is_empty() {
                let n = step.min(b.len());
                seen.extend_from_slice(&concat(&b)[..n]);
                b.advance(n);
            }
            assert_eq!(seen, all, "step {step}");
        }
    }
}
