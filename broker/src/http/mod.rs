//! The HTTP gateway: any Majordomo service answers HTTP (`purezmq http`).
//!
//! The path names the service: `GET /echo?args=["hello",42]` sends the request
//! `hello`, `42` to the service `echo` through the broker, and answers
//! `["hello","42"]`. Each element of the JSON array is one frame: a string as its
//! UTF-8 bytes, any other value serialised compactly. A POST sends its JSON array
//! body the same way (`Content-Type: application/json`); a POST of any other
//! content type sends its body as one frame. No arguments, no frames.
//!
//! Query parameters:
//! - `args`: the JSON array (GET; or a POST with an empty body).
//! - `timeout`: milliseconds to wait for the reply (for a stream: for each reply);
//!   `-1` waits for ever. Default: [`GatewayConfig::timeout`].
//! - `type=json` (default): a JSON array of the reply's frames, a frame that is not
//!   UTF-8 as `{"base64": "…"}`; `type=plain`: the frames as text, one per line.
//! - `jsonp` or `callback`: the JSON wrapped as `name(…);`, `application/javascript`.
//!   The name must be a JavaScript identifier path (`cb`, `app.on_reply$1`).
//!
//! Status codes: 200 the reply; 400 a bad parameter or body (the JSON body's
//! `parameter` says which); 405 a method other than GET, HEAD, POST or OPTIONS;
//! 413 a body over [`max_body`](GatewayConfig::max_body); 429 over
//! [`max_inflight`](GatewayConfig::max_inflight) requests at once; 502 the broker
//! answered something that is not a reply; 503 no worker offers the service (the
//! broker is asked with `mmi.service`, which it answers at once), or the broker does
//! not answer at all (`"reason": "broker_unreachable"`); 504 the service did not
//! answer in time. Every error body is JSON:
//! `{"error": "…", "status": 503, "reason": "no_worker", "service": "…"}`.
//!
//! Streams (MDP/0.2, [`GatewayConfig::version`]): when a worker sends PARTIAL
//! replies, they go out as they arrive. A request whose `Accept` includes
//! `text/event-stream` gets Server-Sent Events: one `data:` event per partial reply,
//! then `event: final` with the last (close the `EventSource` on it, or it
//! reconnects), or `event: failure` with an error object. Other requests get a
//! chunked `application/x-ndjson` body: one JSON array per reply, one per line, the
//! final reply last, or a last line `{"error": …}` when the stream failed. A reply
//! without partials is an ordinary response (with SSE, one `final` event). JSONP
//! waits for the final reply.
//!
//! Reserved paths: `/` (a page), `/healthz` (200 when the broker answers, 503
//! otherwise) and `/metrics` (Prometheus text). A service named `healthz` or
//! `metrics` is reached by percent-encoding a letter: `/%6Detrics`.
//!
//! ```no_run
//! # async fn run() -> Result<(), purezmq_broker::http::GatewayError> {
//! use purezmq_broker::http::{Gateway, GatewayConfig};
//!
//! let gateway = Gateway::bind(GatewayConfig::default()).await?;
//! println!("http gateway listening on http://{}", gateway.local_addr());
//! gateway.serve(async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(())
//! # }
//! ```

mod call;
mod error;
mod listener;
mod metrics;
pub mod page;
mod pool;
mod reply;
mod request;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::{Semaphore, watch};

pub use error::{ApiError, GatewayError};

use listener::LenientListener;
use metrics::Metrics;
use pool::Pool;

use crate::mdp::Version;

/// The methods a service path serves, as the `Allow` header lists them.
pub(crate) const ALLOWED: &str = "GET, HEAD, POST, OPTIONS";

/// How long `/healthz` waits for the broker.
const HEALTH_LIMIT: Duration = Duration::from_secs(2);

/// How long a `/healthz` result is given again without asking the broker.
const HEALTH_FRESH: Duration = Duration::from_secs(1);

/// After the shutdown signal, how long requests still in flight (streams among
/// them) may run before the gateway stops anyway.
const GRACE: Duration = Duration::from_secs(5);

/// The gateway's settings.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// The broker endpoints; more than one for failover. Default
    /// `tcp://127.0.0.1:5555`.
    pub brokers: Vec<String>,
    /// Where to listen for HTTP. Default `127.0.0.1:9001`.
    pub listen: SocketAddr,
    /// How long a request waits for its reply when it gives no `timeout`
    /// parameter; `None` waits for ever. Default 5 s.
    pub timeout: Option<Duration>,
    /// The largest POST body taken, in bytes (413 above). Default 1 MiB.
    pub max_body: usize,
    /// How many service calls may be in flight at once (429 above); also the
    /// most broker connections kept. Default 1024.
    pub max_inflight: usize,
    /// The origin allowed to call from a browser (`Access-Control-Allow-Origin`),
    /// or `*`; `None` sends no CORS headers.
    pub cors: Option<String>,
    /// The socket options of the broker connections (CURVE client keys).
    pub options: purezmq::Options,
    /// The Majordomo version spoken to the broker; MDP/0.2 streams partial replies.
    pub version: Version,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            brokers: vec!["tcp://127.0.0.1:5555".to_owned()],
            listen: SocketAddr::from(([127, 0, 0, 1], 9001)),
            timeout: Some(Duration::from_secs(5)),
            max_body: 1024 * 1024,
            max_inflight: 1024,
            cors: None,
            options: purezmq::Options::default(),
            version: Version::V01,
        }
    }
}

/// What every request shares.
#[derive(Debug)]
struct Inner {
    config: GatewayConfig,
    pool: Pool,
    metrics: Metrics,
    in_flight: Arc<Semaphore>,
    cors: Option<HeaderValue>,
    /// The last `/healthz` result: when, the status and the body.
    health: tokio::sync::Mutex<Option<(std::time::Instant, StatusCode, serde_json::Value)>>,
}

/// The gateway, bound and ready to [`serve`](Gateway::serve).
#[derive(Debug)]
pub struct Gateway {
    listener: tokio::net::TcpListener,
    local_addr: SocketAddr,
    inner: Arc<Inner>,
}

impl Gateway {
    /// Checks the settings, connects to the broker (in the background) and binds
    /// the listening socket. Must be called within a tokio runtime.
    pub async fn bind(config: GatewayConfig) -> Result<Gateway, GatewayError> {
        if config.max_inflight == 0 {
            return Err(GatewayError::Config(
                "max_inflight must be at least 1".to_owned(),
            ));
        }
        let cors = match &config.cors {
            None => None,
            Some(origin) => Some(HeaderValue::from_str(origin).map_err(|_| {
                GatewayError::Config(format!(
                    "the CORS origin {origin:?} cannot be a header value; give e.g. https://example.com or *"
                ))
            })?),
        };
        let pool = Pool::new(
            config.brokers.clone(),
            config.options.clone(),
            config.version,
            config.max_inflight,
        )?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| GatewayError::Bind {
                addr: config.listen,
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| GatewayError::Bind {
            addr: config.listen,
            source,
        })?;
        let in_flight = Arc::new(Semaphore::new(config.max_inflight));
        Ok(Gateway {
            listener,
            local_addr,
            inner: Arc::new(Inner {
                config,
                pool,
                metrics: Metrics::default(),
                in_flight,
                cors,
                health: tokio::sync::Mutex::new(None),
            }),
        })
    }

    /// The address it listens on (with the port the system chose for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves HTTP until `shutdown` completes; then stops taking connections and
    /// lets requests in flight finish (at most 5 s more).
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), GatewayError> {
        let (tell, told) = watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = tell.send(true);
        });
        let router = router(Arc::clone(&self.inner));
        let listener = LenientListener::new(self.listener);
        let mut graceful = told.clone();
        let server = axum::serve(listener, router).with_graceful_shutdown(async move {
            let _ = graceful.wait_for(|stop| *stop).await;
        });
        let mut deadline = told;
        tokio::select! {
            served = server => served.map_err(GatewayError::Serve),
            () = async move {
                let _ = deadline.wait_for(|stop| *stop).await;
                tokio::time::sleep(GRACE).await;
            } => {
                tracing::warn!("requests still in flight {GRACE:?} after the shutdown signal; stopping anyway");
                Ok(())
            }
        }
    }
}

fn router(inner: Arc<Inner>) -> Router {
    Router::new()
        .route("/", get(page::index).fallback(method_not_allowed))
        .route("/healthz", get(healthz).fallback(method_not_allowed))
        .route("/metrics", get(metrics).fallback(method_not_allowed))
        .fallback(call::service)
        .layer(axum::middleware::map_response_with_state(
            Arc::clone(&inner),
            cors,
        ))
        .with_state(inner)
}

/// 405 for a reserved path.
async fn method_not_allowed(request: Request) -> Response {
    let mut response = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{} {} is not served; use GET",
            request.method(),
            request.uri().path()
        ),
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    response
}

/// `/healthz`: whether the broker answers. Checks run one at a time, and a result
/// younger than [`HEALTH_FRESH`] is given again, so probes cannot pile up
/// connections on a silent broker.
async fn healthz(State(inner): State<Arc<Inner>>) -> Response {
    let mut last = inner.health.lock().await;
    let (status, body) = match &*last {
        Some((at, status, body)) if at.elapsed() < HEALTH_FRESH => (*status, body.clone()),
        _ => {
            let (status, body) = check_health(&inner).await;
            *last = Some((std::time::Instant::now(), status, body.clone()));
            (status, body)
        }
    };
    drop(last);
    reply::with_type(status, reply::JSON, format!("{body}\n").into())
}

/// Asks the broker `mmi.service`: a status and a JSON body for `/healthz`.
async fn check_health(inner: &Inner) -> (StatusCode, serde_json::Value) {
    let started = std::time::Instant::now();
    let generation = inner.pool.broker_generation();
    let broker = inner.pool.endpoint(generation).to_owned();
    let unhealthy = |message: String| {
        let error = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "broker_unreachable",
            message,
        );
        (error.status, error.body())
    };
    let pooled = match inner.pool.take() {
        Ok(pooled) => pooled,
        Err(error) => {
            return unhealthy(format!("cannot connect to the broker at {broker}: {error}"));
        }
    };
    let asked = pooled.client.has_service("healthz");
    match tokio::time::timeout(HEALTH_LIMIT, asked).await {
        Ok(Ok(_)) => {
            inner.pool.give(pooled);
            let body = serde_json::json!({
                "status": "ok",
                "broker": broker,
                "millis": started.elapsed().as_secs_f64() * 1000.0,
            });
            (StatusCode::OK, body)
        }
        Ok(Err(error)) => unhealthy(format!(
            "the broker at {broker} failed to answer mmi.service: {error}"
        )),
        Err(_) => {
            inner.pool.broker_silent(pooled.generation);
            unhealthy(format!(
                "the broker at {broker} did not answer mmi.service within {} ms; is it running, and is the gateway's --broker right?",
                HEALTH_LIMIT.as_millis()
            ))
        }
    }
}

/// `/metrics`: Prometheus text.
async fn metrics(State(inner): State<Arc<Inner>>) -> Response {
    let in_flight = inner
        .config
        .max_inflight
        .saturating_sub(inner.in_flight.available_permits());
    let text = inner.metrics.render(in_flight, inner.pool.idle());
    reply::with_type(
        StatusCode::OK,
        "text/plain; version=0.0.4; charset=utf-8",
        text.into(),
    )
}

/// Adds `Access-Control-Allow-Origin` when `--cors` is set.
async fn cors(State(inner): State<Arc<Inner>>, mut response: Response) -> Response {
    if let Some(origin) = &inner.cors {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        if origin != "*" {
            headers.append(header::VARY, HeaderValue::from_static("Origin"));
        }
    }
    response
}
