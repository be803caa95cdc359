//! `cargo run --release -p purezmq-benches --bin compare`: purezmq side by side with
//! libzmq, zmq.rs, omq and a raw-socket baseline; writes BENCHMARKS.md and a chart.
//! `--help` for the options.

fn main() {
    purezmq_benches::compare::main();
}
