//! Traffic after the handshake: every frame travels as a MESSAGE command.
//!
//! ```text
//! MESSAGE = %x07 "MESSAGE" short-nonce(8) box[flags(1) payload]
//! ```
//!
//! The flags octet inside the box carries MORE (bit 0) and COMMAND (bit 1), so PING,
//! PONG, SUBSCRIBE and CANCEL travel encrypted like messages. Like libzmq, the MESSAGE
//! is sent in a frame without ZMTP flags (the box holds them), and frames received are
//! read as MESSAGE whatever their flags.

use bytes::{BufMut, Bytes, BytesMut};
use purezmq_zmtp::frame::{COMMAND, Frame, MORE};
use purezmq_zmtp::{Error, SendBuffer};

use crate::crypto::{self, BoxKey, TAG_LEN};
use crate::error::CurveError;

/// `%x07 "MESSAGE"`: the command name with its length octet.
const MESSAGE_NAME: &[u8; 8] = b"\x07MESSAGE";
/// Name, short nonce, tag, flags: the shortest MESSAGE.
const MIN_MESSAGE_LEN: usize = MESSAGE_NAME.len() + 8 + TAG_LEN + 1;

/// The payload flags inside the box.
const BOX_MORE: u8 = 0x01;
const BOX_COMMAND: u8 = 0x02;

/// Short nonces in one direction: the next to send, or the last received.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Nonces {
    next_to_send: u64,
    last_received: Option<u64>,
}

impl Nonces {
    /// Nothing sent or received yet; our first short nonce is 1, as in libzmq.
    pub(crate) fn new() -> Nonces {
        Nonces {
            next_to_send: 1,
            last_received: None,
        }
    }

    /// The short nonce for the next command we send.
    pub(crate) fn next(&mut self) -> u64 {
        let nonce = self.next_to_send;
        // 2^64 commands on one connection cannot happen; were it to, reusing the last
        // nonce would be unsafe, so the count saturates and the peer, which sees no
        // increase, drops the connection.
        self.next_to_send = nonce.saturating_add(1);
        nonce
    }

    /// Checks that `nonce`, received in `command`, is above every nonce before it.
    pub(crate) fn check(&self, command: &'static str, nonce: u64) -> Result<(), CurveError> {
        match self.last_received {
            Some(last) if nonce <= last => Err(CurveError::NonceNotIncreasing {
                command,
                nonce,
                last,
            }),
            _ => Ok(()),
        }
    }

    /// Checks that a MESSAGE's `nonce` follows the last one exactly. Every peer,
    /// libzmq included, counts its short nonces up by one per command, and a stream
    /// loses nothing, so a gap means a MESSAGE was taken out on the way: without this
    /// check, dropping the last frame of a message would splice the next message onto
    /// it.
    pub(crate) fn check_next(&self, nonce: u64) -> Result<(), CurveError> {
        self.check("MESSAGE", nonce)?;
        match self.last_received {
            Some(last) if nonce != last.saturating_add(1) => {
                Err(CurveError::NonceSkipped { nonce, last })
            }
            _ => Ok(()),
        }
    }

    /// Records `nonce` as received, once its box has opened.
    pub(crate) fn accept(&mut self, nonce: u64) {
        self.last_received = Some(nonce);
    }
}

/// An established CURVE session: the key both sides agreed and the nonces.
pub(crate) struct Session {
    key: BoxKey,
    send_prefix: &'static [u8; 16],
    recv_prefix: &'static [u8; 16],
    nonces: Nonces,
}

impl Session {
    /// The session of a client (`as_server` false) or a server.
    pub(crate) fn new(key: BoxKey, as_server: bool, nonces: Nonces) -> Session {
        let (send_prefix, recv_prefix) = if as_server {
            (crypto::MESSAGE_FROM_SERVER, crypto::MESSAGE_FROM_CLIENT)
        } else {
            (crypto::MESSAGE_FROM_CLIENT, crypto::MESSAGE_FROM_SERVER)
        };
        Session {
            key,
            send_prefix,
            recv_prefix,
            nonces,
        }
    }

    /// Seals one frame (ZMTP flags MORE or COMMAND) into a MESSAGE frame.
    pub(crate) fn encrypt(&mut self, flags: u8, body: &[u8], out: &mut SendBuffer) {
        let nonce = self.nonces.next();
        let mut box_flags = 0;
        if flags & MORE != 0 {
            box_flags |= BOX_MORE;
        }
        if flags & COMMAND != 0 {
            box_flags |= BOX_COMMAND;
        }
        let mut message = BytesMut::with_capacity(MIN_MESSAGE_LEN + body.len());
        message.put_slice(MESSAGE_NAME);
        message.put_u64(nonce);
        message.put_bytes(0, TAG_LEN);
        message.put_u8(box_flags);
        message.put_slice(body);
        let (header, payload) = message.split_at_mut(MESSAGE_NAME.len() + 8 + TAG_LEN);
        let tag = self
            .key
            .seal_in_place(&crypto::short_nonce(self.send_prefix, nonce), payload);
        header[MESSAGE_NAME.len() + 8..].copy_from_slice(&tag);
        out.push_frame(0, &message.freeze());
    }

    /// Opens a MESSAGE frame into the frame it carries.
    pub(crate) fn decrypt(&mut self, frame: Frame) -> Result<Frame, Error> {
        let body = &frame.body[..];
        if !body.starts_with(MESSAGE_NAME) {
            return Err(Error::UnexpectedCommand {
                command: crate::command_name(body),
                expected: "expecting MESSAGE after the CURVE handshake",
            });
        }
        if body.len() < MIN_MESSAGE_LEN {
            return Err(Error::MalformedCommand {
                command: "MESSAGE".into(),
                reason: "shorter than 33 octets",
            });
        }
        let (nonce, boxed) = body[MESSAGE_NAME.len()..].split_at(8);
        let nonce = u64::from_be_bytes(nonce.try_into().unwrap_or_default());
        self.nonces.check_next(nonce)?;
        let (tag, ciphertext) = boxed.split_at(TAG_LEN);
        let mut plaintext = BytesMut::from(ciphertext);
        let full_nonce = crypto::short_nonce(self.recv_prefix, nonce);
        if !self.key.open_in_place(&full_nonce, tag, &mut plaintext) {
            return Err(CurveError::MessageBox.into());
        }
        self.nonces.accept(nonce);
        let box_flags = plaintext[0];
        let payload: Bytes = plaintext.freeze().slice(1..);
        match (box_flags & BOX_MORE != 0, box_flags & BOX_COMMAND != 0) {
            (true, true) => Err(CurveError::CommandWithMore.into()),
            (_, true) => Ok(Frame::command(payload)),
            (more, false) => Ok(Frame::message(payload, more)),
        }
    }
}
