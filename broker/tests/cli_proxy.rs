//! `purezmq proxy` as an operator runs it: devices between `purezmq cat`s, the
//! counters, the control socket and signals.

mod cli_util;

use std::time::Duration;

use cli_util::{Running, free_port, purezmq_cmd, wait_listening};
use predicates::prelude::*;

const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn help_shows_the_seed_device_examples() {
    purezmq_cmd()
        .args(["proxy", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "purezmq proxy 'xsub@tcp://*:5559' 'xpub@tcp://*:5560'",
        ))
        .stdout(predicate::str::contains(
            "purezmq proxy 'router@tcp://*:5559' 'dealer@tcp://*:5560'",
        ))
        .stdout(predicate::str::contains(
            "purezmq proxy 'pull@tcp://*:5557' 'push@tcp://*:5558'",
        ))
        .stdout(predicate::str::contains(
            "purezmq proxy 'xsub>tcp://10.0.0.5:5556' 'xpub@ipc:///tmp/feed'",
        ))
        .stdout(predicate::str::contains(
            "--control rep@tcp://127.0.0.1:5570",
        ));
}

#[test]
fn a_bad_backend_spec_exits_2_naming_it() {
    purezmq_cmd()
        .args(["proxy", "xsub@tcp://*:5559", "xpup@tcp://*:5560"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown socket type \"xpup\""))
        .stderr(predicate::str::contains("<BACKEND>"));
}

#[test]
fn json_needs_stats_every() {
    purezmq_cmd()
        .args([
            "proxy",
            "pull@tcp://127.0.0.1:0",
            "push@tcp://127.0.0.1:0",
            "--json",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--stats-every"));
}

#[test]
fn a_bind_that_fails_exits_1_naming_the_side() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    purezmq_cmd()
        .args(["proxy", "pull@tcp://127.0.0.1:0"])
        .arg(format!("push@tcp://127.0.0.1:{port}"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("backend push@tcp://127.0.0.1:"))
        .stderr(predicate::str::contains("cannot bind to"));
}

#[test]
fn sigterm_and_ctrl_c_stop_a_running_proxy_promptly_with_exit_0() {
    for signal in ["TERM", "INT"] {
        let front = free_port();
        let back = free_port();
        let mut proxy = Running::start(&[
            "proxy",
            &format!("xsub@tcp://127.0.0.1:{front}"),
            &format!("xpub@tcp://127.0.0.1:{back}"),
        ]);
        wait_listening(front);
        wait_listening(back);
        assert!(proxy.wait_for(Duration::ZERO).is_none(), "exited early");
        proxy.signal(signal);
        let (status, _, stderr) = proxy.finish(Duration::from_secs(5));
        assert_eq!(status.code(), Some(0), "SIG{signal}: {stderr}");
    }
}

#[test]
fn a_streamer_carries_messages_and_counts_them_as_json() {
    let front = free_port();
    let back = free_port();
    let proxy = Running::start(&[
        "proxy",
        &format!("pull@tcp://127.0.0.1:{front}"),
        &format!("push@tcp://127.0.0.1:{back}"),
        "--stats-every",
        "50ms",
        "--json",
    ]);
    wait_listening(front);
    purezmq_cmd()
        .args(["cat", &format!("push>tcp://127.0.0.1:{front}")])
        .args([
            "-D",
            "task",
            "-D",
            "12345",
            "--count",
            "3",
            "--timeout",
            "10s",
        ])
        // Lets the handshake finish before the sender closes (see cli_cat.rs).
        .args(["--delay", "200ms"])
        .assert()
        .success();
    purezmq_cmd()
        .args(["cat", &format!("pull>tcp://127.0.0.1:{back}")])
        .args(["--count", "3", "--timeout", "10s"])
        .assert()
        .success()
        .stdout("\"task\" \"12345\"\n".repeat(3));
    proxy.signal("TERM");
    let stdout = proxy.succeeds(LIMIT);
    // The last line is printed at exit, after all three went through; as in
    // libzmq, each frame counts as a message.
    let last = stdout.lines().last().expect("a statistics line");
    let counters: serde_json::Value = serde_json::from_str(last).unwrap();
    assert_eq!(counters["frontend"]["messages_in"], 6, "{last}");
    assert_eq!(counters["frontend"]["bytes_in"], 27, "{last}");
    assert_eq!(counters["backend"]["messages_out"], 6, "{last}");
    for line in stdout.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("every line is JSON");
    }
}

#[test]
fn terminate_on_the_control_socket_ends_the_proxy_with_exit_0() {
    let control = free_port();
    let proxy = Running::start(&[
        "proxy",
        "router@tcp://127.0.0.1:0",
        "dealer@tcp://127.0.0.1:0",
        "--control",
        &format!("rep@tcp://127.0.0.1:{control}"),
    ]);
    purezmq_cmd()
        .args(["cat", &format!("req>tcp://127.0.0.1:{control}")])
        .args(["-D", "TERMINATE", "--timeout", "10s"])
        .assert()
        .success()
        .stdout("\"\"\n");
    let (status, _, stderr) = proxy.finish(LIMIT);
    assert!(status.success(), "{stderr}");
}

#[test]
fn a_forwarder_passes_subscriptions_up_and_updates_down() {
    let front = free_port();
    let back = free_port();
    let proxy = Running::start(&[
        "proxy",
        &format!("xsub@tcp://127.0.0.1:{front}"),
        &format!("xpub@tcp://127.0.0.1:{back}"),
    ]);
    let publishers: Vec<Running> = ["sports final", "weather rain"]
        .iter()
        .map(|update| {
            Running::start(&[
                "cat",
                &format!("pub>tcp://127.0.0.1:{front}"),
                "-D",
                update,
                "--interval",
                "20ms",
            ])
        })
        .collect();
    purezmq_cmd()
        .args(["cat", &format!("sub>tcp://127.0.0.1:{back}")])
        .args(["--subscribe", "weather", "--count", "2", "--timeout", "10s"])
        .assert()
        .success()
        .stdout("\"weather rain\"\n\"weather rain\"\n");
    drop(publishers);
    proxy.signal("TERM");
    let (status, _, stderr) = proxy.finish(LIMIT);
    assert!(status.success(), "{stderr}");
}

#[test]
fn statistics_on_a_rep_control_socket_answer_eight_frames() {
    let control = free_port();
    let proxy = Running::start(&[
        "proxy",
        "pull@tcp://127.0.0.1:0",
        "push@tcp://127.0.0.1:0",
        "--control",
        &format!("rep@tcp://127.0.0.1:{control}"),
    ]);
    let zero = "0000000000000000";
    purezmq_cmd()
        .args(["cat", &format!("req>tcp://127.0.0.1:{control}")])
        .args(["-D", "STATISTICS", "--format", "hex", "--timeout", "10s"])
        .assert()
        .success()
        .stdout(format!("{}\n", [zero; 8].join(" ")));
    proxy.signal("TERM");
    let (status, _, stderr) = proxy.finish(LIMIT);
    assert!(status.success(), "{stderr}");
}
