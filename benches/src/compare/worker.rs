//! The worker side: `compare --worker <role> key=value ...` plays one end of one
//! case with one stack and reports on stdout, one line per fact:
//!
//! - `READY endpoint=... [server_key=...] [backend=...] [rss_kib=...]` once peers
//!   can connect (a proxy: once it has connected to its peer and bound its other
//!   side; a queue: with the workers' endpoint as `backend`; broker workers: once
//!   registered);
//! - `SUBSCRIBED` (a SUB that saw the publisher's warm-up);
//! - `IDLE connected=... rss_kib=...` (a ROUTER holding its idle peers);
//! - `RESULT key=value ...` with what it measured;
//! - `STATS cpu_ns=... hwm_kib=...` last: its CPU time and peak resident memory;
//! - `ERROR <reason>` instead, when the stack cannot play the role.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use super::majordomo::{Clients, Dialect, Workers};
use super::stacks::{self, Bind, Broker, Device, Pattern, Stack, Transport};
use super::{control, idle_client, measure};

/// `key=value` arguments.
pub struct Fields(HashMap<String, String>);

impl Fields {
    /// Parses `key=value` words (the value runs to the end of the word, `=` and all).
    pub fn parse<'a>(words: impl IntoIterator<Item = &'a str>) -> Fields {
        Fields(
            words
                .into_iter()
                .filter_map(|word| word.split_once('='))
                .map(|(key, value)| (key.to_owned(), value.to_owned()))
                .collect(),
        )
    }

    /// The text of `key`.
    pub fn text(&self, key: &str) -> Result<&str, String> {
        self.0
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| format!("missing {key}="))
    }

    /// The text of `key`, if present.
    pub fn optional(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// `key` parsed as a number.
    pub fn number<T: std::str::FromStr>(&self, key: &str) -> Result<T, String> {
        let text = self.text(key)?;
        text.parse()
            .map_err(|_| format!("{key}={text} is not a number"))
    }
}

/// Runs the worker role named by `args` (the words after `--worker`) and exits.
pub fn main(args: &[String]) -> ! {
    // A worker never outlives the orchestrator (killed, or interrupted with ^C).
    // SAFETY: PR_SET_PDEATHSIG takes a signal number and no pointers; it only sets
    // this process's parent-death signal.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    control::listen();
    let code = match run(args) {
        Ok(()) => {
            println!("{}", measure::stats_line());
            0
        }
        Err(reason) => {
            println!("ERROR {}", reason.replace('\n', " "));
            1
        }
    };
    std::process::exit(code);
}

fn bind_of(fields: &Fields) -> Result<Bind, String> {
    match Transport::parse(fields.text("transport")?) {
        Some(Transport::Tcp) => Ok(Bind::Tcp),
        Some(Transport::Ipc) => Ok(Bind::Ipc(PathBuf::from(fields.text("path")?))),
        _ => Err("transport= must be tcp or ipc".to_owned()),
    }
}

fn announce(endpoint: &str, server_key: Option<&str>) {
    match server_key {
        Some(key) => println!("READY endpoint={endpoint} server_key={key}"),
        None => println!("READY endpoint={endpoint}"),
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let (role, rest) = args.split_first().ok_or("no worker role given")?;
    let fields = Fields::parse(rest.iter().map(String::as_str));
    if role == "idle-client" {
        measure::raise_open_files_limit();
        let deadline = Duration::from_millis(fields.number("deadline_ms")?);
        return idle_client::run(
            fields.text("endpoint")?,
            fields.number("count")?,
            deadline,
            |outcome| {
                let error = outcome.first_error.as_deref().unwrap_or("none");
                println!(
                    "RESULT connected={} replied={} error={}",
                    outcome.connected,
                    outcome.replied,
                    error.replace(char::is_whitespace, "_")
                );
            },
        );
    }
    // The broker cases' ends are purezmq's whatever the broker.
    if role == "broker-clients" || role == "broker-workers" {
        return broker_ends(role, &fields);
    }
    let stack_name = fields.text("stack")?;
    let stack = Stack::parse(stack_name).ok_or_else(|| format!("no stack {stack_name}"))?;
    let roles = stacks::roles(stack);
    match role.as_str() {
        "pull" => {
            let curve = fields.optional("curve") == Some("1");
            let elapsed = roles.pull(
                &bind_of(&fields)?,
                fields.number("size")?,
                fields.number("count")?,
                curve,
                &mut |endpoint, key| announce(endpoint, key),
            )?;
            println!("RESULT elapsed_ns={}", elapsed.as_nanos());
        }
        "push" => {
            roles.push(
                fields.text("endpoint")?,
                fields.number("size")?,
                fields.number("count")?,
                fields.optional("server_key"),
            )?;
            println!("RESULT sent=1");
        }
        "inproc" => {
            let elapsed = roles.inproc(fields.number("size")?, fields.number("count")?)?;
            println!("RESULT elapsed_ns={}", elapsed.as_nanos());
        }
        "publish" => {
            roles.publish(
                &bind_of(&fields)?,
                fields.number("size")?,
                fields.number("count")?,
                &mut |endpoint, key| announce(endpoint, key),
            )?;
        }
        "subscribe" => {
            let report = roles.subscribe(
                fields.text("endpoint")?,
                fields.number("size")?,
                fields.number("count")?,
                &mut || println!("SUBSCRIBED"),
            )?;
            println!(
                "RESULT received={} first_ns={} last_ns={}",
                report.received, report.first_ns, report.last_ns
            );
        }
        "proxy" => {
            let device = Device::parse(fields.text("device")?).ok_or("bad device=")?;
            roles.proxy(device, fields.text("endpoint")?, &mut |endpoint, key| {
                announce(endpoint, key)
            })?;
        }
        "echo" => {
            let pattern = Pattern::parse(fields.text("pattern")?).ok_or("bad pattern=")?;
            let echoed = roles.echo(pattern, &bind_of(&fields)?, &mut |endpoint, key| {
                announce(endpoint, key)
            })?;
            println!("RESULT echoed={echoed}");
        }
        "ping" => {
            let pattern = Pattern::parse(fields.text("pattern")?).ok_or("bad pattern=")?;
            let mut round_trips = roles.ping(
                pattern,
                fields.text("endpoint")?,
                fields.number("size")?,
                fields.number("warmup")?,
                Duration::from_millis(fields.number("duration_ms")?),
            )?;
            if round_trips.is_empty() {
                return Err("no round trip completed".to_owned());
            }
            let (p50, p99) = percentiles(&mut round_trips);
            println!(
                "RESULT count={} p50_ns={p50} p99_ns={p99}",
                round_trips.len()
            );
        }
        "broker" => {
            let broker = Broker::parse(fields.text("broker")?).ok_or("bad broker=")?;
            roles.broker(broker, &mut |endpoint, backend| match backend {
                Some(backend) => println!("READY endpoint={endpoint} backend={backend}"),
                None => println!("READY endpoint={endpoint}"),
            })?;
        }
        "idle-router" => {
            measure::raise_open_files_limit();
            roles.idle_router(
                &bind_of(&fields)?,
                fields.number("expect")?,
                Duration::from_millis(fields.number("deadline_ms")?),
                &mut |endpoint, _| {
                    // Let the runtime's threads and the listener settle first.
                    std::thread::sleep(Duration::from_millis(200));
                    println!("READY endpoint={endpoint} rss_kib={}", measure::rss_kib());
                },
                &mut |connected| {
                    // Let the last handshakes' transient buffers go.
                    std::thread::sleep(Duration::from_millis(300));
                    println!("IDLE connected={connected} rss_kib={}", measure::rss_kib());
                },
            )?;
        }
        other => return Err(format!("no worker role {other}")),
    }
    Ok(())
}

/// The clients or the echo workers of a broker case.
fn broker_ends(role: &str, fields: &Fields) -> Result<(), String> {
    let dialect = Dialect::parse(fields.text("dialect")?).ok_or("bad dialect=")?;
    let endpoint = fields.text("endpoint")?;
    if role == "broker-workers" {
        let workers = Workers {
            endpoint,
            count: fields.number("workers")?,
            dialect,
        };
        return workers.run(&mut || println!("READY endpoint={endpoint}"));
    }
    let clients = Clients {
        endpoint,
        count: fields.number("clients")?,
        dialect,
        size: fields.number("size")?,
        warmup: fields.number("warmup")?,
        duration: Duration::from_millis(fields.number("duration_ms")?),
    };
    let mut report = clients.run()?;
    if report.round_trips.is_empty() {
        return Err("no request was answered".to_owned());
    }
    let (p50, p99) = percentiles(&mut report.round_trips);
    println!(
        "RESULT count={} elapsed_ns={} p50_ns={p50} p99_ns={p99}",
        report.round_trips.len(),
        report.elapsed.as_nanos()
    );
    Ok(())
}

/// The median and 99th percentile of `times` (sorted in place; not empty).
fn percentiles(times: &mut [u64]) -> (u64, u64) {
    times.sort_unstable();
    let at = |q: f64| {
        let index = ((times.len().saturating_sub(1)) as f64 * q).round() as usize;
        times.get(index).copied().unwrap_or(0)
    };
    (at(0.50), at(0.99))
}
