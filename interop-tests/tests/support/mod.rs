//! What the tests that run the workspace's binaries share: building them.

#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `cargo build --quiet --workspace ARGS` into the target directory and profile
/// this test runs from and returns that profile's directory, where the binaries are
/// (examples under `examples/`).
///
/// `--workspace`, with an example among the targets, resolves features as `cargo
/// test --workspace` does, so under the README's test command this is a no-op. With
/// `-p PACKAGE`, or without examples (no dev-dependencies), cargo would unify fewer
/// features and rebuild a chain of dependencies first: a minute or more in CI.
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
        .args(["build", "--quiet", "--workspace"])
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
        // The examples come along so that the build is resolved as the tests' own.
        let profile_dir = cargo_build(&["--bin", "purezmq", "--examples"]);
        let binary = profile_dir.join(format!("purezmq{}", std::env::consts::EXE_SUFFIX));
        assert!(binary.is_file(), "no binary at {}", binary.display());
        binary
    })
}

/// Builds the workspace's examples (once per test process) and gives the path of
/// the one called `name`.
pub fn example(name: &str) -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| cargo_build(&["--examples"]))
        .join("examples")
        .join(name)
}
