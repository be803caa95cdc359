//! [`Error`]: libzmq's errno values, as the `zmq` crate names them.

use std::fmt;

/// libzmq numbers its own errors from here (`ZMQ_HAUSNUMERO`).
const HAUSNUMERO: i32 = 156_384_712;

/// Why a call failed: the errno libzmq would have set, by name.
///
/// `message()`, `Display` and `Debug` all give the text `zmq_strerror` gives.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Eq, PartialEq, Hash)]
pub enum Error {
    /// Permission denied.
    EACCES,
    /// The address is in use.
    EADDRINUSE,
    /// Try again: a non-blocking call would block, or SNDTIMEO/RCVTIMEO passed.
    EAGAIN,
    /// Device or resource busy.
    EBUSY,
    /// Connection refused.
    ECONNREFUSED,
    /// Bad address.
    EFAULT,
    /// Interrupted system call.
    EINTR,
    /// No route to host: a ROUTER with ROUTER_MANDATORY named an unknown peer.
    EHOSTUNREACH,
    /// Operation now in progress.
    EINPROGRESS,
    /// Invalid argument: a bad endpoint, option or value.
    EINVAL,
    /// Too many open files.
    EMFILE,
    /// Message too long.
    EMSGSIZE,
    /// File name too long.
    ENAMETOOLONG,
    /// No such device: the address does not name a local interface.
    ENODEV,
    /// No such file or directory: unbind/disconnect of an endpoint never used.
    ENOENT,
    /// Cannot allocate memory.
    ENOMEM,
    /// Transport endpoint is not connected.
    ENOTCONN,
    /// Not a socket.
    ENOTSOCK,
    /// Protocol error.
    EPROTO,
    /// Protocol not supported: a transport purezmq does not speak.
    EPROTONOSUPPORT,
    /// Operation not supported: the socket type cannot do this.
    ENOTSUP,
    /// No buffer space available.
    ENOBUFS,
    /// Network is down.
    ENETDOWN,
    /// Cannot assign the requested address.
    EADDRNOTAVAIL,
    /// The operation cannot be done in the socket's current state (REQ/REP order).
    EFSM,
    /// The protocol is not compatible with the socket type.
    ENOCOMPATPROTO,
    /// The context was terminated.
    ETERM,
    /// No I/O thread is available.
    EMTHREAD,
}

/// Every variant with its errno and `zmq_strerror` text.
const TABLE: [(Error, i32, &str); 28] = [
    (Error::EACCES, libc::EACCES, "Permission denied"),
    (
        Error::EADDRINUSE,
        libc::EADDRINUSE,
        "Address already in use",
    ),
    (
        Error::EAGAIN,
        libc::EAGAIN,
        "Resource temporarily unavailable",
    ),
    (Error::EBUSY, libc::EBUSY, "Device or resource busy"),
    (
        Error::ECONNREFUSED,
        libc::ECONNREFUSED,
        "Connection refused",
    ),
    (Error::EFAULT, libc::EFAULT, "Bad address"),
    (Error::EINTR, libc::EINTR, "Interrupted system call"),
    (Error::EHOSTUNREACH, libc::EHOSTUNREACH, "No route to host"),
    (
        Error::EINPROGRESS,
        libc::EINPROGRESS,
        "Operation now in progress",
    ),
    (Error::EINVAL, libc::EINVAL, "Invalid argument"),
    (Error::EMFILE, libc::EMFILE, "Too many open files"),
    (Error::EMSGSIZE, libc::EMSGSIZE, "Message too long"),
    (
        Error::ENAMETOOLONG,
        libc::ENAMETOOLONG,
        "File name too long",
    ),
    (Error::ENODEV, libc::ENODEV, "No such device"),
    (Error::ENOENT, libc::ENOENT, "No such file or directory"),
    (Error::ENOMEM, libc::ENOMEM, "Cannot allocate memory"),
    (
        Error::ENOTCONN,
        libc::ENOTCONN,
        "Transport endpoint is not connected",
    ),
    (
        Error::ENOTSOCK,
        libc::ENOTSOCK,
        "Socket operation on non-socket",
    ),
    (Error::EPROTO, libc::EPROTO, "Protocol error"),
    (
        Error::EPROTONOSUPPORT,
        libc::EPROTONOSUPPORT,
        "Protocol not supported",
    ),
    (Error::ENOTSUP, libc::ENOTSUP, "Operation not supported"),
    (Error::ENOBUFS, libc::ENOBUFS, "No buffer space available"),
    (Error::ENETDOWN, libc::ENETDOWN, "Network is down"),
    (
        Error::EADDRNOTAVAIL,
        libc::EADDRNOTAVAIL,
        "Cannot assign requested address",
    ),
    (
        Error::EFSM,
        HAUSNUMERO + 51,
        "Operation cannot be accomplished in current state",
    ),
    (
        Error::ENOCOMPATPROTO,
        HAUSNUMERO + 52,
        "The protocol is not compatible with the socket type",
    ),
    (Error::ETERM, HAUSNUMERO + 53, "Context was terminated"),
    (Error::EMTHREAD, HAUSNUMERO + 54, "No thread available"),
];

impl Error {
    fn entry(self) -> &'static (Error, i32, &'static str) {
        // Every variant is in the table; the unit test below proves it.
        TABLE
            .iter()
            .find(|(error, _, _)| *error == self)
            .unwrap_or(&TABLE[9])
    }

    /// The errno value, as libzmq's `zmq_errno()` would give it.
    pub fn to_raw(self) -> i32 {
        self.entry().1
    }

    /// The error an errno value names.
    ///
    /// # Panics
    ///
    /// On a value that is none of the errors above, as the `zmq` crate does.
    pub fn from_raw(raw: i32) -> Error {
        match TABLE.iter().find(|(_, errno, _)| *errno == raw) {
            Some((error, _, _)) => *error,
            None => panic!("unknown error [{raw}]: not one of the errno values zmq::Error names"),
        }
    }

    /// What went wrong, in the words of `zmq_strerror`.
    pub fn message(self) -> &'static str {
        self.entry().2
    }
}

impl std::error::Error for Error {}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // As the `zmq` crate: the message, unquoted.
        f.write_str(self.message())
    }
}

impl From<Error> for std::io::Error {
    fn from(error: Error) -> std::io::Error {
        use std::io::ErrorKind;
        let kind = match error {
            Error::ENOENT => ErrorKind::NotFound,
            Error::EACCES => ErrorKind::PermissionDenied,
            Error::ECONNREFUSED => ErrorKind::ConnectionRefused,
            Error::ENOTCONN => ErrorKind::NotConnected,
            Error::EADDRINUSE => ErrorKind::AddrInUse,
            Error::EADDRNOTAVAIL => ErrorKind::AddrNotAvailable,
            Error::EAGAIN => ErrorKind::WouldBlock,
            Error::EINVAL => ErrorKind::InvalidInput,
            Error::EINTR => ErrorKind::Interrupted,
            _ => ErrorKind::Other,
        };
        std::io::Error::new(kind, error)
    }
}

/// The result of every call that can fail.
pub type Result<T> = std::result::Result<T, Error>;

/// The errno libzmq gives for what purezmq reports.
pub(crate) fn from_purezmq(error: purezmq::Error) -> Error {
    use purezmq::Error as P;
    use purezmq::endpoint::EndpointError;
    match error {
        P::Endpoint(EndpointError::UnknownTransport { .. }) => Error::EPROTONOSUPPORT,
        P::Endpoint(_) | P::Options(_) | P::EmptyMessage | P::Resolve { .. } => Error::EINVAL,
        P::NotSupported { .. } => Error::ENOTSUP,
        P::State(_) => Error::EFSM,
        P::MissingRoutingId { .. } | P::HostUnreachable { .. } => Error::EHOSTUNREACH,
        P::Timeout(_) | P::WouldBlock => Error::EAGAIN,
        P::Closed => Error::ETERM,
        P::Bind { source, .. } => from_io(&source),
        P::NoSuchEndpoint { .. } => Error::ENOENT,
        P::InprocInUse(_) => Error::EADDRINUSE,
        P::Io(source) => from_io(&source),
        _ => Error::EINVAL,
    }
}

fn from_io(error: &std::io::Error) -> Error {
    if let Some(raw) = error.raw_os_error()
        && let Some((known, _, _)) = TABLE.iter().find(|(_, errno, _)| *errno == raw)
    {
        return *known;
    }
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::AddrInUse => Error::EADDRINUSE,
        ErrorKind::AddrNotAvailable => Error::EADDRNOTAVAIL,
        ErrorKind::PermissionDenied => Error::EACCES,
        ErrorKind::NotFound => Error::ENOENT,
        ErrorKind::ConnectionRefused => Error::ECONNREFUSED,
        _ => Error::EINVAL,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_round_trips_through_its_errno() {
        for (error, errno, text) in TABLE {
            assert_eq!(Error::from_raw(errno), error);
            assert_eq!(error.to_raw(), errno);
            assert_eq!(error.message(), text);
        }
    }
}
