//! ipc: binding, dialling and configuring Unix-domain streams for engines (paths,
//! `ipc://*` and Linux's abstract names).

use std::io;
use std::path::PathBuf;

use tokio::net::{UnixListener, UnixStream};

use crate::endpoint::IpcEndpoint;

/// Binds a Unix socket; returns it, its name for last_endpoint, and the path to
/// remove later.
pub(super) fn bind_ipc(ipc: &IpcEndpoint) -> io::Result<(UnixListener, String, Option<PathBuf>)> {
    match ipc {
        IpcEndpoint::Path(path) => {
            // As libzmq: a file left by an earlier process is replaced.
            let _ = std::fs::remove_file(path);
            let listener = UnixListener::bind(path)?;
            Ok((listener, path.display().to_string(), Some(path.clone())))
        }
        IpcEndpoint::Any => {
            let dir = std::env::temp_dir().join(format!(
                "purezmq-{}-{:08x}",
                std::process::id(),
                rand::random::<u32>()
            ));
            std::fs::create_dir_all(&dir)?;
            let path = dir.join("socket");
            let listener = UnixListener::bind(&path)?;
            Ok((listener, path.display().to_string(), Some(path)))
        }
        IpcEndpoint::Abstract(name) => {
            let address = abstract_address(name)?;
            let listener = std::os::unix::net::UnixListener::bind_addr(&address)?;
            listener.set_nonblocking(true)?;
            Ok((UnixListener::from_std(listener)?, format!("@{name}"), None))
        }
    }
}

/// The send and receive buffers asked for on ipc connections. Linux's default for
/// Unix sockets (about 208 KiB) holds only three 64 KiB messages, and halves what a
/// stream of them gets through (64 KiB PUSH/PULL: 45 k msg/s with the default, 90 k
/// with this, the same as raw Unix sockets). The kernel allocates the memory only as
/// data waits in it, so idle connections cost nothing more.
const IPC_BUFFER: usize = 1024 * 1024;

pub(super) fn configure_ipc(stream: &UnixStream) {
    let socket = socket2::SockRef::from(stream);
    // Only a hint: the kernel caps it at net.core.wmem_max / rmem_max.
    let _ = socket.set_send_buffer_size(IPC_BUFFER);
    let _ = socket.set_recv_buffer_size(IPC_BUFFER);
}

pub(super) fn dial_ipc(ipc: &IpcEndpoint) -> io::Result<UnixStream> {
    let stream = match ipc {
        IpcEndpoint::Path(path) => std::os::unix::net::UnixStream::connect(path)?,
        IpcEndpoint::Abstract(name) => {
            std::os::unix::net::UnixStream::connect_addr(&abstract_address(name)?)?
        }
        IpcEndpoint::Any => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "ipc://* is for bind only",
            ));
        }
    };
    stream.set_nonblocking(true)?;
    let stream = UnixStream::from_std(stream)?;
    configure_ipc(&stream);
    Ok(stream)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
pub(super) fn abstract_address(name: &str) -> io::Result<std::os::unix::net::SocketAddr> {
    #[cfg(target_os = "android")]
    use std::os::android::net::SocketAddrExt;
    #[cfg(target_os = "linux")]
    use std::os::linux::net::SocketAddrExt;
    std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(super) fn abstract_address(_name: &str) -> io::Result<std::os::unix::net::SocketAddr> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract ipc names exist only on Linux",
    ))
}
