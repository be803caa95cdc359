//! `proxy_steerable`: PAUSE, RESUME, STATISTICS and TERMINATE on the control socket.

mod common;

use std::thread;

use common::within;

/// A PULL-to-PUSH proxy steered through `control_type`; returns the input, the
/// output, the steering socket and the proxy's thread.
fn steered(
    ctx: &zmq::Context,
    control_type: zmq::SocketType,
    steer_type: zmq::SocketType,
) -> (
    zmq::Socket,
    zmq::Socket,
    zmq::Socket,
    thread::JoinHandle<zmq::Result<()>>,
) {
    let mut frontend = ctx.socket(zmq::PULL).unwrap();
    frontend.bind("inproc://steer-front").unwrap();
    let mut backend = ctx.socket(zmq::PUSH).unwrap();
    backend.bind("inproc://steer-back").unwrap();
    let mut control = ctx.socket(control_type).unwrap();
    control.bind("inproc://steer-control").unwrap();
    let proxy =
        thread::spawn(move || zmq::proxy_steerable(&mut frontend, &mut backend, &mut control));
    let input = ctx.socket(zmq::PUSH).unwrap();
    input.connect("inproc://steer-front").unwrap();
    let output = ctx.socket(zmq::PULL).unwrap();
    output.connect("inproc://steer-back").unwrap();
    let steer = ctx.socket(steer_type).unwrap();
    steer.connect("inproc://steer-control").unwrap();
    (input, output, steer, proxy)
}

fn statistics(steer: &zmq::Socket) -> Vec<u64> {
    steer.send("STATISTICS", 0).unwrap();
    steer
        .recv_multipart(0)
        .unwrap()
        .iter()
        .map(|frame| u64::from_ne_bytes(frame[..].try_into().unwrap()))
        .collect()
}

#[test]
fn a_pair_steers_the_proxy() {
    within(60, || {
        let ctx = zmq::Context::new();
        let (input, output, steer, proxy) = steered(&ctx, zmq::PAIR, zmq::PAIR);
        input.send("one", 0).unwrap();
        assert_eq!(output.recv_string(0).unwrap().unwrap(), "one");

        steer.send("PAUSE", 0).unwrap();
        // STATISTICS is answered after PAUSE is taken: from then on, nothing passes.
        assert_eq!(statistics(&steer), [1, 3, 0, 0, 0, 0, 1, 3]);
        input.send("two", 0).unwrap();
        assert_eq!(
            output.poll(zmq::POLLIN, 200).unwrap(),
            0,
            "paused, yet it passed"
        );
        steer.send("RESUME", 0).unwrap();
        assert_eq!(output.recv_string(0).unwrap().unwrap(), "two");
        assert_eq!(statistics(&steer), [2, 6, 0, 0, 0, 0, 2, 6]);

        steer.send("TERMINATE", 0).unwrap();
        assert_eq!(proxy.join().unwrap(), Ok(()));
    });
}

#[test]
fn a_req_steers_a_proxy_whose_control_is_a_rep() {
    within(60, || {
        let ctx = zmq::Context::new();
        let (input, output, steer, proxy) = steered(&ctx, zmq::REP, zmq::REQ);
        steer.send("PAUSE", 0).unwrap();
        assert_eq!(steer.recv_bytes(0).unwrap(), b"");
        input.send("held", 0).unwrap();
        assert_eq!(
            output.poll(zmq::POLLIN, 200).unwrap(),
            0,
            "paused, yet it passed"
        );
        steer.send("RESUME", 0).unwrap();
        assert_eq!(steer.recv_bytes(0).unwrap(), b"");
        assert_eq!(output.recv_string(0).unwrap().unwrap(), "held");
        assert_eq!(statistics(&steer), [1, 4, 0, 0, 0, 0, 1, 4]);
        steer.send("TERMINATE", 0).unwrap();
        assert_eq!(steer.recv_bytes(0).unwrap(), b"");
        assert_eq!(proxy.join().unwrap(), Ok(()));
    });
}
