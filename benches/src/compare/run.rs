//! One run of one case with one stack: the worker processes it takes, what they
//! report, and the [`Sample`] made of it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::cases::{BROKER_BODY, Kind, LATENCY_SIZE};
use super::majordomo::Dialect;
use super::process::{Stats, Worker};
use super::results::{Metric, Sample};
use super::stacks::{Broker, Contender, Device, Flavor, Pattern, RUNTIME_ENV, Stack, Transport};

/// How the runs are sized, and the environment of every worker.
pub struct Runner {
    /// Added to every worker's environment (where pyzmq's libzmq is).
    pub env: Vec<(String, String)>,
    /// Where ipc endpoints go.
    pub ipc_dir: PathBuf,
    /// How long a run may take before it is abandoned.
    pub timeout: Duration,
    /// How long a latency run measures.
    pub latency: Duration,
    /// Round trips before a latency run measures (per client in a broker run).
    pub warmup: usize,
    /// How long a broker run measures.
    pub brokered: Duration,
    /// The tokio runtime of the run under way, for a Rust stack.
    runtime: Option<Flavor>,
    next_ipc: usize,
}

/// Sums what the processes of a run used.
fn add_stats(sample: Sample, stats: &[Stats], messages: f64) -> Sample {
    let cpu: f64 = stats.iter().map(|s| s.cpu.as_secs_f64()).sum();
    let rss: u64 = stats.iter().map(|s| s.hwm_kib).sum();
    sample
        .with(Metric::CpuPerMillion, cpu / messages * 1e6)
        .with(Metric::PeakRssMib, rss as f64 / 1024.0)
}

impl Runner {
    /// A runner whose ipc endpoints go in `ipc_dir`; broker runs measure twice as
    /// long as latency runs, for as many requests per client at 16 clients.
    pub fn new(
        env: Vec<(String, String)>,
        ipc_dir: PathBuf,
        timeout: Duration,
        latency: Duration,
        warmup: usize,
    ) -> Runner {
        Runner {
            env,
            ipc_dir,
            timeout,
            latency,
            warmup,
            brokered: latency * 2,
            runtime: None,
            next_ipc: 0,
        }
    }

    /// A worker playing `role` for `stack` on the run's runtime.
    fn spawn(&self, stack: Stack, role: &str, args: &[String]) -> Result<Worker, String> {
        self.spawn_on(self.runtime, stack, role, args)
    }

    /// A worker playing `role` for `stack`, told to use `runtime` if it runs tokio.
    fn spawn_on(
        &self,
        runtime: Option<Flavor>,
        stack: Stack,
        role: &str,
        args: &[String],
    ) -> Result<Worker, String> {
        let mut all = vec![role.to_owned(), format!("stack={}", stack.key())];
        all.extend_from_slice(args);
        let mut env = self.env.clone();
        if let Some(runtime) = runtime {
            env.push((RUNTIME_ENV.to_owned(), runtime.name().to_owned()));
        }
        Worker::spawn(&format!("{stack} {role}"), &all, &env)
    }

    /// `transport=... [path=...]` for a binding worker; a fresh ipc path each time.
    fn bind_args(&mut self, transport: Transport) -> (Vec<String>, Option<PathBuf>) {
        match transport {
            Transport::Ipc => {
                self.next_ipc += 1;
                let path = self.ipc_dir.join(format!("{}.ipc", self.next_ipc));
                let args = vec![
                    "transport=ipc".to_owned(),
                    format!("path={}", path.display()),
                ];
                (args, Some(path))
            }
            _ => (vec!["transport=tcp".to_owned()], None),
        }
    }

    /// Runs `kind` once with `contender`, sending `count` messages where the case
    /// counts messages.
    pub fn run(
        &mut self,
        kind: &Kind,
        contender: Contender,
        count: usize,
    ) -> Result<Sample, String> {
        let deadline = Instant::now() + self.timeout;
        let stack = contender.stack;
        self.runtime = contender.runtime;
        match *kind {
            Kind::Throughput {
                transport: Transport::Inproc,
                size,
                ..
            } => self.inproc(stack, size, count, deadline),
            Kind::Throughput {
                transport,
                size,
                curve,
            } => self.throughput(stack, transport, size, count, curve, deadline),
            Kind::FanOut { subscribers, size } => {
                self.fan_out(stack, subscribers, size, count, deadline)
            }
            Kind::Proxied { device, size } => self.proxied(stack, device, size, count, deadline),
            Kind::Latency { pattern, transport } => {
                self.latency(stack, pattern, transport, deadline + self.latency)
            }
            Kind::Brokered {
                broker,
                workers,
                clients,
            } => self.brokered(stack, broker, workers, clients, deadline + self.brokered),
            Kind::IdleMemory { peers } => self.idle(stack, peers, true, deadline),
            Kind::Connections { peers } => self.idle(stack, peers, false, deadline),
        }
    }

    fn throughput(
        &mut self,
        stack: Stack,
        transport: Transport,
        size: usize,
        count: usize,
        curve: bool,
        deadline: Instant,
    ) -> Result<Sample, String> {
        let (mut args, path) = self.bind_args(transport);
        args.push(format!("size={size}"));
        args.push(format!("count={count}"));
        if curve {
            args.push("curve=1".to_owned());
        }
        let result = (|| {
            let mut pull = self.spawn(stack, "pull", &args)?;
            let ready = pull.expect("READY", &mut [], deadline)?;
            let mut push_args = vec![
                format!("endpoint={}", ready.text("endpoint")?),
                format!("size={size}"),
                format!("count={count}"),
            ];
            if let Some(key) = ready.optional("server_key") {
                push_args.push(format!("server_key={key}"));
            }
            let mut push = self.spawn(stack, "push", &push_args)?;
            let result = pull.expect("RESULT", &mut [&mut push], deadline)?;
            let elapsed = result.number::<u64>("elapsed_ns")? as f64 / 1e9;
            let stats = [push.finish(deadline)?, pull.finish(deadline)?];
            let rate = (count - 1) as f64 / elapsed.max(1e-9);
            let sample = Sample::default()
                .with(Metric::MsgPerSec, rate)
                .with(Metric::MegabytesPerSec, rate * size as f64 / 1e6)
                .with(Metric::Count, count as f64);
            Ok(add_stats(sample, &stats, count as f64))
        })();
        if let Some(path) = path {
            let _ = std::fs::remove_file(path);
        }
        result
    }

    fn inproc(
        &mut self,
        stack: Stack,
        size: usize,
        count: usize,
        deadline: Instant,
    ) -> Result<Sample, String> {
        let args = [format!("size={size}"), format!("count={count}")];
        let mut worker = self.spawn(stack, "inproc", &args)?;
        let result = worker.expect("RESULT", &mut [], deadline)?;
        let elapsed = result.number::<u64>("elapsed_ns")? as f64 / 1e9;
        let stats = [worker.finish(deadline)?];
        let rate = (count - 1) as f64 / elapsed.max(1e-9);
        let sample = Sample::default()
            .with(Metric::MsgPerSec, rate)
            .with(Metric::MegabytesPerSec, rate * size as f64 / 1e6)
            .with(Metric::Count, count as f64);
        Ok(add_stats(sample, &stats, count as f64))
    }

    fn fan_out(
        &mut self,
        stack: Stack,
        subscribers: usize,
        size: usize,
        count: usize,
        deadline: Instant,
    ) -> Result<Sample, String> {
        let (mut args, _) = self.bind_args(Transport::Tcp);
        args.push(format!("size={size}"));
        args.push(format!("count={count}"));
        let mut publisher = self.spawn(stack, "publish", &args)?;
        let ready = publisher.expect("READY", &mut [], deadline)?;
        let sub_args = [
            format!("endpoint={}", ready.text("endpoint")?),
            format!("size={size}"),
            format!("count={count}"),
        ];
        let mut subs = Vec::with_capacity(subscribers);
        for _ in 0..subscribers {
            subs.push(self.spawn(stack, "subscribe", &sub_args)?);
        }
        for i in 0..subs.len() {
            let (sub, others) = split(&mut subs, i);
            let mut others: Vec<&mut Worker> = others;
            others.push(&mut publisher);
            sub.expect("SUBSCRIBED", &mut others, deadline)?;
        }
        publisher.say("GO");
        let mut reports = Vec::with_capacity(subs.len());
        for i in 0..subs.len() {
            let (sub, mut others) = split(&mut subs, i);
            others.push(&mut publisher);
            let result = sub.expect("RESULT", &mut others, deadline)?;
            reports.push((
                result.number::<usize>("received")?,
                result.number::<u64>("first_ns")?,
                result.number::<u64>("last_ns")?,
            ));
        }
        publisher.say("STOP");
        let mut stats = Vec::with_capacity(subs.len() + 1);
        for sub in subs {
            stats.push(sub.finish(deadline)?);
        }
        stats.push(publisher.finish(deadline)?);
        let fewest = reports.iter().map(|r| r.0).min().unwrap_or(0);
        if fewest < count {
            return Err(format!(
                "a SUB received {fewest} of {count} messages: the PUB dropped messages for a slow subscriber"
            ));
        }
        let first = reports.iter().map(|r| r.1).min().unwrap_or(0);
        let last = reports.iter().map(|r| r.2).max().unwrap_or(0);
        let elapsed = (last.saturating_sub(first)) as f64 / 1e9;
        let rate = (count - 1) as f64 / elapsed.max(1e-9);
        let deliveries = (count * subscribers) as f64;
        let sample = Sample::default()
            .with(Metric::MsgPerSec, rate)
            .with(Metric::MegabytesPerSec, rate * size as f64 / 1e6)
            .with(Metric::DeliveriesPerSec, rate * subscribers as f64)
            .with(Metric::Count, count as f64);
        Ok(add_stats(sample, &stats, deliveries))
    }

    /// A sender, `stack`'s proxy and a receiver, each a process, the ends played by
    /// the roles of the direct cases: the receiving PULL (or the PUB) binds, the
    /// proxy connects to it and binds the other side, the PUSH (or the SUB)
    /// connects to that.
    fn proxied(
        &mut self,
        stack: Stack,
        device: Device,
        size: usize,
        count: usize,
        deadline: Instant,
    ) -> Result<Sample, String> {
        let (mut args, _) = self.bind_args(Transport::Tcp);
        args.push(format!("size={size}"));
        args.push(format!("count={count}"));
        let ends = [format!("size={size}"), format!("count={count}")];
        let (rate, stats) = match device {
            Device::Streamer => {
                let mut pull = self.spawn(stack, "pull", &args)?;
                let ready = pull.expect("READY", &mut [], deadline)?;
                let proxy_args = [
                    format!("device={}", device.key()),
                    format!("endpoint={}", ready.text("endpoint")?),
                ];
                let mut proxy = self.spawn(stack, "proxy", &proxy_args)?;
                let ready = proxy.expect("READY", &mut [&mut pull], deadline)?;
                let mut push_args = vec![format!("endpoint={}", ready.text("endpoint")?)];
                push_args.extend_from_slice(&ends);
                let mut push = self.spawn(stack, "push", &push_args)?;
                let result = pull.expect("RESULT", &mut [&mut push, &mut proxy], deadline)?;
                let elapsed = result.number::<u64>("elapsed_ns")? as f64 / 1e9;
                let stats = [
                    push.finish(deadline)?,
                    proxy.finish(deadline)?,
                    pull.finish(deadline)?,
                ];
                ((count - 1) as f64 / elapsed.max(1e-9), stats)
            }
            Device::Forwarder => {
                let mut publisher = self.spawn(stack, "publish", &args)?;
                let ready = publisher.expect("READY", &mut [], deadline)?;
                let proxy_args = [
                    format!("device={}", device.key()),
                    format!("endpoint={}", ready.text("endpoint")?),
                ];
                let mut proxy = self.spawn(stack, "proxy", &proxy_args)?;
                let ready = proxy.expect("READY", &mut [&mut publisher], deadline)?;
                let mut sub_args = vec![format!("endpoint={}", ready.text("endpoint")?)];
                sub_args.extend_from_slice(&ends);
                let mut sub = self.spawn(stack, "subscribe", &sub_args)?;
                sub.expect("SUBSCRIBED", &mut [&mut publisher, &mut proxy], deadline)?;
                publisher.say("GO");
                let result = sub.expect("RESULT", &mut [&mut publisher, &mut proxy], deadline)?;
                publisher.say("STOP");
                let received = result.number::<usize>("received")?;
                let first = result.number::<u64>("first_ns")?;
                let last = result.number::<u64>("last_ns")?;
                // The publisher stops its end markers before the proxy goes.
                let stats = [
                    sub.finish(deadline)?,
                    publisher.finish(deadline)?,
                    proxy.finish(deadline)?,
                ];
                if received < count {
                    return Err(format!(
                        "the SUB received {received} of {count} messages: a PUB or the proxy's \
                         XPUB dropped messages"
                    ));
                }
                let elapsed = last.saturating_sub(first) as f64 / 1e9;
                ((count - 1) as f64 / elapsed.max(1e-9), stats)
            }
        };
        let sample = Sample::default()
            .with(Metric::MsgPerSec, rate)
            .with(Metric::MegabytesPerSec, rate * size as f64 / 1e6)
            .with(Metric::Count, count as f64);
        Ok(add_stats(sample, &stats, count as f64))
    }

    /// `stack`'s broker (or queue), one process of echo workers and one of
    /// clients, all purezmq on a current-thread runtime whatever the broker and its
    /// runtime, so that only the broker differs.
    fn brokered(
        &mut self,
        stack: Stack,
        broker: Broker,
        workers: usize,
        clients: usize,
        deadline: Instant,
    ) -> Result<Sample, String> {
        let dialect = format!("dialect={}", Dialect::of(stack, broker).key());
        let mut server = self.spawn(stack, "broker", &[format!("broker={}", broker.key())])?;
        let ready = server.expect("READY", &mut [], deadline)?;
        let frontend = ready.text("endpoint")?.to_owned();
        let backend = ready.optional("backend").unwrap_or(&frontend).to_owned();
        let worker_args = [
            format!("endpoint={backend}"),
            format!("workers={workers}"),
            dialect.clone(),
        ];
        let ends = Some(Flavor::CurrentThread);
        let mut serving = self.spawn_on(ends, stack, "broker-workers", &worker_args)?;
        serving.expect("READY", &mut [&mut server], deadline)?;
        let client_args = [
            format!("endpoint={frontend}"),
            format!("clients={clients}"),
            dialect,
            format!("size={BROKER_BODY}"),
            format!("warmup={}", self.warmup),
            format!("duration_ms={}", self.brokered.as_millis()),
        ];
        let mut asking = self.spawn_on(ends, stack, "broker-clients", &client_args)?;
        let result = asking.expect("RESULT", &mut [&mut server, &mut serving], deadline)?;
        let requests = result.number::<u64>("count")? as f64;
        let elapsed = result.number::<u64>("elapsed_ns")? as f64 / 1e9;
        let stats = [
            asking.finish(deadline)?,
            serving.finish(deadline)?,
            server.finish(deadline)?,
        ];
        let broker_cpu = stats[2].cpu.as_secs_f64();
        let sample = Sample::default()
            .with(Metric::RequestsPerSec, requests / elapsed.max(1e-9))
            .with(Metric::P50Us, result.number::<u64>("p50_ns")? as f64 / 1e3)
            .with(Metric::P99Us, result.number::<u64>("p99_ns")? as f64 / 1e3)
            .with(Metric::BrokerCpuPerMillion, broker_cpu / requests * 1e6)
            .with(Metric::Count, requests);
        Ok(add_stats(sample, &stats, requests))
    }

    fn latency(
        &mut self,
        stack: Stack,
        pattern: Pattern,
        transport: Transport,
        deadline: Instant,
    ) -> Result<Sample, String> {
        let (mut args, path) = self.bind_args(transport);
        args.push(format!("pattern={}", pattern.key()));
        let result = (|| {
            let mut server = self.spawn(stack, "echo", &args)?;
            let ready = server.expect("READY", &mut [], deadline)?;
            let client_args = [
                format!("pattern={}", pattern.key()),
                format!("endpoint={}", ready.text("endpoint")?),
                format!("size={LATENCY_SIZE}"),
                format!("warmup={}", self.warmup),
                format!("duration_ms={}", self.latency.as_millis()),
            ];
            let mut client = self.spawn(stack, "ping", &client_args)?;
            let result = client.expect("RESULT", &mut [&mut server], deadline)?;
            let round_trips = result.number::<u64>("count")? as f64;
            let stats = [client.finish(deadline)?, server.finish(deadline)?];
            let sample = Sample::default()
                .with(Metric::P50Us, result.number::<u64>("p50_ns")? as f64 / 1e3)
                .with(Metric::P99Us, result.number::<u64>("p99_ns")? as f64 / 1e3)
                .with(Metric::Count, round_trips);
            // Each round trip is two messages.
            Ok(add_stats(sample, &stats, 2.0 * round_trips))
        })();
        if let Some(path) = path {
            let _ = std::fs::remove_file(path);
        }
        result
    }

    /// A ROUTER with `peers` idle peers. Unless every peer is answered, a `complete`
    /// run fails; otherwise the sample says how many were.
    fn idle(
        &mut self,
        stack: Stack,
        peers: usize,
        complete: bool,
        deadline: Instant,
    ) -> Result<Sample, String> {
        let budget = deadline.saturating_duration_since(Instant::now());
        // The ROUTER gives up waiting for peers well before the run's deadline, and
        // the client waits for replies a little longer than the ROUTER waits.
        let router_wait = budget.mul_f64(0.6);
        let args = [
            "transport=tcp".to_owned(),
            format!("expect={peers}"),
            format!("deadline_ms={}", router_wait.as_millis()),
        ];
        let mut router = self.spawn(stack, "idle-router", &args)?;
        let ready = router.expect("READY", &mut [], deadline)?;
        let before_kib = ready.number::<u64>("rss_kib")?;
        let client_args = [
            format!("endpoint={}", ready.text("endpoint")?),
            format!("count={peers}"),
            format!("deadline_ms={}", budget.mul_f64(0.8).as_millis()),
        ];
        let mut client_words = vec!["idle-client".to_owned()];
        client_words.extend_from_slice(&client_args);
        let mut client = Worker::spawn("idle client", &client_words, &self.env)?;
        let idle = router.expect("IDLE", &mut [&mut client], deadline)?;
        let connected = idle.number::<usize>("connected")?;
        let after_kib = idle.number::<u64>("rss_kib")?;
        let answered = client.expect("RESULT", &mut [&mut router], deadline)?;
        let replied = answered.number::<usize>("replied")?;
        let error = answered.text("error")?.replace('_', " ");
        let stats = [router.finish(deadline)?];
        drop(client);
        let reached = connected.min(replied);
        let shortfall = format!(
            "{reached} of {peers} peers answered: the ROUTER received {connected} hellos, the \
             client got {replied} answers (its first error: {error})"
        );
        if reached == 0 || (complete && reached < peers) {
            return Err(shortfall);
        }
        let per_peer = (after_kib.saturating_sub(before_kib) * 1024) as f64 / connected as f64;
        let mut sample = Sample::default()
            .with(Metric::BytesPerPeer, per_peer)
            .with(Metric::Peers, reached as f64)
            .with(Metric::PeakRssMib, stats[0].hwm_kib as f64 / 1024.0)
            .with(Metric::Count, peers as f64);
        if reached < peers {
            sample.note = Some(shortfall);
        }
        Ok(sample)
    }
}

/// The `i`th worker and every other, mutably.
fn split(workers: &mut [Worker], i: usize) -> (&mut Worker, Vec<&mut Worker>) {
    let (before, rest) = workers.split_at_mut(i);
    let (this, after) = rest.split_first_mut().expect("i is in range");
    let others = before.iter_mut().chain(after.iter_mut()).collect();
    (this, others)
}
