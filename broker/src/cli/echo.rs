//! `purezmq echo [SERVICE]`: a Majordomo worker that answers each request with its
//! own frames, for trying a broker and `purezmq call` out.

use std::io::Write;
use std::time::Duration;

use bytes::Bytes;
use clap::Args;
use purezmq_broker::mdp::Version;
use purezmq_broker::worker::{self, Request, Worker, WorkerEvent};

use super::Failure;
use super::call::{ClientSecurityArgs, DEFAULT_BROKER, MdpVersion, client_options};
use super::duration;
use super::signal::Shutdown;

const EXAMPLES: &str = "\
Examples:
  # Offer `echo` at the broker on 127.0.0.1:5555, then call it
  purezmq echo
  purezmq call echo hello

  # Another service name, at two brokers at once
  purezmq echo greeter --broker tcp://10.0.0.1:5555 --broker tcp://10.0.0.2:5555

  # Try streaming: three PARTIAL replies, then the FINAL, 500 ms apart
  purezmq echo --mdp 0.2 --partials 3 --delay 500ms
  purezmq call echo hi --mdp 0.2

The worker prints `worker ready: SERVICE on ENDPOINT` each time it registers (again
after a broker restart), and runs until Ctrl-C or SIGTERM (exit 0).";

/// Flags of `purezmq echo`.
#[derive(Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct EchoArgs {
    /// The service to offer
    #[arg(value_name = "SERVICE", default_value = "echo")]
    pub service: String,

    /// The broker's endpoint; repeat to serve several brokers (one connection each)
    #[arg(short, long = "broker", value_name = "ENDPOINT", default_values_t = [DEFAULT_BROKER.to_string()])]
    pub brokers: Vec<String>,

    /// The protocol version: 0.1 (every broker) or 0.2 (partial replies)
    #[arg(long, value_enum, value_name = "VERSION", default_value_t = MdpVersion::V01)]
    pub mdp: MdpVersion,

    /// Send the request's frames this many times as PARTIAL replies before the
    /// FINAL one (needs --mdp 0.2)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub partials: u32,

    /// Wait this long before each reply, to play a slow worker (e.g. 500ms)
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    pub delay: Option<Duration>,

    /// The heartbeat interval; should match the broker's
    #[arg(long, value_name = "DURATION", value_parser = duration::parse, default_value = "2500ms")]
    pub heartbeat: Duration,

    /// Heartbeat intervals of broker silence before reconnecting
    #[arg(long, value_name = "N", default_value_t = worker::DEFAULT_LIVENESS)]
    pub liveness: u32,

    #[command(flatten)]
    pub security: ClientSecurityArgs,
}

/// Runs `purezmq echo`.
pub async fn run(args: EchoArgs, mut shutdown: Shutdown) -> Result<(), Failure> {
    if args.partials > 0 && args.mdp == MdpVersion::V01 {
        return Err(Failure::usage(
            "MDP/0.1 has no partial replies: add --mdp 0.2 or drop --partials",
        ));
    }
    if args.heartbeat.is_zero() {
        return Err(Failure::usage(
            "--heartbeat must be more than 0, e.g. 2500ms",
        ));
    }
    let worker = announced_worker(
        &args.brokers,
        &args.service,
        args.mdp,
        args.heartbeat,
        args.liveness,
        &args.security,
    )?;
    let partials = args.partials;
    let delay = args.delay;
    let handler = move |request: Request| async move { echo(request, partials, delay).await };
    worker
        .run(handler, async move { shutdown.wait().await })
        .await
        .map_err(|e| Failure::Usage(format!("{e}; give --broker as tcp://HOST:PORT")))
}

/// A worker for `service` at `brokers` that prints `worker ready: SERVICE on
/// ENDPOINT` each time it registers (tests and scripts wait for that line); shared
/// by `purezmq echo` and `purezmq script`.
pub fn announced_worker(
    brokers: &[String],
    service: &str,
    mdp: MdpVersion,
    heartbeat: Duration,
    liveness: u32,
    security: &ClientSecurityArgs,
) -> Result<Worker, Failure> {
    let options = client_options(security)?;
    let name = service.to_string();
    Ok(Worker::new(brokers.to_vec(), service.to_string())
        .version(Version::from(mdp))
        .heartbeat(heartbeat)
        .liveness(liveness)
        .options(options)
        .on_event(move |event| {
            if let WorkerEvent::Registered { endpoint } = event {
                let mut stdout = std::io::stdout().lock();
                let _ = writeln!(stdout, "worker ready: {name} on {endpoint}");
                let _ = stdout.flush();
            }
        }))
}

async fn echo(request: Request, partials: u32, delay: Option<Duration>) -> Vec<Bytes> {
    for _ in 0..partials {
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        if let Err(error) = request.partial(request.body.clone()).await {
            tracing::warn!(%error, "cannot send a partial reply");
        }
    }
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    request.body
}
