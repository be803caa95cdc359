//! Titanic's persistent store: requests, replies and the pending queue in one redb file.
//!
//! Four tables, all changed together in one durable write transaction per operation:
//!
//! | table       | key         | value                                        |
//! |-------------|-------------|----------------------------------------------|
//! | `requests`  | UUID bytes  | frames: the service name, then the body      |
//! | `replies`   | UUID bytes  | frames: the service's reply                  |
//! | `pending`   | sequence    | UUID bytes, in acceptance order              |
//! | `queued`    | UUID bytes  | its sequence number in `pending`             |
//!
//! Frames are stored in the format of the [`super::frames`] module. A request is pending
//! from [`Store::accept`] until [`Store::complete`] stores its reply (the request body is
//! dropped then: the reply is all a client can still ask for) or [`Store::close`] forgets
//! it. The sequence numbers grow from the last pending one, so after a restart
//! [`Store::pending`] gives the requests in the order they were accepted.
//!
//! Every operation returns only once its transaction is on disk (redb's
//! `Durability::Immediate`), so a "200" sent after [`Store::accept`] returned survives
//! `kill -9` and power loss. The calls block on that `fsync`: from async code, run them
//! with `tokio::task::spawn_blocking` (the [`Store`] is a cheap clone).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use redb::{Database, Durability, ReadableTable, ReadableTableMetadata, TableDefinition};

use super::frames::{self, FrameError};
use super::{TitanicError, Uuid};

/// The name of the store's file inside the directory given to [`Store::open`].
pub const FILE_NAME: &str = "titanic.redb";

const REQUESTS: TableDefinition<&[u8; 16], &[u8]> = TableDefinition::new("requests");
const REPLIES: TableDefinition<&[u8; 16], &[u8]> = TableDefinition::new("replies");
const PENDING: TableDefinition<u64, &[u8; 16]> = TableDefinition::new("pending");
const QUEUED: TableDefinition<&[u8; 16], u64> = TableDefinition::new("queued");

/// Titanic's requests and replies on disk; clones share the same open database.
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
    path: Arc<PathBuf>,
    max_pending: u64,
}

/// A request waiting for its service's reply, as [`Store::pending`] gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRequest {
    /// Its place in the acceptance order (grows with each accepted request).
    pub seq: u64,
    /// The identifier the client holds.
    pub uuid: Uuid,
    /// The service to call.
    pub service: Bytes,
    /// The request's frames for that service.
    pub body: Vec<Bytes>,
}

/// What [`Store::reply`] knows about a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The service replied with these frames.
    Ready(Vec<Bytes>),
    /// The request is stored and has no reply yet.
    Pending,
    /// No such request: never accepted, or closed.
    Unknown,
}

/// What [`Store::complete`] did with a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// The reply is stored and the request is no longer pending.
    Stored,
    /// The request already had a reply; the first one is kept.
    AlreadyComplete,
    /// The request was closed (or never accepted); the reply is dropped.
    Closed,
}

impl Store {
    /// Opens the store in `dir` (creating the directory and [`FILE_NAME`] in it if
    /// missing); [`Store::accept`] refuses new requests while `max_pending` are pending.
    pub fn open(dir: &Path, max_pending: u64) -> Result<Store, TitanicError> {
        std::fs::create_dir_all(dir).map_err(|source| TitanicError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(FILE_NAME);
        let db = Database::create(&path).map_err(|source| TitanicError::Open {
            path: path.clone(),
            source: Box::new(source),
        })?;
        let mut txn = db.begin_write().map_err(storage)?;
        txn.set_durability(Durability::Immediate);
        {
            txn.open_table(REQUESTS).map_err(storage)?;
            txn.open_table(REPLIES).map_err(storage)?;
            txn.open_table(PENDING).map_err(storage)?;
            txn.open_table(QUEUED).map_err(storage)?;
        }
        txn.commit().map_err(storage)?;
        Ok(Store {
            db: Arc::new(db),
            path: Arc::new(path),
            max_pending,
        })
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stores a request for `service` with `body` as pending, on disk, and returns its
    /// new identifier; [`TitanicError::Full`] when `max_pending` are already pending.
    pub fn accept<B: AsRef<[u8]>>(&self, service: &[u8], body: &[B]) -> Result<Uuid, TitanicError> {
        let mut message: Vec<&[u8]> = Vec::with_capacity(1 + body.len());
        message.push(service);
        message.extend(body.iter().map(AsRef::as_ref));
        let value = frames::encode(&message).map_err(TitanicError::Encode)?;

        let mut txn = self.db.begin_write().map_err(storage)?;
        txn.set_durability(Durability::Immediate);
        let uuid = {
            let mut requests = txn.open_table(REQUESTS).map_err(storage)?;
            let replies = txn.open_table(REPLIES).map_err(storage)?;
            let mut pending = txn.open_table(PENDING).map_err(storage)?;
            let mut queued = txn.open_table(QUEUED).map_err(storage)?;
            if pending.len().map_err(storage)? >= self.max_pending {
                return Err(TitanicError::Full {
                    max_pending: self.max_pending,
                });
            }
            let seq = match pending.last().map_err(storage)? {
                // u64 sequence numbers do not run out in practice; if they did, the
                // store would refuse requests rather than reorder them.
                Some((last, _)) => last.value().checked_add(1).ok_or(TitanicError::Full {
                    max_pending: self.max_pending,
                })?,
                None => 0,
            };
            // 128 random bits do not collide in practice; checking costs two lookups.
            let uuid = loop {
                let uuid = Uuid::random();
                let key = uuid.as_bytes();
                if requests.get(key).map_err(storage)?.is_none()
                    && replies.get(key).map_err(storage)?.is_none()
                {
                    break uuid;
                }
            };
            requests
                .insert(uuid.as_bytes(), value.as_slice())
                .map_err(storage)?;
            pending.insert(seq, uuid.as_bytes()).map_err(storage)?;
            queued.insert(uuid.as_bytes(), seq).map_err(storage)?;
            uuid
        };
        txn.commit().map_err(storage)?;
        Ok(uuid)
    }

    /// Every pending request, in the order they were accepted.
    pub fn pending(&self) -> Result<Vec<PendingRequest>, TitanicError> {
        self.pending_from(0, usize::MAX)
    }

    /// Up to `limit` pending requests with a sequence number of `first_seq` or more, in
    /// acceptance order (the dispatcher reads the queue a window at a time).
    pub fn pending_from(
        &self,
        first_seq: u64,
        limit: usize,
    ) -> Result<Vec<PendingRequest>, TitanicError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let pending = txn.open_table(PENDING).map_err(storage)?;
        let requests = txn.open_table(REQUESTS).map_err(storage)?;
        let mut found = Vec::new();
        for entry in pending.range(first_seq..).map_err(storage)? {
            if found.len() >= limit {
                break;
            }
            let (seq, uuid) = entry.map_err(storage)?;
            let (seq, uuid) = (seq.value(), Uuid::from_bytes(*uuid.value()));
            let Some(value) = requests.get(uuid.as_bytes()).map_err(storage)? else {
                // Transactions keep the tables in step; this is a bug, not peer input.
                tracing::error!(%uuid, seq, "titanic: pending entry without its request, skipped");
                continue;
            };
            let mut message = frames::decode(Bytes::copy_from_slice(value.value()))
                .map_err(|source| corrupt("requests", uuid, source))?;
            if message.is_empty() {
                return Err(corrupt(
                    "requests",
                    uuid,
                    FrameError::Truncated { needed: 1, left: 0 },
                ));
            }
            let service = message.remove(0);
            found.push(PendingRequest {
                seq,
                uuid,
                service,
                body: message,
            });
        }
        Ok(found)
    }

    /// How many requests are pending.
    pub fn pending_count(&self) -> Result<u64, TitanicError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let pending = txn.open_table(PENDING).map_err(storage)?;
        pending.len().map_err(storage)
    }

    /// Stores the service's reply for `uuid` and takes the request off the pending
    /// queue, on disk. A request closed meanwhile stays closed (the reply is dropped), and
    /// a second reply for the same request leaves the first in place.
    pub fn complete<B: AsRef<[u8]>>(
        &self,
        uuid: Uuid,
        reply: &[B],
    ) -> Result<Completion, TitanicError> {
        let value = frames::encode(reply).map_err(TitanicError::Encode)?;
        let key = uuid.as_bytes();
        let mut txn = self.db.begin_write().map_err(storage)?;
        txn.set_durability(Durability::Immediate);
        let completion = {
            let mut requests = txn.open_table(REQUESTS).map_err(storage)?;
            let mut replies = txn.open_table(REPLIES).map_err(storage)?;
            let mut pending = txn.open_table(PENDING).map_err(storage)?;
            let mut queued = txn.open_table(QUEUED).map_err(storage)?;
            if replies.get(key).map_err(storage)?.is_some() {
                Completion::AlreadyComplete
            } else {
                let seq = queued.remove(key).map_err(storage)?.map(|seq| seq.value());
                match seq {
                    None => Completion::Closed,
                    Some(seq) => {
                        pending.remove(seq).map_err(storage)?;
                        requests.remove(key).map_err(storage)?;
                        replies.insert(key, value.as_slice()).map_err(storage)?;
                        Completion::Stored
                    }
                }
            }
        };
        if completion == Completion::Stored {
            txn.commit().map_err(storage)?;
        } else {
            txn.abort().map_err(storage)?;
        }
        Ok(completion)
    }

    /// The reply for `uuid` if there is one, else whether the request is pending.
    pub fn reply(&self, uuid: Uuid) -> Result<Lookup, TitanicError> {
        let key = uuid.as_bytes();
        let txn = self.db.begin_read().map_err(storage)?;
        let replies = txn.open_table(REPLIES).map_err(storage)?;
        if let Some(value) = replies.get(key).map_err(storage)? {
            let frames = frames::decode(Bytes::copy_from_slice(value.value()))
                .map_err(|source| corrupt("replies", uuid, source))?;
            return Ok(Lookup::Ready(frames));
        }
        let queued = txn.open_table(QUEUED).map_err(storage)?;
        if queued.get(key).map_err(storage)?.is_some() {
            Ok(Lookup::Pending)
        } else {
            Ok(Lookup::Unknown)
        }
    }

    /// Forgets `uuid`'s request, reply and pending entry, on disk; closing an unknown or
    /// already closed request does nothing.
    pub fn close(&self, uuid: Uuid) -> Result<(), TitanicError> {
        let key = uuid.as_bytes();
        let mut txn = self.db.begin_write().map_err(storage)?;
        txn.set_durability(Durability::Immediate);
        {
            let mut requests = txn.open_table(REQUESTS).map_err(storage)?;
            let mut replies = txn.open_table(REPLIES).map_err(storage)?;
            let mut pending = txn.open_table(PENDING).map_err(storage)?;
            let mut queued = txn.open_table(QUEUED).map_err(storage)?;
            let seq = queued.remove(key).map_err(storage)?.map(|seq| seq.value());
            if let Some(seq) = seq {
                pending.remove(seq).map_err(storage)?;
            }
            requests.remove(key).map_err(storage)?;
            replies.remove(key).map_err(storage)?;
        }
        txn.commit().map_err(storage)?;
        Ok(())
    }
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("max_pending", &self.max_pending)
            .finish_non_exhaustive()
    }
}

fn storage(error: impl Into<redb::Error>) -> TitanicError {
    TitanicError::Storage(Box::new(error.into()))
}

fn corrupt(table: &'static str, uuid: Uuid, source: FrameError) -> TitanicError {
    TitanicError::Corrupt {
        table,
        uuid,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &tempfile::TempDir) -> Store {
        Store::open(dir.path(), 100).unwrap()
    }

    fn frames(list: &[&'static [u8]]) -> Vec<Bytes> {
        list.iter().map(|f| Bytes::from_static(f)).collect()
    }

    #[test]
    fn an_accepted_request_is_pending_until_completed() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir);
        let uuid = store.accept(b"echo", &[b"hello".as_slice()]).unwrap();
        assert_eq!(store.reply(uuid).unwrap(), Lookup::Pending);
        let pending = store.pending().unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].uuid, uuid);
        assert_eq!(pending[0].service, Bytes::from_static(b"echo"));
        assert_eq!(pending[0].body, frames(&[b"hello"]));

        assert_eq!(
            store
                .complete(uuid, &frames(&[b"hello", b"again"]))
                .unwrap(),
            Completion::Stored
        );
        assert!(store.pending().unwrap().is_empty());
        assert_eq!(
            store.reply(uuid).unwrap(),
            Lookup::Ready(frames(&[b"hello", b"again"]))
        );
        // titanic.reply is idempotent: the reply stays until closed.
        assert_eq!(
            store.reply(uuid).unwrap(),
            Lookup::Ready(frames(&[b"hello", b"again"]))
        );
    }

    #[test]
    fn a_second_reply_keeps_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir);
        let uuid = store.accept(b"echo", &[b"x".as_slice()]).unwrap();
        store.complete(uuid, &frames(&[b"first"])).unwrap();
        assert_eq!(
            store.complete(uuid, &frames(&[b"second"])).unwrap(),
            Completion::AlreadyComplete
        );
        assert_eq!(
            store.reply(uuid).unwrap(),
            Lookup::Ready(frames(&[b"first"]))
        );
    }

    #[test]
    fn a_reply_for_a_closed_request_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir);
        let uuid = store.accept(b"echo", &[b"x".as_slice()]).unwrap();
        store.close(uuid).unwrap();
        assert!(store.pending().unwrap().is_empty());
        assert_eq!(
            store.complete(uuid, &frames(&[b"late"])).unwrap(),
            Completion::Closed
        );
        assert_eq!(store.reply(uuid).unwrap(), Lookup::Unknown);
    }

    #[test]
    fn close_forgets_a_reply_and_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir);
        let uuid = store.accept(b"echo", &[b"x".as_slice()]).unwrap();
        store.complete(uuid, &frames(&[b"x"])).unwrap();
        store.close(uuid).unwrap();
        assert_eq!(store.reply(uuid).unwrap(), Lookup::Unknown);
        store.close(uuid).unwrap();
        store.close(Uuid::random()).unwrap();
        assert_eq!(store.reply(uuid).unwrap(), Lookup::Unknown);
    }

    #[test]
    fn pending_keeps_acceptance_order_and_reads_in_windows() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir);
        let uuids: Vec<Uuid> = (0..5u8)
            .map(|i| store.accept(b"svc", &[[i]]).unwrap())
            .collect();
        store.complete(uuids[1], &frames(&[b"done"])).unwrap();
        let order: Vec<Uuid> = store.pending().unwrap().iter().map(|p| p.uuid).collect();
        assert_eq!(order, [uuids[0], uuids[2], uuids[3], uuids[4]]);

        let first = store.pending_from(0, 2).unwrap();
        assert_eq!(first.len(), 2);
        let rest = store.pending_from(first[1].seq + 1, 10).unwrap();
        let order: Vec<Uuid> = first.iter().chain(&rest).map(|p| p.uuid).collect();
        assert_eq!(order, [uuids[0], uuids[2], uuids[3], uuids[4]]);
        assert_eq!(store.pending_count().unwrap(), 4);
    }

    #[test]
    fn accept_refuses_beyond_max_pending() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 2).unwrap();
        let first = store.accept(b"svc", &[b"1".as_slice()]).unwrap();
        store.accept(b"svc", &[b"2".as_slice()]).unwrap();
        assert!(matches!(
            store.accept(b"svc", &[b"3".as_slice()]),
            Err(TitanicError::Full { max_pending: 2 })
        ));
        store.complete(first, &frames(&[b"ok"])).unwrap();
        store.accept(b"svc", &[b"3".as_slice()]).unwrap();
    }

    #[test]
    fn a_request_with_no_body_frames_is_kept_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir);
        let uuid = store.accept::<&[u8]>(b"ping", &[]).unwrap();
        let pending = store.pending().unwrap();
        assert_eq!(pending[0].uuid, uuid);
        assert!(pending[0].body.is_empty());
        store.complete::<&[u8]>(uuid, &[]).unwrap();
        assert_eq!(store.reply(uuid).unwrap(), Lookup::Ready(Vec::new()));
    }

    #[test]
    fn corrupt_values_are_reported_not_decoded() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir);
        let pending = store.accept(b"svc", &[b"body".as_slice()]).unwrap();
        let done = store.accept(b"svc", &[b"body".as_slice()]).unwrap();
        store.complete(done, &frames(&[b"reply"])).unwrap();

        let txn = store.db.begin_write().unwrap();
        {
            let mut requests = txn.open_table(REQUESTS).unwrap();
            requests
                .insert(pending.as_bytes(), [1u8, 9, 0, 0, 0].as_slice())
                .unwrap();
            let mut replies = txn.open_table(REPLIES).unwrap();
            replies
                .insert(done.as_bytes(), [1u8, 1, 0, 0, 0, 200, 0, 0, 0].as_slice())
                .unwrap();
        }
        txn.commit().unwrap();

        assert!(matches!(
            store.pending(),
            Err(TitanicError::Corrupt { table: "requests", uuid, source: FrameError::TooManyFrames { .. } })
                if uuid == pending
        ));
        assert!(matches!(
            store.reply(done),
            Err(TitanicError::Corrupt { table: "replies", uuid, source: FrameError::Truncated { .. } })
                if uuid == done
        ));
    }

    #[test]
    fn a_second_open_of_the_same_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let _store = open(&dir);
        assert!(matches!(
            Store::open(dir.path(), 100),
            Err(TitanicError::Open { .. })
        ));
    }
}
