//! Benchmarks of purezmq, side by side with other ZeroMQ stacks.
//!
//! The binaries `local_thr`, `remote_thr`, `local_lat`, `remote_lat`, `inproc_thr`
//! and `inproc_lat` take the arguments of libzmq's perf tools and print the same
//! lines, so each pairs with libzmq's own tool on the other side. `compare` runs
//! purezmq, libzmq, zmq.rs, omq and a raw-socket baseline side by side
//! ([`compare`]). `httpbench` measures the HTTP gateway beside a plain axum
//! handler ([`httpbench`]). `zmqapi` runs one program written for the `zmq` crate
//! on libzmq and on purezmq-compat, its drop-in ([`zmqapi`]). `soak` runs long
//! scenarios (churn, restarting peers, slow subscribers, HWM, CURVE handshakes) and
//! fails when memory or open file descriptors grow ([`soak`]).

pub mod compare;
pub mod httpbench;
pub mod perf;
pub mod soak;
pub mod zmqapi;
