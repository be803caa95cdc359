// The benchmark program, written once against the `zmq` crate's API (rust-zmq
// 0.10) and compiled twice by `mod.rs`: once where `zmq` is the `zmq` crate
// (libzmq) and once where it is purezmq-compat. Nothing here may name either crate
// other than as `zmq`.

/// PUSH/PULL over tcp: `count` messages of `size` bytes from a PUSH in its own
/// thread to a PULL, as libzmq's local_thr/remote_thr do. Returns messages per
/// second, timed from the first message received to the last.
pub fn push_pull(size: usize, count: usize) -> f64 {
    let context = zmq::Context::new();
    let pull = context.socket(zmq::PULL).expect("PULL");
    pull.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = pull
        .get_last_endpoint()
        .expect("last endpoint")
        .expect("an endpoint as UTF-8");
    let sender = {
        let context = context.clone();
        std::thread::spawn(move || {
            let push = context.socket(zmq::PUSH).expect("PUSH");
            push.connect(&endpoint).expect("connect");
            let payload = vec![0x5a_u8; size];
            for _ in 0..count {
                push.send(&payload[..], 0).expect("send");
            }
        })
    };
    let mut message = zmq::Message::new();
    pull.recv(&mut message, 0).expect("recv");
    let start = std::time::Instant::now();
    for _ in 1..count {
        pull.recv(&mut message, 0).expect("recv");
        assert_eq!(message.len(), size);
    }
    let elapsed = start.elapsed();
    sender.join().expect("the sender thread");
    (count - 1) as f64 / elapsed.as_secs_f64()
}

/// REQ/REP over tcp: `count` round trips of `size` bytes from a REQ to a REP that
/// echoes in its own thread, after `WARMUP` untimed ones. Returns each round
/// trip's time, sorted.
pub fn req_rep(size: usize, count: usize) -> Vec<std::time::Duration> {
    const WARMUP: usize = 100;
    let context = zmq::Context::new();
    let rep = context.socket(zmq::REP).expect("REP");
    rep.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = rep
        .get_last_endpoint()
        .expect("last endpoint")
        .expect("an endpoint as UTF-8");
    let echo = std::thread::spawn(move || {
        let mut message = zmq::Message::new();
        for _ in 0..WARMUP + count {
            rep.recv(&mut message, 0).expect("recv");
            rep.send(&message[..], 0).expect("send");
        }
    });
    let req = context.socket(zmq::REQ).expect("REQ");
    req.connect(&endpoint).expect("connect");
    let payload = vec![0x5a_u8; size];
    let mut message = zmq::Message::new();
    let mut times = Vec::with_capacity(count);
    for i in 0..WARMUP + count {
        let start = std::time::Instant::now();
        req.send(&payload[..], 0).expect("send");
        req.recv(&mut message, 0).expect("recv");
        if i >= WARMUP {
            times.push(start.elapsed());
        }
        assert_eq!(message.len(), size);
    }
    echo.join().expect("the echo thread");
    times.sort_unstable();
    times
}
