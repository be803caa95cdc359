//! The harness behind the `curve_server` and `curve_client` targets: the connection
//! under test talks CURVE to an honest peer through a man in the middle that the
//! input steers.
//!
//! Random bytes never open a box, so the honest peer (fixed keys, a deterministic
//! random number generator) provides valid handshakes and MESSAGEs, and the input
//! decides what happens to them on the way: deliver, flip a bit, truncate, replay,
//! inject raw bytes, send messages and commands, let time pass. With bit 7 of the setup
//! octet the peer is silenced and only injected bytes arrive (arbitrary input from the
//! first octet).
//!
//! Input: a setup octet (socket pair in bits 0-2, the server authenticates in bit 3,
//! authentication accepts in bit 4, peer silenced in bit 7), then operations.
//!
//! Checked, besides "nothing panics": a failed connection stays failed; every message
//! the connection under test delivers is one the honest peer sent, in order, at most
//! once (no forgery, no replay, no reordering gets through); and without tampering,
//! time or refusal, the honest exchange never fails.

#![allow(dead_code)] // each target uses one Role

use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use purezmq_curve::rand_core::{CryptoRng, RngCore};
use purezmq_curve::{CurveClient, CurveServer, KeyPair, SecretKey};
use purezmq_zmtp::mechanism::Mechanism;
use purezmq_zmtp::{
    AuthReply, Config, Connection, Event, HeartbeatConfig, Instant, Message, SocketType,
};

/// Which side of the exchange is under test.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Server,
    Client,
}

/// splitmix64: deterministic, so that a crash replays. Not a CSPRNG; only the fuzzer
/// uses it.
struct FuzzRng(u64);

impl RngCore for FuzzRng {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let n = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&n[..chunk.len()]);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), purezmq_curve::rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for FuzzRng {}

const PAIRS: [(SocketType, SocketType); 8] = [
    (SocketType::Req, SocketType::Rep),
    (SocketType::Dealer, SocketType::Router),
    (SocketType::Push, SocketType::Pull),
    (SocketType::Pair, SocketType::Pair),
    (SocketType::Sub, SocketType::Pub),
    (SocketType::XSub, SocketType::XPub),
    (SocketType::Dealer, SocketType::Rep),
    (SocketType::Req, SocketType::Router),
];

fn config(ty: SocketType) -> Config {
    let mut config = Config::new(ty);
    config.max_message_size = Some(4096);
    config.heartbeat = HeartbeatConfig {
        interval: Some(Duration::from_millis(100)),
        timeout: Some(Duration::from_millis(300)),
        ttl: Some(Duration::from_secs(1)),
    };
    config.handshake_timeout = Some(Duration::from_secs(2));
    config
}

/// Reads the input an octet at a time; zeros once it runs out.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(first)
    }

    fn bytes(&mut self, max: usize) -> &[u8] {
        let n = usize::from(self.byte().unwrap_or(0)) % (max + 1);
        let n = n.min(self.0.len());
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        taken
    }
}

pub fn run(data: &[u8], role: Role) {
    let mut input = Input(data);
    let Some(setup) = input.byte() else {
        return;
    };
    let (client_ty, server_ty) = PAIRS[usize::from(setup & 0b111)];
    let authenticate = setup & 0x08 != 0;
    let accept = setup & 0x10 != 0;
    let silent_peer = setup & 0x80 != 0;

    let server_keys = KeyPair::from_secret(SecretKey::from_bytes([0x5A; 32]));
    let client_keys = KeyPair::from_secret(SecretKey::from_bytes([0xC3; 32]));
    let server_public = *server_keys.public();
    let client: Box<dyn Mechanism> = Box::new(CurveClient::with_rng(
        client_keys,
        server_public,
        Box::new(FuzzRng(u64::from(setup))),
    ));
    let server: Box<dyn Mechanism> = Box::new(
        CurveServer::with_rng(server_keys, Box::new(FuzzRng(!u64::from(setup))))
            .authenticating(authenticate),
    );
    let client = Connection::new(config(client_ty), client, Instant::ZERO);
    let server = Connection::new(config(server_ty), server, Instant::ZERO);
    let (mut target, mut peer) = match role {
        Role::Server => (server, client),
        Role::Client => (client, server),
    };

    let mut now = Instant::ZERO;
    // The peer's bytes on their way to the target.
    let mut pending: Vec<u8> = Vec::new();
    let mut last_delivered: Vec<u8> = Vec::new();
    let mut sent: Vec<Message> = Vec::new();
    let mut delivered_up_to = 0;
    // Whether anything but an honest exchange has happened.
    let mut disturbed = silent_peer || (authenticate && !accept);

    while let Some(op) = input.byte() {
        if !silent_peer {
            pending.extend_from_slice(&peer.send_buffer().take_all());
        } else {
            black_box(peer.send_buffer().take_all());
        }
        let mut result = Ok(());
        match op % 8 {
            0 => {
                if !pending.is_empty() {
                    result = target.feed(&pending, now);
                    last_delivered = std::mem::take(&mut pending);
                }
            }
            1 => {
                let k = input.byte().unwrap_or(0);
                if !pending.is_empty() {
                    let at = usize::from(k) * 7 % pending.len();
                    pending[at] ^= 1 << (k & 7);
                    disturbed = true;
                }
            }
            2 => {
                let body = Bytes::copy_from_slice(input.bytes(64));
                if peer.is_ready() {
                    let message = if body.len() > 1 && body[0] & 1 == 1 {
                        let mid = body.len() / 2;
                        Message::from(vec![body.slice(..mid), body.slice(mid..)])
                    } else {
                        Message::from(body)
                    };
                    if peer.send(&message).is_ok() {
                        sent.push(message);
                    }
                }
            }
            3 => {
                pending.extend_from_slice(&last_delivered);
                disturbed |= !last_delivered.is_empty();
            }
            4 => {
                let cut = usize::from(input.byte().unwrap_or(0)) % (pending.len() + 1);
                pending.truncate(pending.len() - cut);
                disturbed |= cut > 0;
            }
            5 => {
                let topic = input.bytes(16).to_vec();
                if peer.is_ready() {
                    let _ = if topic.first() == Some(&0) {
                        peer.cancel(&topic)
                    } else {
                        peer.subscribe(&topic)
                    };
                }
            }
            6 => {
                now = now + Duration::from_millis(10 * u64::from(input.byte().unwrap_or(0)));
                disturbed = true;
                if target.poll_timeout().is_some_and(|at| at <= now) {
                    result = target.handle_timeout(now);
                }
                if peer.poll_timeout().is_some_and(|at| at <= now) {
                    let _ = peer.handle_timeout(now);
                }
            }
            _ => {
                pending.extend_from_slice(input.bytes(64));
                disturbed = true;
            }
        }

        // The target's side: answer authentication, check what it delivers, reply.
        while let Some(event) = target.poll_event() {
            match &event {
                Event::AuthenticationRequested(_) => {
                    let reply = if accept {
                        AuthReply::accept("client")
                    } else {
                        AuthReply::deny(400, "refused")
                    };
                    result = result.and(target.auth_reply(reply, now));
                }
                Event::Message(message) => {
                    let found = sent[delivered_up_to..].iter().position(|m| m == message);
                    let Some(offset) = found else {
                        panic!(
                            "delivered a message the peer did not send (or sent again): {message:?}"
                        );
                    };
                    delivered_up_to += offset + 1;
                }
                _ => {}
            }
            black_box(event);
        }
        if target.is_ready() && op & 0x80 != 0 {
            let _ = target.send(&Message::from("reply"));
        }

        // The peer hears the target; its failures (after tampering) do not matter.
        let to_peer = target.send_buffer().take_all();
        if !to_peer.is_empty() {
            let _ = peer.feed(&to_peer, now);
            while let Some(event) = peer.poll_event() {
                if let Event::AuthenticationRequested(_) = event {
                    let reply = if accept {
                        AuthReply::accept("client")
                    } else {
                        AuthReply::deny(400, "refused")
                    };
                    let _ = peer.auth_reply(reply, now);
                }
            }
        }

        if let Err(error) = result {
            assert!(
                disturbed,
                "an honest exchange failed: {error} (role server: {})",
                role == Role::Server
            );
            assert!(
                target.failure().is_some(),
                "an error leaves the connection failed"
            );
            assert!(
                target.feed(b"more", now).is_err(),
                "a failed connection stays failed"
            );
            return;
        }
    }
}
