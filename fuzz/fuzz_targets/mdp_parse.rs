//! Arbitrary frames fed to every MDP parser: none may panic, and whatever parses
//! encodes back to the same frames.
//!
//! The input is split into frames by a length prefix: one byte n, then n bytes
//! (fewer at the end of the input), again and again.
#![no_main]

use std::hint::black_box;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use purezmq_broker::mdp::{self, ClientReply, ClientRequest, Inbound, WorkerMessage};

/// The input as frames: a length byte, then that many bytes, repeated.
fn frames(mut data: &[u8]) -> Vec<Bytes> {
    let mut frames = Vec::new();
    while let Some((&len, rest)) = data.split_first() {
        let len = usize::from(len).min(rest.len());
        let (frame, rest) = rest.split_at(len);
        frames.push(Bytes::copy_from_slice(frame));
        data = rest;
    }
    frames
}

fuzz_target!(|data: &[u8]| {
    let frames = frames(data);
    match mdp::parse_inbound(&frames) {
        Ok(Inbound::Client(request)) => assert_eq!(request.encode(), frames),
        Ok(Inbound::Worker(message)) => assert_eq!(message.encode().ok(), Some(frames.clone())),
        Err(error) => {
            black_box(error.to_string());
        }
    }
    if let Ok(request) = ClientRequest::parse(&frames) {
        assert_eq!(request.encode(), frames);
        black_box(request.reply(frames.clone()).encode().ok());
    }
    if let Ok(reply) = ClientReply::parse(&frames) {
        assert_eq!(reply.encode().ok(), Some(frames.clone()));
    }
    if let Ok(message) = WorkerMessage::parse(&frames) {
        assert_eq!(message.encode().ok(), Some(frames.clone()));
        black_box(message.command.name());
    }
});
