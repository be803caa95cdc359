//! Titanic on the network: three MDP workers (`titanic.request`, `titanic.reply`,
//! `titanic.close`) and the [`Dispatcher`] with an MDP client, all against one
//! broker endpoint.
//!
//! [`Titanic::serve`] works with any Majordomo broker: ours (in-process, as
//! `purezmq broker --titanic DIR` runs it, or in another process) or another
//! implementation. The workers answer from the [`Store`] (on the blocking threads,
//! since each change is a durable commit) and wake the dispatcher after each accepted
//! request. The dispatcher calls services through [`MdpRequester`], which asks
//! `mmi.service` first and sends the request only when a worker offers the service.
//!
//! ```no_run
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use purezmq_broker::titanic::{Titanic, TitanicConfig};
//!
//! let titanic = Titanic::new("/var/lib/titanic".as_ref(), TitanicConfig::default())?;
//! let handle = titanic.serve("tcp://127.0.0.1:5555")?;
//! // ... until it is time to stop:
//! handle.stop().await;
//! # Ok(())
//! # }
//! ```

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use purezmq::Options;
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;

use super::TitanicError;
use super::dispatcher::{Dispatcher, DispatcherConfig, RequestError, Requester, Wakeup};
use super::service::{self, Status};
use super::store::Store;
use crate::client::{Client, ClientError};
use crate::worker::{self, Request, Worker};

/// The most pending requests kept on disk, by default.
pub const DEFAULT_MAX_PENDING: u64 = 100_000;

/// The longest a service without a worker waits between two `mmi.service` probes,
/// by default: the most a request waits after its worker appears. An MMI question is
/// cheap, so this is shorter than the dispatcher's own default.
pub const DEFAULT_RETRY_MAX: Duration = Duration::from_secs(5);

/// How Titanic runs.
#[derive(Debug, Clone)]
pub struct TitanicConfig {
    /// The most requests waiting for a reply; `titanic.request` answers `500` when
    /// the store holds that many. Default [`DEFAULT_MAX_PENDING`].
    pub max_pending: u64,
    /// How the dispatcher paces its calls to services. Default: the dispatcher's,
    /// but with holds of at most [`DEFAULT_RETRY_MAX`].
    pub dispatcher: DispatcherConfig,
    /// The workers' heartbeat interval; should match the broker's. Default 2.5 s.
    pub heartbeat: Duration,
    /// The workers' liveness (heartbeat intervals of silence before the broker counts
    /// as gone). Default 3.
    pub liveness: u32,
    /// How long the dispatcher's `mmi.service` question waits for the broker's
    /// answer. Default 2.5 s.
    pub mmi_timeout: Duration,
    /// Socket options for the workers' and the client's DEALERs (CURVE with the
    /// broker's public key, say). Default: libzmq's.
    pub options: Options,
}

impl Default for TitanicConfig {
    fn default() -> Self {
        TitanicConfig {
            max_pending: DEFAULT_MAX_PENDING,
            dispatcher: DispatcherConfig {
                retry_max: DEFAULT_RETRY_MAX,
                ..DispatcherConfig::default()
            },
            heartbeat: worker::DEFAULT_HEARTBEAT,
            liveness: worker::DEFAULT_LIVENESS,
            mmi_timeout: crate::client::DEFAULT_TIMEOUT,
            options: Options::default(),
        }
    }
}

/// Why Titanic could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The broker endpoint or the socket options cannot be used.
    #[error("Titanic cannot reach the broker: {0}")]
    Client(#[from] ClientError),
}

/// Titanic with its store open, ready to [`serve`](Titanic::serve) a broker.
#[derive(Debug)]
pub struct Titanic {
    store: Store,
    config: TitanicConfig,
}

impl Titanic {
    /// Opens (or creates) the store in `dir`. Fails when another process holds it.
    pub fn new(dir: &Path, config: TitanicConfig) -> Result<Titanic, TitanicError> {
        let store = Store::open(dir, config.max_pending)?;
        Ok(Titanic { store, config })
    }

    /// The store, for reading what Titanic holds.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Registers the three workers at the broker at `endpoint` and starts the
    /// dispatcher, on the current tokio runtime. Requests accepted before a restart
    /// are delivered too: they are still pending in the store.
    pub fn serve(self, endpoint: &str) -> Result<TitanicHandle, ServeError> {
        let requester = MdpRequester::new(
            endpoint,
            self.config.options.clone(),
            self.config.mmi_timeout,
        )?;
        let mut dispatcher = Dispatcher::new(self.store.clone(), self.config.dispatcher.clone());
        let wakeup = dispatcher.wakeup();
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Vec::new();

        for name in [service::REQUEST, service::REPLY, service::CLOSE] {
            let worker = Worker::new(endpoint, name)
                .heartbeat(self.config.heartbeat)
                .liveness(self.config.liveness)
                .options(self.config.options.clone());
            let handler = ServiceHandler {
                name,
                store: self.store.clone(),
                wakeup: wakeup.clone(),
            };
            let handler = move |request: Request| {
                let handler = handler.clone();
                async move { handler.answer(request.body).await }
            };
            let mut stopped = stopped.clone();
            tasks.push(tokio::spawn(async move {
                let shutdown = async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                };
                if let Err(error) = worker.run(handler, shutdown).await {
                    tracing::error!(service = name, %error, "titanic: a worker stopped");
                }
            }));
        }

        let mut stopped = stopped.clone();
        tasks.push(tokio::spawn(async move {
            tokio::select! {
                () = dispatcher.run(&requester) => {}
                _ = stopped.wait_for(|stop| *stop) => {}
            }
        }));
        tracing::info!(store = %self.store.path().display(), %endpoint, "titanic serving");
        Ok(TitanicHandle { stop, tasks })
    }
}

/// One of the three services' worker handler.
#[derive(Debug, Clone)]
struct ServiceHandler {
    name: &'static str,
    store: Store,
    wakeup: Wakeup,
}

impl ServiceHandler {
    async fn answer(&self, body: Vec<Bytes>) -> Vec<Bytes> {
        let store = self.store.clone();
        let name = self.name;
        let answered =
            tokio::task::spawn_blocking(move || service::handle(&store, name.as_bytes(), &body))
                .await;
        match answered {
            Ok(Some(reply)) => {
                let accepted = reply
                    .first()
                    .is_some_and(|status| Status::parse(status) == Ok(Status::Ok));
                if name == service::REQUEST && accepted {
                    self.wakeup.wake();
                }
                reply
            }
            Ok(None) => vec![Status::Unknown.frame("not a Titanic service")],
            Err(error) => {
                tracing::error!(service = name, %error, "titanic: a store operation did not finish");
                vec![Status::Error.frame("internal error; retry later")]
            }
        }
    }
}

/// A running Titanic. Dropping the handle stops it too, without waiting.
#[derive(Debug)]
pub struct TitanicHandle {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl TitanicHandle {
    /// Sends DISCONNECT from the three workers, stops the dispatcher (unfinished
    /// requests stay pending in the store) and waits for all of it.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            if let Err(error) = task.await {
                tracing::warn!(%error, "titanic: a task ended abnormally");
            }
        }
    }
}

/// The dispatcher's [`Requester`] over MDP clients: asks `mmi.service` first and
/// answers [`RequestError::NoWorker`] on 404, so that no request waits in the broker
/// for a service without a worker (and is then run twice); then sends the request
/// on a client of its own, one per call in flight (an MDP client has one request in
/// flight at a time), kept for the next call when it succeeds.
#[derive(Debug)]
pub struct MdpRequester {
    mmi: Client,
    endpoint: String,
    options: Options,
    idle: Mutex<Vec<Client>>,
}

impl MdpRequester {
    /// A requester through the broker at `endpoint`; `mmi_timeout` bounds each
    /// `mmi.service` question.
    pub fn new(
        endpoint: &str,
        options: Options,
        mmi_timeout: Duration,
    ) -> Result<MdpRequester, ClientError> {
        let mmi = Client::builder()
            .endpoint(endpoint)
            .timeout(mmi_timeout)
            .retries(0)
            .options(options.clone())
            .build()?;
        Ok(MdpRequester {
            mmi,
            endpoint: endpoint.to_owned(),
            options,
            idle: Mutex::new(Vec::new()),
        })
    }

    async fn client(&self) -> Result<Client, ClientError> {
        if let Some(client) = self.idle.lock().await.pop() {
            return Ok(client);
        }
        // No timeout of its own: the dispatcher's bounds the call, and a cancelled
        // call drops the client's socket.
        Client::builder()
            .endpoint(self.endpoint.as_str())
            .timeout(None)
            .retries(0)
            .options(self.options.clone())
            .build()
    }
}

impl Requester for MdpRequester {
    async fn request(&self, service: &[u8], body: Vec<Bytes>) -> Result<Vec<Bytes>, RequestError> {
        let service = Bytes::copy_from_slice(service);
        match self.mmi.has_service(service.clone()).await {
            Ok(true) => {}
            Ok(false) => return Err(RequestError::NoWorker),
            Err(error) => return Err(RequestError::Failed(error.to_string())),
        }
        let client = self
            .client()
            .await
            .map_err(|error| RequestError::Failed(error.to_string()))?;
        let reply = client
            .request(service, body)
            .await
            .map_err(|error| RequestError::Failed(error.to_string()))?;
        self.idle.lock().await.push(client);
        Ok(reply)
    }
}

impl MdpRequester {
    /// The broker endpoint the requester calls through.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}
