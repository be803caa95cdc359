//! The gateway's errors: [`GatewayError`] for starting and serving, [`ApiError`]
//! for one HTTP request, answered with a status code and a JSON body that says
//! what happened and what to do.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use thiserror::Error;

use crate::client::ClientError;

/// Why the gateway could not start or stopped serving.
#[derive(Debug, Error)]
pub enum GatewayError {
    /// The listening address could not be bound.
    #[error("cannot listen on {addr}: {source}; is another program using the port?")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// What the system said.
        source: std::io::Error,
    },
    /// The broker settings cannot work (no endpoint, a bad endpoint or options).
    #[error("cannot set up the broker connection: {0}; give brokers as tcp://HOST:PORT")]
    Broker(#[from] ClientError),
    /// The settings cannot work.
    #[error("{0}")]
    Config(String),
    /// Accepting connections failed.
    #[error("the HTTP server failed: {0}")]
    Serve(std::io::Error),
}

/// One request's failure, as the HTTP client sees it: a status code and a JSON body
/// `{"error": "...", ...}` (with `parameter` naming a bad query parameter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The status code.
    pub status: StatusCode,
    /// A sentence a person can act on.
    pub message: String,
    /// The query parameter (or `body`) at fault, for 400.
    pub parameter: Option<&'static str>,
    /// Why, in one word a program can test: `no_worker`, `broker_unreachable`,
    /// `timeout`, `bad_request`, ...
    pub reason: &'static str,
    /// The service asked, when there is one.
    pub service: Option<String>,
}

impl ApiError {
    /// An error with a status, a reason word and a message.
    pub fn new(status: StatusCode, reason: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            parameter: None,
            reason,
            service: None,
        }
    }

    /// 400 for a bad query parameter or body.
    pub fn bad_parameter(parameter: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            parameter: Some(parameter),
            ..ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
        }
    }

    /// The same error, naming the service it concerns.
    pub fn for_service(mut self, service: &[u8]) -> ApiError {
        self.service = Some(String::from_utf8_lossy(service).into_owned());
        self
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        let mut body = serde_json::json!({
            "error": self.message,
            "status": self.status.as_u16(),
            "reason": self.reason,
        });
        if let Some(parameter) = self.parameter {
            body["parameter"] = parameter.into();
        }
        if let Some(service) = &self.service {
            body["service"] = service.clone().into();
        }
        body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut text = self.body().to_string();
        text.push('\n');
        let mut response = (self.status, text).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        match self.status {
            StatusCode::METHOD_NOT_ALLOWED => {
                headers.insert(header::ALLOW, HeaderValue::from_static(super::ALLOWED));
            }
            StatusCode::TOO_MANY_REQUESTS => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        response
    }
}
