//! The pyzmq virtual environment: where it lives, how it is built, and how
//! concurrent test threads and processes share it.
//!
//! Concurrency: within a process a `OnceLock` makes one thread build it. Across
//! processes nothing is locked; instead each builder works in its own staging
//! directory and renames it into place when complete. The rename is atomic, so
//! the final directory either does not exist or is complete. Losing builders
//! discard their copy. Only `python` itself is ever run from the environment
//! (`python -m pip`, never the `pip` script), which keeps working after the
//! rename even though the generated scripts' shebangs name the staging path.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::{LIBZMQ_VERSION, MAJORTOMO_VERSION, PYZMQ_VERSION};

/// Written last into a staging environment, holding [`requirements`]; an
/// environment whose marker holds them is complete and current.
const MARKER: &str = "purezmq-complete";

/// What `pip install` puts into the environment, one requirement per line.
/// majortomo imports `six` without declaring it, hence the extra pin.
fn requirements() -> String {
    format!("pyzmq=={PYZMQ_VERSION}\nmajortomo=={MAJORTOMO_VERSION}\nsix==1.17.0\n")
}

/// Whether `venv` is a complete environment with today's [`requirements`] (one
/// built for another list, say before majortomo joined, is not).
fn is_current(venv: &Path) -> bool {
    fs::read_to_string(venv.join(MARKER)).is_ok_and(|listed| listed == requirements())
}

/// Returns the path of a Python interpreter that can `import zmq`, with pyzmq
/// [`PYZMQ_VERSION`] bundling libzmq [`LIBZMQ_VERSION`], and `import majortomo`
/// ([`MAJORTOMO_VERSION`], a Majordomo MDP/0.2 peer).
///
/// On first use this creates a virtual environment at
/// `<target dir>/pyzmq-venv` (the target dir is `$CARGO_TARGET_DIR` if set,
/// else `<workspace>/target`) by running `python3 -m venv` and
/// `pip install pyzmq==`[`PYZMQ_VERSION`]` majortomo==`[`MAJORTOMO_VERSION`]` six==1.17.0`;
/// later calls, from any thread or process, reuse it (an environment made for
/// another list of packages is rebuilt). The base interpreter is `python3` from `PATH`, or
/// `$PUREZMQ_PYTHON` if set.
///
/// # Panics
///
/// If any step fails (no Python, no network for pip, wrong libzmq version),
/// with a message naming the command that failed and its output.
pub fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let venv = target_dir().join("pyzmq-venv");
            if !is_current(&venv) {
                build(&venv);
            }
            interpreter(&venv)
        })
        .clone()
}

/// The workspace's target directory, honouring `CARGO_TARGET_DIR`.
fn target_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("interop-tests should sit inside the workspace directory");
    // A relative CARGO_TARGET_DIR is relative to where cargo ran; the
    // workspace root is the usual place (joining keeps absolute paths as is).
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => workspace.join(dir),
        _ => workspace.join("target"),
    }
}

/// The interpreter inside the environment at `venv`.
fn interpreter(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

/// Builds a complete environment in a staging directory and moves it to `venv`.
fn build(venv: &Path) {
    let parent = venv.parent().expect("the venv path has a parent directory");
    fs::create_dir_all(parent)
        .unwrap_or_else(|e| panic!("could not create {}: {e}", parent.display()));
    let guard = Staging(parent.join(unique_name("pyzmq-venv.staging")));
    let staging = guard.0.as_path();

    let base = std::env::var_os("PUREZMQ_PYTHON").unwrap_or_else(|| OsString::from("python3"));
    run(
        Command::new(base).arg("-m").arg("venv").arg(staging),
        "creating the virtual environment (is python3 with the venv module installed?)",
    );
    let python = interpreter(staging);
    run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
            ])
            .args(requirements().lines()),
        "installing pyzmq and majortomo (this needs network access to PyPI)",
    );
    let version = run(
        Command::new(&python).args(["-c", "import zmq; print(zmq.zmq_version())"]),
        "checking the libzmq version bundled with pyzmq",
    );
    assert_eq!(
        version.trim(),
        LIBZMQ_VERSION,
        "pyzmq {PYZMQ_VERSION} bundles libzmq {} but the tests and vectors need {LIBZMQ_VERSION}",
        version.trim()
    );
    fs::write(staging.join(MARKER), requirements())
        .unwrap_or_else(|e| panic!("could not write the marker in {}: {e}", staging.display()));

    publish(staging, venv);
}

/// A staging directory, removed on drop so that a failed build leaves no
/// debris (after a successful rename it no longer exists and this is a no-op).
struct Staging(PathBuf);

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Atomically renames `staging` to `venv`, unless another builder won.
fn publish(staging: &Path, venv: &Path) {
    if fs::rename(staging, venv).is_ok() {
        return;
    }
    if !is_current(venv) {
        // Something incomplete or outdated occupies the name (say, a copy made
        // by hand or by an older version of this code): set it aside and retry.
        let aside = venv.with_file_name(unique_name("pyzmq-venv.stale"));
        if fs::rename(venv, &aside).is_ok() {
            let _ = fs::remove_dir_all(&aside);
        }
        if fs::rename(staging, venv).is_ok() {
            return;
        }
        assert!(
            is_current(venv),
            "could not move {} to {}",
            staging.display(),
            venv.display()
        );
    }
    // Another process published a complete environment first; ours is
    // surplus and `Staging` removes it.
}

/// `prefix` made unique to this process and moment.
fn unique_name(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// Runs `command` to completion and returns its stdout; panics naming the
/// command, `what` it was for and its output if it cannot start or fails.
fn run(command: &mut Command, what: &str) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{what}: could not start {command:?}: {e}"));
    if !output.status.success() {
        panic!(
            "{what}: {command:?} failed ({})\n--- stdout ---\n{}\n--- stderr ---\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
    }
    String::from_utf8_lossy(&output.stdout).into_owned()
}
