//! One ZMTP connection as a state machine without I/O.
//!
//! The caller moves bytes and time; the connection does everything else:
//!
//! - put received octets into [`recv_buffer`](Connection::recv_buffer) (or hand them to
//!   [`feed`](Connection::feed)) and call [`process`](Connection::process);
//! - write out what [`send_buffer`](Connection::send_buffer) holds;
//! - take [`Event`]s from [`poll_event`](Connection::poll_event);
//! - call [`handle_timeout`](Connection::handle_timeout) at the instant
//!   [`poll_timeout`](Connection::poll_timeout) names.
//!
//! Once any call returns an error the connection is dead: flush the send buffer (it may
//! hold an ERROR command for the peer) and close.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use bytes::{Buf, Bytes, BytesMut};
use core::time::Duration;

use crate::command::{self, Command, Ping};
use crate::error::Error;
use crate::frame::{COMMAND, Frame, FrameDecoder, MORE};
use crate::greeting::{Greeting, GreetingExchange, Version};
use crate::heartbeat::{Heartbeat, HeartbeatConfig};
use crate::mechanism::{AuthReply, AuthRequest, Context, Mechanism};
use crate::message::Message;
use crate::metadata::{IDENTITY, Metadata, SOCKET_TYPE};
use crate::send_buffer::SendBuffer;
use crate::socket_type::SocketType;
use crate::time::Instant;

/// libzmq's default HANDSHAKE_IVL.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// How a connection behaves, from our side.
#[derive(Clone, Debug)]
pub struct Config {
    /// Our socket type, announced in `Socket-Type` and checked against the peer's.
    pub socket_type: SocketType,
    /// Our routing id, announced in `Identity` by REQ, DEALER and ROUTER sockets.
    pub routing_id: Bytes,
    /// Extra properties for our READY or INITIATE (`X-` names by convention).
    pub properties: Metadata,
    /// The largest message accepted from the peer, in octets; `None` for no limit.
    pub max_message_size: Option<u64>,
    /// Heartbeat settings.
    pub heartbeat: HeartbeatConfig,
    /// How long the greeting and security handshake may take; `None` for ever.
    pub handshake_timeout: Option<Duration>,
}

impl Config {
    /// libzmq's defaults for a socket of this type.
    pub fn new(socket_type: SocketType) -> Config {
        Config {
            socket_type,
            routing_id: Bytes::new(),
            properties: Metadata::new(),
            max_message_size: None,
            heartbeat: HeartbeatConfig::default(),
            handshake_timeout: Some(DEFAULT_HANDSHAKE_TIMEOUT),
        }
    }
}

/// What the peer told us about itself in the handshake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerInfo {
    /// The ZMTP version of its greeting.
    pub version: Version,
    /// Its `Socket-Type`, if it announced a known one.
    pub socket_type: Option<SocketType>,
    /// Its `Identity`, if it announced a non-empty one.
    pub routing_id: Option<Bytes>,
    /// All properties of its READY or INITIATE.
    pub metadata: Metadata,
    /// The user id authentication gave it (empty without authentication).
    pub user_id: Bytes,
    /// Properties authentication gave it.
    pub auth_metadata: Metadata,
}

/// Something that happened on the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The handshake completed; messages may flow. (Boxed: it happens once, and
    /// keeps the events that happen per message small.)
    HandshakeSucceeded(Box<PeerInfo>),
    /// The mechanism needs the peer authenticated: answer with
    /// [`Connection::auth_reply`].
    AuthenticationRequested(AuthRequest),
    /// A whole message arrived.
    Message(Message),
    /// The peer subscribed to a topic (a SUBSCRIBE command, or from a ZMTP 3.0 peer a
    /// message starting with `0x01`, sent to a PUB or XPUB socket).
    Subscribe(Bytes),
    /// The peer cancelled a subscription.
    Cancel(Bytes),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Greeting,
    Handshake,
    Ready,
    Failed,
}

/// One ZMTP connection, from greeting to close.
pub struct Connection {
    socket_type: SocketType,
    local_metadata: Metadata,
    mechanism: Box<dyn Mechanism>,
    /// Cached `mechanism.encrypts()` once ready: checked for every frame.
    encrypts: bool,
    state: State,
    failure: Option<Error>,
    greeting: GreetingExchange,
    peer_version: Option<Version>,
    decoder: FrameDecoder,
    recv: BytesMut,
    send: SendBuffer,
    events: VecDeque<Event>,
    /// Frames of the message being received, and their total size.
    partial: Message,
    partial_size: u64,
    heartbeat: Heartbeat,
    handshake_deadline: Option<Instant>,
    handshake_timeout: Duration,
    auth: Option<AuthReply>,
}

impl core::fmt::Debug for Connection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("socket_type", &self.socket_type)
            .field("mechanism", &self.mechanism.name())
            .field("state", &self.state)
            .field("peer_version", &self.peer_version)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Starts a connection; its greeting's first stage is in the send buffer at once.
    pub fn new(config: Config, mechanism: Box<dyn Mechanism>, now: Instant) -> Connection {
        let mut local_metadata = Metadata::new();
        local_metadata.insert(SOCKET_TYPE, config.socket_type.as_str());
        if config.socket_type.announces_identity() {
            local_metadata.insert(IDENTITY, config.routing_id.clone());
        }
        for (name, value) in config.properties.iter() {
            local_metadata.insert(name.clone(), value.clone());
        }
        let mut greeting =
            GreetingExchange::new(&Greeting::new(mechanism.name(), mechanism.as_server()));
        let mut send = SendBuffer::new();
        send.push_raw(greeting.take_output());
        Connection {
            socket_type: config.socket_type,
            local_metadata,
            mechanism,
            encrypts: false,
            state: State::Greeting,
            failure: None,
            greeting,
            peer_version: None,
            decoder: FrameDecoder::new(config.max_message_size),
            recv: BytesMut::new(),
            send,
            events: VecDeque::new(),
            partial: Message::new(),
            partial_size: 0,
            heartbeat: Heartbeat::new(config.heartbeat),
            handshake_deadline: config.handshake_timeout.map(|t| now + t),
            handshake_timeout: config.handshake_timeout.unwrap_or_default(),
            auth: None,
        }
    }

    /// The buffer received octets go into, for reading straight from a socket; call
    /// [`process`](Self::process) after adding to it.
    pub fn recv_buffer(&mut self) -> &mut BytesMut {
        &mut self.recv
    }

    /// Copies `data` into the receive buffer and processes it.
    pub fn feed(&mut self, data: &[u8], now: Instant) -> Result<(), Error> {
        self.recv.extend_from_slice(data);
        self.process(now)
    }

    /// Processes everything in the receive buffer.
    pub fn process(&mut self, now: Instant) -> Result<(), Error> {
        self.check_alive()?;
        self.process_received(now).map_err(|e| self.fail(e))
    }

    /// The octets waiting to be written to the peer.
    pub fn send_buffer(&mut self) -> &mut SendBuffer {
        &mut self.send
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Whether the handshake has completed (and the connection not failed since).
    pub fn is_ready(&self) -> bool {
        self.state == State::Ready
    }

    /// The version the peer's greeting announced, once it has arrived.
    pub fn peer_version(&self) -> Option<Version> {
        self.peer_version
    }

    /// The error the connection failed with, if it has.
    pub fn failure(&self) -> Option<&Error> {
        self.failure.as_ref()
    }

    /// Queues one frame of a message; `more` says whether more frames of it follow.
    pub fn send_frame(&mut self, body: &Bytes, more: bool) -> Result<(), Error> {
        self.check_ready()?;
        self.push_frame(if more { MORE } else { 0 }, body);
        Ok(())
    }

    /// Queues a whole message. A message without frames sends nothing.
    pub fn send(&mut self, message: &Message) -> Result<(), Error> {
        self.check_ready()?;
        let frames = message.frames();
        for (i, frame) in frames.iter().enumerate() {
            let more = i + 1 < frames.len();
            self.push_frame(if more { MORE } else { 0 }, frame);
        }
        Ok(())
    }

    /// Subscribes to `topic`: a SUBSCRIBE command to a ZMTP 3.1 peer, a message
    /// `0x01 topic` to a ZMTP 3.0 peer.
    pub fn subscribe(&mut self, topic: &[u8]) -> Result<(), Error> {
        self.send_subscription(command::SUBSCRIBE, 1, topic)
    }

    /// Cancels a subscription: a CANCEL command to a ZMTP 3.1 peer, a message
    /// `0x00 topic` to a ZMTP 3.0 peer.
    pub fn cancel(&mut self, topic: &[u8]) -> Result<(), Error> {
        self.send_subscription(command::CANCEL, 0, topic)
    }

    /// Answers an [`Event::AuthenticationRequested`].
    pub fn auth_reply(&mut self, reply: AuthReply, now: Instant) -> Result<(), Error> {
        self.check_alive()?;
        let accepted = reply.is_accepted().then(|| reply.clone());
        let result = self.mechanism.auth_reply(reply).and_then(|()| {
            self.auth = accepted;
            self.pump_handshake(now)
        });
        result.map_err(|e| self.fail(e))
    }

    /// The instant at which [`handle_timeout`](Self::handle_timeout) must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Greeting | State::Handshake => self.handshake_deadline,
            State::Ready => self.heartbeat.deadline(),
            State::Failed => None,
        }
    }

    /// Acts on the deadlines due at `now`: fails a handshake that took too long or a
    /// silent peer, queues a PING when one is due.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), Error> {
        self.check_alive()?;
        match self.state {
            State::Ready => match self.heartbeat.poll(now) {
                Ok(Some(ping)) => {
                    self.push_frame(COMMAND, &ping.encode());
                    Ok(())
                }
                Ok(None) => Ok(()),
                Err(e) => Err(self.fail(e)),
            },
            _ if self.handshake_deadline.is_some_and(|at| now >= at) => {
                let limit = self.handshake_timeout;
                Err(self.fail(Error::HandshakeTimeout { limit }))
            }
            _ => Ok(()),
        }
    }

    fn check_alive(&self) -> Result<(), Error> {
        match &self.failure {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    fn check_ready(&self) -> Result<(), Error> {
        self.check_alive()?;
        if self.state == State::Ready {
            Ok(())
        } else {
            Err(Error::NotReady)
        }
    }

    /// Marks the connection failed; during the handshake, tells the peer why when the
    /// rules say so (ZAP codes 400 and 500, an incompatible socket type).
    fn fail(&mut self, error: Error) -> Error {
        if self.state == State::Handshake {
            let reason = match &error {
                Error::AuthenticationFailed { status_code, .. } if *status_code != 300 => {
                    Some(alloc::format!("{status_code}"))
                }
                Error::IncompatibleSocketType { .. } => Some("invalid socket type".into()),
                _ => None,
            };
            if let Some(reason) = reason {
                let command = self.mechanism.error_command(reason.as_bytes());
                self.send.push_frame(COMMAND, &command);
            }
        }
        self.state = State::Failed;
        self.failure = Some(error.clone());
        error
    }

    fn process_received(&mut self, now: Instant) -> Result<(), Error> {
        if self.state == State::Greeting {
            let (used, done) = self.greeting.receive(&self.recv)?;
            self.recv.advance(used);
            self.send.push_raw(self.greeting.take_output());
            let Some(peer) = done else {
                return Ok(());
            };
            if peer.mechanism != self.mechanism.name() {
                return Err(Error::MechanismMismatch {
                    ours: self.mechanism.name(),
                    peer: peer.mechanism,
                });
            }
            self.peer_version = Some(peer.version);
            self.state = State::Handshake;
            self.pump_handshake(now)?;
        }
        while let Some(frame) = self.decoder.decode(&mut self.recv)? {
            if self.state == State::Ready {
                self.ready_frame(frame, now)?;
            } else {
                self.handshake_frame(frame, now)?;
            }
        }
        Ok(())
    }

    fn handshake_frame(&mut self, frame: Frame, now: Instant) -> Result<(), Error> {
        if !frame.is_command() {
            return Err(Error::MessageDuringHandshake);
        }
        let ctx = Context {
            socket_type: self.socket_type,
            metadata: &self.local_metadata,
        };
        self.mechanism
            .process_command(&ctx, Command::parse(frame.body)?)?;
        self.pump_handshake(now)
    }

    /// Sends whatever the mechanism has to say, raises its authentication request, and
    /// completes the handshake when it is done.
    fn pump_handshake(&mut self, now: Instant) -> Result<(), Error> {
        if self.state != State::Handshake {
            return Ok(());
        }
        let ctx = Context {
            socket_type: self.socket_type,
            metadata: &self.local_metadata,
        };
        while let Some(command) = self.mechanism.next_command(&ctx) {
            self.send.push_frame(COMMAND, &command);
        }
        if let Some(request) = self.mechanism.auth_request() {
            self.events
                .push_back(Event::AuthenticationRequested(request));
        }
        if self.mechanism.is_ready() {
            self.finish_handshake(now);
        }
        Ok(())
    }

    fn finish_handshake(&mut self, now: Instant) {
        let metadata = self.mechanism.take_peer_metadata();
        let version = self.peer_version.unwrap_or(Version::V3_0);
        let auth = self.auth.take();
        let peer = PeerInfo {
            version,
            socket_type: metadata
                .get(SOCKET_TYPE)
                .and_then(|t| SocketType::from_wire(t)),
            routing_id: metadata.get(IDENTITY).filter(|id| !id.is_empty()).cloned(),
            metadata,
            user_id: auth.as_ref().map(|a| a.user_id.clone()).unwrap_or_default(),
            auth_metadata: auth.map(|a| a.metadata).unwrap_or_default(),
        };
        self.state = State::Ready;
        self.encrypts = self.mechanism.encrypts();
        self.handshake_deadline = None;
        // Heartbeats are ZMTP 3.1: a 3.0 peer would not know PING.
        if version.has_commands_of_3_1() {
            self.heartbeat.start(now);
        }
        self.events
            .push_back(Event::HandshakeSucceeded(Box::new(peer)));
    }

    fn ready_frame(&mut self, frame: Frame, now: Instant) -> Result<(), Error> {
        self.heartbeat.on_traffic();
        let frame = if self.encrypts {
            self.mechanism.decrypt(frame)?
        } else {
            frame
        };
        if frame.is_command() {
            return self.ready_command(frame.body, now);
        }
        let size = self.partial_size + frame.body.len() as u64;
        if let Some(max) = self.decoder.max_message_size().filter(|&max| size > max) {
            return Err(Error::MessageTooLarge { size, max });
        }
        let more = frame.more();
        self.partial.push(frame.body);
        if more {
            self.partial_size = size;
            return Ok(());
        }
        self.partial_size = 0;
        let message = core::mem::take(&mut self.partial);
        let event = match (message.frames(), self.socket_type.receives_subscriptions()) {
            ([only], true) if only.first() == Some(&1) => Event::Subscribe(only.slice(1..)),
            ([only], true) if only.first() == Some(&0) => Event::Cancel(only.slice(1..)),
            _ => Event::Message(message),
        };
        self.events.push_back(event);
        Ok(())
    }

    fn ready_command(&mut self, body: Bytes, now: Instant) -> Result<(), Error> {
        let cmd = Command::parse(body)?;
        if cmd.is(command::PING) {
            let ping = Ping::parse(&cmd.data)?;
            self.heartbeat.on_ping(&ping, now);
            self.push_frame(COMMAND, &ping.pong());
        } else if cmd.is(command::SUBSCRIBE) {
            self.events.push_back(Event::Subscribe(cmd.data));
        } else if cmd.is(command::CANCEL) {
            self.events.push_back(Event::Cancel(cmd.data));
        }
        // PONG only proves the peer alive, which any traffic does; like libzmq, other
        // commands after the handshake are ignored.
        Ok(())
    }

    fn send_subscription(&mut self, name: &[u8], flag: u8, topic: &[u8]) -> Result<(), Error> {
        self.check_ready()?;
        if self.peer_version.is_some_and(Version::has_commands_of_3_1) {
            self.push_frame(COMMAND, &Command::encode(name, &[topic]));
        } else {
            let mut body = BytesMut::with_capacity(1 + topic.len());
            body.extend_from_slice(&[flag]);
            body.extend_from_slice(topic);
            self.push_frame(0, &body.freeze());
        }
        Ok(())
    }

    fn push_frame(&mut self, flags: u8, body: &Bytes) {
        if self.encrypts {
            self.mechanism.encrypt(flags, body, &mut self.send);
        } else {
            self.send.push_frame(flags, body);
        }
    }
}
