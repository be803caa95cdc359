//! ZeroMQ sockets in pure Rust, on tokio.
//!
//! [`Socket`] is any of libzmq's eleven classic socket types (REQ, REP, DEALER,
//! ROUTER, PUB, SUB, XPUB, XSUB, PUSH, PULL, PAIR) over tcp, ipc or inproc, with
//! libzmq's semantics and its options ([`Options`]). It talks ZMTP 3.1 to libzmq and
//! every other ZeroMQ stack; [`blocking::Socket`] offers the same without async.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> purezmq::Result<()> {
//! use purezmq::{Socket, SocketType};
//!
//! let publisher = Socket::new(SocketType::Pub);
//! publisher.bind("tcp://127.0.0.1:*")?;
//! let subscriber = Socket::new(SocketType::Sub);
//! subscriber.subscribe("weather")?;
//! subscriber.connect(&publisher.last_endpoint())?;
//!
//! // Subscriptions take a moment to reach the publisher: send until one arrives.
//! let received = loop {
//!     publisher.send("weather sunny").await?;
//!     let wait = tokio::time::timeout(std::time::Duration::from_millis(10), subscriber.recv());
//!     if let Ok(message) = wait.await {
//!         break message?;
//!     }
//! };
//! assert_eq!(received.frames(), ["weather sunny"]);
//! # Ok(())
//! # }
//! ```

pub mod auth;
pub mod blocking;
mod core;
mod direct;
pub mod endpoint;
mod engine;
mod error;
pub mod monitor;
pub mod options;
pub mod pattern;
mod peer;
mod pipe;
mod readiness;
mod socket;
mod transport;
mod wait;
pub mod zap;

pub use error::{Error, Result, TrySendError};
pub use options::{Options, Security};
/// CURVE keys and certificates, for [`Security::CurveClient`] and
/// [`Security::CurveServer`].
pub use purezmq_curve as curve;
pub use purezmq_zmtp as zmtp;
pub use purezmq_zmtp::{Message, SocketType};
pub use socket::Socket;
