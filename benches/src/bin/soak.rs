//! `cargo run --release -p purezmq-benches --bin soak`: long-running scenarios that
//! fail when memory or open file descriptors grow. `--help` for the options.

/// Counts the live heap, which the runs sample beside the resident set.
#[global_allocator]
static ALLOCATOR: purezmq_benches::soak::heap::Counting = purezmq_benches::soak::heap::Counting;

fn main() {
    purezmq_benches::soak::main();
}
