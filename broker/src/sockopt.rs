//! Socket options by their libzmq names, with values in libzmq's units: what
//! `--sockopt sndhwm=10000` on the command line sets.
//!
//! [`apply`] sets one field of [`Options`] from a name such as `sndhwm`,
//! `ZMQ_LINGER` or `zmq_routing_id` (case-insensitive, with or without the `zmq_`
//! prefix, `-` or `_` alike) and a value written as for `zmq_setsockopt`:
//!
//! - times are integers in milliseconds; `-1` means what it means in libzmq
//!   ("infinite" for `linger`, `sndtimeo` and `rcvtimeo`, "never" for
//!   `reconnect_ivl`, "use HEARTBEAT_IVL" for `heartbeat_timeout`), and `0` turns off
//!   `reconnect_ivl_max`, `handshake_ivl`, `heartbeat_ivl` and `heartbeat_ttl`;
//! - `maxmsgsize` is bytes, `-1` for no limit; `sndhwm` and `rcvhwm` are message
//!   counts, `0` for no limit;
//! - flags are `0`/`1` (or `false`/`true`); `tcp_keepalive` also takes `-1` for the
//!   OS default;
//! - `routing_id` (alias `identity`), `connect_routing_id`, `xpub_welcome_msg` and
//!   `zap_domain` take the text as it is; an empty `connect_routing_id` or
//!   `xpub_welcome_msg` unsets it.
//!
//! ```
//! use std::time::Duration;
//! use purezmq::Options;
//! use purezmq_broker::sockopt;
//!
//! let mut options = Options::default();
//! sockopt::apply(&mut options, "ZMQ_SNDHWM", "10000")?;
//! sockopt::apply(&mut options, "linger", "0")?;
//! sockopt::apply(&mut options, "rcvtimeo", "-1")?;
//! assert_eq!(options.sndhwm, 10_000);
//! assert_eq!(options.linger, Some(Duration::ZERO));
//! assert_eq!(options.rcvtimeo, None);
//!
//! let typo = sockopt::apply(&mut options, "sndhmw", "1").unwrap_err();
//! assert!(typo.to_string().contains("did you mean sndhwm?"));
//! # Ok::<(), sockopt::SockoptError>(())
//! ```

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use bytes::Bytes;
use purezmq::Options;

/// Every option name [`apply`] knows, in the order of [`Options`]' fields (aliases
/// such as `identity` are not listed).
pub const NAMES: [&str; 27] = [
    "sndhwm",
    "rcvhwm",
    "linger",
    "routing_id",
    "connect_routing_id",
    "reconnect_ivl",
    "reconnect_ivl_max",
    "handshake_ivl",
    "heartbeat_ivl",
    "heartbeat_timeout",
    "heartbeat_ttl",
    "maxmsgsize",
    "sndtimeo",
    "rcvtimeo",
    "immediate",
    "conflate",
    "tcp_keepalive",
    "ipv6",
    "req_relaxed",
    "req_correlate",
    "router_mandatory",
    "router_handover",
    "xpub_verbose",
    "xpub_manual",
    "xpub_welcome_msg",
    "xpub_nodrop",
    "zap_domain",
];

/// libzmq options that exist but are set some other way here.
const ELSEWHERE: [(&str, &str); 11] = [
    ("subscribe", "--subscribe TOPIC"),
    ("unsubscribe", "--subscribe TOPIC"),
    ("plain_server", "--plain-server"),
    ("plain_username", "--plain-client USER:PASSWORD"),
    ("plain_password", "--plain-client USER:PASSWORD"),
    ("curve_server", "--curve-server CERT"),
    (
        "curve_publickey",
        "--curve-server CERT or --curve-client CERT",
    ),
    (
        "curve_secretkey",
        "--curve-server CERT or --curve-client CERT",
    ),
    ("curve_serverkey", "--server-key KEY"),
    ("mechanism", "--plain-* or --curve-* flags"),
    ("identity_fd", "routing_id"),
];

/// Why an option could not be set; the message says what to write instead.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SockoptError {
    /// The name is no option [`apply`] knows.
    #[error("unknown socket option {name:?}; {}", suggest(suggestions))]
    UnknownName {
        /// The name as given.
        name: String,
        /// Known names close to it, best first; empty if none is close.
        suggestions: Vec<&'static str>,
    },
    /// A libzmq option that is set with a dedicated flag instead.
    #[error("socket option {name:?} is not set with --sockopt; use {instead}")]
    SetElsewhere {
        /// The name as given.
        name: String,
        /// What to use.
        instead: &'static str,
    },
    /// The value is not what the option takes.
    #[error("bad value {value:?} for {name}: expected {expected}")]
    BadValue {
        /// The option.
        name: &'static str,
        /// The value as given.
        value: String,
        /// What it takes.
        expected: &'static str,
    },
    /// A `NAME=VALUE` assignment without `=`.
    #[error("socket option {text:?} has no value; write NAME=VALUE, e.g. sndhwm=10000")]
    MissingValue {
        /// The text as given.
        text: String,
    },
}

fn suggest(suggestions: &[&str]) -> String {
    match suggestions {
        [] => format!("use one of {}", NAMES.join(", ")),
        [one] => format!("did you mean {one}?"),
        many => format!("did you mean one of {}?", many.join(", ")),
    }
}

/// `name` lower-cased, without a `zmq_` prefix, `-` as `_`.
fn normalize(name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase().replace('-', "_");
    match lower.strip_prefix("zmq_") {
        Some(rest) => rest.to_string(),
        None => lower,
    }
}

/// Sets the option called `name` in `options` from `value`, both as libzmq spells
/// them (see the [module](self)). The options are not [validated](Options::validate)
/// as a whole; sockets do that when created.
pub fn apply(options: &mut Options, name: &str, value: &str) -> Result<(), SockoptError> {
    let key = normalize(name);
    let key = if key == "identity" {
        "routing_id"
    } else {
        &key
    };
    let Some(&name) = NAMES.iter().find(|known| **known == key) else {
        if let Some((_, instead)) = ELSEWHERE.iter().find(|(known, _)| *known == key) {
            return Err(SockoptError::SetElsewhere {
                name: name.to_string(),
                instead,
            });
        }
        return Err(SockoptError::UnknownName {
            name: name.to_string(),
            suggestions: close_names(key),
        });
    };
    let value = Value { name, text: value };
    match name {
        "sndhwm" => options.sndhwm = value.count()?,
        "rcvhwm" => options.rcvhwm = value.count()?,
        "linger" => options.linger = value.millis_or_none(-1)?,
        "routing_id" => options.routing_id = value.bytes(),
        "connect_routing_id" => options.connect_routing_id = value.bytes_or_none(),
        "reconnect_ivl" => options.reconnect_ivl = value.millis_or_none(-1)?,
        "reconnect_ivl_max" => options.reconnect_ivl_max = value.millis_or_none(0)?,
        "handshake_ivl" => options.handshake_ivl = value.millis_or_none(0)?,
        "heartbeat_ivl" => options.heartbeat_ivl = value.millis_or_none(0)?,
        "heartbeat_timeout" => options.heartbeat_timeout = value.millis_or_none(-1)?,
        "heartbeat_ttl" => options.heartbeat_ttl = value.millis_or_none(0)?,
        "maxmsgsize" => {
            options.maxmsgsize = match value
                .integer("an integer number of bytes, or -1 for no limit")?
            {
                -1 => None,
                bytes => Some(
                    value.non_negative(bytes, "an integer number of bytes, or -1 for no limit")?,
                ),
            }
        }
        "sndtimeo" => options.sndtimeo = value.millis_or_none(-1)?,
        "rcvtimeo" => options.rcvtimeo = value.millis_or_none(-1)?,
        "immediate" => options.immediate = value.flag()?,
        "conflate" => options.conflate = value.flag()?,
        "tcp_keepalive" => {
            options.tcp_keepalive = match value.text.trim() {
                "-1" => None,
                _ => Some(value.flag().map_err(|_| {
                    value.bad("0 or false (off), 1 or true (on), or -1 (the OS default)")
                })?),
            }
        }
        "ipv6" => options.ipv6 = value.flag()?,
        "req_relaxed" => options.req_relaxed = value.flag()?,
        "req_correlate" => options.req_correlate = value.flag()?,
        "router_mandatory" => options.router_mandatory = value.flag()?,
        "router_handover" => options.router_handover = value.flag()?,
        "xpub_verbose" => options.xpub_verbose = value.flag()?,
        "xpub_manual" => options.xpub_manual = value.flag()?,
        "xpub_welcome_msg" => options.xpub_welcome_msg = value.bytes_or_none(),
        "xpub_nodrop" => options.xpub_nodrop = value.flag()?,
        "zap_domain" => options.zap_domain = value.text.to_string(),
        _ => unreachable!("every name in NAMES has an arm"),
    }
    Ok(())
}

/// One `NAME=VALUE` assignment, checked when parsed: what `--sockopt` takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    /// The option's name as given.
    pub name: String,
    /// The value as given.
    pub value: String,
}

impl Assignment {
    /// Sets the option in `options`.
    pub fn apply(&self, options: &mut Options) -> Result<(), SockoptError> {
        apply(options, &self.name, &self.value)
    }
}

impl FromStr for Assignment {
    type Err = SockoptError;

    /// Splits at the first `=` and checks name and value against [`apply`].
    fn from_str(text: &str) -> Result<Assignment, SockoptError> {
        let Some((name, value)) = text.split_once('=') else {
            return Err(SockoptError::MissingValue {
                text: text.to_string(),
            });
        };
        let assignment = Assignment {
            name: name.trim().to_string(),
            value: value.to_string(),
        };
        assignment.apply(&mut Options::default())?;
        Ok(assignment)
    }
}

impl fmt::Display for Assignment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.name, self.value)
    }
}

/// Applies assignments in order (a later one for the same option wins).
pub fn apply_all<'a>(
    options: &mut Options,
    assignments: impl IntoIterator<Item = &'a Assignment>,
) -> Result<(), SockoptError> {
    for assignment in assignments {
        assignment.apply(options)?;
    }
    Ok(())
}

/// A value being read for the option `name`.
struct Value<'a> {
    name: &'static str,
    text: &'a str,
}

impl Value<'_> {
    fn bad(&self, expected: &'static str) -> SockoptError {
        SockoptError::BadValue {
            name: self.name,
            value: self.text.to_string(),
            expected,
        }
    }

    fn integer(&self, expected: &'static str) -> Result<i64, SockoptError> {
        self.text.trim().parse().map_err(|_| self.bad(expected))
    }

    fn non_negative(&self, value: i64, expected: &'static str) -> Result<u64, SockoptError> {
        u64::try_from(value).map_err(|_| self.bad(expected))
    }

    /// A message count, 0 for no limit.
    fn count(&self) -> Result<usize, SockoptError> {
        const EXPECTED: &str = "a number of messages, 0 for no limit";
        let count = self.integer(EXPECTED)?;
        let count = self.non_negative(count, EXPECTED)?;
        usize::try_from(count).map_err(|_| self.bad(EXPECTED))
    }

    /// Milliseconds, with `none` (libzmq's -1 or 0) meaning `None`.
    fn millis_or_none(&self, none: i64) -> Result<Option<Duration>, SockoptError> {
        let expected = if none == -1 {
            "milliseconds (an integer), or -1"
        } else {
            "milliseconds (an integer), or 0 for off"
        };
        match self.integer(expected)? {
            value if value == none => Ok(None),
            value => Ok(Some(Duration::from_millis(
                self.non_negative(value, expected)?,
            ))),
        }
    }

    fn flag(&self) -> Result<bool, SockoptError> {
        match self.text.trim().to_ascii_lowercase().as_str() {
            "1" | "true" => Ok(true),
            "0" | "false" => Ok(false),
            _ => Err(self.bad("0 or false, 1 or true")),
        }
    }

    fn bytes(&self) -> Bytes {
        Bytes::copy_from_slice(self.text.as_bytes())
    }

    fn bytes_or_none(&self) -> Option<Bytes> {
        (!self.text.is_empty()).then(|| self.bytes())
    }
}

/// Known names within a small edit distance of `name`, or containing it, best first.
fn close_names(name: &str) -> Vec<&'static str> {
    let mut scored: Vec<(usize, &'static str)> = NAMES
        .iter()
        .filter_map(|known| {
            let distance = edit_distance(name, known);
            let close = distance <= 2 || (name.len() >= 3 && known.contains(name));
            close.then_some((distance, *known))
        })
        .collect();
    scored.sort_by_key(|(distance, _)| *distance);
    scored.into_iter().map(|(_, known)| known).take(4).collect()
}

/// Levenshtein distance, by bytes.
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(name: &str, value: &str) -> Options {
        let mut options = Options::default();
        apply(&mut options, name, value).unwrap();
        options
    }

    fn error(name: &str, value: &str) -> String {
        apply(&mut Options::default(), name, value)
            .unwrap_err()
            .to_string()
    }

    fn ms(ms: u64) -> Option<Duration> {
        Some(Duration::from_millis(ms))
    }

    #[test]
    fn names_are_case_insensitive_with_or_without_the_zmq_prefix() {
        assert_eq!(set("sndhwm", "5").sndhwm, 5);
        assert_eq!(set("SNDHWM", "5").sndhwm, 5);
        assert_eq!(set("ZMQ_SNDHWM", "5").sndhwm, 5);
        assert_eq!(set("zmq_sndhwm", "5").sndhwm, 5);
        assert!(set("Router-Mandatory", "1").router_mandatory);
    }

    #[test]
    fn every_name_is_accepted() {
        for name in NAMES {
            let value = match name {
                "routing_id" | "connect_routing_id" | "xpub_welcome_msg" | "zap_domain" => "abc",
                _ => "1",
            };
            let mut options = Options::default();
            apply(&mut options, name, value).unwrap();
            assert_ne!(options, Options::default(), "{name} changed nothing");
        }
    }

    #[test]
    fn high_water_marks_are_counts_with_zero_for_no_limit() {
        assert_eq!(set("rcvhwm", "0").rcvhwm, 0);
        assert_eq!(set("rcvhwm", "100000").rcvhwm, 100_000);
        assert_eq!(
            error("sndhwm", "-1"),
            "bad value \"-1\" for sndhwm: expected a number of messages, 0 for no limit"
        );
    }

    #[test]
    fn minus_one_means_infinite_for_linger_and_timeouts() {
        assert_eq!(set("linger", "-1").linger, None);
        assert_eq!(set("linger", "0").linger, ms(0));
        assert_eq!(set("linger", "250").linger, ms(250));
        assert_eq!(set("sndtimeo", "-1").sndtimeo, None);
        assert_eq!(set("sndtimeo", "0").sndtimeo, ms(0));
        assert_eq!(set("rcvtimeo", "1500").rcvtimeo, ms(1500));
        assert_eq!(set("reconnect_ivl", "-1").reconnect_ivl, None);
        assert_eq!(set("reconnect_ivl", "200").reconnect_ivl, ms(200));
        assert_eq!(set("heartbeat_timeout", "-1").heartbeat_timeout, None);
        assert_eq!(set("heartbeat_timeout", "3000").heartbeat_timeout, ms(3000));
        assert_eq!(set("maxmsgsize", "-1").maxmsgsize, None);
        assert_eq!(set("maxmsgsize", "4096").maxmsgsize, Some(4096));
    }

    #[test]
    fn zero_turns_intervals_off() {
        assert_eq!(set("reconnect_ivl_max", "0").reconnect_ivl_max, None);
        assert_eq!(set("reconnect_ivl_max", "5000").reconnect_ivl_max, ms(5000));
        assert_eq!(set("handshake_ivl", "0").handshake_ivl, None);
        assert_eq!(set("heartbeat_ivl", "0").heartbeat_ivl, None);
        assert_eq!(set("heartbeat_ivl", "1000").heartbeat_ivl, ms(1000));
        assert_eq!(set("heartbeat_ttl", "0").heartbeat_ttl, None);
        assert_eq!(set("heartbeat_ttl", "5000").heartbeat_ttl, ms(5000));
    }

    #[test]
    fn negative_times_other_than_libzmqs_sentinel_are_refused() {
        assert_eq!(
            error("linger", "-2"),
            "bad value \"-2\" for linger: expected milliseconds (an integer), or -1"
        );
        assert_eq!(
            error("heartbeat_ivl", "-1"),
            "bad value \"-1\" for heartbeat_ivl: expected milliseconds (an integer), or 0 for off"
        );
        assert!(error("rcvtimeo", "1s").starts_with("bad value \"1s\" for rcvtimeo"));
    }

    #[test]
    fn flags_take_zero_one_true_false() {
        assert!(set("immediate", "1").immediate);
        assert!(set("conflate", "true").conflate);
        assert!(set("ipv6", "TRUE").ipv6);
        assert!(!set("xpub_verbose", "0").xpub_verbose);
        assert!(!set("xpub_nodrop", "false").xpub_nodrop);
        assert_eq!(
            error("immediate", "yes"),
            "bad value \"yes\" for immediate: expected 0 or false, 1 or true"
        );
    }

    #[test]
    fn tcp_keepalive_has_three_states() {
        assert_eq!(set("tcp_keepalive", "-1").tcp_keepalive, None);
        assert_eq!(set("tcp_keepalive", "0").tcp_keepalive, Some(false));
        assert_eq!(set("tcp_keepalive", "1").tcp_keepalive, Some(true));
        assert!(error("tcp_keepalive", "2").contains("-1 (the OS default)"));
    }

    #[test]
    fn texts_are_taken_as_they_are() {
        assert_eq!(set("routing_id", "worker-1").routing_id, "worker-1");
        assert_eq!(set("identity", "worker-1").routing_id, "worker-1");
        assert_eq!(
            set("connect_routing_id", "peer").connect_routing_id,
            Some(Bytes::from_static(b"peer"))
        );
        assert_eq!(set("connect_routing_id", "").connect_routing_id, None);
        assert_eq!(
            set("xpub_welcome_msg", "hello").xpub_welcome_msg,
            Some(Bytes::from_static(b"hello"))
        );
        assert_eq!(set("xpub_welcome_msg", "").xpub_welcome_msg, None);
        assert_eq!(set("zap_domain", "global").zap_domain, "global");
    }

    #[test]
    fn an_unknown_name_suggests_close_ones() {
        assert_eq!(
            error("sndhmw", "1"),
            "unknown socket option \"sndhmw\"; did you mean sndhwm?"
        );
        assert_eq!(
            error("hwm", "1"),
            "unknown socket option \"hwm\"; did you mean one of sndhwm, rcvhwm?"
        );
        let far = error("colour", "1");
        assert!(far.starts_with("unknown socket option \"colour\"; use one of sndhwm, rcvhwm"));
        assert!(far.ends_with("zap_domain"), "{far}");
    }

    #[test]
    fn security_options_point_to_their_flags() {
        assert_eq!(
            error("ZMQ_CURVE_SERVERKEY", "x"),
            "socket option \"ZMQ_CURVE_SERVERKEY\" is not set with --sockopt; use --server-key KEY"
        );
        assert!(error("subscribe", "a").ends_with("use --subscribe TOPIC"));
    }

    #[test]
    fn assignments_parse_and_check_name_and_value() {
        let assignment: Assignment = "sndhwm=10000".parse().unwrap();
        assert_eq!(assignment.name, "sndhwm");
        assert_eq!(assignment.value, "10000");
        assert_eq!(assignment.to_string(), "sndhwm=10000");
        let welcome: Assignment = "xpub_welcome_msg=a=b".parse().unwrap();
        assert_eq!(welcome.value, "a=b");
        assert_eq!(
            "sndhwm".parse::<Assignment>().unwrap_err().to_string(),
            "socket option \"sndhwm\" has no value; write NAME=VALUE, e.g. sndhwm=10000"
        );
        assert!("linger=forever".parse::<Assignment>().is_err());

        let mut options = Options::default();
        let all: Vec<Assignment> = ["linger=0", "linger=10"]
            .iter()
            .map(|text| text.parse().unwrap())
            .collect();
        apply_all(&mut options, &all).unwrap();
        assert_eq!(options.linger, ms(10));
    }
}
