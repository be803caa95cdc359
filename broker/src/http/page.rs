//! The gateway's own page at `/` (a placeholder until the page with the service
//! list and a call form lands).

use axum::response::Html;

/// The page at `/`.
pub async fn index() -> Html<&'static str> {
    Html(
        "<!doctype html><title>purezmq http</title><p>purezmq HTTP gateway: call a service with <code>GET /SERVICE?args=[\"hello\"]</code>.</p>\n",
    )
}
