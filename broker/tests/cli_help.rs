//! The `purezmq` frame: help texts with examples, the version, exit codes and the
//! one-line usage errors.

mod cli_util;

use cli_util::purezmq_cmd;
use predicates::prelude::*;

const SUBCOMMANDS: [&str; 5] = ["proxy", "cat", "keygen", "broker", "completions"];

#[test]
fn every_subcommands_help_shows_examples() {
    for subcommand in SUBCOMMANDS {
        purezmq_cmd()
            .args([subcommand, "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains("Examples:"))
            .stdout(predicate::str::contains(format!("purezmq {subcommand}")));
    }
}

#[test]
fn top_level_help_lists_subcommands_and_exit_codes() {
    let assert = purezmq_cmd().arg("--help").assert().success();
    let help = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    for subcommand in SUBCOMMANDS {
        assert!(
            help.contains(subcommand),
            "{subcommand} missing from\n{help}"
        );
    }
    for line in [
        "Exit codes:",
        "0  success",
        "1  run-time failure",
        "2  bad usage",
        "3  timeout",
        "Examples:",
    ] {
        assert!(help.contains(line), "{line:?} missing from\n{help}");
    }
}

#[test]
fn version_prints_the_package_version() {
    purezmq_cmd()
        .arg("--version")
        .assert()
        .success()
        .stdout(format!("purezmq {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn an_unknown_socket_type_exits_2_naming_it() {
    purezmq_cmd()
        .args(["cat", "foo@tcp://*:5555"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "unknown socket type \"foo\"; use one of pair, pub, sub",
        ));
}

#[test]
fn a_spec_without_endpoint_exits_2_saying_how_to_add_one() {
    purezmq_cmd()
        .args(["cat", "pull"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "socket spec \"pull\" has no endpoint; add @ENDPOINT to bind or >ENDPOINT to connect",
        ));
}

#[test]
fn a_bad_endpoint_exits_2_naming_it() {
    purezmq_cmd()
        .args(["cat", "push>udp://host:1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad endpoint \"udp://host:1\""));
}

#[test]
fn a_misspelt_socket_option_exits_2_with_a_suggestion() {
    purezmq_cmd()
        .args(["cat", "pull@tcp://127.0.0.1:0", "--sockopt", "sndhmw=10"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "unknown socket option \"sndhmw\"; did you mean sndhwm?",
        ));
}

#[test]
fn a_bad_duration_exits_2() {
    purezmq_cmd()
        .args(["cat", "pull@tcp://127.0.0.1:0", "--timeout", "5"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("duration \"5\" has no unit"));
}

#[test]
fn our_own_usage_errors_exit_2_in_one_line() {
    let assert = purezmq_cmd()
        .args(["cat", "pull@tcp://127.0.0.1:0", "-D", "hello"])
        .assert()
        .code(2);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert_eq!(
        stderr,
        "error: pull sockets only receive; drop -D, --file, -0 and --stdin \
         (or use push, pub, req, dealer or pair to send)\n"
    );
}

#[test]
fn security_flags_that_need_another_exit_2() {
    purezmq_cmd()
        .args([
            "cat",
            "req>tcp://127.0.0.1:1",
            "-D",
            "x",
            "--server-key",
            "abc",
        ])
        .assert()
        .code(2)
        .stderr("error: --server-key needs --curve-client; add it or drop --server-key\n");
}

#[test]
fn a_failed_bind_exits_1() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    purezmq_cmd()
        .args(["cat", &format!("pull@tcp://127.0.0.1:{port}")])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot bind to"));
}

#[test]
fn completions_are_written_for_bash() {
    purezmq_cmd()
        .args(["completions", "bash"])
        .assert()
        .success()
        .stdout(predicate::str::contains("purezmq"))
        .stdout(predicate::str::contains("keygen"));
}
