//! `zmqapi`: one program written against the `zmq` crate's API, run on libzmq (the
//! `zmq` crate) and on purezmq-compat, the drop-in that replaces it: PUSH/PULL
//! throughput and REQ/REP round-trip latency over tcp.
//!
//! The program is `program.rs`, included into [`libzmq`] where `zmq` is the `zmq`
//! crate and into [`compat`] where `zmq` is purezmq-compat: the same source,
//! compiled twice. Each case runs on both stacks in turn, a few times; the table
//! gives the medians and the ratio compat/libzmq measured in the same run.

use std::time::Duration;

/// The program on libzmq 4.3 (the `zmq` crate).
pub mod libzmq {
    include!("program.rs");
}

/// The program on purezmq-compat.
pub mod compat {
    use zmq_compat as zmq;

    include!("program.rs");
}

/// Message sizes of the throughput cases.
const THROUGHPUT_SIZES: [usize; 3] = [32, 1024, 64 * 1024];
/// Message size of the latency case.
const LATENCY_SIZE: usize = 32;

/// What to run.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Rounds per case and stack; medians are reported.
    pub runs: usize,
    /// A tenth of the messages: a smoke run.
    pub quick: bool,
}

impl Settings {
    /// How many messages the throughput case of `size` sends.
    fn throughput_count(&self, size: usize) -> usize {
        let count = if size <= 64 {
            1_000_000
        } else if size <= 4096 {
            500_000
        } else {
            20_000
        };
        if self.quick { count / 10 } else { count }
    }

    /// How many round trips the latency case times.
    fn latency_count(&self) -> usize {
        if self.quick { 2_000 } else { 20_000 }
    }
}

/// One line of the table: a figure on each stack.
struct Row {
    case: String,
    unit: &'static str,
    libzmq: f64,
    compat: f64,
    /// Whether more is better (throughput) or less (latency).
    higher_is_better: bool,
}

impl Row {
    /// How many times as fast compat is: >= 1.0 means at least as fast as libzmq.
    fn ratio(&self) -> f64 {
        if self.higher_is_better {
            self.compat / self.libzmq
        } else {
            self.libzmq / self.compat
        }
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

/// The value at quantile `q` of sorted `times`, in microseconds.
fn percentile(times: &[Duration], q: f64) -> f64 {
    let index = ((times.len() - 1) as f64 * q).round() as usize;
    micros(times[index])
}

/// Runs every case `settings.runs` times on each stack, alternating, and prints the
/// table.
pub fn run(settings: Settings) {
    let mut rows = Vec::new();
    for size in THROUGHPUT_SIZES {
        let count = settings.throughput_count(size);
        let (mut on_libzmq, mut on_compat) = (Vec::new(), Vec::new());
        for run in 0..settings.runs {
            let a = libzmq::push_pull(size, count);
            let b = compat::push_pull(size, count);
            eprintln!(
                "PUSH/PULL {size} B, run {}: libzmq {a:.0} msg/s, compat {b:.0} msg/s",
                run + 1
            );
            on_libzmq.push(a);
            on_compat.push(b);
        }
        rows.push(Row {
            case: format!("PUSH/PULL {} msg/s", size_name(size)),
            unit: "msg/s",
            libzmq: median(on_libzmq),
            compat: median(on_compat),
            higher_is_better: true,
        });
    }

    let count = settings.latency_count();
    let (mut p50, mut p99) = ([Vec::new(), Vec::new()], [Vec::new(), Vec::new()]);
    for run in 0..settings.runs {
        let a = libzmq::req_rep(LATENCY_SIZE, count);
        let b = compat::req_rep(LATENCY_SIZE, count);
        for (stack, times) in [&a, &b].into_iter().enumerate() {
            p50[stack].push(percentile(times, 0.50));
            p99[stack].push(percentile(times, 0.99));
        }
        eprintln!(
            "REQ/REP {LATENCY_SIZE} B, run {}: p50 libzmq {:.1} µs, compat {:.1} µs",
            run + 1,
            percentile(&a, 0.5),
            percentile(&b, 0.5)
        );
    }
    for (name, [on_libzmq, on_compat]) in [("p50", p50), ("p99", p99)] {
        rows.push(Row {
            case: format!("REQ/REP {} round trip {name}", size_name(LATENCY_SIZE)),
            unit: "µs",
            libzmq: median(on_libzmq),
            compat: median(on_compat),
            higher_is_better: false,
        });
    }
    print_table(&rows, settings);
}

/// One run of one case on one stack, printing its figure: what `strace -c -f` or
/// `perf stat` should look at, without the other stack in the same process.
pub fn run_one(settings: Settings, stack: &str, case: &str) -> Result<(), String> {
    let size = match case {
        "push-pull-32" => Some(32),
        "push-pull-1k" => Some(1024),
        "push-pull-64k" => Some(64 * 1024),
        "req-rep" => None,
        other => return Err(format!("unknown case {other:?}")),
    };
    type PushPull = fn(usize, usize) -> f64;
    type ReqRep = fn(usize, usize) -> Vec<Duration>;
    let (push_pull, req_rep): (PushPull, ReqRep) = match stack {
        "libzmq" => (libzmq::push_pull, libzmq::req_rep),
        "compat" => (compat::push_pull, compat::req_rep),
        other => return Err(format!("unknown stack {other:?}")),
    };
    match size {
        Some(size) => {
            let count = settings.throughput_count(size);
            println!(
                "{stack} PUSH/PULL {}: {:.0} msg/s",
                size_name(size),
                push_pull(size, count)
            );
        }
        None => {
            let times = req_rep(LATENCY_SIZE, settings.latency_count());
            println!(
                "{stack} REQ/REP {}: p50 {:.1} µs, p99 {:.1} µs",
                size_name(LATENCY_SIZE),
                percentile(&times, 0.5),
                percentile(&times, 0.99)
            );
        }
    }
    Ok(())
}

fn size_name(size: usize) -> String {
    if size >= 1024 {
        format!("{} KiB", size / 1024)
    } else {
        format!("{size} B")
    }
}

fn print_table(rows: &[Row], settings: Settings) {
    println!(
        "The same program on libzmq (the zmq crate) and on purezmq-compat, tcp over \
         loopback; medians of {} runs{}.",
        settings.runs,
        if settings.quick { ", --quick" } else { "" }
    );
    println!("compat/libzmq: how many times as fast compat is (>= 1.0: at least as fast).");
    println!();
    println!("| case | libzmq | purezmq-compat | compat/libzmq |");
    println!("|---|---:|---:|---:|");
    for row in rows {
        println!(
            "| {} | {} | {} | {:.2}x |",
            row.case,
            figure(row.libzmq, row.unit),
            figure(row.compat, row.unit),
            row.ratio()
        );
    }
}

fn figure(value: f64, unit: &str) -> String {
    match unit {
        "msg/s" if value >= 1e6 => format!("{:.2} M", value / 1e6),
        "msg/s" => format!("{:.0} k", value / 1e3),
        _ => format!("{value:.1} {unit}"),
    }
}
