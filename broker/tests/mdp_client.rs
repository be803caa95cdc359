//! The Majordomo client against a raw ROUTER in the broker's place: the frames it
//! sends, the replies it accepts, retries, failover and timeouts.

mod mdp_support;

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use mdp_support::{FakeBroker, LIMIT, dead_endpoint, frames};
use purezmq_broker::client::{BlockingClient, Client, ClientError};
use purezmq_broker::mdp::{Framing, ReplyKind, Version};

fn client(endpoints: &[&str], timeout: Duration, retries: u32) -> Client {
    Client::builder()
        .endpoints(endpoints)
        .timeout(timeout)
        .retries(retries)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_01_request_and_reply_have_rfc_7_frames() {
    let broker = FakeBroker::bind();
    let client = client(&[&broker.endpoint], LIMIT, 0);
    let request = tokio::spawn({
        let client = client.clone();
        async move { client.request("echo", frames(&[b"a", b"", b"b"])).await }
    });
    let received = broker.recv().await;
    let id = received[0].clone();
    assert_eq!(
        received[1..],
        frames(&[b"", b"MDPC01", b"echo", b"a", b"", b"b"])
    );
    broker
        .send(&id, &frames(&[b"", b"MDPC01", b"echo", b"x", b"y"]))
        .await;
    assert_eq!(request.await.unwrap().unwrap(), frames(&[b"x", b"y"]));
}

#[tokio::test]
async fn a_02_request_streams_partials_then_the_final() {
    let broker = FakeBroker::bind();
    let client = Client::builder()
        .endpoint(&broker.endpoint)
        .version(Version::V02)
        .timeout(LIMIT)
        .build()
        .unwrap();
    let stream = client.request_stream("svc", frames(&[b"q"]));
    let collect = tokio::spawn(async move { stream.collect::<Vec<_>>().await });
    let received = broker.recv().await;
    let id = received[0].clone();
    // RFC 18 as written: no empty frame.
    assert_eq!(received[1..], frames(&[b"MDPC02", &[1], b"svc", b"q"]));
    broker
        .send(&id, &frames(&[b"MDPC02", &[2], b"svc", b"one"]))
        .await;
    broker
        .send(&id, &frames(&[b"MDPC02", &[2], b"svc", b"two"]))
        .await;
    broker
        .send(&id, &frames(&[b"MDPC02", &[3], b"svc", b"done"]))
        .await;
    let replies: Vec<_> = collect
        .await
        .unwrap()
        .into_iter()
        .map(|reply| reply.unwrap())
        .collect();
    let kinds: Vec<_> = replies.iter().map(|reply| reply.kind).collect();
    assert_eq!(
        kinds,
        [ReplyKind::Partial, ReplyKind::Partial, ReplyKind::Final]
    );
    let bodies: Vec<_> = replies.iter().map(|reply| reply.body.clone()).collect();
    assert_eq!(
        bodies,
        [frames(&[b"one"]), frames(&[b"two"]), frames(&[b"done"])]
    );
}

#[tokio::test]
async fn a_02_client_can_send_the_leading_empty_frame() {
    let broker = FakeBroker::bind();
    let client = Client::builder()
        .endpoint(&broker.endpoint)
        .version(Version::V02)
        .framing(Framing::Delimited)
        .timeout(LIMIT)
        .build()
        .unwrap();
    let request = tokio::spawn({
        let client = client.clone();
        async move { client.request("svc", vec![]).await }
    });
    let received = broker.recv().await;
    assert_eq!(received[1..], frames(&[b"", b"MDPC02", &[1], b"svc"]));
    // A partial, then the final: request() returns the final's body.
    broker
        .send(&received[0], &frames(&[b"", b"MDPC02", &[2], b"svc", b"p"]))
        .await;
    broker
        .send(&received[0], &frames(&[b"", b"MDPC02", &[3], b"svc", b"f"]))
        .await;
    assert_eq!(request.await.unwrap().unwrap(), frames(&[b"f"]));
}

#[tokio::test]
async fn replies_for_another_service_or_malformed_are_dropped() {
    let broker = FakeBroker::bind();
    let client = client(&[&broker.endpoint], LIMIT, 0);
    let request = tokio::spawn({
        let client = client.clone();
        async move { client.request("echo", frames(&[b"hi"])).await }
    });
    let received = broker.recv().await;
    let id = received[0].clone();
    broker
        .send(&id, &frames(&[b"", b"MDPC01", b"other", b"stale"]))
        .await;
    broker.send(&id, &frames(&[b"", b"NOTMDP", b"junk"])).await;
    broker.send(&id, &frames(&[b"", b"MDPC01"])).await;
    broker
        .send(
            &id,
            &frames(&[b"", b"MDPC02", &[3], b"echo", b"wrong version"]),
        )
        .await;
    broker
        .send(&id, &frames(&[b"", b"MDPC01", b"echo", b"right"]))
        .await;
    assert_eq!(request.await.unwrap().unwrap(), frames(&[b"right"]));
}

#[tokio::test]
async fn a_timeout_after_every_retry_is_a_typed_error_and_each_retry_uses_a_new_socket() {
    let broker = FakeBroker::bind();
    let client = client(&[&broker.endpoint], Duration::from_secs(1), 2);
    let mut request = tokio::spawn({
        let client = client.clone();
        async move { client.request("slow", frames(&[b"x"])).await }
    });
    let mut ids = Vec::new();
    let outcome = loop {
        tokio::select! {
            outcome = &mut request => break outcome.unwrap(),
            received = broker.recv() => {
                assert_eq!(received[1..], frames(&[b"", b"MDPC01", b"slow", b"x"]));
                ids.push(received[0].clone());
            }
        }
    };
    match outcome {
        Err(ClientError::Timeout {
            service,
            after,
            attempts,
        }) => {
            assert_eq!(service, "slow");
            assert_eq!(after, Duration::from_secs(1));
            assert_eq!(attempts, 3);
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    // An attempt's socket is dropped with what it queued, so on a very loaded
    // machine a request may not get out before its timeout; most do.
    assert!(ids.len() >= 2, "{} of 3 attempts arrived", ids.len());
    let sent = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), sent, "each attempt comes from a new socket");
    // Nothing more was sent.
    assert!(
        broker
            .recv_within(Duration::from_millis(300))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn a_retry_goes_to_the_next_broker_when_the_first_is_dead() {
    let dead = dead_endpoint();
    let broker = FakeBroker::bind();
    let client = client(&[&dead, &broker.endpoint], Duration::from_secs(1), 1);
    assert_eq!(client.endpoint().await, dead);
    let request = tokio::spawn({
        let client = client.clone();
        async move { client.request("echo", frames(&[b"one"])).await }
    });
    let received = broker.recv().await;
    broker
        .send(&received[0], &frames(&[b"", b"MDPC01", b"echo", b"one"]))
        .await;
    assert_eq!(request.await.unwrap().unwrap(), frames(&[b"one"]));
    // The client stays with the broker that answers.
    assert_eq!(client.endpoint().await, broker.endpoint);
    let request = tokio::spawn({
        let client = client.clone();
        async move { client.request("echo", frames(&[b"two"])).await }
    });
    let received = broker.recv().await;
    broker
        .send(&received[0], &frames(&[b"", b"MDPC01", b"echo", b"two"]))
        .await;
    assert_eq!(request.await.unwrap().unwrap(), frames(&[b"two"]));
}

#[tokio::test]
async fn when_one_of_two_brokers_stops_answering_requests_go_to_the_other() {
    let first = FakeBroker::bind();
    let second = FakeBroker::bind();
    let client = client(
        &[&first.endpoint, &second.endpoint],
        Duration::from_secs(1),
        3,
    );
    let request = tokio::spawn({
        let client = client.clone();
        async move { client.request("echo", frames(&[b"x"])).await }
    });
    // The first broker takes the request and never answers.
    first.recv().await;
    let received = second.recv().await;
    second
        .send(
            &received[0],
            &frames(&[b"", b"MDPC01", b"echo", b"from second"]),
        )
        .await;
    assert_eq!(request.await.unwrap().unwrap(), frames(&[b"from second"]));
}

#[tokio::test]
async fn has_service_asks_mmi_service() {
    let broker = FakeBroker::bind();
    let client = client(&[&broker.endpoint], LIMIT, 0);
    for (code, expected) in [(&b"200"[..], true), (b"404", false)] {
        let check = tokio::spawn({
            let client = client.clone();
            async move { client.has_service("echo").await }
        });
        let received = broker.recv().await;
        assert_eq!(
            received[1..],
            frames(&[b"", b"MDPC01", b"mmi.service", b"echo"])
        );
        broker
            .send(
                &received[0],
                &frames(&[b"", b"MDPC01", b"mmi.service", code]),
            )
            .await;
        assert_eq!(check.await.unwrap().unwrap(), expected);
    }
    let check = tokio::spawn({
        let client = client.clone();
        async move { client.has_service("echo").await }
    });
    let received = broker.recv().await;
    broker
        .send(
            &received[0],
            &frames(&[b"", b"MDPC01", b"mmi.service", b"501"]),
        )
        .await;
    assert!(matches!(
        check.await.unwrap(),
        Err(ClientError::Mmi { code, .. }) if code == "501"
    ));
}

#[tokio::test]
async fn send_and_recv_keep_several_requests_in_flight() {
    let broker = FakeBroker::bind();
    let client = client(&[&broker.endpoint], LIMIT, 0);
    client.send("a", frames(&[b"1"])).await.unwrap();
    client.send("b", frames(&[b"2"])).await.unwrap();
    let first = broker.recv().await;
    let second = broker.recv().await;
    assert_eq!(first[3..], frames(&[b"a", b"1"]));
    assert_eq!(second[3..], frames(&[b"b", b"2"]));
    // Answered in the other order: recv gives them as they come.
    broker
        .send(&second[0], &frames(&[b"", b"MDPC01", b"b", b"two"]))
        .await;
    broker
        .send(&first[0], &frames(&[b"", b"MDPC01", b"a", b"one"]))
        .await;
    let reply = client.recv().await.unwrap();
    assert_eq!((reply.service, reply.body), ("b".into(), frames(&[b"two"])));
    let reply = client.recv().await.unwrap();
    assert_eq!((reply.service, reply.body), ("a".into(), frames(&[b"one"])));
    // Something that is not MDP is an error for recv (it cannot tell stale from bad).
    broker.send(&first[0], &frames(&[b"junk"])).await;
    assert!(matches!(client.recv().await, Err(ClientError::Protocol(_))));
}

#[tokio::test]
async fn concurrent_requests_take_turns_and_each_gets_its_own_reply() {
    let broker = FakeBroker::bind();
    let client = client(&[&broker.endpoint], LIMIT, 0);
    let first = tokio::spawn({
        let client = client.clone();
        async move { client.request("echo", frames(&[b"first"])).await }
    });
    let received = broker.recv().await;
    assert_eq!(received[3..], frames(&[b"echo", b"first"]));
    let second = tokio::spawn({
        let client = client.clone();
        async move { client.request("echo", frames(&[b"second"])).await }
    });
    // The second request waits for the first's reply before it is sent.
    assert!(
        broker
            .recv_within(Duration::from_millis(300))
            .await
            .is_none()
    );
    broker
        .send(&received[0], &frames(&[b"", b"MDPC01", b"echo", b"first"]))
        .await;
    let received = broker.recv().await;
    assert_eq!(received[3..], frames(&[b"echo", b"second"]));
    broker
        .send(&received[0], &frames(&[b"", b"MDPC01", b"echo", b"second"]))
        .await;
    assert_eq!(first.await.unwrap().unwrap(), frames(&[b"first"]));
    assert_eq!(second.await.unwrap().unwrap(), frames(&[b"second"]));
}

#[tokio::test]
async fn a_timeout_after_a_partial_ends_the_stream_without_a_retry() {
    let broker = FakeBroker::bind();
    let client = Client::builder()
        .endpoint(&broker.endpoint)
        .version(Version::V02)
        .timeout(Duration::from_secs(1))
        .retries(3)
        .build()
        .unwrap();
    let stream = client.request_stream("svc", vec![]);
    let collect = tokio::spawn(async move { stream.collect::<Vec<_>>().await });
    let received = broker.recv().await;
    broker
        .send(&received[0], &frames(&[b"MDPC02", &[2], b"svc", b"part"]))
        .await;
    let items = collect.await.unwrap();
    assert_eq!(items.len(), 2);
    assert!(matches!(&items[0], Ok(reply) if reply.kind == ReplyKind::Partial));
    assert!(matches!(
        &items[1],
        Err(ClientError::Timeout { attempts: 1, .. })
    ));
    assert!(
        broker
            .recv_within(Duration::from_millis(300))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn bad_settings_are_refused_at_build() {
    assert!(matches!(
        Client::builder().build(),
        Err(ClientError::NoEndpoints)
    ));
    assert!(matches!(
        Client::connect("nonsense://x"),
        Err(ClientError::Socket(_))
    ));
    let client = Client::connect(dead_endpoint()).unwrap();
    assert!(matches!(
        client.request("", vec![]).await,
        Err(ClientError::Protocol(_))
    ));
    assert!(matches!(
        client.request(vec![b'x'; 256], vec![]).await,
        Err(ClientError::Protocol(_))
    ));
}

#[test]
fn the_blocking_client_requests_from_a_plain_thread() {
    // The fake broker's connections must run while this thread waits in join().
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let broker = runtime.block_on(async { FakeBroker::bind() });
    let endpoint = broker.endpoint.clone();
    let thread = std::thread::spawn(move || {
        let client =
            BlockingClient::new(Client::builder().endpoint(endpoint).timeout(LIMIT)).unwrap();
        let mut seen = Vec::new();
        let last = client
            .request_each("echo", frames(&[b"hi"]), |reply| seen.push(reply.kind))
            .unwrap();
        (seen, last.body)
    });
    runtime.block_on(async {
        let received = broker.recv().await;
        broker
            .send(&received[0], &frames(&[b"", b"MDPC01", b"echo", b"hi"]))
            .await;
    });
    let (seen, body) = thread.join().unwrap();
    assert_eq!(seen, [ReplyKind::Final]);
    assert_eq!(body, [Bytes::from_static(b"hi")]);
}

#[tokio::test]
async fn an_abandoned_request_cannot_answer_the_next_one() {
    let broker = FakeBroker::bind();
    let client = client(&[&broker.endpoint], LIMIT, 0);
    let abandoned = tokio::spawn({
        let client = client.clone();
        async move { client.request("echo", frames(&[b"old"])).await }
    });
    let old = broker.recv().await;
    abandoned.abort();
    let _ = abandoned.await;
    let next = tokio::spawn({
        let client = client.clone();
        async move { client.request("echo", frames(&[b"new"])).await }
    });
    let new = broker.recv().await;
    assert_ne!(new[0], old[0], "the abandoned request's socket is gone");
    // The late reply to the old request goes nowhere; the new one is answered.
    broker
        .send(&old[0], &frames(&[b"", b"MDPC01", b"echo", b"old"]))
        .await;
    broker
        .send(&new[0], &frames(&[b"", b"MDPC01", b"echo", b"new"]))
        .await;
    assert_eq!(next.await.unwrap().unwrap(), frames(&[b"new"]));
}
