//! Proxy devices, the Majordomo broker, the HTTP gateway and the script worker.
//!
//! Placeholder until the broker work lands.

pub mod clone;
