//! Security flags across processes: PLAIN with a password file, and CURVE on one
//! side of a proxy.

mod cli_util;

use std::time::Duration;

use cli_util::{Running, free_port, purezmq_cmd, wait_listening};

const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn plain_with_a_password_file_admits_only_its_users() {
    let dir = tempfile::tempdir().unwrap();
    let passwords = dir.path().join("passwords");
    std::fs::write(&passwords, "# users\nadmin=secret\n").unwrap();
    let port = free_port();
    let rep = Running::start(&[
        "cat",
        &format!("rep@tcp://127.0.0.1:{port}"),
        "--echo",
        "--count",
        "1",
        "--plain-server",
        "--plain-passwords",
        passwords.to_str().unwrap(),
    ]);
    let endpoint = format!("req>tcp://127.0.0.1:{port}");
    purezmq_cmd()
        .args(["cat", &endpoint, "-D", "intruder", "--timeout", "500ms"])
        .args(["--plain-client", "admin:guess"])
        .assert()
        .code(3);
    purezmq_cmd()
        .args(["cat", &endpoint, "-D", "hello", "--timeout", "10s"])
        .args(["--plain-client", "admin:secret"])
        .assert()
        .success()
        .stdout("\"hello\"\n");
    let stdout = rep.succeeds(LIMIT);
    assert_eq!(stdout, "\"hello\"\n");
}

#[test]
fn a_proxy_serves_curve_on_its_frontend_and_null_on_its_backend() {
    let dir = tempfile::tempdir().unwrap();
    let server = dir.path().join("server.key");
    let client = dir.path().join("client.key");
    for path in [&server, &client] {
        purezmq_cmd()
            .args(["keygen", "--cert"])
            .arg(path)
            .assert()
            .success();
    }
    let front = free_port();
    let back = free_port();
    let proxy = Running::start(&[
        "proxy",
        &format!("router@tcp://127.0.0.1:{front}"),
        &format!("dealer@tcp://127.0.0.1:{back}"),
        "--frontend-curve-server",
        &format!("{}_secret", server.display()),
    ]);
    wait_listening(back);
    let worker = Running::start(&[
        "cat",
        &format!("rep>tcp://127.0.0.1:{back}"),
        "-D",
        "done",
        "--count",
        "1",
    ]);
    // A NULL client is not served by a CURVE frontend.
    purezmq_cmd()
        .args(["cat", &format!("req>tcp://127.0.0.1:{front}")])
        .args(["-D", "plain text", "--timeout", "500ms"])
        .assert()
        .code(3);
    purezmq_cmd()
        .args(["cat", &format!("req>tcp://127.0.0.1:{front}")])
        .args(["-D", "job", "--timeout", "10s"])
        .arg("--curve-client")
        .arg(format!("{}_secret", client.display()))
        .arg("--server-key")
        .arg(&server)
        .assert()
        .success()
        .stdout("\"done\"\n");
    let stdout = worker.succeeds(LIMIT);
    assert_eq!(stdout, "\"job\"\n");
    proxy.signal("INT");
    let (status, _, stderr) = proxy.finish(LIMIT);
    assert!(status.success(), "{stderr}");
}
