//! Titanic (RFC 9): requests stored on disk until their service replies, for clients
//! and workers that are not connected at the same time.
//!
//! A client sends `titanic.request` (a service name and a body) through the Majordomo
//! broker and gets a UUID back once the request is on disk; it asks `titanic.reply`
//! with that UUID until the reply is there (`300` means "not yet"), then tells
//! `titanic.close` it is done. Meanwhile Titanic calls the real service as a Majordomo
//! client, retrying while no worker offers it, and stores the reply.
//!
//! The module has two layers:
//! - No I/O: [`store`] keeps requests, replies and the pending queue in one redb file,
//!   each change one durable transaction; [`service`] answers the three services'
//!   requests over the store as functions from frames to frames, with RFC 9's status
//!   codes; [`frames`] is how a message is laid out inside a stored value; [`Uuid`] is the
//!   request identifier.
//! - I/O: [`dispatcher`] sends pending requests to their services through any
//!   [`Requester`] (the MDP client) and stores the replies, with backoff and a bound on
//!   calls in flight. [`server`] runs it all against a broker: three MDP workers whose
//!   handlers call [`service::handle`] (then [`Wakeup::wake`] after a
//!   `titanic.request`), and the dispatcher with [`MdpRequester`]. [`Titanic::serve`]
//!   starts them; `purezmq broker --titanic DIR` does so inside the broker.
//!
//! ```
//! use bytes::Bytes;
//! use purezmq_broker::titanic::{Lookup, Status, Store, Uuid, service};
//!
//! let dir = tempfile::tempdir()?;
//! let store = Store::open(dir.path(), 10_000)?;
//! let accepted = service::request(&store, &[Bytes::from("echo"), Bytes::from("hello")]);
//! assert_eq!(Status::parse(&accepted[0])?, Status::Ok);
//! let uuid = Uuid::parse(&accepted[1])?;
//!
//! // The dispatcher would call "echo" and store its reply:
//! store.complete(uuid, &[Bytes::from("hello")])?;
//! assert_eq!(store.reply(uuid)?, Lookup::Ready(vec![Bytes::from("hello")]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::PathBuf;

pub mod dispatcher;
pub mod frames;
pub mod server;
pub mod service;
pub mod store;
mod uuid;

pub use dispatcher::{Dispatcher, DispatcherConfig, RequestError, Requester, Wakeup};
pub use frames::FrameError;
pub use server::{
    DEFAULT_MAX_PENDING, MdpRequester, ServeError, Titanic, TitanicConfig, TitanicHandle,
};
pub use service::{Status, StatusError};
pub use store::{Completion, Lookup, PendingRequest, Store};
pub use uuid::{Uuid, UuidError};

/// What can go wrong in Titanic's store.
#[derive(Debug, thiserror::Error)]
pub enum TitanicError {
    /// The store's directory could not be created.
    #[error("cannot create the Titanic directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The store's file could not be opened or created (another process may hold it).
    #[error("cannot open the Titanic store {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        source: Box<redb::DatabaseError>,
    },
    /// A read or a transaction failed in the storage engine.
    #[error("the Titanic store failed: {0}")]
    Storage(Box<redb::Error>),
    /// A stored value is not in the format this build writes.
    #[error("the stored {table} entry for {uuid} is corrupt: {source}")]
    Corrupt {
        /// The table: `requests` or `replies`.
        table: &'static str,
        /// The request it belongs to.
        uuid: Uuid,
        /// What is wrong with it.
        source: FrameError,
    },
    /// The message cannot be stored in the value format.
    #[error("the message cannot be stored: {0}")]
    Encode(FrameError),
    /// As many requests as allowed are pending; new ones are refused until some finish.
    #[error("Titanic already holds {max_pending} pending requests, its limit; retry later")]
    Full {
        /// The limit given to [`Store::open`].
        max_pending: u64,
    },
    /// A store operation run off the async threads did not finish (it panicked or the
    /// runtime is shutting down).
    #[error("a Titanic store operation did not finish: {0}")]
    Blocking(String),
}
