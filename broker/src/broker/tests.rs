//! The state machine's rules, one test each, without a socket.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use purezmq::Message;

use super::policy::{Policy, ReplyView, RequestView, Verdict};
use super::state::{BrokerConfig, BrokerState};

const HB: Duration = Duration::from_millis(100);

struct Harness {
    state: BrokerState,
    now: Instant,
    out: VecDeque<Message>,
}

fn b(part: &[u8]) -> Bytes {
    Bytes::copy_from_slice(part)
}

fn config() -> BrokerConfig {
    BrokerConfig {
        heartbeat: HB,
        liveness: 3,
        max_queue: 3,
        max_queued_total: 100,
        request_ttl: Duration::from_secs(1),
    }
}

impl Harness {
    fn new() -> Harness {
        Harness::with(BrokerState::new(config()))
    }

    fn with(state: BrokerState) -> Harness {
        Harness {
            state,
            now: Instant::now(),
            out: VecDeque::new(),
        }
    }

    fn send(&mut self, peer: &str, parts: &[&[u8]]) {
        let frames: Vec<Bytes> = parts.iter().map(|p| b(p)).collect();
        self.state.on_message(self.now, b(peer.as_bytes()), &frames);
    }

    /// Everything sent since the last call, as (peer, frames).
    fn take(&mut self) -> Vec<(Bytes, Vec<Bytes>)> {
        self.state.drain(&mut self.out);
        self.out
            .drain(..)
            .map(|m| {
                let mut frames = m.into_frames();
                let peer = frames.remove(0);
                (peer, frames)
            })
            .collect()
    }

    fn take_one(&mut self) -> (Bytes, Vec<Bytes>) {
        let mut all = self.take();
        assert_eq!(all.len(), 1, "expected one message, got {all:?}");
        all.remove(0)
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
        while let Some(at) = self.state.next_deadline() {
            if at > self.now {
                break;
            }
            self.state.on_tick(self.now);
        }
    }

    fn ready01(&mut self, peer: &str, service: &str) {
        self.send(peer, &[b"", b"MDPW01", &[1], service.as_bytes()]);
    }

    fn ready02(&mut self, peer: &str, service: &str) {
        self.send(peer, &[b"MDPW02", &[1], service.as_bytes()]);
    }

    fn request01(&mut self, client: &str, service: &str, body: &[u8]) {
        self.send(client, &[b"", b"MDPC01", service.as_bytes(), body]);
    }

    fn request02(&mut self, client: &str, service: &str, body: &[u8]) {
        self.send(client, &[b"MDPC02", &[1], service.as_bytes(), body]);
    }
}

fn frames(parts: &[&[u8]]) -> Vec<Bytes> {
    parts.iter().map(|p| b(p)).collect()
}

fn is_disconnect(frames: &[Bytes]) -> bool {
    frames == [b(b""), b(b"MDPW01"), b(&[5])]
        || frames == [b(b"MDPW02"), b(&[6])]
        || frames == [b(b""), b(b"MDPW02"), b(&[6])]
}

#[test]
fn a_v01_request_goes_to_the_worker_and_the_reply_back() {
    let mut h = Harness::new();
    h.ready01("w", "echo");
    assert!(h.take().is_empty(), "READY has no answer");
    h.request01("c", "echo", b"hi");
    let (peer, request) = h.take_one();
    assert_eq!(peer, "w");
    assert_eq!(request, frames(&[b"", b"MDPW01", &[2], b"c", b"", b"hi"]));
    h.send("w", &[b"", b"MDPW01", &[3], b"c", b"", b"ho"]);
    let (peer, reply) = h.take_one();
    assert_eq!(peer, "c");
    assert_eq!(reply, frames(&[b"", b"MDPC01", b"echo", b"ho"]));
    let stats = h.state.stats();
    let echo = stats.service(b"echo").unwrap();
    assert_eq!((echo.requests, echo.replies, echo.workers), (1, 1, 1));
}

#[test]
fn v02_replies_mirror_each_peers_framing_and_versions_mix() {
    let mut h = Harness::new();
    // A delimited 0.2 worker, a bare 0.2 client, then a 0.1 client to the same worker.
    h.send("w", &[b"", b"MDPW02", &[1], b"echo"]);
    h.request02("bare", "echo", b"1");
    let (_, request) = h.take_one();
    assert_eq!(request, frames(&[b"", b"MDPW02", &[2], b"bare", b"", b"1"]));
    h.send("w", &[b"", b"MDPW02", &[3], b"bare", b"", b"part"]);
    h.send("w", &[b"", b"MDPW02", &[4], b"bare", b"", b"last"]);
    let replies = h.take();
    assert_eq!(replies[0].1, frames(&[b"MDPC02", &[2], b"echo", b"part"]));
    assert_eq!(replies[1].1, frames(&[b"MDPC02", &[3], b"echo", b"last"]));

    h.send("delim", &[b"", b"MDPC02", &[1], b"echo", b"2"]);
    let _ = h.take_one();
    h.send("w", &[b"", b"MDPW02", &[4], b"delim", b"", b"r"]);
    assert_eq!(
        h.take_one().1,
        frames(&[b"", b"MDPC02", &[3], b"echo", b"r"])
    );

    h.request01("old", "echo", b"3");
    let _ = h.take_one();
    h.send("w", &[b"", b"MDPW02", &[4], b"old", b"", b"r"]);
    assert_eq!(h.take_one().1, frames(&[b"", b"MDPC01", b"echo", b"r"]));
}

#[test]
fn requests_go_to_the_least_recently_used_idle_worker() {
    let mut h = Harness::new();
    h.ready01("w1", "s");
    h.ready01("w2", "s");
    h.request01("c", "s", b"a");
    assert_eq!(h.take_one().0, "w1");
    h.request01("c", "s", b"b");
    assert_eq!(h.take_one().0, "w2");
    // w2 finishes first, then w1: w2 is now the least recently used.
    h.send("w2", &[b"", b"MDPW01", &[3], b"c", b"", b"B"]);
    h.send("w1", &[b"", b"MDPW01", &[3], b"c", b"", b"A"]);
    assert_eq!(h.take().len(), 2);
    h.request01("c", "s", b"c");
    assert_eq!(h.take_one().0, "w2");
}

#[test]
fn requests_wait_in_order_for_a_worker_and_several_per_client_are_fine() {
    let mut h = Harness::new();
    h.request02("c", "later", b"1");
    h.request02("c", "later", b"2");
    assert!(h.take().is_empty());
    assert_eq!(h.state.stats().service(b"later").unwrap().queued, 2);
    h.ready02("w", "later");
    let (_, first) = h.take_one();
    assert_eq!(first.last().unwrap(), "1");
    h.send("w", &[b"MDPW02", &[4], b"c", b"", b"one"]);
    let sent = h.take();
    assert_eq!(sent.len(), 2, "the reply, then the next request: {sent:?}");
    assert_eq!(sent[0].0, "c");
    assert_eq!(sent[1].0, "w");
    assert_eq!(sent[1].1.last().unwrap(), "2");
}

#[test]
fn a_full_queue_drops_and_counts() {
    let mut h = Harness::new();
    for body in [b"1", b"2", b"3", b"4"] {
        h.request01("c", "busy", body);
    }
    let stats = h.state.stats();
    let busy = stats.service(b"busy").unwrap();
    assert_eq!((busy.queued, busy.dropped, busy.requests), (3, 1, 3));
}

#[test]
fn the_total_bound_holds_across_services() {
    let mut state_config = config();
    state_config.max_queued_total = 2;
    let mut h = Harness::with(BrokerState::new(state_config));
    h.request01("c", "a", b"1");
    h.request01("c", "b", b"2");
    h.request01("c", "c", b"3");
    let stats = h.state.stats();
    assert_eq!((stats.totals.queued, stats.totals.dropped), (2, 1));
    assert_eq!(h.state.service_count(), 2, "the dropped one left no entry");
}

#[test]
fn queued_requests_expire_and_unknown_services_are_forgotten() {
    let mut h = Harness::new();
    for i in 0..50 {
        h.request01("c", &format!("random-{i}"), b"x");
    }
    assert_eq!(h.state.service_count(), 50);
    h.advance(Duration::from_millis(999));
    assert_eq!(h.state.stats().totals.expired, 0);
    h.advance(Duration::from_millis(1));
    let stats = h.state.stats();
    assert_eq!((stats.totals.expired, stats.totals.queued), (50, 0));
    assert_eq!(h.state.service_count(), 0);
    assert_eq!(h.state.next_deadline(), None);
    assert!(h.take().is_empty(), "an expired request gets no answer");
}

#[test]
fn workers_get_heartbeats_and_expire_when_silent() {
    let mut h = Harness::new();
    h.ready01("w", "s");
    h.ready02("v", "s");
    h.advance(HB);
    let beats = h.take();
    assert_eq!(beats.len(), 2);
    for (peer, frames) in &beats {
        let expected = if peer == "w" {
            self::frames(&[b"", b"MDPW01", &[4]])
        } else {
            self::frames(&[b"MDPW02", &[5]])
        };
        assert_eq!(frames, &expected);
    }
    // v keeps talking, w does not.
    for _ in 0..3 {
        h.send("v", &[b"MDPW02", &[5]]);
        h.advance(HB);
    }
    h.send("v", &[b"MDPW02", &[5]]);
    h.advance(HB);
    let stats = h.state.stats();
    assert_eq!(stats.workers_expired, 1);
    assert_eq!(stats.service(b"s").unwrap().workers, 1);
    h.take();
    h.request01("c", "s", b"x");
    assert_eq!(h.take_one().0, "v");
}

#[test]
fn the_last_worker_expiring_forgets_its_service() {
    let mut h = Harness::new();
    h.ready01("w", "s");
    h.advance(HB * 5);
    assert_eq!(h.state.worker_count(), 0);
    assert_eq!(h.state.service_count(), 0);
    assert_eq!(h.state.next_deadline(), None);
}

#[test]
fn a_silent_worker_s_request_goes_back_to_the_front_of_the_queue() {
    let mut h = Harness::new();
    h.ready01("dead", "s");
    h.request01("c", "s", b"first");
    h.request01("c", "s", b"second");
    assert_eq!(h.take_one().0, "dead");
    h.advance(HB * 4);
    h.take();
    let stats = h.state.stats();
    let s = stats.service(b"s").unwrap();
    assert_eq!((s.workers_lost, s.requeued, s.queued), (1, 1, 2));
    h.ready01("alive", "s");
    let (peer, request) = h.take_one();
    assert_eq!(peer, "alive");
    assert_eq!(request.last().unwrap(), "first");
}

#[test]
fn a_requeued_request_does_not_go_to_a_worker_expiring_at_the_same_tick() {
    let mut h = Harness::new();
    h.ready01("busy", "s");
    h.ready01("idle", "s");
    h.request01("c", "s", b"x");
    assert_eq!(h.take_one().0, "busy");
    // Neither says anything: both expire at the same heartbeat tick.
    h.advance(HB * 4);
    for (peer, frames) in h.take() {
        assert!(
            frames != self::frames(&[b"", b"MDPW01", &[2], b"c", b"", b"x"]),
            "the request went to {peer:?}, which expired with it"
        );
    }
    let stats = h.state.stats();
    assert_eq!((stats.workers_expired, stats.totals.queued), (2, 1));
}

#[test]
fn a_worker_lost_after_a_partial_loses_its_request() {
    let mut h = Harness::new();
    h.ready02("w", "s");
    h.request02("c", "s", b"x");
    h.take();
    h.send("w", &[b"MDPW02", &[3], b"c", b"", b"part"]);
    assert_eq!(h.take_one().0, "c");
    h.send("w", &[b"MDPW02", &[6]]);
    assert!(
        h.take().is_empty(),
        "nothing is sent to a worker after its DISCONNECT"
    );
    let totals = h.state.stats().totals;
    assert_eq!((totals.lost, totals.requeued, totals.queued), (1, 0, 0));
}

#[test]
fn a_partial_for_a_v01_client_is_dropped_and_counted() {
    let mut h = Harness::new();
    h.ready02("w", "s");
    h.request01("c", "s", b"x");
    h.take();
    h.send("w", &[b"MDPW02", &[3], b"c", b"", b"part"]);
    assert!(h.take().is_empty());
    h.send("w", &[b"MDPW02", &[4], b"c", b"", b"all"]);
    assert_eq!(h.take_one().1, frames(&[b"", b"MDPC01", b"s", b"all"]));
    let s = h.state.stats().totals;
    assert_eq!((s.partials_dropped, s.partials, s.replies), (1, 0, 1));
}

#[test]
fn unexpected_commands_before_ready_get_disconnect() {
    let cases: [&[&[u8]]; 5] = [
        &[b"", b"MDPW01", &[4]],             // HEARTBEAT
        &[b"", b"MDPW01", &[3], b"c", b""],  // REPLY
        &[b"MDPW02", &[3], b"c", b""],       // PARTIAL
        &[b"MDPW02", &[4], b"c", b""],       // FINAL
        &[b"MDPW02", &[2], b"c", b"", b"x"], // REQUEST
    ];
    for case in cases {
        let mut h = Harness::new();
        h.send("p", case);
        let (peer, sent) = h.take_one();
        assert_eq!(peer, "p");
        assert!(is_disconnect(&sent), "{case:?} got {sent:?}");
        assert_eq!(h.state.worker_count(), 0);
        assert_eq!(h.state.stats().disconnects_sent, 1);
        // Judged afresh: again, DISCONNECT again.
        h.send("p", case);
        assert!(is_disconnect(&h.take_one().1));
    }
}

#[test]
fn a_disconnect_from_an_unknown_peer_gets_nothing() {
    let mut h = Harness::new();
    h.send("p", &[b"", b"MDPW01", &[5]]);
    assert!(h.take().is_empty());
}

#[test]
fn a_second_ready_disconnects_and_forgets_the_worker() {
    let mut h = Harness::new();
    h.ready01("w", "s");
    h.ready01("w", "s");
    let (peer, sent) = h.take_one();
    assert_eq!(peer, "w");
    assert_eq!(sent, frames(&[b"", b"MDPW01", &[5]]));
    assert_eq!(h.state.worker_count(), 0);
    // Then silence: its service queues, and heartbeats skip it.
    h.request01("c", "s", b"x");
    h.advance(HB * 2);
    assert!(h.take().is_empty());
}

#[test]
fn replies_without_a_request_or_for_another_client_disconnect() {
    let mut h = Harness::new();
    h.ready01("w", "s");
    h.send("w", &[b"", b"MDPW01", &[3], b"c", b"", b"x"]);
    assert!(is_disconnect(&h.take_one().1));
    assert_eq!(h.state.worker_count(), 0);

    h.ready01("w", "s");
    h.ready01("other", "s");
    h.request01("c", "s", b"x");
    assert_eq!(h.take_one().0, "w");
    h.send("w", &[b"", b"MDPW01", &[3], b"intruder", b"", b"x"]);
    let sent = h.take();
    // DISCONNECT to w, and the request goes on to the other worker.
    assert_eq!(sent[0].0, "w");
    assert!(is_disconnect(&sent[0].1));
    assert_eq!(sent[1].0, "other");
    assert!(sent.iter().all(|(peer, _)| peer != "intruder"));
}

#[test]
fn a_request_command_or_another_version_from_a_worker_disconnects() {
    let mut h = Harness::new();
    h.ready01("w", "s");
    h.send("w", &[b"", b"MDPW01", &[2], b"c", b"", b"x"]);
    assert!(is_disconnect(&h.take_one().1));
    h.ready01("w", "s");
    h.send("w", &[b"MDPW02", &[5]]);
    assert_eq!(h.take_one().1, frames(&[b"", b"MDPW01", &[5]]));
    assert_eq!(h.state.worker_count(), 0);
}

#[test]
fn a_worker_s_disconnect_requeues_its_request_and_silences_the_broker() {
    let mut h = Harness::new();
    h.ready01("w", "s");
    h.request01("c", "s", b"x");
    h.take();
    h.send("w", &[b"", b"MDPW01", &[5]]);
    h.advance(HB * 2);
    assert!(h.take().is_empty());
    assert_eq!(h.state.stats().service(b"s").unwrap().requeued, 1);
    h.ready01("w2", "s");
    assert_eq!(h.take_one().0, "w2");
}

#[test]
fn malformed_messages_are_dropped_and_counted() {
    let mut h = Harness::new();
    h.ready01("w", "s");
    h.send("x", &[b"GET / HTTP/1.1"]);
    h.send("x", &[]);
    h.send("x", &[b"MDPC01", b"s"]); // 0.1 without the empty frame
    h.send("w", &[b"", b"MDPW01", &[9]]);
    h.send("w", &[b"", b"MDPW01", &[3], b"c", b"no delimiter"]);
    assert!(h.take().is_empty());
    assert_eq!(h.state.stats().malformed, 5);
    assert_eq!(h.state.worker_count(), 1);
}

#[test]
fn mmi_is_answered_by_the_broker() {
    let mut h = Harness::new();
    h.ready01("w1", "echo");
    h.ready02("w2", "echo");
    h.ready01("w3", "alpha");
    h.send("c", &[b"", b"MDPC01", b"mmi.service", b"echo"]);
    assert_eq!(
        h.take_one().1,
        frames(&[b"", b"MDPC01", b"mmi.service", b"200"])
    );
    h.send("c", &[b"MDPC02", &[1], b"mmi.service", b"nope"]);
    assert_eq!(
        h.take_one().1,
        frames(&[b"MDPC02", &[3], b"mmi.service", b"404"])
    );
    h.send("c", &[b"", b"MDPC01", b"mmi.services"]);
    assert_eq!(
        h.take_one().1,
        frames(&[b"", b"MDPC01", b"mmi.services", b"200", b"alpha", b"echo"])
    );
    h.send("c", &[b"", b"MDPC01", b"mmi.workers", b"echo"]);
    assert_eq!(
        h.take_one().1,
        frames(&[b"", b"MDPC01", b"mmi.workers", b"200", b"2"])
    );
    h.send("c", &[b"", b"MDPC01", b"mmi.workers"]);
    assert_eq!(
        h.take_one().1,
        frames(&[b"", b"MDPC01", b"mmi.workers", b"200", b"3"])
    );
    h.send("c", &[b"", b"MDPC01", b"mmi.coffee"]);
    assert_eq!(
        h.take_one().1,
        frames(&[b"", b"MDPC01", b"mmi.coffee", b"501"])
    );
    // A queue without workers is not a service.
    h.request01("c", "queued", b"x");
    h.send("c", &[b"", b"MDPC01", b"mmi.service", b"queued"]);
    assert_eq!(h.take_one().1.last().unwrap(), "404");
    assert_eq!(h.state.stats().mmi, 7);
}

#[test]
fn a_worker_offering_an_mmi_service_is_disconnected() {
    let mut h = Harness::new();
    h.ready02("w", "mmi.service");
    assert_eq!(h.take_one().1, frames(&[b"MDPW02", &[6]]));
    assert_eq!(h.state.worker_count(), 0);
    h.send("c", &[b"", b"MDPC01", b"mmi.service", b"mmi.service"]);
    assert_eq!(h.take_one().1.last().unwrap(), "404");
}

#[test]
fn a_client_request_from_a_worker_s_connection_is_served() {
    let mut h = Harness::new();
    h.ready01("w", "s");
    h.ready01("v", "t");
    h.request01("w", "t", b"x");
    assert_eq!(h.take_one().0, "v");
    assert_eq!(h.state.worker_count(), 2, "w is still a worker");
}

/// Rejects requests whose body is "no", discards those whose body is "drop";
/// replaces reply bodies "secret", discards "hide".
struct Picky;

impl Policy for Picky {
    fn on_request(&mut self, request: &RequestView<'_>) -> Verdict {
        match request.body.first().map(|f| f.as_ref()) {
            Some(b"no") => Verdict::Reject(vec![Bytes::from_static(b"403")]),
            Some(b"drop") => Verdict::Discard,
            _ => Verdict::Forward,
        }
    }

    fn on_reply(&mut self, reply: &ReplyView<'_>) -> Verdict {
        match reply.body.first().map(|f| f.as_ref()) {
            Some(b"secret") => Verdict::Reject(vec![Bytes::from_static(b"redacted")]),
            Some(b"hide") => Verdict::Discard,
            _ => Verdict::Forward,
        }
    }
}

#[test]
fn the_policy_rejects_and_discards_requests_and_replies() {
    let mut h = Harness::with(BrokerState::with_policy(config(), Box::new(Picky)));
    h.ready02("w", "s");
    h.request02("c", "s", b"no");
    assert_eq!(
        h.take_one(),
        (b(b"c"), frames(&[b"MDPC02", &[3], b"s", b"403"]))
    );
    h.request02("c", "s", b"drop");
    assert!(h.take().is_empty());
    h.request02("c", "s", b"ok");
    assert_eq!(h.take_one().0, "w");
    h.send("w", &[b"MDPW02", &[3], b"c", b"", b"secret"]);
    assert_eq!(
        h.take_one().1,
        frames(&[b"MDPC02", &[2], b"s", b"redacted"])
    );
    h.send("w", &[b"MDPW02", &[4], b"c", b"", b"hide"]);
    assert!(h.take().is_empty());
    // The discarded FINAL still freed the worker.
    h.request02("c", "s", b"ok");
    assert_eq!(h.take_one().0, "w");
    let s = h.state.stats().totals;
    assert_eq!((s.rejected, s.discarded, s.requests), (2, 2, 2));
}

#[test]
fn token_auth_rejects_unknown_tokens() {
    let policy = super::TokenAuth::new(["t0k"]);
    let mut h = Harness::with(BrokerState::with_policy(config(), Box::new(policy)));
    h.ready01("w", "s");
    h.request01("c", "s", b"wrong");
    assert_eq!(
        h.take_one().1,
        frames(&[b"", b"MDPC01", b"s", b"401", b"unauthorized: unknown token"])
    );
    h.request01("c", "s", b"t0k");
    assert_eq!(h.take_one().0, "w");
}

#[test]
fn huge_durations_and_a_zero_heartbeat_are_safe() {
    let config = BrokerConfig {
        heartbeat: Duration::ZERO,
        request_ttl: Duration::MAX,
        liveness: u32::MAX,
        ..config()
    };
    let mut h = Harness::with(BrokerState::new(config));
    h.ready01("w", "s");
    h.request01("c", "t", b"x");
    assert!(h.state.next_deadline().unwrap() > h.now);
    h.advance(Duration::from_millis(5));
    assert_eq!(h.state.stats().totals.queued, 1);
}

mod properties {
    use super::*;
    use crate::mdp::{ClientReply, WorkerCommand, WorkerMessage};
    use proptest::prelude::*;

    /// One step of a peer or of the clock.
    #[derive(Debug, Clone)]
    enum Step {
        Ready {
            peer: u8,
            v02: bool,
            service: u8,
        },
        Request {
            peer: u8,
            v02: bool,
            service: u8,
        },
        Reply {
            peer: u8,
            v02: bool,
            client: u8,
            last: bool,
        },
        Heartbeat {
            peer: u8,
            v02: bool,
        },
        Disconnect {
            peer: u8,
            v02: bool,
        },
        Raw {
            peer: u8,
            frames: Vec<Vec<u8>>,
        },
        Wait {
            millis: u16,
        },
    }

    const SERVICES: [&[u8]; 3] = [b"a", b"b", b"mmi.service"];

    fn step() -> impl Strategy<Value = Step> {
        let peer = 0u8..6;
        prop_oneof![
            (peer.clone(), any::<bool>(), 0u8..3).prop_map(|(peer, v02, service)| Step::Ready {
                peer,
                v02,
                service
            }),
            (peer.clone(), any::<bool>(), 0u8..3).prop_map(|(peer, v02, service)| Step::Request {
                peer,
                v02,
                service
            }),
            (peer.clone(), any::<bool>(), 0u8..6, any::<bool>()).prop_map(
                |(peer, v02, client, last)| Step::Reply {
                    peer,
                    v02,
                    client,
                    last
                }
            ),
            (peer.clone(), any::<bool>()).prop_map(|(peer, v02)| Step::Heartbeat { peer, v02 }),
            (peer.clone(), any::<bool>()).prop_map(|(peer, v02)| Step::Disconnect { peer, v02 }),
            (
                peer,
                proptest::collection::vec(proptest::collection::vec(0u8..8, 0..4), 0..5)
            )
                .prop_map(|(peer, frames)| Step::Raw { peer, frames }),
            (0u16..400).prop_map(|millis| Step::Wait { millis }),
        ]
    }

    fn name(peer: u8) -> String {
        format!("p{peer}")
    }

    fn worker(v02: bool, command: &[u8]) -> Vec<Vec<u8>> {
        if v02 {
            vec![b"MDPW02".to_vec(), command.to_vec()]
        } else {
            vec![vec![], b"MDPW01".to_vec(), command.to_vec()]
        }
    }

    fn apply(h: &mut Harness, step: &Step) -> Option<u8> {
        let (peer, frames) = match step {
            Step::Ready { peer, v02, service } => {
                let mut frames = worker(*v02, &[1]);
                frames.push(SERVICES[usize::from(*service)].to_vec());
                (*peer, frames)
            }
            Step::Request { peer, v02, service } => {
                let service = SERVICES[usize::from(*service) % 2].to_vec();
                let frames = if *v02 {
                    vec![b"MDPC02".to_vec(), vec![1], service, b"x".to_vec()]
                } else {
                    vec![vec![], b"MDPC01".to_vec(), service, b"x".to_vec()]
                };
                (*peer, frames)
            }
            Step::Reply {
                peer,
                v02,
                client,
                last,
            } => {
                let command = match (v02, last) {
                    (false, _) => 3,
                    (true, false) => 3,
                    (true, true) => 4,
                };
                let mut frames = worker(*v02, &[command]);
                frames.extend([name(*client).into_bytes(), vec![], b"r".to_vec()]);
                (*peer, frames)
            }
            Step::Heartbeat { peer, v02 } => (*peer, worker(*v02, &[if *v02 { 5 } else { 4 }])),
            Step::Disconnect { peer, v02 } => (*peer, worker(*v02, &[if *v02 { 6 } else { 5 }])),
            Step::Raw { peer, frames } => (*peer, frames.clone()),
            Step::Wait { .. } => return None,
        };
        let parts: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
        h.send(&name(peer), &parts);
        Some(peer)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Whatever peers do: every message out is well-formed MDP, a worker
        /// command other than DISCONNECT goes only to a registered worker and never
        /// after a DISCONNECT to it in the same step, and the queues keep their bounds.
        #[test]
        fn the_broker_keeps_its_invariants(steps in proptest::collection::vec(step(), 0..60)) {
            let mut h = Harness::new();
            for step in &steps {
                if let Step::Wait { millis } = step {
                    // Tick at each deadline on the way, as the socket loop does.
                    let until = h.now + Duration::from_millis(u64::from(*millis));
                    while let Some(at) = h.state.next_deadline().filter(|at| *at <= until) {
                        h.now = at.max(h.now);
                        h.state.on_tick(h.now);
                        check(&mut h)?;
                    }
                    h.now = until;
                    continue;
                }
                apply(&mut h, step);
                check(&mut h)?;
            }
        }
    }

    /// The invariants after one input.
    fn check(h: &mut Harness) -> Result<(), TestCaseError> {
        let mut disconnected = std::collections::HashSet::new();
        for (peer, frames) in h.take() {
            if ClientReply::parse(&frames).is_ok() {
                continue;
            }
            let message = WorkerMessage::parse(&frames);
            prop_assert!(message.is_ok(), "not MDP: {:?}", frames);
            match message.map(|m| m.command) {
                Ok(WorkerCommand::Disconnect) => {
                    disconnected.insert(peer);
                }
                Ok(WorkerCommand::Request { .. } | WorkerCommand::Heartbeat) => {
                    prop_assert!(!disconnected.contains(&peer), "sent after DISCONNECT");
                    prop_assert!(
                        h.state.is_worker(&peer),
                        "to a non-worker: {:?} {:?}",
                        peer,
                        frames
                    );
                }
                other => prop_assert!(false, "the broker sent {:?}", other),
            }
        }
        let stats = h.state.stats();
        prop_assert!(stats.totals.queued <= 100 + 6);
        for service in stats.services.values() {
            prop_assert!(service.queued <= 3 + 6);
        }
        prop_assert!(h.state.service_count() as u64 <= stats.totals.workers + stats.totals.queued);
        Ok(())
    }
}
