//! The `purezmq` subcommands, one module each, and what they share: exit codes,
//! durations, signals, security flags and output formats.

pub mod broker;
pub mod call;
pub mod cat;
pub mod completions;
pub mod duration;
pub mod echo;
pub mod format;
pub mod http;
pub mod keygen;
pub mod proxy;
pub mod script;
pub mod size;
pub mod up;

pub mod security;
pub mod signal;

use std::fmt;

/// Why a subcommand failed, and so the process's exit code.
#[derive(Debug)]
pub enum Failure {
    /// Exit 1: something failed at run time (a bind, a file, the network).
    Runtime(String),
    /// Exit 2: the command line asks for something that cannot be done; the message
    /// names the bad part and says what to type instead.
    Usage(String),
    /// Exit 3: nothing arrived, or nothing could be sent, within `--timeout`.
    Timeout(String),
    /// Exit 4: the broker knows no worker for the service asked (`call --check`).
    NoWorker(String),
}

impl Failure {
    /// The exit code: 1, 2, 3 or 4.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Runtime(_) => 1,
            Failure::Usage(_) => 2,
            Failure::Timeout(_) => 3,
            Failure::NoWorker(_) => 4,
        }
    }

    /// A run-time failure from anything that displays.
    pub fn runtime(error: impl fmt::Display) -> Failure {
        Failure::Runtime(error.to_string())
    }

    /// A usage failure from anything that displays.
    pub fn usage(error: impl fmt::Display) -> Failure {
        Failure::Usage(error.to_string())
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Runtime(message)
            | Failure::Usage(message)
            | Failure::Timeout(message)
            | Failure::NoWorker(message) => f.write_str(message),
        }
    }
}

/// The exit codes, as `--help` and the README list them.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success, or stopped by Ctrl-C / SIGTERM after closing sockets (LINGER honoured)
  1  run-time failure (e.g. bind failed: address in use; a certificate unreadable)
  2  bad usage (a bad flag, socket spec or option; the message says what to type)
  3  timeout (nothing arrived or could be sent within --timeout)
  4  no worker: the broker knows none for the service (purezmq call --check)
  130  a second Ctrl-C while sockets were still lingering";
