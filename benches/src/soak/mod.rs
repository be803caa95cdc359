//! `soak`: long-running scenarios, scaled down to about half a minute each for CI,
//! that fail when the process's memory or open file descriptors grow.
//!
//! The scenarios (one module each) are libzmq's leak hunts and omq's soak runs on
//! purezmq's async sockets: connect/disconnect churn ([`churn`]), peers killed and
//! restarted ([`restart`]), slow subscribers ([`slow_sub`]), the high-water mark at
//! both ends ([`hwm`]) and CURVE handshakes in a loop ([`curve`]).
//!
//! The orchestrator ([`main`]) starts this binary again for each scenario on each
//! tokio runtime (`soak --one NAME --runtime current|multi`), so each run has a
//! process of its own whose memory and descriptors are its own, and a run that
//! hangs is killed and reported. A run ([`run`]) samples the process
//! ([`sample`]): resident set, live heap (counted by the allocator in [`heap`]) and
//! descriptors; after the first quarter, its warm-up, it fails when memory keeps
//! growing or descriptors stay open after its sockets closed.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub mod churn;
pub mod context;
pub mod curve;
pub mod heap;
pub mod hwm;
pub mod restart;
pub mod run;
pub mod sample;
pub mod slow_sub;

const USAGE: &str = "\
usage: soak [--seconds N | --hours H] [--only NAME]... [--runtime current|multi|both] [--list]

Runs each scenario on each tokio runtime, in a process of its own, sampling its resident
memory, live heap and open file descriptors; fails when they grow.

  -s, --seconds N   how long each scenario runs on each runtime (default 25: the whole
                    suite takes about 4.5 minutes)
      --hours H     the same in hours, for the long version (--hours 2 --only churn)
  -o, --only NAME   only this scenario (repeatable, or comma-separated); --list names them
  -r, --runtime R   current (one thread), multi (two worker threads) or both (default)
  -l, --list        the scenarios and what one iteration of each is
  -h, --help        this text

Exits with status 1, naming the scenario and what grew, when a run fails.";

/// Seconds per scenario and runtime when none are given.
const DEFAULT_SECONDS: f64 = 25.0;
/// How long a run may take beyond its seconds (closing, the sampler's end) before
/// the orchestrator takes it as hung.
const GRACE: Duration = Duration::from_secs(60);

/// A scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// [`churn`].
    Churn,
    /// [`restart`].
    Restart,
    /// [`slow_sub`].
    SlowSub,
    /// [`hwm`].
    Hwm,
    /// [`curve`].
    Curve,
}

impl Scenario {
    /// Every scenario, in the order they run.
    pub const ALL: [Scenario; 5] = [
        Scenario::Churn,
        Scenario::Restart,
        Scenario::SlowSub,
        Scenario::Hwm,
        Scenario::Curve,
    ];

    /// The name `--only` takes.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Churn => "churn",
            Scenario::Restart => "restart",
            Scenario::SlowSub => "slow-sub",
            Scenario::Hwm => "hwm",
            Scenario::Curve => "curve",
        }
    }

    /// What it does, and what one iteration is.
    pub fn about(self) -> &'static str {
        match self {
            Scenario::Churn => {
                "sockets made, joined, used and closed over tcp, ipc and inproc, every pattern; \
                 a binder coming and going under a connected DEALER (iteration: one pair's or binder's life)"
            }
            Scenario::Restart => {
                "a peer process killed (SIGKILL) and restarted while this one sends and receives \
                 (iteration: one peer's life)"
            }
            Scenario::SlowSub => {
                "PUB at full speed, SNDHWM 100, to a fast SUB and two that read slowly and stop \
                 (iteration: 1000 messages published)"
            }
            Scenario::Hwm => {
                "PUSH blocked at SNDHWM against a PULL that stops and resumes; DEALER and ROUTER \
                 both ways, the ROUTER dropping at its HWM (iteration: 100 messages received)"
            }
            Scenario::Curve => {
                "CURVE clients connecting, one request each, closing; every tenth with a wrong \
                 key (iteration: one client's life)"
            }
        }
    }

    fn parse(name: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|s| s.name() == name)
    }

    /// How much growth a run of this scenario tolerates.
    pub fn limits(self) -> sample::Limits {
        sample::Limits {
            rss_kib: 2048,
            rss_share: 0.10,
            heap_bytes: 512 * 1024,
            heap_share: 0.05,
            fd_slack: 4,
        }
    }

    async fn run(self, ctx: &context::Context) -> Result<(), String> {
        match self {
            Scenario::Churn => churn::run(ctx).await,
            Scenario::Restart => restart::run(ctx).await,
            Scenario::SlowSub => slow_sub::run(ctx).await,
            Scenario::Hwm => hwm::run(ctx).await,
            Scenario::Curve => curve::run(ctx).await,
        }
    }
}

/// A tokio runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// `new_current_thread`.
    Current,
    /// `new_multi_thread` with two workers.
    Multi,
}

impl Flavor {
    /// The name `--runtime` takes.
    pub fn name(self) -> &'static str {
        match self {
            Flavor::Current => "current",
            Flavor::Multi => "multi",
        }
    }

    fn build(self) -> std::io::Result<tokio::runtime::Runtime> {
        match self {
            Flavor::Current => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build(),
            Flavor::Multi => tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build(),
        }
    }
}

/// The command line.
struct Args {
    seconds: f64,
    only: Vec<Scenario>,
    flavors: Vec<Flavor>,
    list: bool,
    /// Bytes each iteration leaks on purpose (hidden: shows the checks fire).
    leak: usize,
    /// Run this scenario here rather than orchestrate (hidden: the orchestrator's).
    one: Option<Scenario>,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut parsed = Args {
        seconds: DEFAULT_SECONDS,
        only: Vec::new(),
        flavors: vec![Flavor::Current, Flavor::Multi],
        list: false,
        leak: 0,
        one: None,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .cloned()
                .ok_or_else(|| format!("{arg} needs a value"))
        };
        match arg.as_str() {
            "-s" | "--seconds" | "--hours" => {
                let text = value()?;
                let number: f64 = text
                    .parse()
                    .ok()
                    .filter(|n: &f64| n.is_finite() && *n > 0.0)
                    .ok_or_else(|| format!("{arg} {text}: give a positive number, e.g. {arg} 2"))?;
                parsed.seconds = if arg == "--hours" {
                    number * 3600.0
                } else {
                    number
                };
            }
            "-o" | "--only" => {
                for name in value()?.split(',') {
                    let scenario = Scenario::parse(name.trim()).ok_or_else(|| {
                        format!("--only {name}: no such scenario; --list shows them")
                    })?;
                    parsed.only.push(scenario);
                }
            }
            "-r" | "--runtime" => {
                parsed.flavors = match value()?.as_str() {
                    "current" => vec![Flavor::Current],
                    "multi" => vec![Flavor::Multi],
                    "both" => vec![Flavor::Current, Flavor::Multi],
                    other => return Err(format!("--runtime {other}: give current, multi or both")),
                }
            }
            "-l" | "--list" => parsed.list = true,
            "--leak-for-test" => {
                let text = value()?;
                parsed.leak = text
                    .parse()
                    .map_err(|_| format!("--leak-for-test {text}: give bytes per iteration"))?;
            }
            "--one" => {
                let name = value()?;
                parsed.one = Some(
                    Scenario::parse(&name)
                        .ok_or_else(|| format!("--one {name}: no such scenario"))?,
                );
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => {
                return Err(format!(
                    "unknown argument {other}; --help lists the options"
                ));
            }
        }
    }
    Ok(parsed)
}

/// `soak [options]`: runs the scenarios and exits with status 1 if any failed.
pub fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--peer") {
        if let Err(e) = restart::peer(&args[1..]) {
            eprintln!("soak peer: {e}");
            std::process::exit(2);
        }
        return;
    }
    let args = match parse(&args) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("soak: {e}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    if args.list {
        for scenario in Scenario::ALL {
            println!("{:<9} {}", scenario.name(), scenario.about());
        }
        return;
    }
    if let Some(scenario) = args.one {
        let [flavor] = args.flavors[..] else {
            eprintln!("soak: --one runs on one runtime: add --runtime current or --runtime multi");
            std::process::exit(2);
        };
        let passed = run::one(
            scenario,
            flavor,
            Duration::from_secs_f64(args.seconds),
            args.leak,
        );
        std::process::exit(if passed { 0 } else { 1 });
    }
    std::process::exit(orchestrate(&args));
}

/// Runs each chosen scenario on each chosen runtime in a child process; the exit
/// status.
fn orchestrate(args: &Args) -> i32 {
    let scenarios = if args.only.is_empty() {
        Scenario::ALL.to_vec()
    } else {
        args.only.clone()
    };
    let runs = scenarios.len() * args.flavors.len();
    println!(
        "soak: {runs} runs of {:.0} s each ({} in all, plus closing){}",
        args.seconds,
        human(Duration::from_secs_f64(args.seconds * runs as f64)),
        if args.leak > 0 {
            format!("; leaking {} bytes per iteration on purpose", args.leak)
        } else {
            String::new()
        }
    );
    let started = Instant::now();
    let mut failures = Vec::new();
    for &scenario in &scenarios {
        for &flavor in &args.flavors {
            if let Err(problems) = child(scenario, flavor, args) {
                failures.push(format!("{}/{}: {problems}", scenario.name(), flavor.name()));
            }
        }
    }
    if failures.is_empty() {
        println!(
            "soak: all {runs} runs passed in {}",
            human(started.elapsed())
        );
        0
    } else {
        eprintln!("soak: {} of {runs} runs FAILED:", failures.len());
        for failure in &failures {
            eprintln!("  {failure}");
        }
        1
    }
}

/// One run in a child process: its report lines pass through; the problems if it
/// failed, hung or crashed.
fn child(scenario: Scenario, flavor: Flavor, args: &Args) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let mut command = Command::new(exe);
    command
        .args(["--one", scenario.name(), "--runtime", flavor.name()])
        .args(["--seconds", &args.seconds.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if args.leak > 0 {
        command.args(["--leak-for-test", &args.leak.to_string()]);
    }
    let mut process = command
        .spawn()
        .map_err(|e| format!("could not start the run: {e}"))?;
    let stdout = process.stdout.take().expect("stdout is piped");
    let reader = std::thread::spawn(move || {
        let mut problems = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            println!("{line}");
            if let Some(problem) = line.trim_start().strip_prefix("FAIL: ") {
                problems.push(problem.to_owned());
            }
        }
        problems
    });
    let limit = Duration::from_secs_f64(args.seconds) + GRACE;
    let started = Instant::now();
    let status = loop {
        match process.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() > limit => {
                let _ = process.kill();
                let _ = process.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => return Err(format!("waiting for the run: {e}")),
        }
    };
    let problems = reader.join().unwrap_or_default();
    match status {
        None => Err(format!(
            "hung: no end after {} (its seconds plus {} s), killed",
            human(limit),
            GRACE.as_secs()
        )),
        Some(status) if status.success() => Ok(()),
        Some(_) if !problems.is_empty() => Err(problems.join("; ")),
        Some(status) => Err(format!("the run ended with {status} before its report")),
    }
}

/// A duration as minutes and seconds, or hours and minutes.
fn human(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if seconds >= 3600 {
        format!("{}h{:02}m", seconds / 3600, seconds % 3600 / 60)
    } else {
        format!("{}m{:02}s", seconds / 60, seconds % 60)
    }
}
