//! `zmq::poll` over sockets and plain file descriptors, as the `zmq` crate's
//! connection and poll tests use it.

mod common;

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::thread;

use common::{req_rep_pair, within};

/// A PUSH bound in this thread, a PULL connected in another, as the `zmq` crate's
/// connection tests do it.
fn push_to_pull(address: &str, check: fn(&zmq::Socket)) {
    let address = address.to_owned();
    within(60, move || {
        let ctx = zmq::Context::new();
        let push = ctx.socket(zmq::PUSH).unwrap();
        push.bind(&address).unwrap();
        let endpoint = push.get_last_endpoint().unwrap().unwrap();
        let child = {
            let ctx = ctx.clone();
            thread::spawn(move || {
                let pull = ctx.socket(zmq::PULL).unwrap();
                pull.connect(&endpoint).unwrap();
                check(&pull);
            })
        };
        push.send("Message1", 0).unwrap();
        child.join().unwrap();
    });
}

fn check_recv(pull: &zmq::Socket) {
    assert_eq!(&pull.recv_msg(0).unwrap()[..], b"Message1");
}

fn check_poll(pull: &zmq::Socket) {
    {
        let mut items = vec![pull.as_poll_item(zmq::POLLIN)];
        assert_eq!(zmq::poll(&mut items, 10_000).unwrap(), 1);
        assert_eq!(items[0].get_revents(), zmq::POLLIN);
    }
    assert_eq!(&pull.recv_msg(zmq::DONTWAIT).unwrap()[..], b"Message1");
}

#[test]
fn inproc_and_tcp_connections_deliver() {
    push_to_pull("inproc://connection-recv", check_recv);
    push_to_pull("tcp://127.0.0.1:*", check_recv);
}

#[test]
fn poll_sees_messages_over_inproc_and_tcp() {
    push_to_pull("inproc://connection-poll", check_poll);
    push_to_pull("tcp://127.0.0.1:*", check_poll);
}

#[test]
fn poll_times_out_then_reports_the_readable_socket() {
    within(60, || {
        let (req, rep) = req_rep_pair();
        assert_eq!(rep.poll(zmq::POLLIN, 100).unwrap(), 0);
        req.send("Hello!", 0).unwrap();
        let mut items = vec![rep.as_poll_item(zmq::POLLIN)];
        assert_eq!(zmq::poll(&mut items, 10_000).unwrap(), 1);
        assert_eq!(items[0].get_revents(), zmq::POLLIN);
        assert!(items[0].is_readable());
        assert!(!items[0].is_writable());
        assert!(!items[0].is_error());
        assert!(items[0].has_socket(&rep));
        assert!(!items[0].has_socket(&req));
        assert!(!items[0].has_fd(0));
        // The REP may answer now; the REQ waits for the answer.
        assert_eq!(req.get_events().unwrap(), zmq::PollEvents::empty());
        assert_eq!(rep.get_events().unwrap(), zmq::POLLIN);
        assert_eq!(rep.recv_string(0).unwrap().unwrap(), "Hello!");
        assert_eq!(rep.get_events().unwrap(), zmq::POLLOUT);
        rep.send("World", 0).unwrap();
        assert_eq!(req.poll(zmq::POLLIN, 10_000).unwrap(), 1);
    });
}

#[test]
fn poll_waits_on_several_sockets_and_a_pipe() {
    within(60, || {
        let ctx = zmq::Context::new();
        let a = ctx.socket(zmq::PULL).unwrap();
        a.bind("inproc://poll-several-a").unwrap();
        let b = ctx.socket(zmq::PULL).unwrap();
        b.bind("inproc://poll-several-b").unwrap();
        let (mut reader, mut writer) = UnixStream::pair().unwrap();

        let sender = {
            let ctx = ctx.clone();
            thread::spawn(move || {
                let push = ctx.socket(zmq::PUSH).unwrap();
                push.connect("inproc://poll-several-b").unwrap();
                thread::sleep(std::time::Duration::from_millis(100));
                push.send("to b", 0).unwrap();
                thread::sleep(std::time::Duration::from_millis(100));
                writer.write_all(b"X").unwrap();
            })
        };
        let fd = reader.as_raw_fd();
        let mut items = [
            a.as_poll_item(zmq::POLLIN),
            b.as_poll_item(zmq::POLLIN),
            zmq::PollItem::from_fd(fd, zmq::POLLIN),
        ];
        assert!(items[2].has_fd(fd));
        let mut seen_b = false;
        let mut seen_pipe = false;
        while !(seen_b && seen_pipe) {
            assert!(zmq::poll(&mut items, 10_000).unwrap() >= 1);
            assert!(!items[0].is_readable());
            if items[1].is_readable() {
                assert_eq!(b.recv_string(0).unwrap().unwrap(), "to b");
                seen_b = true;
            }
            if items[2].is_readable() {
                let mut buf = [0];
                reader.read_exact(&mut buf).unwrap();
                assert_eq!(&buf, b"X");
                seen_pipe = true;
            }
        }
        sender.join().unwrap();
    });
}

/// Messages that arrive back to back are taken off the socket a batch at a time;
/// those taken and not yet received still make the socket readable (to `poll`, to
/// `ZMQ_EVENTS`, to a DONTWAIT receive) and come out whole and in order.
#[test]
fn messages_taken_in_a_batch_stay_readable_and_in_order() {
    within(60, || {
        let ctx = zmq::Context::new();
        let pull = ctx.socket(zmq::PULL).unwrap();
        pull.bind("tcp://127.0.0.1:*").unwrap();
        let endpoint = pull.get_last_endpoint().unwrap().unwrap();
        let push = ctx.socket(zmq::PUSH).unwrap();
        push.connect(&endpoint).unwrap();
        // Fewer than one batch: after the third receive (the first that follows a
        // receive which found its message queued), all the rest wait in the
        // compat layer and none in the socket.
        const COUNT: u32 = 20;
        for i in 0..COUNT {
            let number = i.to_string();
            if i.is_multiple_of(7) {
                push.send_multipart([number.as_str(), "tail"], 0).unwrap();
            } else {
                push.send(number.as_str(), 0).unwrap();
            }
        }
        let expect = |i: u32, flags: i32| {
            let parts = pull.recv_multipart(flags).unwrap();
            assert_eq!(parts[0], i.to_string().into_bytes(), "message {i}");
            assert_eq!(
                parts.len(),
                if i.is_multiple_of(7) { 2 } else { 1 },
                "message {i}"
            );
        };
        // Let them all arrive, so the receives below find them queued.
        assert_eq!(pull.poll(zmq::POLLIN, -1).unwrap(), 1);
        thread::sleep(std::time::Duration::from_millis(200));
        let mut i = 0;
        while i < 3 {
            expect(i, 0);
            i += 1;
        }
        assert_eq!(pull.poll(zmq::POLLIN, 0).unwrap(), 1);
        assert!(pull.get_events().unwrap().contains(zmq::POLLIN));
        expect(i, zmq::DONTWAIT);
        i += 1;
        while i < COUNT {
            expect(i, 0);
            i += 1;
        }
        assert_eq!(pull.recv_bytes(zmq::DONTWAIT), Err(zmq::Error::EAGAIN));
        assert_eq!(pull.poll(zmq::POLLIN, 0).unwrap(), 0);
    });
}
