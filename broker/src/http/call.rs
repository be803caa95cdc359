//! One service call: the HTTP request checked, its frames sent through a broker
//! connection of its own, and the reply (or the stream of MDP/0.2 partial replies)
//! written back with a status code that says what happened.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

use super::Inner;
use super::error::ApiError;
use super::pool::Pooled;
use super::reply::{self, StreamFormat};
use super::request::{self, Params};
use crate::client::ClientError;
use crate::mdp::{self, ClientReply, ReplyKind, mmi};

/// How long the broker may take to say whether a service has workers (it answers
/// `mmi.service` itself, at once), at most; a request's own timeout may be shorter.
const BROKER_CHECK: Duration = Duration::from_secs(5);

/// After a request timed out, how long the broker may take to say whether the
/// service still has workers (to tell 503 from 504).
const RECHECK: Duration = Duration::from_secs(1);

type Replies = Pin<Box<dyn Stream<Item = Result<ClientReply, ClientError>> + Send>>;

/// The handler of every path that is not reserved: `/SERVICE`.
pub(super) async fn service(State(gateway): State<Arc<Inner>>, request: Request) -> Response {
    let started = std::time::Instant::now();
    let (parts, body) = request.into_parts();
    let service = service_name(parts.uri.path());
    let preflight = parts.method == Method::OPTIONS;
    let response = match call(&gateway, &parts, body, &service).await {
        Ok(response) => response,
        Err(error) => error.for_service(&service).into_response(),
    };
    let elapsed = started.elapsed();
    tracing::debug!(
        method = %parts.method,
        service = %String::from_utf8_lossy(&service),
        status = response.status().as_u16(),
        ?elapsed,
        "http call"
    );
    if !preflight {
        gateway.metrics.record(
            &String::from_utf8_lossy(&service),
            response.status().as_u16(),
            elapsed,
        );
    }
    response
}

/// The service a path names: the path without its leading `/`, percent-decoded
/// (so `/%6Detrics` names `metrics`, which `/metrics` cannot).
pub fn service_name(path: &str) -> Bytes {
    let path = path.strip_prefix('/').unwrap_or(path);
    Bytes::from(percent_encoding::percent_decode_str(path).collect::<Vec<u8>>())
}

async fn call(
    gateway: &Arc<Inner>,
    parts: &Parts,
    body: Body,
    service: &Bytes,
) -> Result<Response, ApiError> {
    match parts.method {
        Method::GET | Method::HEAD | Method::POST => {}
        Method::OPTIONS => return Ok(preflight(gateway, parts)),
        ref other => {
            return Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!(
                    "{other} is not served; call a service with GET (arguments in ?args=[…]) or POST (a JSON array body)"
                ),
            ));
        }
    }
    if service.is_empty() {
        return Err(ApiError::bad_parameter(
            "path",
            "name a service in the path, e.g. /echo?args=[\"hello\"]",
        ));
    }
    if service.len() > mdp::MAX_SERVICE_LEN {
        return Err(ApiError::bad_parameter(
            "path",
            format!(
                "the service name is {} bytes long; Majordomo allows at most {}",
                service.len(),
                mdp::MAX_SERVICE_LEN
            ),
        ));
    }
    let params = Params::parse(parts.uri.query())?;
    let permit = Arc::clone(&gateway.in_flight)
        .try_acquire_owned()
        .map_err(|_| {
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                format!(
                    "{} requests are in flight already, the gateway's --max-inflight; try again in a moment",
                    gateway.config.max_inflight
                ),
            )
        })?;
    let frames = if parts.method == Method::POST {
        post_frames(gateway, parts, body, &params).await?
    } else {
        match &params.args {
            Some(args) => request::json_frames("args", args.as_bytes())?,
            None => Vec::new(),
        }
    };
    let timeout = params.timeout.unwrap_or(gateway.config.timeout);
    let sse = params.jsonp.is_none()
        && parts
            .headers
            .get(header::ACCEPT)
            .and_then(|accept| accept.to_str().ok())
            .is_some_and(reply::accepts_event_stream);
    let exchange = Exchange {
        generation: 0,
        gateway: Arc::clone(gateway),
        service: service.clone(),
        timeout,
        params,
        sse,
    };
    exchange.run(frames, permit).await
}

/// The frames of a POST: a JSON array body, or the body as one frame.
async fn post_frames(
    gateway: &Inner,
    parts: &Parts,
    body: Body,
    params: &Params,
) -> Result<Vec<Bytes>, ApiError> {
    let limit = gateway.config.max_body;
    let too_big = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!(
                "the request body is over the gateway's --max-body of {limit} bytes; send less, or raise --max-body"
            ),
        )
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|length| length.to_str().ok())
        .and_then(|length| length.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_big());
    }
    let mut data = body.into_data_stream();
    let mut bytes = BytesMut::new();
    while let Some(chunk) = data.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::bad_parameter("body", format!("cannot read the request body: {e}"))
        })?;
        if bytes.len() + chunk.len() > limit {
            return Err(too_big());
        }
        bytes.extend_from_slice(&chunk);
    }
    let bytes = bytes.freeze();
    if bytes.is_empty()
        && let Some(args) = &params.args
    {
        return request::json_frames("args", args.as_bytes());
    }
    let json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(request::is_json_content_type);
    if json {
        request::json_frames("body", &bytes)
    } else {
        Ok(vec![bytes])
    }
}

/// The answer to an `OPTIONS` request (a CORS preflight when `--cors` is set).
fn preflight(gateway: &Inner, parts: &Parts) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(header::ALLOW, HeaderValue::from_static(super::ALLOWED));
    if gateway.config.cors.is_some() {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, HEAD, POST, OPTIONS"),
        );
        let asked = parts
            .headers
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .cloned()
            .unwrap_or_else(|| HeaderValue::from_static("Content-Type, Accept, Last-Event-ID"));
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked);
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
    }
    response
}

/// A call on its way to the broker.
struct Exchange {
    /// Which broker the call's connection goes to (see `Pool::endpoint`).
    generation: usize,
    gateway: Arc<Inner>,
    service: Bytes,
    timeout: Option<Duration>,
    params: Params,
    sse: bool,
}

impl Exchange {
    fn deadline(&self) -> Option<Instant> {
        self.timeout.map(|after| Instant::now() + after)
    }

    /// The endpoint of the broker this call talks to.
    fn broker(&self) -> &str {
        self.gateway.pool.endpoint(self.generation)
    }

    async fn run(
        mut self,
        frames: Vec<Bytes>,
        permit: OwnedSemaphorePermit,
    ) -> Result<Response, ApiError> {
        let gateway = Arc::clone(&self.gateway);
        let pool = &gateway.pool;
        self.generation = pool.broker_generation();
        let client = pool.take().map_err(|e| self.client_error(e))?;
        self.generation = client.generation;
        let deadline = self.deadline();
        let client = if !mmi::is_mmi(&self.service) && !pool.known(&self.service) {
            self.check_worker(client, deadline).await?
        } else {
            client
        };
        let mut replies: Replies =
            Box::pin(client.client.request_stream(self.service.clone(), frames));
        let mut reply = match until(deadline, replies.next()).await {
            Some(Some(Ok(reply))) => reply,
            Some(Some(Err(error))) => return Err(self.client_error(error)),
            Some(None) => return Err(self.no_reply()),
            None => {
                drop(replies);
                return Err(self.timed_out(client).await);
            }
        };
        pool.remember(&self.service);
        if reply.kind == ReplyKind::Final || (!self.sse && self.params.jsonp.is_some()) {
            // JSONP cannot take a stream: wait for the FINAL.
            while reply.kind != ReplyKind::Final {
                reply = match until(self.deadline(), replies.next()).await {
                    Some(Some(Ok(reply))) => reply,
                    Some(Some(Err(error))) => return Err(self.client_error(error)),
                    Some(None) => return Err(self.no_reply()),
                    None => {
                        drop(replies);
                        return Err(self.timed_out(client).await);
                    }
                };
            }
            drop(replies);
            pool.give(client);
            if self.sse {
                let format = StreamFormat::Sse(self.params.reply_type);
                return Ok(stream_response(
                    format,
                    Body::from(format.reply(&reply.body, true)),
                ));
            }
            return Ok(reply::complete(
                &reply.body,
                self.params.reply_type,
                self.params.jsonp.as_deref(),
            ));
        }
        let format = if self.sse {
            StreamFormat::Sse(self.params.reply_type)
        } else {
            StreamFormat::Lines(self.params.reply_type)
        };
        let first = format.reply(&reply.body, false);
        let streaming = Streaming {
            exchange: self,
            replies: Some(replies),
            client: Some(client),
            format,
            first: Some(first),
            _permit: permit,
        };
        Ok(stream_response(
            format,
            Body::from_stream(streaming.into_stream()),
        ))
    }

    /// Asks the broker whether the service has a worker: 503 at once if not.
    async fn check_worker(
        &self,
        pooled: Pooled,
        deadline: Option<Instant>,
    ) -> Result<Pooled, ApiError> {
        let started = Instant::now();
        let limit = started + BROKER_CHECK;
        let limit = deadline.map_or(limit, |deadline| deadline.min(limit));
        let asked = pooled.client.has_service(self.service.clone());
        match tokio::time::timeout_at(limit, asked).await {
            Ok(Ok(true)) => {
                self.gateway.pool.remember(&self.service);
                Ok(pooled)
            }
            Ok(Ok(false)) => {
                self.gateway.pool.give(pooled);
                Err(self.no_worker())
            }
            Ok(Err(error)) => Err(self.client_error(error)),
            Err(_) => Err(self.broker_silent(limit.saturating_duration_since(started))),
        }
    }

    /// After a timeout: 504, or 503 when the service has no worker any more or the
    /// broker itself is silent. The client is dropped with its socket, so a late
    /// reply is never read by another request.
    async fn timed_out(&self, pooled: Pooled) -> ApiError {
        self.gateway.pool.forget(&self.service);
        let after = self.timeout.unwrap_or_default();
        let timeout = ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "timeout",
            format!(
                "service {:?} did not answer within {} ms; its workers may be busy or slow: try again, or raise ?timeout= (ms, -1 waits for ever)",
                String::from_utf8_lossy(&self.service),
                after.as_millis()
            ),
        );
        if mmi::is_mmi(&self.service) {
            return self.broker_silent(after);
        }
        let asked = pooled.client.has_service(self.service.clone());
        match tokio::time::timeout(RECHECK, asked).await {
            Ok(Ok(false)) => self.no_worker(),
            Ok(Ok(true)) => timeout,
            Ok(Err(_)) | Err(_) => self.broker_silent(after + RECHECK),
        }
    }

    fn no_worker(&self) -> ApiError {
        let name = String::from_utf8_lossy(&self.service);
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_worker",
            format!(
                "no worker offers service {name:?} at the broker {} (mmi.service answered 404); check the name, or start one, e.g. `purezmq echo {name}`",
                self.broker()
            ),
        )
    }

    /// 503: the broker did not answer within `waited` (it answers `mmi.service`
    /// at once when it runs).
    fn broker_silent(&self, waited: Duration) -> ApiError {
        let broker = self.broker().to_owned();
        self.gateway.pool.broker_silent(self.generation);
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "broker_unreachable",
            format!(
                "the broker at {broker} did not answer within {} ms (it answers mmi.service at once when it runs); is it running, and is the gateway's --broker right?",
                waited.as_millis()
            ),
        )
    }

    fn no_reply(&self) -> ApiError {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            "bad_gateway",
            "the request ended without a reply from the broker; try again",
        )
    }

    fn client_error(&self, error: ClientError) -> ApiError {
        match error {
            ClientError::Timeout { .. } | ClientError::NoReply { .. } => {
                ApiError::new(StatusCode::GATEWAY_TIMEOUT, "timeout", format!("{error}"))
            }
            ClientError::Socket(error) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "broker_unreachable",
                format!(
                    "cannot talk to the broker at {}: {error}; is the gateway's --broker right?",
                    self.broker()
                ),
            ),
            ClientError::Protocol(error) => ApiError::bad_parameter(
                "path",
                format!("the request cannot be sent over Majordomo: {error}"),
            ),
            error @ (ClientError::Mmi { .. } | ClientError::NoEndpoints) => {
                ApiError::new(StatusCode::BAD_GATEWAY, "bad_gateway", error.to_string())
            }
        }
    }
}

/// A 200 whose body is a stream of replies.
fn stream_response(format: StreamFormat, body: Body) -> Response {
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// The rest of a stream of replies, written as they arrive.
struct Streaming {
    exchange: Exchange,
    replies: Option<Replies>,
    client: Option<Pooled>,
    format: StreamFormat,
    first: Option<Bytes>,
    /// Holds the request's place among --max-inflight until the stream ends.
    _permit: OwnedSemaphorePermit,
}

impl Streaming {
    fn into_stream(self) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
        futures::stream::unfold(self, |mut state| async move {
            if let Some(first) = state.first.take() {
                return Some((Ok(first), state));
            }
            let replies = state.replies.as_mut()?;
            let piece = match until(state.exchange.deadline(), replies.next()).await {
                Some(Some(Ok(reply))) => {
                    let last = reply.kind == ReplyKind::Final;
                    let piece = state.format.reply(&reply.body, last);
                    if last {
                        state.replies = None;
                        if let Some(client) = state.client.take() {
                            state.exchange.gateway.pool.give(client);
                        }
                    }
                    piece
                }
                Some(Some(Err(error))) => {
                    state.replies = None;
                    let error = state.exchange.client_error(error);
                    state.format.failure(&error.body())
                }
                Some(None) => return None,
                None => {
                    state.replies = None;
                    let error = match state.client.take() {
                        Some(client) => state.exchange.timed_out(client).await,
                        None => state.exchange.no_reply(),
                    };
                    state
                        .format
                        .failure(&error.for_service(&state.exchange.service).body())
                }
            };
            Some((Ok(piece), state))
        })
    }
}

/// Runs `work` until `deadline` (for ever without one); `None` when it passed.
async fn until<T>(deadline: Option<Instant>, work: impl Future<Output = T>) -> Option<T> {
    match deadline {
        None => Some(work.await),
        Some(deadline) => tokio::time::timeout_at(deadline, work).await.ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::request::ReplyType;
    use super::*;

    #[test]
    fn paths_name_services_percent_decoded() {
        assert_eq!(service_name("/echo"), "echo");
        assert_eq!(service_name("/mmi.service"), "mmi.service");
        assert_eq!(service_name("/%6Detrics"), "metrics");
        assert_eq!(service_name("/a%20b/c"), "a b/c");
        assert_eq!(service_name("/%ff"), Bytes::from_static(&[0xff]));
        assert_eq!(service_name("/"), "");
    }

    #[test]
    fn reply_types_default_to_json() {
        assert_eq!(ReplyType::default(), ReplyType::Json);
    }
}
