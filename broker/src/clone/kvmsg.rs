//! The key-value message of the Clone pattern, as the guide's `kvmsg` puts it on
//! the wire.
//!
//! Five frames:
//!
//! | frame | content |
//! |-------|---------|
//! | 0 | key (the PUB topic, so subscribers filter by key prefix) |
//! | 1 | sequence: 8 bytes, big-endian signed |
//! | 2 | UUID of the change: 16 bytes, or empty |
//! | 3 | properties: `name=value\n` lines |
//! | 4 | body; empty means "delete the key" |

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use purezmq::Message;

/// How many frames a kvmsg has on the wire.
pub const FRAMES: usize = 5;

/// The property that asks the server to delete the key after a while (seconds).
pub const TTL: &str = "ttl";

/// The 16 bytes that identify one change, so the client that made it can tell its
/// own change when it comes back.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    /// A fresh random (version 4) UUID.
    pub fn random() -> Uuid {
        let mut bytes: [u8; 16] = rand::random();
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        Uuid(bytes)
    }
}

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

/// Why a message is not a kvmsg. The peer that sent it broke the format; the
/// message is dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KvMsgError {
    /// A kvmsg has exactly five frames.
    #[error("a kvmsg has 5 frames (key, sequence, uuid, properties, body), this one has {0}")]
    FrameCount(usize),
    /// The sequence frame holds a big-endian 64-bit integer.
    #[error("the sequence frame must be 8 bytes, it is {0}")]
    SequenceSize(usize),
    /// The UUID frame is 16 bytes or empty.
    #[error("the uuid frame must be 16 bytes or empty, it is {0}")]
    UuidSize(usize),
    /// Properties are UTF-8 text.
    #[error("the properties frame is not UTF-8")]
    PropertiesNotUtf8,
    /// Every property line is `name=value`, with a name.
    #[error("property line {0:?} is not name=value")]
    BadPropertyLine(String),
    /// A property name cannot hold `=` or a newline, nor be empty; a value cannot hold
    /// a newline.
    #[error(
        "property {name:?}={value:?} cannot be encoded: names need no '=' nor newline, values no newline"
    )]
    BadProperty {
        /// The name given.
        name: String,
        /// The value given.
        value: String,
    },
}

/// One key-value message: a change to the shared map (or, in a snapshot, one entry).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KvMsg {
    /// The key. Subscribers filter on its prefix.
    pub key: Bytes,
    /// Where the change stands in the server's order; 0 from a client.
    pub sequence: i64,
    /// The UUID of the change, if the sender gave one.
    pub uuid: Option<Uuid>,
    properties: Vec<(String, String)>,
    /// The value; empty deletes the key.
    pub body: Bytes,
}

impl KvMsg {
    /// A message setting `key` to `body` (empty body: deleting it), sequence 0, no
    /// UUID, no properties.
    pub fn new(key: impl Into<Bytes>, body: impl Into<Bytes>) -> KvMsg {
        KvMsg {
            key: key.into(),
            body: body.into(),
            ..KvMsg::default()
        }
    }

    /// Reads a kvmsg from a received message.
    pub fn parse(message: &Message) -> Result<KvMsg, KvMsgError> {
        let [key, sequence, uuid, properties, body] = message.frames() else {
            return Err(KvMsgError::FrameCount(message.len()));
        };
        let sequence = <[u8; 8]>::try_from(sequence.as_ref())
            .map(i64::from_be_bytes)
            .map_err(|_| KvMsgError::SequenceSize(sequence.len()))?;
        let uuid = match uuid.len() {
            0 => None,
            _ => Some(Uuid(
                <[u8; 16]>::try_from(uuid.as_ref())
                    .map_err(|_| KvMsgError::UuidSize(uuid.len()))?,
            )),
        };
        Ok(KvMsg {
            key: key.clone(),
            sequence,
            uuid,
            properties: decode_properties(properties)?,
            body: body.clone(),
        })
    }

    /// The five frames of this kvmsg.
    pub fn encode(&self) -> Message {
        let uuid = match &self.uuid {
            Some(uuid) => Bytes::copy_from_slice(&uuid.0),
            None => Bytes::new(),
        };
        Message::from(vec![
            self.key.clone(),
            Bytes::copy_from_slice(&self.sequence.to_be_bytes()),
            uuid,
            encode_properties(&self.properties),
            self.body.clone(),
        ])
    }

    /// The five frames behind a routing id, for a ROUTER socket.
    pub fn encode_to(&self, routing_id: &Bytes) -> Message {
        let mut message = self.encode();
        message.push_front(routing_id.clone());
        message
    }

    /// Whether this message deletes its key (its body is empty).
    pub fn is_delete(&self) -> bool {
        self.body.is_empty()
    }

    /// The value of property `name`, if set.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// All properties, in order.
    pub fn properties(&self) -> impl Iterator<Item = (&str, &str)> {
        self.properties
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Sets property `name` to `value`, replacing an earlier value.
    pub fn set_property(
        &mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<(), KvMsgError> {
        let (name, value) = (name.into(), value.into());
        if name.is_empty() || name.contains(['=', '\n']) || value.contains('\n') {
            return Err(KvMsgError::BadProperty { name, value });
        }
        match self.properties.iter_mut().find(|(n, _)| *n == name) {
            Some((_, old)) => *old = value,
            None => self.properties.push((name, value)),
        }
        Ok(())
    }

    /// Removes property `name`.
    pub fn remove_property(&mut self, name: &str) {
        self.properties.retain(|(n, _)| n != name);
    }

    /// The time to live the `ttl` property asks for: seconds, whole (as the guide's
    /// C client sends) or fractional (as its Python server writes). Zero, negative or
    /// unreadable values mean none, as `atoi` would have it.
    pub fn ttl(&self) -> Option<Duration> {
        let seconds: f64 = self.property(TTL)?.trim().parse().ok()?;
        if seconds > 0.0 {
            Duration::try_from_secs_f64(seconds).ok()
        } else {
            None
        }
    }
}

fn encode_properties(properties: &[(String, String)]) -> Bytes {
    let mut text = String::new();
    for (name, value) in properties {
        text.push_str(name);
        text.push('=');
        text.push_str(value);
        text.push('\n');
    }
    Bytes::from(text)
}

/// Lines are `name=value`, each ending in a newline (a last line without one is taken
/// too); empty lines are skipped, as the guide's Python kvmsg does.
fn decode_properties(frame: &Bytes) -> Result<Vec<(String, String)>, KvMsgError> {
    let text = std::str::from_utf8(frame).map_err(|_| KvMsgError::PropertiesNotUtf8)?;
    text.split('\n')
        .filter(|line| !line.is_empty())
        .map(|line| match line.split_once('=') {
            Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
            _ => Err(KvMsgError::BadPropertyLine(line.to_owned())),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frames(parts: &[&[u8]]) -> Message {
        parts.iter().map(|p| Bytes::copy_from_slice(p)).collect()
    }

    #[test]
    fn encodes_the_guides_five_frames() {
        let mut msg = KvMsg::new("/client/42", "hello");
        msg.sequence = 258;
        msg.uuid = Some(Uuid([7; 16]));
        msg.set_property("ttl", "30").unwrap();
        msg.set_property("origin", "a=b").unwrap();
        let wire = msg.encode();
        let expected: [&[u8]; 5] = [
            b"/client/42",
            &[0, 0, 0, 0, 0, 0, 1, 2],
            &[7; 16],
            b"ttl=30\norigin=a=b\n",
            b"hello",
        ];
        assert_eq!(wire.frames(), expected);
        assert_eq!(KvMsg::parse(&wire).unwrap(), msg);
    }

    #[test]
    fn reads_what_the_c_client_sends() {
        // kvmsg_new (0) without kvmsg_set_uuid: the uuid frame goes out empty.
        let wire = frames(&[b"/client/7", &[0; 8], b"", b"ttl=12\n", b"881"]);
        let msg = KvMsg::parse(&wire).unwrap();
        assert_eq!(msg.uuid, None);
        assert_eq!(msg.ttl(), Some(Duration::from_secs(12)));
        assert_eq!(msg.body, "881");
    }

    #[test]
    fn negative_sequence_is_big_endian_twos_complement() {
        let wire = frames(&[b"k", &[0xff; 8], b"", b"", b""]);
        assert_eq!(KvMsg::parse(&wire).unwrap().sequence, -1);
    }

    #[test]
    fn rejects_bad_frames_with_the_rule_broken() {
        let cases: [(Message, KvMsgError); 6] = [
            (frames(&[b"k"]), KvMsgError::FrameCount(1)),
            (
                frames(&[b"k", &[0; 8], b"", b"", b"", b"extra"]),
                KvMsgError::FrameCount(6),
            ),
            (
                frames(&[b"k", &[0; 7], b"", b"", b""]),
                KvMsgError::SequenceSize(7),
            ),
            (
                frames(&[b"k", &[0; 8], &[1; 15], b"", b""]),
                KvMsgError::UuidSize(15),
            ),
            (
                frames(&[b"k", &[0; 8], b"", &[0xff, b'=', b'\n'], b""]),
                KvMsgError::PropertiesNotUtf8,
            ),
            (
                frames(&[b"k", &[0; 8], b"", b"ttl\n", b""]),
                KvMsgError::BadPropertyLine("ttl".into()),
            ),
        ];
        for (wire, error) in cases {
            assert_eq!(KvMsg::parse(&wire), Err(error));
        }
    }

    #[test]
    fn ttl_reads_whole_and_fractional_seconds_and_ignores_garbage() {
        let mut msg = KvMsg::new("k", "v");
        for (text, ttl) in [
            ("30", Some(Duration::from_secs(30))),
            ("1.5", Some(Duration::from_millis(1500))),
            ("0", None),
            ("-3", None),
            ("soon", None),
            ("1e300", None),
            ("NaN", None),
        ] {
            msg.set_property(TTL, text).unwrap();
            assert_eq!(msg.ttl(), ttl, "ttl={text}");
        }
    }

    #[test]
    fn property_names_and_values_that_would_break_the_frame_are_refused() {
        let mut msg = KvMsg::default();
        assert!(msg.set_property("a=b", "c").is_err());
        assert!(msg.set_property("a", "c\nd").is_err());
        assert!(msg.set_property("", "c").is_err());
        msg.set_property("a", "1").unwrap();
        msg.set_property("a", "2").unwrap();
        assert_eq!(msg.properties().collect::<Vec<_>>(), [("a", "2")]);
        msg.remove_property("a");
        assert_eq!(msg.property("a"), None);
    }

    fn any_kvmsg() -> impl Strategy<Value = KvMsg> {
        let property = ("[^=\n]{1,8}", "[^\n]{0,12}");
        (
            proptest::collection::vec(any::<u8>(), 0..40),
            any::<i64>(),
            proptest::option::of(any::<[u8; 16]>()),
            proptest::collection::vec(property, 0..4),
            proptest::collection::vec(any::<u8>(), 0..60),
        )
            .prop_map(|(key, sequence, uuid, properties, body)| {
                let mut msg = KvMsg {
                    key: key.into(),
                    sequence,
                    uuid: uuid.map(Uuid),
                    properties: Vec::new(),
                    body: body.into(),
                };
                for (name, value) in properties {
                    msg.set_property(name, value).unwrap();
                }
                msg
            })
    }

    proptest! {
        #[test]
        fn encode_then_parse_gives_the_same_message(msg in any_kvmsg()) {
            prop_assert_eq!(KvMsg::parse(&msg.encode()).unwrap(), msg);
        }

        #[test]
        fn parse_never_panics(parts in proptest::collection::vec(
            proptest::collection::vec(any::<u8>(), 0..20), 0..7)) {
            let message: Message = parts.into_iter().map(Bytes::from).collect();
            if let Ok(msg) = KvMsg::parse(&message) {
                prop_assert_eq!(KvMsg::parse(&msg.encode()).unwrap(), msg);
            }
        }
    }
}
