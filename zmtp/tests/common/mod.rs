//! Helpers shared by the integration tests: two connections wired back to back.
#![allow(dead_code)]

use std::time::Duration;

use purezmq_zmtp::mechanism::{Mechanism, Null};
use purezmq_zmtp::{Config, Connection, Error, Event, Instant, SocketType};

/// An instant `ms` milliseconds after the origin.
pub fn at(ms: u64) -> Instant {
    Instant::from_elapsed(Duration::from_millis(ms))
}

/// A connection with libzmq's defaults for `ty` and the given mechanism.
pub fn conn(ty: SocketType, mechanism: impl Mechanism + 'static) -> Connection {
    Connection::new(Config::new(ty), Box::new(mechanism), at(0))
}

/// A NULL connection of type `ty`.
pub fn null(ty: SocketType) -> Connection {
    conn(ty, Null::new())
}

/// Moves bytes both ways until both sides are quiet or one fails. Returns the first
/// failure of each side.
pub fn pump(
    a: &mut Connection,
    b: &mut Connection,
    now: Instant,
) -> (Option<Error>, Option<Error>) {
    let (mut ea, mut eb) = (None, None);
    for _ in 0..100 {
        let to_b = a.send_buffer().take_all();
        let to_a = b.send_buffer().take_all();
        if to_a.is_empty() && to_b.is_empty() {
            break;
        }
        if eb.is_none() && !to_b.is_empty() {
            eb = b.feed(&to_b, now).err();
        }
        if ea.is_none() && !to_a.is_empty() {
            ea = a.feed(&to_a, now).err();
        }
    }
    (ea, eb)
}

/// Every event waiting on `c`.
pub fn events(c: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

/// A connected pair of NULL connections, handshake done and its events drained.
pub fn ready_pair(a: SocketType, b: SocketType) -> (Connection, Connection) {
    let (mut x, mut y) = (null(a), null(b));
    assert_eq!(pump(&mut x, &mut y, at(0)), (None, None));
    assert!(x.is_ready() && y.is_ready());
    events(&mut x);
    events(&mut y);
    (x, y)
}
