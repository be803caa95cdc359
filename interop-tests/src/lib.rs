//! Helpers for testing purezmq against libzmq through pyzmq.
