//! The broker against raw ROUTER/DEALER/REQ peers, one test per rule of RFC 7
//! (MDP/0.1), RFC 18 (MDP/0.2) and RFC 8 (MMI) that the broker must keep, plus the
//! queue bounds, the policy hook and CURVE.

use std::time::Duration;

use bytes::Bytes;
use purezmq::auth::{ANY_DOMAIN, Authenticator, CurveKeys};
use purezmq::curve::KeyPair;
use purezmq::{Message, Options, Security, Socket, SocketType};
use purezmq_broker::broker::{
    Broker, BrokerConfig, BrokerHandle, Policy, ReplyView, RequestView, Stats, TokenAuth, Verdict,
};

/// How long a test waits for something that should happen.
const WAIT: Duration = Duration::from_secs(10);

fn config() -> BrokerConfig {
    BrokerConfig::default()
}

fn start(config: BrokerConfig) -> (BrokerHandle, String) {
    start_with(Broker::new(config))
}

fn start_with(broker: Broker) -> (BrokerHandle, String) {
    let handle = broker.bind("tcp://127.0.0.1:*").spawn().unwrap();
    let endpoint = handle.endpoints()[0].clone();
    (handle, endpoint)
}

/// A message's frames, spelled out.
type Parts<'a> = &'a [&'a [u8]];

fn msg(parts: &[&[u8]]) -> Message {
    parts.iter().map(|p| Bytes::copy_from_slice(p)).collect()
}

fn frames(parts: &[&[u8]]) -> Vec<Bytes> {
    parts.iter().map(|p| Bytes::copy_from_slice(p)).collect()
}

fn connect(socket_type: SocketType, endpoint: &str) -> Socket {
    let socket = Socket::new(socket_type);
    socket.connect(endpoint).unwrap();
    socket
}

async fn recv(socket: &Socket) -> Vec<Bytes> {
    tokio::time::timeout(WAIT, socket.recv())
        .await
        .expect("nothing arrived in time")
        .unwrap()
        .into_frames()
}

/// Receives, skipping heartbeats.
async fn recv_command(socket: &Socket) -> Vec<Bytes> {
    loop {
        let frames = recv(socket).await;
        if !is_heartbeat(&frames) {
            return frames;
        }
    }
}

fn is_heartbeat(frames: &[Bytes]) -> bool {
    frames == frames_of(&[b"", b"MDPW01", &[4]])
        || frames == frames_of(&[b"MDPW02", &[5]])
        || frames == frames_of(&[b"", b"MDPW02", &[5]])
}

fn frames_of(parts: &[&[u8]]) -> Vec<Bytes> {
    frames(parts)
}

/// Polls the broker's counters until `done` holds.
async fn until(handle: &BrokerHandle, what: &str, done: impl Fn(&Stats) -> bool) -> Stats {
    let start = tokio::time::Instant::now();
    loop {
        let stats = handle.stats();
        if done(&stats) {
            return stats;
        }
        assert!(
            start.elapsed() < WAIT,
            "timed out waiting for {what}: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn ready(endpoint: &str, header: &[u8], delimited: bool, service: &str) -> Socket {
    let worker = connect(SocketType::Dealer, endpoint);
    let mut parts: Vec<&[u8]> = Vec::new();
    if delimited {
        parts.push(b"");
    }
    parts.push(header);
    parts.push(&[1]);
    parts.push(service.as_bytes());
    worker.send(msg(&parts)).await.unwrap();
    worker
}

async fn workers_of(handle: &BrokerHandle, service: &str, count: u64) {
    until(handle, &format!("{count} worker(s) for {service}"), |s| {
        s.service(service.as_bytes())
            .map_or(count == 0, |s| s.workers == count)
    })
    .await;
}

/// Takes a request as a worker: returns the client address and the body.
async fn take_request(worker: &Socket, delimited: bool) -> (Bytes, Vec<Bytes>) {
    let frames = recv_command(worker).await;
    let skip = usize::from(delimited);
    assert!(
        frames[skip + 1].as_ref() == [2],
        "not a REQUEST: {frames:?}"
    );
    assert_eq!(frames[skip + 3], "", "no empty frame after the address");
    (frames[skip + 2].clone(), frames[skip + 4..].to_vec())
}

/// Asserts that nothing reaches `socket` while `witness`, an MDP/0.1 worker, gets
/// (and answers) `beats` heartbeats: the broker's heartbeat tick has run that many
/// times meanwhile.
async fn silent_while_other_beats(socket: &Socket, witness: &Socket, beats: usize) {
    let mut seen = 0;
    while seen < beats {
        let frames = recv(witness).await;
        if is_heartbeat(&frames) {
            seen += 1;
            witness.send(msg(&[b"", b"MDPW01", &[4]])).await.unwrap();
        }
    }
    let got = socket.try_recv().unwrap();
    assert!(got.is_none(), "sent after DISCONNECT: {got:?}");
}

fn short_heartbeat() -> BrokerConfig {
    BrokerConfig {
        heartbeat: Duration::from_millis(50),
        liveness: 3,
        ..BrokerConfig::default()
    }
}

#[tokio::test]
async fn v01_req_client_and_worker_round_trip() {
    let (broker, endpoint) = start(config());
    let worker = ready(&endpoint, b"MDPW01", true, "echo").await;
    workers_of(&broker, "echo", 1).await;
    let client = connect(SocketType::Req, &endpoint);
    client
        .send(msg(&[b"MDPC01", b"echo", b"hello", b""]))
        .await
        .unwrap();
    let (address, body) = take_request(&worker, true).await;
    assert_eq!(body, frames(&[b"hello", b""]));
    worker
        .send(msg(&[b"", b"MDPW01", &[3], &address, b"", b"world"]))
        .await
        .unwrap();
    assert_eq!(recv(&client).await, frames(&[b"MDPC01", b"echo", b"world"]));
    broker.stop().await.unwrap();
}

#[tokio::test]
async fn v01_dealer_client_with_several_requests_in_flight() {
    let (broker, endpoint) = start(config());
    let worker = ready(&endpoint, b"MDPW01", true, "echo").await;
    workers_of(&broker, "echo", 1).await;
    let client = connect(SocketType::Dealer, &endpoint);
    for body in [b"1", b"2", b"3"] {
        client
            .send(msg(&[b"", b"MDPC01", b"echo", body]))
            .await
            .unwrap();
    }
    for _ in 0..3 {
        let (address, body) = take_request(&worker, true).await;
        let mut reply: Vec<&[u8]> = vec![b"", b"MDPW01", &[3], &address, b""];
        reply.extend(body.iter().map(|b| b.as_ref()));
        worker.send(msg(&reply)).await.unwrap();
    }
    for body in [b"1", b"2", b"3"] {
        assert_eq!(
            recv(&client).await,
            frames(&[b"", b"MDPC01", b"echo", body])
        );
    }
    broker.stop().await.unwrap();
}

#[tokio::test]
async fn v02_partials_and_final_mirror_each_peers_framing() {
    let (broker, endpoint) = start(config());
    for (worker_delimited, client_delimited) in
        [(false, false), (true, false), (false, true), (true, true)]
    {
        let worker = ready(&endpoint, b"MDPW02", worker_delimited, "stream").await;
        workers_of(&broker, "stream", 1).await;
        let client = connect(SocketType::Dealer, &endpoint);
        let head: &[&[u8]] = if client_delimited {
            &[b"", b"MDPC02"]
        } else {
            &[b"MDPC02"]
        };
        let mut request = head.to_vec();
        request.extend([&[1u8][..], b"stream", b"go"]);
        client.send(msg(&request)).await.unwrap();
        let (address, body) = take_request(&worker, worker_delimited).await;
        assert_eq!(body, frames(&[b"go"]));
        let lead: &[&[u8]] = if worker_delimited {
            &[b"", b"MDPW02"]
        } else {
            &[b"MDPW02"]
        };
        for (command, text) in [(3u8, &b"part"[..]), (4u8, &b"last"[..])] {
            let mut reply = lead.to_vec();
            let command = [command];
            reply.extend([&command[..], &address, b"", text]);
            worker.send(msg(&reply)).await.unwrap();
        }
        for (command, text) in [(2u8, &b"part"[..]), (3u8, &b"last"[..])] {
            let mut expected = head.to_vec();
            let command = [command];
            expected.extend([&command[..], b"stream", text]);
            assert_eq!(recv(&client).await, frames(&expected));
        }
        // Leave, so the next round's worker is the only one.
        let mut bye = lead.to_vec();
        bye.push(&[6]);
        worker.send(msg(&bye)).await.unwrap();
        workers_of(&broker, "stream", 0).await;
    }
    broker.stop().await.unwrap();
}

#[tokio::test]
async fn a_partial_for_a_v01_client_is_dropped_and_counted() {
    let (broker, endpoint) = start(config());
    let worker = ready(&endpoint, b"MDPW02", false, "s").await;
    workers_of(&broker, "s", 1).await;
    let client = connect(SocketType::Req, &endpoint);
    client.send(msg(&[b"MDPC01", b"s", b"x"])).await.unwrap();
    let (address, _) = take_request(&worker, false).await;
    worker
        .send(msg(&[b"MDPW02", &[3], &address, b"", b"part"]))
        .await
        .unwrap();
    worker
        .send(msg(&[b"MDPW02", &[4], &address, b"", b"all"]))
        .await
        .unwrap();
    assert_eq!(recv(&client).await, frames(&[b"MDPC01", b"s", b"all"]));
    let stats = until(&broker, "the counters", |s| s.totals.replies == 1).await;
    assert_eq!(stats.totals.partials_dropped, 1);
    broker.stop().await.unwrap();
}

#[tokio::test]
async fn mmi_service_services_workers_and_501() {
    let (broker, endpoint) = start(config());
    let _a = ready(&endpoint, b"MDPW01", true, "echo").await;
    let _b = ready(&endpoint, b"MDPW02", false, "echo").await;
    let _c = ready(&endpoint, b"MDPW02", false, "alpha").await;
    workers_of(&broker, "echo", 2).await;
    workers_of(&broker, "alpha", 1).await;
    let client = connect(SocketType::Req, &endpoint);
    let cases: [(Parts, Parts); 5] = [
        (
            &[b"MDPC01", b"mmi.service", b"echo"],
            &[b"MDPC01", b"mmi.service", b"200"],
        ),
        (
            &[b"MDPC01", b"mmi.service", b"nobody"],
            &[b"MDPC01", b"mmi.service", b"404"],
        ),
        (
            &[b"MDPC01", b"mmi.services"],
            &[b"MDPC01", b"mmi.services", b"200", b"alpha", b"echo"],
        ),
        (
            &[b"MDPC01", b"mmi.workers", b"echo"],
            &[b"MDPC01", b"mmi.workers", b"200", b"2"],
        ),
        (
            &[b"MDPC01", b"mmi.teapot"],
            &[b"MDPC01", b"mmi.teapot", b"501"],
        ),
    ];
    for (request, reply) in cases {
        client.send(msg(request)).await.unwrap();
        assert_eq!(recv(&client).await, frames(reply));
    }
    let v02 = connect(SocketType::Dealer, &endpoint);
    v02.send(msg(&[b"MDPC02", &[1], b"mmi.service", b"alpha"]))
        .await
        .unwrap();
    assert_eq!(
        recv(&v02).await,
        frames(&[b"MDPC02", &[3], b"mmi.service", b"200"])
    );
    broker.stop().await.unwrap();
}

#[tokio::test]
async fn a_worker_offering_an_mmi_service_gets_disconnect() {
    let (broker, endpoint) = start(config());
    let worker = ready(&endpoint, b"MDPW01", true, "mmi.service").await;
    assert_eq!(recv(&worker).await, frames(&[b"", b"MDPW01", &[5]]));
    let client = connect(SocketType::Req, &endpoint);
    client
        .send(msg(&[b"MDPC01", b"mmi.service", b"mmi.service"]))
        .await
        .unwrap();
    assert_eq!(
        recv(&client).await,
        frames(&[b"MDPC01", b"mmi.service", b"404"])
    );
    broker.stop().await.unwrap();
}

#[tokio::test]
async fn the_broker_heartbeats_and_expires_a_silent_worker() {
    let (broker, endpoint) = start(short_heartbeat());
    let worker = ready(&endpoint, b"MDPW02", false, "s").await;
    workers_of(&broker, "s", 1).await;
    // Heartbeats arrive, in the worker's version and framing.
    for _ in 0..2 {
        assert_eq!(recv(&worker).await, frames(&[b"MDPW02", &[5]]));
    }
    // The worker says nothing back: it is removed after heartbeat × liveness.
    let stats = until(&broker, "the worker's expiry", |s| s.workers_expired == 1).await;
    assert_eq!(stats.totals.workers, 0);
    let client = connect(SocketType::Req, &endpoint);
    client
        .send(msg(&[b"MDPC01", b"mmi.service", b"s"]))
        .await
        .unwrap();
    assert_eq!(
        recv(&client).await,
        frames(&[b"MDPC01", b"mmi.service", b"404"])
    );
    broker.stop().await.unwrap();
}

#[tokio::test]
async fn a_worker_that_heartbeats_stays() {
    let (broker, endpoint) = start(short_heartbeat());
    let worker = ready(&endpoint, b"MDPW01", true, "s").await;
    workers_of(&broker, "s", 1).await;
    for _ in 0..10 {
        assert!(is_heartbeat(&recv(&worker).await));
        worker.send(msg(&[b"", b"MDPW01", &[4]])).await.unwrap();
    }
    assert_eq!(broker.stats().workers_expired, 0);
    assert_eq!(broker.stats().service(b"s").unwrap().workers, 1);
    broker.stop().await.unwrap();
}

/// Sends `command` from a fresh DEALER (after `setup`), expects DISCONNECT in
/// `expected`, then nothing more while a witness worker gets heartbeats.
async fn disconnect_then_silence(setup: &[&[&[u8]]], command: &[&[u8]], expected: &[&[u8]]) {
    let (broker, endpoint) = start(short_heartbeat());
    let witness = ready(&endpoint, b"MDPW01", true, "witness").await;
    workers_of(&broker, "witness", 1).await;
    let peer = connect(SocketType::Dealer, &endpoint);
    for message in setup {
        peer.send(msg(message)).await.unwrap();
    }
    peer.send(msg(command)).await.unwrap();
    assert_eq!(recv_command(&peer).await, frames(expected));
    until(&broker, "the DISCONNECT", |s| s.disconnects_sent == 1).await;
    // Drain heartbeats sent before the DISCONNECT.
    while peer.try_recv().unwrap().is_some() {}
    silent_while_other_beats(&peer, &witness, 4).await;
    assert_eq!(broker.stats().totals.workers, 1, "only the witness is left");
    broker.stop().await.unwrap();
}

#[tokio::test]
async fn heartbeat_before_ready_gets_disconnect_then_silence() {
    disconnect_then_silence(&[], &[b"", b"MDPW01", &[4]], &[b"", b"MDPW01", &[5]]).await;
    disconnect_then_silence(&[], &[b"MDPW02", &[5]], &[b"MDPW02", &[6]]).await;
}

#[tokio::test]
async fn a_reply_before_ready_gets_disconnect_then_silence() {
    disconnect_then_silence(
        &[],
        &[b"", b"MDPW01", &[3], b"client", b"", b"x"],
        &[b"", b"MDPW01", &[5]],
    )
    .await;
    disconnect_then_silence(
        &[],
        &[b"MDPW02", &[3], b"client", b"", b"x"],
        &[b"MDPW02", &[6]],
    )
    .await;
}

#[tokio::test]
async fn a_second_ready_gets_disconnect_then_silence() {
    let ready: &[&[u8]] = &[b"", b"MDPW01", &[1], b"s"];
    disconnect_then_silence(&[ready], ready, &[b"", b"MDPW01", &[5]]).await;
}

#[tokio::test]
async fn a_reply_with_no_request_in_flight_gets_disconnect_then_silence() {
    let ready: &[&[u8]] = &[b"", b"MDPW02", &[1], b"s"];
    disconnect_then_silence(
        &[ready],
        &[b"", b"MDPW02", &[4], b"client", b"", b"x"],
        &[b"", b"MDPW02", &[6]],
    )
    .await;
}

#[tokio::test]
async fn after_a_worker_s_disconnect_nothing_is_sent_to_it() {
    let (broker, endpoint) = start(short_heartbeat());
    let witness = ready(&endpoint, b"MDPW01", true, "witness").await;
    let worker = ready(&endpoint, b"MDPW01", true, "s").await;
    workers_of(&broker, "s", 1).await;
    worker.send(msg(&[b"", b"MDPW01", &[5]])).await.unwrap();
    workers_of(&broker, "s", 0).await;
    while worker.try_recv().unwrap().is_some() {}
    // A request for its service now waits in the queue instead.
    let client = connect(SocketType::Req, &endpoint);
    client.send(msg(&[b"MDPC01", b"s", b"x"])).await.unwrap();
    until(&broker, "the queued request", |s| {
        s.service(b"s").is_some_and(|s| s.queued == 1)
    })
    .await;
    silent_while_other_beats(&worker, &witness, 4).await;
    assert_eq!(broker.stats().disconnects_sent, 0);
    broker.stop().await.unwrap();
}

#[tokio::test]
async fn malformed_messages_are_dropped_counted_and_others_still_served() {
    let (broker, endpoint) = start(config());
    let worker = ready(&endpoint, b"MDPW01", true, "echo").await;
    workers_of(&broker, "echo", 1).await;
    let rogue = connect(SocketType::Dealer, &endpoint);
    let garbage: [&[&[u8]]; 6] = [
        &[b"GET / HTTP/1.0"],
        &[b"MDPC01", b"echo", b"no empty frame"],
        &[b"", b"MDPC02", &[9], b"echo"],
        &[b"", b"MDPW01", &[3], b"client", b"no delimiter"],
        &[b"", b"MDPC01", &[b'x'; 300]],
        &[b"", b"MDPW01", &[1], b"echo", b"extra"],
    ];
    for message in garbage {
        rogue.send(msg(message)).await.unwrap();
    }
    until(&broker, "the malformed count", |s| s.malformed == 6).await;
    let client = connect(SocketType::Req, &endpoint);
    client
        .send(msg(&[b"MDPC01", b"echo", b"ok"]))
        .await
        .unwrap();
    let (address, body) = take_request(&worker, true).await;
    assert_eq!(body, frames(&[b"ok"]));
    worker
        .send(msg(&[b"", b"MDPW01", &[3], &address, b"", b"ok"]))
        .await
        .unwrap();
    assert_eq!(recv(&client).await, frames(&[b"MDPC01", b"echo", b"ok"]));
    assert!(
        rogue.try_recv().unwrap().is_none(),
        "malformed input gets no answer"
    );
    assert_eq!(broker.stats().disconnects_sent, 0);
    broker.stop().await.unwrap();
}

#[tokio::test]
async fn a_request_goes_back_to_the_queue_when_its_worker_leaves_mid_request() {
    let (broker, endpoint) = start(config());
    let first = ready(&endpoint, b"MDPW02", false, "job").await;
    workers_of(&broker, "job", 1).await;
    let client = connect(SocketType::Dealer, &endpoint);
    client
        .send(msg(&[b"MDPC02", &[1], b"job", b"work"]))
        .await
        .unwrap();
    let _ = take_request(&first, false).await;
    first.send(msg(&[b"MDPW02", &[6]])).await.unwrap();
    until(&broker, "the requeue", |s| s.totals.requeued == 1).await;
    let second = ready(&endpoint, b"MDPW02", false, "job").await;
    let (address, body) = take_request(&second, false).await;
    assert_eq!(body, frames(&[b"work"]));
    second
        .send(msg(&[b"MDPW02", &[4], &address, b"", b"done"]))
        .await
        .unwrap();
    assert_eq!(
        recv(&client).await,
        frames(&[b"MDPC02", &[3], b"job", b"done"])
    );
    broker.stop().await.unwrap();
}

#[tokio::test]
async fn a_request_goes_to_another_worker_when_its_worker_dies_mid_request() {
    let (broker, endpoint) = start(short_heartbeat());
    let doomed = ready(&endpoint, b"MDPW01", true, "job").await;
    workers_of(&broker, "job", 1).await;
    let client = connect(SocketType::Req, &endpoint);
    client
        .send(msg(&[b"MDPC01", b"job", b"work"]))
        .await
        .unwrap();
    let _ = take_request(&doomed, true).await;
    let survivor = ready(&endpoint, b"MDPW01", true, "job").await;
    workers_of(&broker, "job", 2).await;
    drop(doomed); // the process dies: no DISCONNECT, only silence
    // The survivor heartbeats back until it gets the request.
    let start = tokio::time::Instant::now();
    let (address, body) = loop {
        assert!(start.elapsed() < WAIT, "the request never came back");
        let frames = recv(&survivor).await;
        if is_heartbeat(&frames) {
            survivor.send(msg(&[b"", b"MDPW01", &[4]])).await.unwrap();
            continue;
        }
        break (frames[3].clone(), frames[5..].to_vec());
    };
    assert_eq!(body, frames(&[b"work"]));
    survivor
        .send(msg(&[b"", b"MDPW01", &[3], &address, b"", b"done"]))
        .await
        .unwrap();
    assert_eq!(recv(&client).await, frames(&[b"MDPC01", b"job", b"done"]));
    until(&broker, "the lost worker's counters", |s| {
        (s.workers_expired, s.totals.workers_lost, s.totals.requeued) == (1, 1, 1)
    })
    .await;
    broker.stop().await.unwrap();
}

#[tokio::test]
async fn a_full_queue_drops_and_queued_requests_expire() {
    let (broker, endpoint) = start(BrokerConfig {
        max_queue: 2,
        request_ttl: Duration::from_millis(300),
        ..BrokerConfig::default()
    });
    let client = connect(SocketType::Dealer, &endpoint);
    for body in [b"1", b"2", b"3"] {
        client
            .send(msg(&[b"", b"MDPC01", b"nobody", body]))
            .await
            .unwrap();
    }
    let stats = until(&broker, "the drop", |s| s.totals.dropped == 1).await;
    assert_eq!(stats.totals.requests, 2);
    let stats = until(&broker, "the expiry", |s| s.totals.expired == 2).await;
    assert!(
        stats.services.is_empty(),
        "the unknown service is forgotten"
    );
    // A worker arriving now gets nothing.
    let late = ready(&endpoint, b"MDPW01", true, "nobody").await;
    workers_of(&broker, "nobody", 1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(late.try_recv().unwrap().is_none());
    assert!(client.try_recv().unwrap().is_none());
    broker.stop().await.unwrap();
}

#[tokio::test]
async fn token_auth_rejects_unknown_tokens_with_401() {
    let (broker, endpoint) = start_with(Broker::new(config()).policy(TokenAuth::new(["s3cret"])));
    let worker = ready(&endpoint, b"MDPW01", true, "echo").await;
    workers_of(&broker, "echo", 1).await;
    let client = connect(SocketType::Req, &endpoint);
    client
        .send(msg(&[b"MDPC01", b"echo", b"guess", b"x"]))
        .await
        .unwrap();
    assert_eq!(
        recv(&client).await,
        frames(&[b"MDPC01", b"echo", b"401", b"unauthorized: unknown token"])
    );
    client
        .send(msg(&[b"MDPC01", b"echo", b"s3cret", b"x"]))
        .await
        .unwrap();
    let (_, body) = take_request(&worker, true).await;
    assert_eq!(body, frames(&[b"s3cret", b"x"]));
    until(&broker, "the rejection", |s| {
        s.service(b"echo").is_some_and(|s| s.rejected == 1)
    })
    .await;
    broker.stop().await.unwrap();
}

/// Discards requests whose first frame is "drop" and replies whose first is "hide".
struct Discarding;

impl Policy for Discarding {
    fn on_request(&mut self, request: &RequestView<'_>) -> Verdict {
        if request.body.first().is_some_and(|f| f == "drop") {
            Verdict::Discard
        } else {
            Verdict::Forward
        }
    }

    fn on_reply(&mut self, reply: &ReplyView<'_>) -> Verdict {
        if reply.body.first().is_some_and(|f| f == "hide") {
            Verdict::Discard
        } else {
            Verdict::Forward
        }
    }
}

#[tokio::test]
async fn a_policy_discards_requests_and_replies() {
    let (broker, endpoint) = start_with(Broker::new(config()).policy(Discarding));
    let worker = ready(&endpoint, b"MDPW02", false, "s").await;
    workers_of(&broker, "s", 1).await;
    let client = connect(SocketType::Dealer, &endpoint);
    client
        .send(msg(&[b"MDPC02", &[1], b"s", b"drop"]))
        .await
        .unwrap();
    client
        .send(msg(&[b"MDPC02", &[1], b"s", b"keep"]))
        .await
        .unwrap();
    let (address, body) = take_request(&worker, false).await;
    assert_eq!(body, frames(&[b"keep"]));
    worker
        .send(msg(&[b"MDPW02", &[3], &address, b"", b"hide"]))
        .await
        .unwrap();
    worker
        .send(msg(&[b"MDPW02", &[4], &address, b"", b"shown"]))
        .await
        .unwrap();
    assert_eq!(
        recv(&client).await,
        frames(&[b"MDPC02", &[3], b"s", b"shown"])
    );
    until(&broker, "the discards", |s| s.totals.discarded == 2).await;
    broker.stop().await.unwrap();
}

#[tokio::test]
async fn curve_admits_a_listed_client_key_and_refuses_another() {
    let server = KeyPair::generate();
    let allowed = KeyPair::generate();
    let stranger = KeyPair::generate();
    let authenticator = Authenticator::new();
    authenticator.configure_curve(ANY_DOMAIN, CurveKeys::only([*allowed.public()]));
    let options = Options {
        security: Security::CurveServer {
            keypair: server.clone(),
        },
        ..Options::default()
    };
    let (broker, endpoint) = start_with(
        Broker::new(config())
            .options(options)
            .zap_handler(authenticator),
    );
    let secured = |keypair: &KeyPair| {
        let options = Options {
            security: Security::CurveClient {
                keypair: keypair.clone(),
                server_key: *server.public(),
            },
            ..Options::default()
        };
        let socket = Socket::with_options(SocketType::Dealer, options).unwrap();
        socket.connect(&endpoint).unwrap();
        socket
    };
    let worker = secured(&allowed);
    worker
        .send(msg(&[b"", b"MDPW01", &[1], b"echo"]))
        .await
        .unwrap();
    workers_of(&broker, "echo", 1).await;

    let intruder = secured(&stranger);
    intruder
        .send(msg(&[b"", b"MDPC01", b"echo", b"let me in"]))
        .await
        .unwrap();
    let client = secured(&allowed);
    client
        .send(msg(&[b"", b"MDPC01", b"echo", b"hello"]))
        .await
        .unwrap();
    let (address, body) = take_request(&worker, true).await;
    assert_eq!(body, frames(&[b"hello"]));
    worker
        .send(msg(&[b"", b"MDPW01", &[3], &address, b"", b"hi"]))
        .await
        .unwrap();
    assert_eq!(
        recv(&client).await,
        frames(&[b"", b"MDPC01", b"echo", b"hi"])
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(intruder.try_recv().unwrap().is_none());
    assert_eq!(
        broker.stats().totals.requests,
        1,
        "only the listed key got in"
    );
    broker.stop().await.unwrap();
}

#[tokio::test]
async fn a_plain_client_cannot_talk_to_a_curve_broker() {
    let server = KeyPair::generate();
    let options = Options {
        security: Security::CurveServer { keypair: server },
        ..Options::default()
    };
    let (broker, endpoint) = start_with(Broker::new(config()).options(options));
    let client = connect(SocketType::Dealer, &endpoint);
    client
        .send(msg(&[b"", b"MDPC01", b"mmi.service", b"x"]))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(client.try_recv().unwrap().is_none());
    assert_eq!(broker.stats().mmi, 0);
    broker.stop().await.unwrap();
}

#[tokio::test]
async fn several_endpoints_serve_one_broker() {
    let handle = Broker::new(config())
        .bind("tcp://127.0.0.1:*")
        .bind("inproc://mdp-conformance-two")
        .spawn()
        .unwrap();
    assert_eq!(handle.endpoints().len(), 2);
    let worker = ready(&handle.endpoints()[0], b"MDPW01", true, "echo").await;
    workers_of(&handle, "echo", 1).await;
    let client = connect(SocketType::Req, "inproc://mdp-conformance-two");
    client.send(msg(&[b"MDPC01", b"echo", b"x"])).await.unwrap();
    let (address, _) = take_request(&worker, true).await;
    worker
        .send(msg(&[b"", b"MDPW01", &[3], &address, b"", b"y"]))
        .await
        .unwrap();
    assert_eq!(recv(&client).await, frames(&[b"MDPC01", b"echo", b"y"]));
    handle.stop().await.unwrap();
}

#[tokio::test]
async fn run_serves_until_its_shutdown_future_resolves() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("tcp://127.0.0.1:{port}");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(
        Broker::new(config())
            .bind(endpoint.clone())
            .run(async move {
                let _ = stopped.await;
            }),
    );
    let client = connect(SocketType::Req, &endpoint);
    client
        .send(msg(&[b"MDPC01", b"mmi.service", b"echo"]))
        .await
        .unwrap();
    assert_eq!(
        recv(&client).await,
        frames(&[b"MDPC01", b"mmi.service", b"404"])
    );
    stop.send(()).unwrap();
    tokio::time::timeout(WAIT, running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
