//! libzmq 4.3.5 as pyzmq's wheel ships it (`pyzmq.libs/libzmq-*.so.5.2.5`, built
//! with libsodium, so with CURVE), loaded at run time through [`super::ffi`].
//!
//! The library is found through `PUREZMQ_LIBZMQ` (a path to the `.so`), which the
//! orchestrator sets for its workers after [`locate`] found it in a pyzmq virtual
//! environment under the target directory.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::ffi::{Context, Functions, Msg, Socket};
use super::{Api, BytesOption, IntOption, Kind};

/// The environment variable naming the libzmq shared library to load.
pub const LIBRARY_VARIABLE: &str = "PUREZMQ_LIBZMQ";

/// The pyzmq release whose wheel bundles libzmq 4.3.5.
pub const PYZMQ_VERSION: &str = "27.1.0";

/// A context of the loaded libzmq.
pub struct Dynamic {
    functions: &'static Functions,
    context: Context,
}

/// The library named by [`LIBRARY_VARIABLE`], loaded once per process.
pub fn functions() -> Result<&'static Functions, String> {
    static LOADED: OnceLock<Result<&'static Functions, String>> = OnceLock::new();
    LOADED
        .get_or_init(|| {
            let path = std::env::var_os(LIBRARY_VARIABLE)
                .ok_or_else(|| format!("{LIBRARY_VARIABLE} is not set"))?;
            Functions::load(Path::new(&path))
        })
        .clone()
}

impl Dynamic {
    /// A new context (libzmq's default: one I/O thread).
    pub fn new() -> Result<Dynamic, String> {
        let functions = functions()?;
        Ok(Dynamic {
            functions,
            context: Context::new(functions)?,
        })
    }
}

/// The libzmq shared library in pyzmq's wheel inside the virtual environment at
/// `venv`, if there is one.
pub fn library_in_venv(venv: &Path) -> Option<PathBuf> {
    let lib = std::fs::read_dir(venv.join("lib")).ok()?;
    for python in lib.flatten() {
        let libs = python.path().join("site-packages").join("pyzmq.libs");
        let Ok(entries) = std::fs::read_dir(&libs) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with("libzmq") && name.contains(".so") {
                return Some(entry.path());
            }
        }
    }
    None
}

/// Where pyzmq's libzmq is: `PUREZMQ_LIBZMQ` if set, else the first of `venvs`
/// holding one.
pub fn locate(venvs: &[PathBuf]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(LIBRARY_VARIABLE) {
        return Some(PathBuf::from(path));
    }
    venvs.iter().find_map(|venv| library_in_venv(venv))
}

impl Api for Dynamic {
    type Socket = Socket;
    type Msg = Msg;

    fn socket(&self, kind: Kind) -> Result<Socket, String> {
        self.context.socket(kind.raw())
    }

    fn set_int(&self, socket: &mut Socket, option: IntOption, value: i32) -> Result<(), String> {
        socket.set_int(option.raw(), value)
    }

    fn set_bytes(
        &self,
        socket: &mut Socket,
        option: BytesOption,
        value: &[u8],
    ) -> Result<(), String> {
        socket.set_bytes(option.raw(), value)
    }

    fn bind(&self, socket: &mut Socket, endpoint: &str) -> Result<String, String> {
        socket.bind(endpoint)
    }

    fn connect(&self, socket: &mut Socket, endpoint: &str) -> Result<(), String> {
        socket.connect(endpoint)
    }

    fn send(&self, socket: &mut Socket, data: &[u8], more: bool) -> Result<(), String> {
        socket.send(data, more)
    }

    fn recv(&self, socket: &mut Socket) -> Result<Option<Msg>, String> {
        socket.recv()
    }

    fn send_msg(&self, socket: &mut Socket, msg: Msg, more: bool) -> Result<(), String> {
        socket.send_msg(msg, more)
    }

    fn data<'m>(&self, msg: &'m Msg) -> &'m [u8] {
        msg.data()
    }

    fn more(&self, msg: &Msg) -> bool {
        msg.more()
    }

    fn close(&self, socket: Socket) {
        drop(socket);
    }

    fn curve_keypair(&self) -> Result<(String, String), String> {
        if !self.functions.has("curve") {
            return Err(format!(
                "libzmq {} at ${LIBRARY_VARIABLE} has no CURVE",
                self.functions.version()
            ));
        }
        self.functions.curve_keypair()
    }

    fn proxy(&self, frontend: &mut Socket, backend: &mut Socket) -> Result<(), String> {
        frontend.proxy(backend)
    }

    fn terminate(self) {
        // Dropping the context runs zmq_ctx_term, which waits for LINGER.
        drop(self.context);
    }
}
