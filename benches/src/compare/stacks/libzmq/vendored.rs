//! libzmq 4.3.4 as the `zmq` crate builds it: vendored, linked statically, built
//! without libsodium (so without CURVE).

use std::os::raw::{c_int, c_void};

use super::{Api, BytesOption, IntOption, Kind};

/// A context of the `zmq` crate's libzmq.
pub struct Vendored {
    context: zmq::Context,
}

impl Vendored {
    /// A new context (libzmq's default: one I/O thread).
    pub fn new() -> Result<Vendored, String> {
        Ok(Vendored {
            context: zmq::Context::new(),
        })
    }
}

/// This build's version, `major.minor.patch`.
pub fn version() -> String {
    let (major, minor, patch) = zmq::version();
    format!("{major}.{minor}.{patch}")
}

fn text(error: zmq::Error) -> String {
    error.to_string()
}

impl Api for Vendored {
    type Socket = zmq::Socket;
    type Msg = zmq::Message;

    fn socket(&self, kind: Kind) -> Result<zmq::Socket, String> {
        let kind = match kind {
            Kind::Pub => zmq::PUB,
            Kind::Sub => zmq::SUB,
            Kind::Req => zmq::REQ,
            Kind::Rep => zmq::REP,
            Kind::Dealer => zmq::DEALER,
            Kind::Router => zmq::ROUTER,
            Kind::Pull => zmq::PULL,
            Kind::Push => zmq::PUSH,
            Kind::XPub => zmq::XPUB,
            Kind::XSub => zmq::XSUB,
        };
        self.context.socket(kind).map_err(text)
    }

    fn set_int(
        &self,
        socket: &mut zmq::Socket,
        option: IntOption,
        value: i32,
    ) -> Result<(), String> {
        match option {
            IntOption::Linger => socket.set_linger(value).map_err(text),
            IntOption::RcvTimeo => socket.set_rcvtimeo(value).map_err(text),
            IntOption::CurveServer => socket.set_curve_server(value != 0).map_err(text),
            IntOption::Backlog => socket.set_backlog(value).map_err(text),
            IntOption::XpubNodrop => {
                let value: c_int = value;
                // SAFETY: `as_mut_ptr` is the live libzmq socket `socket` owns;
                // ZMQ_XPUB_NODROP takes an `int`, and the pointer and length describe
                // `value`, which outlives the call (libzmq copies it).
                let rc = unsafe {
                    zmq_sys::zmq_setsockopt(
                        socket.as_mut_ptr(),
                        option.raw(),
                        (&value as *const c_int).cast::<c_void>(),
                        std::mem::size_of::<c_int>(),
                    )
                };
                if rc == 0 {
                    Ok(())
                } else {
                    Err(format!("zmq_setsockopt(ZMQ_XPUB_NODROP) failed (rc {rc})"))
                }
            }
        }
    }

    fn set_bytes(
        &self,
        socket: &mut zmq::Socket,
        option: BytesOption,
        value: &[u8],
    ) -> Result<(), String> {
        match option {
            BytesOption::Subscribe => socket.set_subscribe(value),
            BytesOption::CurvePublicKey => socket.set_curve_publickey(value),
            BytesOption::CurveSecretKey => socket.set_curve_secretkey(value),
            BytesOption::CurveServerKey => socket.set_curve_serverkey(value),
        }
        .map_err(text)
    }

    fn bind(&self, socket: &mut zmq::Socket, endpoint: &str) -> Result<String, String> {
        socket.bind(endpoint).map_err(text)?;
        match socket.get_last_endpoint().map_err(text)? {
            Ok(endpoint) => Ok(endpoint),
            Err(_) => Err("ZMQ_LAST_ENDPOINT is not UTF-8".to_owned()),
        }
    }

    fn connect(&self, socket: &mut zmq::Socket, endpoint: &str) -> Result<(), String> {
        socket.connect(endpoint).map_err(text)
    }

    fn send(&self, socket: &mut zmq::Socket, data: &[u8], more: bool) -> Result<(), String> {
        let flags = if more { zmq::SNDMORE } else { 0 };
        socket.send(data, flags).map_err(text)
    }

    fn recv(&self, socket: &mut zmq::Socket) -> Result<Option<zmq::Message>, String> {
        match socket.recv_msg(0) {
            Ok(msg) => Ok(Some(msg)),
            Err(zmq::Error::EAGAIN) => Ok(None),
            Err(e) => Err(text(e)),
        }
    }

    fn send_msg(
        &self,
        socket: &mut zmq::Socket,
        msg: zmq::Message,
        more: bool,
    ) -> Result<(), String> {
        let flags = if more { zmq::SNDMORE } else { 0 };
        socket.send(msg, flags).map_err(text)
    }

    fn data<'m>(&self, msg: &'m zmq::Message) -> &'m [u8] {
        msg
    }

    fn more(&self, msg: &zmq::Message) -> bool {
        msg.get_more()
    }

    fn close(&self, socket: zmq::Socket) {
        drop(socket);
    }

    fn curve_keypair(&self) -> Result<(String, String), String> {
        if zmq::has("curve") != Some(true) {
            return Err(format!(
                "libzmq {} as the zmq crate builds it has no CURVE (no libsodium)",
                version()
            ));
        }
        let pair = zmq::CurveKeyPair::new().map_err(text)?;
        let z85 = |key: &[u8]| zmq::z85_encode(key).map_err(|e| e.to_string());
        Ok((z85(&pair.public_key)?, z85(&pair.secret_key)?))
    }

    fn proxy(&self, frontend: &mut zmq::Socket, backend: &mut zmq::Socket) -> Result<(), String> {
        zmq::proxy(frontend, backend).map_err(text)
    }

    fn terminate(self) {
        // Dropping the last handle runs zmq_ctx_term, which waits for LINGER.
        drop(self.context);
    }
}
