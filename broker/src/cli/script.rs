//! `purezmq script SERVICE -- PROGRAM [ARGS...]`: a Majordomo worker that answers
//! each request by running a program (seed 000's waha-service-script).

use std::ffi::OsString;
use std::time::Duration;

use clap::Args;
use purezmq_broker::script::{self, ScriptConfig, ScriptError, ScriptService};
use purezmq_broker::worker;

use super::Failure;
use super::call::{ClientSecurityArgs, DEFAULT_BROKER, MdpVersion, Timeout, parse_timeout};
use super::duration;
use super::signal::Shutdown;

const EXAMPLES: &str = "\
Each request runs PROGRAM ARGS... with the request's frames as further arguments
(empty frames skipped); the reply is its stdout. No shell is involved: a frame
such as '; rm -rf /' is one argument, passed as it is. The program gets an empty
environment but PUREZMQ_SERVICE=SERVICE and the variables named by --env (PATH
too is cleared: PROGRAM is looked up in PATH once, at start). Each run is a
process group of its own; at --timeout the whole group is killed, and so is
whatever the program leaves running when it ends.

Examples:
  # `date` as a service, then call it
  purezmq script date -- date -u
  purezmq call date

  # Frames as arguments: the reply is `hello world`
  purezmq script greet -- echo hello
  purezmq call greet world

  # The body on stdin (frames one per line), four requests at once, 5 s each
  purezmq script sort --stdin -j 4 --timeout 5s -- sort
  purezmq call sort pear apple

  # Stderr merged into the reply, the exit code as a last frame
  purezmq script check -e -r --env PATH -- ./check.sh

The reply: one frame of output (stdout; with -e stdout and stderr interleaved;
with -e --no-stdout stderr alone; none with --no-stdout), then with -r how the
program ended (\"0\", \"1\", \"signal 9\"). Output past --max-output is cut and ends
with the line `[output cut at N bytes]`; a run killed at --timeout ends with
`[timeout after 30s: process group killed]`. A program that cannot start gets
the reply `cannot run PROGRAM: REASON` (with -r then \"127\" or \"126\").

The worker prints `worker ready: SERVICE on ENDPOINT` each time a connection
registers (-j N: N times per broker), and runs until Ctrl-C or SIGTERM (exit 0),
killing the programs still running. Exit 2 when PROGRAM is not found at start.";

/// Flags of `purezmq script`.
#[derive(Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct ScriptArgs {
    /// The service to offer
    #[arg(value_name = "SERVICE")]
    pub service: String,

    /// The program to run for each request and its first arguments, after `--`
    #[arg(value_name = "PROGRAM", last = true, required = true, num_args = 1.., value_parser = clap::value_parser!(OsString))]
    pub command: Vec<OsString>,

    /// The broker's endpoint; repeat to serve several brokers (one connection each)
    #[arg(short, long = "broker", value_name = "ENDPOINT", default_values_t = [DEFAULT_BROKER.to_string()])]
    pub brokers: Vec<String>,

    /// Write the frames to the program's stdin, each followed by a newline, instead
    /// of passing them as arguments
    #[arg(long)]
    pub stdin: bool,

    /// Keep empty frames (as "" arguments, or empty lines with --stdin)
    #[arg(long)]
    pub keep_empty: bool,

    /// Merge stderr into the reply, interleaved with stdout
    #[arg(short = 'e', long = "stderr")]
    pub stderr: bool,

    /// Append how the program ended as a last frame: "0", "1", "signal 9"
    #[arg(short = 'r', long)]
    pub exit_code: bool,

    /// Leave stdout out of the reply
    #[arg(long)]
    pub no_stdout: bool,

    /// How many requests run at once (N registrations at each broker)
    #[arg(short, long, value_name = "N", default_value_t = 1)]
    pub jobs: usize,

    /// How long a run may take before its whole process group is killed (e.g. 500ms,
    /// 30s), or inf
    #[arg(short, long, value_name = "DURATION", default_value = "30s", value_parser = parse_timeout)]
    pub timeout: Timeout,

    /// The most output read per request (e.g. 4096, 64KiB, 1MiB, 1MB); past it the
    /// group is killed and the reply cut
    #[arg(long, value_name = "BYTES", default_value = "1MiB", value_parser = parse_max_output)]
    pub max_output: usize,

    /// Pass this variable from the worker's environment to the program (repeat)
    #[arg(long = "env", value_name = "NAME")]
    pub env: Vec<String>,

    /// The protocol version: 0.1 (every broker) or 0.2
    #[arg(long, value_enum, value_name = "VERSION", default_value_t = MdpVersion::V01)]
    pub mdp: MdpVersion,

    /// The heartbeat interval; should match the broker's
    #[arg(long, value_name = "DURATION", value_parser = duration::parse, default_value = "2500ms")]
    pub heartbeat: Duration,

    /// Heartbeat intervals of broker silence before reconnecting
    #[arg(long, value_name = "N", default_value_t = worker::DEFAULT_LIVENESS)]
    pub liveness: u32,

    #[command(flatten)]
    pub security: ClientSecurityArgs,
}

/// An output limit: a size (`cli::size`), more than zero.
fn parse_max_output(text: &str) -> Result<usize, String> {
    match super::size::parse(text)? {
        0 => Err("a size of 0 leaves no room for any output".into()),
        size => Ok(size),
    }
}

/// Runs `purezmq script`.
pub async fn run(args: ScriptArgs, mut shutdown: Shutdown) -> Result<(), Failure> {
    if args.heartbeat.is_zero() {
        return Err(Failure::usage(
            "--heartbeat must be more than 0, e.g. 2500ms",
        ));
    }
    if args.jobs == 0 {
        return Err(Failure::usage("-j must be at least 1 (requests at once)"));
    }
    let Some((program, program_args)) = args.command.split_first() else {
        return Err(Failure::usage(
            "give the program after --, e.g. purezmq script date -- date -u",
        ));
    };
    script::resolve_program(program).map_err(|e| Failure::usage(usage_message(&e)))?;
    let config = ScriptConfig {
        stdin: args.stdin,
        keep_empty: args.keep_empty,
        merge_stderr: args.stderr,
        exit_code: args.exit_code,
        no_stdout: args.no_stdout,
        jobs: args.jobs,
        timeout: args.timeout.0,
        max_output: args.max_output,
        env: args.env.clone(),
        ..ScriptConfig::new(program.clone(), program_args.to_vec())
    };
    let worker = super::echo::announced_worker(
        &args.brokers,
        &args.service,
        args.mdp,
        args.heartbeat,
        args.liveness,
        &args.security,
    )?;
    ScriptService::new(worker, args.service, config)
        .run(async move { shutdown.wait().await })
        .await
        .map_err(|e| match e {
            ScriptError::Worker(e) => {
                Failure::Usage(format!("{e}; give --broker as tcp://HOST:PORT"))
            }
            other => Failure::usage(usage_message(&other)),
        })
}

fn usage_message(error: &ScriptError) -> String {
    format!("{error} (the program comes after --: purezmq script SERVICE -- PROGRAM [ARGS...])")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_output_limit_is_a_size_above_zero() {
        assert_eq!(parse_max_output("64KiB"), Ok(65536));
        assert_eq!(parse_max_output("1MB"), Ok(1_000_000));
        assert!(parse_max_output("0").unwrap_err().contains("no room"));
        assert!(parse_max_output("1TB").unwrap_err().starts_with("bad unit"));
    }
}
