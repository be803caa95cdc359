//! Finding libzmq 4.3.5 as pyzmq ships it, or installing pyzmq to get it; and
//! pyzmq's `zmq.proxy` in a Python process, the proxy role of that stack.
//!
//! The interop tests keep a virtual environment in `target/pyzmq-venv`; when it is
//! absent, `compare` makes its own in `target/compare-pyzmq-venv` the same way
//! (`python3 -m venv`, then `python -m pip install pyzmq==27.1.0`), in a staging
//! directory renamed into place once complete.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::control;
use super::stacks::libzmq::dynamic::{LIBRARY_VARIABLE, PYZMQ_VERSION, library_in_venv, locate};
use super::stacks::{Bind, Device, Ready};

/// The virtual environments searched, in order.
pub fn venvs(target: &Path) -> Vec<PathBuf> {
    vec![target.join("pyzmq-venv"), target.join("compare-pyzmq-venv")]
}

/// The pyzmq release installed in the environment holding `library`, if it says.
pub fn pyzmq_version(library: &Path) -> Option<String> {
    let site_packages = library.parent()?.parent()?;
    std::fs::read_dir(site_packages)
        .ok()?
        .flatten()
        .find_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let version = name.strip_prefix("pyzmq-")?.strip_suffix(".dist-info")?;
            Some(version.to_owned())
        })
}

fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|e| format!("{what}: could not start {command:?}: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.lines().last().unwrap_or("").trim().to_owned();
    Err(format!("{what} failed ({}): {last}", output.status))
}

/// Creates `target/compare-pyzmq-venv` with pyzmq and returns its libzmq.
fn install(target: &Path) -> Result<PathBuf, String> {
    let venv = target.join("compare-pyzmq-venv");
    let staging = target.join(format!("compare-pyzmq-venv.staging-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let python = std::env::var_os("PUREZMQ_PYTHON").unwrap_or_else(|| "python3".into());
    eprintln!(
        "compare: installing pyzmq {PYZMQ_VERSION} into {} for libzmq 4.3.5 ...",
        venv.display()
    );
    let result = (|| {
        run(
            Command::new(&python).arg("-m").arg("venv").arg(&staging),
            "python3 -m venv",
        )?;
        run(
            Command::new(staging.join("bin").join("python"))
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--disable-pip-version-check",
                    "--no-input",
                ])
                .arg(format!("pyzmq=={PYZMQ_VERSION}")),
            "pip install pyzmq",
        )?;
        std::fs::rename(&staging, &venv).map_err(|e| format!("renaming the venv: {e}"))?;
        library_in_venv(&venv).ok_or_else(|| "pyzmq's wheel has no pyzmq.libs/libzmq".to_owned())
    })();
    let _ = std::fs::remove_dir_all(&staging);
    result
}

/// pyzmq's libzmq: found, or installed when `may_install`.
pub fn find(target: &Path, may_install: bool) -> Result<PathBuf, String> {
    if let Some(found) = locate(&venvs(target)) {
        return Ok(found);
    }
    if !may_install {
        return Err(format!(
            "no pyzmq libzmq found (set $PUREZMQ_LIBZMQ, or run without --quick once to \
             install pyzmq {PYZMQ_VERSION} into target/compare-pyzmq-venv)"
        ));
    }
    install(target)
}

/// The Python program of [`proxy`]: `python -c PROXY DEVICE ENDPOINT BIND`. It binds
/// and connects as [`crate::compare::stacks::Roles::proxy`] says, prints `READY
/// <endpoint>` and runs `zmq.proxy`, which holds the GIL only to enter libzmq's C
/// loop. It dies with its parent (PR_SET_PDEATHSIG).
const PROXY: &str = r#"
import ctypes, sys
import zmq
try:
    ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
except Exception:
    pass
device, endpoint, bind = sys.argv[1:4]
context = zmq.Context()
if device == "push-pull":
    frontend, backend = context.socket(zmq.PULL), context.socket(zmq.PUSH)
    backend.connect(endpoint)
    frontend.bind(bind)
    bound = frontend.getsockopt_string(zmq.LAST_ENDPOINT)
else:
    frontend, backend = context.socket(zmq.XSUB), context.socket(zmq.XPUB)
    backend.setsockopt(zmq.XPUB_NODROP, 1)
    frontend.connect(endpoint)
    backend.bind(bind)
    bound = backend.getsockopt_string(zmq.LAST_ENDPOINT)
print("READY " + bound, flush=True)
zmq.proxy(frontend, backend)
"#;

/// The Python of the virtual environment whose pyzmq holds the libzmq at
/// `$PUREZMQ_LIBZMQ` (`<venv>/lib/python3.X/site-packages/pyzmq.libs/libzmq*.so`).
pub fn python() -> Result<PathBuf, String> {
    let library = std::env::var_os(LIBRARY_VARIABLE)
        .map(PathBuf::from)
        .ok_or_else(|| format!("{LIBRARY_VARIABLE} is not set"))?;
    let python = library
        .ancestors()
        .nth(5)
        .map(|venv| venv.join("bin").join("python"))
        .filter(|python| python.exists())
        .ok_or_else(|| {
            format!(
                "no pyzmq virtual environment around {} to run zmq.proxy in",
                library.display()
            )
        })?;
    Ok(python)
}

/// The proxy role with pyzmq's `zmq.proxy` (libzmq's `zmq_proxy`) in a Python
/// process of its own, a child of this worker, which stops it at `STOP`. The
/// worker's report counts its child's CPU time and peak memory.
pub fn proxy(device: Device, endpoint: &str, ready: Ready) -> Result<(), String> {
    let mut command = Command::new(python()?);
    command
        .arg("-c")
        .arg(PROXY)
        .args([device.key(), endpoint, &Bind::Tcp.zmq_endpoint()]);
    run_until_stopped("pyzmq's zmq.proxy", &mut command, &mut |bound| {
        ready(bound, None)
    })
}

/// Runs `command`, a Python program that prints `READY <endpoint> [<endpoint>]` once
/// it has bound, as a child of this worker: calls `ready` with the rest of that
/// line, then waits for `STOP` and kills it. `what` names it in errors. The child
/// must be reaped before the worker reports, so that its CPU time and peak memory
/// count as this worker's children's.
pub fn run_until_stopped(
    what: &str,
    command: &mut Command,
    ready: &mut dyn FnMut(&str),
) -> Result<(), String> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("could not start {what}: {e}"))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| format!("the stdout of {what} is not piped"))?;
    let mut line = String::new();
    let _ = BufReader::new(stdout).read_line(&mut line);
    let Some(bound) = line.trim().strip_prefix("READY ") else {
        let _ = child.kill();
        let status = child
            .wait()
            .map_or_else(|e| e.to_string(), |s| s.to_string());
        return Err(format!("{what} ended ({status}) before binding"));
    };
    ready(bound);
    let result = loop {
        if control::stopped() {
            break Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            break Err(format!("{what} ended ({status}) before the run did"));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let _ = child.kill();
    let _ = child.wait();
    result
}
