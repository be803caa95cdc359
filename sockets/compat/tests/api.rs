//! What the `zmq` crate's own tests assert, in this package's words: messages,
//! errors, options, context, version and capabilities.

mod common;

use std::io;

use common::{req_rep_pair, within};
use zmq::{Context, Error, Mechanism, Message, SocketType};

#[test]
fn messages_bytes_strings_and_multipart_cross_a_req_rep_pair() {
    within(60, || {
        let (req, rep) = req_rep_pair();
        req.send("foo", 0).unwrap();
        let msg = rep.recv_msg(0).unwrap();
        assert_eq!(&msg[..], b"foo");
        assert_eq!(msg.as_str(), Some("foo"));
        assert_eq!(format!("{msg:?}"), "[102, 111, 111]");
        rep.send("a quite long string", 0).unwrap();
        let mut buf = [0_u8; 10];
        assert_eq!(req.recv_into(&mut buf, 0).unwrap(), 19);
        assert_eq!(&buf, b"a quite lo");

        req.send("bäz", 0).unwrap();
        assert_eq!(rep.recv_string(0).unwrap().unwrap(), "bäz");
        rep.send(b"\xff\xb7".as_ref(), 0).unwrap();
        assert_eq!(req.recv_string(0).unwrap(), Err(vec![0xff, 0xb7]));

        req.send_multipart(["foo", "bar"], 0).unwrap();
        assert_eq!(rep.recv_multipart(0).unwrap(), vec![b"foo", b"bar"]);
        rep.send("foo", zmq::SNDMORE).unwrap();
        rep.send("bar", 0).unwrap();
        let first = req.recv_msg(0).unwrap();
        assert!(first.get_more());
        assert!(req.get_rcvmore().unwrap());
        assert_eq!(&first[..], b"foo");
        let second = req.recv_msg(0).unwrap();
        assert!(!second.get_more());
        assert!(!req.get_rcvmore().unwrap());
        assert_eq!(&second[..], b"bar");
    });
}

#[test]
fn req_rep_out_of_turn_is_efsm() {
    let ctx = Context::new();
    let rep = ctx.socket(zmq::REP).unwrap();
    let err = rep.send("...", 0).unwrap_err();
    assert_eq!(err, Error::EFSM);
    assert_eq!(err.message(), format!("{err}"));
    assert_eq!(err.message(), format!("{err:?}"));

    let req = ctx.socket(zmq::REQ).unwrap();
    req.bind("inproc://efsm-req").unwrap();
    let peer = ctx.socket(zmq::REP).unwrap();
    peer.connect("inproc://efsm-req").unwrap();
    req.send("first", 0).unwrap();
    assert_eq!(req.send("second", 0), Err(Error::EFSM));
}

#[test]
fn nonblocking_calls_give_eagain() {
    within(60, || {
        let ctx = Context::new();
        let pull = ctx.socket(zmq::PULL).unwrap();
        pull.bind("tcp://127.0.0.1:*").unwrap();
        assert_eq!(pull.recv_msg(zmq::DONTWAIT), Err(Error::EAGAIN));
        pull.set_rcvtimeo(50).unwrap();
        assert_eq!(pull.recv_bytes(0), Err(Error::EAGAIN));

        // A PUSH with no peer cannot send without waiting.
        let push = ctx.socket(zmq::PUSH).unwrap();
        assert_eq!(push.send("x", zmq::DONTWAIT), Err(Error::EAGAIN));
        push.set_sndtimeo(50).unwrap();
        assert_eq!(push.send("x", 0), Err(Error::EAGAIN));
        push.set_linger(0).unwrap();
    });
}

#[test]
fn a_send_at_the_high_water_mark_waits_or_fails_with_eagain() {
    within(60, || {
        let ctx = Context::new();
        let pull = ctx.socket(zmq::PULL).unwrap();
        pull.set_rcvhwm(1).unwrap();
        pull.bind("inproc://hwm-blocks").unwrap();
        let push = ctx.socket(zmq::PUSH).unwrap();
        push.set_sndhwm(1).unwrap();
        push.connect("inproc://hwm-blocks").unwrap();
        let mut sent = 0;
        while push.send("x", zmq::DONTWAIT).is_ok() {
            sent += 1;
            assert!(sent < 10_000, "the HWM never stopped the sender");
        }
        assert_eq!(push.send("x", zmq::DONTWAIT), Err(Error::EAGAIN));
        // A blocking send completes once the receiver makes room.
        let sender = std::thread::spawn(move || {
            push.send("last", 0).unwrap();
            push
        });
        for _ in 0..sent {
            assert_eq!(pull.recv_bytes(0).unwrap(), b"x");
        }
        assert_eq!(pull.recv_bytes(0).unwrap(), b"last");
        drop(sender.join().unwrap());
    });
}

#[test]
fn a_multipart_message_is_kept_until_its_last_frame_then_sent_whole() {
    within(60, || {
        let ctx = Context::new();
        let pull = ctx.socket(zmq::PULL).unwrap();
        pull.bind("inproc://multipart-whole").unwrap();
        let push = ctx.socket(zmq::PUSH).unwrap();
        push.connect("inproc://multipart-whole").unwrap();
        push.send("a", zmq::SNDMORE).unwrap();
        push.send(vec![b'b'], zmq::SNDMORE).unwrap();
        assert_eq!(pull.recv_msg(zmq::DONTWAIT), Err(Error::EAGAIN));
        push.send(Message::from("c"), 0).unwrap();
        assert_eq!(pull.recv_multipart(0).unwrap(), vec![b"a", b"b", b"c"]);
    });
}

#[test]
fn errors_convert_to_io_errors() {
    let e: io::Error = Error::ENOENT.into();
    assert_eq!(e.kind(), io::ErrorKind::NotFound);
    let e: io::Error = Error::EAGAIN.into();
    assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
}

#[test]
fn errors_round_trip_through_errno() {
    assert_eq!(Error::from_raw(libc_eintr()), Error::EINTR);
    for error in [
        Error::EAGAIN,
        Error::EFSM,
        Error::ETERM,
        Error::EHOSTUNREACH,
    ] {
        assert_eq!(Error::from_raw(error.to_raw()), error);
    }
    assert_eq!(Error::EAGAIN.message(), "Resource temporarily unavailable");
    assert_eq!(Error::ETERM.message(), "Context was terminated");
}

fn libc_eintr() -> i32 {
    io::Error::from(io::ErrorKind::Interrupted)
        .raw_os_error()
        .unwrap_or(4)
}

#[test]
fn version_and_capabilities() {
    let (major, minor, _) = zmq::version();
    assert_eq!((major, minor), (4, 3));
    assert_eq!(zmq::has("ipc"), Some(true));
    assert_eq!(zmq::has("curve"), Some(true));
    assert_eq!(zmq::has("gssapi"), Some(false));
    assert_eq!(zmq::has("pgm"), Some(false));
}

#[test]
fn context_io_threads() {
    let ctx = Context::new();
    assert_eq!(ctx.get_io_threads().unwrap(), 1);
    ctx.set_io_threads(0).unwrap();
    assert_eq!(ctx.get_io_threads().unwrap(), 0);
    ctx.set_io_threads(7).unwrap();
    assert_eq!(ctx.get_io_threads().unwrap(), 7);
    assert!(ctx.set_io_threads(-1).is_err());
}

#[test]
fn a_socket_keeps_working_after_its_context_handle_is_dropped() {
    let sock = {
        let ctx = Context::new();
        ctx.socket(zmq::REQ).unwrap()
    };
    assert_eq!(sock.get_socket_type(), Ok(zmq::REQ));
}

#[test]
fn destroy_ends_blocked_calls_with_eterm() {
    within(60, || {
        let mut ctx = Context::new();
        let pull = ctx.socket(zmq::PULL).unwrap();
        pull.bind("inproc://destroy-eterm").unwrap();
        let waiting = std::thread::spawn(move || pull.recv_msg(0));
        std::thread::sleep(std::time::Duration::from_millis(100));
        ctx.destroy().unwrap();
        assert_eq!(waiting.join().unwrap(), Err(Error::ETERM));
        assert_eq!(ctx.socket(zmq::PUSH).map(|_| ()), Err(Error::ETERM));
    });
}

#[test]
fn socket_types_read_back_and_stream_is_not_supported() {
    let ctx = Context::new();
    for socket_type in [
        SocketType::PAIR,
        SocketType::PUB,
        SocketType::SUB,
        SocketType::REQ,
        SocketType::REP,
        SocketType::DEALER,
        SocketType::ROUTER,
        SocketType::PULL,
        SocketType::PUSH,
        SocketType::XPUB,
        SocketType::XSUB,
    ] {
        let sock = ctx.socket(socket_type).unwrap();
        assert_eq!(sock.get_socket_type().unwrap(), socket_type);
    }
    assert_eq!(ctx.socket(zmq::STREAM).map(|_| ()), Err(Error::ENOTSUP));
}

#[test]
fn sockets_move_between_threads() {
    fn assert_send<T: Send>() {}
    assert_send::<zmq::Socket>();
    assert_send::<zmq::Context>();
}

#[test]
fn options_read_back_as_set() {
    let ctx = Context::new();
    let sock = ctx.socket(zmq::REQ).unwrap();
    sock.set_maxmsgsize(512_000).unwrap();
    assert_eq!(sock.get_maxmsgsize().unwrap(), 512_000);
    sock.set_sndhwm(500).unwrap();
    assert_eq!(sock.get_sndhwm().unwrap(), 500);
    sock.set_rcvhwm(500).unwrap();
    assert_eq!(sock.get_rcvhwm().unwrap(), 500);
    sock.set_affinity(1024).unwrap();
    assert_eq!(sock.get_affinity().unwrap(), 1024);
    sock.set_identity(b"moo").unwrap();
    assert_eq!(sock.get_identity().unwrap(), b"moo");
    sock.set_rate(200).unwrap();
    assert_eq!(sock.get_rate().unwrap(), 200);
    sock.set_recovery_ivl(100).unwrap();
    assert_eq!(sock.get_recovery_ivl().unwrap(), 100);
    sock.set_sndbuf(100).unwrap();
    assert_eq!(sock.get_sndbuf().unwrap(), 100);
    sock.set_rcvbuf(100).unwrap();
    assert_eq!(sock.get_rcvbuf().unwrap(), 100);
    sock.set_tos(100).unwrap();
    assert_eq!(sock.get_tos().unwrap(), 100);
    assert_eq!(sock.get_linger().unwrap(), -1);
    sock.set_linger(100).unwrap();
    assert_eq!(sock.get_linger().unwrap(), 100);
    assert_eq!(sock.get_reconnect_ivl().unwrap(), 100);
    sock.set_reconnect_ivl(150).unwrap();
    assert_eq!(sock.get_reconnect_ivl().unwrap(), 150);
    sock.set_reconnect_ivl_max(100).unwrap();
    assert_eq!(sock.get_reconnect_ivl_max().unwrap(), 100);
    sock.set_backlog(50).unwrap();
    assert_eq!(sock.get_backlog().unwrap(), 50);
    sock.set_multicast_hops(20).unwrap();
    assert_eq!(sock.get_multicast_hops().unwrap(), 20);
    sock.set_rcvtimeo(5000).unwrap();
    assert_eq!(sock.get_rcvtimeo().unwrap(), 5000);
    sock.set_sndtimeo(5000).unwrap();
    assert_eq!(sock.get_sndtimeo().unwrap(), 5000);
    for value in [true, false] {
        sock.set_ipv6(value).unwrap();
        assert_eq!(sock.is_ipv6().unwrap(), value);
        sock.set_immediate(value).unwrap();
        assert_eq!(sock.is_immediate().unwrap(), value);
        sock.set_conflate(value).unwrap();
        assert_eq!(sock.is_conflate().unwrap(), value);
        sock.set_req_relaxed(value).unwrap();
        sock.set_req_correlate(value).unwrap();
    }
    for value in [-1, 0, 1] {
        sock.set_tcp_keepalive(value).unwrap();
        assert_eq!(sock.get_tcp_keepalive().unwrap(), value);
    }
    assert_eq!(sock.set_tcp_keepalive(2), Err(Error::EINVAL));
    for value in [-1, 500] {
        sock.set_tcp_keepalive_cnt(value).unwrap();
        assert_eq!(sock.get_tcp_keepalive_cnt().unwrap(), value);
        sock.set_tcp_keepalive_idle(value).unwrap();
        assert_eq!(sock.get_tcp_keepalive_idle().unwrap(), value);
        sock.set_tcp_keepalive_intvl(value).unwrap();
        assert_eq!(sock.get_tcp_keepalive_intvl().unwrap(), value);
    }
    sock.set_handshake_ivl(50_000).unwrap();
    assert_eq!(sock.get_handshake_ivl().unwrap(), 50_000);
    sock.set_connect_timeout(5000).unwrap();
    assert_eq!(sock.get_connect_timeout().unwrap(), 5000);
    sock.set_heartbeat_ivl(1000).unwrap();
    assert_eq!(sock.get_heartbeat_ivl().unwrap(), 1000);
    sock.set_heartbeat_timeout(3000).unwrap();
    assert_eq!(sock.get_heartbeat_timeout().unwrap(), 3000);
    sock.set_heartbeat_ttl(2000).unwrap();
    assert_eq!(sock.get_heartbeat_ttl().unwrap(), 2000);
    sock.set_zap_domain("test_domain").unwrap();
    assert_eq!(sock.get_zap_domain().unwrap().unwrap(), "test_domain");
    sock.set_router_mandatory(true).unwrap();
    assert!(sock.is_router_mandatory().unwrap());

    // libzmq's limits.
    assert_eq!(sock.set_identity(&[0, 1]), Err(Error::EINVAL));
    assert_eq!(sock.set_identity(&[b'x'; 256]), Err(Error::EINVAL));
    assert_eq!(sock.set_linger(-2), Err(Error::EINVAL));
    assert_eq!(sock.set_sndhwm(-1), Err(Error::EINVAL));
    // What purezmq cannot do.
    assert_eq!(sock.set_gssapi_server(true), Err(Error::EINVAL));
    assert_eq!(
        sock.set_socks_proxy(Some("proxy:1080")),
        Err(Error::ENOTSUP)
    );
    sock.set_socks_proxy(None).unwrap();
    assert_eq!(sock.get_socks_proxy().unwrap().unwrap(), "");
}

#[test]
fn plain_options_set_the_mechanism() {
    let ctx = Context::new();
    let sock = ctx.socket(zmq::REQ).unwrap();
    assert_eq!(sock.get_mechanism().unwrap(), Mechanism::ZMQ_NULL);
    sock.set_plain_server(true).unwrap();
    assert!(sock.is_plain_server().unwrap());
    sock.set_plain_server(false).unwrap();
    assert!(!sock.is_plain_server().unwrap());

    sock.set_plain_username(Some("billybob")).unwrap();
    assert_eq!(sock.get_plain_username().unwrap().unwrap(), "billybob");
    assert_eq!(sock.get_mechanism().unwrap(), Mechanism::ZMQ_PLAIN);
    sock.set_plain_username(None).unwrap();
    assert_eq!(sock.get_mechanism().unwrap(), Mechanism::ZMQ_NULL);

    sock.set_plain_password(Some("m00c0w")).unwrap();
    assert_eq!(sock.get_plain_password().unwrap().unwrap(), "m00c0w");
    assert_eq!(sock.get_mechanism().unwrap(), Mechanism::ZMQ_PLAIN);
    sock.set_plain_password(None).unwrap();
    assert_eq!(sock.get_mechanism().unwrap(), Mechanism::ZMQ_NULL);
}

#[test]
fn plain_credentials_reach_a_plain_server() {
    within(60, || {
        let ctx = Context::new();
        let server = ctx.socket(zmq::REP).unwrap();
        server.set_plain_server(true).unwrap();
        server.bind("tcp://127.0.0.1:*").unwrap();
        let client = ctx.socket(zmq::REQ).unwrap();
        client.set_plain_username(Some("admin")).unwrap();
        client.set_plain_password(Some("secret")).unwrap();
        client
            .connect(&server.get_last_endpoint().unwrap().unwrap())
            .unwrap();
        client.send("over plain", 0).unwrap();
        assert_eq!(server.recv_string(0).unwrap().unwrap(), "over plain");
    });
}

#[test]
fn subscriptions_and_xpub_options() {
    within(60, || {
        let ctx = Context::new();
        let sock = ctx.socket(zmq::SUB).unwrap();
        sock.set_subscribe(b"/channel").unwrap();
        sock.set_unsubscribe(b"/channel").unwrap();

        // With XPUB_VERBOSE, every subscription comes through, not only the first
        // for a topic: a SUB's repeated one (as rust-zmq's test_zmq_set_xpub_verbose
        // has it), and another subscriber's.
        let xpub = ctx.socket(zmq::XPUB).unwrap();
        xpub.bind("inproc://xpub-verbose").unwrap();
        xpub.set_xpub_verbose(true).unwrap();
        let subs: Vec<zmq::Socket> = (0..2).map(|_| ctx.socket(zmq::SUB).unwrap()).collect();
        for sub in &subs {
            sub.connect("inproc://xpub-verbose").unwrap();
            for _ in 0..2 {
                sub.set_subscribe(b"topic").unwrap();
                let event = xpub.recv_msg(0).unwrap();
                assert_eq!(event[0], 1);
                assert_eq!(&event[1..], b"topic");
            }
        }

        let xpub = ctx.socket(zmq::XPUB).unwrap();
        xpub.bind("inproc://xpub-welcome").unwrap();
        xpub.set_xpub_welcome_msg(Some("welcome")).unwrap();
        let sub = ctx.socket(zmq::SUB).unwrap();
        sub.set_subscribe(b"").unwrap();
        sub.connect("inproc://xpub-welcome").unwrap();
        assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01");
        assert_eq!(sub.recv_bytes(0).unwrap(), b"welcome");
    });
}

#[test]
fn conflate_keeps_only_the_newest_message() {
    within(60, || {
        let ctx = Context::new();
        let pull = ctx.socket(zmq::PULL).unwrap();
        pull.set_conflate(true).unwrap();
        pull.bind("inproc://conflate").unwrap();
        let push = ctx.socket(zmq::PUSH).unwrap();
        push.connect("inproc://conflate").unwrap();
        for i in 0..10 {
            push.send(i.to_string().as_str(), 0).unwrap();
        }
        // Only the newest is kept once the rest arrived: wait for "9".
        loop {
            if pull.recv_string(0).unwrap().unwrap() == "9" {
                break;
            }
        }
        assert_eq!(pull.recv_msg(zmq::DONTWAIT), Err(Error::EAGAIN));
    });
}

#[test]
fn disconnect_and_unbind() {
    within(60, || {
        let (req, rep) = req_rep_pair();
        let endpoint = rep.get_last_endpoint().unwrap().unwrap();
        req.disconnect(&endpoint).unwrap();
        assert_eq!(req.send("foo", zmq::DONTWAIT), Err(Error::EAGAIN));
        assert_eq!(req.disconnect("tcp://192.0.2.1:2233"), Err(Error::ENOENT));
        rep.unbind(&endpoint).unwrap();
        assert_eq!(rep.unbind(&endpoint), Err(Error::ENOENT));
        assert_eq!(
            rep.bind("pgm://eth0;239.192.1.1:5555"),
            Err(Error::EPROTONOSUPPORT)
        );
        assert_eq!(rep.bind("tcp://127.0.0.1"), Err(Error::EINVAL));
    });
}

#[test]
fn router_mandatory_gives_ehostunreach() {
    let ctx = Context::new();
    let router = ctx.socket(zmq::ROUTER).unwrap();
    router.set_router_mandatory(true).unwrap();
    router.send("nobody", zmq::SNDMORE).unwrap();
    assert_eq!(router.send("hello", 0), Err(Error::EHOSTUNREACH));
}

#[test]
fn routing_ids_address_dealers() {
    within(60, || {
        let ctx = Context::new();
        let router = ctx.socket(zmq::ROUTER).unwrap();
        router.bind("inproc://routing-ids").unwrap();
        let dealer = ctx.socket(zmq::DEALER).unwrap();
        dealer.set_identity(b"A").unwrap();
        dealer.connect("inproc://routing-ids").unwrap();
        dealer.send("hi", 0).unwrap();
        assert_eq!(
            router.recv_multipart(0).unwrap(),
            vec![b"A".to_vec(), b"hi".to_vec()]
        );
        router.send_multipart([&b"A"[..], b"back"], 0).unwrap();
        assert_eq!(dealer.recv_bytes(0).unwrap(), b"back");
    });
}

#[test]
fn messages_compare_by_content_and_convert() {
    let data = vec![1u8, 2, 3];
    assert_eq!(Message::from(&data), Message::from(&data));
    assert_ne!(Message::from(&data), Message::from(&vec![1u8, 2]));
    assert_eq!(Message::from(data.clone()), Message::from(&data[..]));
    assert_eq!(
        Message::from(data.clone().into_boxed_slice()),
        Message::from(&data)
    );
    assert_eq!(&Message::with_size(4)[..], &[0, 0, 0, 0]);
    assert!(Message::new().is_empty());
    let mut msg = Message::from("text");
    assert_eq!(msg.as_str(), Some("text"));
    msg[0] = b'n';
    assert_eq!(msg.as_str(), Some("next"));
    assert_eq!(msg.gets("Socket-Type"), None);
    assert!(!msg.get_more());
}

#[test]
fn z85_round_trips_and_reports_bad_input() {
    let text = "/AB8cGJ*-$lEbr2=TW$Q?i7:)<?G/4zr-hjppA3d";
    let decoded = zmq::z85_decode(text).unwrap();
    assert_eq!(zmq::z85_encode(&decoded).unwrap(), text);
    assert!(matches!(
        zmq::z85_decode("/AB8"),
        Err(zmq::DecodeError::BadLength)
    ));
    assert!(matches!(
        zmq::z85_decode("/AB\x008"),
        Err(zmq::DecodeError::NulError(_))
    ));
    assert!(matches!(
        zmq::z85_encode(b"\x01\x01\x01\x01\x01"),
        Err(zmq::EncodeError::BadLength)
    ));
}

#[test]
fn inproc_names_belong_to_their_context() {
    within(60, || {
        let first = Context::new();
        let second = Context::new();
        let a = first.socket(zmq::PULL).unwrap();
        a.bind("inproc://same-name").unwrap();
        assert_eq!(
            a.get_last_endpoint().unwrap().unwrap(),
            "inproc://same-name"
        );
        // Another context may bind the same name, as in libzmq.
        let b = second.socket(zmq::PULL).unwrap();
        b.bind("inproc://same-name").unwrap();
        // Within a context, the name is taken.
        let c = first.socket(zmq::PULL).unwrap();
        assert_eq!(c.bind("inproc://same-name"), Err(Error::EADDRINUSE));

        let push = second.socket(zmq::PUSH).unwrap();
        push.connect("inproc://same-name").unwrap();
        assert_eq!(
            push.get_last_endpoint().unwrap().unwrap(),
            "inproc://same-name"
        );
        push.send("for the second", 0).unwrap();
        assert_eq!(b.recv_string(0).unwrap().unwrap(), "for the second");
        assert_eq!(a.recv_msg(zmq::DONTWAIT), Err(Error::EAGAIN));
        push.disconnect("inproc://same-name").unwrap();
        b.unbind("inproc://same-name").unwrap();
    });
}

#[test]
fn a_multipart_send_that_would_block_can_be_retried() {
    within(60, || {
        let ctx = Context::new();
        let push = ctx.socket(zmq::PUSH).unwrap();
        push.set_linger(0).unwrap();
        // No peer yet: the message cannot be queued.
        assert_eq!(
            push.send_multipart(["a", "b"], zmq::DONTWAIT),
            Err(Error::EAGAIN)
        );
        // Frame at a time with DONTWAIT, as event loops do: refused at the first
        // frame, as in libzmq.
        assert_eq!(
            push.send("c", zmq::SNDMORE | zmq::DONTWAIT),
            Err(Error::EAGAIN)
        );
        // A first frame sent without DONTWAIT is kept, and the message is queued
        // with the last: the last frame that failed is sent again.
        push.send("c", zmq::SNDMORE).unwrap();
        assert_eq!(push.send("d", zmq::DONTWAIT), Err(Error::EAGAIN));

        let pull = ctx.socket(zmq::PULL).unwrap();
        pull.bind("inproc://retry-multipart").unwrap();
        push.connect("inproc://retry-multipart").unwrap();
        push.send("d", 0).unwrap();
        push.send_multipart(["a", "b"], 0).unwrap();
        assert_eq!(pull.recv_multipart(0).unwrap(), vec![b"c", b"d"]);
        assert_eq!(pull.recv_multipart(0).unwrap(), vec![b"a", b"b"]);
    });
}
