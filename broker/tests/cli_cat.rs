//! `purezmq cat` between processes, as a user runs it.

mod cli_util;

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use cli_util::{Running, free_port, purezmq, purezmq_cmd, wait_listening};
use predicates::prelude::*;

const LIMIT: Duration = Duration::from_secs(20);

/// For senders that close right after sending: lets the connection's handshake
/// finish first. Without it a message can be lost when the socket closes during the
/// handshake (see `a_sender_that_closes_during_the_handshake_still_delivers`).
const SETTLE: [&str; 2] = ["--delay", "200ms"];

#[test]
fn a_receiver_that_gets_nothing_within_the_timeout_exits_3() {
    purezmq_cmd()
        .args(["cat", "pull@tcp://127.0.0.1:0", "--timeout", "200ms"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("nothing arrived within 200ms"));
}

#[test]
fn a_req_without_reply_within_the_timeout_exits_3() {
    let port = free_port();
    let nobody = Running::start(&["cat", &format!("pull@tcp://127.0.0.1:{port}")]);
    purezmq_cmd()
        .args(["cat", &format!("req>tcp://127.0.0.1:{port}")])
        .args(["-D", "hello?", "--timeout", "300ms"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("no reply arrived"));
    drop(nobody);
}

#[test]
fn push_to_pull_over_tcp_delivers_frames_and_lines() {
    let port = free_port();
    let pull = Running::start(&[
        "cat",
        &format!("pull@tcp://127.0.0.1:{port}"),
        "--count",
        "3",
        "--timeout",
        "10s",
    ]);
    wait_listening(port);
    let push = format!("push>tcp://127.0.0.1:{port}");
    purezmq_cmd()
        .args([
            "cat",
            &push,
            "-D",
            "key",
            "-D",
            "a value",
            "--timeout",
            "10s",
        ])
        .args(SETTLE)
        .assert()
        .success();
    purezmq_cmd()
        .args(["cat", &push, "--timeout", "10s"])
        .args(SETTLE)
        .write_stdin("first line\nsecond \"line\"\n")
        .assert()
        .success();
    let stdout = pull.succeeds(LIMIT);
    assert_eq!(
        stdout,
        "\"key\" \"a value\"\n\"first line\"\n\"second \\\"line\\\"\"\n"
    );
}

#[test]
fn nul_delimited_stdin_and_json_output() {
    let port = free_port();
    let pull = Running::start(&[
        "cat",
        &format!("pull@tcp://127.0.0.1:{port}"),
        "--count",
        "2",
        "--format",
        "json",
        "--timeout",
        "10s",
    ]);
    wait_listening(port);
    purezmq_cmd()
        .args([
            "cat",
            &format!("push>tcp://127.0.0.1:{port}"),
            "-0",
            "--timeout",
            "10s",
        ])
        .args(SETTLE)
        .write_stdin("line one\nstill one\0two\0")
        .assert()
        .success();
    let stdout = pull.succeeds(LIMIT);
    assert_eq!(stdout, "[\"line one\\nstill one\"]\n[\"two\"]\n");
}

#[test]
fn a_binary_file_is_one_frame_and_json_shows_it_as_base64() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("blob");
    std::fs::write(&file, [0xff, 0x00, b'a']).unwrap();
    let port = free_port();
    let pull = Running::start(&[
        "cat",
        &format!("pull@tcp://127.0.0.1:{port}"),
        "--count",
        "1",
        "--format",
        "json",
        "--timeout",
        "10s",
    ]);
    wait_listening(port);
    purezmq_cmd()
        .args(["cat", &format!("push>tcp://127.0.0.1:{port}"), "--file"])
        .arg(&file)
        .args(SETTLE)
        .args(["--timeout", "10s"])
        .assert()
        .success();
    let stdout = pull.succeeds(LIMIT);
    assert_eq!(stdout, "[{\"base64\":\"/wBh\"}]\n");
}

#[test]
fn req_gets_the_reply_of_a_rep_echo() {
    let port = free_port();
    let rep = Running::start(&[
        "cat",
        &format!("rep@tcp://127.0.0.1:{port}"),
        "--echo",
        "--count",
        "2",
        "--timeout",
        "10s",
    ]);
    purezmq_cmd()
        .args([
            "cat",
            &format!("req>tcp://127.0.0.1:{port}"),
            "--timeout",
            "10s",
        ])
        .args(["--format", "text"])
        .write_stdin("hello\nworld\n")
        .assert()
        .success()
        .stdout("hello\nworld\n");
    let stdout = rep.succeeds(LIMIT);
    assert_eq!(stdout, "\"hello\"\n\"world\"\n");
}

#[test]
fn rep_replies_with_the_data_given() {
    let port = free_port();
    let rep = Running::start(&[
        "cat",
        &format!("rep@tcp://127.0.0.1:{port}"),
        "-D",
        "World",
        "--count",
        "1",
        "--timeout",
        "10s",
    ]);
    purezmq_cmd()
        .args(["cat", &format!("req>tcp://127.0.0.1:{port}"), "-D", "Hello"])
        .args(["--timeout", "10s", "--format", "hex"])
        .assert()
        .success()
        .stdout("576f726c64\n");
    let stdout = rep.succeeds(LIMIT);
    assert_eq!(stdout, "\"Hello\"\n");
}

#[test]
fn a_router_echo_answers_a_dealer() {
    let port = free_port();
    let router = Running::start(&[
        "cat",
        &format!("router@tcp://127.0.0.1:{port}"),
        "--echo",
        "--count",
        "1",
        "--timeout",
        "10s",
    ]);
    purezmq_cmd()
        .args([
            "cat",
            &format!("dealer>tcp://127.0.0.1:{port}"),
            "-D",
            "ping",
        ])
        .args(["--timeout", "10s", "--sockopt", "routing_id=me"])
        .assert()
        .success()
        .stdout("\"ping\"\n");
    let stdout = router.succeeds(LIMIT);
    assert_eq!(stdout, "\"me\" \"ping\"\n");
}

#[test]
fn sub_receives_only_its_topic() {
    let port = free_port();
    let endpoint = format!("tcp://127.0.0.1:{port}");
    // Two publishers connect to a binding SUB, each repeating its message.
    let publishers: Vec<Running> = ["other news", "weather sunny"]
        .iter()
        .map(|message| {
            Running::start(&[
                "cat",
                &format!("pub>{endpoint}"),
                "-D",
                message,
                "--interval",
                "20ms",
            ])
        })
        .collect();
    purezmq_cmd()
        .args(["cat", &format!("sub@{endpoint}")])
        .args(["--subscribe", "weather", "--count", "2", "--timeout", "10s"])
        .assert()
        .success()
        .stdout("\"weather sunny\"\n\"weather sunny\"\n");
    drop(publishers);
}

#[test]
fn sigterm_and_ctrl_c_close_a_receiver_and_exit_0() {
    for signal in ["TERM", "INT"] {
        let port = free_port();
        let mut pull = Running::start(&["cat", &format!("pull@tcp://127.0.0.1:{port}")]);
        std::thread::sleep(Duration::from_millis(300));
        assert!(pull.wait_for(Duration::ZERO).is_none(), "exited early");
        pull.signal(signal);
        let (status, _, stderr) = pull.finish(Duration::from_secs(5));
        assert_eq!(status.code(), Some(0), "SIG{signal}: {stderr}");
    }
}

#[test]
fn stdout_closing_early_ends_the_receiver_quietly() {
    let port = free_port();
    let mut pull = purezmq()
        .args([
            "cat",
            &format!("pull@tcp://127.0.0.1:{port}"),
            "--timeout",
            "10s",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close our end of its stdout before anything arrives.
    drop(pull.stdout.take());
    wait_listening(port);
    let mut push = purezmq()
        .args([
            "cat",
            &format!("push>tcp://127.0.0.1:{port}"),
            "--timeout",
            "10s",
        ])
        .args(SETTLE)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    push.stdin.take().unwrap().write_all(b"a\nb\n").unwrap();
    assert!(push.wait().unwrap().success());
    let output = pull.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn xsub_sends_its_subscription_upstream() {
    let port = free_port();
    let publisher = Running::start(&[
        "cat",
        &format!("xpub@tcp://127.0.0.1:{port}"),
        "-D",
        "weather fog",
        "--interval",
        "20ms",
    ]);
    purezmq_cmd()
        .args(["cat", &format!("xsub>tcp://127.0.0.1:{port}")])
        .args(["--subscribe", "weather", "--count", "1", "--timeout", "10s"])
        .assert()
        .success()
        .stdout("\"weather fog\"\n");
    drop(publisher);
}

/// A sender that closes at once after sending, while its connection is still
/// handshaking, must still deliver (LINGER). Ignored while the sockets crate's
/// close cancels the shutdown token before `close_all` marks the connects that
/// linger, so an engine mid-handshake may see "not lingering" and drop the message.
#[test]
fn a_sender_that_closes_during_the_handshake_still_delivers() {
    for _ in 0..10 {
        let port = free_port();
        let pull = Running::start(&[
            "cat",
            &format!("pull@tcp://127.0.0.1:{port}"),
            "--count",
            "1",
            "--timeout",
            "10s",
        ]);
        wait_listening(port);
        purezmq_cmd()
            .args(["cat", &format!("push>tcp://127.0.0.1:{port}"), "-D", "x"])
            .args(["--timeout", "10s"])
            .assert()
            .success();
        let stdout = pull.succeeds(LIMIT);
        assert_eq!(stdout, "\"x\"\n");
    }
}
