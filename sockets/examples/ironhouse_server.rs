//! Ironhouse server, the ZeroMQ guide's strongest security pattern (chapter 5):
//! CURVE encryption plus a ZAP allowlist of client public keys.
//!
//! Takes one argument, a directory laid out as pyzmq's examples/security make it:
//! `private_keys/server.key_secret` is this server's certificate, and every
//! `public_keys/*.key` is a public key it admits. Binds a REP socket at
//! `tcp://*:9000`, answers each request with the request plus `" World"`, and runs
//! until killed.
//!
//! ```text
//! cargo run -p purezmq --example ironhouse_server -- certificates/
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use bytes::{BufMut, BytesMut};
use purezmq::auth::{ANY_DOMAIN, Authenticator, CurveKeys};
use purezmq::curve::Certificate;
use purezmq::{Options, Security, Socket, SocketType};

#[tokio::main]
async fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: ironhouse_server <certificate directory>");
        return ExitCode::FAILURE;
    };
    match serve(dir).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ironhouse_server: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(dir: PathBuf) -> Result<(), Box<dyn std::error::Error>> {
    let secret_file = dir.join("private_keys").join("server.key_secret");
    let keypair = Certificate::load(&secret_file)?
        .key_pair()
        .ok_or_else(|| format!("{} holds no secret key", secret_file.display()))?;
    // Only clients whose public key is in public_keys/ get in.
    let authenticator = Authenticator::new();
    authenticator.configure_curve(
        ANY_DOMAIN,
        CurveKeys::from_directory(dir.join("public_keys"))?,
    );

    let options = Options {
        security: Security::CurveServer { keypair },
        ..Options::default()
    };
    let server = Socket::with_options(SocketType::Rep, options)?;
    server.set_zap_handler(authenticator);
    server.bind("tcp://*:9000")?;

    loop {
        let request = server.recv().await?;
        let mut reply = BytesMut::new();
        for frame in request.frames() {
            reply.put_slice(frame);
        }
        reply.put_slice(b" World");
        server.send(reply.freeze()).await?;
    }
}
