//! Ironhouse client, the ZeroMQ guide's strongest security pattern (chapter 5):
//! CURVE encryption, and a server that admits only the client keys it knows.
//!
//! Takes one argument, a directory laid out as pyzmq's examples/security make it:
//! `private_keys/client.key_secret` is this client's certificate and
//! `public_keys/server.key` the server's public key. Connects a REQ socket to
//! `tcp://127.0.0.1:9000`, sends `Hello` and prints the reply (`Hello World`); exits
//! with status 1 if no reply comes within 5 seconds.
//!
//! ```text
//! cargo run -p purezmq --example ironhouse_client -- certificates/
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use purezmq::curve::Certificate;
use purezmq::{Options, Security, Socket, SocketType};

/// How long to wait for the reply.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

#[tokio::main]
async fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: ironhouse_client <certificate directory>");
        return ExitCode::FAILURE;
    };
    match request(dir).await {
        Ok(reply) => {
            println!("{reply}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ironhouse_client: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn request(dir: PathBuf) -> Result<String, Box<dyn std::error::Error>> {
    let secret_file = dir.join("private_keys").join("client.key_secret");
    let keypair = Certificate::load(&secret_file)?
        .key_pair()
        .ok_or_else(|| format!("{} holds no secret key", secret_file.display()))?;
    let server_key = *Certificate::load(dir.join("public_keys").join("server.key"))?.public_key();

    let options = Options {
        security: Security::CurveClient {
            keypair,
            server_key,
        },
        // Do not hold the process open for an unsent request.
        linger: Some(Duration::ZERO),
        ..Options::default()
    };
    let client = Socket::with_options(SocketType::Req, options)?;
    client.connect("tcp://127.0.0.1:9000")?;

    let exchange = async {
        client.send("Hello").await?;
        client.recv().await
    };
    let reply = tokio::time::timeout(REPLY_TIMEOUT, exchange)
        .await
        .map_err(|_| format!("no reply within {} s", REPLY_TIMEOUT.as_secs()))??;
    client.close().await;
    let text: Vec<String> = reply
        .frames()
        .iter()
        .map(|frame| String::from_utf8_lossy(frame).into_owned())
        .collect();
    Ok(text.concat())
}
