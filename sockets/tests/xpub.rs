//! XPUB's options, as libzmq's tests/test_xpub_nodrop.cpp, test_xpub_manual.cpp,
//! test_xpub_welcome_msg.cpp and test_xpub_verbose.cpp assert them, over tcp, ipc and
//! inproc.
//!
//! Where libzmq checks that an XPUB received nothing (EAGAIN), these tests have the
//! subscriber send one more, fresh subscription as a marker and check that the marker
//! is the next thing the XPUB receives: the queue is ordered, so nothing came before
//! it, and no sleep is needed.

mod common;

use std::time::Duration;

use common::*;
use purezmq::{Error, Socket, SocketType};

const SUBSCRIBE_A: &str = "\u{1}A";
const SUBSCRIBE_B: &str = "\u{1}B";
const UNSUBSCRIBE_A: &str = "\u{0}A";

/// Proves the XPUB has nothing queued before `sub`'s next, new subscription.
async fn nothing_before_marker(xpub: &Socket, sub: &Socket, marker: &str) {
    sub.subscribe(marker).unwrap();
    expect(xpub, &[&format!("\u{1}{marker}")]).await;
}

/// test_xpub_nodrop: with XPUB_NODROP a send that finds a subscriber at its HWM
/// fails (SNDTIMEO 0) instead of dropping; all that was sent arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodrop() {
    for transport in ALL {
        let hwm = 2000;
        let xpub = socket_with(SocketType::XPub, |o| {
            o.sndhwm = hwm;
            o.xpub_nodrop = true;
        });
        let endpoint = bind(&xpub, transport, "xpub-nodrop");
        let sub = socket_with(SocketType::Sub, |o| o.rcvhwm = hwm);
        sub.connect(&endpoint).unwrap();
        sub.subscribe("").unwrap();
        expect(&xpub, &["\u{1}"]).await;

        // Under the HWM every send goes through, and every message arrives.
        for _ in 0..hwm - 1 {
            send(&xpub, &[""]).await;
        }
        for _ in 0..hwm - 1 {
            recv(&sub).await;
        }
        nothing_within(&sub, Duration::from_millis(50)).await;

        // Without reading, sends fail once the queues are full; none is lost. The
        // messages are large enough that TCP's own buffers fill after a few thousand.
        xpub.set_options(|o| o.sndtimeo = Some(Duration::ZERO))
            .unwrap();
        let payload = bytes::Bytes::from(vec![b'x'; 1024]);
        let mut sent = 0;
        loop {
            match xpub.send(payload.clone()).await {
                Ok(()) => sent += 1,
                Err(Error::Timeout(_) | Error::WouldBlock) => break,
                Err(e) => panic!("{e}"),
            }
            assert!(sent < 1_000_000, "{transport:?}: never blocked");
        }
        assert!(sent >= hwm, "{transport:?}: blocked after {sent}");
        let received = drain(&sub, Duration::from_millis(100)).await.len();
        assert_eq!(received, sent, "{transport:?}");
    }
}

/// test_xpub_manual's test_basic: with XPUB_MANUAL the application sees the peer's
/// subscription and decides what the peer gets by subscribing for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_basic() {
    for transport in ALL {
        let xpub = socket_with(SocketType::XPub, |o| o.xpub_manual = true);
        let endpoint = bind(&xpub, transport, "xpub-manual");
        let xsub = socket(SocketType::XSub);
        xsub.connect(&endpoint).unwrap();
        send(&xsub, &[SUBSCRIBE_A]).await;
        expect(&xpub, &[SUBSCRIBE_A]).await;
        xpub.subscribe("B").unwrap();
        send(&xpub, &["A"]).await;
        send(&xpub, &["B"]).await;
        expect(&xsub, &["B"]).await;
    }
}

/// test_xpub_manual's test_unsubscribe_manual: the application's unsubscribe takes
/// effect, and when the peer goes the XPUB reports a cancel for each topic the peer
/// still held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_unsubscribe() {
    for transport in ALL {
        let xpub = socket_with(SocketType::XPub, |o| o.xpub_manual = true);
        let mut monitor = xpub.monitor();
        let endpoint = bind(&xpub, transport, "xpub-manual-unsub");
        let xsub = socket(SocketType::XSub);
        xsub.connect(&endpoint).unwrap();
        send(&xsub, &[SUBSCRIBE_A]).await;
        send(&xsub, &[SUBSCRIBE_B]).await;
        expect(&xpub, &[SUBSCRIBE_A]).await;
        xpub.subscribe("XA").unwrap();
        expect(&xpub, &[SUBSCRIBE_B]).await;
        xpub.subscribe("XB").unwrap();
        send(&xsub, &[UNSUBSCRIBE_A]).await;
        expect(&xpub, &[UNSUBSCRIBE_A]).await;
        xpub.unsubscribe("XA").unwrap();
        send(&xpub, &["XA"]).await;
        send(&xpub, &["XB"]).await;
        expect(&xsub, &["XB"]).await;

        handshakes(&mut monitor, transport, 1).await;
        xsub.close().await;
        expect(&xpub, &["\u{0}B"]).await;
        xpub.unsubscribe("XB").unwrap();
    }
}

/// test_xpub_manual's test_xpub_proxy_unsubscribe_on_disconnect: a manual XPUB in a
/// proxy reports one cancel per departing subscriber, so the proxy can pass them
/// upstream, after which the publisher's messages stop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_proxy_unsubscribes_on_disconnect() {
    for transport in ALL {
        let xsub_proxy = socket(SocketType::XSub);
        let frontend = bind(&xsub_proxy, transport, "xpub-proxy-front");
        let xpub_proxy = socket_with(SocketType::XPub, |o| o.xpub_manual = true);
        let backend = bind(&xpub_proxy, transport, "xpub-proxy-back");
        let publisher = socket(SocketType::Pub);
        let mut pub_monitor = publisher.monitor();
        publisher.connect(&frontend).unwrap();
        handshakes(&mut pub_monitor, transport, 1).await;

        let mut subs = Vec::new();
        for _ in 0..2 {
            let sub = socket(SocketType::Sub);
            sub.connect(&backend).unwrap();
            sub.subscribe("1").unwrap();
            expect(&xpub_proxy, &["\u{1}1"]).await;
            xpub_proxy.subscribe("1").unwrap();
            send(&xsub_proxy, &["\u{1}1"]).await;
            subs.push(sub);
        }

        // The subscription reaches the publisher: probe until a message gets through.
        loop {
            send(&publisher, &["1", "X"]).await;
            let wait = tokio::time::timeout(Duration::from_millis(20), xsub_proxy.recv());
            if let Ok(m) = wait.await {
                assert_eq!(m.unwrap().frames(), ["1", "X"]);
                break;
            }
        }
        drain(&xsub_proxy, Duration::from_millis(20)).await;
        send(&xpub_proxy, &["1", "X"]).await;
        for sub in &subs {
            expect(sub, &["1", "X"]).await;
        }

        for sub in subs {
            sub.close().await;
        }
        for _ in 0..2 {
            expect(&xpub_proxy, &["\u{0}1"]).await;
            xpub_proxy.unsubscribe("1").unwrap();
            send(&xsub_proxy, &["\u{0}1"]).await;
        }
        // The publisher has dropped the subscription: nothing more comes through.
        tokio::time::sleep(Duration::from_millis(50)).await;
        send(&publisher, &["1", "X"]).await;
        nothing(&xsub_proxy).await;
    }
}

/// test_xpub_manual's test_missing_subscriptions: two subscribers with different
/// topics through a manual proxy each get their own messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_proxy_two_topics() {
    for transport in ALL {
        let xsub_proxy = socket(SocketType::XSub);
        let frontend = bind(&xsub_proxy, transport, "xpub-missing-front");
        let xpub_proxy = socket_with(SocketType::XPub, |o| o.xpub_manual = true);
        let backend = bind(&xpub_proxy, transport, "xpub-missing-back");
        let publisher = socket(SocketType::Pub);
        publisher.connect(&frontend).unwrap();

        let mut subs = Vec::new();
        for topic in ["1", "2"] {
            let sub = socket(SocketType::Sub);
            sub.connect(&backend).unwrap();
            sub.subscribe(topic).unwrap();
            expect(&xpub_proxy, &[&format!("\u{1}{topic}")]).await;
            xpub_proxy.subscribe(topic).unwrap();
            send(&xsub_proxy, &[&format!("\u{1}{topic}")]).await;
            subs.push(sub);
        }
        // Until both subscriptions reached the publisher, forward what comes.
        let mut seen = [false, false];
        while seen != [true, true] {
            send(&publisher, &["1", "X"]).await;
            send(&publisher, &["2", "X"]).await;
            while let Ok(Ok(m)) =
                tokio::time::timeout(Duration::from_millis(20), xsub_proxy.recv()).await
            {
                let i = usize::from(m.frames()[0] == "2");
                seen[i] = true;
                xpub_proxy.send(m).await.unwrap();
            }
        }
        for (sub, topic) in subs.iter().zip(["1", "2"]) {
            let got = drain(sub, Duration::from_millis(20)).await;
            assert!(!got.is_empty(), "{transport:?}");
            assert!(
                got.iter().all(|m| m.frames() == [topic, "X"]),
                "{transport:?}"
            );
        }
    }
}

/// test_xpub_manual's test_unsubscribe_cleanup: after a subscriber leaves and the
/// application unsubscribes for it, a new subscriber gets only what it asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_unsubscribe_cleanup() {
    for transport in ALL {
        let xpub = socket_with(SocketType::XPub, |o| o.xpub_manual = true);
        let endpoint = bind(&xpub, transport, "xpub-cleanup");
        let xsub = socket(SocketType::XSub);
        xsub.connect(&endpoint).unwrap();
        send(&xsub, &[SUBSCRIBE_A]).await;
        expect(&xpub, &[SUBSCRIBE_A]).await;
        xpub.subscribe("XA").unwrap();
        send(&xpub, &["XA"]).await;
        send(&xpub, &["XB"]).await;
        expect(&xsub, &["XA"]).await;
        nothing(&xsub).await;
        xsub.close().await;
        expect(&xpub, &[UNSUBSCRIBE_A]).await;
        xpub.unsubscribe("XA").unwrap();

        let xsub = socket(SocketType::XSub);
        xsub.connect(&endpoint).unwrap();
        send(&xsub, &[SUBSCRIBE_B]).await;
        expect(&xpub, &[SUBSCRIBE_B]).await;
        xpub.subscribe("XB").unwrap();
        send(&xpub, &["XA"]).await;
        send(&xpub, &["XB"]).await;
        expect(&xsub, &["XB"]).await;
        nothing(&xsub).await;
    }
}

/// test_xpub_manual's test_user_message: a message from an XSUB that is not a
/// subscription reaches the XPUB's application as it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_message_upstream() {
    for transport in ALL {
        let xpub = socket(SocketType::XPub);
        let endpoint = bind(&xpub, transport, "xpub-user");
        let xsub = socket(SocketType::XSub);
        xsub.connect(&endpoint).unwrap();
        send(&xsub, &["\u{2}A"]).await;
        expect(&xpub, &["\u{2}A"]).await;
    }
}

/// test_xpub_welcome_msg: an XPUB with XPUB_WELCOME_MSG greets each new subscriber.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn welcome_message() {
    for transport in ALL {
        let xpub = socket_with(SocketType::XPub, |o| o.xpub_welcome_msg = Some("W".into()));
        let endpoint = bind(&xpub, transport, "xpub-welcome");
        let sub = socket(SocketType::Sub);
        sub.subscribe("W").unwrap();
        sub.connect(&endpoint).unwrap();
        expect(&xpub, &["\u{1}W"]).await;
        expect(&sub, &["W"]).await;
    }
}

/// test_xpub_verbose's test_xpub_verbose_one_sub: a duplicate subscription from the
/// same subscriber is passed on only with XPUB_VERBOSE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verbose_one_subscriber() {
    for transport in ALL {
        let xpub = socket(SocketType::XPub);
        let endpoint = bind(&xpub, transport, "xpub-verbose1");
        let sub = socket(SocketType::Sub);
        sub.connect(&endpoint).unwrap();
        sub.subscribe("A").unwrap();
        expect(&xpub, &[SUBSCRIBE_A]).await;
        sub.subscribe("B").unwrap();
        expect(&xpub, &[SUBSCRIBE_B]).await;
        // The SUB sends the repeated subscription; the XPUB keeps it to itself.
        sub.subscribe("A").unwrap();
        nothing_before_marker(&xpub, &sub, "M1").await;

        xpub.set_options(|o| o.xpub_verbose = true).unwrap();
        // Verbose, the XPUB passes the repeated subscription on.
        sub.subscribe("A").unwrap();
        expect(&xpub, &[SUBSCRIBE_A]).await;
        // So it does an XSUB's, which passes every subscribe upstream.
        let xsub = socket(SocketType::XSub);
        xsub.connect(&endpoint).unwrap();
        send(&xsub, &[SUBSCRIBE_A]).await;
        expect(&xpub, &[SUBSCRIBE_A]).await;
        send(&xpub, &["A"]).await;
        send(&xpub, &["B"]).await;
        expect(&sub, &["A"]).await;
        expect(&sub, &["B"]).await;
    }
}

/// As libzmq's SUB does, a SUB sends every subscribe, a repeated one too, and a
/// cancel only when it removes the topic's last subscription.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sub_sends_repeated_subscribe_and_last_cancel() {
    for transport in ALL {
        let xpub = socket_with(SocketType::XPub, |o| o.xpub_verbose = true);
        let endpoint = bind(&xpub, transport, "xpub-sub-repeats");
        let sub = socket(SocketType::Sub);
        sub.connect(&endpoint).unwrap();
        sub.subscribe("A").unwrap();
        expect(&xpub, &[SUBSCRIBE_A]).await;
        sub.subscribe("A").unwrap();
        expect(&xpub, &[SUBSCRIBE_A]).await;
        // The first cancel leaves one subscription to A: the SUB keeps it to itself.
        sub.unsubscribe("A").unwrap();
        nothing_before_marker(&xpub, &sub, "M1").await;
        send(&xpub, &["A"]).await;
        expect(&sub, &["A"]).await;
        sub.unsubscribe("A").unwrap();
        expect(&xpub, &[UNSUBSCRIBE_A]).await;
    }
}

/// test_xpub_verbose's test_xpub_verbose_two_subs: the second subscriber's
/// subscription to a topic is passed on only with XPUB_VERBOSE; both get messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verbose_two_subscribers() {
    for transport in ALL {
        let xpub = socket(SocketType::XPub);
        let endpoint = bind(&xpub, transport, "xpub-verbose2");
        let sub0 = socket(SocketType::Sub);
        sub0.connect(&endpoint).unwrap();
        let sub1 = socket(SocketType::Sub);
        sub1.connect(&endpoint).unwrap();

        sub0.subscribe("A").unwrap();
        expect(&xpub, &[SUBSCRIBE_A]).await;
        sub1.subscribe("A").unwrap();
        // sub1's marker comes after its subscription to A on the same connection.
        nothing_before_marker(&xpub, &sub1, "M1").await;

        sub0.subscribe("B").unwrap();
        expect(&xpub, &[SUBSCRIBE_B]).await;
        xpub.set_options(|o| o.xpub_verbose = true).unwrap();
        let sub2 = socket(SocketType::Sub);
        sub2.connect(&endpoint).unwrap();
        sub2.subscribe("A").unwrap();
        expect(&xpub, &[SUBSCRIBE_A]).await;

        send(&xpub, &["A"]).await;
        send(&xpub, &["B"]).await;
        expect(&sub0, &["A"]).await;
        expect(&sub1, &["A"]).await;
        expect(&sub0, &["B"]).await;
        expect(&sub2, &["A"]).await;
    }
}

/// Without VERBOSE only the last unsubscription from a topic is passed on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_unsubscribe_only() {
    for transport in ALL {
        let xpub = socket(SocketType::XPub);
        let endpoint = bind(&xpub, transport, "xpub-unsub");
        let sub0 = socket(SocketType::Sub);
        sub0.connect(&endpoint).unwrap();
        let sub1 = socket(SocketType::Sub);
        sub1.connect(&endpoint).unwrap();
        sub0.subscribe("A").unwrap();
        expect(&xpub, &[SUBSCRIBE_A]).await;
        sub1.subscribe("A").unwrap();
        nothing_before_marker(&xpub, &sub1, "M1").await;
        sub0.unsubscribe("A").unwrap();
        nothing_before_marker(&xpub, &sub0, "M0").await;
        sub1.unsubscribe("A").unwrap();
        expect(&xpub, &[UNSUBSCRIBE_A]).await;
    }
}
