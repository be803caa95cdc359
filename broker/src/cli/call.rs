//! `purezmq call SERVICE [FRAME...]`: one Majordomo request through a broker, its
//! replies printed as they arrive (waha-cli's job).

use std::io::{Read, Write};
use std::time::Duration;

use bytes::Bytes;
use clap::{Args, ValueEnum};
use futures::StreamExt;
use purezmq::curve::KeyPair;
use purezmq::{Message, Options, Security};
use purezmq_broker::client::{Client, ClientError};
use purezmq_broker::mdp::{ClientReply, ReplyKind, Version};

use super::Failure;
use super::duration;
use super::format::Format;
use super::security::SecurityArgs;
use super::signal::Shutdown;

const EXAMPLES: &str = "\
Examples:
  # Ask the echo service (start one with `purezmq echo`) through the broker on
  # 127.0.0.1:5555
  purezmq call echo hello world

  # Frames from stdin, one per line; the reply as a JSON array
  printf 'first\\nsecond\\n' | purezmq call echo --in lines --out json

  # Frames as a JSON array ({\"base64\": \"...\"} for binary frames)
  purezmq call echo --in json '[\"key\", {\"base64\": \"AAE=\"}]'

  # Fail over between two brokers, 2 s per attempt, at most 4 attempts
  purezmq call echo ping --broker tcp://10.0.0.1:5555 --broker tcp://10.0.0.2:5555 \\
      --timeout 2s --retries 3

  # Only if a worker is registered (exit 4 if not); partial replies (MDP/0.2) as
  # they arrive
  purezmq call report 2026-12 --check --mdp 0.2

  # Through a CURVE broker (its public key from `purezmq broker --curve`)
  purezmq call echo hi --curve-client me.key_secret --server-key broker.key

Exit 0 on a reply, 3 when no reply came within --timeout on any attempt, 4 when
--check finds no worker for SERVICE, 2 on bad usage.";

/// Where the request's frames come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Input {
    /// The FRAME arguments, one frame each.
    #[default]
    Args,
    /// Stdin, one frame per line.
    Lines,
    /// A JSON array of strings (or {"base64": "..."} objects) in the one FRAME
    /// argument, or else on stdin.
    Json,
}

/// How replies are printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// The frames' bytes, separated by a space, one reply per line.
    #[default]
    Text,
    /// Each frame on a line of its own.
    Lines,
    /// A JSON array of strings per reply; a frame that is not UTF-8 becomes
    /// {"base64": "..."}.
    Json,
    /// Each frame double-quoted with C-style escapes.
    Quoted,
    /// Each frame in lower-case hex.
    Hex,
}

/// The protocol version, as `--mdp` takes it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum MdpVersion {
    /// MDP/0.1 (RFC 7), spoken by every Majordomo broker.
    #[default]
    #[value(name = "0.1")]
    V01,
    /// MDP/0.2 (RFC 18): partial replies.
    #[value(name = "0.2")]
    V02,
}

impl From<MdpVersion> for Version {
    fn from(version: MdpVersion) -> Version {
        match version {
            MdpVersion::V01 => Version::V01,
            MdpVersion::V02 => Version::V02,
        }
    }
}

/// A timeout, or none (`inf`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeout(pub Option<Duration>);

/// Parses `--timeout`: a duration, or `inf` (also `-1`, as seed 000 writes it) for
/// ever.
pub fn parse_timeout(text: &str) -> Result<Timeout, String> {
    match text.trim() {
        "inf" | "infinite" | "never" | "-1" => Ok(Timeout(None)),
        other => match duration::parse(other)? {
            Duration::ZERO => Err("a zero timeout can never be met; give a duration or inf".into()),
            limit => Ok(Timeout(Some(limit))),
        },
    }
}

/// The default broker endpoint, the guide's.
pub const DEFAULT_BROKER: &str = "tcp://127.0.0.1:5555";

/// Flags of `purezmq call`.
#[derive(Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct CallArgs {
    /// The service to ask, e.g. echo
    #[arg(value_name = "SERVICE")]
    pub service: String,

    /// The request's frames (with --in json: one JSON array)
    #[arg(value_name = "FRAME")]
    pub frames: Vec<String>,

    /// The broker's endpoint; repeat for failover: a request that times out is sent
    /// again to the next one
    #[arg(short, long = "broker", value_name = "ENDPOINT", default_values_t = [DEFAULT_BROKER.to_string()])]
    pub brokers: Vec<String>,

    /// How long each attempt waits for a reply (e.g. 500ms, 5s), or inf
    #[arg(short, long, value_name = "DURATION", default_value = "5s", value_parser = parse_timeout)]
    pub timeout: Timeout,

    /// How many times to send the request again after a timeout [default: one
    /// attempt per --broker]
    #[arg(short, long, value_name = "N")]
    pub retries: Option<u32>,

    /// Where the request's frames come from
    #[arg(long = "in", value_enum, value_name = "INPUT", default_value_t = Input::Args)]
    pub input: Input,

    /// How to print the replies
    #[arg(short, long = "out", value_enum, value_name = "FORMAT", default_value_t = Output::Text)]
    pub output: Output,

    /// Ask the broker first (mmi.service) whether a worker offers SERVICE; exit 4 if
    /// none does
    #[arg(long)]
    pub check: bool,

    /// The protocol version: 0.1 (every broker) or 0.2 (partial replies)
    #[arg(long, value_enum, value_name = "VERSION", default_value_t = MdpVersion::V01)]
    pub mdp: MdpVersion,

    #[command(flatten)]
    pub security: ClientSecurityArgs,
}

/// Runs `purezmq call`.
pub async fn run(args: CallArgs, mut shutdown: Shutdown) -> Result<(), Failure> {
    let body = read_frames(&args)?;
    let client = build_client(
        &args.brokers,
        args.timeout,
        args.retries,
        args.mdp,
        &args.security,
    )?;
    tokio::select! {
        result = call(&client, &args, body) => result,
        () = shutdown.wait() => Ok(()),
    }
}

/// A client for `call` and its checks: the flags checked, CURVE or PLAIN applied.
pub fn build_client(
    brokers: &[String],
    timeout: Timeout,
    retries: Option<u32>,
    mdp: MdpVersion,
    security: &ClientSecurityArgs,
) -> Result<Client, Failure> {
    let options = client_options(security)?;
    let retries = retries.unwrap_or(u32::try_from(brokers.len().saturating_sub(1)).unwrap_or(0));
    Client::builder()
        .endpoints(brokers)
        .timeout(timeout.0)
        .retries(retries)
        .version(mdp.into())
        .options(options)
        .build()
        .map_err(|e| Failure::Usage(format!("{e}; give --broker as tcp://HOST:PORT")))
}

/// The security flags of a broker's client or worker: the broker is the server.
#[derive(Args, Debug, Clone, Default)]
pub struct ClientSecurityArgs {
    /// Be a CURVE client with the keys of this secret certificate (as `purezmq keygen
    /// --cert` writes it); needs --server-key. Without it, --server-key alone uses a
    /// fresh key pair
    #[arg(long, value_name = "CERT", help_heading = "Security")]
    pub curve_client: Option<std::path::PathBuf>,

    /// The broker's CURVE public key: 40 Z85 characters, or a certificate file
    /// holding it
    #[arg(
        long,
        value_name = "KEY",
        help_heading = "Security",
        allow_hyphen_values = true
    )]
    pub server_key: Option<String>,

    /// Log in with PLAIN as USER (split at the first colon; PLAIN sends it in clear
    /// text)
    #[arg(
        long,
        value_name = "USER:PASSWORD",
        help_heading = "Security",
        allow_hyphen_values = true
    )]
    pub plain_client: Option<String>,
}

/// Socket options for a client or worker of a broker, from its security flags.
/// `--server-key` without `--curve-client` uses a fresh key pair for this run: the
/// broker must then admit any client key (no `--allow-keys`).
pub fn client_options(security: &ClientSecurityArgs) -> Result<Options, Failure> {
    if let (Some(server_key), None, None) = (
        &security.server_key,
        &security.curve_client,
        &security.plain_client,
    ) {
        let server_key = super::security::load_public_key(server_key, "--server-key")?;
        return Ok(Options {
            security: Security::CurveClient {
                keypair: KeyPair::generate(),
                server_key,
            },
            ..Options::default()
        });
    }
    let flags = SecurityArgs {
        curve_client: security.curve_client.clone(),
        server_key: security.server_key.clone(),
        plain_client: security.plain_client.clone(),
        ..SecurityArgs::default()
    };
    let secured = flags.configure("")?;
    let mut options = Options::default();
    secured.apply(&mut options);
    Ok(options)
}

async fn call(client: &Client, args: &CallArgs, body: Vec<Bytes>) -> Result<(), Failure> {
    let service = args.service.as_str();
    if args.check {
        match client
            .has_service(Bytes::copy_from_slice(service.as_bytes()))
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                return Err(Failure::NoWorker(format!(
                    "no worker offers service {service:?} at the broker (mmi.service answered 404); start one, e.g. `purezmq echo {service}`"
                )));
            }
            Err(error) => return Err(failure(error)),
        }
    }
    let stream = client.request_stream(Bytes::copy_from_slice(service.as_bytes()), body);
    let mut stream = std::pin::pin!(stream);
    while let Some(reply) = stream.next().await {
        let reply = reply.map_err(failure)?;
        if !print(args.output, &reply)? || reply.kind == ReplyKind::Final {
            break;
        }
    }
    Ok(())
}

/// The exit code for a client error.
pub fn failure(error: ClientError) -> Failure {
    match error {
        ClientError::Timeout { .. } | ClientError::NoReply { .. } => {
            Failure::Timeout(error.to_string())
        }
        ClientError::Protocol(_) | ClientError::NoEndpoints => Failure::Usage(error.to_string()),
        ClientError::Socket(_) | ClientError::Mmi { .. } => Failure::Runtime(error.to_string()),
    }
}

fn read_frames(args: &CallArgs) -> Result<Vec<Bytes>, Failure> {
    match args.input {
        Input::Args => Ok(args.frames.iter().map(|f| Bytes::from(f.clone())).collect()),
        Input::Lines => {
            if !args.frames.is_empty() {
                return Err(Failure::usage(
                    "--in lines reads the frames from stdin; drop the FRAME arguments or use --in args",
                ));
            }
            let text = read_stdin()?;
            let mut frames: Vec<Bytes> = text
                .split(|byte| *byte == b'\n')
                .map(|line| {
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    Bytes::copy_from_slice(line)
                })
                .collect();
            // The newline after the last line ends it; it does not start an empty one.
            if text.ends_with(b"\n") || text.is_empty() {
                frames.pop();
            }
            Ok(frames)
        }
        Input::Json => {
            let text = match args.frames.as_slice() {
                [] => read_stdin()?,
                [one] => one.as_bytes().to_vec(),
                _ => {
                    return Err(Failure::usage(
                        "--in json takes one argument, a JSON array such as '[\"a\", \"b\"]' (or the array on stdin)",
                    ));
                }
            };
            json_frames(&text).map_err(Failure::Usage)
        }
    }
}

fn read_stdin() -> Result<Vec<u8>, Failure> {
    let mut text = Vec::new();
    std::io::stdin()
        .read_to_end(&mut text)
        .map_err(|e| Failure::Runtime(format!("cannot read stdin: {e}")))?;
    Ok(text)
}

/// Frames from a JSON array of strings and `{"base64": "..."}` objects.
fn json_frames(text: &[u8]) -> Result<Vec<Bytes>, String> {
    let hint = "write a JSON array of strings, with {\"base64\": \"...\"} for binary frames, e.g. [\"a\", {\"base64\": \"AAE=\"}]";
    let value: serde_json::Value =
        serde_json::from_slice(text).map_err(|e| format!("--in json: {e}; {hint}"))?;
    let serde_json::Value::Array(items) = value else {
        return Err(format!("--in json: not an array; {hint}"));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| match item {
            serde_json::Value::String(text) => Ok(Bytes::from(text)),
            serde_json::Value::Object(object) => match object.get("base64") {
                Some(serde_json::Value::String(encoded)) if object.len() == 1 => {
                    base64_decode(encoded)
                        .map(Bytes::from)
                        .ok_or_else(|| format!("--in json: item {index} is not valid base64"))
                }
                _ => Err(format!("--in json: item {index} is not a frame; {hint}")),
            },
            _ => Err(format!("--in json: item {index} is not a frame; {hint}")),
        })
        .collect()
}

/// Decodes standard base64 (padding optional); `None` when it is not base64.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text
        .trim_end_matches('=')
        .bytes()
        .map(|c| match c {
            b'A'..=b'Z' => Some(c - b'A'),
            b'a'..=b'z' => Some(c - b'a' + 26),
            b'0'..=b'9' => Some(c - b'0' + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        })
        .collect::<Option<_>>()?;
    if digits.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for group in digits.chunks(4) {
        let word = group.iter().enumerate().fold(0u32, |word, (i, digit)| {
            word | u32::from(*digit) << (18 - 6 * i)
        });
        let bytes = word.to_be_bytes();
        out.extend_from_slice(&bytes[1..group.len()]);
    }
    Some(out)
}

/// Prints one reply; `false` once stdout is closed.
fn print(output: Output, reply: &ClientReply) -> Result<bool, Failure> {
    let message: Message = reply.body.iter().cloned().collect();
    let mut out = Vec::new();
    match output {
        Output::Lines => {
            for frame in &reply.body {
                out.extend_from_slice(frame);
                out.push(b'\n');
            }
        }
        Output::Text => Format::Text.write(&message, &mut out),
        Output::Json => Format::Json.write(&message, &mut out),
        Output::Quoted => Format::Quoted.write(&message, &mut out),
        Output::Hex => Format::Hex.write(&message, &mut out),
    }
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(&out).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(Failure::Runtime(format!("cannot write to stdout: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_key_may_begin_with_a_hyphen() {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            security: ClientSecurityArgs,
        }
        // Z85's alphabet has `-`: one public key in 85 begins with it.
        let key = "-?}N=>R-M.6UDwiu228KG%k.jyPRD2F{YY])KPb^";
        let cli = <Cli as clap::Parser>::try_parse_from(["x", "--server-key", key]).unwrap();
        assert_eq!(cli.security.server_key.as_deref(), Some(key));
    }

    #[test]
    fn timeouts_take_a_duration_or_inf() {
        assert_eq!(
            parse_timeout("2s"),
            Ok(Timeout(Some(Duration::from_secs(2))))
        );
        assert_eq!(parse_timeout("inf"), Ok(Timeout(None)));
        assert_eq!(parse_timeout("-1"), Ok(Timeout(None)));
        assert!(parse_timeout("0").is_err());
        assert!(parse_timeout("soon").is_err());
    }

    #[test]
    fn json_frames_take_strings_and_base64() {
        assert_eq!(
            json_frames(br#"["a", {"base64": "AAE="}, ""]"#).unwrap(),
            [Bytes::from("a"), Bytes::from_static(&[0, 1]), Bytes::new()]
        );
        assert!(json_frames(b"{}").unwrap_err().contains("not an array"));
        assert!(json_frames(b"[1]").unwrap_err().contains("item 0"));
        assert!(json_frames(b"[{\"base64\": \"!\"}]").is_err());
        assert!(json_frames(b"[").is_err());
    }

    #[test]
    fn base64_round_trips_any_length() {
        for text in ["", "Zg==", "Zm8=", "Zm9v", "Zm9vYmFy", "Zm9vYg"] {
            assert!(base64_decode(text).is_some(), "{text}");
        }
        assert_eq!(base64_decode("Zm9vYmFy").unwrap(), b"foobar");
        assert_eq!(base64_decode("Zg==").unwrap(), b"f");
        assert_eq!(base64_decode("Zm8").unwrap(), b"fo");
        assert_eq!(base64_decode("Z"), None);
    }
}
