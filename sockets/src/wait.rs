//! How a thread outside the runtime waits for a receive: in the kernel, on the
//! socket's lone connection and on a bell, as a libzmq application thread waits in
//! `poll` on its socket's mailbox.
//!
//! Parking the thread and letting the runtime's I/O thread wake it puts two
//! wake-ups in a row between the kernel and the caller: the kernel wakes the I/O
//! thread out of `epoll_wait`, which then wakes the caller. Waiting in `poll(2)` on
//! the connection's descriptor lets the kernel wake the caller itself, which then
//! reads the connection at once ([`Link::read_woken`]); the bell (an eventfd) is
//! rung by the receive's waker for everything else the receive may be waiting for: a
//! message that came another way, a peer that came or went, a timer.
//!
//! The waker rings the bell only while the thread sleeps in `poll`; while it runs,
//! a wake only marks that the receive should be polled again before sleeping.

use std::future::Future;
use std::os::fd::{AsFd, OwnedFd};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use rustix::event::{EventfdFlags, PollFd, PollFlags};

use crate::direct::{Link, WatchedWire};

/// The thread is polling the future.
const RUNNING: u8 = 0;
/// The thread sleeps in `poll(2)`: a wake must ring the bell.
const SLEEPING: u8 = 1;
/// A wake came while the thread ran: poll the future again before sleeping.
const NOTIFIED: u8 = 2;

/// Wire-readable wake-ups in a row that read nothing before the wait stops
/// watching the descriptor (the engine took the data, or the connection ended and
/// stays readable) and relies on the bell alone.
const IDLE_WAKES: u32 = 3;

/// One thread's bell and sleeping state; its waker.
struct Sleeper {
    state: AtomicU8,
    bell: OwnedFd,
}

impl Sleeper {
    fn new() -> Option<Sleeper> {
        let bell =
            rustix::event::eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK).ok()?;
        Some(Sleeper {
            state: AtomicU8::new(RUNNING),
            bell,
        })
    }

    /// Sleeps until the bell rings or `wire` (if given) turns readable; returns
    /// whether `wire` did.
    fn sleep(&self, wire: Option<&Link>) -> bool {
        let mut fds = [
            PollFd::new(&self.bell, PollFlags::IN),
            PollFd::from_borrowed_fd(
                wire.map_or(self.bell.as_fd(), |link| link.wire.as_fd()),
                PollFlags::IN,
            ),
        ];
        let watched = if wire.is_some() { 2 } else { 1 };
        if rustix::event::poll(&mut fds[..watched], None).is_err() {
            // Interrupted: the caller polls the future again and comes back.
            return false;
        }
        if !fds[0].revents().is_empty() {
            let mut count = [0u8; 8];
            let _ = rustix::io::read(&self.bell, &mut count[..]);
        }
        watched == 2 && !fds[1].revents().is_empty()
    }
}

impl Wake for Sleeper {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.state.swap(NOTIFIED, Ordering::AcqRel) == SLEEPING {
            let _ = rustix::io::write(&self.bell, &1u64.to_ne_bytes());
        }
    }
}

thread_local! {
    /// Each thread's sleeper, made on its first wait (`None` if the kernel gives no
    /// eventfd, when waits park the thread instead).
    static SLEEPER: Option<Arc<Sleeper>> = Sleeper::new().map(Arc::new);
}

/// Runs `work` to completion on this thread, which sleeps in the kernel between
/// polls, watching `link` too if given. The caller has entered the runtime the
/// future's timers and I/O belong to.
pub(crate) fn run<F: Future>(link: Option<Arc<Link>>, work: F) -> F::Output {
    let Some(sleeper) = SLEEPER.with(Option::clone) else {
        return park(work);
    };
    let waker = Waker::from(Arc::clone(&sleeper));
    let mut cx = Context::from_waker(&waker);
    let mut work = pin!(work);
    let mut idle_wakes = 0;
    let watched = WatchedWire::enter();
    loop {
        let watch = link
            .as_deref()
            .filter(|link| idle_wakes < IDLE_WAKES && !link.is_retired());
        // The kernel will wake this thread for the wire itself: the receive need not
        // have the I/O thread ring the bell for it too.
        watched.set(watch);
        sleeper.state.store(RUNNING, Ordering::Release);
        if let Poll::Ready(output) = work.as_mut().poll(&mut cx) {
            return output;
        }
        if sleeper
            .state
            .compare_exchange(RUNNING, SLEEPING, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            // Woken while it ran: something changed, look again.
            continue;
        }
        let wire_readable = sleeper.sleep(watch);
        // Awake: what the read below hands to the receive must not ring the bell.
        sleeper.state.store(RUNNING, Ordering::Release);
        if let Some(link) = watch.filter(|_| wire_readable) {
            if link.read_woken() {
                idle_wakes = 0;
            } else {
                idle_wakes += 1;
            }
        }
    }
}

/// Runs `work` to completion on this thread, parking it between polls.
fn park<F: Future>(work: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut work = pin!(work);
    loop {
        if let Poll::Ready(output) = work.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::park();
    }
}
