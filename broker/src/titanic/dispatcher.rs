//! The dispatcher: takes pending requests from the store, calls their services, stores
//! the replies.
//!
//! It reads the pending queue a window at a time in acceptance order and keeps at most
//! [`DispatcherConfig::max_in_flight`] calls going through a [`Requester`] (the MDP
//! client in the broker; a fake in tests). A reply is stored with [`Store::complete`]
//! before the request leaves the queue. A failed call (no worker, timeout, broker
//! unreachable) puts its *service* on hold with an exponential backoff: the service's
//! requests wait, the other services' requests go on. When the hold ends, the service's
//! oldest request probes it alone; the others follow once it succeeds. With one call in
//! flight, a service therefore sees its requests in acceptance order.
//!
//! Delivery is at least once: if Titanic dies between a service's reply and the store's
//! commit, or the commit fails, the request is sent again. A request closed while it is
//! being called has its reply dropped ([`Completion::Closed`]).
//!
//! Notes for the MDP [`Requester`]: ask `mmi.service` first and return
//! [`RequestError::NoWorker`] on 404 (as the guide's Titanic does). Sending straight away
//! would leave a request queued in the broker for a service with no worker; if it timed
//! out here and a worker came later, the broker would deliver it and the retry, so the
//! service would run it twice.
//!
//! Known limit: the window is filled in acceptance order, so when it is full of requests
//! for held services, newer requests for other services wait until some of those finish
//! or are closed (raise [`DispatcherConfig::window`] if that matters).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::TitanicError;
use super::store::{Completion, PendingRequest, Store};

/// Sends one request to a service and waits for its reply: what the dispatcher needs
/// from an MDP client.
///
/// `request` takes `&self` so that several calls can be in flight at once; an
/// implementation with one outstanding request at a time serialises them itself.
pub trait Requester: Sync {
    /// Calls `service` with `body` and returns its reply frames.
    fn request(
        &self,
        service: &[u8],
        body: Vec<Bytes>,
    ) -> impl Future<Output = Result<Vec<Bytes>, RequestError>> + Send;
}

/// Why a call to a service did not return a reply; the dispatcher retries it later.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The broker has no worker for the service (MMI answered 404).
    #[error("no worker offers this service now")]
    NoWorker,
    /// No reply came within the time allowed.
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    /// The broker could not be reached or the call failed on the way.
    #[error("the call did not reach the service: {0}")]
    Failed(String),
}

/// How the dispatcher paces its calls.
#[derive(Debug, Clone)]
pub struct DispatcherConfig {
    /// Calls in flight at most.
    pub max_in_flight: usize,
    /// Pending requests held in memory at most (read from the store as calls finish).
    pub window: usize,
    /// A call with no reply after this long fails with [`RequestError::Timeout`].
    pub request_timeout: Duration,
    /// The first hold after a service's call failed; it doubles with each failure.
    pub retry_min: Duration,
    /// The longest hold.
    pub retry_max: Duration,
    /// How often the store is read for new requests when nothing woke the dispatcher.
    pub rescan: Duration,
}

impl Default for DispatcherConfig {
    fn default() -> Self {
        DispatcherConfig {
            max_in_flight: 16,
            window: 1024,
            request_timeout: Duration::from_secs(60),
            retry_min: Duration::from_millis(500),
            retry_max: Duration::from_secs(60),
            rescan: Duration::from_secs(5),
        }
    }
}

/// Tells a running [`Dispatcher`] that new requests were accepted.
#[derive(Debug, Clone)]
pub struct Wakeup(Arc<Notify>);

impl Wakeup {
    /// Makes the dispatcher read the store for new requests now.
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// Delivers the store's pending requests to their services (see the module docs).
#[derive(Debug)]
pub struct Dispatcher {
    store: Store,
    config: DispatcherConfig,
    wake: Arc<Notify>,
}

/// A service whose last call failed.
#[derive(Debug, Clone, Copy)]
struct Hold {
    failures: u32,
    until: Instant,
    /// After `until`, one call (the oldest request's, this sequence number) probes the
    /// service; the others wait for its result.
    probe: Option<u64>,
}

impl Dispatcher {
    /// A dispatcher for `store`'s pending requests.
    pub fn new(store: Store, config: DispatcherConfig) -> Dispatcher {
        Dispatcher {
            store,
            config,
            wake: Arc::new(Notify::new()),
        }
    }

    /// A handle to call after each accepted request, so it is sent without waiting for
    /// the next rescan.
    pub fn wakeup(&self) -> Wakeup {
        Wakeup(self.wake.clone())
    }

    /// Delivers pending requests through `requester`, forever. Dropping the future stops
    /// it at any point: unfinished requests stay pending in the store. One dispatcher
    /// per store: two would send each request twice.
    pub async fn run<R: Requester>(&mut self, requester: &R) {
        let config = &self.config;
        let max_in_flight = config.max_in_flight.max(1);
        let window = config.window.max(max_in_flight);
        let mut loaded: BTreeMap<u64, PendingRequest> = BTreeMap::new();
        let mut cursor = 0u64;
        let mut more_in_store = true;
        let mut in_flight: HashSet<u64> = HashSet::new();
        let mut holds: HashMap<Bytes, Hold> = HashMap::new();
        let mut store_hold: Option<Hold> = None;
        let mut calls = FuturesUnordered::new();
        let mut next_rescan = Instant::now() + config.rescan;

        loop {
            let now = Instant::now();
            let store_ok = store_hold.is_none_or(|hold| hold.until <= now);

            if store_ok && more_in_store && loaded.len() < window {
                let limit = window - loaded.len();
                match on_store(&self.store, move |store| store.pending_from(cursor, limit)).await {
                    Ok(found) => {
                        more_in_store = found.len() == limit;
                        for request in found {
                            cursor = request.seq + 1;
                            loaded.insert(request.seq, request);
                        }
                        store_hold = None;
                    }
                    Err(error) => {
                        tracing::error!(%error, "titanic: cannot read pending requests");
                        store_hold = Some(hold_after(store_hold, config));
                    }
                }
            }

            if store_ok {
                let now = Instant::now();
                for (seq, request) in &loaded {
                    if in_flight.len() >= max_in_flight {
                        break;
                    }
                    if in_flight.contains(seq) {
                        continue;
                    }
                    if let Some(hold) = holds.get_mut(&request.service) {
                        if hold.until > now || hold.probe.is_some() {
                            continue;
                        }
                        hold.probe = Some(*seq);
                    }
                    in_flight.insert(*seq);
                    calls.push(call(
                        requester,
                        config.request_timeout,
                        *seq,
                        request.service.clone(),
                        request.body.clone(),
                    ));
                }
            }

            let deadline = holds
                .values()
                .chain(store_hold.as_ref())
                .map(|hold| hold.until)
                .filter(|until| *until > now)
                .min()
                .map_or(next_rescan, |until| until.min(next_rescan));

            tokio::select! {
                Some((seq, result)) = calls.next(), if !calls.is_empty() => {
                    in_flight.remove(&seq);
                    let Some(request) = loaded.get(&seq) else { continue };
                    match result {
                        Ok(reply) => {
                            let uuid = request.uuid;
                            match on_store(&self.store, move |store| store.complete(uuid, &reply)).await {
                                Ok(completion) => {
                                    if completion == Completion::Closed {
                                        tracing::debug!(%uuid, "titanic: reply for a closed request dropped");
                                    }
                                    holds.remove(&request.service);
                                    loaded.remove(&seq);
                                    store_hold = None;
                                }
                                Err(error) => {
                                    // The request stays pending and is sent again.
                                    tracing::error!(%uuid, %error, "titanic: cannot store a reply");
                                    store_hold = Some(hold_after(store_hold, config));
                                }
                            }
                        }
                        Err(error) => {
                            let previous = holds.get(&request.service).copied();
                            let mut hold = hold_after(previous, config);
                            // A call started before the hold failed: a probe still in
                            // flight stays the only one.
                            hold.probe = previous.and_then(|h| h.probe).filter(|p| *p != seq);
                            tracing::info!(
                                uuid = %request.uuid,
                                service = %String::from_utf8_lossy(&request.service),
                                %error,
                                retry_in = ?hold.until.saturating_duration_since(Instant::now()),
                                "titanic: call failed, will retry"
                            );
                            holds.insert(request.service.clone(), hold);
                        }
                    }
                }
                () = self.wake.notified() => more_in_store = true,
                () = tokio::time::sleep_until(deadline) => {
                    if Instant::now() >= next_rescan {
                        more_in_store = true;
                        next_rescan = Instant::now() + config.rescan;
                    }
                    // A hold outlives its expiry to remember the failure count; forget
                    // those of services with no request left in memory.
                    if holds.len() > window {
                        holds.retain(|service, _| loaded.values().any(|r| r.service == service));
                    }
                }
            }
        }
    }
}

/// One call with the dispatcher's timeout; returns the request's sequence number with
/// the result.
async fn call<R: Requester>(
    requester: &R,
    timeout: Duration,
    seq: u64,
    service: Bytes,
    body: Vec<Bytes>,
) -> (u64, Result<Vec<Bytes>, RequestError>) {
    let result = tokio::time::timeout(timeout, requester.request(&service, body))
        .await
        .unwrap_or(Err(RequestError::Timeout(timeout)));
    (seq, result)
}

/// The hold after one more failure: `retry_min` doubled per earlier failure, at most
/// `retry_max`.
fn hold_after(previous: Option<Hold>, config: &DispatcherConfig) -> Hold {
    let failures = previous.map_or(1, |hold| hold.failures.saturating_add(1));
    let factor = 1u32 << (failures - 1).min(20);
    let delay = config
        .retry_min
        .saturating_mul(factor)
        .min(config.retry_max);
    Hold {
        failures,
        until: Instant::now() + delay,
        probe: None,
    }
}

/// Runs a store operation (a blocking, durable commit) off the async threads.
async fn on_store<T, F>(store: &Store, operation: F) -> Result<T, TitanicError>
where
    T: Send + 'static,
    F: FnOnce(&Store) -> Result<T, TitanicError> + Send + 'static,
{
    let store = store.clone();
    tokio::task::spawn_blocking(move || operation(&store))
        .await
        .map_err(|error| TitanicError::Blocking(error.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::titanic::{Lookup, Uuid};
    use std::sync::Mutex;

    /// Answers each request with its body prefixed by "re", failing the first
    /// `failures` calls with "no worker".
    struct Flaky {
        failures: Mutex<u32>,
        calls: Mutex<Vec<(Bytes, Bytes)>>,
    }

    impl Flaky {
        fn new(failures: u32) -> Flaky {
            Flaky {
                failures: Mutex::new(failures),
                calls: Mutex::new(Vec::new()),
            }
        }

        fn calls(&self) -> Vec<(Bytes, Bytes)> {
            self.calls.lock().unwrap().clone()
        }
    }

    impl Requester for Flaky {
        async fn request(
            &self,
            service: &[u8],
            body: Vec<Bytes>,
        ) -> Result<Vec<Bytes>, RequestError> {
            self.calls
                .lock()
                .unwrap()
                .push((Bytes::copy_from_slice(service), body[0].clone()));
            let mut failures = self.failures.lock().unwrap();
            if *failures > 0 {
                *failures -= 1;
                return Err(RequestError::NoWorker);
            }
            let mut reply = vec![Bytes::from_static(b"re")];
            reply.extend(body);
            Ok(reply)
        }
    }

    fn fast() -> DispatcherConfig {
        DispatcherConfig {
            max_in_flight: 1,
            retry_min: Duration::from_millis(5),
            retry_max: Duration::from_millis(20),
            ..DispatcherConfig::default()
        }
    }

    /// Runs the dispatcher until the store has no pending request (or 20 s pass).
    async fn run_until_done<R: Requester>(
        dispatcher: &mut Dispatcher,
        store: &Store,
        requester: &R,
    ) {
        let done = async {
            while store.pending_count().unwrap() > 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::select! {
            () = dispatcher.run(requester) => unreachable!("the dispatcher runs forever"),
            result = tokio::time::timeout(Duration::from_secs(20), done) => {
                result.expect("the pending requests were not delivered");
            }
        }
    }

    #[tokio::test]
    async fn a_call_that_fails_twice_is_retried_and_its_reply_stored_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 100).unwrap();
        let uuids: Vec<_> = [b"a", b"b", b"c"]
            .iter()
            .map(|body| store.accept(b"echo", &[body.as_slice()]).unwrap())
            .collect();
        let requester = Flaky::new(2);
        let mut dispatcher = Dispatcher::new(store.clone(), fast());
        run_until_done(&mut dispatcher, &store, &requester).await;

        let bodies: Vec<Bytes> = requester.calls().into_iter().map(|(_, b)| b).collect();
        assert_eq!(bodies, ["a", "a", "a", "b", "c"]);
        for (uuid, body) in uuids.iter().zip(["a", "b", "c"]) {
            assert_eq!(
                store.reply(*uuid).unwrap(),
                Lookup::Ready(vec![Bytes::from("re"), Bytes::from(body)])
            );
        }
    }

    #[tokio::test]
    async fn a_failing_service_does_not_hold_up_the_others() {
        /// "down" never answers until `up` is set; every other service echoes.
        struct OneDown(std::sync::atomic::AtomicBool);
        impl Requester for OneDown {
            async fn request(
                &self,
                service: &[u8],
                body: Vec<Bytes>,
            ) -> Result<Vec<Bytes>, RequestError> {
                if service == b"down" && !self.0.load(std::sync::atomic::Ordering::SeqCst) {
                    Err(RequestError::NoWorker)
                } else {
                    Ok(body)
                }
            }
        }

        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 100).unwrap();
        let stuck = store.accept(b"down", &[b"1".as_slice()]).unwrap();
        let fine = store.accept(b"up", &[b"2".as_slice()]).unwrap();
        let requester = OneDown(false.into());
        let mut dispatcher = Dispatcher::new(store.clone(), fast());

        let up_done = async {
            while store.reply(fine).unwrap() == Lookup::Pending {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::select! {
            () = dispatcher.run(&requester) => unreachable!(),
            result = tokio::time::timeout(Duration::from_secs(20), up_done) => result.unwrap(),
        }
        assert_eq!(store.reply(stuck).unwrap(), Lookup::Pending);

        requester.0.store(true, std::sync::atomic::Ordering::SeqCst);
        run_until_done(&mut dispatcher, &store, &requester).await;
        assert_eq!(
            store.reply(stuck).unwrap(),
            Lookup::Ready(vec![Bytes::from("1")])
        );
    }

    #[tokio::test]
    async fn requests_accepted_while_running_are_sent_on_wakeup() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 100).unwrap();
        let requester = Flaky::new(0);
        let config = DispatcherConfig {
            // No rescan during the test: only the wakeup can bring the request in.
            rescan: Duration::from_secs(3600),
            ..fast()
        };
        let mut dispatcher = Dispatcher::new(store.clone(), config);
        let wakeup = dispatcher.wakeup();
        let late = async {
            // Let the dispatcher find the store empty first.
            tokio::time::sleep(Duration::from_millis(50)).await;
            let uuid = store.accept(b"echo", &[b"late".as_slice()]).unwrap();
            wakeup.wake();
            while store.reply(uuid).unwrap() == Lookup::Pending {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::select! {
            () = dispatcher.run(&requester) => unreachable!(),
            result = tokio::time::timeout(Duration::from_secs(20), late) => result.unwrap(),
        }
        assert_eq!(requester.calls().len(), 1);
    }

    #[tokio::test]
    async fn a_call_with_no_reply_times_out_and_is_retried() {
        /// Never answers the first call.
        struct Silent(Mutex<bool>);
        impl Requester for Silent {
            async fn request(
                &self,
                _service: &[u8],
                body: Vec<Bytes>,
            ) -> Result<Vec<Bytes>, RequestError> {
                let first = std::mem::replace(&mut *self.0.lock().unwrap(), false);
                if first {
                    futures::future::pending::<()>().await;
                }
                Ok(body)
            }
        }

        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 100).unwrap();
        let uuid = store.accept(b"slow", &[b"x".as_slice()]).unwrap();
        let requester = Silent(Mutex::new(true));
        let config = DispatcherConfig {
            request_timeout: Duration::from_millis(50),
            ..fast()
        };
        let mut dispatcher = Dispatcher::new(store.clone(), config);
        run_until_done(&mut dispatcher, &store, &requester).await;
        assert_eq!(
            store.reply(uuid).unwrap(),
            Lookup::Ready(vec![Bytes::from("x")])
        );
    }

    #[tokio::test]
    async fn a_held_service_is_probed_by_its_oldest_request_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 100).unwrap();
        for body in ["a", "b", "c", "d"] {
            store.accept(b"echo", &[body]).unwrap();
        }
        // Four calls may run at once; the first round fails all four, then the probes
        // fail twice more.
        let requester = Flaky::new(6);
        let mut dispatcher = Dispatcher::new(
            store.clone(),
            DispatcherConfig {
                max_in_flight: 4,
                ..fast()
            },
        );
        run_until_done(&mut dispatcher, &store, &requester).await;
        let bodies: Vec<Bytes> = requester.calls().into_iter().map(|(_, b)| b).collect();
        assert_eq!(bodies[..4], ["a", "b", "c", "d"]);
        assert_eq!(bodies[4..7], ["a", "a", "a"]);
        let mut rest = bodies[7..].to_vec();
        rest.sort();
        assert_eq!(rest, ["b", "c", "d"]);
    }

    #[tokio::test]
    async fn no_more_than_max_in_flight_calls_at_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        /// Counts calls in progress; each call yields a few times before answering.
        struct Counting {
            now: AtomicUsize,
            most: AtomicUsize,
        }
        impl Requester for Counting {
            async fn request(
                &self,
                _service: &[u8],
                body: Vec<Bytes>,
            ) -> Result<Vec<Bytes>, RequestError> {
                let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
                self.most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(2)).await;
                self.now.fetch_sub(1, Ordering::SeqCst);
                Ok(body)
            }
        }

        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 100).unwrap();
        for i in 0..20u8 {
            store.accept(b"svc", &[[i]]).unwrap();
        }
        let requester = Counting {
            now: AtomicUsize::new(0),
            most: AtomicUsize::new(0),
        };
        let mut dispatcher = Dispatcher::new(
            store.clone(),
            DispatcherConfig {
                max_in_flight: 3,
                ..fast()
            },
        );
        run_until_done(&mut dispatcher, &store, &requester).await;
        let most = requester.most.load(Ordering::SeqCst);
        assert!(most <= 3, "{most} calls were in flight at once");
        assert!(most >= 2, "calls did not overlap at all");
    }

    #[tokio::test]
    async fn a_reply_to_a_request_closed_during_the_call_is_dropped() {
        /// Closes the request in the store while "calling" the service for it.
        struct Closer(Store, Uuid);
        impl Requester for Closer {
            async fn request(
                &self,
                _service: &[u8],
                body: Vec<Bytes>,
            ) -> Result<Vec<Bytes>, RequestError> {
                if body[0] == "closed" {
                    self.0.close(self.1).unwrap();
                }
                Ok(body)
            }
        }

        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 100).unwrap();
        let closed = store.accept(b"svc", &[b"closed".as_slice()]).unwrap();
        let next = store.accept(b"svc", &[b"next".as_slice()]).unwrap();
        let requester = Closer(store.clone(), closed);
        // One call at a time: "next" is sent only after the reply for "closed" was
        // handed to the store.
        let mut dispatcher = Dispatcher::new(store.clone(), fast());
        let next_done = async {
            while store.reply(next).unwrap() == Lookup::Pending {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::select! {
            () = dispatcher.run(&requester) => unreachable!(),
            result = tokio::time::timeout(Duration::from_secs(20), next_done) => result.unwrap(),
        }
        assert_eq!(store.reply(closed).unwrap(), Lookup::Unknown);
        assert_eq!(
            store.reply(next).unwrap(),
            Lookup::Ready(vec![Bytes::from("next")])
        );
    }

    #[test]
    fn holds_double_up_to_the_maximum() {
        let config = DispatcherConfig {
            retry_min: Duration::from_millis(100),
            retry_max: Duration::from_millis(1000),
            ..DispatcherConfig::default()
        };
        let mut hold = None;
        let mut delays = Vec::new();
        for _ in 0..6 {
            let before = Instant::now();
            let next = hold_after(hold, &config);
            // Round down to the 100 ms step to ignore the time between the two reads.
            delays.push(next.until.duration_since(before).as_millis() / 100 * 100);
            hold = Some(next);
        }
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
    }
}
