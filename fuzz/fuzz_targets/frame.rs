//! The frame decoder fed arbitrary bytes under a small maximum message size: it must
//! never panic, and must decode the same frames however the input is split.
#![no_main]

use std::hint::black_box;

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use purezmq_zmtp::error::Error;
use purezmq_zmtp::frame::{Frame, FrameDecoder};

fn decode_all<'a>(
    decoder: &FrameDecoder,
    chunks: impl Iterator<Item = &'a [u8]>,
) -> (Vec<Frame>, Option<Error>) {
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => break,
                Err(e) => return (frames, Some(e)),
            }
        }
    }
    (frames, None)
}

fuzz_target!(|data: &[u8]| {
    let decoder = FrameDecoder::new(Some(1024));
    let at_once = decode_all(&decoder, std::iter::once(data));
    let by_byte = decode_all(&decoder, data.chunks(1));
    assert_eq!(at_once, by_byte, "frames depend on how the input is split");
    black_box(at_once);
});
