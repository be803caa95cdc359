//! The two servers measured, each run in a process of its own
//! (`httpbench --serve KIND`): the gateway in front of a Majordomo broker and
//! built-in echo workers, all in one process, and a plain axum handler answering
//! the same bytes, the limit for any HTTP front on this machine.

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::http::header;
use axum::routing::get;
use bytes::Bytes;
use purezmq_broker::broker::{Broker, BrokerConfig};
use purezmq_broker::http::{Gateway, GatewayConfig};
use purezmq_broker::worker::{Request, Worker};
use tokio::net::TcpListener;

/// The service the workers offer.
pub const SERVICE: &str = "echo";
/// The frame each request carries.
pub const FRAME: &str = "hello";
/// The request target: `SERVICE` with the one frame, URL-encoded.
pub const TARGET: &str = "/echo?args=%5B%22hello%22%5D";
/// What both servers answer: the JSON array of the reply's frames, and the
/// newline the gateway ends its JSON with.
pub const REPLY: &str = "[\"hello\"]\n";

/// Which server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A plain axum handler answering [`REPLY`].
    Plain,
    /// The gateway, the broker and the echo workers.
    Gateway,
}

impl Kind {
    /// The name on the command line and in the report.
    pub fn key(self) -> &'static str {
        match self {
            Kind::Plain => "plain",
            Kind::Gateway => "gateway",
        }
    }

    /// The kind named `key`.
    pub fn parse(key: &str) -> Option<Kind> {
        [Kind::Plain, Kind::Gateway]
            .into_iter()
            .find(|kind| kind.key() == key)
    }
}

/// How the gateway server is put together.
#[derive(Clone, Debug)]
pub struct Setup {
    /// Echo workers.
    pub workers: usize,
    /// Where the broker binds, and the gateway and workers connect:
    /// `tcp://127.0.0.1:*` or `inproc://…`.
    pub broker: String,
}

/// Serves `kind` on a port of loopback, printing `listening on ADDR` once bound,
/// until `shutdown` resolves.
pub async fn serve(
    kind: Kind,
    setup: &Setup,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    match kind {
        Kind::Plain => plain(shutdown).await,
        Kind::Gateway => gateway(setup, shutdown).await,
    }
}

fn announce(addr: SocketAddr) {
    use std::io::Write;
    println!("listening on {addr}");
    let _ = std::io::stdout().flush();
}

async fn plain(shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), String> {
    let app = Router::new().route(
        "/echo",
        get(|| async { ([(header::CONTENT_TYPE, "application/json")], REPLY) }),
    );
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot bind: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    announce(addr);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| format!("the plain server failed: {e}"))
}

async fn gateway(
    setup: &Setup,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let broker = Broker::new(BrokerConfig::default())
        .bind(setup.broker.clone())
        .spawn()
        .map_err(|e| format!("cannot start the broker: {e}"))?;
    let endpoint = broker
        .endpoints()
        .first()
        .cloned()
        .ok_or_else(|| "the broker bound nothing".to_owned())?;
    for _ in 0..setup.workers.max(1) {
        let worker = Worker::new(endpoint.clone(), Bytes::from_static(SERVICE.as_bytes()));
        tokio::spawn(async move {
            let echo = |request: Request| async move { request.body };
            if let Err(e) = worker.run(echo, std::future::pending()).await {
                eprintln!("httpbench: an echo worker failed: {e}");
            }
        });
    }
    let config = GatewayConfig {
        brokers: vec![endpoint],
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..GatewayConfig::default()
    };
    let gateway = Gateway::bind(config)
        .await
        .map_err(|e| format!("cannot start the gateway: {e}"))?;
    announce(gateway.local_addr());
    let served = gateway
        .serve(shutdown)
        .await
        .map_err(|e| format!("the gateway failed: {e}"));
    let _ = broker.stop().await;
    served
}
