//! Broker connections for the gateway: a pool of idle Majordomo clients, one per
//! request in flight, and a short memory of the services known to have workers.
//!
//! MDP has no request ids, and a [`Client`] keeps one request in flight, so each
//! HTTP request takes a client of its own: an idle one from the pool, or a new one
//! (a new DEALER, a new connection) when none is idle. A client goes back to the
//! pool after a clean reply and is dropped after a timeout or an error, so a late
//! reply can never be read by the next request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use purezmq::Options;
use tokio::time::Instant;

use crate::client::{Client, ClientError};
use crate::mdp::Version;

/// How long a service stays known to have workers after the broker said so (or a
/// worker answered). Only "has workers" is remembered: a worker that just arrived
/// is never hidden; one that just left shows as a timeout, after which the broker
/// is asked again.
const KNOWN_FOR: Duration = Duration::from_secs(1);

/// At most this many services are remembered.
const MAX_KNOWN: usize = 4096;

/// Idle clients, and how to make more.
#[derive(Debug)]
pub struct Pool {
    brokers: Vec<String>,
    options: Options,
    version: Version,
    max_idle: usize,
    idle: Mutex<Vec<Client>>,
    /// The broker new clients talk to first; moves on when one does not answer.
    preferred: AtomicUsize,
    known: Mutex<HashMap<Bytes, Instant>>,
}

impl Pool {
    /// A pool for these brokers; checks the settings by building one client.
    pub fn new(
        brokers: Vec<String>,
        options: Options,
        version: Version,
        max_idle: usize,
    ) -> Result<Pool, ClientError> {
        let pool = Pool {
            brokers,
            options,
            version,
            max_idle: max_idle.max(1),
            idle: Mutex::new(Vec::new()),
            preferred: AtomicUsize::new(0),
            known: Mutex::new(HashMap::new()),
        };
        let first = pool.build()?;
        pool.give(first);
        Ok(pool)
    }

    /// The broker endpoint requests go to first.
    pub fn broker(&self) -> &str {
        let index = self.preferred.load(Ordering::Relaxed) % self.brokers.len().max(1);
        self.brokers.get(index).map(String::as_str).unwrap_or("")
    }

    /// How many clients are idle.
    pub fn idle(&self) -> usize {
        self.idle.lock().map(|idle| idle.len()).unwrap_or(0)
    }

    /// An idle client, or a new one.
    pub fn take(&self) -> Result<Client, ClientError> {
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        match idle {
            Some(client) => Ok(client),
            None => self.build(),
        }
    }

    /// Gives back a client whose last request ended cleanly.
    pub fn give(&self, client: Client) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < self.max_idle
        {
            idle.push(client);
        }
    }

    /// The broker did not answer: new clients try the next one (when there are
    /// several), and idle clients of the silent one are dropped.
    pub fn broker_silent(&self) {
        if self.brokers.len() > 1 {
            self.preferred.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut idle) = self.idle.lock() {
                idle.clear();
            }
        }
    }

    /// Whether the broker said `service` has workers less than a second ago.
    pub fn known(&self, service: &Bytes) -> bool {
        self.known
            .lock()
            .ok()
            .and_then(|known| known.get(service).copied())
            .is_some_and(|since| since.elapsed() < KNOWN_FOR)
    }

    /// Remembers that `service` has workers now.
    pub fn remember(&self, service: &Bytes) {
        if let Ok(mut known) = self.known.lock() {
            if known.len() >= MAX_KNOWN && !known.contains_key(service) {
                known.retain(|_, since| since.elapsed() < KNOWN_FOR);
                if known.len() >= MAX_KNOWN {
                    return;
                }
            }
            known.insert(service.clone(), Instant::now());
        }
    }

    /// Forgets what is known of `service` (after a timeout).
    pub fn forget(&self, service: &Bytes) {
        if let Ok(mut known) = self.known.lock() {
            known.remove(service);
        }
    }

    fn build(&self) -> Result<Client, ClientError> {
        let first = self.preferred.load(Ordering::Relaxed);
        let count = self.brokers.len();
        let endpoints: Vec<&String> = (0..count)
            .filter_map(|i| self.brokers.get((first + i) % count.max(1)))
            .collect();
        Client::builder()
            .endpoints(endpoints)
            // The gateway keeps the time itself, per request; an HTTP client retries
            // on its own.
            .timeout(None)
            .retries(0)
            .version(self.version)
            .options(self.options.clone())
            .build()
    }
}
