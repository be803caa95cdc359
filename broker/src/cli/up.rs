//! `purezmq up [--config purezmq.toml]`: the whole service bus in one process: a
//! Majordomo broker, the HTTP gateway, and the configured services (script
//! workers, or the built-in `echo` when there is no configuration).
//!
//! The configuration's keys are the long flags of the subcommands they configure,
//! so there is one vocabulary to learn: `[broker]` takes `purezmq broker`'s flags
//! (plus `endpoints`), `[http]` takes `purezmq http`'s (plus `enabled`), and each
//! `[services.NAME]` takes `purezmq script`'s (plus `command`) or, with
//! `builtin = "echo"`, `purezmq echo`'s. `max_queue = 100` is `--max-queue 100`,
//! `stderr = true` is `--stderr`, a list repeats the flag.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, FromArgMatches};
use purezmq_broker::http::Gateway;
use tokio::task::JoinSet;

use super::Failure;
use super::broker::{self, BrokerArgs};

use super::echo::{self, EchoArgs};
use super::http::{self, HttpArgs};
use super::script::{self, ScriptArgs};
use super::signal::Shutdown;

/// The configuration file `purezmq up` reads when `--config` is not given.
pub const DEFAULT_CONFIG: &str = "purezmq.toml";

const EXAMPLES: &str = "\
Examples:
  # A broker on tcp://*:5555, the gateway on 127.0.0.1:9001 and a built-in echo
  # service (when ./purezmq.toml does not exist); then, in another terminal:
  purezmq up
  curl -g 'http://127.0.0.1:9001/echo?args=[\"hello\"]'      # [\"hello\"]

  # Print a commented configuration to start from, edit it, run it
  purezmq up --print-config > purezmq.toml
  purezmq up --config purezmq.toml

  # Check a configuration without starting anything
  purezmq up --config purezmq.toml --check

A configuration names services run by the script worker:

  [broker]
  endpoints = [\"tcp://*:5555\"]
  [http]
  listen = \"0.0.0.0:9001\"
  cors = \"*\"
  [services.date]
  command = [\"date\", \"-u\"]
  jobs = 2
  timeout = \"5s\"

Each key is the long flag of the subcommand it configures ([broker]: purezmq
broker, [http]: purezmq http, [services.NAME]: purezmq script); relative paths
are taken from the configuration file's directory. The services and the gateway
reach the broker in-process. On start, `purezmq up` prints what listens where and
`bus ready` once every part runs; Ctrl-C or SIGTERM stops everything (exit 0).";

/// A commented configuration, as `--print-config` prints it.
pub const SAMPLE_CONFIG: &str = r#"# purezmq up's configuration. Each key is a long flag of the subcommand the
# section configures (see `purezmq broker --help`, `purezmq http --help`,
# `purezmq script --help`); true turns a flag on, a list repeats it.
# Relative paths are taken from this file's directory.

[broker]
endpoints = ["tcp://*:5555"]
heartbeat = "2500ms"
# max_queue = 10000
# curve = true                # clients and workers outside then need the key
# cert = "purezmq-broker.key"
# allow_keys = "clients"
# titanic = "titanic"         # titanic.request / reply / close, kept on disk

[http]
# enabled = false             # no gateway
listen = "127.0.0.1:9001"
timeout = "5s"
# cors = "*"
# max_inflight = 1024

# The built-in echo service.
[services.echo]
builtin = "echo"

# Any program as a service: the request's frames become its arguments, its
# standard output the reply.
[services.date]
command = ["date", "-u"]
jobs = 2
timeout = "5s"
"#;

/// Flags of `purezmq up`.
#[derive(Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct UpArgs {
    /// The configuration file [default: ./purezmq.toml if it exists, else a
    /// broker, the gateway and the built-in echo service]
    #[arg(short, long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Read and check the configuration, print what would run, and exit.
    #[arg(long)]
    pub check: bool,

    /// Print a commented configuration to start from, and exit.
    #[arg(long, conflicts_with_all = ["config", "check"])]
    pub print_config: bool,
}

/// What a configuration asks to run, every section already parsed as its
/// subcommand's flags.
#[derive(Debug)]
struct Plan {
    source: String,
    broker: BrokerArgs,
    http: Option<HttpArgs>,
    services: Vec<Service>,
}

#[derive(Debug)]
enum Service {
    Echo(Box<EchoArgs>),
    Script(Box<ScriptArgs>),
}

impl Service {
    fn describe(&self) -> String {
        match self {
            Service::Echo(args) => format!("service {}: built-in echo", args.service),
            Service::Script(args) => format!(
                "service {}: {}",
                args.service,
                args.command
                    .iter()
                    .map(|part| part.to_string_lossy())
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        }
    }
}

/// Runs `purezmq up`.
pub async fn run(args: UpArgs, mut shutdown: Shutdown) -> Result<(), Failure> {
    if args.print_config {
        print!("{SAMPLE_CONFIG}");
        return Ok(());
    }
    let plan = plan(args.config.as_deref())?;
    println!("configuration: {}", plan.source);
    if args.check {
        println!("{}", describe(&plan));
        return Ok(());
    }

    let started = broker::start(&plan.broker)?;
    let internal = started.internal.clone();
    let mut parts = JoinSet::new();
    if let Some(http_args) = &plan.http {
        let config = http::gateway_config(http_args, vec![internal.clone()])?;
        let gateway = Gateway::bind(config)
            .await
            .map_err(|e| Failure::Runtime(format!("[http] {e}")))?;
        println!("http gateway listening on http://{}", gateway.local_addr());
        let mut stop = shutdown.clone();
        parts.spawn(async move {
            gateway
                .serve(async move { stop.wait().await })
                .await
                .map_err(|e| Failure::Runtime(format!("http gateway: {e}")))
        });
    }
    for service in plan.services {
        println!("{}", service.describe());
        let stop = shutdown.clone();
        match service {
            Service::Echo(mut args) => {
                args.brokers = vec![internal.clone()];
                parts.spawn(echo::run(*args, stop));
            }
            Service::Script(mut args) => {
                args.brokers = vec![internal.clone()];
                parts.spawn(script::run(*args, stop));
            }
        }
    }
    println!("bus ready");
    tracing::info!(parts = parts.len(), "bus running");

    let outcome = tokio::select! {
        () = shutdown.wait() => Ok(()),
        Some(ended) = parts.join_next() => match ended {
            // Parts end by themselves only when told to stop.
            Ok(Ok(())) if shutdown.is_signalled() => Ok(()),
            Ok(Ok(())) => Err(Failure::Runtime("a part of the bus stopped on its own".into())),
            Ok(Err(failure)) => Err(failure),
            Err(panic) => Err(Failure::Runtime(format!("a part of the bus failed: {panic}"))),
        },
    };
    // Every part watches the same signal; give them a moment to close their
    // sockets, then stop the broker last so their goodbyes reach it.
    let drained = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(ended) = parts.join_next().await {
            if let Ok(Err(failure)) = ended {
                tracing::warn!(%failure, "a part of the bus failed while stopping");
            }
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!("parts of the bus did not stop within 5 s; stopping them");
        parts.abort_all();
    }
    let stopped = started.stop(false).await;
    outcome?;
    stopped
}

fn describe(plan: &Plan) -> String {
    let mut lines = Vec::new();
    let endpoints = if plan.broker.endpoints.is_empty() {
        broker::DEFAULT_ENDPOINT.to_string()
    } else {
        plan.broker.endpoints.join(", ")
    };
    lines.push(format!("broker on {endpoints}"));
    match &plan.http {
        Some(http) => lines.push(format!("http gateway on http://{}", http.listen)),
        None => lines.push("no http gateway".to_string()),
    }
    for service in &plan.services {
        lines.push(service.describe());
    }
    lines.join("\n")
}

/// Reads the configuration (or takes the default one) and parses every section.
fn plan(path: Option<&Path>) -> Result<Plan, Failure> {
    let (text, source, base) = match path {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Failure::Usage(format!(
                    "cannot read --config {}: {e}; `purezmq up --print-config` prints one to start from",
                    path.display()
                ))
            })?;
            (Some(text), path.display().to_string(), base_dir(path))
        }
        None => match std::fs::read_to_string(DEFAULT_CONFIG) {
            Ok(text) => (Some(text), DEFAULT_CONFIG.to_string(), PathBuf::from(".")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (
                None,
                format!(
                    "none ({DEFAULT_CONFIG} not found): a broker, the gateway and the built-in echo"
                ),
                PathBuf::from("."),
            ),
            Err(e) => {
                return Err(Failure::Runtime(format!(
                    "cannot read {DEFAULT_CONFIG}: {e}"
                )));
            }
        },
    };
    let table = match &text {
        Some(text) => text
            .parse::<toml::Table>()
            .map_err(|e| Failure::Usage(format!("{source} is not valid TOML: {e}")))?,
        None => default_table(),
    };
    plan_from_table(&table, &source, &base)
}

/// The directory relative paths in the configuration at `path` start from.
fn base_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// What runs without a configuration file.
fn default_table() -> toml::Table {
    let mut echo = toml::Table::new();
    echo.insert("builtin".into(), toml::Value::String("echo".into()));
    let mut services = toml::Table::new();
    services.insert("echo".into(), toml::Value::Table(echo));
    let mut table = toml::Table::new();
    table.insert("services".into(), toml::Value::Table(services));
    table
}

fn plan_from_table(table: &toml::Table, source: &str, base: &Path) -> Result<Plan, Failure> {
    for key in table.keys() {
        if !matches!(key.as_str(), "broker" | "http" | "services") {
            return Err(Failure::Usage(format!(
                "{source}: unknown section [{key}]; the sections are [broker], [http] and [services.NAME]"
            )));
        }
    }
    let empty = toml::Table::new();
    let section = |name: &str| -> Result<&toml::Table, Failure> {
        match table.get(name) {
            None => Ok(&empty),
            Some(toml::Value::Table(section)) => Ok(section),
            Some(_) => Err(Failure::Usage(format!(
                "{source}: `{name}` must be a section ([{name}])"
            ))),
        }
    };

    let broker_section = section("broker")?;
    let mut argv = vec![OsString::from("broker")];
    if let Some(endpoints) = broker_section.get("endpoints") {
        argv.extend(strings(endpoints, source, "[broker] endpoints")?);
    }
    argv.extend(flags(
        broker_section,
        &["endpoints"],
        &["cert", "allow_keys", "titanic"],
        base,
        source,
        "[broker]",
    )?);
    let broker: BrokerArgs = parse_flags(argv, source, "[broker]", "purezmq broker")?;

    let http_section = section("http")?;
    let enabled = match http_section.get("enabled") {
        None => true,
        Some(toml::Value::Boolean(enabled)) => *enabled,
        Some(_) => {
            return Err(Failure::Usage(format!(
                "{source}: [http] enabled must be true or false"
            )));
        }
    };
    refuse_broker_key(http_section, source, "[http]")?;
    let http = if enabled {
        let mut argv = vec![OsString::from("http")];
        argv.extend(flags(
            http_section,
            &["enabled"],
            &[],
            base,
            source,
            "[http]",
        )?);
        Some(parse_flags(argv, source, "[http]", "purezmq http")?)
    } else {
        None
    };

    let mut services = Vec::new();
    for (name, value) in section("services")? {
        let context = format!("[services.{name}]");
        let toml::Value::Table(service) = value else {
            return Err(Failure::Usage(format!(
                "{source}: {context} must be a section, e.g. [services.{name}] command = [\"date\"]"
            )));
        };
        refuse_broker_key(service, source, &context)?;
        services.push(service_plan(name, service, source, base, &context)?);
    }
    Ok(Plan {
        source: source.to_string(),
        broker,
        http,
        services,
    })
}

/// The gateway and the services always reach the broker `up` runs, in-process.
fn refuse_broker_key(section: &toml::Table, source: &str, context: &str) -> Result<(), Failure> {
    if section.contains_key("broker") {
        return Err(Failure::Usage(format!(
            "{source}: {context} cannot name a broker: the gateway and the services reach the one `purezmq up` runs, in-process; set [broker] endpoints for clients outside"
        )));
    }
    Ok(())
}

fn service_plan(
    name: &str,
    service: &toml::Table,
    source: &str,
    base: &Path,
    context: &str,
) -> Result<Service, Failure> {
    match (service.get("builtin"), service.get("command")) {
        (Some(_), Some(_)) => Err(Failure::Usage(format!(
            "{source}: {context} has both `builtin` and `command`; keep one"
        ))),
        (Some(toml::Value::String(builtin)), None) if builtin == "echo" => {
            let mut argv = vec![OsString::from("echo"), OsString::from(name)];
            argv.extend(flags(service, &["builtin"], &[], base, source, context)?);
            let args: EchoArgs = parse_flags(argv, source, context, "purezmq echo")?;
            Ok(Service::Echo(Box::new(args)))
        }
        (Some(_), None) => Err(Failure::Usage(format!(
            "{source}: {context} builtin must be \"echo\" (the only built-in service)"
        ))),
        (None, Some(command)) => {
            let command = strings(command, source, &format!("{context} command"))?;
            if command.is_empty() {
                return Err(Failure::Usage(format!(
                    "{source}: {context} command is empty; name a program, e.g. command = [\"date\", \"-u\"]"
                )));
            }
            let mut argv = vec![OsString::from("script"), OsString::from(name)];
            argv.extend(flags(service, &["command"], &[], base, source, context)?);
            argv.push("--".into());
            argv.extend(command);
            let args: ScriptArgs = parse_flags(argv, source, context, "purezmq script")?;
            Ok(Service::Script(Box::new(args)))
        }
        (None, None) => Err(Failure::Usage(format!(
            "{source}: {context} needs `command = [\"PROGRAM\", ...]` or `builtin = \"echo\"`"
        ))),
    }
}

/// Turns a section's keys into long flags: `max_queue = 100` → `--max-queue 100`,
/// `curve = true` → `--curve`, `false` → nothing, a list → the flag repeated.
/// Keys in `paths` are resolved against `base`.
fn flags(
    section: &toml::Table,
    skip: &[&str],
    paths: &[&str],
    base: &Path,
    source: &str,
    context: &str,
) -> Result<Vec<OsString>, Failure> {
    let mut argv = Vec::new();
    for (key, value) in section {
        if skip.contains(&key.as_str()) {
            continue;
        }
        let flag = OsString::from(format!("--{}", key.replace('_', "-")));
        let is_path = paths.contains(&key.as_str());
        match value {
            toml::Value::Boolean(true) => argv.push(flag),
            toml::Value::Boolean(false) => {}
            toml::Value::Array(items) => {
                for item in items {
                    argv.push(flag.clone());
                    argv.push(scalar(item, is_path, base, source, context, key)?);
                }
            }
            other => {
                argv.push(flag);
                argv.push(scalar(other, is_path, base, source, context, key)?);
            }
        }
    }
    Ok(argv)
}

fn scalar(
    value: &toml::Value,
    is_path: bool,
    base: &Path,
    source: &str,
    context: &str,
    key: &str,
) -> Result<OsString, Failure> {
    let text = match value {
        toml::Value::String(text) => text.clone(),
        toml::Value::Integer(number) => number.to_string(),
        toml::Value::Float(number) => number.to_string(),
        toml::Value::Boolean(flag) => flag.to_string(),
        _ => {
            return Err(Failure::Usage(format!(
                "{source}: {context} {key} must be a string, a number, true/false or a list of them"
            )));
        }
    };
    if is_path && Path::new(&text).is_relative() {
        return Ok(base.join(text).into_os_string());
    }
    Ok(OsString::from(text))
}

fn strings(value: &toml::Value, source: &str, context: &str) -> Result<Vec<OsString>, Failure> {
    let toml::Value::Array(items) = value else {
        return Err(Failure::Usage(format!(
            "{source}: {context} must be a list of strings, e.g. [\"a\", \"b\"]"
        )));
    };
    items
        .iter()
        .map(|item| match item {
            toml::Value::String(text) => Ok(OsString::from(text)),
            _ => Err(Failure::Usage(format!(
                "{source}: {context} must be a list of strings, e.g. [\"a\", \"b\"]"
            ))),
        })
        .collect()
}

/// Parses `argv` as the flags of the subcommand whose arguments are `T`, so a
/// section accepts exactly what its subcommand does, with the same defaults.
fn parse_flags<T: Args + FromArgMatches>(
    argv: Vec<OsString>,
    source: &str,
    context: &str,
    subcommand: &'static str,
) -> Result<T, Failure> {
    let command = T::augment_args(clap::Command::new(subcommand))
        .no_binary_name(false)
        .disable_help_flag(true)
        .disable_version_flag(true);
    let fail = |error: clap::Error| {
        let rendered = error.render().to_string();
        let first = rendered
            .lines()
            .find(|line| !line.trim().is_empty())
            .unwrap_or("bad value")
            .trim_start_matches("error: ")
            .to_string();
        Failure::Usage(format!(
            "{source}: {context}: {first} (the keys are `{subcommand}`'s long flags, with _ for -)"
        ))
    };
    let matches = command.try_get_matches_from(argv).map_err(fail)?;
    T::from_arg_matches(&matches).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Plan, Failure> {
        let table: toml::Table = text.parse().expect("valid TOML");
        plan_from_table(&table, "test.toml", Path::new("/etc/purezmq"))
    }

    #[test]
    fn no_configuration_runs_the_builtin_echo() {
        let plan = plan_from_table(&default_table(), "none", Path::new(".")).unwrap();
        assert!(plan.broker.endpoints.is_empty());
        assert_eq!(plan.http.unwrap().listen.to_string(), "127.0.0.1:9001");
        assert!(matches!(&plan.services[..], [Service::Echo(args)] if args.service == "echo"));
    }

    #[test]
    fn keys_are_long_flags() {
        let plan = parse(
            r#"
            [broker]
            endpoints = ["tcp://*:6000", "ipc:///tmp/bus"]
            max_queue = 7
            heartbeat = "1s"
            curve = true
            cert = "keys/broker.key"
            allow_ip = ["127.0.0.1", "10.0.0.1"]
            [http]
            listen = "0.0.0.0:8000"
            [services.date]
            command = ["date", "-u"]
            jobs = 3
            [services.hello]
            builtin = "echo"
            "#,
        )
        .unwrap();
        assert_eq!(plan.broker.endpoints, ["tcp://*:6000", "ipc:///tmp/bus"]);
        assert_eq!(plan.broker.max_queue, 7);
        assert_eq!(plan.broker.heartbeat, Duration::from_secs(1));
        assert!(plan.broker.curve);
        assert_eq!(
            plan.broker.cert.as_deref(),
            Some(Path::new("/etc/purezmq/keys/broker.key"))
        );
        assert_eq!(plan.broker.allow_ip.len(), 2);
        assert_eq!(plan.http.unwrap().listen.to_string(), "0.0.0.0:8000");
        let [Service::Script(date), Service::Echo(hello)] = &plan.services[..] else {
            panic!("services in name order: {:?}", plan.services);
        };
        assert_eq!(date.service, "date");
        assert_eq!(date.command, ["date", "-u"]);
        assert_eq!(date.jobs, 3);
        assert_eq!(hello.service, "hello");
    }

    #[test]
    fn the_gateway_can_be_left_out() {
        let plan = parse("[http]\nenabled = false\n").unwrap();
        assert!(plan.http.is_none());
        assert!(plan.services.is_empty());
    }

    #[test]
    fn mistakes_name_the_section_and_the_key() {
        let message = |text: &str| parse(text).unwrap_err().to_string();
        let unknown = message("[broker]\nmax_queu = 3\n");
        assert!(unknown.contains("[broker]"), "{unknown}");
        assert!(unknown.contains("--max-queu"), "{unknown}");
        let bad = message("[broker]\nheartbeat = \"fast\"\n");
        assert!(bad.contains("fast"), "{bad}");
        let section = message("[brokers]\n");
        assert!(section.contains("unknown section [brokers]"), "{section}");
        let neither = message("[services.x]\njobs = 2\n");
        assert!(neither.contains("needs `command"), "{neither}");
        let builtin = message("[services.x]\nbuiltin = \"cat\"\n");
        assert!(builtin.contains("must be \"echo\""), "{builtin}");
        let broker = message("[services.x]\ncommand = [\"date\"]\nbroker = \"tcp://x:1\"\n");
        assert!(broker.contains("cannot name a broker"), "{broker}");
        let empty = message("[services.x]\ncommand = []\n");
        assert!(empty.contains("command is empty"), "{empty}");
    }

    #[test]
    fn the_sample_configuration_parses() {
        let plan = parse(SAMPLE_CONFIG).unwrap();
        assert_eq!(plan.services.len(), 2);
        assert!(plan.http.is_some());
    }
}
