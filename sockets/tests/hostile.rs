//! Hostile peers over raw TCP against a purezmq socket: a bad greeting, a frame
//! announcing 2^63 bytes, garbage after the handshake, a message over MAXMSGSIZE, a
//! subscriber that never reads. Each time the socket survives, the monitor says why
//! the peer was dropped, and a well-behaved peer goes on being served.

mod common;

use std::time::Duration;

use common::*;
use purezmq::monitor::{Event, EventKind, Monitor};
use purezmq::{Socket, SocketType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A ROUTER on tcp with its monitor.
fn router(maxmsgsize: Option<u64>) -> (Socket, Monitor, String) {
    let router = socket_with(SocketType::Router, |o| o.maxmsgsize = maxmsgsize);
    let monitor = router.monitor();
    let endpoint = bind(&router, Transport::Tcp, "hostile");
    (router, monitor, endpoint)
}

/// Waits for the event saying why the peer was dropped, then DISCONNECTED.
async fn dropped(monitor: &mut Monitor, why: impl Fn(&EventKind) -> bool) -> Event {
    let event = wait_event(monitor, |k| {
        matches!(
            k,
            EventKind::HandshakeFailedProtocol(_)
                | EventKind::HandshakeFailedNoDetail(_)
                | EventKind::ProtocolError(_)
        )
    })
    .await;
    assert!(
        why(&event.kind),
        "dropped for another reason: {}",
        event.kind
    );
    wait_event(monitor, |k| *k == EventKind::Disconnected).await;
    event
}

/// The peer's end of the connection is closed: reading gives end of stream (or a
/// reset) within [`WAIT`].
async fn closed_by_peer(stream: &mut TcpStream) {
    let mut buffer = [0; 1024];
    loop {
        match tokio::time::timeout(WAIT, stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => return,
            Ok(Ok(_)) => continue,
            Err(_) => panic!("the connection is still open"),
        }
    }
}

/// The ROUTER still serves a well-behaved DEALER. Each call's DEALER has a routing id
/// of its own: the ROUTER may not yet have seen the previous one go, and would refuse
/// a second peer with the same id.
async fn still_serves(router: &Socket, endpoint: &str) {
    static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let id = format!(
        "good-{}",
        CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let dealer = socket_with(SocketType::Dealer, |o| o.routing_id = id.clone().into());
    dealer.connect(endpoint).unwrap();
    send(&dealer, &["hello"]).await;
    expect(router, &[&id, "hello"]).await;
    send(router, &[&id, "world"]).await;
    expect(&dealer, &["world"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_greeting() {
    let (router, mut monitor, endpoint) = router(None);
    let mut stream = TcpStream::connect(endpoint.strip_prefix("tcp://").unwrap())
        .await
        .unwrap();
    let http = b"GET / HTTP/1.1\r\nHost: example\r\n\r\n";
    stream
        .write_all(&[&http[..], &[0u8; 64][..]].concat())
        .await
        .unwrap();
    dropped(&mut monitor, |k| {
        matches!(k, EventKind::HandshakeFailedProtocol(_))
    })
    .await;
    closed_by_peer(&mut stream).await;
    still_serves(&router, &endpoint).await;
}

/// A frame announcing 2^63 bytes allocates nothing and does not stop the socket
/// serving others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frame_announcing_2_pow_63_bytes_harms_nobody() {
    let (router, _monitor, endpoint) = router(None);
    let mut stream = raw_handshake(&endpoint, READY_DEALER).await;
    let mut frame = vec![0x02];
    frame.extend((1u64 << 63).to_be_bytes());
    stream.write_all(&frame).await.unwrap();
    still_serves(&router, &endpoint).await;
}

/// libzmq refuses a size over 2^63 - 1 as a protocol error (EPROTO) and drops the
/// peer at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frame_announcing_2_pow_63_bytes_is_refused() {
    let (router, mut monitor, endpoint) = router(None);
    let mut stream = raw_handshake(&endpoint, READY_DEALER).await;
    let mut frame = vec![0x02];
    frame.extend((1u64 << 63).to_be_bytes());
    stream.write_all(&frame).await.unwrap();
    dropped(&mut monitor, |k| matches!(k, EventKind::ProtocolError(_))).await;
    closed_by_peer(&mut stream).await;
    still_serves(&router, &endpoint).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_after_handshake() {
    let (router, mut monitor, endpoint) = router(None);
    let mut stream = raw_handshake(&endpoint, READY_DEALER).await;
    // A valid message first, which is delivered; then flags with reserved bits set.
    stream.write_all(b"\x00\x02ok").await.unwrap();
    expect(&router, &["client", "ok"]).await;
    stream.write_all(&[0xf8; 64]).await.unwrap();
    dropped(&mut monitor, |k| matches!(k, EventKind::ProtocolError(_))).await;
    closed_by_peer(&mut stream).await;
    still_serves(&router, &endpoint).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_over_maxmsgsize() {
    let (router, mut monitor, endpoint) = router(Some(1000));
    let mut stream = raw_handshake(&endpoint, READY_DEALER).await;
    // Exactly the limit is fine.
    let mut frame = vec![0x02];
    frame.extend(1000u64.to_be_bytes());
    frame.extend([b'a'; 1000]);
    stream.write_all(&frame).await.unwrap();
    let m = recv(&router).await;
    assert_eq!(m.frames()[1].len(), 1000);
    // One byte over is not: the peer is dropped as soon as the size is read.
    let mut frame = vec![0x02];
    frame.extend(1001u64.to_be_bytes());
    stream.write_all(&frame).await.unwrap();
    dropped(&mut monitor, |k| matches!(k, EventKind::ProtocolError(_))).await;
    closed_by_peer(&mut stream).await;
    still_serves(&router, &endpoint).await;

    // A purezmq peer that sends too much is dropped the same way.
    let big = socket(SocketType::Dealer);
    big.connect(&endpoint).unwrap();
    big.send(vec![b'b'; 1001]).await.unwrap();
    dropped(&mut monitor, |k| matches!(k, EventKind::ProtocolError(_))).await;
    still_serves(&router, &endpoint).await;
}

/// A subscriber that never reads is muted at the PUB's SNDHWM: the PUB's sends never
/// wait, what that subscriber cannot take is dropped (so the PUB's memory stays
/// bounded), and a subscriber that reads gets everything at full rate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriber_that_stops_reading() {
    let publisher = socket_with(SocketType::Pub, |o| o.sndhwm = 1000);
    let mut monitor = publisher.monitor();
    let endpoint = bind(&publisher, Transport::Tcp, "hostile-pub");

    let mut stuck = raw_handshake(&endpoint, READY_SUB).await;
    stuck.write_all(SUBSCRIBE_ALL).await.unwrap();
    let good = socket_with(SocketType::Sub, |o| o.rcvhwm = 0);
    good.subscribe("").unwrap();
    good.connect(&endpoint).unwrap();
    handshakes(&mut monitor, Transport::Tcp, 2).await;
    // Both subscriptions are in once a probe reaches the good subscriber.
    loop {
        publisher.send("probe").await.unwrap();
        if tokio::time::timeout(Duration::from_millis(10), good.recv())
            .await
            .is_ok()
        {
            break;
        }
    }
    drain(&good, Duration::from_millis(20)).await;

    let reader = {
        let good = good.clone();
        tokio::spawn(async move {
            let mut count = 0usize;
            loop {
                let m = recv(&good).await;
                if m.frames() == ["end"] {
                    return count;
                }
                count += 1;
            }
        })
    };
    const MESSAGES: usize = 20_000;
    let body = bytes::Bytes::from(vec![b'x'; 1024]);
    let started = std::time::Instant::now();
    for i in 0..MESSAGES {
        tokio::time::timeout(Duration::from_secs(1), publisher.send(body.clone()))
            .await
            .expect("a PUB send never waits")
            .unwrap();
        if i % 500 == 499 {
            // Pace like a real feed, so a subscriber that reads keeps up: the
            // subscriber that does not must not slow it down.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    // The end marker too may meet a full queue and be dropped: repeat it.
    let mut reader = reader;
    let received = loop {
        send(&publisher, &["end"]).await;
        if let Ok(done) = tokio::time::timeout(Duration::from_millis(10), &mut reader).await {
            break done.unwrap();
        }
        assert!(started.elapsed() < WAIT * 2, "end never arrived");
    };
    assert!(
        received >= MESSAGES * 9 / 10,
        "the good subscriber got {received} of {MESSAGES} in {:?}",
        started.elapsed()
    );
    // The stuck subscriber's connection is still open: it is muted, not dropped.
    let mut byte = [0; 1];
    let peek = tokio::time::timeout(Duration::from_millis(10), stuck.peek(&mut byte)).await;
    assert!(matches!(peek, Ok(Ok(1))), "{peek:?}");
}
