//! `purezmq script` as a user runs it: a real `purezmq broker`, a real
//! `purezmq script` worker running real programs (echo, printf, cat, env, sh, yes),
//! and requests from a Majordomo client in the test. Hostile cases: shell
//! metacharacters, a never-ending program, a bounded fork bomb, endless output, a
//! program removed under the worker; and every child reaped.

mod cli_util;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cli_util::{LoggedProcess, free_port, purezmq, purezmq_cmd};
use predicates::prelude::*;
use purezmq_broker::client::{BlockingClient, Client};

const LIMIT: Duration = Duration::from_secs(20);

/// A `purezmq` process logging to a file; SIGTERM (then SIGKILL) when dropped, so
/// that a script worker stops and reaps its programs.
type Process = LoggedProcess;

/// Starts `purezmq ARGS` with `env` added, logging to `log`.
fn start(args: &[&str], env: &[(&str, &str)], log: PathBuf) -> Process {
    let mut command = purezmq();
    command.args(args).envs(env.iter().copied());
    LoggedProcess::spawn(command, log).terminate_on_drop()
}

/// A broker and script workers on it, with their logs in a temporary directory.
struct Bus {
    dir: tempfile::TempDir,
    endpoint: String,
    _broker: Process,
}

impl Bus {
    fn start() -> Bus {
        let dir = tempfile::tempdir().unwrap();
        let endpoint = format!("tcp://127.0.0.1:{}", free_port());
        let broker = start(&["broker", &endpoint], &[], dir.path().join("broker.log"));
        Bus {
            dir,
            endpoint,
            _broker: broker,
        }
    }

    /// Starts `purezmq script SERVICE FLAGS -- PROGRAM...` and waits until its
    /// `jobs` connections are registered.
    fn script(&self, service: &str, flags: &[&str], program: &[&str]) -> Process {
        self.script_with_env(service, flags, program, &[])
    }

    fn script_with_env(
        &self,
        service: &str,
        flags: &[&str],
        program: &[&str],
        env: &[(&str, &str)],
    ) -> Process {
        let mut args = vec!["script", service, "--broker", &self.endpoint];
        args.extend_from_slice(flags);
        args.push("--");
        args.extend_from_slice(program);
        let log = self.dir.path().join(format!("{service}.log"));
        let worker = start(&args, env, log);
        let jobs = flags
            .iter()
            .position(|flag| *flag == "-j")
            .map_or(1, |at| flags[at + 1].parse().unwrap());
        worker.wait_lines(&format!("worker ready: {service} on"), jobs, LIMIT);
        worker
    }

    fn client(&self) -> BlockingClient {
        BlockingClient::new(
            Client::builder()
                .endpoint(self.endpoint.clone())
                .timeout(LIMIT)
                .retries(0),
        )
        .unwrap()
    }

    fn call(&self, service: &str, frames: &[&[u8]]) -> Vec<Bytes> {
        let body = frames.iter().map(|f| Bytes::copy_from_slice(f)).collect();
        self.client().request(service.to_string(), body).unwrap()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn text(frames: &[Bytes]) -> Vec<String> {
    frames
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect()
}

/// A process as /proc/PID/stat tells it: its state, parent and group.
struct ProcInfo {
    pid: u32,
    state: char,
    ppid: u32,
    group: u32,
}

fn processes() -> Vec<ProcInfo> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid pgrp ...": comm may hold anything, up to the last ')'.
        let Some(rest) = stat.rfind(')').map(|at| &stat[at + 1..]) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.len() < 3 {
            continue;
        }
        found.push(ProcInfo {
            pid,
            state: fields[0].chars().next().unwrap_or('?'),
            ppid: fields[1].parse().unwrap_or(0),
            group: fields[2].parse().unwrap_or(0),
        });
    }
    found
}

/// The processes of a group that still live (a zombie is dead; reaping killed
/// grandchildren is their new parent's job, init's).
fn alive_in_group(group: u32) -> Vec<u32> {
    processes()
        .into_iter()
        .filter(|p| p.group == group && p.state != 'Z')
        .map(|p| p.pid)
        .collect()
}

/// The worker's children: running or zombies, there should be none once its
/// replies are in.
fn children_of(pid: u32) -> Vec<(u32, char)> {
    processes()
        .into_iter()
        .filter(|p| p.ppid == pid)
        .map(|p| (p.pid, p.state))
        .collect()
}

fn read_pid(path: &Path) -> u32 {
    let start = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && let Ok(pid) = text.trim().parse()
        {
            return pid;
        }
        assert!(start.elapsed() < LIMIT, "{} never written", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn frames_become_the_programs_arguments_and_its_stdout_the_reply() {
    let bus = Bus::start();
    let worker = bus.script("greet", &[], &["echo", "hello"]);
    assert_eq!(
        text(&bus.call("greet", &[b"big", b"world"])),
        ["hello big world\n"]
    );
    assert_eq!(text(&bus.call("greet", &[])), ["hello\n"]);
    assert!(children_of(worker.id()).is_empty());
}

#[test]
fn shell_metacharacters_arrive_verbatim() {
    let bus = Bus::start();
    let _worker = bus.script("argv", &[], &["printf", "<%s>\\n"]);
    let trap = bus.path("pwned");
    let substitution = format!("$(touch {}) `touch {}`", trap.display(), trap.display());
    let frames: Vec<&[u8]> = vec![
        b"; rm -rf /",
        substitution.as_bytes(),
        b"| cat /etc/passwd & > out *",
        b"'quoted' \"double\" \\ $HOME\nsecond line",
        b"\xff\xfe not UTF-8",
    ];
    let reply = bus.call("argv", &frames);
    let mut expected = Vec::new();
    for frame in &frames {
        expected.extend_from_slice(b"<");
        expected.extend_from_slice(frame);
        expected.extend_from_slice(b">\n");
    }
    assert_eq!(reply, [Bytes::from(expected)]);
    assert!(!trap.exists(), "a frame ran a command");
    // A NUL byte cannot be an argument: said so, and nothing ran.
    let reply = text(&bus.call("argv", &[b"a\0b"]));
    assert!(reply[0].contains("frame 1 holds a NUL byte"), "{reply:?}");
}

#[test]
fn empty_frames_are_skipped_unless_kept() {
    let bus = Bus::start();
    let _skip = bus.script("skip", &[], &["printf", "[%s]"]);
    let _keep = bus.script("keep", &["--keep-empty"], &["printf", "[%s]"]);
    let frames: &[&[u8]] = &[b"a", b"", b"b", b""];
    assert_eq!(text(&bus.call("skip", frames)), ["[a][b]"]);
    assert_eq!(text(&bus.call("keep", frames)), ["[a][][b][]"]);
}

#[test]
fn the_body_goes_to_stdin_one_line_per_frame() {
    let bus = Bus::start();
    let _cat = bus.script("cat", &["--stdin"], &["cat"]);
    assert_eq!(
        text(&bus.call("cat", &[b"one", b"", b"two ; $(x)"])),
        ["one\ntwo ; $(x)\n"]
    );
    let _wc = bus.script("lines", &["--stdin", "--keep-empty"], &["wc", "-l"]);
    assert_eq!(text(&bus.call("lines", &[b"one", b"", b"two"])), ["3\n"]);
}

#[test]
fn stderr_exit_code_and_no_stdout() {
    let bus = Bus::start();
    let program = ["sh", "-c", "echo out; echo err >&2; exit 3"];
    let _plain = bus.script("plain", &[], &program);
    let _merged = bus.script("merged", &["-e", "-r"], &program);
    let _code = bus.script("code", &["--no-stdout", "-r"], &program);
    let _errors = bus.script("errors", &["--no-stdout", "--stderr"], &program);
    assert_eq!(text(&bus.call("plain", &[])), ["out\n"]);
    assert_eq!(text(&bus.call("merged", &[])), ["out\nerr\n", "3"]);
    assert_eq!(text(&bus.call("code", &[])), ["3"]);
    assert_eq!(text(&bus.call("errors", &[])), ["err\n"]);
}

#[test]
fn the_environment_is_cleared_but_for_env_names_and_the_service() {
    let bus = Bus::start();
    let _env = bus.script_with_env(
        "environ",
        &["--env", "KEEP_ME", "--env", "NOT_SET_ANYWHERE"],
        &["env"],
        &[("KEEP_ME", "kept value"), ("DROP_ME", "secret")],
    );
    let reply = text(&bus.call("environ", &[]));
    let mut lines: Vec<&str> = reply[0].lines().collect();
    lines.sort_unstable();
    assert_eq!(lines, ["KEEP_ME=kept value", "PUREZMQ_SERVICE=environ"]);
}

#[test]
fn a_slow_program_is_killed_at_the_timeout_while_another_request_is_answered() {
    let bus = Bus::start();
    let script = "if [ \"$1\" = slow ]; then sleep 30; fi; echo \"done $1\"";
    let worker = bus.script(
        "slow",
        &["-j", "2", "--timeout", "6s", "-r"],
        &["sh", "-c", script, "sh"],
    );
    let (slow_tx, slow_rx) = mpsc::channel();
    let client = bus.client();
    let slow = std::thread::spawn(move || {
        let reply = client.request("slow", vec![Bytes::from("slow")]);
        slow_tx.send(reply.map(|r| text(&r))).unwrap();
    });
    // The slow one is running when the fast one is sent (a `sleep` in the worker's
    // children).
    let start = Instant::now();
    while !children_of(worker.id())
        .iter()
        .any(|(_, state)| *state != 'Z')
    {
        assert!(start.elapsed() < LIMIT, "the slow program never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(text(&bus.call("slow", &[b"fast"])), ["done fast\n", "0"]);
    assert!(
        slow_rx.try_recv().is_err(),
        "the slow request was answered before the fast one"
    );
    let slow_reply = slow_rx.recv_timeout(LIMIT).unwrap().unwrap();
    assert_eq!(
        slow_reply,
        ["[timeout after 6s: process group killed]\n", "signal 9"]
    );
    slow.join().unwrap();
    assert_eq!(children_of(worker.id()), [], "children left behind");
}

#[test]
fn a_bounded_fork_bomb_is_killed_entirely_at_the_timeout() {
    let bus = Bus::start();
    // 50 children that would sleep for ever, then the script waits for them; it
    // writes its pid (= its group) first and a marker once all are started.
    let script = "echo $$ > \"$1\"; i=0; while [ $i -lt 50 ]; do sleep 1000 & i=$((i+1)); done; \
                  echo started > \"$1.started\"; wait";
    let worker = bus.script(
        "bomb",
        &["--timeout", "5s", "-r", "--env", "PATH"],
        &["sh", "-c", script, "sh"],
    );
    let pidfile = bus.path("bomb.pid");
    let client = bus.client();
    let frame = Bytes::from(pidfile.to_string_lossy().into_owned());
    let call = std::thread::spawn(move || client.request("bomb", vec![frame]).map(|r| text(&r)));
    let group = read_pid(&pidfile);
    let start = Instant::now();
    while !bus.path("bomb.pid.started").exists() {
        assert!(start.elapsed() < LIMIT, "the children never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let members = alive_in_group(group).len();
    assert!(members >= 51, "only {members} processes in the group");
    let reply = call.join().unwrap().unwrap();
    assert_eq!(
        reply,
        ["[timeout after 5s: process group killed]\n", "signal 9"]
    );
    assert_eq!(
        alive_in_group(group),
        Vec::<u32>::new(),
        "processes of the group live on"
    );
    assert_eq!(children_of(worker.id()), [], "children left behind");
}

#[test]
fn output_past_the_limit_is_cut_and_the_program_killed() {
    let bus = Bus::start();
    let worker = bus.script("yes", &["--max-output", "1000", "-r"], &["yes"]);
    let reply = bus.call("yes", &[]);
    let mut expected = b"y\n".repeat(500);
    expected.extend_from_slice(b"[output cut at 1000 bytes]\n");
    assert_eq!(reply, [Bytes::from(expected), Bytes::from("signal 9")]);
    // And the worker goes on.
    assert_eq!(bus.call("yes", &[b"no"]).len(), 2);
    assert_eq!(children_of(worker.id()), [], "children left behind");
}

#[test]
fn a_program_that_cannot_start_gets_an_error_reply_and_the_worker_goes_on() {
    let bus = Bus::start();
    let program = bus.path("hello.sh");
    std::fs::write(&program, "#!/bin/sh\necho hello from the script\n").unwrap();
    std::process::Command::new("chmod")
        .args(["+x", program.to_str().unwrap()])
        .status()
        .unwrap();
    let worker = bus.script("hello", &["-r"], &[program.to_str().unwrap()]);
    assert_eq!(
        text(&bus.call("hello", &[])),
        ["hello from the script\n", "0"]
    );
    std::fs::remove_file(&program).unwrap();
    let reply = text(&bus.call("hello", &[]));
    assert_eq!(reply.len(), 2, "{reply:?}");
    assert!(
        reply[0].starts_with(&format!("cannot run {}: No such file", program.display())),
        "{reply:?}"
    );
    assert_eq!(reply[1], "127");
    assert!(worker.output().contains("cannot run the program"));
    std::fs::write(&program, "#!/bin/sh\necho back\n").unwrap();
    std::process::Command::new("chmod")
        .args(["+x", program.to_str().unwrap()])
        .status()
        .unwrap();
    assert_eq!(text(&bus.call("hello", &[])), ["back\n", "0"]);
}

#[test]
fn a_program_not_found_at_start_is_a_usage_error() {
    purezmq_cmd()
        .args(["script", "nothing", "--", "no-such-program-for-purezmq"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "program \"no-such-program-for-purezmq\" not found in PATH",
        ));
    purezmq_cmd().args(["script", "nothing"]).assert().code(2);
}

#[test]
fn sigterm_kills_the_running_programs_and_exits_0() {
    let bus = Bus::start();
    let mut worker = bus.script(
        "sleepy",
        &[],
        &["sh", "-c", "echo $$ > \"$1\"; sleep 30", "sh"],
    );
    let pidfile = bus.path("sleepy.pid");
    let client = bus.client();
    let frame = Bytes::from(pidfile.to_string_lossy().into_owned());
    let _call = std::thread::spawn(move || client.request("sleepy", vec![frame]));
    let group = read_pid(&pidfile);
    assert!(!alive_in_group(group).is_empty());
    let status = worker
        .terminate(LIMIT)
        .unwrap_or_else(|| panic!("purezmq did not exit on SIGTERM: {}", worker.output()));
    assert!(status.success(), "{status}: {}", worker.output());
    assert_eq!(
        alive_in_group(group),
        Vec::<u32>::new(),
        "the program outlived the worker"
    );
}

#[test]
fn help_shows_examples_and_the_flags() {
    purezmq_cmd()
        .args(["script", "--help"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("purezmq script date -- date -u")
                .and(predicate::str::contains("--max-output"))
                .and(predicate::str::contains("process group")),
        );
    purezmq_cmd()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("script"));
}

/// The library as `purezmq up` uses it: served in this process, stopped by its
/// shutdown future.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_library_serves_until_its_shutdown_future_completes() {
    use purezmq_broker::script::{ScriptConfig, ScriptError, ScriptService};
    use purezmq_broker::worker::Worker;

    let bus = Bus::start();
    let worker = Worker::new(bus.endpoint.clone(), "lib");
    let config = ScriptConfig {
        exit_code: true,
        ..ScriptConfig::new("printf", vec!["%s,".into()])
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let service = tokio::spawn(
        ScriptService::new(worker.clone(), "lib", config).run(async move {
            let _ = stopped.await;
        }),
    );
    let client = Client::builder()
        .endpoint(bus.endpoint.clone())
        .timeout(LIMIT)
        .retries(0)
        .build()
        .unwrap();
    let start = Instant::now();
    while !client.has_service("lib").await.unwrap() {
        assert!(start.elapsed() < LIMIT, "the service never registered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let reply = client
        .request("lib", vec![Bytes::from("a"), Bytes::from("b")])
        .await
        .unwrap();
    assert_eq!(text(&reply), ["a,b,", "0"]);
    stop.send(()).unwrap();
    tokio::time::timeout(LIMIT, service)
        .await
        .unwrap()
        .unwrap()
        .unwrap();

    let missing = ScriptConfig::new("no-such-program-for-purezmq", vec![]);
    let refused = ScriptService::new(worker.clone(), "lib", missing)
        .run(async {})
        .await;
    assert!(matches!(refused, Err(ScriptError::ProgramNotFound { .. })));
    let no_jobs = ScriptConfig {
        jobs: 0,
        ..ScriptConfig::new("printf", vec![])
    };
    let refused = ScriptService::new(worker, "lib", no_jobs)
        .run(async {})
        .await;
    assert!(matches!(refused, Err(ScriptError::Config(_))));
}

#[test]
fn what_a_program_leaves_running_is_killed_when_it_exits() {
    let bus = Bus::start();
    // The background sleep keeps the output pipe open: the reply still comes when
    // the script exits, not at the timeout, and the sleep is gone.
    let script = "sleep 1000 & echo $! > \"$1\"; echo started";
    let worker = bus.script(
        "leaver",
        &["--timeout", "60s", "-r"],
        &["sh", "-c", script, "sh"],
    );
    let pidfile = bus.path("leftover.pid");
    let reply = bus.call("leaver", &[pidfile.to_str().unwrap().as_bytes()]);
    assert_eq!(text(&reply), ["started\n", "0"]);
    let leftover = read_pid(&pidfile);
    let alive = processes()
        .iter()
        .any(|p| p.pid == leftover && p.state != 'Z');
    assert!(!alive, "the background sleep outlived its request");
    assert_eq!(children_of(worker.id()), [], "children left behind");
}
