//! A hand-written binding to the libzmq functions the roles call, for a libzmq loaded
//! at run time with `libloading` (pyzmq's libzmq 4.3.5 with libsodium, so with CURVE).
//!
//! [`Functions`] holds one pointer per C function, looked up once by name; the types
//! below restate zmq.h 4.3.5's prototypes. [`Context`], [`Socket`] and [`Msg`] own
//! the libzmq objects and call those pointers with the arguments libzmq documents,
//! so the rest of the code needs no `unsafe`.

use std::cell::UnsafeCell;
use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::path::Path;

/// zmq.h's `zmq_msg_t`: 64 opaque bytes aligned like a pointer
/// (`unsigned char _[64]` with `__attribute__ ((aligned (sizeof (void *))))`).
#[repr(C, align(8))]
struct RawMsg([u8; 64]);

/// `void *zmq_ctx_new (void);`
type CtxNew = unsafe extern "C" fn() -> *mut c_void;
/// `int zmq_ctx_term (void *context_);`
type CtxTerm = unsafe extern "C" fn(*mut c_void) -> c_int;
/// `void *zmq_socket (void *, int type_);`
type SocketNew = unsafe extern "C" fn(*mut c_void, c_int) -> *mut c_void;
/// `int zmq_close (void *s_);`
type Close = unsafe extern "C" fn(*mut c_void) -> c_int;
/// `int zmq_setsockopt (void *s_, int option_, const void *optval_, size_t optvallen_);`
type SetSockOpt = unsafe extern "C" fn(*mut c_void, c_int, *const c_void, usize) -> c_int;
/// `int zmq_getsockopt (void *s_, int option_, void *optval_, size_t *optvallen_);`
type GetSockOpt = unsafe extern "C" fn(*mut c_void, c_int, *mut c_void, *mut usize) -> c_int;
/// `int zmq_bind (void *s_, const char *addr_);` and `zmq_connect`, the same.
type EndpointFn = unsafe extern "C" fn(*mut c_void, *const c_char) -> c_int;
/// `int zmq_send (void *s_, const void *buf_, size_t len_, int flags_);`
type SendFn = unsafe extern "C" fn(*mut c_void, *const c_void, usize, c_int) -> c_int;
/// `int zmq_msg_init (zmq_msg_t *msg_);` and `zmq_msg_close`, the same.
type MsgOp = unsafe extern "C" fn(*mut RawMsg) -> c_int;
/// `int zmq_msg_recv (zmq_msg_t *msg_, void *s_, int flags_);` and `zmq_msg_send`.
type MsgIo = unsafe extern "C" fn(*mut RawMsg, *mut c_void, c_int) -> c_int;
/// `void *zmq_msg_data (zmq_msg_t *msg_);`
type MsgData = unsafe extern "C" fn(*mut RawMsg) -> *mut c_void;
/// `size_t zmq_msg_size (const zmq_msg_t *msg_);`
type MsgSize = unsafe extern "C" fn(*const RawMsg) -> usize;
/// `int zmq_msg_more (const zmq_msg_t *msg_);`
type MsgMore = unsafe extern "C" fn(*const RawMsg) -> c_int;
/// `int zmq_proxy (void *frontend_, void *backend_, void *capture_);`
type ProxyFn = unsafe extern "C" fn(*mut c_void, *mut c_void, *mut c_void) -> c_int;
/// `int zmq_curve_keypair (char *z85_public_key_, char *z85_secret_key_);`
type CurveKeypair = unsafe extern "C" fn(*mut c_char, *mut c_char) -> c_int;
/// `int zmq_has (const char *capability_);`
type Has = unsafe extern "C" fn(*const c_char) -> c_int;
/// `void zmq_version (int *major_, int *minor_, int *patch_);`
type Version = unsafe extern "C" fn(*mut c_int, *mut c_int, *mut c_int);
/// `int zmq_errno (void);`
type Errno = unsafe extern "C" fn() -> c_int;
/// `const char *zmq_strerror (int errnum_);`
type StrError = unsafe extern "C" fn(c_int) -> *const c_char;

/// `ZMQ_SNDMORE` in zmq.h.
const SNDMORE: c_int = 2;
/// `ZMQ_LAST_ENDPOINT` in zmq.h.
const LAST_ENDPOINT: c_int = 32;

/// The functions of a loaded libzmq. The library is never unloaded, so the pointers
/// stay valid for the life of the process.
pub struct Functions {
    ctx_new: CtxNew,
    ctx_term: CtxTerm,
    socket: SocketNew,
    close: Close,
    setsockopt: SetSockOpt,
    getsockopt: GetSockOpt,
    bind: EndpointFn,
    connect: EndpointFn,
    send: SendFn,
    msg_init: MsgOp,
    msg_close: MsgOp,
    msg_recv: MsgIo,
    msg_send: MsgIo,
    msg_data: MsgData,
    msg_size: MsgSize,
    msg_more: MsgMore,
    proxy: ProxyFn,
    curve_keypair: CurveKeypair,
    has: Has,
    version: Version,
    errno: Errno,
    strerror: StrError,
}

/// Looks `name` (NUL-terminated) up in `library` as a value of type `T`.
///
/// # Safety
///
/// `T` must be a function pointer type matching the C prototype of `name`.
unsafe fn symbol<T: Copy>(library: &'static libloading::Library, name: &[u8]) -> Result<T, String> {
    // SAFETY: the caller guarantees that `T` matches the symbol's prototype; the
    // library is leaked, so the copied pointer outlives no library.
    let found = unsafe { library.get::<T>(name) };
    found.map(|symbol| *symbol).map_err(|e| {
        let name = String::from_utf8_lossy(&name[..name.len() - 1]);
        format!("{name} not found: {e}")
    })
}

impl Functions {
    /// Loads the libzmq shared library at `path` and looks up its functions.
    pub fn load(path: &Path) -> Result<&'static Functions, String> {
        // SAFETY: loading runs the library's initialisers: libzmq's and its bundled
        // libsodium's static constructors, which only initialise their own globals
        // and are safe to run from any thread. Nothing else is called yet.
        let library = unsafe { libloading::Library::new(path) }
            .map_err(|e| format!("could not load {}: {e}", path.display()))?;
        // Never unloaded: every function pointer below stays valid.
        let library: &'static libloading::Library = Box::leak(Box::new(library));
        // SAFETY: each type alias restates the prototype of the function of that name
        // in zmq.h of libzmq 4.3.5 (quoted on each alias above), so every pointer is
        // typed as the C function it points to.
        let functions = unsafe {
            Functions {
                ctx_new: symbol::<CtxNew>(library, b"zmq_ctx_new\0")?,
                ctx_term: symbol::<CtxTerm>(library, b"zmq_ctx_term\0")?,
                socket: symbol::<SocketNew>(library, b"zmq_socket\0")?,
                close: symbol::<Close>(library, b"zmq_close\0")?,
                setsockopt: symbol::<SetSockOpt>(library, b"zmq_setsockopt\0")?,
                getsockopt: symbol::<GetSockOpt>(library, b"zmq_getsockopt\0")?,
                bind: symbol::<EndpointFn>(library, b"zmq_bind\0")?,
                connect: symbol::<EndpointFn>(library, b"zmq_connect\0")?,
                send: symbol::<SendFn>(library, b"zmq_send\0")?,
                msg_init: symbol::<MsgOp>(library, b"zmq_msg_init\0")?,
                msg_close: symbol::<MsgOp>(library, b"zmq_msg_close\0")?,
                msg_recv: symbol::<MsgIo>(library, b"zmq_msg_recv\0")?,
                msg_send: symbol::<MsgIo>(library, b"zmq_msg_send\0")?,
                msg_data: symbol::<MsgData>(library, b"zmq_msg_data\0")?,
                msg_size: symbol::<MsgSize>(library, b"zmq_msg_size\0")?,
                msg_more: symbol::<MsgMore>(library, b"zmq_msg_more\0")?,
                proxy: symbol::<ProxyFn>(library, b"zmq_proxy\0")?,
                curve_keypair: symbol::<CurveKeypair>(library, b"zmq_curve_keypair\0")?,
                has: symbol::<Has>(library, b"zmq_has\0")?,
                version: symbol::<Version>(library, b"zmq_version\0")?,
                errno: symbol::<Errno>(library, b"zmq_errno\0")?,
                strerror: symbol::<StrError>(library, b"zmq_strerror\0")?,
            }
        };
        Ok(Box::leak(Box::new(functions)))
    }

    /// `zmq_version` as `major.minor.patch`.
    pub fn version(&self) -> String {
        let (mut major, mut minor, mut patch) = (0, 0, 0);
        // SAFETY: zmq_version writes one int through each pointer; all three point
        // at live ints on this stack frame.
        unsafe { (self.version)(&mut major, &mut minor, &mut patch) };
        format!("{major}.{minor}.{patch}")
    }

    /// `zmq_has`.
    pub fn has(&self, capability: &str) -> bool {
        let Ok(capability) = CString::new(capability) else {
            return false;
        };
        // SAFETY: zmq_has reads a NUL-terminated string, which `capability` is and
        // which lives through the call.
        unsafe { (self.has)(capability.as_ptr()) == 1 }
    }

    /// The calling thread's last libzmq error number.
    fn errno(&self) -> c_int {
        // SAFETY: zmq_errno takes nothing and reads the calling thread's errno.
        unsafe { (self.errno)() }
    }

    /// The last error of `call` as text: `zmq_bind: Address already in use`.
    fn error(&self, call: &str) -> String {
        let errno = self.errno();
        // SAFETY: zmq_strerror returns a pointer to a static NUL-terminated string
        // (strerror's, or one of libzmq's own constants) for any error number; it
        // is copied out before anything else can change it.
        let text = unsafe { CStr::from_ptr((self.strerror)(errno)) };
        format!("{call}: {}", text.to_string_lossy())
    }

    /// `zmq_curve_keypair`: (public, secret) in Z85.
    pub fn curve_keypair(&self) -> Result<(String, String), String> {
        let mut public = [0u8; 41];
        let mut secret = [0u8; 41];
        // SAFETY: zmq_curve_keypair writes 41 bytes (40 Z85 characters and a NUL)
        // through each pointer; each points at a live 41-byte array.
        let rc =
            unsafe { (self.curve_keypair)(public.as_mut_ptr().cast(), secret.as_mut_ptr().cast()) };
        if rc != 0 {
            return Err(self.error("zmq_curve_keypair"));
        }
        let text = |key: &[u8; 41]| String::from_utf8_lossy(&key[..40]).into_owned();
        Ok((text(&public), text(&secret)))
    }
}

/// A libzmq context (`zmq_ctx_new`), terminated on drop.
pub struct Context {
    functions: &'static Functions,
    raw: *mut c_void,
}

// SAFETY: libzmq contexts are thread-safe: zmq_ctx_* and zmq_socket may be called on
// one context from any thread (zmq_ctx_new(3)).
unsafe impl Send for Context {}
// SAFETY: as above, concurrent calls on one context are allowed.
unsafe impl Sync for Context {}

impl Context {
    /// A new context with libzmq's defaults (one I/O thread).
    pub fn new(functions: &'static Functions) -> Result<Context, String> {
        // SAFETY: zmq_ctx_new takes nothing; it returns a context or NULL.
        let raw = unsafe { (functions.ctx_new)() };
        if raw.is_null() {
            return Err(functions.error("zmq_ctx_new"));
        }
        Ok(Context { functions, raw })
    }

    /// A new socket of `kind` (a `ZMQ_*` socket type).
    pub fn socket(&self, kind: c_int) -> Result<Socket, String> {
        // SAFETY: `self.raw` is a live context (terminated only on drop); zmq_socket
        // returns a new socket or NULL.
        let raw = unsafe { (self.functions.socket)(self.raw, kind) };
        if raw.is_null() {
            return Err(self.functions.error("zmq_socket"));
        }
        Ok(Socket {
            functions: self.functions,
            raw,
        })
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        loop {
            // SAFETY: `self.raw` is a live context, terminated once here; sockets
            // still open would make this wait, and every role closes its own first.
            let rc = unsafe { (self.functions.ctx_term)(self.raw) };
            if rc == 0 || self.functions.errno() != libc::EINTR {
                break;
            }
        }
    }
}

/// A libzmq socket, closed on drop.
pub struct Socket {
    functions: &'static Functions,
    raw: *mut c_void,
}

// SAFETY: a libzmq socket may be used from another thread if the handover is a full
// memory barrier (zmq(7)); moving it into a thread and joining it back is one.
unsafe impl Send for Socket {}

impl Socket {
    fn check(&self, rc: c_int, call: &str) -> Result<(), String> {
        if rc == -1 {
            Err(self.functions.error(call))
        } else {
            Ok(())
        }
    }

    /// `zmq_setsockopt` with an `int`.
    pub fn set_int(&mut self, option: c_int, value: c_int) -> Result<(), String> {
        // SAFETY: `self.raw` is a live socket; the pointer and length describe
        // `value`, an int living through the call, which libzmq copies.
        let rc = unsafe {
            (self.functions.setsockopt)(
                self.raw,
                option,
                (&value as *const c_int).cast(),
                std::mem::size_of::<c_int>(),
            )
        };
        self.check(rc, "zmq_setsockopt")
    }

    /// `zmq_setsockopt` with bytes.
    pub fn set_bytes(&mut self, option: c_int, value: &[u8]) -> Result<(), String> {
        // SAFETY: `self.raw` is a live socket; the pointer and length describe
        // `value`, which lives through the call and which libzmq copies.
        let rc = unsafe {
            (self.functions.setsockopt)(self.raw, option, value.as_ptr().cast(), value.len())
        };
        self.check(rc, "zmq_setsockopt")
    }

    /// `zmq_bind`, returning `ZMQ_LAST_ENDPOINT`.
    pub fn bind(&mut self, endpoint: &str) -> Result<String, String> {
        let c_endpoint = CString::new(endpoint).map_err(|e| e.to_string())?;
        // SAFETY: `self.raw` is a live socket; `c_endpoint` is NUL-terminated and
        // lives through the call.
        let rc = unsafe { (self.functions.bind)(self.raw, c_endpoint.as_ptr()) };
        self.check(rc, "zmq_bind")?;
        let mut buffer = [0u8; 256];
        let mut len = buffer.len();
        // SAFETY: zmq_getsockopt writes at most `len` bytes into `buffer`, a live
        // array of that size, and the length written into `len`, a live usize.
        let rc = unsafe {
            (self.functions.getsockopt)(
                self.raw,
                LAST_ENDPOINT,
                buffer.as_mut_ptr().cast(),
                &mut len,
            )
        };
        self.check(rc, "zmq_getsockopt(ZMQ_LAST_ENDPOINT)")?;
        let text = &buffer[..len.min(buffer.len())];
        let text = text.strip_suffix(b"\0").unwrap_or(text);
        Ok(String::from_utf8_lossy(text).into_owned())
    }

    /// `zmq_connect`.
    pub fn connect(&mut self, endpoint: &str) -> Result<(), String> {
        let c_endpoint = CString::new(endpoint).map_err(|e| e.to_string())?;
        // SAFETY: `self.raw` is a live socket; `c_endpoint` is NUL-terminated and
        // lives through the call.
        let rc = unsafe { (self.functions.connect)(self.raw, c_endpoint.as_ptr()) };
        self.check(rc, "zmq_connect")
    }

    /// `zmq_send` of one frame, blocking; `ZMQ_SNDMORE` if `more`.
    pub fn send(&mut self, data: &[u8], more: bool) -> Result<(), String> {
        let flags = if more { SNDMORE } else { 0 };
        // SAFETY: `self.raw` is a live socket; the pointer and length describe
        // `data`, which lives through the call and which libzmq copies.
        let rc =
            unsafe { (self.functions.send)(self.raw, data.as_ptr().cast(), data.len(), flags) };
        self.check(rc, "zmq_send")
    }

    /// `zmq_msg_recv` of one frame, blocking; `None` once RCVTIMEO has passed.
    pub fn recv(&mut self) -> Result<Option<Msg>, String> {
        let msg = Msg::new(self.functions)?;
        // SAFETY: `self.raw` is a live socket and `msg` an initialised message that
        // libzmq fills; the pointer comes from the UnsafeCell that owns it.
        let rc = unsafe { (self.functions.msg_recv)(msg.raw.get(), self.raw, 0) };
        if rc == -1 {
            if self.functions.errno() == libc::EAGAIN {
                return Ok(None);
            }
            return Err(self.functions.error("zmq_msg_recv"));
        }
        Ok(Some(msg))
    }

    /// `zmq_msg_send` of a message, blocking; `ZMQ_SNDMORE` if `more`.
    pub fn send_msg(&mut self, msg: Msg, more: bool) -> Result<(), String> {
        let flags = if more { SNDMORE } else { 0 };
        // SAFETY: `self.raw` is a live socket and `msg` an initialised message. On
        // success libzmq takes its content and leaves it empty; `msg`'s drop then
        // closes an empty message, which zmq_msg_send(3) allows.
        let rc = unsafe { (self.functions.msg_send)(msg.raw.get(), self.raw, flags) };
        self.check(rc, "zmq_msg_send")
    }
}

impl Socket {
    /// `zmq_proxy` from this socket (the frontend) to `backend`, without capture:
    /// blocks until the context terminates.
    pub fn proxy(&mut self, backend: &mut Socket) -> Result<(), String> {
        // SAFETY: both are live sockets of one context, each borrowed exclusively
        // for the call; a NULL capture is allowed (zmq_proxy(3)).
        let rc = unsafe { (self.functions.proxy)(self.raw, backend.raw, std::ptr::null_mut()) };
        self.check(rc, "zmq_proxy")
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        // SAFETY: `self.raw` is a live socket, closed once here.
        unsafe { (self.functions.close)(self.raw) };
    }
}

/// A libzmq message (`zmq_msg_t`), closed on drop.
///
/// Moving one is sound: a `zmq_msg_t` holds no pointer into itself (small messages
/// keep their bytes inline and `zmq_msg_data` computes the address on each call), and
/// libzmq itself moves them by plain struct copy (`zmq_msg_move`).
pub struct Msg {
    functions: &'static Functions,
    raw: UnsafeCell<RawMsg>,
}

impl Msg {
    fn new(functions: &'static Functions) -> Result<Msg, String> {
        let raw = UnsafeCell::new(RawMsg([0; 64]));
        // SAFETY: zmq_msg_init initialises the 64-byte, pointer-aligned message
        // the UnsafeCell owns (and cannot fail: it only zeroes fields).
        let rc = unsafe { (functions.msg_init)(raw.get()) };
        if rc != 0 {
            return Err(functions.error("zmq_msg_init"));
        }
        // Only an initialised message becomes a `Msg`, which closes it on drop.
        Ok(Msg { functions, raw })
    }

    /// The frame's bytes.
    pub fn data(&self) -> &[u8] {
        // SAFETY: the message is initialised; zmq_msg_size only reads it.
        let len = unsafe { (self.functions.msg_size)(self.raw.get()) };
        if len == 0 {
            return &[];
        }
        // SAFETY: zmq_msg_data returns the address of the message's `len` bytes,
        // which stay valid and unchanged while the message lives and is not sent
        // or closed: both take `self` by value or `&mut`, so not during this borrow.
        unsafe {
            let data = (self.functions.msg_data)(self.raw.get());
            std::slice::from_raw_parts(data.cast::<u8>(), len)
        }
    }

    /// Whether more frames of the message follow.
    pub fn more(&self) -> bool {
        // SAFETY: the message is initialised; zmq_msg_more only reads it.
        unsafe { (self.functions.msg_more)(self.raw.get()) == 1 }
    }
}

impl Drop for Msg {
    fn drop(&mut self) {
        // SAFETY: the message is initialised (or emptied by zmq_msg_send) and is
        // closed once here.
        unsafe { (self.functions.msg_close)(self.raw.get()) };
    }
}
