//! `compare`: purezmq side by side with libzmq (two builds), zmq.rs, omq, rzmq
//! and a raw-socket baseline, the Rust stacks each on a current-thread and on a
//! multi-thread tokio runtime, and its Majordomo broker beside Python's, in one
//! interleaved run, written up as BENCHMARKS.md and an SVG chart.
//!
//! The orchestrator ([`main`]) starts itself again as worker processes
//! (`compare --worker <role> ...`, see [`worker`]) so that each end of each run is a
//! process of its own whose CPU time and peak memory belong to one stack. It sizes
//! each case for each contender (a stack, on one runtime) with a short probe run,
//! then runs every case for every contender once per round, rotating their order
//! between rounds, and reports medians with their spread, purezmq's ratio to each
//! peer on the same runtime, and the targets met or not, per runtime.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub mod cases;
pub mod chart;
pub mod control;
pub mod idle_client;
pub mod machine;
pub mod majordomo;
pub mod mdbrokers;
pub mod measure;
pub mod process;
pub mod pyzmq;
pub mod report;
pub mod results;
pub mod run;
pub mod stacks;
pub mod worker;

use cases::{Case, Kind};
use results::{Metric, Outcome, Results, Sample};
use run::Runner;
use stacks::{Contender, Flavor, Stack};

const USAGE: &str = "\
usage: compare [--quick] [--repeats N] [--filter SUBSTRING]... [--stacks a,b,...]
               [--runtime current|multi] [--out PATH] [--list]

Runs purezmq, libzmq (the zmq crate's 4.3.4 and pyzmq's 4.3.5), zmq.rs, omq, rzmq and a
raw-socket baseline side by side, the Rust stacks each on a current-thread and on a
multi-thread tokio runtime, and writes BENCHMARKS.md plus an SVG chart.

  --quick           one short run per case and contender (a smoke test, under a minute)
  --repeats N       runs per case and contender (default 3)
  --filter TEXT     only cases whose name contains TEXT (repeatable; --list shows names);
                    a proxy case brings its direct pair along (`--filter proxy`), a
                    Majordomo case its plain queue (`--filter broker`)
  --stacks LIST     only these stacks: purezmq, libzmq, libzmq-pyzmq, zmq.rs, omq, rzmq, raw,
                    and the Python Majordomo brokers majortomo and zguide-py (the
                    latter runs the guide's mdbroker.py from $ZGUIDE_PYTHON, a zguide
                    checkout's examples/Python; skipped when that is not set)
  --out PATH        where the report goes (its chart goes beside it, as .svg); the default
                    is BENCHMARKS.md at the workspace root for a full run of everything,
                    target/compare/BENCHMARKS.md otherwise
  --runtime NAME    measure the Rust stacks (purezmq, zmq.rs, omq, rzmq, raw) on this
                    tokio runtime only: current (one thread per process) or multi (a
                    worker per CPU); by default on both, side by side
  --list            print the case names and exit

Exits with status 1 when purezmq could not run a case (other stacks' failures are
reported, not fatal).";

/// The command line.
struct Options {
    quick: bool,
    repeats: Option<usize>,
    filters: Vec<String>,
    stacks: Option<Vec<Stack>>,
    out: Option<PathBuf>,
    list: bool,
    runtimes: Vec<Flavor>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        quick: false,
        repeats: None,
        filters: Vec::new(),
        stacks: None,
        out: None,
        list: false,
        runtimes: Flavor::ALL.to_vec(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .cloned()
                .ok_or_else(|| format!("{arg} needs a value"))
        };
        match arg.as_str() {
            "--quick" => options.quick = true,
            "--list" => options.list = true,
            "--repeats" => {
                let n = value()?;
                let n: usize = n
                    .parse()
                    .map_err(|_| format!("--repeats {n}: not a number"))?;
                options.repeats = Some(n.max(1));
            }
            "--filter" => options.filters.push(value()?),
            "--stacks" => {
                let list = value()?;
                let stacks = list
                    .split(',')
                    .map(|name| Stack::parse(name.trim()).ok_or(format!("no stack {name}")))
                    .collect::<Result<Vec<_>, _>>()?;
                options.stacks = Some(stacks);
            }
            "--out" => options.out = Some(PathBuf::from(value()?)),
            "--runtime" => {
                let name = value()?;
                let runtime = Flavor::parse(&name)
                    .ok_or_else(|| format!("--runtime {name}: current or multi"))?;
                options.runtimes = vec![runtime];
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(options)
}

/// How the runs are sized.
struct Plan {
    quick: bool,
    repeats: usize,
    /// How long a sized run should take.
    run_time: Duration,
}

impl Plan {
    /// Messages for a first (probe or quick) run of `kind`.
    fn first_count(&self, kind: &Kind) -> Option<usize> {
        // At least twice SNDHWM (1000), so a run outlasts the send queue and
        // measures a steady flow rather than queueing.
        let (bytes, most) = match (*kind, self.quick) {
            (Kind::Throughput { size, .. }, false) => (16_000_000 / size, 50_000),
            (Kind::Throughput { size, .. }, true) => (4_000_000 / size, 10_000),
            (Kind::FanOut { size, .. }, false) => (8_000_000 / size, 20_000),
            (Kind::FanOut { size, .. }, true) => (2_000_000 / size, 5_000),
            (Kind::Proxied { size, .. }, false) => (16_000_000 / size, 50_000),
            (Kind::Proxied { size, .. }, true) => (2_000_000 / size, 5_000),
            _ => return None,
        };
        Some(bytes.clamp(2_000, most))
    }

    /// Messages for a run of about [`Plan::run_time`], from a probe's rate.
    fn sized_count(&self, kind: &Kind, probe: &Sample) -> Option<usize> {
        let first = self.first_count(kind)?;
        let rate = probe.get(Metric::MsgPerSec)?;
        let count = (rate * self.run_time.as_secs_f64()) as usize;
        Some(count.clamp(first, 30_000_000))
    }
}

/// What the primary figure of a sample says, for progress lines.
fn summary(kind: &Kind, sample: &Sample) -> String {
    let get = |m| sample.get(m).unwrap_or(0.0);
    match kind {
        Kind::Throughput { .. } | Kind::FanOut { .. } | Kind::Proxied { .. } => format!(
            "{:>10.0} msg/s {:>9.1} MB/s  cpu {:.2} s/M",
            get(Metric::MsgPerSec),
            get(Metric::MegabytesPerSec),
            get(Metric::CpuPerMillion)
        ),
        Kind::Latency { .. } => format!(
            "p50 {:.1} µs  p99 {:.1} µs",
            get(Metric::P50Us),
            get(Metric::P99Us)
        ),
        Kind::Brokered { .. } => format!(
            "{:>10.0} req/s  p50 {:.1} µs  p99 {:.1} µs  broker cpu {:.2} s/M",
            get(Metric::RequestsPerSec),
            get(Metric::P50Us),
            get(Metric::P99Us),
            get(Metric::BrokerCpuPerMillion)
        ),
        Kind::IdleMemory { .. } | Kind::Connections { .. } => format!(
            "{:.0} peers  {:.0} bytes/peer",
            get(Metric::Peers),
            get(Metric::BytesPerPeer)
        ),
    }
}

/// The workspace root (this crate's parent directory).
fn workspace() -> PathBuf {
    let benches = Path::new(env!("CARGO_MANIFEST_DIR"));
    benches.parent().unwrap_or(benches).to_path_buf()
}

/// The target directory this binary was built into (`target/release/compare`).
fn target_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.to_path_buf()))
        .unwrap_or_else(|| workspace().join("target"))
}

/// The stacks' names and versions for the report; `majortomo` and `zguide` say
/// whether the Python brokers can run.
fn versions(
    pyzmq: &Result<PathBuf, String>,
    majortomo: &Result<String, String>,
    zguide: &Result<PathBuf, String>,
    workspace: &Path,
) -> Vec<(Stack, String)> {
    let commit = machine::commit(workspace).map_or(String::new(), |c| format!(" at {c}"));
    let pyzmq_version = match pyzmq {
        Ok(path) => match stacks::libzmq::dynamic::functions() {
            Ok(functions) => format!(
                "libzmq {} from pyzmq {} (`{}`), with libsodium (CURVE), loaded at run time",
                functions.version(),
                pyzmq::pyzmq_version(path).unwrap_or_else(|| "?".to_owned()),
                path.strip_prefix(workspace).unwrap_or(path).display()
            ),
            Err(e) => format!("could not load {}: {e}", path.display()),
        },
        Err(e) => format!("not available: {e}"),
    };
    vec![
        (
            Stack::Purezmq,
            format!("purezmq {}{commit}", env!("CARGO_PKG_VERSION")),
        ),
        (
            Stack::Libzmq,
            format!(
                "libzmq {} built from source by the `zmq` crate {} (no libsodium, so no CURVE)",
                stacks::libzmq::vendored::version(),
                env!("COMPARE_ZMQ_CRATE_VERSION")
            ),
        ),
        (Stack::LibzmqPyzmq, pyzmq_version),
        (
            Stack::ZmqRs,
            format!("the `zeromq` crate {}", env!("COMPARE_ZEROMQ_VERSION")),
        ),
        (
            Stack::Omq,
            format!(
                "the `omq-tokio` crate {} (default features)",
                env!("COMPARE_OMQ_VERSION")
            ),
        ),
        (
            Stack::Rzmq,
            format!(
                "the `rzmq` crate {} (features `ipc` and `inproc`; its plain tokio path, \
                 without io_uring)",
                env!("COMPARE_RZMQ_VERSION")
            ),
        ),
        (
            Stack::Raw,
            format!(
                "ZMTP frames over plain tokio {} TCP / Unix sockets, no handshake",
                env!("COMPARE_TOKIO_VERSION")
            ),
        ),
        (
            Stack::Majortomo,
            match majortomo {
                Ok(version) => format!(
                    "majortomo {version} (PyPI), an MDP/0.2 broker in Python over pyzmq, in \
                     pyzmq's virtual environment"
                ),
                Err(e) => format!("not available: {e}"),
            },
        ),
        (
            Stack::ZguidePy,
            match zguide {
                Ok(dir) => format!(
                    "the guide's Python mdbroker.py (MDP/0.1) from `{}`, over pyzmq",
                    dir.display()
                ),
                Err(e) => format!("not available: {e}"),
            },
        ),
    ]
}

/// Runs `case` once with `contender` and records the outcome, printing a progress
/// line.
fn run_once(
    runner: &mut Runner,
    case: &Case,
    contender: Contender,
    count: usize,
    outcome: &mut Outcome,
    round: &str,
) -> Option<Sample> {
    let result = runner.run(&case.kind, contender, count);
    let name = contender.to_string();
    match &result {
        Ok(sample) => eprintln!(
            "{round} {:<28} {name:<20} {}",
            case.name,
            summary(&case.kind, sample)
        ),
        Err(reason) => eprintln!("{round} {:<28} {name:<20} failed: {reason}", case.name),
    }
    match result {
        Ok(sample) => Some(sample),
        Err(reason) => {
            outcome.failures.push(reason);
            None
        }
    }
}

/// The orchestrator, or a worker when started with `--worker`.
pub fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--worker") {
        worker::main(&args[1..]);
    }
    let options = parse(&args).unwrap_or_else(|e| {
        eprintln!("compare: {e}\n\n{USAGE}");
        std::process::exit(2);
    });
    let plan = Plan {
        quick: options.quick,
        repeats: options.repeats.unwrap_or(if options.quick { 1 } else { 3 }),
        // With every Rust stack on two runtimes, 3 runs of 0.5 s (after the probe)
        // keep a full run to about 35 minutes on 2 cores.
        run_time: Duration::from_millis(500),
    };
    let (idle_peers, many_peers) = if plan.quick {
        (100, 1_000)
    } else {
        (1_000, cases::MANY_CONNECTIONS)
    };
    let mut cases = cases::all(idle_peers, many_peers);
    if !options.filters.is_empty() {
        let chosen = |case: &Case| {
            options
                .filters
                .iter()
                .any(|f| case.name.contains(f.as_str()))
        };
        // A proxy case is reported against the same pair without the proxy, and a
        // Majordomo case against the plain queue, in the same run: keep those too.
        let direct: Vec<Kind> = cases
            .iter()
            .filter(|case| chosen(case))
            .filter_map(|case| case.kind.direct())
            .collect();
        for case in cases
            .iter()
            .filter(|c| !chosen(c) && direct.contains(&c.kind))
        {
            eprintln!(
                "compare: also running {}, which a chosen case is compared with",
                case.name
            );
        }
        cases.retain(|case| chosen(case) || direct.contains(&case.kind));
    }
    if let Some(only) = &options.stacks {
        for case in &mut cases {
            case.stacks.retain(|stack| only.contains(stack));
        }
        cases.retain(|case| !case.stacks.is_empty());
    }
    if options.list {
        for case in &cases {
            let stacks: Vec<&str> = case.stacks.iter().map(|s| s.key()).collect();
            println!("{:<30} {}", case.name, stacks.join(" "));
        }
        return;
    }
    if cases.is_empty() {
        eprintln!("compare: no case matches the filters (see --list)");
        std::process::exit(2);
    }
    let started = Instant::now();
    let machine = machine::Machine::describe();
    let workspace = workspace();
    let target = target_dir();

    // Where pyzmq's libzmq is: the workers learn it from their environment.
    let wants_pyzmq = cases.iter().any(|c| {
        c.stacks
            .iter()
            .any(|s| matches!(s, Stack::LibzmqPyzmq | Stack::Majortomo | Stack::ZguidePy))
    });
    let pyzmq = if wants_pyzmq {
        pyzmq::find(&target, !plan.quick)
    } else {
        Err("not selected".to_owned())
    };
    let mut env = Vec::new();
    if let Ok(path) = &pyzmq {
        let key = stacks::libzmq::dynamic::LIBRARY_VARIABLE;
        // SAFETY (of set_var): the orchestrator is single-threaded here; no other
        // thread reads the environment yet.
        unsafe { std::env::set_var(key, path) };
        env.push((key.to_owned(), path.display().to_string()));
    }
    let wants = |stack| cases.iter().any(|c| c.stacks.contains(&stack));
    let majortomo = match &pyzmq {
        _ if !wants(Stack::Majortomo) => Err("not selected".to_owned()),
        Ok(_) => mdbrokers::majortomo(!plan.quick),
        Err(e) => Err(format!("no pyzmq to run it with: {e}")),
    };
    let zguide = match &pyzmq {
        _ if !wants(Stack::ZguidePy) => Err("not selected".to_owned()),
        Ok(_) => mdbrokers::zguide(),
        Err(e) => Err(format!("no pyzmq to run it with: {e}")),
    };
    let versions = versions(&pyzmq, &majortomo, &zguide, &workspace);

    let ipc_dir = std::env::temp_dir().join(format!("purezmq-compare-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&ipc_dir) {
        eprintln!("compare: could not create {}: {e}", ipc_dir.display());
        std::process::exit(1);
    }
    let timeout = Duration::from_secs(if plan.quick { 15 } else { 60 });
    let latency = Duration::from_millis(if plan.quick { 100 } else { 500 });
    let warmup = if plan.quick { 20 } else { 200 };
    let mut runner = Runner::new(env, ipc_dir.clone(), timeout, latency, warmup);

    let mut results = Results::default();
    for case in &cases {
        let mut outcomes = BTreeMap::new();
        let contenders = case
            .stacks
            .iter()
            .flat_map(|&stack| Contender::all_of(stack, &options.runtimes));
        for contender in contenders {
            let stack = contender.stack;
            let mut outcome = Outcome::default();
            let available = match stack {
                Stack::LibzmqPyzmq => pyzmq.as_ref().map(|_| ()),
                Stack::Majortomo => majortomo.as_ref().map(|_| ()),
                Stack::ZguidePy => zguide.as_ref().map(|_| ()),
                _ => Ok(()),
            };
            if let Err(e) = available {
                outcome.skipped = Some(e.clone());
            }
            outcomes.insert(contender, outcome);
        }
        results.cases.push((case.clone(), outcomes));
    }
    let runtimes: Vec<&str> = options.runtimes.iter().map(|r| r.name()).collect();
    eprintln!(
        "compare: {} cases, {} round(s){}, the Rust stacks on the {} tokio runtime{}",
        cases.len(),
        plan.repeats,
        if plan.quick { ", quick" } else { "" },
        runtimes.join(" and the "),
        if runtimes.len() > 1 { "s" } else { "" }
    );

    // Size each case for each contender with a probe run (which also warms it up).
    let mut counts: BTreeMap<(usize, Contender), usize> = BTreeMap::new();
    for (i, (case, outcomes)) in results.cases.iter_mut().enumerate() {
        let Some(first) = plan.first_count(&case.kind) else {
            continue;
        };
        for (&contender, outcome) in outcomes.iter_mut() {
            counts.insert((i, contender), first);
            if plan.quick || outcome.skipped.is_some() {
                continue;
            }
            match run_once(&mut runner, case, contender, first, outcome, "[sizing]") {
                Some(probe) => {
                    let sized = plan.sized_count(&case.kind, &probe).unwrap_or(first);
                    counts.insert((i, contender), sized);
                }
                None => outcome.skipped = outcome.failures.pop(),
            }
        }
    }

    for round in 0..plan.repeats {
        let label = format!("[{}/{}]", round + 1, plan.repeats);
        for (i, (case, outcomes)) in results.cases.iter_mut().enumerate() {
            // Ten thousand connections is a check, not a measurement: once.
            if round > 0 && matches!(case.kind, Kind::Connections { .. }) {
                continue;
            }
            let mut order: Vec<Contender> = outcomes.keys().copied().collect();
            let len = order.len();
            order.rotate_left(round % len.max(1));
            for contender in order {
                let outcome = outcomes
                    .get_mut(&contender)
                    .expect("every contender has an outcome");
                let hopeless = outcome.samples.is_empty() && outcome.failures.len() >= 2;
                if outcome.skipped.is_some() || hopeless {
                    continue;
                }
                let count = counts.get(&(i, contender)).copied().unwrap_or(0);
                let sample = run_once(&mut runner, case, contender, count, outcome, &label);
                if let Some(sample) = sample {
                    outcome.samples.push(sample);
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&ipc_dir);

    // Where the report and chart go.
    let everything = options.filters.is_empty() && options.stacks.is_none() && !plan.quick;
    let out = options.out.clone().unwrap_or_else(|| {
        if everything {
            workspace.join("BENCHMARKS.md")
        } else {
            target.join("compare").join("BENCHMARKS.md")
        }
    });
    let chart_path = if options.out.is_none() && everything {
        workspace.join("benches").join("compare.svg")
    } else {
        out.with_extension("svg")
    };
    if let Some(parent) = out.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    let chart = match chart::draw(&results, &chart_path) {
        Ok(true) => {
            let base = out.parent().unwrap_or(Path::new(""));
            let relative = chart_path.strip_prefix(base).unwrap_or(&chart_path);
            Some(relative.display().to_string())
        }
        Ok(false) => None,
        Err(e) => {
            eprintln!("compare: {e}");
            None
        }
    };
    let command = if args.is_empty() {
        "cargo run --release -p purezmq-benches --bin compare".to_owned()
    } else {
        format!(
            "cargo run --release -p purezmq-benches --bin compare -- {}",
            args.join(" ")
        )
    };
    let meta = report::Meta {
        machine,
        versions,
        rustc: env!("COMPARE_RUSTC_VERSION").to_owned(),
        command,
        repeats: plan.repeats,
        run_time: plan.run_time,
        quick: plan.quick,
        runtimes: options.runtimes.clone(),
        elapsed: started.elapsed(),
        chart,
    };
    let text = report::render(&results, &meta);
    println!("{text}");
    match std::fs::write(&out, &text) {
        Ok(()) => eprintln!("compare: wrote {}", out.display()),
        Err(e) => {
            eprintln!("compare: could not write {}: {e}", out.display());
            std::process::exit(1);
        }
    }
    if meta.chart.is_some() {
        eprintln!("compare: wrote {}", chart_path.display());
    }
    // A smoke test should fail when purezmq itself could not run a case.
    let broken: Vec<&str> = results
        .cases
        .iter()
        .filter(|(_, outcomes)| {
            outcomes.iter().any(|(contender, outcome)| {
                contender.stack == Stack::Purezmq && outcome.could_not_run().is_some()
            })
        })
        .map(|(case, _)| case.name.as_str())
        .collect();
    if !broken.is_empty() {
        eprintln!("compare: purezmq could not run {}", broken.join(", "));
        std::process::exit(1);
    }
}
