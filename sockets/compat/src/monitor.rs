//! `zmq_socket_monitor`: a socket's events as two-frame messages on a PAIR.

use bytes::Bytes;
use purezmq::monitor::EventKind;

use crate::context::{RUNTIME, public_endpoint};
use crate::error::{Error, Result, from_purezmq};
use crate::socket::Socket;

/// The events [`Socket::monitor`] reports, with libzmq's numbers. The first frame
/// of each event message holds the number as a native-endian `u16`, then a
/// native-endian `u32` value; the second frame is the endpoint.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SocketEvent {
    /// A connect reached its peer.
    CONNECTED = 0x0001,
    /// A connect did not complete at once and is pending.
    CONNECT_DELAYED = 0x0002,
    /// A connect will be tried again; the value is the interval in ms.
    CONNECT_RETRIED = 0x0004,
    /// A bind is accepting connections.
    LISTENING = 0x0008,
    /// A bind failed.
    BIND_FAILED = 0x0010,
    /// A bound endpoint accepted a connection.
    ACCEPTED = 0x0020,
    /// Accepting a connection failed.
    ACCEPT_FAILED = 0x0040,
    /// A listener was closed.
    CLOSED = 0x0080,
    /// Closing a listener failed (purezmq never reports it).
    CLOSE_FAILED = 0x0100,
    /// A connection ended.
    DISCONNECTED = 0x0200,
    /// The monitored socket was closed: the last event.
    MONITOR_STOPPED = 0x0400,
    /// The handshake failed, e.g. the peer went away or took too long.
    HANDSHAKE_FAILED_NO_DETAIL = 0x0800,
    /// The handshake completed; messages may flow.
    HANDSHAKE_SUCCEEDED = 0x1000,
    /// The peer broke ZMTP during the handshake.
    HANDSHAKE_FAILED_PROTOCOL = 0x2000,
    /// Authentication failed; the value is the ZAP status code.
    HANDSHAKE_FAILED_AUTH = 0x4000,
    /// Every event (as a mask for [`Socket::monitor`]).
    ALL = 0xFFFF,
}

const EVENTS: [SocketEvent; 16] = [
    SocketEvent::CONNECTED,
    SocketEvent::CONNECT_DELAYED,
    SocketEvent::CONNECT_RETRIED,
    SocketEvent::LISTENING,
    SocketEvent::BIND_FAILED,
    SocketEvent::ACCEPTED,
    SocketEvent::ACCEPT_FAILED,
    SocketEvent::CLOSED,
    SocketEvent::CLOSE_FAILED,
    SocketEvent::DISCONNECTED,
    SocketEvent::MONITOR_STOPPED,
    SocketEvent::HANDSHAKE_FAILED_NO_DETAIL,
    SocketEvent::HANDSHAKE_SUCCEEDED,
    SocketEvent::HANDSHAKE_FAILED_PROTOCOL,
    SocketEvent::HANDSHAKE_FAILED_AUTH,
    SocketEvent::ALL,
];

impl SocketEvent {
    /// The event's number.
    pub fn to_raw(self) -> u16 {
        self as u16
    }

    /// The event with this number.
    ///
    /// # Panics
    ///
    /// On a number that is no event, as the `zmq` crate does.
    pub fn from_raw(raw: u16) -> SocketEvent {
        match EVENTS.iter().find(|event| event.to_raw() == raw) {
            Some(event) => *event,
            None => panic!("unknown event type {raw}"),
        }
    }
}

/// libzmq's `ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED`.
const PROTOCOL_ERROR_UNSPECIFIED: u32 = 0x1000_0000;

/// The event number and value libzmq would publish, if it has the event.
fn libzmq_event(kind: &EventKind) -> Option<(SocketEvent, u32)> {
    Some(match kind {
        EventKind::Connected => (SocketEvent::CONNECTED, 0),
        EventKind::ConnectDelayed => (SocketEvent::CONNECT_DELAYED, 0),
        EventKind::ConnectRetried(ivl) => (
            SocketEvent::CONNECT_RETRIED,
            u32::try_from(ivl.as_millis()).unwrap_or(u32::MAX),
        ),
        EventKind::Listening => (SocketEvent::LISTENING, 0),
        EventKind::BindFailed(_) => (SocketEvent::BIND_FAILED, 0),
        EventKind::Accepted => (SocketEvent::ACCEPTED, 0),
        EventKind::AcceptFailed(_) => (SocketEvent::ACCEPT_FAILED, 0),
        EventKind::Closed => (SocketEvent::CLOSED, 0),
        EventKind::Disconnected => (SocketEvent::DISCONNECTED, 0),
        EventKind::HandshakeSucceeded => (SocketEvent::HANDSHAKE_SUCCEEDED, 0),
        EventKind::HandshakeFailedNoDetail(_) => (SocketEvent::HANDSHAKE_FAILED_NO_DETAIL, 0),
        EventKind::HandshakeFailedProtocol(_) => (
            SocketEvent::HANDSHAKE_FAILED_PROTOCOL,
            PROTOCOL_ERROR_UNSPECIFIED,
        ),
        EventKind::HandshakeFailedAuth { status_code, .. } => {
            (SocketEvent::HANDSHAKE_FAILED_AUTH, u32::from(*status_code))
        }
        // Not one of libzmq's events (a DISCONNECTED follows), or a new kind.
        _ => return None,
    })
}

/// One event as libzmq frames it.
fn event_message(event: SocketEvent, value: u32, endpoint: &str) -> purezmq::Message {
    let mut head = Vec::with_capacity(6);
    head.extend_from_slice(&event.to_raw().to_ne_bytes());
    head.extend_from_slice(&value.to_ne_bytes());
    purezmq::Message::from(vec![
        Bytes::from(head),
        Bytes::copy_from_slice(endpoint.as_bytes()),
    ])
}

impl Socket {
    /// Publishes this socket's events from now on, those in the mask `events`
    /// (e.g. `SocketEvent::ALL as i32`), on a PAIR socket bound at
    /// `monitor_endpoint`, which must be `inproc://` (else `EPROTONOSUPPORT`).
    /// Connect a PAIR to it to read them. The last event is MONITOR_STOPPED, when
    /// this socket is closed.
    pub fn monitor(&self, monitor_endpoint: &str, events: i32) -> Result<()> {
        self.check_term()?;
        if !monitor_endpoint.starts_with("inproc://") {
            return Err(Error::EPROTONOSUPPORT);
        }
        let publisher = purezmq::Socket::new(purezmq::SocketType::Pair);
        publisher
            .set_options(|o| o.linger = Some(std::time::Duration::ZERO))
            .map_err(from_purezmq)?;
        {
            let _runtime = RUNTIME.enter();
            let native = self.context.inner.native_endpoint(monitor_endpoint);
            publisher.bind(&native).map_err(from_purezmq)?;
        }
        let mask = events as u32;
        let wanted = move |event: SocketEvent| u32::from(event.to_raw()) & mask != 0;
        let mut stream = self.inner().monitor();
        let prefix = self.context.inner.inproc_prefix();
        RUNTIME.spawn(async move {
            // Listeners still open: closing the socket closes them, and libzmq
            // reports each as CLOSED before MONITOR_STOPPED.
            let mut listening: Vec<String> = Vec::new();
            while let Some(mut event) = stream.recv().await {
                event.endpoint = public_endpoint(&prefix, event.endpoint);
                let Some((kind, value)) = libzmq_event(&event.kind) else {
                    continue;
                };
                match kind {
                    SocketEvent::LISTENING => listening.push(event.endpoint.clone()),
                    SocketEvent::CLOSED => listening.retain(|e| *e != event.endpoint),
                    _ => {}
                }
                if wanted(kind)
                    && publisher
                        .send(event_message(kind, value, &event.endpoint))
                        .await
                        .is_err()
                {
                    return;
                }
            }
            if wanted(SocketEvent::CLOSED) {
                for endpoint in listening {
                    let closed = event_message(SocketEvent::CLOSED, 0, &endpoint);
                    let _ = publisher.send(closed).await;
                }
            }
            if wanted(SocketEvent::MONITOR_STOPPED) {
                let stopped = event_message(SocketEvent::MONITOR_STOPPED, 0, "");
                let _ = publisher.send(stopped).await;
            }
            publisher.close().await;
        });
        Ok(())
    }
}
