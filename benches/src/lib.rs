//! Benchmarks of purezmq, side by side with other ZeroMQ stacks.
