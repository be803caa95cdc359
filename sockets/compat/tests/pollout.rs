//! POLLOUT, in `poll`, `get_events` and the `get_fd` descriptor, as libzmq 4.3.5
//! reports it: a send with `DONTWAIT` would not fail with `EAGAIN`.
//!
//! The expected answers are libzmq's, read from pyzmq 27.1 (libzmq 4.3.5) with
//! `socket.getsockopt(zmq.EVENTS)` in the same situations.

mod common;

use std::os::fd::RawFd;
use std::thread;

use common::within;

/// Whether `socket` reports POLLOUT now.
fn pollout(socket: &zmq::Socket) -> bool {
    socket.get_events().unwrap().contains(zmq::POLLOUT)
}

/// Waits, as an external event loop would, until one of `events` holds: look at
/// ZMQ_EVENTS, and while none holds, wait for the descriptor to become readable.
fn wait_on_fd(socket: &zmq::Socket, fd: RawFd, events: zmq::PollEvents) {
    while !socket.get_events().unwrap().intersects(events) {
        let mut items = [zmq::PollItem::from_fd(fd, zmq::POLLIN)];
        zmq::poll(&mut items, -1).unwrap();
    }
}

/// Sends with `DONTWAIT` for as long as POLLOUT says it can, checking each send
/// succeeds; returns how many went.
fn fill(socket: &zmq::Socket, payload: &[u8]) -> usize {
    let mut sent = 0;
    while pollout(socket) {
        socket
            .send(payload, zmq::DONTWAIT)
            .expect("POLLOUT said a send would not block");
        sent += 1;
    }
    sent
}

/// Every type, with no peer, bound with no peer, and connected to an endpoint
/// nobody serves (whose peer takes messages in advance, as libzmq's does).
///
/// libzmq 4.3.5, `getsockopt(EVENTS) & POLLOUT` for a fresh socket, after
/// `bind("inproc://…")`, and for another after `connect("tcp://127.0.0.1:1")`.
#[test]
fn each_type_reports_pollout_as_libzmq_does_without_peers() {
    let table = [
        // (type, fresh, bound, connected to nothing)
        (zmq::PUSH, false, false, true),
        (zmq::PULL, false, false, false),
        (zmq::PUB, true, true, true),
        (zmq::SUB, false, false, false),
        (zmq::XPUB, true, true, true),
        (zmq::XSUB, true, true, true),
        (zmq::DEALER, false, false, true),
        (zmq::ROUTER, true, true, true),
        (zmq::REQ, false, false, true),
        (zmq::REP, false, false, false),
        (zmq::PAIR, false, false, true),
    ];
    let ctx = zmq::Context::new();
    for (i, (kind, fresh, bound, connected)) in table.into_iter().enumerate() {
        let socket = ctx.socket(kind).unwrap();
        socket.set_linger(0).unwrap();
        assert_eq!(pollout(&socket), fresh, "{kind:?} with no peer");
        socket.bind(&format!("inproc://pollout-types-{i}")).unwrap();
        assert_eq!(pollout(&socket), bound, "{kind:?} bound, no peer");
        let other = ctx.socket(kind).unwrap();
        other.set_linger(0).unwrap();
        other.connect("tcp://127.0.0.1:1").unwrap();
        assert_eq!(pollout(&other), connected, "{kind:?} connected to nothing");
        // The socket poll agrees, without waiting.
        let expected = i32::from(connected);
        assert_eq!(other.poll(zmq::POLLOUT, 0).unwrap(), expected, "{kind:?}");
    }
}

/// A PUSH with SNDHWM 2 to a PULL with RCVHWM 2 that does not read, over inproc:
/// POLLOUT for exactly the messages that fit (4, the two HWMs added, as in
/// libzmq), gone at the moment a `DONTWAIT` send fails with `EAGAIN`; when the
/// PULL drains, the descriptor rings and a blocked `poll` wakes, and sends go
/// again.
#[test]
fn pollout_follows_a_peer_that_fills_and_drains() {
    within(60, || {
        let ctx = zmq::Context::new();
        let pull = ctx.socket(zmq::PULL).unwrap();
        pull.set_rcvhwm(2).unwrap();
        pull.bind("inproc://pollout-drain").unwrap();
        let push = ctx.socket(zmq::PUSH).unwrap();
        push.set_sndhwm(2).unwrap();
        push.set_linger(0).unwrap();
        assert!(!pollout(&push), "no peer yet");
        push.connect("inproc://pollout-drain").unwrap();
        let fd = push.get_fd().unwrap();

        assert_eq!(fill(&push, b"x"), 4, "libzmq takes 4 here too");
        assert_eq!(push.send("x", zmq::DONTWAIT), Err(zmq::Error::EAGAIN));
        assert_eq!(push.get_events().unwrap(), zmq::PollEvents::empty());
        assert_eq!(push.poll(zmq::POLLOUT, 0).unwrap(), 0);

        // The descriptor, reset by get_events above, rings once the PULL drains.
        let pull = {
            let drainer = thread::spawn(move || {
                thread::sleep(std::time::Duration::from_millis(50));
                for _ in 0..4 {
                    assert_eq!(pull.recv_bytes(0).unwrap(), b"x");
                }
                pull
            });
            wait_on_fd(&push, fd, zmq::POLLOUT);
            drainer.join().unwrap()
        };
        assert_eq!(fill(&push, b"y"), 4);
        assert_eq!(push.send("y", zmq::DONTWAIT), Err(zmq::Error::EAGAIN));

        // A poll on the socket, with no timeout, wakes when the PULL drains.
        let drainer = thread::spawn(move || {
            thread::sleep(std::time::Duration::from_millis(50));
            for _ in 0..4 {
                assert_eq!(pull.recv_bytes(0).unwrap(), b"y");
            }
            pull
        });
        let mut items = [push.as_poll_item(zmq::POLLOUT)];
        assert_eq!(zmq::poll(&mut items, -1).unwrap(), 1);
        assert!(items[0].is_writable());
        assert_eq!(push.get_events().unwrap(), zmq::POLLOUT);
        push.send("z", zmq::DONTWAIT).unwrap();
        let pull = drainer.join().unwrap();
        assert_eq!(pull.recv_bytes(0).unwrap(), b"z");
    });
}

/// The same over tcp, where the connection's buffers hold an unknown number of
/// messages: POLLOUT holds while sends go, ends, and comes back when the PULL
/// drains.
#[test]
fn pollout_follows_a_tcp_peer_that_fills_and_drains() {
    within(120, || {
        let ctx = zmq::Context::new();
        let pull = ctx.socket(zmq::PULL).unwrap();
        pull.set_rcvhwm(2).unwrap();
        pull.bind("tcp://127.0.0.1:*").unwrap();
        let endpoint = pull.get_last_endpoint().unwrap().unwrap();
        let push = ctx.socket(zmq::PUSH).unwrap();
        push.set_sndhwm(2).unwrap();
        push.set_linger(0).unwrap();
        push.connect(&endpoint).unwrap();
        let payload = vec![7u8; 64 * 1024];
        // The kernel takes a few megabytes before the engine stops; each send
        // checked against POLLOUT, until it says no.
        let sent = fill(&push, &payload);
        assert!(sent >= 2);
        let drainer = thread::spawn(move || {
            for _ in 0..sent {
                assert_eq!(pull.recv_bytes(0).unwrap().len(), 64 * 1024);
            }
            pull
        });
        assert_eq!(push.poll(zmq::POLLOUT, -1).unwrap(), 1);
        push.send(&payload[..], zmq::DONTWAIT).unwrap();
        let pull = drainer.join().unwrap();
        assert_eq!(pull.recv_bytes(0).unwrap().len(), 64 * 1024);
    });
}

/// A PUSH bound with no peer has no POLLOUT (libzmq: its load balancer has no
/// pipe); a poll waiting for it wakes when a PULL connects.
#[test]
fn a_poll_for_pollout_wakes_when_a_peer_arrives() {
    within(60, || {
        let ctx = zmq::Context::new();
        let push = ctx.socket(zmq::PUSH).unwrap();
        push.bind("inproc://pollout-arrival").unwrap();
        assert_eq!(push.get_events().unwrap(), zmq::PollEvents::empty());
        assert_eq!(push.send("x", zmq::DONTWAIT), Err(zmq::Error::EAGAIN));
        let connecter = {
            let ctx = ctx.clone();
            thread::spawn(move || {
                thread::sleep(std::time::Duration::from_millis(50));
                let pull = ctx.socket(zmq::PULL).unwrap();
                pull.connect("inproc://pollout-arrival").unwrap();
                assert_eq!(pull.recv_string(0).unwrap().unwrap(), "x");
            })
        };
        assert_eq!(push.poll(zmq::POLLOUT, -1).unwrap(), 1);
        push.send("x", zmq::DONTWAIT).unwrap();
        connecter.join().unwrap();
    });
}

/// REQ: POLLOUT before the request, none while the reply is awaited (nor when it
/// has arrived and is unread: POLLIN then), POLLOUT again after it is read; with
/// REQ_RELAXED, POLLOUT after the request too. REP: none before a request, POLLIN
/// when one waits, POLLOUT (alone) once it is read, none after the reply.
/// All as libzmq 4.3.5 reports them.
#[test]
fn req_and_rep_offer_pollout_in_their_turn() {
    within(60, || {
        let ctx = zmq::Context::new();
        let rep = ctx.socket(zmq::REP).unwrap();
        rep.bind("inproc://pollout-reqrep").unwrap();
        let req = ctx.socket(zmq::REQ).unwrap();
        req.connect("inproc://pollout-reqrep").unwrap();
        let empty = zmq::PollEvents::empty();

        assert_eq!(req.get_events().unwrap(), zmq::POLLOUT);
        assert_eq!(rep.get_events().unwrap(), empty);
        req.send("question", 0).unwrap();
        assert_eq!(req.get_events().unwrap(), empty);
        assert_eq!(req.poll(zmq::POLLOUT, 0).unwrap(), 0);
        assert_eq!(rep.poll(zmq::POLLIN, -1).unwrap(), 1);
        assert_eq!(rep.get_events().unwrap(), zmq::POLLIN);
        assert_eq!(rep.recv_string(0).unwrap().unwrap(), "question");
        assert_eq!(rep.get_events().unwrap(), zmq::POLLOUT);
        rep.send("answer", 0).unwrap();
        assert_eq!(rep.get_events().unwrap(), empty);
        assert_eq!(req.poll(zmq::POLLIN, -1).unwrap(), 1);
        assert_eq!(req.get_events().unwrap(), zmq::POLLIN);
        assert_eq!(req.recv_string(0).unwrap().unwrap(), "answer");
        assert_eq!(req.get_events().unwrap(), zmq::POLLOUT);

        let relaxed = ctx.socket(zmq::REQ).unwrap();
        relaxed.set_req_relaxed(true).unwrap();
        relaxed.connect("inproc://pollout-reqrep").unwrap();
        relaxed.send("again", 0).unwrap();
        assert_eq!(relaxed.get_events().unwrap(), zmq::POLLOUT);

        // Watched through the descriptor (which takes messages off the socket
        // ahead of the owner's receive), the turn is the same.
        let watched = ctx.socket(zmq::REQ).unwrap();
        watched.connect("inproc://pollout-reqrep").unwrap();
        let fd = watched.get_fd().unwrap();
        assert_eq!(watched.get_events().unwrap(), zmq::POLLOUT);
        watched.send("watched", 0).unwrap();
        // The relaxed REQ's request was queued first.
        assert_eq!(rep.recv_string(0).unwrap().unwrap(), "again");
        rep.send("to relaxed", 0).unwrap();
        assert_eq!(rep.recv_string(0).unwrap().unwrap(), "watched");
        rep.send("to watched", 0).unwrap();
        wait_on_fd(&watched, fd, zmq::POLLIN);
        assert_eq!(watched.get_events().unwrap(), zmq::POLLIN);
        assert_eq!(watched.recv_string(0).unwrap().unwrap(), "to watched");
        assert_eq!(watched.get_events().unwrap(), zmq::POLLOUT);
    });
}

/// PUB and XPUB: POLLOUT always, also to a subscriber that reads nothing (what it
/// has no room for it misses). SUB and PULL: never. XSUB: always.
#[test]
fn publishers_are_always_writable_and_receivers_never() {
    within(60, || {
        let ctx = zmq::Context::new();
        let publisher = ctx.socket(zmq::PUB).unwrap();
        publisher.set_sndhwm(1).unwrap();
        publisher.bind("inproc://pollout-pub").unwrap();
        let subscriber = ctx.socket(zmq::SUB).unwrap();
        subscriber.set_rcvhwm(1).unwrap();
        subscriber.set_subscribe(b"").unwrap();
        subscriber.connect("inproc://pollout-pub").unwrap();
        for _ in 0..100 {
            assert_eq!(publisher.get_events().unwrap(), zmq::POLLOUT);
            publisher.send("news", zmq::DONTWAIT).unwrap();
        }
        assert!(!pollout(&subscriber));
        let xsub = ctx.socket(zmq::XSUB).unwrap();
        xsub.connect("inproc://pollout-pub").unwrap();
        assert!(pollout(&xsub));
        let pull = ctx.socket(zmq::PULL).unwrap();
        pull.bind("inproc://pollout-pull").unwrap();
        let push = ctx.socket(zmq::PUSH).unwrap();
        push.connect("inproc://pollout-pull").unwrap();
        assert!(!pollout(&pull));
        assert!(pollout(&push));
    });
}

/// ROUTER: POLLOUT always (a message for a mute or unknown peer is dropped); with
/// ROUTER_MANDATORY, none without peers, and with a DEALER that reads nothing
/// (SNDHWM 2, RCVHWM 2, over inproc) exactly 4 messages, as libzmq, then none
/// while a `DONTWAIT` send to it fails with `EAGAIN`.
#[test]
fn router_offers_pollout_unless_mandatory_and_full() {
    within(60, || {
        let ctx = zmq::Context::new();
        let router = ctx.socket(zmq::ROUTER).unwrap();
        assert!(pollout(&router));
        router.set_router_mandatory(true).unwrap();
        assert!(!pollout(&router), "mandatory, no peer");
        router.set_sndhwm(2).unwrap();
        router.bind("inproc://pollout-router").unwrap();
        let dealer = ctx.socket(zmq::DEALER).unwrap();
        dealer.set_rcvhwm(2).unwrap();
        dealer.set_identity(b"dealer").unwrap();
        dealer.connect("inproc://pollout-router").unwrap();
        assert!(pollout(&router));
        let mut sent = 0;
        while pollout(&router) {
            router
                .send_multipart(["dealer", "x"], zmq::DONTWAIT)
                .expect("POLLOUT said a send would not block");
            sent += 1;
        }
        assert_eq!(sent, 4);
        assert_eq!(
            router.send_multipart(["dealer", "x"], zmq::DONTWAIT),
            Err(zmq::Error::EAGAIN)
        );
        router.set_router_mandatory(false).unwrap();
        assert!(
            pollout(&router),
            "without mandatory a full peer misses messages"
        );
        router.set_router_mandatory(true).unwrap();
        for _ in 0..4 {
            assert_eq!(dealer.recv_multipart(0).unwrap(), [b"x"]);
        }
        assert_eq!(router.poll(zmq::POLLOUT, -1).unwrap(), 1);
    });
}

/// PAIR: none without its peer, POLLOUT on both sides once joined, none when the
/// peer reads nothing and its queue is full, back when it reads.
#[test]
fn pair_offers_pollout_while_its_peer_has_room() {
    within(60, || {
        let ctx = zmq::Context::new();
        let a = ctx.socket(zmq::PAIR).unwrap();
        a.set_sndhwm(1).unwrap();
        a.bind("inproc://pollout-pair").unwrap();
        assert!(!pollout(&a));
        let b = ctx.socket(zmq::PAIR).unwrap();
        b.set_rcvhwm(1).unwrap();
        b.connect("inproc://pollout-pair").unwrap();
        assert!(pollout(&a));
        assert!(pollout(&b));
        assert_eq!(fill(&a, b"x"), 2);
        assert_eq!(a.send("x", zmq::DONTWAIT), Err(zmq::Error::EAGAIN));
        assert_eq!(b.recv_bytes(0).unwrap(), b"x");
        assert_eq!(b.recv_bytes(0).unwrap(), b"x");
        assert_eq!(a.poll(zmq::POLLOUT, -1).unwrap(), 1);
    });
}

/// Frames kept with SNDMORE are queued with the last one. As in libzmq, a
/// message that cannot be queued is refused with `EAGAIN` at its first frame;
/// in the middle of a message POLLOUT says whether it can be queued.
#[test]
fn a_message_that_cannot_be_queued_is_refused_at_its_first_frame() {
    within(60, || {
        let ctx = zmq::Context::new();
        let pull = ctx.socket(zmq::PULL).unwrap();
        pull.set_rcvhwm(1).unwrap();
        pull.bind("inproc://pollout-multipart").unwrap();
        let push = ctx.socket(zmq::PUSH).unwrap();
        push.set_sndhwm(1).unwrap();
        push.connect("inproc://pollout-multipart").unwrap();
        push.send("a", zmq::SNDMORE | zmq::DONTWAIT).unwrap();
        push.send("b", zmq::DONTWAIT).unwrap();
        push.send("c", zmq::SNDMORE | zmq::DONTWAIT).unwrap();
        assert!(pollout(&push), "one more message fits");
        push.send("d", zmq::DONTWAIT).unwrap();
        assert!(!pollout(&push), "the queue is full");
        assert_eq!(
            push.send("e", zmq::SNDMORE | zmq::DONTWAIT),
            Err(zmq::Error::EAGAIN)
        );
        assert_eq!(pull.recv_multipart(0).unwrap(), [b"a", b"b"]);
        assert_eq!(pull.recv_multipart(0).unwrap(), [b"c", b"d"]);
        assert_eq!(push.poll(zmq::POLLOUT, -1).unwrap(), 1);
        push.send("e", zmq::SNDMORE | zmq::DONTWAIT).unwrap();
        push.send("f", zmq::DONTWAIT).unwrap();
        assert_eq!(pull.recv_multipart(0).unwrap(), [b"e", b"f"]);
    });
}
