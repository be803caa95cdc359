//! ZMTP 3.1 without I/O.
#![no_std]
#![forbid(unsafe_code)]
extern crate alloc;
