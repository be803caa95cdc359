//! Shared by the tests: a time limit, so a hang fails instead of stalling CI.

#![allow(dead_code)]

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Runs `body` on a thread of its own and fails if it takes longer than `secs`
/// (generous: these tests share a loaded machine).
pub fn within(secs: u64, body: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    let runner = thread::spawn(move || {
        body();
        let _ = done.send(());
    });
    match finished.recv_timeout(Duration::from_secs(secs)) {
        Ok(()) => runner.join().expect("the test body panicked"),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(runner.join().expect_err("the body ended early"))
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("the test did not finish in {secs} s"),
    }
}

/// A REQ and a REP over TCP, connected, with 10 s timeouts both ways.
pub fn req_rep_pair() -> (zmq::Socket, zmq::Socket) {
    let ctx = zmq::Context::default();
    let requester = ctx.socket(zmq::REQ).unwrap();
    let replier = ctx.socket(zmq::REP).unwrap();
    for socket in [&requester, &replier] {
        socket.set_sndtimeo(10_000).unwrap();
        socket.set_rcvtimeo(10_000).unwrap();
    }
    replier.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = replier.get_last_endpoint().unwrap().unwrap();
    requester.connect(&endpoint).unwrap();
    (requester, replier)
}
