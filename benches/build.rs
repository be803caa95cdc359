//! Records the versions of the stacks `compare` runs, as `Cargo.lock` pins them, and
//! the compiler's, so the report can state them.

use std::path::Path;
use std::process::Command;

fn main() {
    let lock_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock_path.display());
    let lock = std::fs::read_to_string(&lock_path).unwrap_or_default();
    for (package, variable) in [
        ("zmq", "COMPARE_ZMQ_CRATE_VERSION"),
        ("zeromq", "COMPARE_ZEROMQ_VERSION"),
        ("omq-tokio", "COMPARE_OMQ_VERSION"),
        ("rzmq", "COMPARE_RZMQ_VERSION"),
        ("tokio", "COMPARE_TOKIO_VERSION"),
    ] {
        let version = locked_version(&lock, package).unwrap_or_else(|| "unknown".to_owned());
        println!("cargo:rustc-env={variable}={version}");
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|text| text.trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=COMPARE_RUSTC_VERSION={version}");
}

/// The version of `package` in a `Cargo.lock`: the line after `name = "<package>"`.
/// With several versions locked, the newest listed first wins; the benches depend on
/// one version of each stack.
fn locked_version(lock: &str, package: &str) -> Option<String> {
    let name_line = format!("name = \"{package}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == name_line {
            let version = lines.next()?.trim();
            return version
                .strip_prefix("version = \"")
                .and_then(|rest| rest.strip_suffix('"'))
                .map(str::to_owned);
        }
    }
    None
}
