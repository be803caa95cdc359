//! `purezmq proxy FRONTEND BACKEND`: the steerable proxy, with an optional capture
//! socket, a control socket and counters printed at an interval.

use std::time::Duration;

use clap::Args;
use purezmq::{Options, Socket};
use purezmq_broker::proxy::{Proxy, Statistics};
use purezmq_broker::sockopt::{self, Assignment};
use purezmq_broker::spec::SocketSpec;

use super::Failure;
use super::duration;
use super::security::{Secured, SideSecurityArgs};
use super::signal::Shutdown;

const EXAMPLES: &str = "\
Examples:
  # Forwarder: publishers connect to 5559, subscribers to 5560; subscriptions
  # travel upstream
  purezmq proxy 'xsub@tcp://*:5559' 'xpub@tcp://*:5560'

  # Shared queue: clients (REQ/DEALER) connect to 5559, workers (REP) to 5560
  purezmq proxy 'router@tcp://*:5559' 'dealer@tcp://*:5560'

  # Streamer: a pipeline stage between PUSH producers and PULL consumers
  purezmq proxy 'pull@tcp://*:5557' 'push@tcp://*:5558'

  # Bridge: subscribe to a remote publisher, re-publish it on a local ipc path
  purezmq proxy 'xsub>tcp://10.0.0.5:5556' 'xpub@ipc:///tmp/feed'

  # Steerable, with a copy of every frame, and the counters each second as JSON
  purezmq proxy 'router@tcp://*:5559' 'dealer@tcp://*:5560' \\
      --control rep@tcp://127.0.0.1:5570 --capture 'pub@tcp://127.0.0.1:5571' \\
      --stats-every 1s --json
  # ... then, from another shell:
  purezmq cat 'req>tcp://127.0.0.1:5570' -D PAUSE       # and RESUME, TERMINATE
  purezmq cat 'req>tcp://127.0.0.1:5570' -D STATISTICS --format hex

  # Options per socket: --sockopt applies to frontend and backend, the
  # --frontend-opt, --backend-opt, --capture-opt and --control-opt flags to one
  purezmq proxy 'xsub@tcp://*:5559' 'xpub@tcp://*:5560' \\
      --sockopt sndhwm=100000 --sockopt rcvhwm=100000 --backend-opt xpub_verbose=1

  # CURVE on the frontend only (its clients' certificates in ./clients)
  purezmq proxy 'router@tcp://*:5559' 'dealer@ipc:///tmp/workers' \\
      --frontend-curve-server server.key_secret --frontend-zap-allow clients/

The control socket takes PAUSE, RESUME, TERMINATE and STATISTICS (8 frames of u64
in native byte order). Ctrl-C or SIGTERM stops the proxy and closes its sockets
(LINGER honoured); TERMINATE on the control socket does the same. Both exit 0.";

/// Flags of `purezmq proxy`.
#[derive(Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct ProxyArgs {
    /// The frontend socket, e.g. xsub@tcp://*:5559 or router@tcp://*:5559
    #[arg(value_name = "FRONTEND")]
    pub frontend: SocketSpec,

    /// The backend socket, e.g. xpub@tcp://*:5560 or dealer@tcp://*:5560
    #[arg(value_name = "BACKEND")]
    pub backend: SocketSpec,

    /// A socket that gets a copy of every frame, e.g. pub@tcp://127.0.0.1:5571 (it
    /// never slows the proxy: copies it cannot take are dropped and counted).
    #[arg(long, value_name = "SPEC")]
    pub capture: Option<SocketSpec>,

    /// A socket taking PAUSE, RESUME, TERMINATE and STATISTICS, e.g.
    /// rep@tcp://127.0.0.1:5570
    #[arg(long, value_name = "SPEC")]
    pub control: Option<SocketSpec>,

    /// Print the counters to stdout at this interval (e.g. 1s, 500ms), and once more
    /// at exit. As in libzmq, each frame counts as a message.
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    pub stats_every: Option<Duration>,

    /// Print the counters as one JSON object per line.
    #[arg(long, requires = "stats_every")]
    pub json: bool,

    /// Set an option on the frontend and the backend, by libzmq name in libzmq's
    /// units (repeatable), e.g. sndhwm=100000.
    #[arg(long = "sockopt", value_name = "NAME=VALUE")]
    pub sockopt: Vec<Assignment>,

    /// Set an option on the frontend only (after --sockopt).
    #[arg(long = "frontend-opt", value_name = "NAME=VALUE")]
    pub frontend_opt: Vec<Assignment>,

    /// Set an option on the backend only (after --sockopt).
    #[arg(long = "backend-opt", value_name = "NAME=VALUE")]
    pub backend_opt: Vec<Assignment>,

    /// Set an option on the capture socket.
    #[arg(long = "capture-opt", value_name = "NAME=VALUE", requires = "capture")]
    pub capture_opt: Vec<Assignment>,

    /// Set an option on the control socket.
    #[arg(long = "control-opt", value_name = "NAME=VALUE", requires = "control")]
    pub control_opt: Vec<Assignment>,

    #[command(flatten)]
    pub security: SideSecurityArgs,
}

/// Creates a socket: options, security and its ZAP handler, then its endpoints.
fn open(
    role: &str,
    spec: &SocketSpec,
    assignments: &[&[Assignment]],
    secured: Option<&Secured>,
) -> Result<Socket, Failure> {
    let mut options = Options::default();
    for set in assignments {
        sockopt::apply_all(&mut options, *set).map_err(Failure::usage)?;
    }
    if let Some(secured) = secured {
        secured.apply(&mut options);
    }
    let socket = Socket::with_options(spec.socket_type, options)
        .map_err(|e| Failure::Usage(format!("{role} {spec}: {e}")))?;
    if let Some(secured) = secured {
        secured.install(&socket);
    }
    spec.attach(&socket)
        .map_err(|e| Failure::Runtime(format!("{role} {spec}: {e}")))?;
    Ok(socket)
}

/// Runs `purezmq proxy`.
pub async fn run(args: ProxyArgs, mut shutdown: Shutdown) -> Result<(), Failure> {
    let frontend_security = args.security.frontend.configure("frontend-")?;
    let backend_security = args.security.backend.configure("backend-")?;
    let frontend = open(
        "frontend",
        &args.frontend,
        &[&args.sockopt, &args.frontend_opt],
        Some(&frontend_security),
    )?;
    let backend = open(
        "backend",
        &args.backend,
        &[&args.sockopt, &args.backend_opt],
        Some(&backend_security),
    )?;
    let capture = match &args.capture {
        Some(spec) => Some(open("capture", spec, &[&args.capture_opt], None)?),
        None => None,
    };
    let control = match &args.control {
        Some(spec) => Some(open("control", spec, &[&args.control_opt], None)?),
        None => None,
    };

    // The proxy gets clones; ours close the sockets gracefully once it is done.
    let mut proxy = Proxy::new(frontend.clone(), backend.clone());
    if let Some(capture) = &capture {
        proxy = proxy.capture(capture.clone());
    }
    if let Some(control) = &control {
        proxy = proxy.control(control.clone());
    }
    let handle = proxy.handle();
    tracing::info!(
        frontend = %args.frontend,
        backend = %args.backend,
        "proxy running"
    );
    let mut running = tokio::spawn(proxy.run());
    let mut ticks = args.stats_every.map(|every| {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks
    });

    let outcome = loop {
        tokio::select! {
            finished = &mut running => break finished,
            () = shutdown.wait() => {
                tracing::info!("stopping the proxy");
                handle.terminate();
                break match tokio::time::timeout(Duration::from_secs(5), &mut running).await {
                    Ok(finished) => finished,
                    Err(_) => {
                        tracing::warn!("the proxy did not stop within 5 s; closing its sockets");
                        running.abort();
                        Ok(Ok(()))
                    }
                };
            }
            () = tick(&mut ticks) => print_statistics(&handle.statistics(), args.json),
        }
    };
    if args.stats_every.is_some() {
        print_statistics(&handle.statistics(), args.json);
    }

    let closing = [Some(frontend), Some(backend), capture, control]
        .into_iter()
        .flatten()
        .map(Socket::close);
    futures::future::join_all(closing).await;

    match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(Failure::runtime(error)),
        Err(panic) => Err(Failure::Runtime(format!("the proxy failed: {panic}"))),
    }
}

/// The next tick, or never without `--stats-every`.
async fn tick(ticks: &mut Option<tokio::time::Interval>) {
    match ticks {
        Some(ticks) => {
            ticks.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Prints one line of counters to stdout.
fn print_statistics(statistics: &Statistics, json: bool) {
    let line = if json {
        serde_json::to_string(statistics).unwrap_or_default()
    } else {
        statistics_line(statistics)
    };
    println!("{line}");
}

/// `frontend in 10 msg 320 B out 10 msg 320 B | backend in ... | capture dropped 0`
fn statistics_line(statistics: &Statistics) -> String {
    let side = |name: &str, side: &purezmq_broker::proxy::SideStatistics| {
        format!(
            "{name} in {} msg {} B out {} msg {} B",
            side.messages_in, side.bytes_in, side.messages_out, side.bytes_out
        )
    };
    format!(
        "{} | {} | capture dropped {}",
        side("frontend", &statistics.frontend),
        side("backend", &statistics.backend),
        statistics.capture_dropped
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use purezmq_broker::proxy::SideStatistics;

    #[test]
    fn the_statistics_line_names_each_counter() {
        let statistics = Statistics {
            frontend: SideStatistics {
                messages_in: 10,
                bytes_in: 320,
                messages_out: 9,
                bytes_out: 300,
            },
            backend: SideStatistics {
                messages_in: 9,
                bytes_in: 300,
                messages_out: 10,
                bytes_out: 320,
            },
            capture_dropped: 2,
        };
        assert_eq!(
            statistics_line(&statistics),
            "frontend in 10 msg 320 B out 9 msg 300 B | backend in 9 msg 300 B out 10 msg 320 B | capture dropped 2"
        );
    }
}
