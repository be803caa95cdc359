//! `httpbench`: the HTTP gateway's requests per second and latency at 64
//! concurrent keep-alive connections, beside a plain axum handler answering the
//! same bytes on the same machine (the limit for an HTTP front).
//!
//! The orchestrator ([`main`]) starts itself again as the server
//! (`httpbench --serve plain|gateway`, see [`servers`]), so each server has a
//! process of its own, and drives it from its own process with a load generator
//! ([`load`]). The two servers alternate over the rounds; the report gives the
//! medians, the gateway's ratio to the plain handler and the targets (at least
//! 40% of its requests per second, p99 under 5 ms).

pub mod load;
pub mod servers;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use load::{Load, Measured};
use servers::{Kind, Setup};

use crate::compare::machine::{self, Machine};

const USAGE: &str = "\
usage: httpbench [--quick] [--connections N] [--duration SECONDS] [--warmup SECONDS]
                 [--rounds N] [--workers N] [--broker tcp|inproc] [--runtime multi|current]
                 [--out PATH]

Requests/s and p50/p99 of GET /echo?args=[\"hello\"] at N keep-alive connections (one request
in flight each) through the HTTP gateway -> Majordomo broker -> built-in echo workers (one
process), beside a plain axum handler answering the same bytes (another process).

  --quick            one round of 1 s after 0.3 s of warm-up (a smoke test)
  --connections N    concurrent keep-alive connections (default 64)
  --duration S       seconds measured per run (default 5)
  --warmup S         seconds of untimed requests before (default 1)
  --rounds N         runs per server, alternating (default 3; the report gives medians)
  --workers N        echo workers behind the broker (default 1)
  --broker T         how the gateway and workers reach the broker: tcp over loopback
                     (the default) or inproc
  --runtime R        the servers' tokio runtime: multi (the default, a worker thread per
                     CPU) or current (one thread)
  --out PATH         also write the report (Markdown) there";

/// The targets the issue sets for the gateway.
const TARGET_RATIO: f64 = 0.40;
const TARGET_P99_MS: f64 = 5.0;

/// The command line.
#[derive(Clone, Debug)]
struct Options {
    connections: usize,
    duration: Duration,
    warmup: Duration,
    rounds: usize,
    workers: usize,
    broker: String,
    runtime: String,
    quick: bool,
    out: Option<std::path::PathBuf>,
}

fn seconds(text: &str, flag: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("{flag} {text}: not a number of seconds"))
}

fn count(text: &str, flag: &str) -> Result<usize, String> {
    text.parse::<usize>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{flag} {text}: not a positive number"))
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        connections: 64,
        duration: Duration::from_secs(5),
        warmup: Duration::from_secs(1),
        rounds: 3,
        workers: 1,
        broker: "tcp".to_owned(),
        runtime: "multi".to_owned(),
        quick: false,
        out: None,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .cloned()
                .ok_or_else(|| format!("{arg} needs a value"))
        };
        match arg.as_str() {
            "--quick" => {
                options.quick = true;
                options.rounds = 1;
                options.duration = Duration::from_secs(1);
                options.warmup = Duration::from_millis(300);
            }
            "--connections" => options.connections = count(&value()?, arg)?,
            "--duration" => options.duration = seconds(&value()?, arg)?,
            "--warmup" => options.warmup = seconds(&value()?, arg)?,
            "--rounds" => options.rounds = count(&value()?, arg)?,
            "--workers" => options.workers = count(&value()?, arg)?,
            "--broker" => {
                let transport = value()?;
                if transport != "tcp" && transport != "inproc" {
                    return Err(format!("--broker {transport}: tcp or inproc"));
                }
                options.broker = transport;
            }
            "--runtime" => {
                let runtime = value()?;
                if runtime != "multi" && runtime != "current" {
                    return Err(format!("--runtime {runtime}: multi or current"));
                }
                options.runtime = runtime;
            }
            "--out" => options.out = Some(value()?.into()),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(options)
}

/// The broker endpoint for `--broker tcp|inproc`.
fn broker_endpoint(transport: &str) -> String {
    match transport {
        "inproc" => "inproc://httpbench-broker".to_owned(),
        _ => "tcp://127.0.0.1:*".to_owned(),
    }
}

/// `httpbench --serve KIND --workers N --broker ENDPOINT --runtime R`: one server, until its
/// standard input closes (the orchestrator ended) or it is killed.
fn serve_main(args: &[String]) -> ! {
    let kind = args.first().and_then(|key| Kind::parse(key));
    let Some(kind) = kind else {
        eprintln!("httpbench --serve: plain or gateway");
        std::process::exit(2);
    };
    let mut setup = Setup {
        workers: 1,
        broker: broker_endpoint("tcp"),
    };
    let mut multi = true;
    let mut rest = args[1..].iter();
    while let Some(flag) = rest.next() {
        let value = rest.next().cloned().unwrap_or_default();
        match flag.as_str() {
            "--workers" => setup.workers = value.parse().unwrap_or(1),
            "--broker" => setup.broker = value,
            "--runtime" => multi = value != "current",
            other => {
                eprintln!("httpbench --serve: unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    let mut builder = if multi {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("httpbench: cannot start a runtime: {e}");
            std::process::exit(1);
        }
    };
    let (closed_tx, closed_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
        let _ = closed_tx.send(());
    });
    let shutdown = async move {
        let _ = closed_rx.await;
    };
    match runtime.block_on(servers::serve(kind, &setup, shutdown)) {
        Ok(()) => std::process::exit(0),
        Err(e) => {
            eprintln!("httpbench: {e}");
            std::process::exit(1);
        }
    }
}

/// A server process, killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(kind: Kind, options: &Options) -> Result<Server, String> {
        let exe = std::env::current_exe().map_err(|e| format!("where am I: {e}"))?;
        let mut child = Command::new(exe)
            .args(["--serve", kind.key()])
            .args(["--workers", &options.workers.to_string()])
            .args(["--broker", &broker_endpoint(&options.broker)])
            .args(["--runtime", &options.runtime])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start the {} server: {e}", kind.key()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tell, line) = mpsc::channel();
        std::thread::spawn(move || {
            let mut first = String::new();
            let _ = BufReader::new(stdout).read_line(&mut first);
            let _ = tell.send(first);
        });
        let mut server = Server {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let first = line
            .recv_timeout(Duration::from_secs(20))
            .map_err(|_| format!("the {} server did not start in 20 s", kind.key()))?;
        server.addr = first
            .trim()
            .strip_prefix("listening on ")
            .and_then(|addr| addr.parse().ok())
            .ok_or_else(|| format!("the {} server said {first:?}", kind.key()))?;
        Ok(server)
    }

    /// The most memory the process has held (VmHWM), in bytes.
    fn peak_memory(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits (at most 20 s) until the server answers the request as it should: the
/// gateway's workers may still be registering.
async fn ready(addr: SocketAddr) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut last = String::from("no answer");
    while tokio::time::Instant::now() < deadline {
        match probe(addr).await {
            Ok(()) => return Ok(()),
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("the server at {addr} never answered right: {last}"))
}

async fn probe(addr: SocketAddr) -> Result<(), String> {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let request = format!("GET {} HTTP/1.1\r\nHost: {addr}\r\n\r\n", servers::TARGET);
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let (status, body) = load::read_response(&mut stream, &mut Vec::new()).await?;
    if status == 200 && body == servers::REPLY.as_bytes() {
        Ok(())
    } else {
        Err(format!(
            "status {status}, body {:?}",
            String::from_utf8_lossy(&body)
        ))
    }
}

/// One run's figures.
#[derive(Clone, Debug)]
struct Sample {
    rate: f64,
    p50: f64,
    p99: f64,
    p999: f64,
    requests: usize,
    peak_memory: Option<u64>,
}

/// One run: a fresh server, warmed up and measured.
fn run_once(
    runtime: &tokio::runtime::Runtime,
    kind: Kind,
    options: &Options,
) -> Result<Sample, String> {
    let server = Server::start(kind, options)?;
    runtime.block_on(ready(server.addr))?;
    let load = Load {
        addr: server.addr,
        target: servers::TARGET.to_owned(),
        expect: servers::REPLY.as_bytes().to_vec(),
        connections: options.connections,
        warmup: options.warmup,
        duration: options.duration,
    };
    let measured: Measured = runtime.block_on(load.run())?;
    if measured.errors > 0 {
        return Err(format!(
            "{} responses were wrong, the first: {}",
            measured.errors,
            measured.first_error.unwrap_or_default()
        ));
    }
    Ok(Sample {
        rate: measured.rate(),
        p50: measured.quantile_ms(0.50),
        p99: measured.quantile_ms(0.99),
        p999: measured.quantile_ms(0.999),
        requests: measured.round_trips.len(),
        peak_memory: server.peak_memory(),
    })
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// The medians of a server's samples.
fn medians(samples: &[Sample]) -> Sample {
    let of = |f: fn(&Sample) -> f64| median(samples.iter().map(f).collect());
    Sample {
        rate: of(|s| s.rate),
        p50: of(|s| s.p50),
        p99: of(|s| s.p99),
        p999: of(|s| s.p999),
        requests: samples.iter().map(|s| s.requests).sum(),
        peak_memory: samples.iter().filter_map(|s| s.peak_memory).max(),
    }
}

fn spread(samples: &[Sample]) -> String {
    let rates: Vec<f64> = samples.iter().map(|s| s.rate).collect();
    let low = rates.iter().copied().fold(f64::INFINITY, f64::min);
    let high = rates.iter().copied().fold(0.0, f64::max);
    if samples.len() < 2 {
        String::new()
    } else {
        format!(" ({low:.0}–{high:.0})")
    }
}

fn mib(bytes: Option<u64>) -> String {
    bytes.map_or("?".to_owned(), |b| {
        format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0))
    })
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "missed" }
}

/// The report, in Markdown.
fn report(options: &Options, plain: &[Sample], gateway: &[Sample], command: &str) -> String {
    let machine = Machine::describe();
    let p = medians(plain);
    let g = medians(gateway);
    let ratio = g.rate / p.rate;
    let workers = if options.workers == 1 {
        "1 echo worker".to_owned()
    } else {
        format!("{} echo workers", options.workers)
    };
    let mut text = String::new();
    text.push_str("## The HTTP gateway beside a plain axum handler\n\n");
    text.push_str(&format!(
        "`GET {}` (`args=[\"hello\"]`), answered with `{}` and a newline, at {} keep-alive connections with one \
         request in flight each; {:.1} s measured after {:.1} s of warm-up, {} round(s) per \
         server, alternating, each with a fresh server process on a {} tokio runtime; medians \
         (requests/s: lowest–highest).\n\n",
        servers::TARGET,
        servers::REPLY.trim_end(),
        options.connections,
        options.duration.as_secs_f64(),
        options.warmup.as_secs_f64(),
        options.rounds,
        if options.runtime == "current" {
            "single-threaded"
        } else {
            "multi-threaded"
        }
    ));
    text.push_str(&format!(
        "Machine: {} cores, {}, {} of memory, {}, load {} at the start; {}.{} The load \
         generator runs in a process of its own on the same machine.\n\n",
        machine.cores,
        machine.cpu,
        machine.memory,
        machine.kernel,
        machine.load,
        machine.date,
        machine::commit(&workspace()).map_or(String::new(), |c| format!(" purezmq at {c}."))
    ));
    text.push_str("| server | requests/s | p50 | p99 | p99.9 | peak RSS |\n");
    text.push_str("|---|---:|---:|---:|---:|---:|\n");
    for (name, m, samples) in [
        ("plain axum handler".to_owned(), &p, plain),
        (
            format!("gateway → broker ({}) → {workers}", options.broker),
            &g,
            gateway,
        ),
    ] {
        text.push_str(&format!(
            "| {name} | {:.0}{} | {:.2} ms | {:.2} ms | {:.2} ms | {} |\n",
            m.rate,
            spread(samples),
            m.p50,
            m.p99,
            m.p999,
            mib(m.peak_memory)
        ));
    }
    text.push_str(&format!(
        "\nThe gateway answers {:.0}% of the plain handler's requests/s (target ≥ {:.0}%: {}); its \
         p99 is {:.2} ms (target < {:.0} ms: {}).\n\nCommand: `{command}`\n",
        ratio * 100.0,
        TARGET_RATIO * 100.0,
        verdict(ratio >= TARGET_RATIO),
        g.p99,
        TARGET_P99_MS,
        verdict(g.p99 < TARGET_P99_MS)
    ));
    text
}

/// The workspace root (this crate's parent directory).
fn workspace() -> std::path::PathBuf {
    let benches = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    benches.parent().unwrap_or(benches).to_path_buf()
}

/// The orchestrator, or a server when started with `--serve`.
pub fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        serve_main(&args[1..]);
    }
    let options = parse(&args).unwrap_or_else(|e| {
        eprintln!("httpbench: {e}\n\n{USAGE}");
        std::process::exit(2);
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| {
            eprintln!("httpbench: cannot start a runtime: {e}");
            std::process::exit(1);
        });
    let mut plain = Vec::new();
    let mut gateway = Vec::new();
    for round in 0..options.rounds {
        let order = if round % 2 == 0 {
            [Kind::Plain, Kind::Gateway]
        } else {
            [Kind::Gateway, Kind::Plain]
        };
        for kind in order {
            match run_once(&runtime, kind, &options) {
                Ok(sample) => {
                    eprintln!(
                        "[{}/{}] {:<8} {:>9.0} req/s  p50 {:.2} ms  p99 {:.2} ms  p99.9 {:.2} ms  peak RSS {}",
                        round + 1,
                        options.rounds,
                        kind.key(),
                        sample.rate,
                        sample.p50,
                        sample.p99,
                        sample.p999,
                        mib(sample.peak_memory)
                    );
                    match kind {
                        Kind::Plain => plain.push(sample),
                        Kind::Gateway => gateway.push(sample),
                    }
                }
                Err(e) => {
                    eprintln!("httpbench: the {} run failed: {e}", kind.key());
                    std::process::exit(1);
                }
            }
        }
    }
    let command = if args.is_empty() {
        "cargo run --release -p purezmq-benches --bin httpbench".to_owned()
    } else {
        format!(
            "cargo run --release -p purezmq-benches --bin httpbench -- {}",
            args.join(" ")
        )
    };
    let text = report(&options, &plain, &gateway, &command);
    println!("{text}");
    if let Some(out) = &options.out {
        if let Some(parent) = out.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        match std::fs::write(out, &text) {
            Ok(()) => eprintln!("httpbench: wrote {}", out.display()),
            Err(e) => {
                eprintln!("httpbench: could not write {}: {e}", out.display());
                std::process::exit(1);
            }
        }
    }
}
