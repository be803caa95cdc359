//! `get_fd` and `get_events`: the edge-triggered ZMQ_FD contract that event loops
//! (and async wrappers such as tmq and async-zmq) are built on, exercised as the
//! `zmq` crate's external-poll test does, with poll(2) on the descriptor.

mod common;

use std::os::fd::AsRawFd;
use std::thread;

use common::within;

/// Waits, as an external event loop would, until one of `events` holds: look at
/// ZMQ_EVENTS, and while none holds, wait for the descriptor to become readable.
fn wait_for(socket: &zmq::Socket, events: zmq::PollEvents) {
    let fd = socket.get_fd().unwrap();
    while !socket.get_events().unwrap().intersects(events) {
        let mut items = [zmq::PollItem::from_fd(fd, zmq::POLLIN)];
        zmq::poll(&mut items, -1).unwrap();
    }
}

/// A REQ client in another thread; the REP worker runs only on get_fd/get_events
/// and non-blocking calls.
fn external_poll(address: &str) {
    let address = address.to_owned();
    within(60, move || {
        let ctx = zmq::Context::new();
        let worker = ctx.socket(zmq::REP).unwrap();
        worker.bind(&address).unwrap();
        let endpoint = worker.get_last_endpoint().unwrap().unwrap();
        let client = {
            let ctx = ctx.clone();
            thread::spawn(move || {
                let socket = ctx.socket(zmq::REQ).unwrap();
                socket.connect(&endpoint).unwrap();
                for i in 0..10 {
                    let payload = format!("message {i}");
                    socket.send(&payload, 0).unwrap();
                    assert_eq!(socket.recv_string(0).unwrap().unwrap(), payload);
                }
                socket.send("", 0).unwrap();
                assert_eq!(socket.recv_bytes(0).unwrap(), b"");
            })
        };
        loop {
            wait_for(&worker, zmq::POLLIN);
            let msg = worker.recv_msg(zmq::DONTWAIT).unwrap();
            wait_for(&worker, zmq::POLLOUT);
            let done = msg.is_empty();
            worker.send(msg, zmq::DONTWAIT).unwrap();
            if done {
                break;
            }
        }
        client.join().unwrap();
    });
}

#[test]
fn an_external_event_loop_serves_over_inproc() {
    external_poll("inproc://external-poll");
}

#[test]
fn an_external_event_loop_serves_over_tcp() {
    external_poll("tcp://127.0.0.1:*");
}

#[test]
fn an_external_event_loop_serves_over_ipc() {
    let path = std::env::temp_dir().join(format!("compat-fd-{}.ipc", std::process::id()));
    external_poll(&format!("ipc://{}", path.display()));
}

#[test]
fn each_socket_has_one_descriptor_of_its_own() {
    let ctx = zmq::Context::new();
    let a = ctx.socket(zmq::REQ).unwrap();
    let b = ctx.socket(zmq::REQ).unwrap();
    let mut fds_a: Vec<_> = (0..10).map(|_| a.get_fd().unwrap()).collect();
    fds_a.dedup();
    assert_eq!(fds_a.len(), 1);
    let mut fds_b: Vec<_> = (0..10).map(|_| b.get_fd().unwrap()).collect();
    fds_b.dedup();
    assert_eq!(fds_b.len(), 1);
    assert_ne!(fds_a[0], fds_b[0]);
    assert_eq!(a.as_raw_fd(), fds_a[0]);
}

#[test]
fn the_descriptor_rings_when_a_message_arrives_and_blocking_calls_still_work() {
    within(60, || {
        let ctx = zmq::Context::new();
        let pull = ctx.socket(zmq::PULL).unwrap();
        pull.bind("inproc://fd-rings").unwrap();
        let fd = pull.get_fd().unwrap();
        assert_eq!(pull.get_events().unwrap(), zmq::PollEvents::empty());
        // Reset by get_events: not readable now.
        let mut items = [zmq::PollItem::from_fd(fd, zmq::POLLIN)];
        assert_eq!(zmq::poll(&mut items, 0).unwrap(), 0);

        let push = ctx.socket(zmq::PUSH).unwrap();
        push.connect("inproc://fd-rings").unwrap();
        push.send("one", 0).unwrap();
        assert_eq!(zmq::poll(&mut items, 10_000).unwrap(), 1);
        assert_eq!(pull.get_events().unwrap(), zmq::POLLIN);
        assert_eq!(pull.recv_string(zmq::DONTWAIT).unwrap().unwrap(), "one");

        // A blocking receive, a socket poll and a timeout work alongside the
        // descriptor.
        let sender = thread::spawn(move || {
            thread::sleep(std::time::Duration::from_millis(50));
            push.send("two", 0).unwrap();
            push.send("three", 0).unwrap();
            push
        });
        assert_eq!(pull.recv_string(0).unwrap().unwrap(), "two");
        assert_eq!(pull.poll(zmq::POLLIN, 10_000).unwrap(), 1);
        assert_eq!(pull.recv_string(0).unwrap().unwrap(), "three");
        pull.set_rcvtimeo(50).unwrap();
        assert_eq!(pull.recv_msg(0), Err(zmq::Error::EAGAIN));
        drop(sender.join().unwrap());
    });
}
