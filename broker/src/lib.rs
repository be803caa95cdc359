//! Devices and services on top of purezmq's sockets: proxies, the Majordomo broker,
//! the HTTP gateway and the script worker, and the `purezmq` command line.
//!
//! - [`proxy`]: `zmq_proxy` and `zmq_proxy_steerable`, with capture and statistics.
//! - [`clone`]: the guide's Clone pattern (model five): a key-value store shared by
//!   snapshot, publish and collect, with TTLs and trees of relays.
//! - [`mdp`]: the Majordomo Protocol, MDP/0.1 and MDP/0.2, and MMI, as pure functions.
//! - [`broker`]: the Majordomo broker: a sans-IO state machine, its ROUTER loop, a
//!   policy hook and counters.
//! - [`client`] and [`worker`]: Majordomo clients (retries, failover, partial replies)
//!   and workers (heartbeats, reconnects, several brokers), async and blocking.
//! - [`spec`]: socket specs such as `xsub@tcp://*:5559` or `dealer>tcp://host:5560`,
//!   as the command line takes them.
//! - [`titanic`]: Titanic (RFC 9), requests kept on disk until their service replies.
//! - [`script`]: the script worker: any program becomes a Majordomo service.
//! - [`http`]: the HTTP gateway: `GET /SERVICE?args=[…]` calls a Majordomo service.
//! - [`sockopt`]: socket options by their libzmq names and in libzmq's units.

pub mod broker;
pub mod client;
pub mod clone;
pub mod http;
pub mod mdp;
pub mod proxy;
pub mod script;
pub mod sockopt;
pub mod spec;
pub mod titanic;
pub mod worker;
