//! purezmq's inproc path: sockets of one process, no encoding, no system calls.
//!
//! - `inproc/push_pull_32B`: a task sends 32-byte messages through a PUSH, the bench
//!   receives them from the PULL; the time is per message.
//! - `inproc/req_rep_round_trip`: a REQ sends a 32-byte request, a task echoes it
//!   from the REP, the REQ receives the reply; the time is per round trip.
//!
//! Both run on a tokio multi-thread runtime, as an application would. The payload is
//! a static `Bytes`, so the figures are the sockets' own cost, without allocating
//! messages.
//!
//! ```sh
//! cargo bench -p purezmq-benches --bench inproc
//! ```

use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use purezmq::{Socket, SocketType};

static PAYLOAD: [u8; 32] = [0; 32];

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn push_pull(c: &mut Criterion) {
    let runtime = runtime();
    let (push, pull) = runtime.block_on(async {
        let pull = Socket::new(SocketType::Pull);
        pull.bind("inproc://bench-push-pull").expect("bind");
        let push = Socket::new(SocketType::Push);
        push.connect("inproc://bench-push-pull").expect("connect");
        (push, pull)
    });
    let mut group = c.benchmark_group("inproc");
    group.throughput(Throughput::Elements(1));
    group.bench_function("push_pull_32B", |b| {
        b.iter_custom(|messages| {
            runtime.block_on(async {
                let sender = push.clone();
                let sending = tokio::spawn(async move {
                    for _ in 0..messages {
                        sender
                            .send(Bytes::from_static(&PAYLOAD))
                            .await
                            .expect("send");
                    }
                });
                let start = Instant::now();
                for _ in 0..messages {
                    pull.recv().await.expect("recv");
                }
                let elapsed = start.elapsed();
                sending.await.expect("the sending task");
                elapsed
            })
        })
    });
    group.finish();
}

fn req_rep(c: &mut Criterion) {
    let runtime = runtime();
    let req = runtime.block_on(async {
        let rep = Socket::new(SocketType::Rep);
        rep.bind("inproc://bench-req-rep").expect("bind");
        let req = Socket::new(SocketType::Req);
        req.connect("inproc://bench-req-rep").expect("connect");
        tokio::spawn(async move {
            while let Ok(request) = rep.recv().await {
                if rep.send(request).await.is_err() {
                    break;
                }
            }
        });
        req
    });
    let mut group = c.benchmark_group("inproc");
    group.throughput(Throughput::Elements(1));
    group.bench_function("req_rep_round_trip", |b| {
        b.iter_custom(|round_trips| {
            runtime.block_on(async {
                let start = Instant::now();
                for _ in 0..round_trips {
                    req.send(Bytes::from_static(&PAYLOAD)).await.expect("send");
                    req.recv().await.expect("recv");
                }
                start.elapsed()
            })
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5));
    targets = push_pull, req_rep
}
criterion_main!(benches);
