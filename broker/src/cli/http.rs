//! `purezmq http`: the HTTP gateway, so that any Majordomo service answers HTTP
//! (waha-proxy-http's job, with honest status codes, limits and streaming).

use std::io::Write;
use std::net::SocketAddr;

use clap::Args;
use purezmq_broker::http::{Gateway, GatewayConfig, GatewayError};

use super::Failure;
use super::call::{
    ClientSecurityArgs, DEFAULT_BROKER, MdpVersion, Timeout, client_options, parse_timeout,
};
use super::signal::Shutdown;

const EXAMPLES: &str = "\
Examples:
  # A broker, an echo worker and the gateway on 127.0.0.1:9001
  purezmq broker & purezmq echo & purezmq http

  # GET: the path names the service, args is a JSON array, one frame per element
  # (URL-encoded: -G --data-urlencode does it; browsers do it themselves)
  curl -G --data-urlencode 'args=[\"hello\", 42]' http://127.0.0.1:9001/echo
  curl 'http://127.0.0.1:9001/echo?args=%5B%22hello%22%5D'      # [\"hello\"]

  # POST a JSON array; any other content type is sent as one frame
  curl --json '[\"a\", {\"k\": 1}]' http://127.0.0.1:9001/echo
  curl --data-binary @photo.jpg -H 'Content-Type: image/jpeg' http://127.0.0.1:9001/resize

  # Plain text, a 250 ms timeout, JSONP
  curl -G --data-urlencode 'args=[\"hi\"]' -d type=plain -d timeout=250 http://127.0.0.1:9001/echo
  curl -G --data-urlencode 'args=[\"hi\"]' -d callback=app.show http://127.0.0.1:9001/echo

  # Partial replies as Server-Sent Events (MDP/0.2 worker and gateway)
  purezmq echo --mdp 0.2 --partials 3 --delay 500ms & purezmq http --mdp 0.2
  curl -N -H 'Accept: text/event-stream' http://127.0.0.1:9001/echo

  # The broker's services, health and metrics
  curl http://127.0.0.1:9001/mmi.services
  curl http://127.0.0.1:9001/healthz
  curl http://127.0.0.1:9001/metrics

Status codes: 200 reply, 400 bad args (the JSON body names the parameter), 405
method, 413 body over --max-body, 429 over --max-inflight, 502 not a reply, 503
no worker for the service or the broker does not answer, 504 no reply within the
timeout. Every error body is JSON: {\"error\": \"...\", \"status\": ..., \"reason\": ...}.

Paths /, /healthz and /metrics are the gateway's own: reach a service named
metrics as /%6Detrics.

The gateway prints `http gateway listening on http://ADDR` once bound, and stops
on Ctrl-C or SIGTERM (exit 0); a bind that fails exits 1.";

/// Flags of `purezmq http`.
#[derive(Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct HttpArgs {
    /// The broker's endpoint; repeat for failover (a broker that does not answer
    /// is left for the next)
    #[arg(short, long = "broker", value_name = "ENDPOINT", default_values_t = [DEFAULT_BROKER.to_string()])]
    pub brokers: Vec<String>,

    /// Where to listen for HTTP
    #[arg(short, long, value_name = "ADDR", default_value = "127.0.0.1:9001")]
    pub listen: SocketAddr,

    /// How long a request waits for its reply unless it says ?timeout=MS (e.g.
    /// 500ms, 5s), or inf (or -1) to wait for ever
    #[arg(short, long, value_name = "DURATION", default_value = "5s", value_parser = parse_timeout, allow_hyphen_values = true)]
    pub timeout: Timeout,

    /// The largest POST body taken (e.g. 64KiB, 1MiB, 1000000); larger ones get 413
    #[arg(long, value_name = "SIZE", default_value = "1MiB", value_parser = super::size::parse)]
    pub max_body: usize,

    /// How many requests may be in flight at once; more get 429
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub max_inflight: usize,

    /// Allow browsers on this origin (e.g. https://example.com, or *) to call the
    /// gateway: adds Access-Control-Allow-Origin and answers preflights
    #[arg(long, value_name = "ORIGIN")]
    pub cors: Option<String>,

    /// The protocol version to the broker: 0.1 (every broker) or 0.2 (partial
    /// replies streamed as they arrive)
    #[arg(long, value_enum, value_name = "VERSION", default_value_t = MdpVersion::V01)]
    pub mdp: MdpVersion,

    #[command(flatten)]
    pub security: ClientSecurityArgs,
}

/// The gateway's configuration from the flags, with `brokers` to reach.
pub fn gateway_config(args: &HttpArgs, brokers: Vec<String>) -> Result<GatewayConfig, Failure> {
    if args.max_inflight == 0 {
        return Err(Failure::usage("--max-inflight must be at least 1"));
    }
    Ok(GatewayConfig {
        brokers,
        listen: args.listen,
        timeout: args.timeout.0,
        max_body: args.max_body,
        max_inflight: args.max_inflight,
        cors: args.cors.clone(),
        options: client_options(&args.security)?,
        version: args.mdp.into(),
    })
}

/// Runs `purezmq http`.
pub async fn run(args: HttpArgs, mut shutdown: Shutdown) -> Result<(), Failure> {
    let brokers = args.brokers.clone();
    let config = gateway_config(&args, brokers)?;
    let gateway = Gateway::bind(config).await.map_err(|error| match error {
        GatewayError::Bind { .. } | GatewayError::Serve(_) => Failure::runtime(error),
        GatewayError::Broker(_) | GatewayError::Config(_) => Failure::usage(error),
    })?;
    {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(
            stdout,
            "http gateway listening on http://{}",
            gateway.local_addr()
        );
        let _ = stdout.flush();
    }
    gateway
        .serve(async move { shutdown.wait().await })
        .await
        .map_err(Failure::runtime)
}
