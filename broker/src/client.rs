//! A Majordomo client: requests to named services through one broker or several,
//! with a timeout, retries and failover.
//!
//! [`Client::request`] is the guide's lazy pirate: it sends the request on a DEALER
//! and waits [`timeout`](ClientBuilder::timeout) for the reply; when none comes it
//! closes that DEALER (dropping whatever was still queued), opens a new one to the
//! next broker endpoint and sends again, up to [`retries`](ClientBuilder::retries)
//! times. Given several endpoints, the client stays on one broker while it answers
//! and moves to the next one, round robin, when it does not (the guide's Freelance
//! failover): when one broker dies, requests go to the others.
//!
//! MDP/0.2 brokers may answer with PARTIAL replies before the FINAL one;
//! [`Client::request_stream`] yields each as it arrives, [`Client::request`] waits
//! for the FINAL.
//!
//! MDP has no request ids, so replies can only be matched to requests by order.
//! What is guaranteed:
//! - [`request`](Client::request), [`request_stream`](Client::request_stream) and
//!   [`has_service`](Client::has_service) keep at most one request of this client in
//!   flight: concurrent calls (from clones of the client, in several tasks) wait
//!   their turn, first come first served, and each gets the reply to its own
//!   request. A reply that does not name the requested service, or does not parse,
//!   is dropped with a debug log line (a late reply to an earlier attempt).
//! - [`send`](Client::send) and [`recv`](Client::recv) are the guide's asynchronous
//!   pair: any number of requests in flight over the one DEALER, replies returned as
//!   they arrive, in the order the broker sends them (which for requests to different
//!   workers need not be the order of the requests). The application matches them,
//!   say by service or by an id of its own in the body. They neither retry nor fail
//!   over by themselves ([`reconnect`](Client::reconnect) moves to the next broker).
//!   Do not mix them with `request` on the same client: each would take the other's
//!   replies. Use two clients.
//!
//! The default protocol is MDP/0.1 (RFC 7), which every Majordomo broker speaks;
//! choose MDP/0.2 with [`ClientBuilder::version`] for partial replies.
//!
//! ```no_run
//! # #[tokio::main]
//! # async fn main() -> Result<(), purezmq_broker::client::ClientError> {
//! use std::time::Duration;
//! use purezmq_broker::client::Client;
//!
//! let client = Client::builder()
//!     .endpoint("tcp://10.0.0.1:5555")
//!     .endpoint("tcp://10.0.0.2:5555")
//!     .timeout(Duration::from_secs(2))
//!     .retries(3)
//!     .build()?;
//! if client.has_service("echo").await? {
//!     let reply = client.request("echo", vec!["hello".into()]).await?;
//!     assert_eq!(reply, ["hello"]);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! [`BlockingClient`] does the same for programs
//! without async.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use purezmq::{Message, Options, Socket, SocketType};
use thiserror::Error;
use tokio::sync::{Mutex, OwnedMutexGuard};
use tokio::time::Instant;

use crate::mdp::{self, ClientReply, ClientRequest, Framing, MdpError, ReplyKind, Version, mmi};

/// How long a request waits for its reply before it is sent again, by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(2500);
/// How many times a request is sent again after a timeout, by default.
pub const DEFAULT_RETRIES: u32 = 3;

/// Why a request failed.
#[derive(Debug, Error)]
pub enum ClientError {
    /// No reply came within the timeout, on any attempt.
    #[error(
        "no reply from service {service:?} after {attempts} attempt(s) of {after:?}; is a broker running, with a worker for the service?"
    )]
    Timeout {
        /// The service asked for, lossily as text.
        service: String,
        /// How long each attempt waited.
        after: Duration,
        /// How many times the request was sent.
        attempts: u32,
    },
    /// [`Client::recv`] waited the timeout and nothing came.
    #[error("no reply arrived within {after:?}")]
    NoReply {
        /// How long it waited.
        after: Duration,
    },
    /// The socket failed: a bad endpoint or options, or it was closed.
    #[error(transparent)]
    Socket(#[from] purezmq::Error),
    /// The request cannot be said in MDP (an empty or too long service name), or
    /// [`Client::recv`] got a reply that is not valid MDP.
    #[error("not valid MDP: {0}")]
    Protocol(#[from] MdpError),
    /// The client was built without a broker endpoint.
    #[error("no broker endpoint given; add one with ClientBuilder::endpoint")]
    NoEndpoints,
    /// The broker answered an MMI query with something RFC 8 does not define.
    #[error(
        "the broker answered {service} with {code:?}, not 200 or 404; does it implement MMI (RFC 8)?"
    )]
    Mmi {
        /// The MMI service asked.
        service: &'static str,
        /// The status frame that came back (empty when there was none).
        code: String,
    },
}

/// One broker endpoint or several, for [`ClientBuilder::endpoints`] and
/// [`Worker::new`](crate::worker::Worker::new): a `&str`, a `String`, or a
/// `Vec`, array or slice of either.
pub trait Endpoints {
    /// The endpoints, in order.
    fn into_endpoints(self) -> Vec<String>;
}

impl Endpoints for &str {
    fn into_endpoints(self) -> Vec<String> {
        vec![self.to_owned()]
    }
}

impl Endpoints for String {
    fn into_endpoints(self) -> Vec<String> {
        vec![self]
    }
}

impl Endpoints for &String {
    fn into_endpoints(self) -> Vec<String> {
        vec![self.clone()]
    }
}

impl<T: AsRef<str>> Endpoints for Vec<T> {
    fn into_endpoints(self) -> Vec<String> {
        self.iter().map(|e| e.as_ref().to_owned()).collect()
    }
}

impl<T: AsRef<str>> Endpoints for &[T] {
    fn into_endpoints(self) -> Vec<String> {
        self.iter().map(|e| e.as_ref().to_owned()).collect()
    }
}

impl<T: AsRef<str>, const N: usize> Endpoints for [T; N] {
    fn into_endpoints(self) -> Vec<String> {
        self.iter().map(|e| e.as_ref().to_owned()).collect()
    }
}

/// Settings for a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    endpoints: Vec<String>,
    timeout: Option<Duration>,
    retries: u32,
    version: Version,
    framing: Option<Framing>,
    options: Options,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            endpoints: Vec::new(),
            timeout: Some(DEFAULT_TIMEOUT),
            retries: DEFAULT_RETRIES,
            version: Version::V01,
            framing: None,
            options: Options::default(),
        }
    }
}

impl ClientBuilder {
    /// Adds a broker endpoint, such as `tcp://127.0.0.1:5555`. The first is used
    /// first; the others after a timeout, in order, round robin.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoints.push(endpoint.into());
        self
    }

    /// Adds broker endpoints.
    pub fn endpoints(mut self, endpoints: impl Endpoints) -> Self {
        self.endpoints.extend(endpoints.into_endpoints());
        self
    }

    /// How long each attempt waits for a reply (for streams: for the next reply):
    /// a duration, or `None` to wait for ever (and so never retry). Default 2.5 s.
    pub fn timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.timeout = timeout.into();
        self
    }

    /// How many times a request is sent again after a timeout: 0 sends it once.
    /// Default 3.
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// The protocol: MDP/0.1 (the default, spoken by every broker) or MDP/0.2
    /// (partial replies).
    pub fn version(mut self, version: Version) -> Self {
        self.version = version;
        self
    }

    /// For MDP/0.2: whether requests start with an empty frame
    /// ([`Framing::Delimited`], as majortomo sends them) or not
    /// ([`Framing::Bare`], as RFC 18 writes them; the default). MDP/0.1 always has
    /// the empty frame, whatever this says.
    pub fn framing(mut self, framing: Framing) -> Self {
        self.framing = Some(framing);
        self
    }

    /// The DEALER's socket options, for example CURVE with the broker's public key
    /// in `security`. LINGER is set to zero whatever is given: a request abandoned
    /// after a timeout is dropped with its socket.
    pub fn options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }

    /// The client, connecting to the first endpoint at once. Must be called within
    /// a tokio runtime.
    pub fn build(self) -> Result<Client, ClientError> {
        if self.endpoints.is_empty() {
            return Err(ClientError::NoEndpoints);
        }
        for endpoint in &self.endpoints {
            purezmq::endpoint::Endpoint::parse(endpoint).map_err(purezmq::Error::from)?;
        }
        let mut options = self.options;
        options.linger = Some(Duration::ZERO);
        options.validate().map_err(purezmq::Error::from)?;
        let framing = match (self.version, self.framing) {
            (Version::V01, _) => Framing::Delimited,
            (Version::V02, Some(framing)) => framing,
            (Version::V02, None) => Framing::Bare,
        };
        let settings = Settings {
            endpoints: self.endpoints,
            timeout: self.timeout,
            retries: self.retries,
            version: self.version,
            framing,
            options,
        };
        let mut connection = Connection {
            socket: None,
            current: 0,
        };
        connection.socket(&settings)?;
        Ok(Client {
            shared: Arc::new(Shared {
                settings,
                connection: Arc::new(Mutex::new(connection)),
            }),
        })
    }
}

/// The settings, checked.
#[derive(Debug)]
struct Settings {
    endpoints: Vec<String>,
    timeout: Option<Duration>,
    retries: u32,
    version: Version,
    framing: Framing,
    options: Options,
}

/// The DEALER now, and which endpoint it connects to.
#[derive(Debug)]
struct Connection {
    socket: Option<Socket>,
    current: usize,
}

impl Connection {
    /// The socket, opened and connected if there is none.
    fn socket(&mut self, settings: &Settings) -> Result<Socket, ClientError> {
        if let Some(socket) = &self.socket {
            return Ok(socket.clone());
        }
        let endpoint = settings
            .endpoints
            .get(self.current)
            .ok_or(ClientError::NoEndpoints)?;
        let socket = Socket::with_options(SocketType::Dealer, settings.options.clone())?;
        socket.connect(endpoint)?;
        tracing::debug!(%endpoint, "client connecting");
        self.socket = Some(socket.clone());
        Ok(socket)
    }

    /// Drops the socket, and what it still queued or has yet to receive, staying
    /// with the same endpoint.
    fn reset(&mut self) {
        self.socket = None;
    }

    /// Drops the socket (and what it still queued) and moves to the next endpoint.
    fn fail_over(&mut self, settings: &Settings) {
        if let Some(socket) = self.socket.take() {
            drop(socket);
        }
        if !settings.endpoints.is_empty() {
            self.current = (self.current + 1) % settings.endpoints.len();
        }
    }
}

#[derive(Debug)]
struct Shared {
    settings: Settings,
    connection: Arc<Mutex<Connection>>,
}

/// A Majordomo client. Clones share one connection (see the [module
/// docs](self) for what concurrent use guarantees).
#[derive(Debug, Clone)]
pub struct Client {
    shared: Arc<Shared>,
}

impl Client {
    /// Settings to build a client from.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client of one broker or several, with the default settings. Must be called
    /// within a tokio runtime.
    pub fn connect(endpoints: impl Endpoints) -> Result<Client, ClientError> {
        Client::builder().endpoints(endpoints).build()
    }

    fn settings(&self) -> &Settings {
        &self.shared.settings
    }

    /// The endpoint the client talks to now.
    pub async fn endpoint(&self) -> String {
        let connection = self.shared.connection.lock().await;
        self.settings()
            .endpoints
            .get(connection.current)
            .cloned()
            .unwrap_or_default()
    }

    /// Sends `body` to `service` and returns the body of the final reply (MDP/0.2
    /// PARTIAL replies are skipped: see [`request_stream`](Client::request_stream)).
    /// Retries and fails over as the [module docs](self) say; after the last attempt
    /// it is [`ClientError::Timeout`].
    pub async fn request(
        &self,
        service: impl Into<Bytes>,
        body: Vec<Bytes>,
    ) -> Result<Vec<Bytes>, ClientError> {
        let stream = self.request_stream(service, body);
        let mut stream = std::pin::pin!(stream);
        while let Some(reply) = stream.next().await {
            let reply = reply?;
            if reply.kind == ReplyKind::Final {
                return Ok(reply.body);
            }
        }
        // The stream ends only after a FINAL or an error.
        Err(ClientError::Protocol(MdpError::Empty))
    }

    /// Sends `body` to `service` and yields each reply as it arrives: MDP/0.2's
    /// PARTIALs, then the FINAL, after which the stream ends (with MDP/0.1, the one
    /// REPLY). The timeout applies to each reply; the request is sent again (and
    /// fails over) only while nothing has arrived for it, since a second attempt
    /// after a PARTIAL would repeat the work: a timeout after a PARTIAL ends the
    /// stream with [`ClientError::Timeout`].
    pub fn request_stream(
        &self,
        service: impl Into<Bytes>,
        body: Vec<Bytes>,
    ) -> impl Stream<Item = Result<ClientReply, ClientError>> + Send + 'static {
        let exchange = Exchange {
            client: self.clone(),
            service: service.into(),
            body,
            guard: None,
            attempts: 0,
            deadline: None,
            answered: false,
            done: false,
        };
        futures::stream::unfold(exchange, |mut exchange| async move {
            if exchange.done {
                return None;
            }
            let item = exchange.next().await;
            if !matches!(&item, Ok(reply) if reply.kind == ReplyKind::Partial) {
                exchange.done = true;
                exchange.guard = None;
            }
            Some((item, exchange))
        })
    }

    /// Whether the broker knows a worker for `service`, by asking `mmi.service`
    /// (RFC 8): `true` on 200, `false` on 404.
    pub async fn has_service(&self, service: impl Into<Bytes>) -> Result<bool, ClientError> {
        let reply = self
            .request(Bytes::from_static(mmi::SERVICE), vec![service.into()])
            .await?;
        match reply.first().map(|code| code.as_ref()) {
            Some(mmi::FOUND) => Ok(true),
            Some(mmi::NOT_FOUND) => Ok(false),
            other => Err(ClientError::Mmi {
                service: "mmi.service",
                code: String::from_utf8_lossy(other.unwrap_or_default()).into_owned(),
            }),
        }
    }

    /// Sends a request without waiting for its reply (the asynchronous pair with
    /// [`recv`](Client::recv)). Waits at most the timeout for the socket to take it.
    pub async fn send(
        &self,
        service: impl Into<Bytes>,
        body: Vec<Bytes>,
    ) -> Result<(), ClientError> {
        let request = self.encode(service.into(), body)?;
        let socket = {
            let mut connection = self.shared.connection.lock().await;
            connection.socket(self.settings())?
        };
        let send = socket.send(request);
        match self.settings().timeout {
            None => send.await?,
            Some(after) => tokio::time::timeout(after, send)
                .await
                .map_err(|_| ClientError::NoReply { after })??,
        }
        Ok(())
    }

    /// The next reply to any request made with [`send`](Client::send), PARTIAL or
    /// FINAL, as it arrives; [`ClientError::NoReply`] when nothing comes within the
    /// timeout, [`ClientError::Protocol`] for a message that is not an MDP reply.
    pub async fn recv(&self) -> Result<ClientReply, ClientError> {
        let socket = {
            let mut connection = self.shared.connection.lock().await;
            connection.socket(self.settings())?
        };
        let recv = socket.recv();
        let message = match self.settings().timeout {
            None => recv.await?,
            Some(after) => tokio::time::timeout(after, recv)
                .await
                .map_err(|_| ClientError::NoReply { after })??,
        };
        Ok(ClientReply::parse(message.frames())?)
    }

    /// Drops the socket, and any reply still to come on it, and connects to the next
    /// broker endpoint (the same one when there is only one).
    pub async fn reconnect(&self) -> Result<(), ClientError> {
        let mut connection = self.shared.connection.lock().await;
        connection.fail_over(self.settings());
        connection.socket(self.settings())?;
        Ok(())
    }

    fn encode(&self, service: Bytes, body: Vec<Bytes>) -> Result<Message, ClientError> {
        if service.is_empty() {
            return Err(MdpError::EmptyService.into());
        }
        if service.len() > mdp::MAX_SERVICE_LEN {
            return Err(MdpError::ServiceTooLong { len: service.len() }.into());
        }
        let request = ClientRequest {
            version: self.settings().version,
            framing: self.settings().framing,
            service,
            body,
        };
        Ok(request.encode().into_iter().collect())
    }
}

/// One request on its way: the state of [`Client::request_stream`].
struct Exchange {
    client: Client,
    service: Bytes,
    body: Vec<Bytes>,
    /// Held from the first send to the FINAL: one request in flight at a time.
    guard: Option<OwnedMutexGuard<Connection>>,
    attempts: u32,
    /// When the current wait ends; `None` before the (next) send.
    deadline: Option<Option<Instant>>,
    /// Whether a PARTIAL has arrived (then no more retries).
    answered: bool,
    done: bool,
}

impl Drop for Exchange {
    /// A request abandoned before its FINAL (the stream dropped, the future of
    /// `request` cancelled) may still be answered: its socket goes with it, so that
    /// the late reply cannot be taken for the next request's.
    fn drop(&mut self) {
        if !self.done
            && self.deadline.is_some()
            && let Some(connection) = self.guard.as_mut()
        {
            tracing::debug!(service = ?self.service, "request abandoned; dropping its socket");
            connection.reset();
        }
    }
}

/// How a wait for a reply ended.
enum Waited {
    Reply(ClientReply),
    TimedOut,
}

impl Exchange {
    async fn next(&mut self) -> Result<ClientReply, ClientError> {
        let shared = Arc::clone(&self.client.shared);
        let settings = &shared.settings;
        let request = self
            .client
            .encode(self.service.clone(), self.body.clone())?;
        if self.guard.is_none() {
            self.guard = Some(
                Arc::clone(&self.client.shared.connection)
                    .lock_owned()
                    .await,
            );
        }
        loop {
            let Some(connection) = self.guard.as_mut() else {
                return Err(purezmq::Error::Closed.into());
            };
            let socket = connection.socket(settings)?;
            let deadline = match self.deadline {
                Some(deadline) => deadline,
                None => {
                    self.attempts += 1;
                    let deadline = settings.timeout.map(|after| Instant::now() + after);
                    tracing::debug!(service = ?self.service, attempt = self.attempts, "sending request");
                    self.deadline = Some(deadline);
                    match until(deadline, socket.send(request.clone())).await {
                        Some(sent) => sent?,
                        None => {
                            self.timed_out(settings)?;
                            continue;
                        }
                    }
                    deadline
                }
            };
            match self.wait(&socket, deadline).await? {
                Waited::Reply(reply) => {
                    self.answered = true;
                    self.deadline = Some(settings.timeout.map(|after| Instant::now() + after));
                    return Ok(reply);
                }
                Waited::TimedOut => self.timed_out(settings)?,
            }
        }
    }

    /// After a timeout: fail over and go on, or give up.
    fn timed_out(&mut self, settings: &Settings) -> Result<(), ClientError> {
        let error = ClientError::Timeout {
            service: String::from_utf8_lossy(&self.service).into_owned(),
            after: settings.timeout.unwrap_or_default(),
            attempts: self.attempts,
        };
        if let Some(connection) = self.guard.as_mut() {
            connection.fail_over(settings);
        }
        if self.answered || self.attempts > settings.retries {
            return Err(error);
        }
        tracing::debug!(service = ?self.service, attempts = self.attempts, "no reply; trying again");
        self.deadline = None;
        Ok(())
    }

    /// Receives until a reply for this request arrives or the deadline passes.
    async fn wait(
        &self,
        socket: &Socket,
        deadline: Option<Instant>,
    ) -> Result<Waited, ClientError> {
        let settings = &self.client.shared.settings;
        loop {
            let Some(message) = until(deadline, socket.recv()).await else {
                return Ok(Waited::TimedOut);
            };
            let message = message?;
            match ClientReply::parse(message.frames()) {
                Ok(reply) if reply.service == self.service && reply.version == settings.version => {
                    return Ok(Waited::Reply(reply));
                }
                Ok(reply) => {
                    tracing::debug!(
                        expected = ?self.service,
                        service = ?reply.service,
                        version = %reply.version,
                        "dropping a reply for another request"
                    );
                }
                Err(error) => tracing::debug!(%error, "dropping a reply that is not valid MDP"),
            }
        }
    }
}

/// Runs `work` until `deadline` (for ever without one); `None` when it passed.
async fn until<T>(deadline: Option<Instant>, work: impl Future<Output = T>) -> Option<T> {
    match deadline {
        None => Some(work.await),
        Some(deadline) => tokio::time::timeout_at(deadline, work).await.ok(),
    }
}

/// The runtime of every [`BlockingClient`] and
/// [`BlockingWorker`](crate::worker::BlockingWorker): one background thread that
/// drives their sockets.
pub(crate) static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("purezmq-mdp")
        .enable_all()
        .build()
        .expect("cannot start the Majordomo I/O thread")
});

/// A [`Client`] whose calls block the calling thread, for programs without async.
/// Its sockets run on a background thread shared by every blocking client and
/// worker.
///
/// ```no_run
/// use purezmq_broker::client::{BlockingClient, Client};
///
/// let client = BlockingClient::new(Client::builder().endpoint("tcp://127.0.0.1:5555"))?;
/// let reply = client.request("echo", vec!["hello".into()])?;
/// println!("{reply:?}");
/// # Ok::<(), purezmq_broker::client::ClientError>(())
/// ```
#[derive(Debug, Clone)]
pub struct BlockingClient {
    inner: Client,
}

impl BlockingClient {
    /// Builds the client from its settings.
    pub fn new(builder: ClientBuilder) -> Result<BlockingClient, ClientError> {
        let _runtime = RUNTIME.enter();
        Ok(BlockingClient {
            inner: builder.build()?,
        })
    }

    /// A client of one broker or several, with the default settings.
    pub fn connect(endpoints: impl Endpoints) -> Result<BlockingClient, ClientError> {
        BlockingClient::new(Client::builder().endpoints(endpoints))
    }

    /// The async client underneath.
    pub fn as_async(&self) -> &Client {
        &self.inner
    }

    /// See [`Client::request`].
    pub fn request(
        &self,
        service: impl Into<Bytes>,
        body: Vec<Bytes>,
    ) -> Result<Vec<Bytes>, ClientError> {
        RUNTIME.block_on(self.inner.request(service, body))
    }

    /// See [`Client::request_stream`]: each reply is given to `each` as it arrives;
    /// returns the FINAL one.
    pub fn request_each(
        &self,
        service: impl Into<Bytes>,
        body: Vec<Bytes>,
        mut each: impl FnMut(&ClientReply),
    ) -> Result<ClientReply, ClientError> {
        RUNTIME.block_on(async {
            let stream = self.inner.request_stream(service, body);
            let mut stream = std::pin::pin!(stream);
            while let Some(reply) = stream.next().await {
                let reply = reply?;
                each(&reply);
                if reply.kind == ReplyKind::Final {
                    return Ok(reply);
                }
            }
            Err(ClientError::Protocol(MdpError::Empty))
        })
    }

    /// See [`Client::has_service`].
    pub fn has_service(&self, service: impl Into<Bytes>) -> Result<bool, ClientError> {
        RUNTIME.block_on(self.inner.has_service(service))
    }

    /// See [`Client::send`].
    pub fn send(&self, service: impl Into<Bytes>, body: Vec<Bytes>) -> Result<(), ClientError> {
        RUNTIME.block_on(self.inner.send(service, body))
    }

    /// See [`Client::recv`].
    pub fn recv(&self) -> Result<ClientReply, ClientError> {
        RUNTIME.block_on(self.inner.recv())
    }

    /// See [`Client::reconnect`].
    pub fn reconnect(&self) -> Result<(), ClientError> {
        RUNTIME.block_on(self.inner.reconnect())
    }
}
