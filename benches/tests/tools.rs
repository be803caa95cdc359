//! The benchmark tools as a user runs them: their listings, their refusal of a flag
//! they do not know, and the soak suite failing when an iteration leaks.
//!
//! Building this test also builds `compare` and `soak` with the workspace's test
//! features, which is what CI's smoke steps then run.

use std::process::{Command, Output};

fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{bin} runs: {e}"))
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn compare_lists_every_family_of_cases_with_purezmq_in_each() {
    let output = run(env!("CARGO_BIN_EXE_compare"), &["--list"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let listing = stdout(&output);
    for family in [
        "push-pull/tcp/",
        "push-pull/ipc/",
        "push-pull/inproc/",
        "pub-sub/tcp/",
        "proxy/push-pull/",
        "proxy/pub-sub/",
        "broker/mdp/",
        "latency/req-rep/",
        "latency/dealer-router/",
        "curve/push-pull/",
        "memory/",
        "connections/",
    ] {
        assert!(
            listing.lines().any(|line| line.starts_with(family)),
            "no {family} case in:\n{listing}"
        );
    }
    for line in listing.lines() {
        assert!(
            line.split_whitespace()
                .skip(1)
                .any(|stack| stack == "purezmq"),
            "a case without purezmq: {line}"
        );
    }
}

#[test]
fn compare_refuses_an_unknown_flag_and_shows_its_usage() {
    let output = run(env!("CARGO_BIN_EXE_compare"), &["--fastest"]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains("unknown argument --fastest"), "{err}");
    assert!(err.contains("usage: compare"), "{err}");
}

#[test]
fn soak_lists_its_scenarios() {
    let output = run(env!("CARGO_BIN_EXE_soak"), &["--list"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let names: Vec<String> = stdout(&output)
        .lines()
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect();
    assert_eq!(names, ["churn", "restart", "slow-sub", "hwm", "curve"]);
}

#[test]
fn soak_fails_and_names_the_scenario_when_every_iteration_leaks() {
    // 64 KiB per iteration: hundreds of iterations a second, even unoptimised, make
    // the live heap grow by megabytes between the run's second and last quarters.
    let output = run(
        env!("CARGO_BIN_EXE_soak"),
        &[
            "--seconds",
            "4",
            "--only",
            "churn",
            "--runtime",
            "current",
            "--leak-for-test",
            "65536",
        ],
    );
    let out = format!("{}{}", stdout(&output), stderr(&output));
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(out.contains("churn/current"), "{out}");
    assert!(out.contains("grow"), "{out}");
}

#[test]
fn soak_passes_a_short_clean_run() {
    let output = run(
        env!("CARGO_BIN_EXE_soak"),
        &["--seconds", "4", "--only", "churn", "--runtime", "current"],
    );
    let out = format!("{}{}", stdout(&output), stderr(&output));
    assert!(output.status.success(), "{out}");
    assert!(out.contains("churn/current"), "{out}");
}
