//! Devices and services on top of purezmq's sockets: proxies, the Majordomo broker,
//! the HTTP gateway and the script worker, and the `purezmq` command line.
//!
//! - [`proxy`]: `zmq_proxy` and `zmq_proxy_steerable`, with capture and statistics.
//! - [`clone`]: the guide's Clone pattern (model five): a key-value store shared by
//!   snapshot, publish and collect, with TTLs and trees of relays.

pub mod clone;
pub mod proxy;
