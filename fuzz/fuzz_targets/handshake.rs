//! A whole connection, greeting to messages, fed arbitrary peer bytes.
//!
//! Input: one octet choosing our socket type (low nibble), mechanism (bits 4-5: NULL,
//! NULL asking for authentication, PLAIN client, PLAIN server asking for
//! authentication) and whether authentication accepts (bit 6); one octet choosing the
//! size of the pieces the peer's bytes arrive in; then the peer's bytes. Time advances
//! 50 ms per piece so deadlines fire too. Nothing may panic, and a failed connection
//! must stay failed.
#![no_main]

use std::hint::black_box;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use purezmq_zmtp::mechanism::{Mechanism, Null, PlainClient, PlainServer};
use purezmq_zmtp::{
    AuthReply, Config, Connection, Event, HeartbeatConfig, Instant, Message, SocketType,
};

fuzz_target!(|data: &[u8]| {
    let [setup, piece, peer @ ..] = data else {
        return;
    };
    let socket_type = SocketType::ALL[usize::from(setup & 0x0F) % SocketType::ALL.len()];
    let mechanism: Box<dyn Mechanism> = match (setup >> 4) & 0b11 {
        0 => Box::new(Null::new()),
        1 => Box::new(Null::with_authentication()),
        2 => Box::new(PlainClient::new("admin", "secret")),
        _ => Box::new(PlainServer::with_authentication()),
    };
    let accept = setup & 0x40 != 0;
    let mut config = Config::new(socket_type);
    config.max_message_size = Some(1024);
    config.heartbeat = HeartbeatConfig {
        interval: Some(Duration::from_millis(100)),
        timeout: Some(Duration::from_millis(300)),
        ttl: Some(Duration::from_secs(1)),
    };
    config.handshake_timeout = Some(Duration::from_secs(2));
    let mut conn = Connection::new(config, mechanism, Instant::ZERO);

    let mut now = Instant::ZERO;
    for chunk in peer.chunks(usize::from(*piece).max(1)) {
        now = now + Duration::from_millis(50);
        let mut result = conn.feed(chunk, now);
        while let Some(event) = conn.poll_event() {
            if let Event::AuthenticationRequested(_) = event {
                let reply = if accept {
                    AuthReply::accept("user")
                } else {
                    AuthReply::deny(400, "no")
                };
                result = result.and(conn.auth_reply(reply, now));
            }
            black_box(event);
        }
        if conn.is_ready() {
            let _ = conn.send(&Message::from("reply"));
            let _ = conn.subscribe(b"topic");
        }
        if conn.poll_timeout().is_some_and(|at| at <= now) {
            result = result.and(conn.handle_timeout(now));
        }
        black_box(conn.send_buffer().take_all());
        if result.is_err() {
            assert!(
                conn.failure().is_some(),
                "an error leaves the connection failed"
            );
            assert!(
                conn.feed(b"more", now).is_err(),
                "a failed connection stays failed"
            );
            return;
        }
    }
});
