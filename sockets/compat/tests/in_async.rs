//! Programs that call the `zmq` API from async code (inside a tokio task) block
//! that task's thread, as with libzmq, instead of panicking.

mod common;

use std::thread;

use common::within;

async fn request_reply_and_poll() {
    let ctx = zmq::Context::new();
    let rep = ctx.socket(zmq::REP).unwrap();
    rep.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = rep.get_last_endpoint().unwrap().unwrap();
    let client = thread::spawn(move || {
        let ctx = zmq::Context::new();
        let req = ctx.socket(zmq::REQ).unwrap();
        req.connect(&endpoint).unwrap();
        req.send("ping", 0).unwrap();
        req.recv_string(0).unwrap().unwrap()
    });
    assert_eq!(rep.poll(zmq::POLLIN, 10_000).unwrap(), 1);
    assert_eq!(rep.recv_string(0).unwrap().unwrap(), "ping");
    rep.send("pong", 0).unwrap();
    assert_eq!(client.join().unwrap(), "pong");
    rep.set_rcvtimeo(20).unwrap();
    assert_eq!(rep.recv_msg(0), Err(zmq::Error::EAGAIN));
    // Other tasks still run around these calls.
    tokio::task::yield_now().await;
}

#[test]
fn blocking_calls_work_on_a_current_thread_runtime() {
    within(60, || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(request_reply_and_poll());
    });
}

#[test]
fn blocking_calls_work_in_a_multi_thread_runtime_task() {
    within(60, || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime
            .block_on(async { tokio::spawn(request_reply_and_poll()).await })
            .unwrap();
    });
}
