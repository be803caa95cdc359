//! The script worker: any program becomes a Majordomo service (a CGI for the bus,
//! what `purezmq script` runs).
//!
//! Each request runs the program once, in a process of its own:
//!
//! - **Arguments**: the configured ARGS, then the request's frames, one argument
//!   each, byte for byte (a frame that is not UTF-8 is passed as raw bytes). Empty
//!   frames are skipped unless [`keep_empty`](ScriptConfig::keep_empty). No shell is
//!   involved, so `; rm -rf / $(...) | & > *` in a frame arrives as those characters.
//!   A frame holding a NUL byte cannot be an argument: the reply says so.
//! - **Stdin** instead, with [`stdin`](ScriptConfig::stdin): the frames are written
//!   to the program's stdin, each followed by a newline (`"a", "b"` → `a\nb\n`),
//!   empty frames skipped unless `keep_empty` (then they are empty lines); there are
//!   no frame arguments. Without it, stdin is `/dev/null`.
//! - **Reply**: the program's stdout as one frame. With
//!   [`merge_stderr`](ScriptConfig::merge_stderr) stdout and stderr share one pipe,
//!   so they are interleaved in the order the program wrote them; otherwise stderr
//!   goes to the worker's own stderr (the operator's log). With
//!   [`no_stdout`](ScriptConfig::no_stdout) stdout goes to `/dev/null` and the output
//!   frame is left out (with `merge_stderr` it then holds stderr alone). With
//!   [`exit_code`](ScriptConfig::exit_code) a last frame says how the program ended:
//!   `"0"`, `"3"`, or `"signal 9"` when a signal ended it. A reply with no frame left
//!   is one empty frame.
//! - **Environment**: cleared; only the variables named in
//!   [`env`](ScriptConfig::env) (with the worker's values, read at start) and
//!   `PUREZMQ_SERVICE` (the service name) are set. `PATH` is cleared too: the program
//!   is looked up in the worker's `PATH` once, at start ([`resolve_program`]), so
//!   `-- echo hi` works; a script that runs other programs by name gets its shell's
//!   default path, or pass `PATH` through with `env`.
//! - **Process group**: each run is the leader of a new process group. When it
//!   ends, anything it left running in that group is killed (`SIGKILL`); at the
//!   [`timeout`](ScriptConfig::timeout) the whole group is killed and the output
//!   frame ends with the line `[timeout after 2s: process group killed]`. The group is
//!   always killed while its leader is not yet reaped, so its id cannot have been
//!   reused. Every child is reaped.
//! - **Output limit**: at most [`max_output`](ScriptConfig::max_output) bytes are
//!   read; past that the worker stops reading, kills the group, and the output frame
//!   is those bytes followed by the line `[output cut at N bytes]`.
//! - **A program that cannot start** (removed since the worker started, not
//!   executable, too many arguments): the reply is `cannot run PROGRAM: REASON`
//!   (with `exit_code`, then `"127"` for a missing program, `"126"` otherwise, as a
//!   shell says), a warning is logged, and the worker goes on serving.
//! - **Concurrency**: [`jobs`](ScriptConfig::jobs) copies of the worker register at
//!   each broker, so that many requests run at once.
//! - **Shutdown**: when the shutdown future completes the workers stop taking
//!   requests (DISCONNECT to the brokers), the running programs' groups are killed
//!   and reaped, and [`ScriptService::run`] returns.
//!
//! ```no_run
//! # #[tokio::main]
//! # async fn main() -> Result<(), purezmq_broker::script::ScriptError> {
//! use purezmq_broker::script::{ScriptConfig, ScriptService};
//! use purezmq_broker::worker::Worker;
//!
//! let worker = Worker::new("tcp://127.0.0.1:5555", "date");
//! let config = ScriptConfig::new("date", vec!["-u".into()]);
//! let service = ScriptService::new(worker, "date", config);
//! service.run(async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```

mod run;

use std::ffi::{OsStr, OsString};
use std::future::Future;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use thiserror::Error;
use tokio::sync::{mpsc, watch};

use crate::worker::{Request, Worker, WorkerError};

/// The per-request timeout, by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The most output read per request, by default: 1 MiB.
pub const DEFAULT_MAX_OUTPUT: usize = 1 << 20;
/// The variable that tells the program which service it serves.
pub const SERVICE_VARIABLE: &str = "PUREZMQ_SERVICE";

/// Why a script worker cannot run.
#[derive(Debug, Error)]
pub enum ScriptError {
    /// The program is not in the worker's `PATH`.
    #[error(
        "program {program:?} not found in PATH; give its path (e.g. ./{program}) or install it"
    )]
    ProgramNotFound {
        /// The program as given.
        program: String,
    },
    /// The program's path does not name an executable file.
    #[error("{program:?} is not an executable file: {reason}")]
    NotExecutable {
        /// The program as given.
        program: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A setting that cannot work.
    #[error("bad script worker setting: {0}")]
    Config(String),
    /// The worker cannot run (no broker endpoint, a bad endpoint or service name).
    #[error(transparent)]
    Worker(#[from] WorkerError),
}

/// What the script worker runs and how; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct ScriptConfig {
    /// The program: a name looked up in `PATH` at start, or a path.
    pub program: OsString,
    /// Its first arguments; the request's frames follow them.
    pub args: Vec<OsString>,
    /// Write the frames to stdin (each followed by a newline) instead of passing
    /// them as arguments.
    pub stdin: bool,
    /// Keep empty frames (as `""` arguments, or empty lines on stdin).
    pub keep_empty: bool,
    /// Merge stderr into the reply (interleaved with stdout on one pipe).
    pub merge_stderr: bool,
    /// Append how the program ended as a last frame: `"0"`, `"signal 9"`.
    pub exit_code: bool,
    /// Leave stdout out of the reply (it goes to `/dev/null`).
    pub no_stdout: bool,
    /// How many requests run at once (that many registrations at each broker); at
    /// least 1.
    pub jobs: usize,
    /// How long a run may take before its process group is killed; `None` waits for
    /// ever.
    pub timeout: Option<Duration>,
    /// The most bytes of output read per request; at least 1.
    pub max_output: usize,
    /// Names of variables passed from the worker's environment to the program.
    pub env: Vec<String>,
}

impl ScriptConfig {
    /// Runs `program` with `args`, with the defaults: frames as arguments, empty
    /// ones skipped, stdout only, one request at a time, 30 s timeout, 1 MiB of
    /// output, an empty environment but `PUREZMQ_SERVICE`.
    pub fn new(program: impl Into<OsString>, args: Vec<OsString>) -> Self {
        ScriptConfig {
            program: program.into(),
            args,
            stdin: false,
            keep_empty: false,
            merge_stderr: false,
            exit_code: false,
            no_stdout: false,
            jobs: 1,
            timeout: Some(DEFAULT_TIMEOUT),
            max_output: DEFAULT_MAX_OUTPUT,
            env: Vec::new(),
        }
    }

    fn check(&self) -> Result<(), ScriptError> {
        if self.jobs == 0 {
            return Err(ScriptError::Config(
                "jobs must be at least 1 (requests at once)".into(),
            ));
        }
        if self.max_output == 0 {
            return Err(ScriptError::Config(
                "max_output must be at least 1 byte".into(),
            ));
        }
        if self.timeout == Some(Duration::ZERO) {
            return Err(ScriptError::Config(
                "a zero timeout kills every run; give a duration or none".into(),
            ));
        }
        for name in &self.env {
            if name.is_empty() || name.contains('=') || name.contains('\0') {
                return Err(ScriptError::Config(format!(
                    "{name:?} is not an environment variable's name"
                )));
            }
        }
        Ok(())
    }
}

/// Finds the program as the worker will run it: a name without `/` is looked up in
/// the worker's `PATH`, a path is taken as it is; either must be an executable file.
pub fn resolve_program(program: &OsStr) -> Result<PathBuf, ScriptError> {
    let shown = program.to_string_lossy().into_owned();
    if program.is_empty() {
        return Err(ScriptError::Config("the program is empty".into()));
    }
    let path = Path::new(program);
    if path.components().count() > 1 || program.as_encoded_bytes().contains(&b'/') {
        return executable(path)
            .map(|()| path.to_path_buf())
            .map_err(|reason| ScriptError::NotExecutable {
                program: shown,
                reason,
            });
    }
    let search = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&search)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(path))
        .find(|candidate| executable(candidate).is_ok())
        .ok_or(ScriptError::ProgramNotFound { program: shown })
}

/// Whether `path` is a file someone may execute; if not, why.
fn executable(path: &Path) -> Result<(), String> {
    let metadata = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !metadata.is_file() {
        return Err("not a regular file".into());
    }
    if metadata.permissions().mode() & 0o111 == 0 {
        return Err("no execute permission (chmod +x)".into());
    }
    Ok(())
}

/// A script worker: a [`Worker`] whose requests run a program; see the
/// [module docs](self).
#[derive(Debug)]
pub struct ScriptService {
    worker: Worker,
    service: String,
    config: ScriptConfig,
}

impl ScriptService {
    /// `worker` is a configured [`Worker`] (brokers, service, heartbeat, version,
    /// options); [`jobs`](ScriptConfig::jobs) = N runs N clones of it. `service` is
    /// what the program finds in `PUREZMQ_SERVICE`.
    pub fn new(worker: Worker, service: impl Into<String>, config: ScriptConfig) -> Self {
        ScriptService {
            worker,
            service: service.into(),
            config,
        }
    }

    /// Serves until `shutdown` completes, then stops taking requests, kills the
    /// running programs' process groups, reaps them and returns. Errors only at the
    /// start: a program that cannot be found, a setting or worker that cannot work.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ScriptError> {
        self.config.check()?;
        let program = resolve_program(&self.config.program)?;
        let env = self
            .config
            .env
            .iter()
            .filter_map(|name| std::env::var_os(name).map(|value| (name.clone(), value)))
            .collect();
        let (stop, stopped) = watch::channel(false);
        let (alive, mut all_gone) = mpsc::channel::<()>(1);
        let shared = Arc::new(run::Runner {
            program,
            env,
            service: self.service,
            config: self.config,
            stopped: stopped.clone(),
            _alive: alive,
        });
        tracing::info!(
            program = %shared.program.display(),
            jobs = shared.config.jobs,
            "script worker starting"
        );
        let mut workers = Vec::with_capacity(shared.config.jobs);
        for _ in 0..shared.config.jobs {
            let runner = Arc::clone(&shared);
            let handler = move |request: Request| {
                let runner = Arc::clone(&runner);
                async move { run::Runner::answer(runner, request.body).await }
            };
            let mut stopped = stopped.clone();
            workers.push(self.worker.clone().run(handler, async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            }));
        }
        drop(shared);
        let workers = futures::future::try_join_all(workers);
        let mut workers = std::pin::pin!(workers);
        let early = tokio::select! {
            result = &mut workers => Some(result),
            () = shutdown => None,
        };
        let _ = stop.send(true);
        let result = match early {
            Some(result) => result,
            None => workers.await,
        };
        // Every runner holds a sender: all gone means every child is reaped.
        let _ = all_gone.recv().await;
        tracing::info!("script worker stopped");
        result.map(drop).map_err(ScriptError::from)
    }
}

/// Frames as program arguments or stdin lines, the empty ones kept or not.
fn selected(body: &[Bytes], keep_empty: bool) -> impl Iterator<Item = &Bytes> {
    body.iter()
        .filter(move |frame| keep_empty || !frame.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_found_in_path_or_by_path() {
        assert!(resolve_program(OsStr::new("sh")).unwrap().is_absolute());
        assert_eq!(
            resolve_program(OsStr::new("/bin/sh")).unwrap(),
            PathBuf::from("/bin/sh")
        );
        assert!(matches!(
            resolve_program(OsStr::new("no-such-program-purezmq")),
            Err(ScriptError::ProgramNotFound { .. })
        ));
        assert!(matches!(
            resolve_program(OsStr::new("/etc/passwd")),
            Err(ScriptError::NotExecutable { .. })
        ));
        assert!(matches!(
            resolve_program(OsStr::new("/")),
            Err(ScriptError::NotExecutable { .. })
        ));
    }

    #[test]
    fn settings_that_cannot_work_are_refused() {
        let base = ScriptConfig::new("sh", vec![]);
        assert!(base.check().is_ok());
        for config in [
            ScriptConfig {
                jobs: 0,
                ..base.clone()
            },
            ScriptConfig {
                max_output: 0,
                ..base.clone()
            },
            ScriptConfig {
                timeout: Some(Duration::ZERO),
                ..base.clone()
            },
            ScriptConfig {
                env: vec!["A=B".into()],
                ..base.clone()
            },
        ] {
            assert!(matches!(config.check(), Err(ScriptError::Config(_))));
        }
    }

    #[test]
    fn empty_frames_are_skipped_unless_kept() {
        let body = vec![Bytes::from("a"), Bytes::new(), Bytes::from("b")];
        assert_eq!(selected(&body, false).count(), 2);
        assert_eq!(selected(&body, true).count(), 3);
    }
}
