//! Endpoint strings — `tcp://host:port`, `ipc:///path`, `inproc://name` — parsed into
//! types the engine can act on, and written back in libzmq's syntax.
//!
//! The rules are libzmq's (4.3.5, `zmq_tcp(7)`, `zmq_ipc(7)`, `zmq_inproc(7)`). Parsing
//! only checks the syntax: it does not know whether the endpoint will be bound or
//! connected, resolves no names and touches no file, so `tcp://*:*` parses as well as
//! `tcp://server1:5555`, and the engine decides what each means for its operation.
//!
//! ```
//! use purezmq::endpoint::{Endpoint, Host, Port};
//!
//! let endpoint: Endpoint = "tcp://[::1]:5555".parse()?;
//! let Endpoint::Tcp(tcp) = &endpoint else { unreachable!() };
//! assert_eq!(tcp.host(), &Host::Ip("::1".parse()?));
//! assert_eq!(tcp.port(), Port::Number(5555));
//! assert_eq!(endpoint.to_string(), "tcp://[::1]:5555");
//!
//! let error = "tcp://localhost".parse::<Endpoint>().unwrap_err();
//! assert_eq!(error.to_string(), r#"missing port in "tcp://localhost""#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::path::PathBuf;
use std::str::FromStr;

/// The longest inproc name `zmq_inproc(7)` allows, in characters.
pub const MAX_INPROC_NAME_LEN: usize = 256;

/// Where a socket binds or connects: one of the transports purezmq speaks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `tcp://…`: ZMTP over TCP, see [`TcpEndpoint`].
    Tcp(TcpEndpoint),
    /// `ipc://…`: ZMTP over a Unix domain socket, see [`IpcEndpoint`].
    Ipc(IpcEndpoint),
    /// `inproc://name`: between sockets of the same context, no I/O. The name is
    /// non-empty and at most [`MAX_INPROC_NAME_LEN`] characters.
    Inproc(String),
}

impl Endpoint {
    /// Parses an endpoint string in libzmq's syntax, `transport://address`.
    pub fn parse(text: &str) -> Result<Self, EndpointError> {
        let Some((transport, address)) = text.split_once("://") else {
            return Err(EndpointError::MissingSeparator {
                endpoint: text.to_owned(),
            });
        };
        match transport {
            "tcp" => TcpEndpoint::parse_address(address, text).map(Endpoint::Tcp),
            "ipc" => IpcEndpoint::parse_address(address, text).map(Endpoint::Ipc),
            "inproc" => parse_inproc_name(address, text).map(Endpoint::Inproc),
            _ => Err(EndpointError::UnknownTransport {
                transport: transport.to_owned(),
                endpoint: text.to_owned(),
            }),
        }
    }

    /// The transport's name as it appears before `://`: `"tcp"`, `"ipc"` or `"inproc"`.
    pub fn transport(&self) -> &'static str {
        match self {
            Endpoint::Tcp(_) => "tcp",
            Endpoint::Ipc(_) => "ipc",
            Endpoint::Inproc(_) => "inproc",
        }
    }
}

impl FromStr for Endpoint {
    type Err = EndpointError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Endpoint::parse(text)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.transport())?;
        match self {
            Endpoint::Tcp(tcp) => tcp.fmt(f),
            Endpoint::Ipc(ipc) => ipc.fmt(f),
            Endpoint::Inproc(name) => f.write_str(name),
        }
    }
}

/// The address of a `tcp://` endpoint: `host:port`, optionally preceded by the local
/// address a connection should leave from, `source_host:source_port;host:port`.
///
/// An IPv6 address is written in brackets, `[::1]:5555`. libzmq also accepts it bare,
/// `::1:5555`, splitting at the last colon; so does this parser, and [`fmt::Display`]
/// writes the bracketed form back.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TcpEndpoint {
    source: Option<TcpSource>,
    host: Host,
    port: Port,
}

impl TcpEndpoint {
    /// An endpoint for `host:port` with no source address.
    pub fn new(host: Host, port: Port) -> Self {
        TcpEndpoint {
            source: None,
            host,
            port,
        }
    }

    /// The same endpoint, connecting from `source` (`source;host:port`).
    pub fn with_source(self, source: TcpSource) -> Self {
        TcpEndpoint {
            source: Some(source),
            ..self
        }
    }

    /// The host: the interface to bind on, or the peer to connect to.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The port: the one to bind on, or the peer's.
    pub fn port(&self) -> Port {
        self.port
    }

    /// The local address a connection leaves from, if the endpoint names one.
    pub fn source(&self) -> Option<&TcpSource> {
        self.source.as_ref()
    }

    /// Parses what follows `tcp://`; `endpoint` is the whole text, for errors.
    fn parse_address(address: &str, endpoint: &str) -> Result<Self, EndpointError> {
        let (source, destination) = match address.split_once(';') {
            Some(("", _)) => {
                return Err(EndpointError::EmptySource {
                    endpoint: endpoint.to_owned(),
                });
            }
            Some((source, destination)) => {
                let (host, port) = parse_host_port(source, endpoint)?;
                (Some(TcpSource { host, port }), destination)
            }
            None => (None, address),
        };
        let (host, port) = parse_host_port(destination, endpoint)?;
        Ok(TcpEndpoint { source, host, port })
    }
}

impl fmt::Display for TcpEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(source) = &self.source {
            write!(f, "{source};")?;
        }
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// The local address a TCP connection leaves from: the part before `;` in
/// `tcp://source_host:source_port;host:port`.
///
/// Port 0 or `*` lets the operating system pick the local port, as libzmq does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TcpSource {
    host: Host,
    port: Port,
}

impl TcpSource {
    /// A source address: the interface (or local IP) and the local port.
    pub fn new(host: Host, port: Port) -> Self {
        TcpSource { host, port }
    }

    /// The local interface or IP address to leave from.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The local port to leave from.
    pub fn port(&self) -> Port {
        self.port
    }
}

impl fmt::Display for TcpSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// The host part of a TCP address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// `*`: every interface (meaningful for bind).
    Any,
    /// A numeric IPv4 or IPv6 address.
    Ip(IpAddr),
    /// Anything else, kept as written for the engine to resolve: a DNS name
    /// (`localhost`), a network interface name (`eth0`, for bind or a source), or an
    /// IPv6 address with a zone (`fe80::1%eth0`).
    Name(String),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Any => f.write_str("*"),
            Host::Ip(IpAddr::V4(ip)) => ip.fmt(f),
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            // Only an IPv6 address with a zone holds a colon; it needs the brackets too.
            Host::Name(name) if name.contains(':') => write!(f, "[{name}]"),
            Host::Name(name) => f.write_str(name),
        }
    }
}

/// The port part of a TCP address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Port {
    /// `*`: let the operating system pick a free port (meaningful for bind; libzmq
    /// treats `0` the same way there).
    Any,
    /// A port number as written, 0 to 65535.
    Number(u16),
}

impl Port {
    /// The number to hand the operating system: [`Port::Any`] is 0.
    pub fn to_u16(self) -> u16 {
        match self {
            Port::Any => 0,
            Port::Number(number) => number,
        }
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Port::Any => f.write_str("*"),
            Port::Number(number) => number.fmt(f),
        }
    }
}

/// The address of an `ipc://` endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IpcEndpoint {
    /// A file system path for the Unix domain socket, e.g. `ipc:///tmp/feeds/0`.
    /// Relative paths are kept relative. Written back with [`std::path::Path::display`],
    /// so a path that is not UTF-8 does not round-trip.
    Path(PathBuf),
    /// `ipc://@name`: a socket in Linux's abstract namespace, without the `@`.
    Abstract(String),
    /// `ipc://*`: on bind, libzmq creates a unique temporary path.
    Any,
}

impl IpcEndpoint {
    /// Parses what follows `ipc://`; `endpoint` is the whole text, for errors.
    fn parse_address(address: &str, endpoint: &str) -> Result<Self, EndpointError> {
        match address {
            "" => Err(EndpointError::EmptyIpcPath {
                endpoint: endpoint.to_owned(),
            }),
            "*" => Ok(IpcEndpoint::Any),
            "@" => Err(EndpointError::EmptyAbstractName {
                endpoint: endpoint.to_owned(),
            }),
            _ => Ok(match address.strip_prefix('@') {
                Some(name) => IpcEndpoint::Abstract(name.to_owned()),
                None => IpcEndpoint::Path(PathBuf::from(address)),
            }),
        }
    }
}

impl fmt::Display for IpcEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpcEndpoint::Path(path) => path.display().fmt(f),
            IpcEndpoint::Abstract(name) => write!(f, "@{name}"),
            IpcEndpoint::Any => f.write_str("*"),
        }
    }
}

/// Why an endpoint string does not parse. Each message quotes the whole endpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EndpointError {
    /// There is no `://` between the transport and the address.
    #[error("invalid endpoint {endpoint:?}: missing \"://\"")]
    MissingSeparator {
        /// The endpoint as given.
        endpoint: String,
    },
    /// The transport is not one purezmq speaks (libzmq's pgm, epgm, udp, ws, tipc,
    /// vmci and norm are not supported).
    #[error("unknown transport {transport:?} in {endpoint:?} (supported: tcp, ipc, inproc)")]
    UnknownTransport {
        /// The text before `://`.
        transport: String,
        /// The endpoint as given.
        endpoint: String,
    },
    /// A TCP address has nothing before the port.
    #[error("missing host in {endpoint:?}")]
    MissingHost {
        /// The endpoint as given.
        endpoint: String,
    },
    /// A TCP host is neither `*`, an IP address, nor a plausible name: an unclosed
    /// bracket, a colon outside an IPv6 address, white space.
    #[error("invalid host {host:?} in {endpoint:?}")]
    InvalidHost {
        /// The host as written.
        host: String,
        /// The endpoint as given.
        endpoint: String,
    },
    /// A TCP address has no `:port`.
    #[error("missing port in {endpoint:?}")]
    MissingPort {
        /// The endpoint as given.
        endpoint: String,
    },
    /// A TCP port is neither `*` nor a number from 0 to 65535.
    #[error("invalid port {port:?} in {endpoint:?}")]
    InvalidPort {
        /// The port as written.
        port: String,
        /// The endpoint as given.
        endpoint: String,
    },
    /// A TCP endpoint has a `;` with nothing before it.
    #[error("empty source address before \";\" in {endpoint:?}")]
    EmptySource {
        /// The endpoint as given.
        endpoint: String,
    },
    /// `ipc://` with no path.
    #[error("empty ipc path in {endpoint:?}")]
    EmptyIpcPath {
        /// The endpoint as given.
        endpoint: String,
    },
    /// `ipc://@` with no name after the `@`.
    #[error("empty abstract socket name in {endpoint:?}")]
    EmptyAbstractName {
        /// The endpoint as given.
        endpoint: String,
    },
    /// `inproc://` with no name.
    #[error("empty inproc name in {endpoint:?}")]
    EmptyInprocName {
        /// The endpoint as given.
        endpoint: String,
    },
    /// An inproc name longer than [`MAX_INPROC_NAME_LEN`] characters.
    #[error(
        "inproc name in {endpoint:?} is {length} characters long; the limit is {MAX_INPROC_NAME_LEN}"
    )]
    InprocNameTooLong {
        /// The name's length in characters.
        length: usize,
        /// The endpoint as given.
        endpoint: String,
    },
}

/// Splits `host:port` and parses both halves; `endpoint` is the whole text, for errors.
fn parse_host_port(address: &str, endpoint: &str) -> Result<(Host, Port), EndpointError> {
    let (host, port) = if let Some(bracketed) = address.strip_prefix('[') {
        // `[ipv6]:port`: the port follows the closing bracket, whatever the colons inside.
        let Some((inside, after)) = bracketed.split_once(']') else {
            return Err(invalid_host(address, endpoint));
        };
        let port = match after.strip_prefix(':') {
            Some(port) => port,
            None if after.is_empty() => {
                return Err(EndpointError::MissingPort {
                    endpoint: endpoint.to_owned(),
                });
            }
            None => return Err(invalid_host(address, endpoint)),
        };
        if !inside.contains(':') {
            // Brackets are for IPv6; libzmq strips them from anything, but `[host]` is
            // more likely a typo than a name.
            return Err(invalid_host(
                &address[..address.len() - after.len()],
                endpoint,
            ));
        }
        (inside, port)
    } else {
        // libzmq splits at the last colon, so a bare IPv6 address keeps its own colons.
        match address.rsplit_once(':') {
            Some((host, port)) => (host, port),
            None if address.is_empty() => {
                return Err(EndpointError::MissingHost {
                    endpoint: endpoint.to_owned(),
                });
            }
            None => {
                return Err(EndpointError::MissingPort {
                    endpoint: endpoint.to_owned(),
                });
            }
        }
    };
    let host = parse_host(host, endpoint)?;
    let port = parse_port(port, endpoint)?;
    Ok((host, port))
}

/// Parses a host with any brackets already removed.
fn parse_host(host: &str, endpoint: &str) -> Result<Host, EndpointError> {
    if host.is_empty() {
        return Err(EndpointError::MissingHost {
            endpoint: endpoint.to_owned(),
        });
    }
    if host == "*" {
        return Ok(Host::Any);
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(Host::Ip(ip));
    }
    if host.contains(':') {
        // The only names with a colon are IPv6 addresses with a zone: `fe80::1%eth0`.
        return match host.split_once('%') {
            Some((ip, zone))
                if ip.parse::<Ipv6Addr>().is_ok() && !zone.is_empty() && is_name(zone) =>
            {
                Ok(Host::Name(host.to_owned()))
            }
            _ => Err(invalid_host(host, endpoint)),
        };
    }
    if is_name(host) {
        Ok(Host::Name(host.to_owned()))
    } else {
        Err(invalid_host(host, endpoint))
    }
}

/// Whether `text` could be a DNS name or interface name: no white space, no control
/// characters, none of the characters the endpoint syntax itself uses.
fn is_name(text: &str) -> bool {
    !text
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || "[]:;*%/".contains(c))
}

fn invalid_host(host: &str, endpoint: &str) -> EndpointError {
    EndpointError::InvalidHost {
        host: host.to_owned(),
        endpoint: endpoint.to_owned(),
    }
}

/// Parses `*` or a decimal port number. Stricter than libzmq, whose `atoi` would read
/// `99999` as 34463 and `5555abc` as 5555.
fn parse_port(port: &str, endpoint: &str) -> Result<Port, EndpointError> {
    if port == "*" {
        return Ok(Port::Any);
    }
    if port.is_empty() {
        return Err(EndpointError::MissingPort {
            endpoint: endpoint.to_owned(),
        });
    }
    // `u16::from_str` accepts a leading `+`; a port is digits only.
    let digits_only = port.bytes().all(|b| b.is_ascii_digit());
    match port.parse::<u16>() {
        Ok(number) if digits_only => Ok(Port::Number(number)),
        _ => Err(EndpointError::InvalidPort {
            port: port.to_owned(),
            endpoint: endpoint.to_owned(),
        }),
    }
}

/// Checks an inproc name: non-empty, at most [`MAX_INPROC_NAME_LEN`] characters.
fn parse_inproc_name(name: &str, endpoint: &str) -> Result<String, EndpointError> {
    let length = name.chars().count();
    if length == 0 {
        Err(EndpointError::EmptyInprocName {
            endpoint: endpoint.to_owned(),
        })
    } else if length > MAX_INPROC_NAME_LEN {
        Err(EndpointError::InprocNameTooLong {
            length,
            endpoint: endpoint.to_owned(),
        })
    } else {
        Ok(name.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::net::{Ipv4Addr, Ipv6Addr};

    fn tcp(text: &str) -> TcpEndpoint {
        match Endpoint::parse(text) {
            Ok(Endpoint::Tcp(tcp)) => tcp,
            other => panic!("{text:?} parsed as {other:?}"),
        }
    }

    fn ipc(text: &str) -> IpcEndpoint {
        match Endpoint::parse(text) {
            Ok(Endpoint::Ipc(ipc)) => ipc,
            other => panic!("{text:?} parsed as {other:?}"),
        }
    }

    fn error(text: &str) -> String {
        match Endpoint::parse(text) {
            Ok(endpoint) => panic!("{text:?} parsed as {endpoint:?}"),
            Err(error) => error.to_string(),
        }
    }

    /// Parses `text`, checks it displays back unchanged, and parses the display again.
    fn round_trip(text: &str) -> Endpoint {
        let endpoint: Endpoint = text.parse().unwrap();
        assert_eq!(endpoint.to_string(), text);
        assert_eq!(Endpoint::parse(&endpoint.to_string()).unwrap(), endpoint);
        endpoint
    }

    fn ip(text: &str) -> Host {
        Host::Ip(text.parse().unwrap())
    }

    #[test]
    fn tcp_with_an_ipv4_address_and_port() {
        let endpoint = tcp("tcp://192.168.1.1:5555");
        assert_eq!(
            endpoint.host(),
            &Host::Ip(Ipv4Addr::new(192, 168, 1, 1).into())
        );
        assert_eq!(endpoint.port(), Port::Number(5555));
        assert_eq!(endpoint.source(), None);
        round_trip("tcp://192.168.1.1:5555");
    }

    #[test]
    fn tcp_star_host_binds_every_interface() {
        let endpoint = tcp("tcp://*:5555");
        assert_eq!(endpoint.host(), &Host::Any);
        assert_eq!(endpoint.port(), Port::Number(5555));
        round_trip("tcp://*:5555");
    }

    #[test]
    fn tcp_star_port_is_any_and_zero_is_kept_as_written() {
        assert_eq!(tcp("tcp://127.0.0.1:*").port(), Port::Any);
        assert_eq!(tcp("tcp://*:*").host(), &Host::Any);
        assert_eq!(tcp("tcp://*:*").port(), Port::Any);
        assert_eq!(tcp("tcp://*:0").port(), Port::Number(0));
        assert_eq!(Port::Any.to_u16(), 0);
        assert_eq!(Port::Number(5555).to_u16(), 5555);
        round_trip("tcp://127.0.0.1:*");
        round_trip("tcp://*:*");
        round_trip("tcp://*:0");
    }

    #[test]
    fn tcp_port_range_ends_parse() {
        assert_eq!(tcp("tcp://*:65535").port(), Port::Number(65535));
        assert_eq!(tcp("tcp://*:1").port(), Port::Number(1));
        // Leading zeros are still a decimal number; display normalises them.
        assert_eq!(tcp("tcp://*:05555").port(), Port::Number(5555));
        assert_eq!(
            Endpoint::parse("tcp://*:05555").unwrap().to_string(),
            "tcp://*:5555"
        );
    }

    #[test]
    fn tcp_host_names_and_interface_names_are_kept_for_the_engine() {
        let endpoint = tcp("tcp://localhost:5555");
        assert_eq!(endpoint.host(), &Host::Name("localhost".into()));
        round_trip("tcp://localhost:5555");
        assert_eq!(tcp("tcp://eth0:5555").host(), &Host::Name("eth0".into()));
        round_trip("tcp://eth0:5555");
        round_trip("tcp://server1.example.com:5555");
    }

    #[test]
    fn tcp_ipv6_in_brackets() {
        let endpoint = tcp("tcp://[::1]:5555");
        assert_eq!(endpoint.host(), &Host::Ip(Ipv6Addr::LOCALHOST.into()));
        assert_eq!(endpoint.port(), Port::Number(5555));
        round_trip("tcp://[::1]:5555");
        round_trip("tcp://[fe80::1:2:3:4]:*");
        round_trip("tcp://[::]:0");
    }

    #[test]
    fn tcp_bare_ipv6_splits_at_the_last_colon_as_libzmq_does() {
        // libzmq's resolver splits `::1:5555` at the last colon: host ::1, port 5555.
        let endpoint = tcp("tcp://::1:5555");
        assert_eq!(endpoint.host(), &ip("::1"));
        assert_eq!(endpoint.port(), Port::Number(5555));
        // Displayed in the bracketed form, which reads unambiguously.
        assert_eq!(
            Endpoint::parse("tcp://::1:5555").unwrap().to_string(),
            "tcp://[::1]:5555"
        );
        let endpoint = tcp("tcp://fe80::1:2:*");
        assert_eq!(endpoint.host(), &ip("fe80::1:2"));
        assert_eq!(endpoint.port(), Port::Any);
    }

    #[test]
    fn tcp_bare_ipv6_without_a_port_is_an_error() {
        // `::1` splits into host ":" and port "1": not an address.
        assert_eq!(error("tcp://::1"), r#"invalid host ":" in "tcp://::1""#);
        assert_eq!(error("tcp://[::1]"), r#"missing port in "tcp://[::1]""#);
    }

    #[test]
    fn tcp_ipv6_with_a_zone_is_kept_as_a_name_in_brackets() {
        let endpoint = tcp("tcp://[fe80::1%eth0]:5555");
        assert_eq!(endpoint.host(), &Host::Name("fe80::1%eth0".into()));
        round_trip("tcp://[fe80::1%eth0]:5555");
        assert_eq!(
            error("tcp://[fe80::1%]:5555"),
            r#"invalid host "fe80::1%" in "tcp://[fe80::1%]:5555""#
        );
    }

    #[test]
    fn tcp_source_address_before_a_semicolon() {
        let endpoint = tcp("tcp://192.168.1.17:5555;192.168.1.1:5555");
        let source = endpoint.source().unwrap();
        assert_eq!(source.host(), &ip("192.168.1.17"));
        assert_eq!(source.port(), Port::Number(5555));
        assert_eq!(endpoint.host(), &ip("192.168.1.1"));
        assert_eq!(endpoint.port(), Port::Number(5555));
        round_trip("tcp://192.168.1.17:5555;192.168.1.1:5555");

        let endpoint = tcp("tcp://eth1:0;server1:5555");
        assert_eq!(
            endpoint.source(),
            Some(&TcpSource::new(Host::Name("eth1".into()), Port::Number(0)))
        );
        assert_eq!(endpoint.host(), &Host::Name("server1".into()));
        round_trip("tcp://eth1:0;server1:5555");
        round_trip("tcp://*:*;[::1]:5555");
        round_trip("tcp://[::1]:*;[::2]:5555");
    }

    #[test]
    fn tcp_endpoints_built_by_hand_display_in_libzmq_syntax() {
        let endpoint = TcpEndpoint::new(Host::Ip(Ipv6Addr::LOCALHOST.into()), Port::Number(80))
            .with_source(TcpSource::new(Host::Any, Port::Any));
        assert_eq!(Endpoint::Tcp(endpoint).to_string(), "tcp://*:*;[::1]:80");
    }

    #[test]
    fn tcp_errors_quote_the_endpoint() {
        assert_eq!(
            error("tcp://localhost"),
            r#"missing port in "tcp://localhost""#
        );
        assert_eq!(
            error("tcp://localhost:"),
            r#"missing port in "tcp://localhost:""#
        );
        assert_eq!(
            error("tcp://*:99999"),
            r#"invalid port "99999" in "tcp://*:99999""#
        );
        assert_eq!(
            error("tcp://*:65536"),
            r#"invalid port "65536" in "tcp://*:65536""#
        );
        assert_eq!(error("tcp://*:-1"), r#"invalid port "-1" in "tcp://*:-1""#);
        assert_eq!(
            error("tcp://*:+80"),
            r#"invalid port "+80" in "tcp://*:+80""#
        );
        assert_eq!(
            error("tcp://*:http"),
            r#"invalid port "http" in "tcp://*:http""#
        );
        assert_eq!(
            error("tcp://*:5555/x"),
            r#"invalid port "5555/x" in "tcp://*:5555/x""#
        );
        assert_eq!(error("tcp://"), r#"missing host in "tcp://""#);
        assert_eq!(error("tcp://:5555"), r#"missing host in "tcp://:5555""#);
        assert_eq!(
            error("tcp://[]:5555"),
            r#"invalid host "[]" in "tcp://[]:5555""#
        );
        assert_eq!(
            error("tcp://[::1:5555"),
            r#"invalid host "[::1:5555" in "tcp://[::1:5555""#
        );
        assert_eq!(
            error("tcp://[::1]5555"),
            r#"invalid host "[::1]5555" in "tcp://[::1]5555""#
        );
        assert_eq!(
            error("tcp://[host]:5555"),
            r#"invalid host "[host]" in "tcp://[host]:5555""#
        );
        assert_eq!(
            error("tcp://a b:5555"),
            r#"invalid host "a b" in "tcp://a b:5555""#
        );
        assert_eq!(
            error("tcp://1:2:3:5555"),
            r#"invalid host "1:2:3" in "tcp://1:2:3:5555""#
        );
        assert_eq!(
            error("tcp://;host:5555"),
            r#"empty source address before ";" in "tcp://;host:5555""#
        );
        assert_eq!(
            error("tcp://eth0;host:5555"),
            r#"missing port in "tcp://eth0;host:5555""#
        );
        assert_eq!(
            error("tcp://a:1;b:2;c:3"),
            r#"invalid host "b:2;c" in "tcp://a:1;b:2;c:3""#
        );
    }

    #[test]
    fn ipc_path_abstract_and_any() {
        assert_eq!(
            ipc("ipc:///tmp/feeds/0"),
            IpcEndpoint::Path("/tmp/feeds/0".into())
        );
        round_trip("ipc:///tmp/feeds/0");
        assert_eq!(
            ipc("ipc://relative.sock"),
            IpcEndpoint::Path("relative.sock".into())
        );
        round_trip("ipc://relative.sock");
        assert_eq!(ipc("ipc://@name"), IpcEndpoint::Abstract("name".into()));
        round_trip("ipc://@name");
        assert_eq!(ipc("ipc://*"), IpcEndpoint::Any);
        round_trip("ipc://*");
    }

    #[test]
    fn ipc_errors_quote_the_endpoint() {
        assert_eq!(error("ipc://"), r#"empty ipc path in "ipc://""#);
        assert_eq!(
            error("ipc://@"),
            r#"empty abstract socket name in "ipc://@""#
        );
    }

    #[test]
    fn inproc_names() {
        assert_eq!(
            Endpoint::parse("inproc://#1").unwrap(),
            Endpoint::Inproc("#1".into())
        );
        round_trip("inproc://#1");
        round_trip("inproc://my-endpoint");
        // Any text is a name, even one that looks like another address.
        round_trip("inproc://tcp://*:5555");
        let longest = format!("inproc://{}", "é".repeat(MAX_INPROC_NAME_LEN));
        round_trip(&longest);
    }

    #[test]
    fn inproc_errors_quote_the_endpoint() {
        assert_eq!(error("inproc://"), r#"empty inproc name in "inproc://""#);
        let too_long = format!("inproc://{}", "x".repeat(MAX_INPROC_NAME_LEN + 1));
        assert_eq!(
            error(&too_long),
            format!("inproc name in {too_long:?} is 257 characters long; the limit is 256")
        );
    }

    #[test]
    fn transport_names() {
        assert_eq!(Endpoint::parse("tcp://*:1").unwrap().transport(), "tcp");
        assert_eq!(Endpoint::parse("ipc://*").unwrap().transport(), "ipc");
        assert_eq!(Endpoint::parse("inproc://a").unwrap().transport(), "inproc");
    }

    #[test]
    fn endpoint_errors_quote_the_endpoint() {
        assert_eq!(
            error("tcp//x"),
            r#"invalid endpoint "tcp//x": missing "://""#
        );
        assert_eq!(error(""), r#"invalid endpoint "": missing "://""#);
        assert_eq!(
            error("pgm://eth0;239.192.1.1:5555"),
            r#"unknown transport "pgm" in "pgm://eth0;239.192.1.1:5555" (supported: tcp, ipc, inproc)"#
        );
        // Transports are lower case, as in libzmq.
        assert_eq!(
            error("TCP://*:5555"),
            r#"unknown transport "TCP" in "TCP://*:5555" (supported: tcp, ipc, inproc)"#
        );
        assert_eq!(
            error("://x"),
            r#"unknown transport "" in "://x" (supported: tcp, ipc, inproc)"#
        );
    }

    #[test]
    fn errors_are_matchable_values() {
        assert_eq!(
            Endpoint::parse("tcp://*:99999"),
            Err(EndpointError::InvalidPort {
                port: "99999".into(),
                endpoint: "tcp://*:99999".into(),
            })
        );
    }

    mod properties {
        use super::*;

        use proptest::prelude::*;

        fn host() -> impl Strategy<Value = Host> {
            prop_oneof![
                Just(Host::Any),
                any::<IpAddr>().prop_map(Host::Ip),
                "[a-z][a-z0-9.-]{0,20}".prop_map(Host::Name),
                (any::<Ipv6Addr>(), "[a-z0-9]{1,8}")
                    .prop_map(|(ip, zone)| Host::Name(format!("{ip}%{zone}"))),
            ]
        }

        fn port() -> impl Strategy<Value = Port> {
            prop_oneof![Just(Port::Any), any::<u16>().prop_map(Port::Number)]
        }

        fn endpoint() -> impl Strategy<Value = Endpoint> {
            let tcp = (host(), port(), proptest::option::of((host(), port()))).prop_map(
                |(host, port, source)| {
                    let endpoint = TcpEndpoint::new(host, port);
                    Endpoint::Tcp(match source {
                        Some((host, port)) => endpoint.with_source(TcpSource::new(host, port)),
                        None => endpoint,
                    })
                },
            );
            let ipc = prop_oneof![
                Just(IpcEndpoint::Any),
                ".+".prop_map(IpcEndpoint::Abstract),
                "[^@*].*".prop_map(|path| IpcEndpoint::Path(path.into())),
            ]
            .prop_map(Endpoint::Ipc);
            let inproc = ".{1,256}".prop_map(Endpoint::Inproc);
            prop_oneof![tcp, ipc, inproc]
        }

        proptest! {
            #[test]
            fn every_endpoint_displays_to_text_that_parses_back_to_it(endpoint in endpoint()) {
                prop_assert_eq!(Endpoint::parse(&endpoint.to_string()), Ok(endpoint));
            }

            #[test]
            fn any_text_parses_or_errors_and_what_parses_round_trips(
                text in "(tcp|ipc|inproc|pgm)?(://)?[a-z0-9:;*@%/\\[\\].-]{0,24}",
            ) {
                if let Ok(endpoint) = Endpoint::parse(&text) {
                    prop_assert_eq!(Endpoint::parse(&endpoint.to_string()), Ok(endpoint));
                }
            }
        }
    }
}
