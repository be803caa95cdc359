//! `purezmq keygen`: a new CURVE key pair, printed as libzmq's `curve_keygen` prints
//! it, or written as a certificate pair.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use purezmq::curve::{Certificate, KeyPair};

use super::Failure;

const EXAMPLES: &str = "\
Examples:
  # Print a key pair (the layout of libzmq's curve_keygen)
  purezmq keygen

  # Write server.key (public, to hand out) and server.key_secret (keep private)
  purezmq keygen --cert server.key --name server

  # A client whose public certificate goes into the server's --zap-allow directory
  purezmq keygen --cert clients/alice.key
  purezmq cat 'rep@tcp://*:5555' --echo --curve-server server.key_secret --zap-allow clients/";

/// Flags of `purezmq keygen`.
#[derive(Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct KeygenArgs {
    /// Write a certificate pair instead of printing: PATH gets the public key and
    /// PATH_secret both keys (only the owner may read it), in the format pyzmq's
    /// zmq.auth and CZMQ's zcert read. Name it NAME.key to match their convention.
    #[arg(long, value_name = "PATH")]
    pub cert: Option<PathBuf>,

    /// Metadata `name` to put in the certificate (with --cert).
    #[arg(long, requires = "cert")]
    pub name: Option<String>,

    /// Overwrite existing certificate files.
    #[arg(long, requires = "cert")]
    pub force: bool,
}

/// Runs `purezmq keygen`.
pub fn run(args: &KeygenArgs) -> Result<(), Failure> {
    let keypair = KeyPair::generate();
    match &args.cert {
        None => print(&keypair),
        Some(path) => {
            let mut certificate = Certificate::new(keypair);
            if let Some(name) = &args.name {
                certificate = certificate.with_metadata("name", name.clone());
            }
            write_pair(&certificate, path, args.force)
        }
    }
}

fn print(keypair: &KeyPair) -> Result<(), Failure> {
    let secret = keypair.secret().to_z85();
    let mut out = std::io::stdout().lock();
    write!(
        out,
        "This is a CurveZMQ key pair in Z85 (ZeroMQ RFC 32): two printable strings for\n\
         configuration files or source code. Keep the secret key with the one party\n\
         that owns it; hand the public key (securely!) to the peers that connect to it.\n\
         \n== CURVE PUBLIC KEY ==\n{}\n\n== CURVE SECRET KEY ==\n{}\n",
        keypair.public().to_z85(),
        &**secret,
    )
    .and_then(|()| out.flush())
    .or_else(|e| match e.kind() {
        // `purezmq keygen | head -3`: the reader has what it wanted.
        std::io::ErrorKind::BrokenPipe => Ok(()),
        _ => Err(Failure::runtime(e)),
    })
}

/// `PATH_secret` for `PATH`.
pub fn secret_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push("_secret");
    PathBuf::from(name)
}

/// Writes `certificate` to `path` (public) and `PATH_secret` (both keys, readable
/// by the owner only); refuses to overwrite either unless `force`.
pub fn write_pair(certificate: &Certificate, path: &Path, force: bool) -> Result<(), Failure> {
    let secret_path = secret_path(path);
    if !force {
        for existing in [path, secret_path.as_path()] {
            if existing.exists() {
                return Err(Failure::Usage(format!(
                    "{} exists already; give another --cert PATH, or --force to overwrite it",
                    existing.display()
                )));
            }
        }
    }
    let write_error = |path: &Path, error: std::io::Error| {
        Failure::Runtime(format!("cannot write {}: {error}", path.display()))
    };
    std::fs::write(path, certificate.to_public_text()).map_err(|e| write_error(path, e))?;
    let Some(secret) = certificate.to_secret_text() else {
        return Err(Failure::Runtime(
            "the certificate lost its secret key".into(),
        ));
    };
    write_private(&secret_path, secret.as_bytes()).map_err(|e| write_error(&secret_path, e))?;
    eprintln!(
        "wrote {} (public) and {} (secret)",
        path.display(),
        secret_path.display()
    );
    Ok(())
}

/// Writes a file only its owner may read or write.
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // An existing file keeps its mode through open: set it.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_path_appends_secret() {
        assert_eq!(
            secret_path(Path::new("certs/server.key")),
            PathBuf::from("certs/server.key_secret")
        );
    }
}
