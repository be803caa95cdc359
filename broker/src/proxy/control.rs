//! The control socket's commands, as `zmq_proxy_steerable` takes them.

use bytes::Bytes;
use purezmq::{Message, SocketType};

use super::Statistics;

/// A command on the control socket: one frame holding its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Command {
    /// `PAUSE`: stop moving messages until `RESUME`.
    Pause,
    /// `RESUME`: move messages again.
    Resume,
    /// `TERMINATE`: stop the proxy.
    Terminate,
    /// `STATISTICS`: answer with the eight counters.
    Statistics,
    /// Anything else: what arrived, for the log.
    Unknown(String),
}

impl Command {
    pub(super) fn parse(message: &Message) -> Command {
        match message.frames() {
            [frame] => match &frame[..] {
                b"PAUSE" => Command::Pause,
                b"RESUME" => Command::Resume,
                b"TERMINATE" => Command::Terminate,
                b"STATISTICS" => Command::Statistics,
                other => Command::Unknown(String::from_utf8_lossy(other).into_owned()),
            },
            frames => Command::Unknown(format!("a message of {} frames", frames.len())),
        }
    }

    /// What to send back on a control socket of type `control`, if anything.
    ///
    /// STATISTICS always answers with eight frames of native-endian `u64`. A REP
    /// control socket must answer every request, so it gets an empty frame for the
    /// other commands and `ERROR unknown command` for what it does not know; other
    /// types get nothing (libzmq's behaviour after 4.3.5, which replied on every
    /// socket type).
    pub(super) fn reply(&self, control: SocketType, statistics: &Statistics) -> Option<Message> {
        match self {
            Command::Statistics => Some(
                statistics
                    .to_frames()
                    .iter()
                    .map(|value| Bytes::copy_from_slice(&value.to_ne_bytes()))
                    .collect(),
            ),
            _ if control != SocketType::Rep => None,
            Command::Unknown(_) => Some(Message::from("ERROR unknown command")),
            _ => Some(Message::from(Bytes::new())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_by_exact_name() {
        assert_eq!(Command::parse(&"PAUSE".into()), Command::Pause);
        assert_eq!(Command::parse(&"RESUME".into()), Command::Resume);
        assert_eq!(Command::parse(&"TERMINATE".into()), Command::Terminate);
        assert_eq!(Command::parse(&"STATISTICS".into()), Command::Statistics);
        assert_eq!(
            Command::parse(&"pause".into()),
            Command::Unknown("pause".into())
        );
        assert_eq!(
            Command::parse(&Message::from_iter(["PAUSE", "now"])),
            Command::Unknown("a message of 2 frames".into())
        );
    }

    #[test]
    fn rep_answers_everything_other_types_only_statistics() {
        let statistics = Statistics::default();
        let empty = Some(Message::from(Bytes::new()));
        assert_eq!(Command::Pause.reply(SocketType::Rep, &statistics), empty);
        assert_eq!(
            Command::Terminate.reply(SocketType::Rep, &statistics),
            empty
        );
        assert_eq!(
            Command::Unknown("x".into()).reply(SocketType::Rep, &statistics),
            Some(Message::from("ERROR unknown command"))
        );
        assert_eq!(Command::Pause.reply(SocketType::Pair, &statistics), None);
        assert_eq!(
            Command::Unknown("x".into()).reply(SocketType::Pair, &statistics),
            None
        );
        for control in [SocketType::Rep, SocketType::Pair, SocketType::Dealer] {
            let reply = Command::Statistics.reply(control, &statistics);
            assert_eq!(reply.map(|m| m.len()), Some(8));
        }
    }
}
