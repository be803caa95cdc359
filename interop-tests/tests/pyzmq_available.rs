//! Proves the Python bootstrap works: `python()` yields an interpreter whose
//! pyzmq bundles the expected libzmq, and `PyPeer` can drive a script.
//!
//! Both tests run in parallel threads of one process on a clean target dir,
//! so they also exercise concurrent first use of `python()`.

use std::process::Command;
use std::time::Duration;

use purezmq_interop_tests::{LIBZMQ_VERSION, MAJORTOMO_VERSION, PYZMQ_VERSION, PyPeer, python};

/// First use may create the environment, which downloads pyzmq.
const STARTUP: Duration = Duration::from_secs(60);

#[test]
fn python_imports_zmq_with_libzmq_4_3_5() {
    let output = Command::new(python())
        .args(["-c", "import zmq; print(zmq.zmq_version())"])
        .output()
        .expect("the venv's python should start");
    assert!(
        output.status.success(),
        "import zmq failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "4.3.5");
    assert_eq!(LIBZMQ_VERSION, "4.3.5");
}

/// majortomo (for `majortomo_peer.py`) is in the same environment and imports,
/// which needs the `six` that it uses without declaring.
#[test]
fn python_imports_majortomo() {
    let output = Command::new(python())
        .args([
            "-c",
            "import importlib.metadata as m, majortomo; print(m.version('majortomo'))",
        ])
        .output()
        .expect("the venv's python should start");
    assert!(
        output.status.success(),
        "import majortomo failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        MAJORTOMO_VERSION
    );
}

#[test]
fn py_peer_reads_lines_and_times_out() {
    let mut peer = PyPeer::spawn("print_versions.py", &["30"]);
    assert_eq!(peer.read_line(STARTUP), format!("libzmq {LIBZMQ_VERSION}"));
    assert_eq!(peer.read_line(STARTUP), format!("pyzmq {PYZMQ_VERSION}"));

    // The script now idles: the next read must time out rather than hang.
    let silent = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        peer.read_line(Duration::from_millis(200))
    }));
    assert!(silent.is_err(), "read_line should panic on timeout");
    // Dropping `peer` kills the idle script.
}
