//! One request's run: the program spawned as the leader of a new process group, its
//! output read up to the limit, the group killed and the leader reaped, and the
//! reply put together.

use std::ffi::OsString;
use std::fmt::Display;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
use nix::unistd::Pid;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::pipe;
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::{SERVICE_VARIABLE, ScriptConfig, selected};

/// How long reaping a killed leader may take before the worker gives up on it (a
/// process stuck in the kernel); tokio then reaps it when it finally goes.
const REAP_LIMIT: Duration = Duration::from_secs(10);

/// What every run of one script worker shares.
pub(super) struct Runner {
    /// The program, as found at start.
    pub(super) program: PathBuf,
    /// The variables passed through, with the worker's values at start.
    pub(super) env: Vec<(String, OsString)>,
    /// The service name, for `PUREZMQ_SERVICE`.
    pub(super) service: String,
    pub(super) config: ScriptConfig,
    /// Turns true at shutdown: running groups are killed.
    pub(super) stopped: watch::Receiver<bool>,
    /// Dropped with the last runner: the service then knows every child is reaped.
    pub(super) _alive: mpsc::Sender<()>,
}

/// Why a run stopped before the worker put its reply together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// The output ended and the program exited.
    Exited,
    /// The output passed the limit.
    Cut,
    /// The timeout came first.
    Timeout,
    /// The worker is shutting down.
    Shutdown,
}

/// A spawned program: its process group is killed if the run is dropped before the
/// leader is reaped.
struct Running {
    child: Child,
    group: Pid,
    reaped: bool,
}

impl Running {
    /// Kills the whole group. Sound only while the leader is not reaped: until
    /// then its id, which is the group's, cannot be given to another process.
    fn kill_group(&self) {
        if !self.reaped {
            kill_group(self.group);
        }
    }

    /// Waits for the (killed) leader and reaps it.
    async fn reap(&mut self) -> Option<ExitStatus> {
        match tokio::time::timeout(REAP_LIMIT, self.child.wait()).await {
            Ok(Ok(status)) => {
                self.reaped = true;
                Some(status)
            }
            Ok(Err(error)) => {
                // Not ours to wait for any more: never signal its id again.
                self.reaped = true;
                tracing::warn!(group = %self.group, %error, "cannot wait for the program");
                None
            }
            Err(_) => {
                tracing::warn!(group = %self.group, "the killed program did not exit within {REAP_LIMIT:?}");
                None
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Only when the run itself was dropped (the runtime going away); tokio's
        // kill_on_drop then reaps the leader in the background.
        self.kill_group();
    }
}

impl Runner {
    /// Answers one request. The run goes on a task of its own, so that its group is
    /// killed and its leader reaped even when the worker drops the request (at
    /// shutdown, or on a DISCONNECT from the broker).
    pub(super) async fn answer(runner: Arc<Runner>, body: Vec<Bytes>) -> Vec<Bytes> {
        if *runner.stopped.borrow() {
            return vec![Bytes::from_static(b"the script worker is shutting down")];
        }
        let task = tokio::spawn(async move { runner.execute(body).await });
        match task.await {
            Ok(reply) => reply,
            Err(error) => {
                tracing::error!(%error, "a script run failed");
                vec![Bytes::from(format!("the script worker failed: {error}"))]
            }
        }
    }

    async fn execute(&self, body: Vec<Bytes>) -> Vec<Bytes> {
        let config = &self.config;
        if !config.stdin
            && let Some(index) = body.iter().position(|frame| frame.contains(&0))
        {
            let reason = format!(
                "frame {} holds a NUL byte, which a program argument cannot carry (--stdin can)",
                index + 1
            );
            return self.not_started(reason, false);
        }
        let mut command = Command::new(&self.program);
        command
            .arg0(&config.program)
            .args(&config.args)
            .env_clear()
            .envs(self.env.iter().map(|(name, value)| (name, value)))
            .env(SERVICE_VARIABLE, &self.service)
            .stdin(if config.stdin {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .process_group(0)
            .kill_on_drop(true);
        if !config.stdin {
            let frames = selected(&body, config.keep_empty);
            command.args(frames.map(|frame| OsString::from_vec(frame.to_vec())));
        }
        let reader = match self.output_pipe(&mut command) {
            Ok(reader) => reader,
            Err(error) => return self.not_started(error, false),
        };
        let spawned = command.spawn();
        // Our copies of the pipe's write end go with the command, so the output
        // ends when the program's group has closed it.
        drop(command);
        let child = match spawned {
            Ok(child) => child,
            Err(error) => {
                let missing = error.kind() == std::io::ErrorKind::NotFound;
                return self.not_started(error, missing);
            }
        };
        let Some(group) = child.id().and_then(|id| i32::try_from(id).ok()) else {
            return self.not_started("the program vanished at start", false);
        };
        let mut running = Running {
            child,
            group: Pid::from_raw(group),
            reaped: false,
        };
        let mut reader = match reader.map(pipe::Receiver::from_owned_fd).transpose() {
            Ok(reader) => reader,
            Err(error) => {
                running.kill_group();
                running.reap().await;
                return self.not_started(error, false);
            }
        };
        let feeder = running.child.stdin.take().map(|mut stdin| {
            let mut input = Vec::new();
            for frame in selected(&body, config.keep_empty) {
                input.extend_from_slice(frame);
                input.push(b'\n');
            }
            // A program that does not read its stdin makes this fail: no matter.
            tokio::spawn(async move {
                let _ = stdin.write_all(&input).await;
            })
        });

        let mut output = Vec::new();
        let deadline = config.timeout.map(|timeout| Instant::now() + timeout);
        let mut stopped = self.stopped.clone();
        let group = running.group;
        let ended = {
            let work = async {
                let reading = async {
                    match reader.as_mut() {
                        Some(reader) => read_at_most(reader, config.max_output, &mut output).await,
                        None => false,
                    }
                };
                let mut reading = std::pin::pin!(reading);
                let cut = tokio::select! {
                    cut = &mut reading => {
                        if !cut {
                            exited(group).await;
                        }
                        cut
                    }
                    () = exited(group) => {
                        // What the program left running in its group goes with
                        // it, and with them their hold on the output pipe.
                        kill_group(group);
                        reading.await
                    }
                };
                if cut { Ended::Cut } else { Ended::Exited }
            };
            tokio::select! {
                ended = work => ended,
                () = sleep_until(deadline) => Ended::Timeout,
                () = stop_requested(&mut stopped) => Ended::Shutdown,
            }
        };
        // The leader has exited or is killed now, not reaped: whatever is left in
        // its group (all of it, on a timeout) goes.
        running.kill_group();
        if let Some(feeder) = feeder {
            feeder.abort();
        }
        drop(reader);
        let status = running.reap().await;
        self.reply(output, ended, status)
    }

    /// Points the program's stdout and (with -e) stderr at a new pipe, and gives its
    /// read end; `None` when nothing of the output is wanted.
    fn output_pipe(&self, command: &mut Command) -> std::io::Result<Option<OwnedFd>> {
        let config = &self.config;
        if config.no_stdout && !config.merge_stderr {
            command.stdout(Stdio::null()).stderr(Stdio::inherit());
            return Ok(None);
        }
        let (read_end, write_end) = std::io::pipe()?;
        if config.no_stdout {
            command.stdout(Stdio::null());
        } else {
            command.stdout(write_end.try_clone()?);
        }
        if config.merge_stderr {
            command.stderr(write_end);
        } else {
            command.stderr(Stdio::inherit());
        }
        Ok(Some(OwnedFd::from(read_end)))
    }

    fn reply(&self, mut output: Vec<u8>, ended: Ended, status: Option<ExitStatus>) -> Vec<Bytes> {
        let config = &self.config;
        let notice = match ended {
            Ended::Exited => None,
            Ended::Cut => {
                tracing::warn!(limit = config.max_output, "the program's output was cut");
                Some(format!("[output cut at {} bytes]", config.max_output))
            }
            Ended::Timeout => {
                let timeout = show(config.timeout.unwrap_or_default());
                tracing::warn!(%timeout, "the program timed out; its process group is killed");
                Some(format!("[timeout after {timeout}: process group killed]"))
            }
            Ended::Shutdown => {
                Some("[the script worker is shutting down: process group killed]".into())
            }
        };
        let exit = status.map_or_else(|| "unknown".to_string(), exit_text);
        tracing::debug!(?ended, %exit, bytes = output.len(), "the program ended");
        let captured = !config.no_stdout || config.merge_stderr;
        let mut frames = Vec::new();
        match (captured, notice) {
            (true, notice) => {
                if let Some(notice) = notice {
                    if !output.is_empty() && !output.ends_with(b"\n") {
                        output.push(b'\n');
                    }
                    output.extend_from_slice(notice.as_bytes());
                    output.push(b'\n');
                }
                frames.push(Bytes::from(output));
            }
            (false, Some(notice)) => frames.push(Bytes::from(notice)),
            (false, None) => {}
        }
        if config.exit_code {
            frames.push(Bytes::from(exit));
        }
        if frames.is_empty() {
            frames.push(Bytes::new());
        }
        frames
    }

    /// The reply for a program that could not start: what went wrong (and with -r,
    /// 127 for a missing program or 126, as a shell says).
    fn not_started(&self, reason: impl Display, missing: bool) -> Vec<Bytes> {
        let program = self.program.display();
        tracing::warn!(%program, %reason, "cannot run the program");
        let mut frames = vec![Bytes::from(format!("cannot run {program}: {reason}"))];
        if self.config.exit_code {
            frames.push(Bytes::from_static(if missing { b"127" } else { b"126" }));
        }
        frames
    }
}

/// Reads until the end of the output or past `limit` bytes; keeps at most `limit`
/// in `output` and says whether there was more.
async fn read_at_most(reader: &mut pipe::Receiver, limit: usize, output: &mut Vec<u8>) -> bool {
    let mut chunk = vec![0; 64 * 1024];
    loop {
        let read = match reader.read(&mut chunk).await {
            Ok(0) => return false,
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => {
                tracing::debug!(%error, "cannot read the program's output");
                return false;
            }
        };
        let room = limit - output.len();
        if read > room {
            output.extend_from_slice(&chunk[..room]);
            return true;
        }
        output.extend_from_slice(&chunk[..read]);
    }
}

/// Sends SIGKILL to every process of the group. Sound only while its leader is not
/// reaped (see [`Running::kill_group`]).
fn kill_group(group: Pid) {
    match killpg(group, Signal::SIGKILL) {
        Ok(()) | Err(Errno::ESRCH) => {}
        Err(error) => {
            tracing::warn!(%group, %error, "cannot kill the program's process group")
        }
    }
}

/// Resolves once the group's leader has exited, without reaping it (so that its
/// group can still be killed safely).
async fn exited(leader: Pid) {
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT | WaitPidFlag::WNOHANG;
    let mut pause = Duration::from_millis(1);
    loop {
        match waitid(Id::Pid(leader), flags) {
            Ok(WaitStatus::StillAlive) => {}
            Err(Errno::EINTR) => continue,
            Ok(_) | Err(_) => return,
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

async fn stop_requested(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// How the program ended, for -r: `"0"`, `"2"`, `"signal 9"`.
fn exit_text(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => code.to_string(),
        (None, Some(signal)) => format!("signal {signal}"),
        (None, None) => "unknown".into(),
    }
}

/// A duration as a person writes it: `2s`, `1500ms`.
fn show(duration: Duration) -> String {
    if duration.subsec_millis() == 0 && duration.as_secs() > 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_written() {
        assert_eq!(show(Duration::from_secs(2)), "2s");
        assert_eq!(show(Duration::from_millis(1500)), "1500ms");
        assert_eq!(show(Duration::from_millis(300)), "300ms");
    }

    #[test]
    fn exit_codes_and_signals() {
        assert_eq!(exit_text(ExitStatus::from_raw(0)), "0");
        assert_eq!(exit_text(ExitStatus::from_raw(3 << 8)), "3");
        assert_eq!(exit_text(ExitStatus::from_raw(9)), "signal 9");
    }
}
