//! CurveZMQ (RFC 25/26) for purezmq: the CURVE mechanism, Z85 keys and certificates.
//!
//! [`CurveClient`] and [`CurveServer`] are [`purezmq_zmtp::Mechanism`]s: hand one to
//! [`purezmq_zmtp::Connection::new`] and the connection runs the CURVE handshake and
//! encrypts every frame after it, byte for byte as libzmq 4.3.5 does. The boxes are
//! NaCl's `crypto_box` (X25519, XSalsa20, Poly1305) from the pure-Rust RustCrypto
//! crates.
//!
//! ```
//! use bytes::Bytes;
//! use purezmq_curve::{CurveClient, CurveServer, KeyPair};
//! use purezmq_zmtp::{AuthReply, Config, Connection, Event, Instant, Message, SocketType};
//!
//! let server_keys = KeyPair::generate();
//! let client_keys = KeyPair::generate();
//! let client_public = *client_keys.public();
//! let now = Instant::ZERO;
//! let mut client = Connection::new(
//!     Config::new(SocketType::Req),
//!     Box::new(CurveClient::new(client_keys, *server_keys.public())),
//!     now,
//! );
//! let mut server = Connection::new(
//!     Config::new(SocketType::Rep),
//!     Box::new(CurveServer::with_authentication(server_keys)),
//!     now,
//! );
//!
//! fn pump(a: &mut Connection, b: &mut Connection, now: Instant) {
//!     while !a.send_buffer().is_empty() || !b.send_buffer().is_empty() {
//!         let to_b = a.send_buffer().take_all();
//!         b.feed(&to_b, now).unwrap();
//!         let to_a = b.send_buffer().take_all();
//!         a.feed(&to_a, now).unwrap();
//!     }
//! }
//! pump(&mut client, &mut server, now);
//!
//! // The server asks who the client is: its long-term public key.
//! let Some(Event::AuthenticationRequested(request)) = server.poll_event() else { panic!() };
//! assert_eq!(&request.credentials[0][..], client_public.as_bytes());
//! server.auth_reply(AuthReply::accept("alice"), now).unwrap();
//! pump(&mut client, &mut server, now);
//! assert!(matches!(server.poll_event(), Some(Event::HandshakeSucceeded(_))));
//!
//! let request = Message::from(vec![Bytes::new(), Bytes::from_static(b"Hello")]);
//! client.send(&request).unwrap();
//! pump(&mut client, &mut server, now);
//! assert_eq!(server.poll_event(), Some(Event::Message(request)));
//! ```
//!
//! Keys print as Z85 ([`z85`], [`PublicKey::to_z85`]); [`Certificate`] reads and
//! writes the `.key` and `.key_secret` files of pyzmq's `zmq.auth` and CZMQ's `zcert`,
//! and with the `std` feature loads and saves them, or a directory of public keys for
//! an allowlist.
//!
//! Features: `getrandom` (default) draws random numbers from the operating system;
//! without it, pass a [`rand_core::CryptoRngCore`] to the `with_rng` constructors.
//! `std` adds certificate files.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod cert;
mod client;
pub mod cookie;
mod crypto;
pub mod error;
pub mod key;
mod server;
mod session;
mod wire;
pub mod z85;

pub use cert::Certificate;
pub use client::CurveClient;
#[cfg(feature = "std")]
pub use cookie::CookieKeyring;
pub use cookie::CookieKeys;
pub use error::{CertificateError, CurveError, KeyError, Z85Error};
pub use key::{KeyPair, PublicKey, SecretKey};
pub use rand_core;
pub use server::CurveServer;

#[cfg(feature = "std")]
pub use cert::LoadError;

/// Peer-supplied octets as printable text: ASCII kept, everything else escaped.
pub(crate) fn printable(bytes: &[u8]) -> alloc::string::String {
    use core::fmt::Write;
    let mut out = alloc::string::String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_graphic() || b == b' ' {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// The name of the command whose body is `body`, or `unnamed` when it has none.
pub(crate) fn command_name(body: &[u8]) -> alloc::string::String {
    let len = body.first().map_or(0, |&len| usize::from(len));
    match body.get(1..1 + len) {
        Some(name) if len > 0 => printable(name),
        _ => alloc::string::String::from("unnamed"),
    }
}
