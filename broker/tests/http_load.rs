//! The HTTP gateway under load, as processes: `wrk` holds 1,000 concurrent
//! keep-alive connections to `purezmq http` in front of `purezmq broker` and
//! `purezmq echo` workers, twice, with no error and the gateway's memory bounded;
//! and the gateway survives a broker killed with SIGKILL (503 or 504 while it is
//! gone, quickly, and 200 again once it is back).
//!
//! Needs `wrk` (`apt-get install wrk`; CI installs it, or set `$WRK` to its path).

mod cli_util;
mod gateway_bus;

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use gateway_bus::{Bus, Process, get};

/// Concurrent connections in the load rounds.
const CONNECTIONS: usize = 1_000;
/// The gateway's own timeout in these tests.
const GATEWAY_TIMEOUT: Duration = Duration::from_secs(3);
/// The most a request may take while the broker is gone: the gateway's timeout
/// and generous slack for a loaded machine.
const REQUEST_LIMIT: Duration = Duration::from_secs(15);

/// One bus at a time: the machine may have two cores.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn wrk() -> PathBuf {
    let path = std::env::var_os("WRK")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/wrk"));
    assert!(
        path.exists(),
        "the load test needs wrk at {}: install it (Debian: `apt-get install wrk`) or \
         set WRK to its path",
        path.display()
    );
    path
}

/// What one wrk run reported.
#[derive(Debug)]
struct WrkRun {
    requests: u64,
    output: String,
}

/// Runs `wrk` with [`CONNECTIONS`] connections for `seconds` against `url` and
/// checks its report: requests done, no socket error, no status other than 2xx.
fn wrk_round(url: &str, seconds: u64, log: PathBuf) -> WrkRun {
    let connections = CONNECTIONS.to_string();
    let duration = format!("{seconds}s");
    let mut run = Process::start(
        &wrk(),
        &[
            "-t2",
            "-c",
            &connections,
            "-d",
            &duration,
            "--timeout",
            "10s",
            "--latency",
            url,
        ],
        log,
        true,
    );
    let status = run
        .wait_exit(Duration::from_secs(seconds + 60))
        .expect("wrk did not finish");
    let output = run.output();
    assert!(status.success(), "wrk failed ({status}):\n{output}");
    println!("{output}");
    assert!(
        !output.contains("Socket errors"),
        "wrk saw socket errors:\n{output}"
    );
    assert!(
        !output.contains("Non-2xx or 3xx responses"),
        "some responses were not 2xx:\n{output}"
    );
    // "  12345 requests in 5.00s, 1.23MB read"
    let requests = output
        .lines()
        .find(|line| line.contains(" requests in "))
        .and_then(|line| line.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no request count in wrk's report:\n{output}"));
    WrkRun { requests, output }
}

/// Asks until the gateway answers 200 (at most 30 s), for a bus just started.
fn wait_200(bus: &Bus, target: &str) {
    let start = Instant::now();
    loop {
        if let Ok(response) = get(bus.http_port, target, REQUEST_LIMIT)
            && response.status == 200
        {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the gateway never answered 200:\n{}",
            bus.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

const MIB: u64 = 1024 * 1024;

/// The hard limit on open files (`ulimit -Hn`), which the processes here raise
/// their soft limit to; `None` for unlimited.
fn hard_fd_limit() -> Option<u64> {
    let out = std::process::Command::new("sh")
        .args(["-c", "ulimit -Hn"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

#[test]
fn a_thousand_concurrent_connections_are_all_answered_and_memory_stays_bounded() {
    let _serial = serial();
    // wrk, the gateway and the broker each hold a descriptor per connection.
    if let Some(limit) = hard_fd_limit() {
        assert!(
            limit >= 2 * CONNECTIONS as u64 + 200,
            "this test needs {} open files per process; the hard limit is {limit}: raise it \
             (ulimit -Hn, or LimitNOFILE for a service)",
            2 * CONNECTIONS + 200
        );
    }
    let timeout = format!("{}s", GATEWAY_TIMEOUT.as_secs() * 3);
    let bus = Bus::start(
        &["echo", "echo", "echo", "echo"],
        &["--timeout", &timeout, "--max-inflight", "4096"],
    );
    let target = "/echo?args=%5B%22x%22%5D";
    wait_200(&bus, target);
    let url = format!("{}{target}", bus.base());
    let at_start = bus.gateway.rss();
    let logs = |name: &str| bus.dir.path().join(name);

    let first = wrk_round(&url, 5, logs("wrk-1.log"));
    let after_first = bus.gateway.rss();
    let second = wrk_round(&url, 5, logs("wrk-2.log"));
    let after_second = bus.gateway.rss();
    println!(
        "gateway RSS: {:.1} MiB at the start, {:.1} MiB after {} requests, {:.1} MiB after {} more",
        at_start as f64 / MIB as f64,
        after_first as f64 / MIB as f64,
        first.requests,
        after_second as f64 / MIB as f64,
        second.requests
    );
    // Every connection got answers, in both rounds.
    for run in [&first, &second] {
        assert!(
            run.requests >= CONNECTIONS as u64,
            "only {} requests over {CONNECTIONS} connections:\n{}",
            run.requests,
            run.output
        );
    }
    // Bounded: well under 200 MiB, and the second round does not add half again
    // (nor more than 16 MiB when the first was small).
    assert!(
        after_second < 200 * MIB,
        "the gateway holds {after_second} bytes after two rounds"
    );
    let growth_allowed = (after_first / 2).max(16 * MIB);
    assert!(
        after_second <= after_first + growth_allowed,
        "the gateway grew from {after_first} to {after_second} bytes over the second round"
    );
    // It still answers one by one afterwards.
    let response = get(bus.http_port, target, REQUEST_LIMIT).unwrap();
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.body.trim_end(), r#"["x"]"#);
}

/// One request while the broker is gone: it must end, with 503 or 504, within
/// [`REQUEST_LIMIT`].
fn request_while_broker_is_gone(bus: &Bus, target: &str) -> u16 {
    let sent = Instant::now();
    let response = get(bus.http_port, target, REQUEST_LIMIT)
        .unwrap_or_else(|e| panic!("no answer while the broker is gone: {e}\n{}", bus.logs()));
    assert!(
        sent.elapsed() < REQUEST_LIMIT,
        "the request took {:?}",
        sent.elapsed()
    );
    assert!(
        matches!(response.status, 503 | 504),
        "while the broker is gone: {response:?}"
    );
    assert!(
        response
            .header("content-type")
            .is_some_and(|t| t.contains("json")),
        "{response:?}"
    );
    response.status
}

#[test]
fn the_gateway_survives_a_broker_killed_with_sigkill() {
    let _serial = serial();
    let timeout = format!("{}s", GATEWAY_TIMEOUT.as_secs());
    let mut bus = Bus::start(&["echo"], &["--timeout", &timeout]);
    let target = "/echo?args=%5B%22again%22%5D";
    wait_200(&bus, target);

    bus.kill_broker();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(request_while_broker_is_gone(&bus, target));
    }
    println!("while the broker was gone: {statuses:?}");
    assert!(bus.gateway.running(), "the gateway exited:\n{}", bus.logs());

    bus.restart_broker("broker-2.log");
    // The worker notices the new broker (its heartbeats go unanswered) and
    // registers again; the gateway answers 200 once it has.
    let back = Instant::now();
    let mut last = None;
    while back.elapsed() < Duration::from_secs(15) {
        match get(bus.http_port, target, REQUEST_LIMIT) {
            Ok(response) if response.status == 200 => {
                assert_eq!(response.body.trim_end(), r#"["again"]"#);
                println!("200 again {:?} after the broker restarted", back.elapsed());
                assert!(bus.gateway.running());
                return;
            }
            other => last = Some(other),
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!(
        "no 200 within 15 s of the broker's restart; the last answer: {last:?}\n{}",
        bus.logs()
    );
}
