//! Socket specs: a socket type and the endpoints it binds and connects, in one string.
//!
//! The syntax is CZMQ's (`zsock_new_*`'s endpoint convention) behind the socket type:
//! the type, then each endpoint prefixed by `@` to bind or `>` to connect, separated
//! by commas. After a comma the prefix may be left out, and the endpoint binds.
//!
//! | Spec | Means |
//! |------|-------|
//! | `xsub@tcp://*:5559` | an XSUB socket bound to port 5559 |
//! | `dealer>tcp://127.0.0.1:5560` | a DEALER socket connected to 127.0.0.1:5560 |
//! | `router@tcp://*:5559,@ipc:///tmp/q` | a ROUTER bound to a port and an ipc path |
//! | `pull@tcp://*:5557,>inproc://x` | a PULL bound to a port and connected to `inproc://x` |
//! | `pub@tcp://*:5556,ipc:///tmp/feed` | the second endpoint binds: no prefix after a comma |
//!
//! Type names are case-insensitive: `pair`, `pub`, `sub`, `req`, `rep`, `dealer`,
//! `router`, `pull`, `push`, `xpub`, `xsub`. Each endpoint is checked with
//! [`Endpoint::parse`] when the spec is parsed, so a typo is reported before any
//! socket exists.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use purezmq::{Options, SocketType};
//! use purezmq_broker::spec::{Direction, SocketSpec};
//!
//! let spec: SocketSpec = "PULL@tcp://127.0.0.1:*,>inproc://jobs".parse()?;
//! assert_eq!(spec.socket_type, SocketType::Pull);
//! assert_eq!(spec.endpoints[1], (Direction::Connect, "inproc://jobs".to_string()));
//!
//! let socket = spec.open(Options::default())?;
//! assert!(socket.last_endpoint().starts_with("inproc://"));
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::str::FromStr;

use purezmq::endpoint::{Endpoint, EndpointError};
use purezmq::{Options, Socket, SocketType};

/// Whether a socket binds an endpoint (`@`) or connects to it (`>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `@`: accept connections on the endpoint.
    Bind,
    /// `>`: connect to the endpoint.
    Connect,
}

impl Direction {
    /// The prefix character: `@` or `>`.
    pub fn prefix(self) -> char {
        match self {
            Direction::Bind => '@',
            Direction::Connect => '>',
        }
    }
}

/// A socket type and the endpoints it binds and connects to, in order.
///
/// Parse one from text with [`str::parse`] (see the [module](self) for the syntax);
/// [`Display`](fmt::Display) writes it back in the same syntax, with every prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocketSpec {
    /// The type of the socket to create.
    pub socket_type: SocketType,
    /// The endpoints, in the order they are bound or connected. Never empty when
    /// parsed.
    pub endpoints: Vec<(Direction, String)>,
}

/// What is wrong with a socket spec; each message names the bad part and what to
/// write instead.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// The spec is empty.
    #[error(
        "the socket spec is empty; write TYPE@ENDPOINT to bind or TYPE>ENDPOINT to connect, e.g. pull@tcp://*:5557"
    )]
    Empty,
    /// The spec starts with an endpoint (or a prefix) instead of a socket type.
    #[error("socket spec {spec:?} has no socket type; put the type first, e.g. pull@{example}")]
    MissingType {
        /// The spec as given.
        spec: String,
        /// The spec's first endpoint without its prefix, for the example.
        example: String,
    },
    /// The socket type is not one of the eleven.
    #[error("unknown socket type {name:?}; use one of {}", TYPE_NAMES.join(", "))]
    UnknownType {
        /// The type as written.
        name: String,
    },
    /// A type with no endpoint.
    #[error(
        "socket spec {spec:?} has no endpoint; add @ENDPOINT to bind or >ENDPOINT to connect, e.g. {spec}@tcp://*:5555"
    )]
    MissingEndpoint {
        /// The spec as given.
        spec: String,
    },
    /// Something other than `@` or `>` follows the socket type.
    #[error(
        "expected @ (bind) or > (connect) after {name:?}, found {found:?}; e.g. {name}@tcp://*:5555"
    )]
    BadSeparator {
        /// The socket type as written.
        name: String,
        /// What follows it.
        found: String,
    },
    /// An endpoint is empty: `pull@`, `pull@a,,@b` or a trailing comma.
    #[error(
        "endpoint {position} of {spec:?} is empty; remove the extra comma or write an endpoint after the @ or >"
    )]
    EmptyEndpoint {
        /// The spec as given.
        spec: String,
        /// Which endpoint, counting from 1.
        position: usize,
    },
    /// An endpoint does not parse.
    #[error("bad endpoint {endpoint:?}: {source}")]
    BadEndpoint {
        /// The endpoint, without its prefix.
        endpoint: String,
        /// Why it does not parse.
        source: EndpointError,
    },
}

/// The type names a spec accepts, in libzmq's numbering order.
pub const TYPE_NAMES: [&str; 11] = [
    "pair", "pub", "sub", "req", "rep", "dealer", "router", "pull", "push", "xpub", "xsub",
];

/// The socket type called `name` (any case), as [`TYPE_NAMES`] spell them.
pub fn parse_socket_type(name: &str) -> Result<SocketType, SpecError> {
    let lower = name.to_ascii_lowercase();
    TYPE_NAMES
        .iter()
        .position(|known| *known == lower)
        .map(|index| SocketType::ALL[index])
        .ok_or_else(|| SpecError::UnknownType {
            name: name.to_string(),
        })
}

/// The spec's name for a socket type: lower case, as in [`TYPE_NAMES`].
pub fn socket_type_name(socket_type: SocketType) -> &'static str {
    let index = SocketType::ALL
        .iter()
        .position(|known| *known == socket_type)
        .unwrap_or(0);
    TYPE_NAMES[index]
}

impl SocketSpec {
    /// Creates the socket with `options`, then binds and connects its endpoints in
    /// order. A failure (an address in use, say) drops the socket.
    pub fn open(&self, options: Options) -> Result<Socket, purezmq::Error> {
        let socket = Socket::with_options(self.socket_type, options)?;
        self.attach(&socket)?;
        Ok(socket)
    }

    /// Binds and connects an existing socket to the spec's endpoints, in order: for
    /// a socket that needs a ZAP handler or a monitor before its first endpoint.
    /// The socket's type is not checked against the spec's.
    pub fn attach(&self, socket: &Socket) -> Result<(), purezmq::Error> {
        for (direction, endpoint) in &self.endpoints {
            match direction {
                Direction::Bind => socket.bind(endpoint)?,
                Direction::Connect => socket.connect(endpoint)?,
            }
        }
        Ok(())
    }
}

impl FromStr for SocketSpec {
    type Err = SpecError;

    fn from_str(spec: &str) -> Result<SocketSpec, SpecError> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Err(SpecError::Empty);
        }
        let name_len = spec
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(spec.len());
        let (name, rest) = spec.split_at(name_len);
        if name.is_empty() || rest.starts_with("://") {
            let first = spec.split(',').next().unwrap_or(spec);
            return Err(SpecError::MissingType {
                spec: spec.to_string(),
                example: first.trim_start_matches(['@', '>']).to_string(),
            });
        }
        let socket_type = parse_socket_type(name)?;
        if rest.is_empty() {
            return Err(SpecError::MissingEndpoint {
                spec: spec.to_string(),
            });
        }
        if !rest.starts_with(['@', '>']) {
            return Err(SpecError::BadSeparator {
                name: name.to_string(),
                found: rest.chars().next().map(String::from).unwrap_or_default(),
            });
        }
        let mut endpoints = Vec::new();
        for (index, part) in rest.split(',').enumerate() {
            let (direction, endpoint) = if let Some(endpoint) = part.strip_prefix('@') {
                (Direction::Bind, endpoint)
            } else if let Some(endpoint) = part.strip_prefix('>') {
                (Direction::Connect, endpoint)
            } else {
                (Direction::Bind, part)
            };
            let endpoint = endpoint.trim();
            if endpoint.is_empty() {
                return Err(SpecError::EmptyEndpoint {
                    spec: spec.to_string(),
                    position: index + 1,
                });
            }
            Endpoint::parse(endpoint).map_err(|source| SpecError::BadEndpoint {
                endpoint: endpoint.to_string(),
                source,
            })?;
            endpoints.push((direction, endpoint.to_string()));
        }
        Ok(SocketSpec {
            socket_type,
            endpoints,
        })
    }
}

impl fmt::Display for SocketSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(socket_type_name(self.socket_type))?;
        for (index, (direction, endpoint)) in self.endpoints.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}{endpoint}", direction.prefix())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> SocketSpec {
        text.parse().unwrap()
    }

    fn error(text: &str) -> String {
        text.parse::<SocketSpec>().unwrap_err().to_string()
    }

    fn bind(endpoint: &str) -> (Direction, String) {
        (Direction::Bind, endpoint.to_string())
    }

    fn connect(endpoint: &str) -> (Direction, String) {
        (Direction::Connect, endpoint.to_string())
    }

    #[test]
    fn a_bind() {
        let spec = parse("xsub@tcp://*:5559");
        assert_eq!(spec.socket_type, SocketType::XSub);
        assert_eq!(spec.endpoints, [bind("tcp://*:5559")]);
    }

    #[test]
    fn a_connect() {
        let spec = parse("dealer>tcp://127.0.0.1:5560");
        assert_eq!(spec.socket_type, SocketType::Dealer);
        assert_eq!(spec.endpoints, [connect("tcp://127.0.0.1:5560")]);
    }

    #[test]
    fn several_endpoints_in_order() {
        let spec = parse("router@tcp://*:5559,@ipc:///tmp/q");
        assert_eq!(spec.endpoints, [bind("tcp://*:5559"), bind("ipc:///tmp/q")]);
        let spec = parse("pull@tcp://*:5557,>inproc://x");
        assert_eq!(
            spec.endpoints,
            [bind("tcp://*:5557"), connect("inproc://x")]
        );
    }

    #[test]
    fn an_endpoint_without_prefix_after_a_comma_binds() {
        let spec = parse("pub>tcp://10.0.0.5:5556,ipc:///tmp/feed");
        assert_eq!(
            spec.endpoints,
            [connect("tcp://10.0.0.5:5556"), bind("ipc:///tmp/feed")]
        );
    }

    #[test]
    fn an_abstract_ipc_name_keeps_its_at_sign() {
        let spec = parse("pair@ipc://@name,>ipc://@other");
        assert_eq!(
            spec.endpoints,
            [bind("ipc://@name"), connect("ipc://@other")]
        );
    }

    #[test]
    fn type_names_are_case_insensitive_and_all_eleven_parse() {
        assert_eq!(parse("ROUTER@inproc://a").socket_type, SocketType::Router);
        assert_eq!(parse("XPub@inproc://a").socket_type, SocketType::XPub);
        for (name, socket_type) in TYPE_NAMES.iter().zip(SocketType::ALL) {
            assert_eq!(
                parse(&format!("{name}@inproc://a")).socket_type,
                socket_type
            );
            assert_eq!(socket_type_name(socket_type), *name);
        }
    }

    #[test]
    fn display_writes_every_prefix_and_parses_back() {
        let spec = parse("PULL@tcp://*:5557,>inproc://x,ipc:///tmp/y");
        assert_eq!(
            spec.to_string(),
            "pull@tcp://*:5557,>inproc://x,@ipc:///tmp/y"
        );
        assert_eq!(parse(&spec.to_string()), spec);
    }

    #[test]
    fn an_unknown_type_lists_the_known_ones() {
        assert_eq!(
            error("foo@tcp://*:1"),
            "unknown socket type \"foo\"; use one of pair, pub, sub, req, rep, dealer, \
             router, pull, push, xpub, xsub"
        );
    }

    #[test]
    fn a_spec_without_type_says_to_put_it_first() {
        assert_eq!(
            error("tcp://*:5557"),
            "socket spec \"tcp://*:5557\" has no socket type; put the type first, \
             e.g. pull@tcp://*:5557"
        );
        assert_eq!(
            error("@tcp://*:5557"),
            "socket spec \"@tcp://*:5557\" has no socket type; put the type first, \
             e.g. pull@tcp://*:5557"
        );
    }

    #[test]
    fn a_type_without_endpoint_says_how_to_add_one() {
        assert_eq!(
            error("pull"),
            "socket spec \"pull\" has no endpoint; add @ENDPOINT to bind or >ENDPOINT \
             to connect, e.g. pull@tcp://*:5555"
        );
    }

    #[test]
    fn the_first_endpoint_needs_a_prefix() {
        assert_eq!(
            error("sub,tcp://*:1"),
            "expected @ (bind) or > (connect) after \"sub\", found \",\"; \
             e.g. sub@tcp://*:5555"
        );
    }

    #[test]
    fn empty_endpoints_are_named_by_position() {
        assert_eq!(
            error("pull@"),
            "endpoint 1 of \"pull@\" is empty; remove the extra comma or write an \
             endpoint after the @ or >"
        );
        assert!(error("pull@inproc://a,,@inproc://b").starts_with("endpoint 2 of"));
        assert!(error("pull@inproc://a,").starts_with("endpoint 2 of"));
    }

    #[test]
    fn a_bad_endpoint_carries_the_parse_error() {
        let message = error("push>udp://host:1");
        assert!(
            message.starts_with("bad endpoint \"udp://host:1\": "),
            "{message}"
        );
        assert!(message.contains("unknown transport"), "{message}");
        assert!(matches!(
            "push>nowhere".parse::<SocketSpec>(),
            Err(SpecError::BadEndpoint { .. })
        ));
    }

    #[test]
    fn an_empty_spec_is_an_error() {
        assert_eq!("  ".parse::<SocketSpec>(), Err(SpecError::Empty));
    }

    #[tokio::test]
    async fn open_binds_and_connects() {
        let spec = parse("pull@inproc://spec-open-test");
        let pull = spec.open(Options::default()).unwrap();
        let push = parse("push>inproc://spec-open-test")
            .open(Options::default())
            .unwrap();
        push.send("hello").await.unwrap();
        assert_eq!(pull.recv().await.unwrap().frames(), ["hello"]);
    }

    #[tokio::test]
    async fn open_fails_on_an_address_in_use() {
        let first = parse("pull@inproc://spec-in-use")
            .open(Options::default())
            .unwrap();
        let second = parse("pull@inproc://spec-in-use").open(Options::default());
        assert!(matches!(second, Err(purezmq::Error::InprocInUse(_))));
        drop(first);
    }
}
