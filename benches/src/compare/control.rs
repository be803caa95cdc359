//! How the orchestrator steers a running worker: lines on the worker's stdin.
//!
//! `GO` starts a publisher's measured messages; `STOP`, or stdin closing, ends what
//! a worker does until told to stop (a publisher's end markers, a ROUTER holding its
//! idle connections). A thread reads the lines and raises flags the stacks poll.

use std::io::BufRead;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

static GO: AtomicBool = AtomicBool::new(false);
static STOP: AtomicBool = AtomicBool::new(false);
static LISTEN: Once = Once::new();

/// Starts reading stdin, once per process.
pub fn listen() {
    LISTEN.call_once(|| {
        std::thread::spawn(|| {
            let stdin = std::io::stdin();
            for line in stdin.lock().lines() {
                match line.as_deref().map(str::trim) {
                    Ok("GO") => GO.store(true, Ordering::Release),
                    Ok("STOP") | Err(_) => break,
                    Ok(_) => {}
                }
            }
            STOP.store(true, Ordering::Release);
        });
    });
}

/// Whether `GO` has arrived.
pub fn go() -> bool {
    GO.load(Ordering::Acquire)
}

/// Whether `STOP` has arrived or stdin has closed.
pub fn stopped() -> bool {
    STOP.load(Ordering::Acquire)
}

/// Blocks the thread until [`stopped`].
pub fn wait_stop() {
    while !stopped() {
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits in a task until [`stopped`].
pub async fn wait_stop_async() {
    while !stopped() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
