//! `cargo run --release -p purezmq-benches --bin zmqapi [--quick] [--runs N]`: one
//! program written against the `zmq` crate's API, run on libzmq and on
//! purezmq-compat (PUSH/PULL throughput, REQ/REP latency over tcp); prints a table
//! with the ratios.

use purezmq_benches::zmqapi::{Settings, run};

const USAGE: &str = "usage: zmqapi [--quick] [--runs N]

  -q, --quick    a tenth of the messages: a smoke run
  -r, --runs N   rounds per case and stack, medians reported (default 3)";

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
