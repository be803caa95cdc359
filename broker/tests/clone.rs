//! The Clone pattern end to end: servers, clients and relays on purezmq sockets.

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use purezmq::{Message, Socket, SocketType};
use purezmq_broker::clone::{
    ClientConfig, CloneClient, CloneServer, Endpoints, Event, KvMsg, Relay, ServerConfig, Uuid,
};
use tokio::sync::oneshot;

/// Long enough for anything here to happen on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(20);

type Map = BTreeMap<Bytes, Bytes>;

/// A server on tcp, on ports the system chooses.
fn tcp() -> ServerConfig {
    let any = || "tcp://127.0.0.1:*".to_owned();
    ServerConfig {
        endpoints: Endpoints {
            snapshot: any(),
            publisher: any(),
            collector: any(),
        },
        ..ServerConfig::default()
    }
}

fn inproc(config: ServerConfig) -> ServerConfig {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let name = format!("clone-test-{}", NEXT.fetch_add(1, Ordering::Relaxed));
    ServerConfig {
        endpoints: Endpoints::inproc(&name),
        ..config
    }
}

/// A running server; it stops when this is dropped.
struct Running {
    endpoints: Endpoints,
    _stop: oneshot::Sender<()>,
}

fn start(config: ServerConfig) -> Running {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let server = CloneServer::bind(config).unwrap();
    let endpoints = server.endpoints();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    Running {
        endpoints,
        _stop: stop,
    }
}

async fn client(endpoints: &Endpoints, subtree: &str) -> CloneClient {
    let config = ClientConfig::new(endpoints.clone()).subtree(subtree.to_owned());
    within(CloneClient::connect(config)).await.unwrap()
}

async fn within<T>(work: impl Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, work)
        .await
        .expect("timed out")
}

fn map_of(client: &CloneClient) -> Map {
    client
        .map()
        .iter()
        .map(|(k, v)| (k.clone(), v.body.clone()))
        .collect()
}

fn map(entries: &[(&str, &str)]) -> Map {
    entries
        .iter()
        .map(|(k, v)| (Bytes::from(k.to_string()), Bytes::from(v.to_string())))
        .collect()
}

/// Receives updates until the client's map is `expected`; returns the events seen.
async fn until_map(client: &mut CloneClient, expected: &Map) -> Vec<Event> {
    let mut events = Vec::new();
    within(async {
        while map_of(client) != *expected {
            events.push(client.recv().await.unwrap());
        }
    })
    .await;
    events
}

#[tokio::test]
async fn clients_converge_on_the_same_map_and_do_not_hear_their_own_changes() {
    let server = start(tcp());
    let mut alice = client(&server.endpoints, "").await;
    let mut bob = client(&server.endpoints, "").await;

    let mut own = HashSet::new();
    for i in 0..10 {
        own.insert(
            alice
                .set(format!("/a/{i}"), format!("alice {i}"), None)
                .await
                .unwrap(),
        );
        bob.set(format!("/b/{i}"), format!("bob {i}"), None)
            .await
            .unwrap();
    }
    own.insert(alice.set("/shared", "alice", None).await.unwrap());
    bob.set("/shared", "bob", None).await.unwrap();
    bob.delete("/b/0").await.unwrap();

    // The map both must reach: the server applies the changes in some order, and
    // "/shared" ends up with whichever came last; find out from a third client.
    let mut watcher = client(&server.endpoints, "").await;
    within(async {
        while watcher.map().len() < 20 {
            watcher.recv().await.unwrap();
        }
    })
    .await;
    let expected = map_of(&watcher);
    assert_eq!(expected.len(), 20);
    assert!(!expected.contains_key(&b"/b/0"[..]));

    let alice_heard = until_map(&mut alice, &expected).await;
    until_map(&mut bob, &expected).await;
    for event in alice_heard {
        if let Event::Update(msg) = event {
            let mine = msg.uuid.is_some_and(|uuid| own.contains(&uuid));
            // Her own change is only reported if it overtook Bob's in her map.
            assert!(!mine || msg.key == "/shared", "alice heard her own {msg:?}");
        }
    }
}

#[tokio::test]
async fn a_late_client_gets_the_state_by_snapshot() {
    let server = start(tcp());
    let mut writer = client(&server.endpoints, "").await;
    let mut watcher = client(&server.endpoints, "").await;
    let mut expected = Map::new();
    for i in 0..50 {
        let (key, value) = (format!("key {i}"), format!("value {i}"));
        writer.set(key.clone(), value.clone(), None).await.unwrap();
        expected.insert(key.into(), value.into());
    }
    writer.delete("key 7").await.unwrap();
    expected.remove(&b"key 7"[..]);
    until_map(&mut watcher, &expected).await;

    let late = client(&server.endpoints, "").await;
    assert_eq!(map_of(&late), expected);
    assert_eq!(late.sequence(), 51);
}

#[tokio::test]
async fn subtree_clients_see_only_their_subtree_in_snapshot_and_updates() {
    let server = start(tcp());
    let mut writer = client(&server.endpoints, "").await;
    writer.set("/a/before", "1", None).await.unwrap();
    writer.set("/b/before", "2", None).await.unwrap();
    let mut watcher = client(&server.endpoints, "").await;
    until_map(
        &mut watcher,
        &map(&[("/a/before", "1"), ("/b/before", "2")]),
    )
    .await;

    let mut a = client(&server.endpoints, "/a/").await;
    assert_eq!(map_of(&a), map(&[("/a/before", "1")]));
    writer.set("/b/after", "3", None).await.unwrap();
    writer.set("/a/after", "4", None).await.unwrap();
    let events = until_map(&mut a, &map(&[("/a/before", "1"), ("/a/after", "4")])).await;
    for event in events {
        let Event::Update(msg) = event else {
            panic!("a subtree client does not re-sync on gaps: {event:?}");
        };
        assert!(msg.key.starts_with(b"/a/"), "{msg:?}");
    }
}

#[tokio::test]
async fn expired_keys_are_deleted_and_the_deletion_published() {
    let server = start(ServerConfig {
        ttl_check: Duration::from_millis(50),
        ..tcp()
    });
    let mut setter = client(&server.endpoints, "").await;
    let mut watcher = client(&server.endpoints, "").await;
    setter
        .set("/ttl/short", "gone soon", Some(Duration::from_millis(300)))
        .await
        .unwrap();
    setter.set("/ttl/none", "stays", None).await.unwrap();
    setter
        .set("/ttl/long", "stays too", Some(Duration::from_secs(3600)))
        .await
        .unwrap();

    let events = until_map(
        &mut watcher,
        &map(&[("/ttl/none", "stays"), ("/ttl/long", "stays too")]),
    )
    .await;
    let deletion = events
        .iter()
        .find_map(|event| match event {
            Event::Update(msg) if msg.key == "/ttl/short" && msg.is_delete() => Some(msg),
            _ => None,
        })
        .expect("the deletion was published");
    assert_eq!(deletion.uuid, None);
    // The setter hears of the deletion too: it is the server's change, not its own.
    until_map(
        &mut setter,
        &map(&[("/ttl/none", "stays"), ("/ttl/long", "stays too")]),
    )
    .await;
    let late = client(&server.endpoints, "").await;
    assert_eq!(late.map().len(), 2);
}

#[tokio::test]
async fn a_slow_client_loses_updates_at_the_hwm_and_resyncs_by_snapshot() {
    let server = start(inproc(ServerConfig {
        sndhwm: 10,
        heartbeat: Some(Duration::from_millis(100)),
        ..ServerConfig::default()
    }));
    let slow_config = ClientConfig {
        rcvhwm: 10,
        ..ClientConfig::new(server.endpoints.clone())
    };
    let mut slow = within(CloneClient::connect(slow_config)).await.unwrap();
    let mut producer = client(&server.endpoints, "").await;
    let mut watcher = client(&server.endpoints, "").await;

    // The slow client reads nothing while 20 000 updates go by: the server must
    // neither wait for it nor keep them for it.
    let mut expected = Map::new();
    let body = Bytes::from(vec![b'x'; 512]);
    for i in 0..20_000 {
        let key = Bytes::from(format!("/flood/{}", i % 100));
        let value = Bytes::from(format!("{i} {}", body.len()));
        within(producer.set(key.clone(), value.clone(), None))
            .await
            .unwrap();
        expected.insert(key, value);
    }
    until_map(&mut watcher, &expected).await;

    let events = until_map(&mut slow, &expected).await;
    assert!(slow.resyncs() >= 1, "the slow client lost nothing?");
    assert!(
        events.iter().any(|e| matches!(e, Event::Resynced { .. })),
        "{events:?}"
    );
    assert_eq!(slow.sequence(), 20_000);
}

#[tokio::test]
async fn a_snapshot_larger_than_the_hwm_arrives_whole_and_a_stuck_reader_stalls_nobody() {
    let server = start(tcp());
    let mut writer = client(&server.endpoints, "").await;
    let mut watcher = client(&server.endpoints, "").await;
    for i in 0..5000 {
        writer.set(format!("/big/{i}"), "v", None).await.unwrap();
    }
    within(async {
        while watcher.map().len() < 5000 {
            watcher.recv().await.unwrap();
        }
    })
    .await;

    // Asks for the snapshot and never reads it: its transfer waits at the HWM.
    let stuck = Socket::new(SocketType::Dealer);
    stuck.set_options(|o| o.rcvhwm = 1).unwrap();
    stuck.connect(&server.endpoints.snapshot).unwrap();
    stuck.send(message(&[b"ICANHAZ?", b""])).await.unwrap();

    // Five thousand entries, five times the snapshot socket's SNDHWM, all arrive.
    let late = client(&server.endpoints, "").await;
    assert_eq!(late.map().len(), 5000);
    writer.set("/after", "yes", None).await.unwrap();
    within(async {
        while watcher.get(b"/after").is_none() {
            watcher.recv().await.unwrap();
        }
    })
    .await;
    drop(stuck);
}

#[tokio::test]
async fn bad_frames_are_dropped_and_the_server_keeps_serving() {
    let server = start(tcp());
    let endpoints = &server.endpoints;
    let mut watcher = client(endpoints, "").await;

    let push = Socket::new(SocketType::Push);
    push.connect(&endpoints.collector).unwrap();
    let bad_updates: [&[&[u8]]; 7] = [
        &[b"just a key"],
        &[b"KTHXBAI", &[0; 8], b"", b"", b"would end snapshots early"],
        &[b"HUGZ", &[0; 8], b"", b"", b"would pass for a heartbeat"],
        &[b"k", &[0; 3], b"", b"", b"v"],
        &[b"k", &[0; 8], &[1; 5], b"", b"v"],
        &[b"k", &[0; 8], b"", b"no equals sign\n", b"v"],
        &[b"k", &[0; 8], b"", b"", b"v", b"sixth"],
    ];
    for frames in bad_updates {
        push.send(message(frames)).await.unwrap();
    }
    let dealer = Socket::new(SocketType::Dealer);
    dealer.connect(&endpoints.snapshot).unwrap();
    let bad_requests: [&[&[u8]]; 3] = [
        &[b"GIMME", b""],
        &[b"ICANHAZ?"],
        &[b"ICANHAZ?", b"", b"extra"],
    ];
    for frames in bad_requests {
        dealer.send(message(frames)).await.unwrap();
    }
    // A guide C client's update: no UUID.
    push.send(message(&[b"/good", &[0; 8], b"", b"", b"yes"]))
        .await
        .unwrap();
    until_map(&mut watcher, &map(&[("/good", "yes")])).await;

    // Only the good update got a sequence number, and snapshots are still served.
    dealer.send(message(&[b"ICANHAZ?", b""])).await.unwrap();
    let first = within(dealer.recv()).await.unwrap();
    let entry = KvMsg::parse(&first).unwrap();
    assert_eq!((&entry.key[..], entry.sequence), (&b"/good"[..], 1));
    let end = within(dealer.recv()).await.unwrap();
    let expected: [&[u8]; 5] = [b"KTHXBAI", &1i64.to_be_bytes(), b"", b"", b""];
    assert_eq!(end.frames(), expected);
}

#[tokio::test]
async fn speaks_the_guides_wire_format() {
    let server = start(tcp());
    let endpoints = &server.endpoints;
    let sub = Socket::new(SocketType::Sub);
    sub.subscribe("/client/").unwrap();
    sub.connect(&endpoints.publisher).unwrap();
    let push = Socket::new(SocketType::Push);
    push.connect(&endpoints.collector).unwrap();

    // As clonecli5.py sends it: a random UUID and a ttl property.
    let uuid = [9u8; 16];
    let update: [&[u8]; 5] = [b"/client/42", &[0; 8], &uuid, b"ttl=30\n", b"881"];
    // Send until the subscription has reached the server.
    let published = within(async {
        loop {
            push.send(message(&update)).await.unwrap();
            let wait = tokio::time::timeout(Duration::from_millis(100), sub.recv());
            if let Ok(received) = wait.await {
                break received.unwrap();
            }
        }
    })
    .await;
    let sequence = i64::from_be_bytes(published.frames()[1][..].try_into().unwrap());
    assert!(sequence >= 1);
    let expected: [&[u8]; 5] = [
        b"/client/42",
        &sequence.to_be_bytes(),
        &uuid,
        b"ttl=30\n",
        b"881",
    ];
    assert_eq!(published.frames(), expected);

    // The snapshot, as a guide client asks for it.
    let dealer = Socket::new(SocketType::Dealer);
    dealer.connect(&endpoints.snapshot).unwrap();
    dealer
        .send(message(&[b"ICANHAZ?", b"/client/"]))
        .await
        .unwrap();
    let latest = within(dealer.recv()).await.unwrap();
    assert_eq!(latest.len(), 5);
    assert_eq!(&latest.frames()[0][..], b"/client/42");
    assert_eq!(&latest.frames()[2][..], &uuid);
    let end = within(dealer.recv()).await.unwrap();
    let last = within(async {
        let mut last = sequence;
        // Drain what else was published to learn the final sequence.
        while let Ok(Ok(more)) = tokio::time::timeout(Duration::from_millis(200), sub.recv()).await
        {
            last = i64::from_be_bytes(more.frames()[1][..].try_into().unwrap());
        }
        last
    })
    .await;
    let expected: [&[u8]; 5] = [b"KTHXBAI", &last.to_be_bytes(), b"", b"", b"/client/"];
    assert_eq!(end.frames(), expected);
}

#[tokio::test]
async fn a_relay_republishes_its_subtree_and_passes_changes_up() {
    let upstream = start(ServerConfig {
        ttl_check: Duration::from_millis(50),
        ..tcp()
    });
    let relay = Relay::start(
        ClientConfig::new(upstream.endpoints.clone()).subtree("/r/"),
        tcp(),
    );
    let mut writer = client(&upstream.endpoints, "").await;
    writer.set("/r/before", "1", None).await.unwrap();
    writer.set("/x/before", "2", None).await.unwrap();
    let mut watcher = client(&upstream.endpoints, "").await;
    until_map(
        &mut watcher,
        &map(&[("/r/before", "1"), ("/x/before", "2")]),
    )
    .await;

    let relay = within(relay).await.unwrap();
    let local = relay.endpoints();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(relay.run(async {
        let _ = stopped.await;
    }));

    let mut below = client(&local, "").await;
    assert_eq!(map_of(&below), map(&[("/r/before", "1")]));

    writer.set("/r/after", "3", None).await.unwrap();
    writer.set("/x/after", "4", None).await.unwrap();
    until_map(&mut below, &map(&[("/r/before", "1"), ("/r/after", "3")])).await;

    // A change from below reaches the top, and comes back without being reported.
    let uuid: Uuid = below
        .set("/r/below", "5", Some(Duration::from_millis(300)))
        .await
        .unwrap();
    let events = until_map(
        &mut watcher,
        &map(&[
            ("/r/before", "1"),
            ("/x/before", "2"),
            ("/r/after", "3"),
            ("/x/after", "4"),
            ("/r/below", "5"),
        ]),
    )
    .await;
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Update(m) if m.uuid == Some(uuid)))
    );

    // Expired upstream, deleted below.
    let events = until_map(&mut below, &map(&[("/r/before", "1"), ("/r/after", "3")])).await;
    for event in &events {
        if let Event::Update(msg) = event {
            assert_ne!(msg.uuid, Some(uuid), "the client heard its own change");
        }
    }
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Update(m) if m.key == "/r/below" && m.is_delete()))
    );
    drop(stop);
}

#[tokio::test]
async fn a_relay_that_fell_behind_resyncs_and_brings_its_clients_along() {
    let upstream = start(inproc(ServerConfig {
        sndhwm: 10,
        heartbeat: Some(Duration::from_millis(50)),
        ..ServerConfig::default()
    }));
    let mut writer = client(&upstream.endpoints, "").await;
    let mut watcher = client(&upstream.endpoints, "").await;
    for i in 0..10 {
        writer
            .set(format!("/k/{i}"), "initial", None)
            .await
            .unwrap();
    }
    let relay = Relay::start(
        ClientConfig {
            rcvhwm: 10,
            ..ClientConfig::new(upstream.endpoints.clone())
        },
        inproc(ServerConfig {
            heartbeat: Some(Duration::from_millis(50)),
            ..ServerConfig::default()
        }),
    );
    let relay = within(relay).await.unwrap();
    let local = relay.endpoints();

    // The relay is not running yet: what it is sent now overflows its queue.
    for i in 0..3000 {
        writer
            .set(format!("/f/{}", i % 50), i.to_string(), None)
            .await
            .unwrap();
    }
    for i in 0..5 {
        writer.delete(format!("/k/{i}")).await.unwrap();
    }
    let mut expected = Map::new();
    within(async {
        while watcher.map().len() != 55 || watcher.get(b"/f/49") != Some(&"2999".into()) {
            watcher.recv().await.unwrap();
        }
    })
    .await;
    expected.extend(map_of(&watcher));

    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(relay.run(async {
        let _ = stopped.await;
    }));
    let mut below = client(&local, "").await;
    until_map(&mut below, &expected).await;
    drop(stop);
}

fn message(frames: &[&[u8]]) -> Message {
    frames.iter().map(|f| Bytes::copy_from_slice(f)).collect()
}
