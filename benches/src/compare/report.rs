//! BENCHMARKS.md: the machine, the stacks, one table per group of cases (a row per
//! contender: a stack, and a Rust stack's runtime), purezmq's ratio to each peer on
//! the same runtime, and the targets marked met or not on each runtime.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use super::cases::size_name;
use super::cases::{
    BROKER_BODY, BROKER_SHAPES, CURVE_SIZES, FAN_OUT_SIZES, Kind, LATENCY_SIZE, MANY_CONNECTIONS,
    PROXY_SIZES, SIZES,
};
use super::machine::Machine;
use super::mdbrokers::{MAJORTOMO_VERSION, ZGUIDE_VARIABLE};
use super::results::{Metric, Outcome, Results, View};
use super::stacks::{Broker, Contender, Device, Flavor, Pattern, Stack, Transport};

/// What the report says besides the figures.
pub struct Meta {
    /// The machine.
    pub machine: Machine,
    /// Each stack's name and version as the report states it.
    pub versions: Vec<(Stack, String)>,
    /// The compiler.
    pub rustc: String,
    /// The command that produced the report.
    pub command: String,
    /// Runs per case.
    pub repeats: usize,
    /// How long a sized run takes.
    pub run_time: Duration,
    /// `--quick`: small counts, one run.
    pub quick: bool,
    /// The tokio runtimes the Rust stacks ran on.
    pub runtimes: Vec<Flavor>,
    /// How long the whole comparison took.
    pub elapsed: Duration,
    /// The chart's file name, next to the report.
    pub chart: Option<String>,
}

/// A table cell's content.
#[derive(Clone, Copy)]
enum Cell {
    /// The median of a metric.
    Median(Metric),
    /// The smallest to largest of a metric.
    Spread(Metric),
    /// purezmq's median over this stack's.
    Ratio(Metric),
    /// This stack's median over its own in the direct case ([`Kind::direct`]).
    OverDirect(Metric),
    /// This stack's median over purezmq's through the plain queue with as many
    /// workers and clients ([`queue_of`]).
    OverQueue(Metric),
}

/// The plain-queue case a broker case is measured against: the queue with as many
/// workers and clients (a queue case's own kind).
fn queue_of(kind: &Kind) -> Option<Kind> {
    match *kind {
        Kind::Brokered {
            workers, clients, ..
        } => Some(Kind::Brokered {
            broker: Broker::Queue,
            workers,
            clients,
        }),
        _ => None,
    }
}

/// A group of cases sharing a table.
struct Group {
    title: &'static str,
    about: &'static str,
    select: fn(&Kind) -> bool,
    label: fn(&Kind) -> String,
    columns: &'static [(&'static str, Cell)],
}

const THROUGHPUT_COLUMNS: &[(&str, Cell)] = &[
    ("msg/s", Cell::Median(Metric::MsgPerSec)),
    ("min–max", Cell::Spread(Metric::MsgPerSec)),
    ("MB/s", Cell::Median(Metric::MegabytesPerSec)),
    ("CPU s / M msgs", Cell::Median(Metric::CpuPerMillion)),
    ("peak RSS MiB", Cell::Median(Metric::PeakRssMib)),
    ("purezmq ÷ this", Cell::Ratio(Metric::MsgPerSec)),
];

fn throughput_label(kind: &Kind) -> String {
    match kind {
        Kind::Throughput { size, .. } => size_name(*size),
        _ => String::new(),
    }
}

const GROUPS: &[Group] = &[
    Group {
        title: "PUSH/PULL throughput over tcp",
        about: "One PUSH process connects to one PULL process over loopback TCP. Throughput is \
                timed by the PULL from its first message to its last. CPU is user + system \
                time of both processes per million messages; peak RSS is the sum of both \
                processes' VmHWM. `raw` is the baseline: the same ZMTP frames over plain tokio \
                TCP sockets, with no ZeroMQ semantics.",
        select: |k| {
            matches!(
                k,
                Kind::Throughput {
                    transport: Transport::Tcp,
                    curve: false,
                    ..
                }
            )
        },
        label: throughput_label,
        columns: THROUGHPUT_COLUMNS,
    },
    Group {
        title: "PUSH/PULL throughput over ipc",
        about: "As over tcp, through a Unix domain socket; `raw` uses a plain Unix socket.",
        select: |k| {
            matches!(
                k,
                Kind::Throughput {
                    transport: Transport::Ipc,
                    ..
                }
            )
        },
        label: throughput_label,
        columns: THROUGHPUT_COLUMNS,
    },
    Group {
        title: "PUSH/PULL throughput over inproc",
        about: "PUSH and PULL in one process: a sending task (a thread for libzmq) and the \
                receiving one.",
        select: |k| {
            matches!(
                k,
                Kind::Throughput {
                    transport: Transport::Inproc,
                    ..
                }
            )
        },
        label: throughput_label,
        columns: THROUGHPUT_COLUMNS,
    },
    Group {
        title: "PUB fan-out over tcp",
        about: "One PUB process, N SUB processes subscribed to everything; the PUB has \
                XPUB_NODROP so every SUB receives every message (a stack that drops is \
                reported as such). msg/s is messages published per second while every SUB \
                keeps up, from the first SUB's first message to the last SUB's last; \
                deliveries/s is that times N. CPU is all N + 1 processes per million \
                deliveries; peak RSS their sum.",
        select: |k| matches!(k, Kind::FanOut { .. }),
        label: |k| match k {
            Kind::FanOut { subscribers, size } => {
                format!("{subscribers} SUB × {}", size_name(*size))
            }
            _ => String::new(),
        },
        columns: &[
            ("msg/s", Cell::Median(Metric::MsgPerSec)),
            ("min–max", Cell::Spread(Metric::MsgPerSec)),
            ("MB/s per SUB", Cell::Median(Metric::MegabytesPerSec)),
            ("deliveries/s", Cell::Median(Metric::DeliveriesPerSec)),
            ("CPU s / M deliveries", Cell::Median(Metric::CpuPerMillion)),
            ("peak RSS MiB", Cell::Median(Metric::PeakRssMib)),
            ("purezmq ÷ this", Cell::Ratio(Metric::MsgPerSec)),
        ],
    },
    Group {
        title: "Through a proxy over tcp",
        about: "Three processes over loopback TCP: a sender, a proxy and a receiver. \
                push-pull: PUSH → proxy (PULL frontend, PUSH backend) → PULL; pub-sub: \
                PUB → proxy (XSUB frontend, XPUB backend with XPUB_NODROP) → one SUB \
                subscribed to everything, every message delivered. Each stack runs end to \
                end: its own sender and receiver (the roles of the direct cases) around its \
                own library's proxy: purezmq's `purezmq_broker::proxy::Proxy`; libzmq \
                4.3.4's `zmq_proxy` through the `zmq` crate; for libzmq-pyzmq, pyzmq's \
                `zmq.proxy` in a Python process (libzmq 4.3.5's C loop), between ends that \
                call the same libzmq 4.3.5 from Rust; omq's `omq_tokio::Proxy`. zmq.rs has \
                no proxy for these pairs. Throughput is timed by the receiver as in the \
                direct cases; CPU and peak RSS are all three processes'. `÷ direct` is the \
                stack's msg/s here over its own in the same run without the proxy \
                (push-pull/tcp at the size, or pub-sub/tcp/1-sub). When both runs keep \
                every core busy (fewer cores than processes), that share is at most about \
                the direct pair's CPU per message over the proxied run's.",
        select: |k| matches!(k, Kind::Proxied { .. }),
        label: |k| match k {
            Kind::Proxied { device, size } => format!("{} {}", device.key(), size_name(*size)),
            _ => String::new(),
        },
        columns: &[
            ("msg/s", Cell::Median(Metric::MsgPerSec)),
            ("min–max", Cell::Spread(Metric::MsgPerSec)),
            ("MB/s", Cell::Median(Metric::MegabytesPerSec)),
            ("CPU s / M msgs", Cell::Median(Metric::CpuPerMillion)),
            ("peak RSS MiB", Cell::Median(Metric::PeakRssMib)),
            ("÷ direct", Cell::OverDirect(Metric::MsgPerSec)),
            ("purezmq ÷ this", Cell::Ratio(Metric::MsgPerSec)),
        ],
    },
    Group {
        title: "Through a Majordomo broker",
        about: "Three processes over loopback TCP: C clients, a broker and W echo workers \
                (each side's sockets share one process and its tokio current-thread \
                runtime, whatever the broker's runtime). The clients and workers are the same purezmq DEALERs for every \
                broker, speaking MDP through `purezmq_broker::mdp`, so only the broker \
                differs. Each client keeps one 32-byte request in flight (a synchronous \
                request/reply loop) to the service `echo`, for a fixed time after a warm-up; \
                req/s is the requests all clients completed over that time, p50 and p99 \
                their round trips. `mdp` rows: purezmq's Majordomo broker \
                (`purezmq_broker::broker`, run with MDP/0.1), majortomo (its MDP/0.2, below) \
                and the guide's Python mdbroker.py (MDP/0.1). \
                `queue` rows: the limit for any broker, a plain ROUTER (clients) → DEALER \
                (workers) proxy, no protocol, round robin instead of least recently used: \
                purezmq's `purezmq_broker::proxy::Proxy` and libzmq 4.3.4's `zmq_proxy`; \
                clients send [empty, body] as a REQ would and workers echo [client, empty, \
                body] as a REP would. A queue hands a worker as many requests as arrive, \
                which it echoes in batches; a Majordomo broker gives each worker one \
                request at a time, so with fewer workers than clients every request costs \
                a broker → worker → broker trip of its own. `lb-queue` rows show that \
                limit without MDP: the guide's load-balancing broker (a ROUTER frontend, a \
                ROUTER backend, one request per worker, least recently used first), \
                written in the benches crate over purezmq sockets in batches as purezmq's \
                broker works. Broker CPU is the broker process's alone (a Python \
                broker's child included) per million requests; CPU (all) and peak RSS add \
                the clients and workers. `÷ purezmq queue` is this row's req/s over \
                purezmq's queue's with as many workers and clients on the same runtime (for \
                a broker with threads of its own, purezmq's queue on the first runtime), in \
                the same run; `purezmq ÷ this` is purezmq's req/s over this row's in the \
                same case. \
                majortomo 0.2.0 departs from RFC 18 on the client side: it takes a \
                REQUEST as 0x02 (RFC 18: 0x01) and replies with 0x04 (RFC 18's FINAL is \
                0x03) and no service frame; the clients speak that to it.",
        select: |k| matches!(k, Kind::Brokered { .. }),
        label: |k| match k {
            Kind::Brokered {
                broker,
                workers,
                clients,
            } => format!("{} {workers}w-{clients}c", broker.key()),
            _ => String::new(),
        },
        columns: &[
            ("req/s", Cell::Median(Metric::RequestsPerSec)),
            ("min–max", Cell::Spread(Metric::RequestsPerSec)),
            ("p50 µs", Cell::Median(Metric::P50Us)),
            ("p99 µs", Cell::Median(Metric::P99Us)),
            (
                "broker CPU s / M req",
                Cell::Median(Metric::BrokerCpuPerMillion),
            ),
            ("CPU (all) s / M req", Cell::Median(Metric::CpuPerMillion)),
            ("peak RSS MiB", Cell::Median(Metric::PeakRssMib)),
            ("÷ purezmq queue", Cell::OverQueue(Metric::RequestsPerSec)),
            ("purezmq ÷ this", Cell::Ratio(Metric::RequestsPerSec)),
        ],
    },
    Group {
        title: "Round-trip latency",
        about: "A REQ (or DEALER) process sends a 32-byte request and waits for the REP (or \
                ROUTER) process to echo it, one at a time, for a fixed time after a warm-up. \
                Times are whole round trips in µs; for latency a ratio below 1 means purezmq \
                is faster. CPU is both processes per million messages (requests plus replies).",
        select: |k| matches!(k, Kind::Latency { .. }),
        label: |k| match k {
            Kind::Latency { pattern, transport } => {
                let pattern = match pattern {
                    Pattern::ReqRep => "REQ/REP",
                    Pattern::DealerRouter => "DEALER/ROUTER",
                };
                format!("{pattern} {}", transport.key())
            }
            _ => String::new(),
        },
        columns: &[
            ("p50 µs", Cell::Median(Metric::P50Us)),
            ("p50 min–max", Cell::Spread(Metric::P50Us)),
            ("p99 µs", Cell::Median(Metric::P99Us)),
            ("CPU s / M msgs", Cell::Median(Metric::CpuPerMillion)),
            ("peak RSS MiB", Cell::Median(Metric::PeakRssMib)),
            ("purezmq ÷ this (p50)", Cell::Ratio(Metric::P50Us)),
        ],
    },
    Group {
        title: "CURVE PUSH/PULL throughput over tcp",
        about: "As PUSH/PULL over tcp, with the PULL a CURVE server and the PUSH a CURVE \
                client (every message encrypted and authenticated).",
        select: |k| matches!(k, Kind::Throughput { curve: true, .. }),
        label: throughput_label,
        columns: THROUGHPUT_COLUMNS,
    },
    Group {
        title: "Memory per idle tcp connection",
        about: "A ROUTER process of each stack accepts N peers from one shared client process \
                (plain tokio sockets doing the ZMTP 3.0 NULL handshake as DEALERs, one hello \
                message each). Bytes per peer is the ROUTER's (VmRSS with all peers connected \
                − VmRSS before any) ÷ N; lower is better.",
        select: |k| matches!(k, Kind::IdleMemory { .. }),
        label: |k| match k {
            Kind::IdleMemory { peers } => format!("{peers} peers"),
            _ => String::new(),
        },
        columns: &[
            ("bytes / peer", Cell::Median(Metric::BytesPerPeer)),
            ("min–max", Cell::Spread(Metric::BytesPerPeer)),
            ("peers answered", Cell::Median(Metric::Peers)),
            ("ROUTER peak RSS MiB", Cell::Median(Metric::PeakRssMib)),
            ("purezmq ÷ this", Cell::Ratio(Metric::BytesPerPeer)),
        ],
    },
    Group {
        title: "Concurrent tcp connections to one ROUTER",
        about: "The same client opens N connections at once (64 handshakes in flight) to one \
                ROUTER, each sends a hello and must get an answer back; both processes raise \
                RLIMIT_NOFILE to their hard limit. Peers answered is how many made it.",
        select: |k| matches!(k, Kind::Connections { .. }),
        label: |k| match k {
            Kind::Connections { peers } => format!("{peers} peers"),
            _ => String::new(),
        },
        columns: &[
            ("peers answered", Cell::Median(Metric::Peers)),
            ("bytes / peer", Cell::Median(Metric::BytesPerPeer)),
            ("ROUTER peak RSS MiB", Cell::Median(Metric::PeakRssMib)),
        ],
    },
];

/// `1.23 M`, `456 k`, `789`.
fn count(value: f64) -> String {
    if value >= 1e6 {
        format!("{:.2} M", value / 1e6)
    } else if value >= 1e4 {
        format!("{:.0} k", value / 1e3)
    } else if value >= 1e3 {
        format!("{:.1} k", value / 1e3)
    } else {
        format!("{value:.0}")
    }
}

/// A metric's value as the tables show it.
fn format(metric: Metric, value: f64) -> String {
    match metric {
        Metric::MsgPerSec | Metric::DeliveriesPerSec | Metric::RequestsPerSec => count(value),
        Metric::MegabytesPerSec if value >= 100.0 => format!("{value:.0}"),
        Metric::MegabytesPerSec => format!("{value:.1}"),
        Metric::P50Us | Metric::P99Us => format!("{value:.1}"),
        Metric::CpuPerMillion | Metric::BrokerCpuPerMillion => format!("{value:.2}"),
        Metric::PeakRssMib => format!("{value:.1}"),
        Metric::BytesPerPeer | Metric::Peers | Metric::Count => format!("{value:.0}"),
    }
}

/// The unit a metric is shown in.
fn unit(metric: Metric) -> &'static str {
    match metric {
        Metric::MsgPerSec | Metric::DeliveriesPerSec => "msg/s",
        Metric::RequestsPerSec => "req/s",
        Metric::MegabytesPerSec => "MB/s",
        Metric::P50Us | Metric::P99Us => "µs",
        Metric::CpuPerMillion | Metric::BrokerCpuPerMillion => "s",
        Metric::PeakRssMib => "MiB",
        Metric::BytesPerPeer => "bytes",
        Metric::Peers => "peers",
        Metric::Count => "",
    }
}

/// A cell of `outcome`'s row; `direct` is the same stack in the direct case, `queue`
/// purezmq in the plain-queue case.
fn cell(
    cell: Cell,
    outcome: &Outcome,
    purezmq: Option<&Outcome>,
    direct: Option<&Outcome>,
    queue: Option<&Outcome>,
) -> String {
    match cell {
        Cell::Median(metric) => outcome
            .median(metric)
            .map_or("—".to_owned(), |v| format(metric, v)),
        Cell::Spread(metric) => match outcome.spread(metric) {
            Some((low, high)) if outcome.samples.len() > 1 => {
                format!("{}–{}", format(metric, low), format(metric, high))
            }
            _ => "—".to_owned(),
        },
        Cell::Ratio(metric) => {
            let ours = purezmq.and_then(|p| p.median(metric));
            match (ours, outcome.median(metric)) {
                (Some(ours), Some(theirs)) if theirs > 0.0 => format!("{:.2}×", ours / theirs),
                _ => "—".to_owned(),
            }
        }
        Cell::OverDirect(metric) | Cell::OverQueue(metric) => {
            let reference = if matches!(cell, Cell::OverQueue(_)) {
                queue
            } else {
                direct
            };
            let without = reference.and_then(|d| d.median(metric));
            match (outcome.median(metric), without) {
                (Some(here), Some(without)) if without > 0.0 => {
                    format!("{:.0}%", 100.0 * here / without)
                }
                _ => "—".to_owned(),
            }
        }
    }
}

/// Escapes a reason for a table cell.
fn escape(text: &str) -> String {
    text.replace('|', "/").replace('\n', " ")
}

fn group_table(out: &mut String, group: &Group, results: &Results, runtimes: &[Flavor]) {
    let cases: Vec<_> = results
        .cases
        .iter()
        .filter(|(case, _)| (group.select)(&case.kind))
        .collect();
    if cases.is_empty() {
        return;
    }
    let _ = writeln!(out, "### {}\n\n{}\n", group.title, group.about);
    // A ratio to purezmq takes one column per runtime purezmq ran on.
    let mut headers: Vec<String> = Vec::new();
    for (header, cell) in group.columns {
        match cell {
            Cell::Ratio(_) if runtimes.len() > 1 => {
                for runtime in runtimes {
                    let named = format!("purezmq {}", runtime.name());
                    headers.push(header.replacen("purezmq", &named, 1));
                }
            }
            _ => headers.push((*header).to_owned()),
        }
    }
    let _ = writeln!(out, "| case | stack | runtime | {} |", headers.join(" | "));
    let _ = writeln!(out, "|---|---|---|{}", "---:|".repeat(headers.len()));
    let mut notes = Vec::new();
    for (case, outcomes) in cases {
        let purezmq_on = |runtime: Flavor| {
            outcomes.get(&Contender {
                stack: Stack::Purezmq,
                runtime: Some(runtime),
            })
        };
        let direct = case.kind.direct().and_then(|kind| results.of(&kind));
        let queue_on = |runtime: Flavor| {
            queue_of(&case.kind)
                .and_then(|kind| results.of(&kind))
                .and_then(|outcomes| {
                    outcomes.get(&Contender {
                        stack: Stack::Purezmq,
                        runtime: Some(runtime),
                    })
                })
        };
        for (contender, outcome) in outcomes {
            let label = (group.label)(&case.kind);
            let stack = contender.stack;
            let runtime = contender.runtime_name();
            match outcome.could_not_run() {
                Some(reason) => {
                    let blanks = " |".repeat(headers.len() - 1);
                    let _ = writeln!(
                        out,
                        "| {label} | {stack} | {runtime} | could not run: {}{blanks}",
                        escape(&reason)
                    );
                }
                None => {
                    let direct = direct.and_then(|d| d.get(contender));
                    // libzmq and the Python brokers beside purezmq's first runtime.
                    let own = contender.runtime.or(runtimes.first().copied());
                    let queue = own.and_then(queue_on);
                    let mut cells = Vec::new();
                    for (_, c) in group.columns {
                        match c {
                            Cell::Ratio(_) => {
                                for &on in runtimes {
                                    // A Rust peer is set against purezmq on its own
                                    // runtime only.
                                    if contender.runtime.is_none_or(|r| r == on) {
                                        cells.push(cell(
                                            *c,
                                            outcome,
                                            purezmq_on(on),
                                            direct,
                                            queue,
                                        ));
                                    } else {
                                        cells.push(String::new());
                                    }
                                }
                            }
                            _ => cells.push(cell(*c, outcome, None, direct, queue)),
                        }
                    }
                    let _ = writeln!(
                        out,
                        "| {label} | {stack} | {runtime} | {} |",
                        cells.join(" | ")
                    );
                    let failed = outcome.failures.len();
                    if failed > 0 {
                        notes.push(format!(
                            "{} {contender}: {failed} of {} runs failed, first: {}",
                            case.name,
                            failed + outcome.samples.len(),
                            outcome.failures[0]
                        ));
                    }
                    for note in outcome.samples.iter().filter_map(|s| s.note.as_ref()) {
                        notes.push(format!("{} {contender}: {note}", case.name));
                    }
                }
            }
        }
    }
    out.push('\n');
    for note in notes {
        let _ = writeln!(out, "- {}", escape(&note));
    }
    out.push('\n');
}

/// The primary metric of a kind of case.
fn primary(kind: &Kind) -> Metric {
    match kind {
        Kind::Throughput { .. } | Kind::FanOut { .. } | Kind::Proxied { .. } => Metric::MsgPerSec,
        Kind::Latency { .. } => Metric::P50Us,
        Kind::Brokered { .. } => Metric::RequestsPerSec,
        Kind::IdleMemory { .. } => Metric::BytesPerPeer,
        Kind::Connections { .. } => Metric::Peers,
    }
}

fn ratio_table(out: &mut String, results: &Results, runtimes: &[Flavor]) {
    let others: Vec<Stack> = Stack::ALL
        .into_iter()
        .filter(|s| *s != Stack::Purezmq)
        .collect();
    let _ = writeln!(
        out,
        "## purezmq ÷ each stack\n\npurezmq's median over the other stack's, on each case's main \
         figure: msg/s for throughput (above 1: purezmq is faster), p50 µs for latency and \
         bytes per peer for memory (below 1: purezmq is faster or smaller). A row per runtime \
         purezmq ran on: a Rust peer is set against purezmq on the same runtime (blank where \
         it did not run on that one); libzmq and the Python brokers, which run threads of \
         their own, against purezmq on each.\n"
    );
    let names: Vec<&str> = others.iter().map(|s| s.key()).collect();
    let _ = writeln!(out, "| case | figure | runtime | {} |", names.join(" | "));
    let _ = writeln!(out, "|---|---|---|{}", "---:|".repeat(names.len()));
    let views: Vec<View> = runtimes.iter().map(|&r| results.on(r)).collect();
    for (i, (case, _)) in results.cases.iter().enumerate() {
        if matches!(case.kind, Kind::Connections { .. }) {
            continue;
        }
        let metric = primary(&case.kind);
        for view in &views {
            let outcomes = &view.cases[i].1;
            let ours = outcomes.get(&Stack::Purezmq).and_then(|o| o.median(metric));
            let cells: Vec<String> = others
                .iter()
                .map(|stack| {
                    let theirs = outcomes.get(stack).and_then(|o| o.median(metric));
                    match (ours, theirs) {
                        (Some(ours), Some(theirs)) if theirs > 0.0 => {
                            format!("{:.2}", ours / theirs)
                        }
                        _ if outcomes.contains_key(stack) => "—".to_owned(),
                        _ => " ".to_owned(),
                    }
                })
                .collect();
            let figure = match metric {
                Metric::MsgPerSec => "msg/s",
                Metric::RequestsPerSec => "req/s",
                Metric::P50Us => "p50",
                Metric::BytesPerPeer => "bytes/peer",
                _ => "",
            };
            let _ = writeln!(
                out,
                "| {} | {figure} | {} | {} |",
                case.name,
                view.runtime.name(),
                cells.join(" | ")
            );
        }
    }
    out.push('\n');
}

/// Whether a target holds.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// It holds.
    Met,
    /// It does not.
    NotMet,
    /// The cases it needs did not run or gave no figure.
    NotChecked,
}

/// One target and the figures behind its verdict.
pub struct Target {
    /// What is required.
    pub rule: String,
    /// Whether it holds.
    pub verdict: Verdict,
    /// The figures.
    pub detail: String,
}

/// The best median of `metric` among `stacks` in `outcomes`, with its stack.
fn best(
    outcomes: &BTreeMap<Stack, Outcome>,
    metric: Metric,
    stacks: impl Fn(Stack) -> bool,
) -> Option<(Stack, f64)> {
    let higher = metric.higher_is_better();
    outcomes
        .iter()
        .filter(|(stack, _)| stacks(**stack))
        .filter_map(|(stack, outcome)| Some((*stack, outcome.median(metric)?)))
        .reduce(|a, b| {
            let b_better = if higher { b.1 > a.1 } else { b.1 < a.1 };
            if b_better { b } else { a }
        })
}

/// Checks purezmq against `rival` on `metric` in each of `kinds`: for each kind,
/// `purezmq ÷ rival` must be at least `factor` (higher is better) or at most it.
fn compare_each(
    results: &View,
    kinds: &[Kind],
    metric: Metric,
    factor: f64,
    rival: impl Fn(Stack) -> bool + Copy,
    label: impl Fn(&Kind) -> String,
) -> (Verdict, String) {
    let mut details = Vec::new();
    let (mut failed, mut missing) = (false, false);
    for kind in kinds {
        let Some(outcomes) = results.of(kind) else {
            missing = true;
            details.push(format!("{}: not run", label(kind)));
            continue;
        };
        let ours = outcomes.get(&Stack::Purezmq).and_then(|o| o.median(metric));
        let theirs = best(outcomes, metric, rival);
        match (ours, theirs) {
            (Some(ours), Some((stack, theirs))) if theirs > 0.0 => {
                let ratio = ours / theirs;
                let holds = if metric.higher_is_better() {
                    ratio >= factor
                } else {
                    ratio <= factor
                };
                failed |= !holds;
                details.push(format!(
                    "{}: {} vs {stack} {} {} ({ratio:.2}×)",
                    label(kind),
                    format(metric, ours),
                    format(metric, theirs),
                    unit(metric)
                ));
            }
            (None, _) if outcomes.contains_key(&Stack::Purezmq) => {
                failed = true;
                details.push(format!("{}: purezmq could not run", label(kind)));
            }
            (None, _) => {
                missing = true;
                details.push(format!("{}: purezmq not run", label(kind)));
            }
            _ => {
                missing = true;
                details.push(format!("{}: no figure to compare with", label(kind)));
            }
        }
    }
    let verdict = if failed {
        Verdict::NotMet
    } else if missing {
        Verdict::NotChecked
    } else {
        Verdict::Met
    };
    (verdict, details.join("; "))
}

fn tcp(size: usize) -> Kind {
    Kind::Throughput {
        transport: Transport::Tcp,
        size,
        curve: false,
    }
}

fn size_label(kind: &Kind) -> String {
    match kind {
        Kind::Throughput { size, .. } | Kind::FanOut { size, .. } => size_name(*size),
        Kind::Proxied { device, size } => format!("{} {}", device.key(), size_name(*size)),
        Kind::Latency { transport, .. } => transport.key().to_owned(),
        Kind::Brokered {
            workers, clients, ..
        } => format!("{workers}w-{clients}c"),
        _ => String::new(),
    }
}

/// Evaluates the targets against the results.
pub fn targets(results: &View) -> Vec<Target> {
    let mut targets = Vec::new();
    let mut add = |rule: &str, (verdict, detail): (Verdict, String)| {
        targets.push(Target {
            rule: rule.to_owned(),
            verdict,
            detail,
        })
    };
    let tcp_all: Vec<Kind> = SIZES.iter().map(|&s| tcp(s)).collect();
    add(
        "PUSH/PULL over tcp at every size ≥ 1.0× the fastest peer",
        compare_each(
            results,
            &tcp_all,
            Metric::MsgPerSec,
            1.0,
            Stack::is_peer,
            size_label,
        ),
    );
    let tcp_large: Vec<Kind> = SIZES
        .iter()
        .filter(|&&s| s >= 1024)
        .map(|&s| tcp(s))
        .collect();
    add(
        "PUSH/PULL over tcp ≥ 1.5× libzmq (the faster build) at 1 KiB and above",
        compare_each(
            results,
            &tcp_large,
            Metric::MsgPerSec,
            1.5,
            Stack::is_libzmq,
            size_label,
        ),
    );
    add(
        "PUSH/PULL over tcp at 64 KiB ≥ 80% of the raw-TCP baseline's bytes/s",
        compare_each(
            results,
            &[tcp(64 * 1024)],
            Metric::MegabytesPerSec,
            0.8,
            |s| s == Stack::Raw,
            size_label,
        ),
    );
    let req_rep: Vec<Kind> = [Transport::Tcp, Transport::Ipc]
        .into_iter()
        .map(|transport| Kind::Latency {
            pattern: Pattern::ReqRep,
            transport,
        })
        .filter(|kind| {
            results.of(kind).is_some()
                || matches!(
                    kind,
                    Kind::Latency {
                        transport: Transport::Tcp,
                        ..
                    }
                )
        })
        .collect();
    add(
        "REQ/REP p50 latency ≤ the best peer's",
        compare_each(
            results,
            &req_rep,
            Metric::P50Us,
            1.0,
            Stack::is_peer,
            size_label,
        ),
    );
    let inproc: Vec<Kind> = SIZES
        .iter()
        .map(|&size| Kind::Throughput {
            transport: Transport::Inproc,
            size,
            curve: false,
        })
        .collect();
    add(
        "inproc PUSH/PULL throughput ≥ libzmq's (the faster build) at every size",
        compare_each(
            results,
            &inproc,
            Metric::MsgPerSec,
            1.0,
            Stack::is_libzmq,
            size_label,
        ),
    );
    let fan_out: Vec<Kind> = FAN_OUT_SIZES
        .iter()
        .map(|&size| Kind::FanOut {
            subscribers: 8,
            size,
        })
        .collect();
    add(
        "PUB fan-out to 8 SUBs ≥ libzmq (the faster build)",
        compare_each(
            results,
            &fan_out,
            Metric::MsgPerSec,
            1.0,
            Stack::is_libzmq,
            size_label,
        ),
    );
    let idle: Vec<Kind> = results
        .cases
        .iter()
        .filter(|(case, _)| matches!(case.kind, Kind::IdleMemory { .. }))
        .map(|(case, _)| case.kind)
        .collect();
    add(
        "memory per idle tcp connection ≤ libzmq's (the smaller build)",
        if idle.is_empty() {
            (Verdict::NotChecked, "not run".to_owned())
        } else {
            compare_each(
                results,
                &idle,
                Metric::BytesPerPeer,
                1.0,
                Stack::is_libzmq,
                |_| "per peer".to_owned(),
            )
        },
    );
    add(
        "10,000 concurrent connections to one purezmq ROUTER work",
        connections_verdict(results),
    );
    let curve: Vec<Kind> = CURVE_SIZES
        .iter()
        .map(|&size| Kind::Throughput {
            transport: Transport::Tcp,
            size,
            curve: true,
        })
        .collect();
    add(
        "CURVE PUSH/PULL over tcp ≥ 1.0× libzmq at 32 B and 1 KiB",
        compare_each(
            results,
            &curve,
            Metric::MsgPerSec,
            1.0,
            Stack::is_libzmq,
            size_label,
        ),
    );
    let proxied: Vec<Kind> = [Device::Streamer, Device::Forwarder]
        .into_iter()
        .flat_map(|device| PROXY_SIZES.map(|size| Kind::Proxied { device, size }))
        .collect();
    add(
        "purezmq's proxy ≥ 1.5× libzmq's zmq_proxy (the faster build), PUSH/PULL and \
         XSUB/XPUB over tcp at 32 B and 1 KiB",
        compare_each(
            results,
            &proxied,
            Metric::MsgPerSec,
            1.5,
            Stack::is_libzmq,
            size_label,
        ),
    );
    let streamed: Vec<Kind> = PROXY_SIZES
        .map(|size| Kind::Proxied {
            device: Device::Streamer,
            size,
        })
        .to_vec();
    add(
        "PUSH → purezmq proxy → PULL over tcp ≥ 70% of purezmq's direct PUSH/PULL at 32 B \
         and 1 KiB",
        against_direct(results, &streamed, 0.7),
    );
    add(
        "purezmq's Majordomo broker ≥ 80% of the plain queue's requests/s (purezmq's \
         ROUTER/DEALER proxy), 1 and 4 echo workers × 1 and 16 clients over tcp",
        against_queue(results, 0.8),
    );
    targets
}

/// Checks purezmq's Majordomo broker against purezmq's plain queue with as many
/// workers and clients: at least `share` of its requests per second.
fn against_queue(results: &View, share: f64) -> (Verdict, String) {
    let mut details = Vec::new();
    let (mut failed, mut missing) = (false, false);
    let ours = |kind: &Kind, metric| results.of(kind)?.get(&Stack::Purezmq)?.median(metric);
    let cpu = |kind: &Kind| {
        ours(kind, Metric::BrokerCpuPerMillion).map_or("—".to_owned(), |v| format!("{v:.2}"))
    };
    for (workers, clients) in BROKER_SHAPES {
        let broker = Kind::Brokered {
            broker: Broker::Majordomo,
            workers,
            clients,
        };
        let queue = Kind::Brokered {
            broker: Broker::Queue,
            workers,
            clients,
        };
        let balanced = Kind::Brokered {
            broker: Broker::LoadBalancer,
            workers,
            clients,
        };
        let one_at_a_time = ours(&balanced, Metric::RequestsPerSec)
            .map_or(String::new(), |lb| format!(", lb-queue {}", count(lb)));
        let label = size_label(&broker);
        let ran = results.of(&broker).map(|o| o.contains_key(&Stack::Purezmq));
        match (
            ours(&broker, Metric::RequestsPerSec),
            ours(&queue, Metric::RequestsPerSec),
        ) {
            (Some(brokered), Some(queued)) if queued > 0.0 => {
                let ratio = brokered / queued;
                failed |= ratio < share;
                details.push(format!(
                    "{label}: {} vs {} req/s through the queue ({:.0}%; broker CPU {} vs {} \
                     s / M req{one_at_a_time})",
                    count(brokered),
                    count(queued),
                    100.0 * ratio,
                    cpu(&broker),
                    cpu(&queue)
                ));
            }
            (None, _) if ran != Some(true) => {
                missing = true;
                details.push(format!("{label}: not run"));
            }
            (None, _) => {
                failed = true;
                details.push(format!("{label}: purezmq's broker could not run"));
            }
            _ => {
                missing = true;
                details.push(format!("{label}: no queue figure to compare with"));
            }
        }
    }
    let verdict = if failed {
        Verdict::NotMet
    } else if missing {
        Verdict::NotChecked
    } else {
        Verdict::Met
    };
    (verdict, details.join("; "))
}

/// Checks purezmq's msg/s in each of `kinds` against its own in the kind's direct
/// case ([`Kind::direct`]): at least `share` of it.
fn against_direct(results: &View, kinds: &[Kind], share: f64) -> (Verdict, String) {
    let mut details = Vec::new();
    let (mut failed, mut missing) = (false, false);
    let median = |kind: &Kind, metric: Metric| -> Option<f64> {
        results.of(kind)?.get(&Stack::Purezmq)?.median(metric)
    };
    let ours = |kind: &Kind| median(kind, Metric::MsgPerSec);
    let cpu = |kind: &Kind| {
        median(kind, Metric::CpuPerMillion).map_or("—".to_owned(), |v| format!("{v:.2}"))
    };
    for kind in kinds {
        let label = size_label(kind);
        let Some(direct) = kind.direct() else {
            continue;
        };
        let ran = results.of(kind).map(|o| o.contains_key(&Stack::Purezmq));
        match (ours(kind), ours(&direct)) {
            (Some(proxied), Some(without)) if without > 0.0 => {
                let ratio = proxied / without;
                failed |= ratio < share;
                details.push(format!(
                    "{label}: {} vs {} msg/s direct ({:.0}%; CPU {} vs {} s / M msgs)",
                    count(proxied),
                    count(without),
                    100.0 * ratio,
                    cpu(kind),
                    cpu(&direct)
                ));
            }
            (None, _) if ran != Some(true) => {
                missing = true;
                details.push(format!("{label}: purezmq not run"));
            }
            (None, _) => {
                failed = true;
                details.push(format!("{label}: purezmq could not run"));
            }
            _ => {
                missing = true;
                details.push(format!("{label}: no direct figure to compare with"));
            }
        }
    }
    let verdict = if failed {
        Verdict::NotMet
    } else if missing {
        Verdict::NotChecked
    } else {
        Verdict::Met
    };
    (verdict, details.join("; "))
}

fn connections_verdict(results: &View) -> (Verdict, String) {
    let run = results
        .cases
        .iter()
        .find_map(|(case, outcomes)| match case.kind {
            Kind::Connections { peers } => Some((peers, outcomes)),
            _ => None,
        });
    let Some((peers, outcomes)) = run else {
        return (Verdict::NotChecked, "not run".to_owned());
    };
    let reached = |stack: Stack| -> String {
        match outcomes.get(&stack) {
            Some(outcome) => match outcome.median(Metric::Peers) {
                Some(n) => format!("{stack} {n:.0} of {peers}"),
                None => format!(
                    "{stack} could not run: {}",
                    outcome.could_not_run().unwrap_or_default()
                ),
            },
            None => format!("{stack} not run"),
        }
    };
    let detail = [Stack::Purezmq, Stack::Libzmq, Stack::LibzmqPyzmq]
        .into_iter()
        .map(reached)
        .collect::<Vec<_>>()
        .join("; ");
    let ours = outcomes
        .get(&Stack::Purezmq)
        .and_then(|o| o.median(Metric::Peers));
    let verdict = match ours {
        _ if peers < MANY_CONNECTIONS => Verdict::NotChecked,
        Some(n) if n as usize >= MANY_CONNECTIONS => Verdict::Met,
        _ => Verdict::NotMet,
    };
    let detail = if peers < MANY_CONNECTIONS {
        format!("this run tried {peers} connections only: {detail}")
    } else {
        detail
    };
    (verdict, detail)
}

/// What the report says of the tokio runtimes the Rust stacks ran on.
fn runtimes_text(meta: &Meta) -> String {
    let stacks = "The Rust stacks (purezmq, zmq.rs, omq, rzmq and the raw baseline alike)";
    match meta.runtimes[..] {
        [Flavor::CurrentThread] => format!(
            "{stacks} run on a tokio current-thread runtime in every process \
             (`--runtime current`); libzmq runs its application thread and its default \
             single I/O thread."
        ),
        [Flavor::MultiThread] => format!(
            "{stacks} run on a tokio multi-thread runtime, a worker per CPU, in every \
             process (`--runtime multi`); libzmq runs its application thread and its \
             default single I/O thread."
        ),
        _ => format!(
            "{stacks} run on two tokio runtimes, in the same run and interleaved, and the \
             tables name which: `current`, a current-thread runtime in every process (the \
             application and the sockets' tasks on one thread; in the two-process cases on \
             this machine each end has a core), and `multi`, a multi-thread runtime with a \
             worker per CPU in every process. A Rust peer is set against purezmq on the same \
             runtime; libzmq, which has no tokio runtime (`own threads`: its application \
             thread and its default single I/O thread), is shown once and set against purezmq on each. \
             `--runtime current` or `--runtime multi` measures one only."
        ),
    }
}

/// `42 s` or `12.5 minutes`.
fn duration(elapsed: Duration) -> String {
    let seconds = elapsed.as_secs_f64();
    if seconds < 90.0 {
        format!("{seconds:.0} s")
    } else {
        format!("{:.1} minutes", seconds / 60.0)
    }
}

/// The whole report, in Markdown.
pub fn render(results: &Results, meta: &Meta) -> String {
    let mut out = String::new();
    let machine = &meta.machine;
    let _ = writeln!(
        out,
        "# purezmq side by side with libzmq, zmq.rs, omq and rzmq\n\n\
         Generated by `{}` on {} in {}. {}\n",
        meta.command,
        machine.date,
        duration(meta.elapsed),
        if meta.quick {
            "**Quick run** (`--quick`): one short run per case, for a smoke test; the figures \
             are not meant to be compared."
        } else {
            ""
        }
    );
    let _ = writeln!(
        out,
        "## Machine\n\n- {} logical CPUs: {}\n- {}, {} of memory, open files limited to {} (hard limit)\n- load average at the start: {}\n- {}\n",
        machine.cores,
        machine.cpu,
        machine.kernel,
        machine.memory,
        machine.open_files,
        machine.load,
        meta.rustc
    );
    let _ = writeln!(out, "## Stacks\n");
    let ran = |stack: &Stack| {
        results
            .cases
            .iter()
            .any(|(_, outcomes)| outcomes.keys().any(|c| c.stack == *stack))
    };
    for (stack, version) in &meta.versions {
        // The Python brokers are listed when the broker cases ran.
        if stack.is_zmtp() || ran(stack) {
            let _ = writeln!(out, "- `{stack}`: {version}");
        }
    }
    let _ = writeln!(
        out,
        "\nEach case runs every contender (a stack, and for a Rust stack its runtime) in \
         separate processes ({} per case and contender, the contenders interleaved within \
         each round and their order rotated between rounds, so drift hits all alike), each \
         throughput run sized to take about {:.1} s; tables show the median and the spread \
         (min–max). {} MB/s counts payload bytes, 10^6 per MB. Where a stack cannot run a \
         case the table says why.\n",
        if meta.repeats == 1 {
            "1 run".to_owned()
        } else {
            format!("{} runs", meta.repeats)
        },
        meta.run_time.as_secs_f64(),
        runtimes_text(meta)
    );
    if let Some(chart) = &meta.chart {
        let _ = writeln!(
            out,
            "![PUSH/PULL throughput by message size and stack]({chart})\n"
        );
    }
    let runtimes = results.runtimes();
    // Each target on each runtime, the runtimes of one target side by side.
    let per_runtime: Vec<(Flavor, Vec<Target>)> = runtimes
        .iter()
        .map(|&runtime| (runtime, targets(&results.on(runtime))))
        .collect();
    let _ = writeln!(out, "## Targets\n");
    let _ = writeln!(
        out,
        "| target | runtime | verdict | figures |\n|---|---|---|---|"
    );
    let rules = per_runtime.first().map_or(0, |(_, targets)| targets.len());
    for rule in 0..rules {
        for (runtime, targets) in &per_runtime {
            let target = &targets[rule];
            let verdict = match target.verdict {
                Verdict::Met => "met",
                Verdict::NotMet => "**not met**",
                Verdict::NotChecked => "not checked",
            };
            let _ = writeln!(
                out,
                "| {} | {} | {verdict} | {} |",
                target.rule,
                runtime.name(),
                escape(&target.detail)
            );
        }
    }
    let _ = writeln!(
        out,
        "\nOn each runtime a target sets purezmq on that runtime against the Rust peers on \
         the same runtime and against libzmq. Where two libzmq builds ran, a target compares \
         against the better of the two.\n"
    );
    let _ = writeln!(out, "## Results\n");
    for group in GROUPS {
        group_table(&mut out, group, results, &runtimes);
    }
    ratio_table(&mut out, results, &runtimes);
    let _ = writeln!(
        out,
        "## How to reproduce\n\n\
         ```sh\n\
         cargo run --release -p purezmq-benches --bin compare            # everything, both runtimes, about 35 minutes\n\
         cargo run --release -p purezmq-benches --bin compare -- --quick # a smoke test, under a minute\n\
         cargo run --release -p purezmq-benches --bin compare -- --runtime current # one runtime only\n\
         cargo run --release -p purezmq-benches --bin compare -- --filter push-pull/tcp --repeats 3\n\
         cargo run --release -p purezmq-benches --bin compare -- --filter proxy # the proxies, with their direct pairs\n\
         ZGUIDE_PYTHON=/path/to/zguide/examples/Python \\\n  \
         cargo run --release -p purezmq-benches --bin compare -- --filter broker # Majordomo brokers and the plain queue\n\
         ```\n\n\
         The comparison needs only gcc/g++ (the `zmq` crate builds libzmq 4.3.4 from source). \
         For libzmq 4.3.5 it loads pyzmq's bundled `libzmq` from `$PUREZMQ_LIBZMQ`, from \
         `target/pyzmq-venv` (the interop tests' environment) or from \
         `target/compare-pyzmq-venv`, which a full run creates with `python3 -m venv` and \
         `pip install pyzmq=={}` when neither exists. The broker cases install majortomo \
         {MAJORTOMO_VERSION} (and `six`, which it imports without declaring) into that \
         environment on a full run, and run the guide's mdbroker.py from the zguide \
         checkout `${ZGUIDE_VARIABLE}` names (not shipped here; skipped when unset); their \
         bodies are {BROKER_BODY} bytes. Latency requests are {LATENCY_SIZE} bytes. \
         `--list` names every case; `--stacks purezmq,libzmq` runs some stacks only; \
         `--out PATH` writes the report (and its chart beside it) elsewhere. Keep the machine \
         otherwise idle: every figure here is sensitive to other load.",
        super::stacks::libzmq::dynamic::PYZMQ_VERSION
    );
    out
}
