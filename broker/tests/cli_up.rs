//! `purezmq up`: the whole bus in one process, run as a user runs it, and called
//! with curl and `purezmq call` as separate processes.

mod cli_util;

use std::process::Command;
use std::time::Duration;

use cli_util::{LoggedProcess, free_port, purezmq, purezmq_cmd};
use predicates::str::contains;

const START: Duration = Duration::from_secs(30);

/// `curl -g -s URL`, giving the status code and the body (without the newline
/// the gateway ends it with).
fn curl(url: &str, extra: &[&str]) -> (u16, String) {
    let output = Command::new("curl")
        .args(["-g", "-s", "--max-time", "20", "-w", "\n%{http_code}"])
        .args(extra)
        .arg(url)
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').expect("curl printed the status");
    (
        code.trim().parse().unwrap_or(0),
        body.trim_end().to_string(),
    )
}

/// The README's main job, exactly: `purezmq up` with no configuration, then
/// `curl -g 'http://127.0.0.1:9001/echo?args=["hello"]'`, on the default ports.
#[test]
fn the_readme_main_job_answers_curl_on_the_default_ports() {
    let dir = tempfile::tempdir().unwrap();
    let mut up = LoggedProcess::start_in(&["up"], dir.path().join("up.log"), dir.path());
    let output = up.wait_line("bus ready", START);
    assert!(output.contains("broker listening on tcp://"), "{output}");
    assert!(
        output.contains("http gateway listening on http://127.0.0.1:9001"),
        "{output}"
    );
    assert!(output.contains("service echo: built-in echo"), "{output}");

    let (code, body) = curl("http://127.0.0.1:9001/echo?args=[\"hello\"]", &[]);
    assert_eq!((code, body.as_str()), (200, r#"["hello"]"#));

    // The broker takes Majordomo clients from outside on 5555 too.
    let reply = purezmq()
        .args(["call", "echo", "hello", "world", "--timeout", "10s"])
        .output()
        .unwrap();
    assert!(reply.status.success(), "{reply:?}");
    assert_eq!(String::from_utf8_lossy(&reply.stdout), "hello world\n");

    let status = up.terminate(Duration::from_secs(15));
    let (_, log) = up.has_line("");
    assert_eq!(status.map(|s| s.code()), Some(Some(0)), "{log}");
}

#[test]
fn a_configuration_runs_script_services_behind_the_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let (broker_port, http_port) = (free_port(), free_port());
    let config = format!(
        r#"
[broker]
endpoints = ["tcp://127.0.0.1:{broker_port}"]

[http]
listen = "127.0.0.1:{http_port}"
timeout = "10s"

[services.upper]
command = ["tr", "a-z", "A-Z"]
stdin = true

[services.args]
command = ["printf", "%s|"]
jobs = 2

[services.greet]
builtin = "echo"

[services.slow]
command = ["sleep", "30"]
timeout = "20s"

[services.fails]
command = ["ls", "/nonexistent-purezmq"]
stderr = true
exit_code = true
"#
    );
    std::fs::write(dir.path().join("bus.toml"), config).unwrap();
    let mut up = LoggedProcess::start_in(
        &["up", "--config", "bus.toml"],
        dir.path().join("up.log"),
        dir.path(),
    );
    let output = up.wait_line("bus ready", START);
    assert!(output.contains("configuration: bus.toml"), "{output}");

    let base = format!("http://127.0.0.1:{http_port}");
    // A script service, frames as arguments, given verbatim (no shell).
    let (code, body) = curl(&format!("{base}/args?args=[\"a%20b\",\"$(id)\"]"), &[]);
    assert_eq!((code, body.as_str()), (200, r#"["a b|$(id)|"]"#));
    // A script service reading the body on stdin, called with POST.
    let (code, body) = curl(
        &format!("{base}/upper"),
        &["-H", "content-type: application/json", "-d", r#"["shout"]"#],
    );
    assert_eq!(code, 200, "{body}");
    assert!(body.starts_with(r#"["SHOUT"#), "{body}");
    // The built-in echo under another name.
    let (code, body) = curl(&format!("{base}/greet?args=[\"hi\"]"), &[]);
    assert_eq!((code, body.as_str()), (200, r#"["hi"]"#));
    // No such service: answered at once, not after the timeout.
    let (code, body) = curl(&format!("{base}/nobody"), &[]);
    assert_eq!(code, 503, "{body}");

    // A slow program: 504 at the request's timeout, while other services answer.
    let slow = {
        let url = format!("{base}/slow?timeout=1500");
        std::thread::spawn(move || curl(&url, &[]))
    };
    for _ in 0..5 {
        let (code, body) = curl(&format!("{base}/greet?args=[\"meanwhile\"]"), &[]);
        assert_eq!((code, body.as_str()), (200, r#"["meanwhile"]"#));
    }
    let (code, body) = slow.join().unwrap();
    assert_eq!(code, 504, "{body}");
    assert!(body.contains("\"error\""), "{body}");
    // A failing program: its error output and exit code are the reply.
    let (code, body) = curl(&format!("{base}/fails"), &[]);
    assert_eq!(code, 200, "{body}");
    let frames: Vec<String> = serde_json::from_str(&body).unwrap();
    assert_eq!(frames.len(), 2, "{body}");
    assert!(frames[0].contains("nonexistent-purezmq"), "{body}");
    assert_eq!(frames[1], "2", "{body}");

    // Through the broker's own endpoint, as an outside client.
    let reply = purezmq()
        .args(["call", "greet", "x", "--timeout", "10s", "--broker"])
        .arg(format!("tcp://127.0.0.1:{broker_port}"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&reply.stdout), "x\n", "{reply:?}");

    let status = up.terminate(Duration::from_secs(15));
    let (_, log) = up.has_line("");
    assert_eq!(status.map(|s| s.code()), Some(Some(0)), "{log}");
}

#[test]
fn check_prints_the_plan_and_the_sample_configuration_passes_it() {
    let dir = tempfile::tempdir().unwrap();
    let sample = purezmq_cmd()
        .args(["up", "--print-config"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    std::fs::write(dir.path().join("purezmq.toml"), &sample).unwrap();
    // --config defaults to ./purezmq.toml.
    purezmq_cmd()
        .current_dir(dir.path())
        .args(["up", "--check"])
        .assert()
        .success()
        .stdout(contains("configuration: purezmq.toml"))
        .stdout(contains("broker on tcp://*:5555"))
        .stdout(contains("http gateway on http://127.0.0.1:9001"))
        .stdout(contains("service date: date -u"))
        .stdout(contains("service echo: built-in echo"));
}

#[test]
fn configuration_mistakes_are_usage_errors_that_say_where() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("[broker]\nmax_queu = 3\n", "[broker]"),
        ("[http]\nlisten = \"nowhere\"\n", "[http]"),
        ("[services.x]\njobs = 2\n", "needs `command"),
        ("[services]\nx = 3\n", "[services.x] must be a section"),
        ("not toml at all [", "is not valid TOML"),
    ];
    for (text, expected) in cases {
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, text).unwrap();
        purezmq_cmd()
            .args(["up", "--check", "--config"])
            .arg(&path)
            .assert()
            .code(2)
            .stderr(contains(expected));
    }
    purezmq_cmd()
        .args(["up", "--config", "/nonexistent/purezmq.toml"])
        .assert()
        .code(2)
        .stderr(contains("--print-config"));
}
