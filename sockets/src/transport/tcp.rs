//! tcp: binding, dialling and configuring TCP streams for engines.

use std::io;
use std::net::SocketAddr;

use tokio::net::TcpStream;

use crate::endpoint::{Host, TcpEndpoint};
use crate::options::Options;

pub(super) fn configure_tcp(stream: &TcpStream, keepalive: Option<bool>) {
    let _ = stream.set_nodelay(true);
    if let Some(on) = keepalive {
        let _ = socket2::SockRef::from(stream).set_keepalive(on);
    }
}

pub(super) fn bind_tcp(tcp: &TcpEndpoint, options: &Options) -> io::Result<std::net::TcpListener> {
    let port = tcp.port().to_u16();
    let addresses: Vec<SocketAddr> = match tcp.host() {
        Host::Any if options.ipv6 => {
            vec![SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, port))]
        }
        Host::Any => vec![SocketAddr::from((std::net::Ipv4Addr::UNSPECIFIED, port))],
        Host::Ip(ip) => vec![SocketAddr::new(*ip, port)],
        Host::Name(name) => {
            use std::net::ToSocketAddrs;
            (name.as_str(), port)
                .to_socket_addrs()?
                .filter(|a| options.ipv6 || a.is_ipv4())
                .collect()
        }
    };
    let mut last = io::Error::new(io::ErrorKind::AddrNotAvailable, "no address to bind to");
    for address in addresses {
        let socket = socket2::Socket::new(
            socket2::Domain::for_address(address),
            socket2::Type::STREAM,
            Some(socket2::Protocol::TCP),
        )?;
        if address.is_ipv6() {
            let _ = socket.set_only_v6(false);
        }
        socket.set_reuse_address(true)?;
        socket.set_nonblocking(true)?;
        match socket
            .bind(&address.into())
            .and_then(|()| socket.listen(1024))
        {
            Ok(()) => return Ok(socket.into()),
            Err(e) => last = e,
        }
    }
    Err(last)
}

pub(super) async fn dial_tcp(tcp: &TcpEndpoint, ipv6: bool) -> io::Result<TcpStream> {
    let port = tcp.port().to_u16();
    let addresses: Vec<SocketAddr> = match tcp.host() {
        Host::Ip(ip) => vec![SocketAddr::new(*ip, port)],
        Host::Name(name) => tokio::net::lookup_host((name.as_str(), port))
            .await?
            .filter(|a| ipv6 || a.is_ipv4())
            .collect(),
        Host::Any => Vec::new(),
    };
    let mut last = io::Error::new(io::ErrorKind::AddrNotAvailable, "the host has no address");
    for address in addresses {
        let socket = if address.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        if let Some(source) = tcp.source() {
            let ip = match source.host() {
                Host::Ip(ip) => *ip,
                _ if address.is_ipv4() => std::net::Ipv4Addr::UNSPECIFIED.into(),
                _ => std::net::Ipv6Addr::UNSPECIFIED.into(),
            };
            socket.set_reuseaddr(true)?;
            socket.bind(SocketAddr::new(ip, source.port().to_u16()))?;
        }
        match socket.connect(address).await {
            // On Linux a connect to a free port of the local ephemeral range can be
            // given that very port as its source and so reach itself (TCP's
            // simultaneous open): a connection with no peer behind it, that would
            // hand this socket its own messages and hold the port against the bind
            // that is to serve it. Nobody listens there: the connect failed.
            Ok(stream) if reached_itself(&stream) => {
                last = io::Error::new(
                    io::ErrorKind::ConnectionRefused,
                    format!("the connection to {address} reached itself: nobody listens there"),
                );
            }
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Whether a connection's two ends are the same address and port.
fn reached_itself(stream: &TcpStream) -> bool {
    matches!((stream.local_addr(), stream.peer_addr()), (Ok(local), Ok(peer)) if local == peer)
}
