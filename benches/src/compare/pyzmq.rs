//! Finding libzmq 4.3.5 as pyzmq ships it, or installing pyzmq to get it.
//!
//! The interop tests keep a virtual environment in `target/pyzmq-venv`; when it is
//! absent, `compare` makes its own in `target/compare-pyzmq-venv` the same way
//! (`python3 -m venv`, then `python -m pip install pyzmq==27.1.0`), in a staging
//! directory renamed into place once complete.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::stacks::libzmq::dynamic::{PYZMQ_VERSION, library_in_venv, locate};

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
