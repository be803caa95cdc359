//! ZMTP 3.1, the ZeroMQ wire protocol, without I/O.
//!
//! This crate is the protocol half of purezmq: greeting, frames, commands, security
//! mechanisms (NULL and PLAIN here, CURVE from `purezmq-curve`) and heartbeats, as a
//! state machine that is fed bytes and time and hands back bytes, events and deadlines.
//! It has no sockets, no async runtime and no clock, and needs only `alloc`: it runs
//! wherever Rust does, and every protocol rule can be tested without a network.
//!
//! ```
//! use bytes::Bytes;
//! use purezmq_zmtp::{Config, Connection, Event, Instant, Message, SocketType, mechanism::Null};
//!
//! let now = Instant::ZERO;
//! let mut client = Connection::new(Config::new(SocketType::Req), Box::new(Null::new()), now);
//! let mut server = Connection::new(Config::new(SocketType::Rep), Box::new(Null::new()), now);
//!
//! // Shuttle bytes both ways until neither side has anything left to say.
//! fn pump(a: &mut Connection, b: &mut Connection, now: Instant) {
//!     while !a.send_buffer().is_empty() || !b.send_buffer().is_empty() {
//!         let to_b = a.send_buffer().take_all();
//!         b.feed(&to_b, now).unwrap();
//!         let to_a = b.send_buffer().take_all();
//!         a.feed(&to_a, now).unwrap();
//!     }
//! }
//! pump(&mut client, &mut server, now);
//! assert!(matches!(server.poll_event(), Some(Event::HandshakeSucceeded(_))));
//!
//! let request = Message::from(vec![Bytes::new(), Bytes::from_static(b"Hello")]);
//! client.send(&request).unwrap();
//! pump(&mut client, &mut server, now);
//! assert_eq!(server.poll_event(), Some(Event::Message(request)));
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod command;
pub mod connection;
pub mod error;
pub mod frame;
pub mod greeting;
mod heartbeat;
pub mod mechanism;
pub mod message;
pub mod metadata;
pub mod send_buffer;
pub mod socket_type;
pub mod time;

pub use connection::{Config, Connection, Event, PeerInfo};
pub use error::Error;
pub use greeting::{Greeting, GreetingExchange, MechanismName, Version};
pub use heartbeat::HeartbeatConfig;
pub use mechanism::{AuthReply, AuthRequest, Mechanism};
pub use message::Message;
pub use metadata::Metadata;
pub use send_buffer::SendBuffer;
pub use socket_type::SocketType;
pub use time::Instant;
