//! What a scenario is given: its deadline, its counters, a place for its files, and
//! the deliberate leak that proves the checks fire.

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long one step of a scenario (an exchange, a handshake, a reader's wait while
/// its sender sends) may take before the scenario counts it as a hang.
pub const STALL: Duration = Duration::from_secs(10);

/// A scenario's run.
pub struct Context {
    deadline: Instant,
    leak: usize,
    iterations: AtomicU64,
    messages: AtomicU64,
    dir: PathBuf,
}

impl Context {
    /// A run until `deadline`; each iteration leaks `leak` bytes when non-zero.
    /// Files (ipc endpoints) go in a fresh directory under the system's temporary
    /// directory, removed on drop.
    pub fn new(deadline: Instant, leak: usize, name: &str) -> Result<Context, String> {
        let dir = std::env::temp_dir().join(format!("purezmq-soak-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        Ok(Context {
            deadline,
            leak,
            iterations: AtomicU64::new(0),
            messages: AtomicU64::new(0),
            dir,
        })
    }

    /// Whether the scenario should go on.
    pub fn running(&self) -> bool {
        Instant::now() < self.deadline
    }

    /// Time left.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Counts one iteration of the scenario's loop (and leaks, when asked to).
    pub fn iteration(&self) {
        self.iterations.fetch_add(1, Ordering::Relaxed);
        if self.leak > 0 {
            // Touched, so that it is resident, and never freed; `black_box` keeps the
            // compiler from removing an allocation nothing reads.
            std::hint::black_box(vec![0x5a_u8; self.leak].leak());
        }
    }

    /// Counts `n` messages that reached the application.
    pub fn messages(&self, n: u64) {
        self.messages.fetch_add(n, Ordering::Relaxed);
    }

    /// Iterations so far.
    pub fn iterations_so_far(&self) -> u64 {
        self.iterations.load(Ordering::Relaxed)
    }

    /// Messages so far.
    pub fn messages_so_far(&self) -> u64 {
        self.messages.load(Ordering::Relaxed)
    }

    /// An ipc endpoint for `name` in the run's directory.
    pub fn ipc(&self, name: &str) -> String {
        format!("ipc://{}", self.dir.join(name).display())
    }

    /// The files left in the run's directory (ipc endpoints not removed).
    pub fn files_left(&self) -> Vec<String> {
        std::fs::read_dir(&self.dir)
            .map(|dir| {
                dir.filter_map(|entry| entry.ok())
                    .map(|entry| entry.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `work`, or an error naming `what` if it takes longer than [`STALL`].
    pub async fn within<T>(&self, what: &str, work: impl Future<Output = T>) -> Result<T, String> {
        tokio::time::timeout(STALL, work).await.map_err(|_| {
            format!(
                "stalled: {what} did not complete in {} s (after {} iterations)",
                STALL.as_secs(),
                self.iterations_so_far()
            )
        })
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A free tcp port on 127.0.0.1 for a fixed endpoint (another process may take it
/// before it is bound; the scenarios retry).
pub fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|e| format!("finding a free port: {e}"))
}

/// Turns a purezmq error into the scenario's error text.
pub fn failed(what: &str) -> impl Fn(purezmq::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// A small deterministic generator (xorshift) for the scenarios' varied pauses and
/// sizes, so a run can be repeated.
pub struct Dice(u64);

impl Dice {
    /// A generator from `seed` (non-zero).
    pub fn new(seed: u64) -> Dice {
        Dice(seed.max(1))
    }

    /// A number in `low..high`.
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        low + self.0 % (high - low).max(1)
    }
}
