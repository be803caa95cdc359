//! `cargo run --release -p purezmq-benches --bin zmqapi [--quick] [--runs N]`: one
//! program written against the `zmq` crate's API, run on libzmq and on
//! purezmq-compat (PUSH/PULL throughput, REQ/REP latency over tcp); prints a table
//! with the ratios.

use purezmq_benches::zmqapi::{Settings, run, run_one};

const USAGE: &str = "usage: zmqapi [--quick] [--runs N] [--one STACK CASE]

  -q, --quick           a tenth of the messages: a smoke run
  -r, --runs N          rounds per case and stack, medians reported (default 3)
  -1, --one STACK CASE  one run of one case on one stack, for strace or perf:
                        STACK is libzmq or compat, CASE is push-pull-32,
                        push-pull-1k, push-pull-64k or req-rep";

fn main() {
    let mut settings = Settings {
        runs: 3,
        quick: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-q" | "--quick" => settings.quick = true,
            "-r" | "--runs" => {
                settings.runs = match args.next().and_then(|n| n.parse().ok()) {
                    Some(runs) if runs > 0 => runs,
                    _ => exit_with("--runs takes a number of rounds, e.g. --runs 5"),
                }
            }
            "-1" | "--one" => {
                let (Some(stack), Some(case)) = (args.next(), args.next()) else {
                    exit_with("--one takes a stack and a case, e.g. --one compat req-rep");
                };
                if let Err(message) = run_one(settings, &stack, &case) {
                    exit_with(&message);
                }
                return;
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return;
            }
            other => exit_with(&format!("unknown argument {other:?}")),
        }
    }
    run(settings);
}

fn exit_with(message: &str) -> ! {
    eprintln!("zmqapi: {message}\n\n{USAGE}");
    std::process::exit(2);
}
