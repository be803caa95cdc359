//! `purezmq`: the command line. Each subcommand lives in its own module under
//! `cli/`; this file parses the command line, sets up logging and the runtime, and
//! turns the outcome into an exit code.

mod cli;

use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use cli::Failure;
use cli::signal::Shutdown;

const AFTER_HELP: &str = "\
Socket specs: TYPE then @ENDPOINT to bind or >ENDPOINT to connect, comma separated:
  xsub@tcp://*:5559   dealer>tcp://127.0.0.1:5560   router@tcp://*:5559,@ipc:///tmp/q

Logging goes to stderr: info and above by default, -v for debug, -vv for trace,
-q for errors only. RUST_LOG (e.g. RUST_LOG=purezmq=debug), when set, takes
precedence.

Examples:
  purezmq up                    # broker :5555, HTTP gateway :9001, an echo service
  curl -g 'http://127.0.0.1:9001/echo?args=[\"hello\"]'
  purezmq proxy 'xsub@tcp://*:5559' 'xpub@tcp://*:5560'
  purezmq cat 'sub>tcp://127.0.0.1:5560' --subscribe weather
  purezmq keygen --cert server.key
  purezmq broker 'tcp://*:5555' --curve
  purezmq echo                  # a Majordomo worker at the broker on :5555
  purezmq call echo hello
  purezmq script date -- date -u   # any program as a Majordomo service
  purezmq http                  # HTTP on :9001: curl http://127.0.0.1:9001/echo?args=%5B1%5D";

/// ZeroMQ from the shell: proxies, a netcat for every socket type, CURVE keys,
/// Majordomo requests and workers.
#[derive(Parser, Debug)]
#[command(
    name = "purezmq",
    version,
    after_help = format!("{AFTER_HELP}\n\n{}", cli::EXIT_CODES),
    propagate_version = true
)]
struct Cli {
    /// More log output on stderr: -v debug, -vv trace.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,

    /// Log only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a proxy between two sockets: forwarder, shared queue, streamer, bridge.
    Proxy(Box<cli::proxy::ProxyArgs>),
    /// Send and receive messages on any socket type (a nanocat / zmqc).
    Cat(Box<cli::cat::CatArgs>),
    /// Send one request to a Majordomo service through a broker and print the reply.
    Call(Box<cli::call::CallArgs>),
    /// A Majordomo worker that answers each request with its own frames.
    Echo(Box<cli::echo::EchoArgs>),
    /// A Majordomo worker that runs a program for each request; its output is the reply.
    Script(Box<cli::script::ScriptArgs>),
    /// An HTTP gateway: any Majordomo service answers HTTP (GET /SERVICE?args=[...]).
    Http(Box<cli::http::HttpArgs>),
    /// Generate a CURVE key pair, printed or as certificate files.
    Keygen(cli::keygen::KeygenArgs),
    /// Run a Majordomo broker (MDP/0.1 and 0.2, MMI) with heartbeats and CURVE.
    Broker(Box<cli::broker::BrokerArgs>),
    /// Run the whole bus in one process: a broker, the HTTP gateway and the
    /// configured services (purezmq.toml), or the built-in echo.
    Up(Box<cli::up::UpArgs>),
    /// Print a shell completion script.
    Completions(cli::completions::CompletionsArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.quiet);
    let outcome = match cli.command {
        Command::Keygen(args) => cli::keygen::run(&args),
        Command::Completions(args) => {
            cli::completions::run(&args, &mut Cli::command());
            Ok(())
        }
        Command::Proxy(args) => on_runtime(|shutdown| cli::proxy::run(*args, shutdown)),
        Command::Cat(args) => on_runtime(|shutdown| cli::cat::run(*args, shutdown)),
        Command::Broker(args) => on_runtime(|shutdown| cli::broker::run(*args, shutdown)),
        Command::Call(args) => on_runtime(|shutdown| cli::call::run(*args, shutdown)),
        Command::Echo(args) => on_runtime(|shutdown| cli::echo::run(*args, shutdown)),
        Command::Up(args) => on_runtime(|shutdown| cli::up::run(*args, shutdown)),
        Command::Script(args) => on_runtime(|shutdown| cli::script::run(*args, shutdown)),
        Command::Http(args) => on_runtime(|shutdown| cli::http::run(*args, shutdown)),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {failure}");
            ExitCode::from(failure.exit_code())
        }
    }
}

/// Runs an async subcommand on a multi-threaded runtime, with Ctrl-C and SIGTERM
/// handed to it as a [`Shutdown`].
fn on_runtime<F>(subcommand: impl FnOnce(Shutdown) -> F) -> Result<(), Failure>
where
    F: Future<Output = Result<(), Failure>>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("purezmq")
        .build()
        .map_err(|e| Failure::Runtime(format!("cannot start the runtime: {e}")))?;
    let outcome = runtime.block_on(async {
        let shutdown = Shutdown::listen()
            .map_err(|e| Failure::Runtime(format!("cannot listen for signals: {e}")))?;
        subcommand(shutdown).await
    });
    // The sockets have closed (LINGER honoured) by now; what is left are tasks
    // winding down, which need not hold the exit.
    runtime.shutdown_timeout(Duration::from_millis(100));
    outcome
}

fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let from_env = std::env::var("RUST_LOG")
        .ok()
        .filter(|directives| !directives.trim().is_empty())
        .and_then(|directives| EnvFilter::try_new(directives).ok());
    let filter = from_env.unwrap_or_else(|| EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}
