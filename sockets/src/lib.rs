//! ZeroMQ sockets in pure Rust.
//!
//! The socket types, transports and engine land with the sockets work; today this crate
//! re-exports the wire protocol so applications can already depend on one name, and
//! holds the first mechanisms the socket types share, in [`pattern`].

pub mod endpoint;
pub mod options;
pub mod pattern;

pub use purezmq_zmtp as zmtp;
