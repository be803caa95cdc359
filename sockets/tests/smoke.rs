//! Each socket pair moves messages over each transport.

use std::time::Duration;

use purezmq::{Message, Socket, SocketType};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(5);

fn endpoints(name: &str) -> Vec<String> {
    vec![
        "tcp://127.0.0.1:*".to_owned(),
        format!("ipc://@purezmq-smoke-{name}-{}", std::process::id()),
        format!("inproc://smoke-{name}"),
    ]
}

async fn pair(bind: SocketType, connect: SocketType, endpoint: &str) -> (Socket, Socket) {
    let b = Socket::new(bind);
    b.bind(endpoint).unwrap();
    let c = Socket::new(connect);
    c.connect(&b.last_endpoint()).unwrap();
    (b, c)
}

async fn recv(socket: &Socket) -> Message {
    timeout(WAIT, socket.recv())
        .await
        .expect("timed out")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_pull() {
    for endpoint in endpoints("pushpull") {
        let (pull, push) = pair(SocketType::Pull, SocketType::Push, &endpoint).await;
        for i in 0..1000u32 {
            push.send(i.to_string()).await.unwrap();
        }
        for i in 0..1000u32 {
            assert_eq!(recv(&pull).await.frames()[0], i.to_string(), "{endpoint}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn req_rep() {
    for endpoint in endpoints("reqrep") {
        let (rep, req) = pair(SocketType::Rep, SocketType::Req, &endpoint).await;
        for i in 0..100u32 {
            req.send(Message::from_iter([i.to_string(), "x".into()]))
                .await
                .unwrap();
            let request = recv(&rep).await;
            assert_eq!(request.frames(), [i.to_string(), "x".to_owned()]);
            rep.send("ok").await.unwrap();
            assert_eq!(recv(&req).await.frames(), ["ok"], "{endpoint}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dealer_router() {
    for endpoint in endpoints("dealerrouter") {
        let (router, dealer) = pair(SocketType::Router, SocketType::Dealer, &endpoint).await;
        dealer.send("hello").await.unwrap();
        let m = recv(&router).await;
        assert_eq!(m.len(), 2);
        assert_eq!(m.frames()[1], "hello");
        router
            .send(Message::from_iter([m.frames()[0].clone(), "back".into()]))
            .await
            .unwrap();
        assert_eq!(recv(&dealer).await.frames(), ["back"], "{endpoint}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pub_sub() {
    for endpoint in endpoints("pubsub") {
        let (publisher, subscriber) = pair(SocketType::Pub, SocketType::Sub, &endpoint).await;
        subscriber.subscribe("a").unwrap();
        let got = loop {
            publisher.send("b-not-this").await.unwrap();
            publisher.send("a-this").await.unwrap();
            if let Ok(m) = timeout(Duration::from_millis(20), subscriber.recv()).await {
                break m.unwrap();
            }
        };
        assert_eq!(got.frames(), ["a-this"], "{endpoint}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pair_pair() {
    for endpoint in endpoints("pair") {
        let (a, b) = pair(SocketType::Pair, SocketType::Pair, &endpoint).await;
        b.send("ping").await.unwrap();
        assert_eq!(recv(&a).await.frames(), ["ping"]);
        a.send("pong").await.unwrap();
        assert_eq!(recv(&b).await.frames(), ["pong"], "{endpoint}");
    }
}
