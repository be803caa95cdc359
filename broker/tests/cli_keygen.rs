//! `purezmq keygen`: keys printed in libzmq curve_keygen's layout, certificate files
//! pyzmq and CZMQ load, and those certificates in use by `purezmq cat`.

mod cli_util;

use std::time::Duration;

use cli_util::{Running, free_port, purezmq_cmd};
use predicates::prelude::*;
use purezmq::curve::{Certificate, PublicKey, SecretKey};

/// The key printed on the line after `header`.
fn key_after<'a>(output: &'a str, header: &str) -> &'a str {
    let mut lines = output.lines();
    lines.find(|line| *line == header).expect(header);
    lines.next().expect("a key after the header")
}

#[test]
fn keygen_prints_a_z85_key_pair_in_curve_keygens_layout() {
    let assert = purezmq_cmd().arg("keygen").assert().success();
    let output = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    let public = key_after(&output, "== CURVE PUBLIC KEY ==");
    let secret = key_after(&output, "== CURVE SECRET KEY ==");
    assert_eq!(public.len(), 40);
    assert_eq!(secret.len(), 40);
    let public = PublicKey::from_z85(public).unwrap();
    let secret = SecretKey::from_z85(secret).unwrap();
    assert_eq!(secret.public_key(), public, "the pair belongs together");
    // Blank line before each header, as curve_keygen prints them.
    assert!(output.contains("\n\n== CURVE PUBLIC KEY ==\n"));
    assert!(output.contains("\n\n== CURVE SECRET KEY ==\n"));
}

#[test]
fn two_runs_give_different_keys() {
    let run = || {
        let assert = purezmq_cmd().arg("keygen").assert().success();
        String::from_utf8(assert.get_output().stdout.clone()).unwrap()
    };
    assert_ne!(run(), run());
}

#[test]
fn cert_writes_a_pair_that_loads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.key");
    purezmq_cmd()
        .args(["keygen", "--cert"])
        .arg(&path)
        .args(["--name", "server"])
        .assert()
        .success();
    let public = Certificate::load(&path).unwrap();
    let secret = Certificate::load(dir.path().join("server.key_secret")).unwrap();
    assert!(public.secret_key().is_none());
    assert_eq!(secret.public_key(), public.public_key());
    assert_eq!(secret.key_pair().unwrap().public(), public.public_key());
    assert_eq!(public.metadata_value("name"), Some("server"));

    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("server.key_secret"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "only the owner may read the secret");
}

#[test]
fn cert_does_not_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.key");
    purezmq_cmd()
        .args(["keygen", "--cert"])
        .arg(&path)
        .assert()
        .success();
    let first = std::fs::read_to_string(&path).unwrap();
    purezmq_cmd()
        .args(["keygen", "--cert"])
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("exists already"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), first);
    purezmq_cmd()
        .args(["keygen", "--force", "--cert"])
        .arg(&path)
        .assert()
        .success();
    assert_ne!(std::fs::read_to_string(&path).unwrap(), first);
}

#[test]
fn curve_with_an_allowlist_admits_only_listed_clients() {
    let dir = tempfile::tempdir().unwrap();
    let allowed = dir.path().join("allowed");
    std::fs::create_dir(&allowed).unwrap();
    let server = dir.path().join("server.key");
    let client = allowed.join("client.key");
    let stranger = dir.path().join("stranger.key");
    for path in [&server, &client, &stranger] {
        purezmq_cmd()
            .args(["keygen", "--cert"])
            .arg(path)
            .assert()
            .success();
    }
    let secret = |path: &std::path::Path| format!("{}_secret", path.display());

    let port = free_port();
    let rep = Running::start(&[
        "cat",
        &format!("rep@tcp://127.0.0.1:{port}"),
        "--echo",
        "--count",
        "1",
        "--curve-server",
        &secret(&server),
        "--zap-allow",
        allowed.to_str().unwrap(),
    ]);
    let endpoint = format!("req>tcp://127.0.0.1:{port}");

    // A client whose certificate is not in the directory gets no answer.
    purezmq_cmd()
        .args(["cat", &endpoint, "-D", "let me in", "--timeout", "500ms"])
        .args(["--curve-client", &secret(&stranger), "--server-key"])
        .arg(&server)
        .assert()
        .code(3);

    // The listed one does; the server key may be given as Z85 too.
    let server_key = Certificate::load(&server).unwrap().public_key().to_z85();
    purezmq_cmd()
        .args(["cat", &endpoint, "-D", "hello", "--timeout", "10s"])
        .args([
            "--curve-client",
            &secret(&client),
            "--server-key",
            &server_key,
        ])
        .assert()
        .success()
        .stdout("\"hello\"\n");

    let (status, stdout, _) = rep.finish(Duration::from_secs(10));
    assert!(status.success());
    assert_eq!(stdout, "\"hello\"\n");
}
