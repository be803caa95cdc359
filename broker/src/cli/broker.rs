//! `purezmq broker [ENDPOINT...]`: the Majordomo broker (MDP/0.1 and 0.2, MMI),
//! with heartbeats, bounded queues, counters, CURVE, and Titanic (RFC 9) with
//! `--titanic DIR`.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use purezmq::auth::{ANY_DOMAIN, Authenticator, CurveKeys};
use purezmq::curve::{Certificate, KeyPair};
use purezmq::{Options, Security};
use purezmq_broker::broker::state::MIN_HEARTBEAT;
use purezmq_broker::broker::{Broker, BrokerConfig, BrokerHandle};
use purezmq_broker::sockopt::{self, Assignment};
use purezmq_broker::titanic::{self, Titanic, TitanicConfig, TitanicHandle};

use super::Failure;
use super::duration;
use super::keygen;
use super::signal::Shutdown;

/// The broker's endpoint when none is given: the guide's.
pub const DEFAULT_ENDPOINT: &str = "tcp://*:5555";
/// Where `--curve` keeps the broker's certificate when `--cert` is not given.
pub const DEFAULT_CERT: &str = "purezmq-broker.key";

const EXAMPLES: &str = "\
Examples:
  # The guide's broker on tcp://*:5555, MDP/0.1 and 0.2 clients and workers
  purezmq broker

  # Two endpoints, quick heartbeats, small queues, counters every 10 s
  purezmq broker 'tcp://*:5555' ipc:///tmp/mdp --heartbeat 1s --liveness 3 \\
      --max-queue 1000 --request-ttl 10s --stats-every 10s

  # CURVE: the broker's certificate is created in ./purezmq-broker.key(_secret)
  # on first start and kept; its public key is printed for clients and workers
  purezmq broker --curve

  # Ironhouse: only the clients and workers whose certificates are in ./clients
  purezmq keygen --cert clients/alice.key
  purezmq broker --curve --cert /etc/mdp/broker.key --allow-keys clients/

  # Titanic: requests kept in /var/lib/titanic until their service replies
  purezmq broker --titanic /var/lib/titanic
  purezmq call titanic.request echo hello     # 200, then the request's UUID
  purezmq call titanic.reply UUID             # 300 until a worker replied, then 200
  purezmq call titanic.close UUID

On start the broker prints `broker listening on ENDPOINT` for each endpoint (and,
with --curve, `broker public key: KEY`; with --titanic, `titanic storing requests
in PATH`) on stdout. Ctrl-C or SIGTERM closes the
socket and exits 0.";

/// Flags of `purezmq broker`.
#[derive(Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct BrokerArgs {
    /// Endpoints to bind (default tcp://*:5555), e.g. tcp://*:5555 ipc:///tmp/mdp
    #[arg(value_name = "ENDPOINT")]
    pub endpoints: Vec<String>,

    /// How often the broker sends workers a HEARTBEAT (e.g. 2500ms, 1s).
    #[arg(long, value_name = "DURATION", value_parser = duration::parse, default_value = "2500ms")]
    pub heartbeat: Duration,

    /// Heartbeat intervals a worker may stay silent before it is removed.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub liveness: u32,

    /// Most requests waiting per service for a worker; more are dropped.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub max_queue: usize,

    /// How long a request may wait for a worker before it is dropped (e.g. 30s).
    #[arg(long, value_name = "DURATION", value_parser = duration::parse, default_value = "30s")]
    pub request_ttl: Duration,

    /// Print a line of counters to stdout at this interval (e.g. 10s), and once
    /// more at exit.
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    pub stats_every: Option<Duration>,

    /// Encrypt and authenticate with CURVE; the broker's certificate is created at
    /// --cert on first start and reused afterwards.
    #[arg(long, help_heading = "Security")]
    pub curve: bool,

    /// The broker's certificate with --curve: PATH holds the public key, PATH_secret
    /// both keys (as `purezmq keygen --cert` writes them) [default: ./purezmq-broker.key]
    #[arg(
        long,
        value_name = "PATH",
        requires = "curve",
        help_heading = "Security"
    )]
    pub cert: Option<PathBuf>,

    /// With --curve: admit only clients and workers whose public certificate
    /// (*.key) is in DIR (ironhouse).
    #[arg(
        long,
        value_name = "DIR",
        requires = "curve",
        help_heading = "Security"
    )]
    pub allow_keys: Option<PathBuf>,

    /// Admit peers from this IP address only (repeatable).
    #[arg(long, value_name = "ADDRESS", help_heading = "Security")]
    pub allow_ip: Vec<IpAddr>,

    /// Run Titanic (RFC 9) inside the broker: titanic.request, titanic.reply and
    /// titanic.close, with requests kept in DIR (created if missing) until their
    /// service replies, across restarts.
    #[arg(long, value_name = "DIR", help_heading = "Titanic")]
    pub titanic: Option<PathBuf>,

    /// With --titanic: most requests waiting for a reply; more are answered 500.
    #[arg(
        long,
        value_name = "N",
        requires = "titanic",
        default_value_t = titanic::DEFAULT_MAX_PENDING,
        value_parser = clap::value_parser!(u64).range(1..),
        help_heading = "Titanic"
    )]
    pub max_pending: u64,

    /// Set a socket option by libzmq name in libzmq's units (repeatable), e.g.
    /// sndhwm=100000.
    #[arg(long = "sockopt", value_name = "NAME=VALUE")]
    pub sockopt: Vec<Assignment>,
}

/// Runs `purezmq broker`.
pub async fn run(args: BrokerArgs, mut shutdown: Shutdown) -> Result<(), Failure> {
    let started = start(&args)?;
    tracing::info!(
        heartbeat = ?args.heartbeat,
        liveness = args.liveness,
        max_queue = args.max_queue,
        request_ttl = ?args.request_ttl,
        "broker running"
    );
    let outcome = serve(&started.handle, &mut shutdown, args.stats_every).await;
    let stopped = started.stop(args.stats_every.is_some()).await;
    outcome?;
    stopped
}

/// A broker started from `purezmq broker`'s flags: its handle, Titanic when asked,
/// and an inproc endpoint for services running in the same process.
pub struct Started {
    /// The running broker.
    pub handle: BrokerHandle,
    /// An inproc endpoint the broker also binds. Peers in this process reach the
    /// broker there without a security handshake: it passes `--curve`,
    /// `--allow-keys` and `--allow-ip`.
    pub internal: String,
    titanic: Option<TitanicHandle>,
}

impl Started {
    /// Stops Titanic, then the broker (printing its counters if `print_stats`).
    pub async fn stop(self, print_stats: bool) -> Result<(), Failure> {
        if let Some(titanic) = self.titanic {
            titanic.stop().await;
        }
        self.handle.shutdown();
        let stats = self.handle.stats();
        let joined = self.handle.join().await;
        if print_stats {
            println!("{}", stats.summary());
        }
        joined.map_err(Failure::runtime)
    }
}

/// Starts a broker (and Titanic) as the flags say, printing what it listens on.
pub fn start(args: &BrokerArgs) -> Result<Started, Failure> {
    if args.heartbeat < MIN_HEARTBEAT {
        return Err(Failure::Usage(
            "--heartbeat must be at least 1ms (the default is 2500ms)".into(),
        ));
    }
    let mut options = Options::default();
    sockopt::apply_all(&mut options, &args.sockopt).map_err(Failure::usage)?;
    let mut authenticator = None::<Authenticator>;
    if args.curve {
        let path = args
            .cert
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CERT));
        let keypair = load_or_create(&path)?;
        println!("broker public key: {}", keypair.public().to_z85());
        if let Some(dir) = &args.allow_keys {
            let keys = CurveKeys::from_directory(dir)
                .map_err(|e| Failure::Runtime(format!("--allow-keys {}: {e}", dir.display())))?;
            authenticator
                .get_or_insert_with(Authenticator::new)
                .configure_curve(ANY_DOMAIN, keys);
        }
        options.security = Security::CurveServer { keypair };
    }
    if !args.allow_ip.is_empty() {
        let authenticator = authenticator.get_or_insert_with(Authenticator::new);
        for address in &args.allow_ip {
            authenticator.allow(*address);
        }
        if matches!(options.security, Security::Null) && options.zap_domain.is_empty() {
            // A NULL socket asks its ZAP handler only when it has a domain.
            options.zap_domain = "global".into();
        }
    }

    let config = BrokerConfig {
        heartbeat: args.heartbeat,
        liveness: args.liveness,
        max_queue: args.max_queue,
        request_ttl: args.request_ttl,
        ..BrokerConfig::default()
    };
    let mut broker = Broker::new(config).options(options);
    if let Some(authenticator) = authenticator {
        broker = broker.zap_handler(authenticator);
    }
    let endpoints = if args.endpoints.is_empty() {
        vec![DEFAULT_ENDPOINT.to_string()]
    } else {
        args.endpoints.clone()
    };
    for endpoint in &endpoints {
        broker = broker.bind(endpoint.clone());
    }
    // Inproc has no security handshake, so Titanic and other in-process services
    // need no CURVE key and pass --allow-keys and --allow-ip.
    let internal = format!("inproc://purezmq-broker-{}", titanic::Uuid::random());
    broker = broker.bind(internal.clone());
    let titanic = match &args.titanic {
        Some(dir) => {
            let config = TitanicConfig {
                max_pending: args.max_pending,
                heartbeat: args.heartbeat,
                liveness: args.liveness,
                ..TitanicConfig::default()
            };
            let titanic = Titanic::new(dir, config)
                .map_err(|e| Failure::Runtime(format!("--titanic {}: {e}", dir.display())))?;
            Some(titanic)
        }
        None => None,
    };
    let handle = broker.spawn().map_err(Failure::runtime)?;
    for endpoint in &handle.endpoints()[..endpoints.len()] {
        println!("broker listening on {endpoint}");
    }
    let titanic = match titanic {
        Some(titanic) => {
            let dir = titanic.store().path().display().to_string();
            let running = titanic.serve(&internal).map_err(Failure::runtime)?;
            println!("titanic storing requests in {dir}");
            Some(running)
        }
        None => None,
    };
    Ok(Started {
        handle,
        internal,
        titanic,
    })
}

/// Waits for a signal or the broker's end, printing counters meanwhile.
async fn serve(
    handle: &BrokerHandle,
    shutdown: &mut Shutdown,
    stats_every: Option<Duration>,
) -> Result<(), Failure> {
    let mut ticks = stats_every.map(|every| {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks
    });
    let mut poll = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            () = shutdown.wait() => {
                tracing::info!("stopping the broker");
                return Ok(());
            }
            () = tick(&mut ticks) => println!("{}", handle.stats().summary()),
            _ = poll.tick() => {
                if handle.is_finished() {
                    return Ok(());
                }
            }
        }
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

/// The broker's key pair from `PATH_secret`, made (with `PATH`) if it is not there.
fn load_or_create(path: &Path) -> Result<KeyPair, Failure> {
    let secret = keygen::secret_path(path);
    if secret.exists() {
        let certificate = Certificate::load(&secret)
            .map_err(|e| Failure::Runtime(format!("--cert {}: {e}", secret.display())))?;
        return certificate.key_pair().ok_or_else(|| {
            Failure::Usage(format!(
                "{} has no secret key; give --cert the public certificate's path (PATH, not PATH_secret), or remove the file to make a new one",
                secret.display()
            ))
        });
    }
    if path.exists() {
        return Err(Failure::Usage(format!(
            "{} exists but {} does not: the broker needs its secret key; give another --cert PATH to make a new certificate",
            path.display(),
            secret.display()
        )));
    }
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::Runtime(format!("cannot create {}: {e}", dir.display())))?;
    }
    let keypair = KeyPair::generate();
    let certificate = Certificate::new(keypair.clone()).with_metadata("name", "purezmq-broker");
    keygen::write_pair(&certificate, path, false)?;
    Ok(keypair)
}
