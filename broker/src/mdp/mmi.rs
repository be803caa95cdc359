//! The Majordomo Management Interface ([RFC 8]): services a broker answers itself,
//! all named `mmi.*`.
//!
//! - `mmi.service` (RFC 8): the body's first frame names a service; the reply is
//!   `200` when at least one worker offers it, `404` when none does.
//! - `mmi.services` (purezmq's extension): the reply is `200`, then one frame per
//!   service that has at least one worker, in name order.
//! - `mmi.workers` (purezmq's extension): the body's first frame names a service; the
//!   reply is `200` and the number of its workers, in decimal.
//! - Any other `mmi.*` name is answered `501`.
//!
//! A worker that offers an `mmi.*` service is disconnected (RFC 8).
//!
//! [RFC 8]: https://rfc.zeromq.org/spec/8/

/// The prefix of every management service.
pub const PREFIX: &[u8] = b"mmi.";
/// RFC 8's service lookup.
pub const SERVICE: &[u8] = b"mmi.service";
/// The list of services with workers (purezmq's extension).
pub const SERVICES: &[u8] = b"mmi.services";
/// The number of workers of one service (purezmq's extension).
pub const WORKERS: &[u8] = b"mmi.workers";

/// Found.
pub const FOUND: &[u8] = b"200";
/// Not found.
pub const NOT_FOUND: &[u8] = b"404";
/// Not implemented.
pub const NOT_IMPLEMENTED: &[u8] = b"501";

/// Whether `service` is in the management namespace.
pub fn is_mmi(service: &[u8]) -> bool {
    service.starts_with(PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_namespace_is_the_prefix() {
        assert!(is_mmi(b"mmi.service"));
        assert!(is_mmi(b"mmi.anything"));
        assert!(!is_mmi(b"mmi"));
        assert!(!is_mmi(b"echo"));
    }
}
