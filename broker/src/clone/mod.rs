//! Reliable pub-sub of a shared key-value map: the ZeroMQ guide's Clone pattern,
//! model five (chapter 5), on the guide's wire format.
//!
//! A [`CloneServer`] holds the map. Clients take a snapshot of it, then follow its
//! updates, and push their own changes back:
//!
//! | socket | server | client | what travels |
//! |--------|--------|--------|--------------|
//! | snapshot, 5556 | ROUTER | DEALER | `["ICANHAZ?", subtree]`, answered by one [`KvMsg`] per matching key, then `KTHXBAI` |
//! | publisher, 5557 | PUB | SUB (on the subtree) | every change, in sequence order |
//! | collector, 5558 | PULL | PUSH | changes from clients; the server numbers and publishes them |
//!
//! Each message is a [`KvMsg`] of five frames: key, sequence (8 bytes big-endian),
//! UUID (16 bytes or empty), properties (`name=value\n` lines), body. An empty body
//! deletes the key. The snapshot ends with a kvmsg whose key is `KTHXBAI`, whose
//! sequence is the last change the snapshot holds, with an empty UUID, no
//! properties, and the subtree as body (the guide's Python server sends the
//! subtree there; its C server an empty body; clients read neither). A `ttl`
//! property (seconds) asks the server to delete the key when that time has passed;
//! the server then publishes the deletion.
//!
//! The guide's clone programs in C or Python and ours interoperate: the examples
//! `clonesrv` and `clonecli` use the guide's endpoints.
//!
//! ```no_run
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), purezmq_broker::clone::CloneError> {
//! use std::time::Duration;
//! use purezmq_broker::clone::{ClientConfig, CloneClient, CloneServer, Endpoints, ServerConfig};
//!
//! let server = CloneServer::bind(ServerConfig::default())?;
//! tokio::spawn(server.run(std::future::pending()));
//!
//! let mut client = CloneClient::connect(ClientConfig::new(Endpoints::tcp("localhost", 5556))).await?;
//! client.set("/client/1", "hello", Some(Duration::from_secs(30))).await?;
//! let event = client.recv().await?; // the next change someone else made
//! # Ok(())
//! # }
//! ```
//!
//! # What this adds to the guide's model five
//!
//! * **Own changes come back silently.** [`CloneClient::set`] applies the change to
//!   the client's map at once and remembers its UUID. When the server publishes it
//!   back, the client recognises the UUID and does not report it again: its
//!   application hears only of other clients' changes. If another client's change to
//!   the same key was numbered in between, the client's own one is applied again
//!   (and reported), so every map ends in the server's order.
//! * **Deletions by TTL carry an empty UUID**, where the guide's servers keep the
//!   UUID of the change that set the key; the setter would otherwise take the
//!   deletion for its own echo.
//! * **Re-sync on a gap.** The publisher drops messages for a subscriber that does
//!   not keep up (SNDHWM), so the server's memory stays bounded whatever its clients
//!   do. A client that follows every key (empty subtree) sees every sequence number;
//!   when one is skipped it discards its map and takes a new snapshot, and
//!   [`CloneClient::recv`] reports [`Event::Resynced`]. This also repairs the
//!   guide's race where updates published between the snapshot and the arrival of
//!   the subscription are lost. A client on a subtree cannot tell a lost update from
//!   one to another subtree (the sequence is global), so it does not re-sync on gaps.
//! * **Heartbeats, from model six.** So that the loss of the *last* updates is seen
//!   too, the server publishes `["HUGZ", sequence, "", "", ""]` every
//!   [`ServerConfig::heartbeat`] (one second by default; `None` for none). Model
//!   five clients discard it: its sequence is not newer than what they have, unless
//!   they lost updates, in which case storing it deletes a key `HUGZ` they do not
//!   have. The key `HUGZ` is therefore reserved.
//! * **Snapshots never stall the server.** Each snapshot is a copy of the map's
//!   entries (reference-counted, no copy of keys or values) sent by its own task,
//!   waiting for the client at the snapshot socket's SNDHWM; at most
//!   [`ServerConfig::max_snapshots`] at a time, and a client that stops reading for
//!   [`ServerConfig::snapshot_stall`] is given up on. The guide's server sends the
//!   snapshot inline, and a ROUTER drops what does not fit under its SNDHWM.
//! * **A client retries its snapshot** after [`ClientConfig::snapshot_timeout`],
//!   on a fresh DEALER (a new routing id, so a late answer to the old request is
//!   not mixed in).
//! * **The `ttl` property travels as given.** The guide's servers overwrite it with
//!   the absolute expiry time (milliseconds in C, seconds in Python) before storing,
//!   so snapshots show that; ours keep the expiry apart and send the property as the
//!   client set it.
//! * **Trees of clusters.** A [`Relay`] is a clone client of an upstream server on
//!   a subtree and a clone server for its own clients: it re-publishes what it
//!   receives, with its own sequence numbers, and forwards its clients' changes
//!   upstream unchanged (UUID included, so the client that made a change still
//!   recognises it).
//!
//! Bad input from peers (wrong frame counts, a sequence that is not 8 bytes, a
//! snapshot request that is not `ICANHAZ?`, an update of the reserved keys `KTHXBAI`
//! or `HUGZ`, which would end snapshots early or pass for heartbeats) is logged and
//! dropped; the server keeps serving.

mod client;
mod hub;
mod kvmsg;
mod relay;
mod server;

pub use client::{ClientConfig, CloneClient, Event};
pub use kvmsg::{FRAMES, KvMsg, KvMsgError, TTL, Uuid};
pub use relay::Relay;
pub use server::{CloneServer, ServerConfig};

/// The key of the message that ends a snapshot.
pub const KTHXBAI: &str = "KTHXBAI";

/// The key of the heartbeat a server publishes with its current sequence (from the
/// guide's model six).
pub const HUGZ: &str = "HUGZ";

/// The request that asks for a snapshot.
pub const ICANHAZ: &str = "ICANHAZ?";

/// Something went wrong with the sockets of a clone server or client.
#[derive(Debug, thiserror::Error)]
pub enum CloneError {
    /// A socket failed (a bad endpoint, an address in use, a closed socket).
    #[error(transparent)]
    Socket(#[from] purezmq::Error),
    /// A key-value message could not be built.
    #[error(transparent)]
    KvMsg(#[from] KvMsgError),
}

/// The three endpoints of a clone server: snapshot (ROUTER), publisher (PUB) and
/// collector (PULL). The server binds them, clients connect to them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    /// Where snapshots are asked for.
    pub snapshot: String,
    /// Where updates are published.
    pub publisher: String,
    /// Where clients send their changes.
    pub collector: String,
}

impl Endpoints {
    /// The guide's layout: snapshot on `port`, publisher on `port + 1`, collector on
    /// `port + 2`, all tcp on `host` (`*` to bind on every interface).
    pub fn tcp(host: &str, port: u16) -> Endpoints {
        let at = |offset: u16| format!("tcp://{host}:{}", port.wrapping_add(offset));
        Endpoints {
            snapshot: at(0),
            publisher: at(1),
            collector: at(2),
        }
    }

    /// Three inproc endpoints named after `name`.
    pub fn inproc(name: &str) -> Endpoints {
        Endpoints {
            snapshot: format!("inproc://{name}-snapshot"),
            publisher: format!("inproc://{name}-publisher"),
            collector: format!("inproc://{name}-collector"),
        }
    }
}
