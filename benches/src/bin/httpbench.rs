//! `cargo run --release -p purezmq-benches --bin httpbench`: the HTTP gateway's
//! requests/s and latency at 64 keep-alive connections beside a plain axum
//! handler. `--help` for the options.

fn main() {
    purezmq_benches::httpbench::main();
}
