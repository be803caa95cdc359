//! The broker's state machine driven by arbitrary peers: a sequence of steps, each
//! a message from one of eight peers (well-formed MDP built from a few bytes, or
//! raw frames) or time passing. Checked after every step:
//!
//! - nothing panics;
//! - every message out goes to one of the peers and is well-formed MDP: a
//!   client reply, or a worker REQUEST, HEARTBEAT or DISCONNECT;
//! - a worker command other than DISCONNECT goes only to a peer that has sent
//!   READY since it was last disconnected (by the broker or by itself), that the
//!   broker still holds as a worker, and in the version of that READY: nothing is
//!   sent to a worker after a DISCONNECT, nor to one it has just expired;
//! - the queues stay within their bounds.
#![no_main]

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use purezmq::Message;
use purezmq_broker::broker::{BrokerConfig, BrokerState, Policy, ReplyView, RequestView, Verdict};
use purezmq_broker::mdp::{ClientReply, Version, WorkerCommand, WorkerMessage, mmi};

const PEERS: usize = 8;
const SERVICES: [&[u8]; 5] = [b"echo", b"db", b"mmi.service", b"mmi.services", b"mmi.x"];

/// Rejects requests whose body starts with "r", discards "d"; the same for replies.
struct Picky;

impl Policy for Picky {
    fn on_request(&mut self, request: &RequestView<'_>) -> Verdict {
        verdict(request.body)
    }

    fn on_reply(&mut self, reply: &ReplyView<'_>) -> Verdict {
        verdict(reply.body)
    }
}

fn verdict(body: &[Bytes]) -> Verdict {
    match body.first().map(|f| f.as_ref()) {
        Some(b"r") => Verdict::Reject(vec![Bytes::from_static(b"no")]),
        Some(b"d") => Verdict::Discard,
        _ => Verdict::Forward,
    }
}

/// What the fuzzer knows of each peer as a worker.
#[derive(Clone, Copy, Default)]
struct PeerModel {
    /// The version of its READY, while the broker may consider it registered.
    registered: Option<Version>,
}

struct Input<'a> {
    data: &'a [u8],
}

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&first, rest) = self.data.split_first()?;
        self.data = rest;
        Some(first)
    }

    fn bytes(&mut self) -> Option<Bytes> {
        let len = usize::from(self.byte()? % 8).min(self.data.len());
        let (frame, rest) = self.data.split_at(len);
        self.data = rest;
        Some(Bytes::copy_from_slice(frame))
    }
}

fn peer_id(index: usize) -> Bytes {
    Bytes::from(vec![0, b'p', index as u8])
}

fn header(version: Version, worker: bool, delimited: bool) -> Vec<Bytes> {
    let mut frames = Vec::new();
    if delimited || version == Version::V01 {
        frames.push(Bytes::new());
    }
    frames.push(Bytes::from_static(if worker {
        version.worker_header()
    } else {
        version.client_header()
    }));
    frames
}

fuzz_target!(|data: &[u8]| {
    let config = BrokerConfig {
        heartbeat: Duration::from_millis(100),
        liveness: 3,
        max_queue: 4,
        max_queued_total: 16,
        request_ttl: Duration::from_millis(500),
    };
    let mut state = BrokerState::with_policy(config.clone(), Box::new(Picky));
    let mut now = Instant::now();
    let mut peers = [PeerModel::default(); PEERS];
    let mut out: VecDeque<Message> = VecDeque::new();
    let mut input = Input { data };
    let mut steps = 0;
    while let Some(op) = input.byte() {
        steps += 1;
        if steps > 256 {
            break;
        }
        let peer = usize::from(op & 7);
        let version = if op & 8 == 0 {
            Version::V01
        } else {
            Version::V02
        };
        let delimited = op & 16 != 0;
        let Some(arg) = input.byte() else { break };
        let frames: Vec<Bytes> = match op >> 5 {
            0 => {
                // READY
                let mut frames = header(version, true, delimited);
                frames.push(Bytes::from_static(&[1]));
                frames.push(Bytes::from_static(
                    SERVICES[usize::from(arg) % SERVICES.len()],
                ));
                frames
            }
            1 => {
                // A client request.
                let mut frames = header(version, false, delimited);
                if version == Version::V02 {
                    frames.push(Bytes::from_static(&[1]));
                }
                frames.push(Bytes::from_static(
                    SERVICES[usize::from(arg) % SERVICES.len()],
                ));
                for _ in 0..arg >> 6 {
                    frames.push(input.bytes().unwrap_or_default());
                }
                frames
            }
            2 => {
                // A reply (PARTIAL or final) for some peer as client.
                let mut frames = header(version, true, delimited);
                let command = match (version, arg & 1) {
                    (Version::V01, _) => 3,
                    (Version::V02, 0) => 3,
                    (Version::V02, _) => 4,
                };
                frames.push(Bytes::from(vec![command]));
                frames.push(peer_id(usize::from(arg >> 1) % PEERS));
                frames.push(Bytes::new());
                frames.push(input.bytes().unwrap_or_default());
                frames
            }
            3 | 4 | 5 => {
                // HEARTBEAT, DISCONNECT or a REQUEST (the broker's command).
                let mut frames = header(version, true, delimited);
                let (heartbeat, disconnect) = match version {
                    Version::V01 => (4, 5),
                    Version::V02 => (5, 6),
                };
                match op >> 5 {
                    3 => frames.push(Bytes::from(vec![heartbeat])),
                    4 => frames.push(Bytes::from(vec![disconnect])),
                    _ => {
                        frames.push(Bytes::from_static(&[2]));
                        frames.push(peer_id(usize::from(arg) % PEERS));
                        frames.push(Bytes::new());
                    }
                }
                frames
            }
            6 => {
                // Raw frames.
                let mut frames = Vec::new();
                for _ in 0..arg % 6 {
                    frames.push(input.bytes().unwrap_or_default());
                }
                frames
            }
            _ => {
                // Time passes.
                // Time passes, with a tick at each deadline on the way, as the
                // socket loop does.
                let until = now + Duration::from_millis(u64::from(arg) * 5);
                while let Some(at) = state.next_deadline().filter(|at| *at <= until) {
                    now = now.max(at);
                    state.on_tick(now);
                    check(&mut state, &mut out, &mut peers, &config);
                }
                now = until;
                continue;
            }
        };
        // The broker may forget a worker silently (it expired); never the reverse.
        if !state.is_worker(&peer_id(peer)) {
            peers[peer].registered = None;
        }
        // What the model learns from the peer's own message.
        if let Ok(message) = WorkerMessage::parse(&frames) {
            let model = &mut peers[peer];
            match message.command {
                WorkerCommand::Ready { service } => {
                    model.registered = if model.registered.is_some() || mmi::is_mmi(&service) {
                        None
                    } else {
                        Some(message.version)
                    };
                }
                WorkerCommand::Disconnect => model.registered = None,
                _ => {}
            }
        }
        state.on_message(now, peer_id(peer), &frames);
        check(&mut state, &mut out, &mut peers, &config);
    }
});

fn check(
    state: &mut BrokerState,
    out: &mut VecDeque<Message>,
    peers: &mut [PeerModel; PEERS],
    config: &BrokerConfig,
) {
    state.drain(out);
    for message in out.drain(..) {
        let frames = message.frames();
        assert!(frames.len() >= 2, "a message without a body: {frames:?}");
        let index = (0..PEERS)
            .find(|&i| peer_id(i) == frames[0])
            .unwrap_or_else(|| panic!("a message to an unknown peer: {frames:?}"));
        let body = &frames[1..];
        if let Ok(reply) = ClientReply::parse(body) {
            assert_eq!(reply.encode().ok().as_deref(), Some(body));
            continue;
        }
        let message = WorkerMessage::parse(body).unwrap_or_else(|e| {
            panic!("neither a client reply nor a worker command ({e}): {body:?}")
        });
        let model = &mut peers[index];
        match message.command {
            WorkerCommand::Disconnect => model.registered = None,
            WorkerCommand::Request { .. } | WorkerCommand::Heartbeat => {
                assert!(
                    state.is_worker(&frames[0]),
                    "{} to peer {index}, which the broker does not hold as a worker",
                    message.command.name()
                );
                assert_eq!(
                    model.registered,
                    Some(message.version),
                    "{} to peer {index}, which is not a registered worker of that version",
                    message.command.name()
                );
            }
            other => panic!("the broker sent a worker {}", other.name()),
        }
    }
    let stats = state.stats();
    assert!(stats.totals.queued as usize <= config.max_queued_total + PEERS);
    assert!(state.service_count() <= stats.totals.workers as usize + stats.totals.queued as usize);
    assert!(state.worker_count() <= PEERS);
}
