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
    idle: Mutex<Vec<Pooled>>,
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
        for endpoint in &pool.brokers {
            // Checks each endpoint; the first one's client is kept.
            purezmq::endpoint::Endpoint::parse(endpoint).map_err(purezmq::Error::from)?;
        }
        let first = pool.build()?;
        pool.give(first);
        Ok(pool)
    }

    /// Which broker new connections go to, as a number for
    /// [`endpoint`](Pool::endpoint) and [`broker_silent`](Pool::broker_silent).
    pub fn broker_generation(&self) -> usize {
        self.preferred.load(Ordering::Relaxed)
    }

    /// The endpoint of the broker a connection was made for.
    pub fn endpoint(&self, generation: usize) -> &str {
        let index = generation % self.brokers.len().max(1);
        self.brokers.get(index).map(String::as_str).unwrap_or("")
    }

    /// How many clients are idle.
    pub fn idle(&self) -> usize {
        self.idle.lock().map(|idle| idle.len()).unwrap_or(0)
    }

    /// An idle client, or a new one.
    pub fn take(&self) -> Result<Pooled, ClientError> {
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        match idle {
            Some(pooled) => Ok(pooled),
            None => self.build(),
        }
    }

    /// Gives back a client whose last request ended cleanly.
    pub fn give(&self, pooled: Pooled) {
        if pooled.generation != self.preferred.load(Ordering::Relaxed) {
            // Made for a broker that has since been left.
            return;
        }
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < self.max_idle
        {
            idle.push(pooled);
        }
    }

    /// The broker of `generation` did not answer: new clients try the next one
    /// (when there are several), and idle clients of the silent one are dropped.
    /// Many requests may find the same broker silent at once; it is left once.
    pub fn broker_silent(&self, generation: usize) {
        if self.brokers.len() > 1
            && self
                .preferred
                .compare_exchange(
                    generation,
                    generation.wrapping_add(1),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            tracing::warn!(
                silent = self.endpoint(generation),
                next = self.endpoint(generation.wrapping_add(1)),
                "the broker does not answer; moving to the next"
            );
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

    fn build(&self) -> Result<Pooled, ClientError> {
        let generation = self.preferred.load(Ordering::Relaxed);
        let client = Client::builder()
            .endpoint(self.endpoint(generation))
            // The gateway keeps the time itself, per request; an HTTP client retries
            // on its own.
            .timeout(None)
            .retries(0)
            .version(self.version)
            .options(self.options.clone())
            .build()?;
        Ok(Pooled { client, generation })
    }
}

/// A client of the pool, and which broker it was made for.
#[derive(Debug)]
pub struct Pooled {
    /// The client.
    pub client: Client,
    /// The pool's broker choice when it was made: see [`Pool::endpoint`].
    pub generation: usize,
}
