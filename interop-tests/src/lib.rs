//! Helpers for testing purezmq against libzmq through pyzmq.
//!
//! This crate owns the Python side of the interop tests:
//!
//! * [`python`] gives the path of an interpreter that can `import zmq`, from a
//!   virtual environment created on first use under the workspace's target
//!   directory, with pyzmq [`PYZMQ_VERSION`] (which bundles libzmq
//!   [`LIBZMQ_VERSION`]) and majortomo [`MAJORTOMO_VERSION`] (a Python
//!   Majordomo peer);
//! * [`PyPeer`] runs one of the scripts in `interop-tests/python/` as a child
//!   process and reads its output line by line, with timeouts.
//!
//! The scripts there also include `capture_vectors.py`, which regenerates the
//! byte-exact libzmq test vectors in `zmtp/tests/vectors/`.

mod peer;
mod venv;

pub use peer::{NoLine, PyPeer};
pub use venv::python;

/// The pyzmq release installed into the virtual environment.
pub const PYZMQ_VERSION: &str = "27.1.0";

/// The libzmq release that [`PYZMQ_VERSION`] bundles; [`python`] refuses an
/// environment whose `zmq.zmq_version()` reports anything else.
pub const LIBZMQ_VERSION: &str = "4.3.5";

/// The majortomo release (a Python Majordomo MDP/0.2 broker, client and worker,
/// from PyPI) installed beside pyzmq, for `python/majortomo_peer.py`.
pub const MAJORTOMO_VERSION: &str = "0.2.0";
