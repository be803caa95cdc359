//! The CURVE client handshake and its traffic, against an honest server that the input
//! tampers with (see `curve_common.rs` for the input layout and what is checked).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "curve_common.rs"]
mod curve_common;

fuzz_target!(|data: &[u8]| curve_common::run(data, curve_common::Role::Client));
