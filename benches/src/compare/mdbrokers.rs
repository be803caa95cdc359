//! The Python Majordomo brokers purezmq's broker is compared with, each run as a
//! child process of a broker worker the way [`super::pyzmq::proxy`] runs
//! `zmq.proxy`, in the same virtual environment:
//!
//! - majortomo (PyPI), an MDP/0.2 broker over pyzmq: installed into that
//!   environment with pip when missing (a full run; `--quick` never installs);
//! - the guide's `mdbroker.py` (MDP/0.1; zguide's `examples/Python`, with its
//!   `MDP.py` and `zhelpers.py`). Its code is not ours to ship: `compare` runs it
//!   from the directory `$ZGUIDE_PYTHON` names, and skips it with a note when that
//!   is not set.
//!
//! The few lines of Python here only bind each broker to a port of the OS's choice
//! on the loopback interface and print it; the brokers run unchanged.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use super::pyzmq::{python, run_until_stopped};
use super::stacks::{
    Bind, Broker, BrokerReady, Device, Pattern, Ready, Roles, Stack, SubReport,
    libzmq::dynamic::PYZMQ_VERSION,
};

/// The environment variable naming a zguide checkout's `examples/Python`.
pub const ZGUIDE_VARIABLE: &str = "ZGUIDE_PYTHON";

/// The majortomo release `compare` installs. It imports `six` without declaring it,
/// so that is installed beside it.
pub const MAJORTOMO_VERSION: &str = "0.2.0";

/// The guide's files the broker needs.
const ZGUIDE_FILES: [&str; 3] = ["mdbroker.py", "MDP.py", "zhelpers.py"];

/// `python -c MAJORTOMO BIND`: majortomo's broker, announcing where it bound.
const MAJORTOMO: &str = r#"
import ctypes, sys
import zmq
try:
    ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
except Exception:
    pass
from majortomo.broker import Broker

class Announced(Broker):
    def bind(self):
        super().bind()
        print("READY " + self._socket.getsockopt_string(zmq.LAST_ENDPOINT), flush=True)

Announced(bind=sys.argv[1]).run()
"#;

/// `python -c ZGUIDE DIR BIND`: the guide's broker from `DIR`, announcing where it
/// bound.
const ZGUIDE: &str = r#"
import ctypes, sys
import zmq
try:
    ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
except Exception:
    pass
sys.path.insert(0, sys.argv[1])
from mdbroker import MajorDomoBroker

broker = MajorDomoBroker(False)
broker.bind(sys.argv[2])
print("READY " + broker.socket.getsockopt_string(zmq.LAST_ENDPOINT), flush=True)
broker.mediate()
"#;

/// The guide's Python examples directory, from `$ZGUIDE_PYTHON`, or why not.
pub fn zguide() -> Result<PathBuf, String> {
    let dir = std::env::var_os(ZGUIDE_VARIABLE)
        .map(PathBuf::from)
        .ok_or_else(|| {
            format!(
                "${ZGUIDE_VARIABLE} is not set (point it at a zguide checkout's examples/Python \
             to compare with the guide's mdbroker.py)"
            )
        })?;
    for file in ZGUIDE_FILES {
        if !dir.join(file).is_file() {
            return Err(format!(
                "${ZGUIDE_VARIABLE} ({}) has no {file}",
                dir.display()
            ));
        }
    }
    Ok(dir)
}

/// The output of `python -c program`, if it succeeds.
fn python_says(program: &str) -> Result<String, String> {
    let output = Command::new(python()?)
        .args(["-c", program])
        .output()
        .map_err(|e| format!("could not start Python: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        Err(stderr.lines().last().unwrap_or("").trim().to_owned())
    }
}

/// majortomo's version in pyzmq's virtual environment (the one `$PUREZMQ_LIBZMQ`
/// lies in), installed there first when missing and `may_install`.
pub fn majortomo(may_install: bool) -> Result<String, String> {
    const VERSION: &str = "import majortomo.broker, importlib.metadata as m; \
                           print(m.version('majortomo'))";
    let missing = match python_says(VERSION) {
        Ok(version) => return Ok(version),
        Err(e) => e,
    };
    if !may_install {
        return Err(format!(
            "majortomo is not installed ({missing}); a run without --quick installs it"
        ));
    }
    let python = python()?;
    eprintln!(
        "compare: installing majortomo {MAJORTOMO_VERSION} beside pyzmq {PYZMQ_VERSION} \
         with {} ...",
        python.display()
    );
    let output = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
        ])
        .arg(format!("majortomo=={MAJORTOMO_VERSION}"))
        .arg("six")
        // Keep the pyzmq whose libzmq the other cases load.
        .arg(format!("pyzmq=={PYZMQ_VERSION}"))
        .output()
        .map_err(|e| format!("could not start pip: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().last().unwrap_or("").trim().to_owned();
        return Err(format!("pip install majortomo failed: {last}"));
    }
    python_says(VERSION).map_err(|e| format!("majortomo does not import after install: {e}"))
}

/// A Python Majordomo broker: it plays the broker role of the Majordomo cases and
/// nothing else.
pub struct PythonBroker(pub Stack);

impl PythonBroker {
    fn only(&self) -> Result<(), String> {
        Err(format!("{} is a Majordomo broker only", self.0))
    }
}

impl Roles for PythonBroker {
    fn pull(&self, _: &Bind, _: usize, _: usize, _: bool, _: Ready) -> Result<Duration, String> {
        self.only().map(|()| Duration::ZERO)
    }

    fn push(&self, _: &str, _: usize, _: usize, _: Option<&str>) -> Result<(), String> {
        self.only()
    }

    fn inproc(&self, _: usize, _: usize) -> Result<Duration, String> {
        self.only().map(|()| Duration::ZERO)
    }

    fn publish(&self, _: &Bind, _: usize, _: usize, _: Ready) -> Result<(), String> {
        self.only()
    }

    fn subscribe(
        &self,
        _: &str,
        _: usize,
        _: usize,
        _: &mut dyn FnMut(),
    ) -> Result<SubReport, String> {
        self.only().map(|()| SubReport::default())
    }

    fn echo(&self, _: Pattern, _: &Bind, _: Ready) -> Result<u64, String> {
        self.only().map(|()| 0)
    }

    fn ping(
        &self,
        _: Pattern,
        _: &str,
        _: usize,
        _: usize,
        _: Duration,
    ) -> Result<Vec<u64>, String> {
        self.only().map(|()| Vec::new())
    }

    fn idle_router(
        &self,
        _: &Bind,
        _: usize,
        _: Duration,
        _: Ready,
        _: &mut dyn FnMut(usize),
    ) -> Result<(), String> {
        self.only()
    }

    fn proxy(&self, _: Device, _: &str, _: Ready) -> Result<(), String> {
        self.only()
    }

    fn broker(&self, broker: Broker, ready: BrokerReady) -> Result<(), String> {
        if broker != Broker::Majordomo {
            return Err(format!(
                "{} is a Majordomo broker, not a {}",
                self.0,
                broker.key()
            ));
        }
        let bind = Bind::Tcp.zmq_endpoint();
        let mut command = Command::new(python()?);
        command.arg("-c");
        let what = match self.0 {
            Stack::ZguidePy => {
                command.arg(ZGUIDE).arg(zguide()?).arg(&bind);
                "the guide's mdbroker.py"
            }
            _ => {
                command.arg(MAJORTOMO).arg(&bind);
                "majortomo's broker"
            }
        };
        run_until_stopped(what, &mut command, &mut |endpoint| ready(endpoint, None))
    }
}
