//! What the tests that run the workspace's binaries share: building them.

#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `cargo build --quiet ARGS` into the target directory and profile this test
/// runs from (a no-op when everything is up to date) and returns that profile's
/// directory, where the binaries are (examples under `examples/`).
///
/// # Panics
///
/// If the test does not run from `<target>/<profile>/deps` or the build fails.
pub fn cargo_build(args: &[&str]) -> PathBuf {
    // A test runs as <target dir>/<profile dir>/deps/<name>-<hash>.
    let exe = std::env::current_exe().expect("the test knows its own path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test runs from <target>/<profile>/deps");
    let target_dir = profile_dir.parent().expect("a target directory");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args(["build", "--quiet"])
        .args(args)
        .arg("--target-dir")
        .arg(target_dir);
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => {}
        Some("release") => {
            build.arg("--release");
        }
        Some(profile) => {
            build.args(["--profile", profile]);
        }
        None => panic!("no profile directory in {}", exe.display()),
    }
    let output = build.output().expect("cargo should start");
    assert!(
        output.status.success(),
        "cargo build {} failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    profile_dir.to_path_buf()
}

/// The `purezmq` binary, built once per test process, or `$PUREZMQ_BIN` if set.
pub fn purezmq() -> &'static Path {
    static BINARY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BINARY.get_or_init(|| {
        if let Some(binary) = std::env::var_os("PUREZMQ_BIN") {
            return PathBuf::from(binary);
        }
        let profile_dir = cargo_build(&["-p", "purezmq-broker", "--bin", "purezmq"]);
        let binary = profile_dir.join(format!("purezmq{}", std::env::consts::EXE_SUFFIX));
        assert!(binary.is_file(), "no binary at {}", binary.display());
        binary
    })
}

/// Builds `package`'s examples (once per test process) and gives the path of the one
/// called `name`.
pub fn example(package: &str, name: &str) -> PathBuf {
    static BUILT: std::sync::Mutex<Vec<(String, PathBuf)>> = std::sync::Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let profile_dir = match built.iter().find(|(p, _)| p == package) {
        Some((_, dir)) => dir.clone(),
        None => {
            let dir = cargo_build(&["-p", package, "--examples"]);
            built.push((package.to_owned(), dir.clone()));
            dir
        }
    };
    profile_dir.join("examples").join(name)
}
