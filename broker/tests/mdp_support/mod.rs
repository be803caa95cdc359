//! A raw ROUTER playing the broker's part, for the client and worker tests: it
//! shows exactly which frames the library puts on the wire.

#![allow(dead_code)]

use std::time::Duration;

use bytes::Bytes;
use purezmq::{Message, Socket, SocketType};

/// Long enough for a loaded machine; tests that pass do not wait for it.
pub const LIMIT: Duration = Duration::from_secs(10);

/// Frames from string slices.
pub fn frames(parts: &[&[u8]]) -> Vec<Bytes> {
    parts
        .iter()
        .map(|part| Bytes::copy_from_slice(part))
        .collect()
}

/// A ROUTER bound on a free TCP port.
pub struct FakeBroker {
    pub router: Socket,
    pub endpoint: String,
}

impl FakeBroker {
    pub fn bind() -> FakeBroker {
        let router = Socket::new(SocketType::Router);
        router.bind("tcp://127.0.0.1:*").unwrap();
        let endpoint = router.last_endpoint();
        FakeBroker { router, endpoint }
    }

    /// The next message, routing id first; panics after [`LIMIT`].
    pub async fn recv(&self) -> Vec<Bytes> {
        let message = tokio::time::timeout(LIMIT, self.router.recv())
            .await
            .expect("the fake broker got nothing in time")
            .unwrap();
        message.frames().to_vec()
    }

    /// The next message within `limit`, if any.
    pub async fn recv_within(&self, limit: Duration) -> Option<Vec<Bytes>> {
        tokio::time::timeout(limit, self.router.recv())
            .await
            .ok()
            .map(|message| message.unwrap().frames().to_vec())
    }

    /// Sends `frames` to the peer with routing id `to`.
    pub async fn send(&self, to: &Bytes, frames: &[Bytes]) {
        let message: Message = std::iter::once(to.clone())
            .chain(frames.iter().cloned())
            .collect();
        self.router.send(message).await.unwrap();
    }
}

/// An endpoint where nothing listens.
pub fn dead_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("tcp://127.0.0.1:{port}")
}
