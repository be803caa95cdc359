//! `purezmq`: the command line.

fn main() {}
