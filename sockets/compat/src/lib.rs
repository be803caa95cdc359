//! The `zmq` crate's API (rust-zmq 0.10) on purezmq: ZeroMQ in pure Rust, with no
//! libzmq, no C compiler and no `-sys` crate.
//!
//! A program written for the `zmq` crate switches by changing one line of its
//! Cargo.toml:
//!
//! ```toml
//! zmq = { package = "purezmq-compat", version = "0.1" }
//! ```
//!
//! ```
//! let context = zmq::Context::new();
//! let responder = context.socket(zmq::REP)?;
//! responder.bind("tcp://127.0.0.1:*")?;
//! let endpoint = responder.get_last_endpoint()?.unwrap();
//!
//! let requester = context.socket(zmq::REQ)?;
//! requester.connect(&endpoint)?;
//! requester.send("Hello", 0)?;
//! assert_eq!(responder.recv_string(0)?.unwrap(), "Hello");
//! responder.send("World", 0)?;
//! assert_eq!(requester.recv_msg(0)?.as_str(), Some("World"));
//! # Ok::<(), zmq::Error>(())
//! ```
//!
//! The sockets run on one background I/O thread this crate owns, as libzmq's do;
//! no async runtime is visible. The package README lists what differs from libzmq.
//!
//! A [`Socket`] may move to another thread, but, as with libzmq, not be shared
//! between threads:
//!
//! ```compile_fail
//! fn shared<T: Sync>() {}
//! shared::<zmq::Socket>();
//! ```

mod context;
mod error;
mod inbox;
mod message;
mod monitor;
mod poll;
mod proxy;
mod socket;
mod sockopt;

pub use SocketType::*;
pub use context::Context;
pub use error::{Error, Result};
pub use message::Message;
pub use monitor::SocketEvent;
pub use poll::{POLLERR, POLLIN, POLLOUT, PollEvents, PollItem, poll};
pub use proxy::{proxy, proxy_steerable, proxy_steerable_with_capture, proxy_with_capture};
pub use socket::{Sendable, Socket};

use std::fmt;
use std::string::FromUtf8Error;

/// The socket types.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SocketType {
    /// Exclusive pair.
    PAIR,
    /// Publisher.
    PUB,
    /// Subscriber.
    SUB,
    /// Requester, strictly alternating request and reply.
    REQ,
    /// Replier, strictly alternating request and reply.
    REP,
    /// Asynchronous requester.
    DEALER,
    /// Asynchronous replier that routes by routing id.
    ROUTER,
    /// Pipeline receiver.
    PULL,
    /// Pipeline sender.
    PUSH,
    /// Publisher that sees subscriptions.
    XPUB,
    /// Subscriber that sends subscriptions as messages.
    XSUB,
    /// Raw TCP: not available in purezmq ([`Context::socket`] gives `ENOTSUP`).
    STREAM,
}

impl SocketType {
    /// purezmq's socket type, if it has this one.
    pub(crate) fn native(self) -> Option<purezmq::SocketType> {
        use purezmq::SocketType as N;
        Some(match self {
            PAIR => N::Pair,
            PUB => N::Pub,
            SUB => N::Sub,
            REQ => N::Req,
            REP => N::Rep,
            DEALER => N::Dealer,
            ROUTER => N::Router,
            PULL => N::Pull,
            PUSH => N::Push,
            XPUB => N::XPub,
            XSUB => N::XSub,
            STREAM => return None,
        })
    }
}

/// Send or receive flag: fail with `EAGAIN` rather than wait.
pub static DONTWAIT: i32 = 1;
/// Send flag: more frames of this message follow.
pub static SNDMORE: i32 = 2;

/// The security mechanism of a socket (`ZMQ_MECHANISM`).
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// No security.
    ZMQ_NULL,
    /// PLAIN: user name and password, in clear.
    ZMQ_PLAIN,
    /// CURVE: encryption and authentication by public key.
    ZMQ_CURVE,
    /// GSSAPI: not available in purezmq.
    ZMQ_GSSAPI,
}

/// The version of libzmq whose behaviour this crate follows: 4.3.5.
pub fn version() -> (i32, i32, i32) {
    (4, 3, 5)
}

/// Whether a capability is available (`zmq_has`): transports `ipc`, and the `curve`
/// mechanism are; `pgm`, `tipc`, `norm`, `gssapi` and `draft` are not. Always
/// `Some`, as in the `zmq` crate.
pub fn has(capability: &str) -> Option<bool> {
    Some(matches!(capability, "ipc" | "curve"))
}

/// A CURVE key pair, as 32 raw bytes each (use [`z85_encode`] for text).
#[derive(Debug)]
pub struct CurveKeyPair {
    /// The public key.
    pub public_key: [u8; 32],
    /// The secret key.
    pub secret_key: [u8; 32],
}

impl CurveKeyPair {
    /// A new key pair from the operating system's random numbers.
    pub fn new() -> Result<CurveKeyPair> {
        let pair = purezmq::curve::KeyPair::generate();
        Ok(CurveKeyPair {
            public_key: *pair.public().as_bytes(),
            secret_key: *pair.secret().as_bytes(),
        })
    }
}

/// Why [`z85_encode`] failed.
#[derive(Debug)]
pub enum EncodeError {
    /// The data's length is not a multiple of 4.
    BadLength,
    /// Never returned; kept for the `zmq` crate's API.
    FromUtf8Error(FromUtf8Error),
}

impl From<FromUtf8Error> for EncodeError {
    fn from(error: FromUtf8Error) -> EncodeError {
        EncodeError::FromUtf8Error(error)
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::BadLength => f.write_str("Invalid data length. Should be multiple of 4."),
            EncodeError::FromUtf8Error(e) => write!(f, "UTF8 conversion error: {e}"),
        }
    }
}

impl std::error::Error for EncodeError {}

/// Encodes bytes (a multiple of 4 of them) as Z85 text.
pub fn z85_encode(data: &[u8]) -> std::result::Result<String, EncodeError> {
    purezmq::curve::z85::encode(data).map_err(|_| EncodeError::BadLength)
}

/// Why [`z85_decode`] failed.
#[derive(Debug)]
pub enum DecodeError {
    /// The text's length is not a multiple of 5 (or it has characters Z85 lacks).
    BadLength,
    /// The text has a NUL character.
    NulError(std::ffi::NulError),
}

impl From<std::ffi::NulError> for DecodeError {
    fn from(error: std::ffi::NulError) -> DecodeError {
        DecodeError::NulError(error)
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::BadLength => f.write_str("Invalid data length. Should be multiple of 5."),
            DecodeError::NulError(e) => write!(f, "Nul byte error: {e}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Decodes Z85 text (a multiple of 5 characters) to bytes.
pub fn z85_decode(data: &str) -> std::result::Result<Vec<u8>, DecodeError> {
    if !data.len().is_multiple_of(5) {
        return Err(DecodeError::BadLength);
    }
    // The same check, and error, as the `zmq` crate's C string conversion.
    std::ffi::CString::new(data)?;
    purezmq::curve::z85::decode(data).map_err(|_| DecodeError::BadLength)
}
