//! Command bodies fed to every command parser: none may panic.
#![no_main]

use std::hint::black_box;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use purezmq_zmtp::Metadata;
use purezmq_zmtp::command::{Command, ErrorCommand, Ping};

fuzz_target!(|data: &[u8]| {
    let body = Bytes::copy_from_slice(data);
    if let Ok(command) = Command::parse(body.clone()) {
        black_box(ErrorCommand::parse(&command.data).ok());
        if let Ok(ping) = Ping::parse(&command.data) {
            black_box(ping.pong());
            black_box(ping.encode());
        }
        black_box(Metadata::parse(&command.data).ok());
        black_box(command);
    }
    // The whole input as metadata too, as READY's and INITIATE's data.
    if let Ok(metadata) = Metadata::parse(&body) {
        assert_eq!(metadata.iter().count(), metadata.len());
        black_box(metadata);
    }
});
