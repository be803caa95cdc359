//! CurveZMQ (RFC 25/26) for purezmq: the mechanism, Z85 keys and certificates.
//!
//! This crate is a placeholder until the security work lands; it builds so that the
//! workspace's dependency chain (zmtp ← curve ← sockets ← broker) is in place.
#![no_std]
#![forbid(unsafe_code)]
