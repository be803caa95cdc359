//! `purezmq cat SPEC`: send and receive messages on any socket type from the shell,
//! as nanocat and zmqc do.
//!
//! What it does follows from the socket type:
//! - PUSH, PUB, XPUB send (from -D, --file, -0 or stdin lines; stdin by default);
//! - PULL, SUB, XSUB receive and print;
//! - REQ sends each message and prints the reply (stdin lines by default);
//! - DEALER does the same when given something to send, else receives;
//! - PAIR sends when given something to send, else receives;
//! - REP receives, prints and replies with -D/--file or, with --echo, the request;
//! - ROUTER receives and prints (routing id first); with -D/--file or --echo it
//!   replies to the sender, keeping the envelope.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use purezmq::{Message, Options, Socket, SocketType};
use purezmq_broker::sockopt::{self, Assignment};
use purezmq_broker::spec::{SocketSpec, socket_type_name};
use tokio::io::{AsyncBufReadExt, BufReader, Stdin};

use super::Failure;
use super::duration;
use super::format::Format;
use super::security::SecurityArgs;
use super::signal::Shutdown;

const EXAMPLES: &str = "\
Examples:
  # Receive and print everything a PUSH sends; in another shell, send two lines
  purezmq cat 'pull@tcp://*:5557'
  printf 'one\\ntwo\\n' | purezmq cat 'push>tcp://127.0.0.1:5557'

  # A two-frame message, three times, 100 ms apart
  purezmq cat 'push>tcp://127.0.0.1:5557' -D key -D value --count 3 --interval 100ms

  # Subscribe to 'weather' and print each update as JSON
  purezmq cat 'sub>tcp://127.0.0.1:5556' --subscribe weather --format json

  # An echo server, and a request to it that must be answered within 2 s
  purezmq cat 'rep@tcp://*:5555' --echo
  purezmq cat 'req>tcp://127.0.0.1:5555' -D hello --timeout 2s

  # Send a file as one frame over CURVE, watching the connection on stderr
  purezmq cat 'push>tcp://10.0.0.5:5557' --file report.pdf --monitor \\
      --curve-client me.key_secret --server-key server.key

Sockets close gracefully on Ctrl-C or SIGTERM (LINGER honoured; with --timeout,
LINGER defaults to the timeout). Exit 0 on success, 2 on bad usage, 3 when
--timeout passes: a send that could not complete, a reply that did not come, or a
receiver that got fewer messages than --count (or none, without --count).";

/// Flags of `purezmq cat`.
#[derive(Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct CatArgs {
    /// The socket: TYPE then @ENDPOINT to bind or >ENDPOINT to connect, comma
    /// separated, e.g. pull@tcp://*:5557 or req>tcp://127.0.0.1:5555
    #[arg(value_name = "SPEC")]
    pub spec: SocketSpec,

    /// A frame to send; repeat for a multi-frame message. Also REP's and ROUTER's
    /// reply.
    #[arg(short = 'D', long = "data", value_name = "FRAME")]
    pub data: Vec<String>,

    /// Send this file's whole content as one frame.
    #[arg(long, value_name = "PATH", conflicts_with = "data")]
    pub file: Option<PathBuf>,

    /// Read messages from stdin separated by NUL bytes instead of lines.
    #[arg(short = '0', long = "null", conflicts_with_all = ["data", "file"])]
    pub nul: bool,

    /// Send stdin lines, one message each (the default for PUSH, PUB, XPUB and REQ;
    /// needed for DEALER and PAIR).
    #[arg(long, conflicts_with_all = ["data", "file", "nul"])]
    pub stdin: bool,

    /// How to print received messages.
    #[arg(short, long, value_enum, default_value_t = Format::Quoted)]
    pub format: Format,

    /// REP, ROUTER: reply to each request with the request itself.
    #[arg(long, conflicts_with_all = ["data", "file"])]
    pub echo: bool,

    /// SUB, XSUB: subscribe to this topic prefix (repeatable; all topics when none
    /// is given).
    #[arg(short, long = "subscribe", value_name = "TOPIC")]
    pub subscribe: Vec<String>,

    /// Stop after this many messages sent (or requests made, or received).
    #[arg(short = 'n', long, value_name = "N")]
    pub count: Option<u64>,

    /// Exit 3 when a send cannot complete, or nothing arrives, within this time
    /// (e.g. 500ms, 2s).
    #[arg(short, long, value_name = "DURATION", value_parser = duration::parse)]
    pub timeout: Option<Duration>,

    /// Wait this long between sends; with -D or --file, keep sending (up to --count).
    #[arg(short, long, value_name = "DURATION", value_parser = duration::parse)]
    pub interval: Option<Duration>,

    /// Wait this long before the first send, so connections can form.
    #[arg(short, long, value_name = "DURATION", value_parser = duration::parse)]
    pub delay: Option<Duration>,

    /// Print the socket's events (connected, disconnected, handshake failed...) on
    /// stderr.
    #[arg(long)]
    pub monitor: bool,

    /// Set a socket option by its libzmq name, in libzmq's units: sndhwm=10000,
    /// linger=0, routing_id=worker-1, heartbeat_ivl=1000 (repeatable).
    #[arg(long = "sockopt", value_name = "NAME=VALUE")]
    pub sockopt: Vec<Assignment>,

    #[command(flatten)]
    pub security: SecurityArgs,
}

/// What the socket does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Send,
    Receive,
    Request,
    Reply,
}

/// Where outgoing messages come from.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Input {
    None,
    Frames(Vec<Vec<u8>>),
    Lines,
    NulDelimited,
}

fn plan(args: &CatArgs) -> Result<(Role, Input), Failure> {
    let socket_type = args.spec.socket_type;
    let name = socket_type_name(socket_type);
    let mut input = if !args.data.is_empty() {
        Input::Frames(args.data.iter().map(|f| f.as_bytes().to_vec()).collect())
    } else if let Some(path) = &args.file {
        let content = std::fs::read(path)
            .map_err(|e| Failure::Runtime(format!("cannot read --file {}: {e}", path.display())))?;
        Input::Frames(vec![content])
    } else if args.nul {
        Input::NulDelimited
    } else if args.stdin {
        Input::Lines
    } else {
        Input::None
    };
    let given = input != Input::None;
    let role = match socket_type {
        SocketType::Push | SocketType::Pub | SocketType::XPub => Role::Send,
        SocketType::Req => Role::Request,
        SocketType::Dealer if given => Role::Request,
        SocketType::Pair if given => Role::Send,
        SocketType::Rep => Role::Reply,
        SocketType::Router if given || args.echo => Role::Reply,
        _ => Role::Receive,
    };
    if matches!(role, Role::Send | Role::Request) && input == Input::None {
        input = Input::Lines;
    }
    if args.echo && role != Role::Reply {
        return Err(Failure::Usage(format!(
            "--echo is for rep and router sockets, not {name}; drop --echo"
        )));
    }
    if !args.subscribe.is_empty() && !matches!(socket_type, SocketType::Sub | SocketType::XSub) {
        return Err(Failure::Usage(format!(
            "--subscribe is for sub and xsub sockets, not {name}; drop it or use sub@/sub>"
        )));
    }
    match role {
        Role::Receive if given => Err(Failure::Usage(format!(
            "{name} sockets only receive; drop -D, --file, -0 and --stdin (or use push, pub, req, dealer or pair to send)"
        ))),
        Role::Reply if matches!(input, Input::Lines | Input::NulDelimited) => Err(Failure::Usage(
            format!("a {name} socket replies with -D/--file or --echo, not stdin; drop -0/--stdin"),
        )),
        Role::Reply if input == Input::None && !args.echo => Err(Failure::Usage(format!(
            "a {name} socket must answer each request: give the reply with -D FRAME, or --echo"
        ))),
        _ => Ok((role, input)),
    }
}

/// Runs `purezmq cat`.
pub async fn run(args: CatArgs, mut shutdown: Shutdown) -> Result<(), Failure> {
    let (role, input) = plan(&args)?;
    let socket_type = args.spec.socket_type;

    let mut options = Options::default();
    if let Some(timeout) = args.timeout {
        options.linger = Some(timeout);
    }
    sockopt::apply_all(&mut options, &args.sockopt).map_err(Failure::usage)?;
    let secured = args.security.configure("")?;
    secured.apply(&mut options);
    let socket = Socket::with_options(socket_type, options).map_err(Failure::usage)?;
    secured.install(&socket);
    let monitor = args.monitor.then(|| {
        let mut monitor = socket.monitor();
        tokio::spawn(async move {
            while let Some(event) = monitor.recv().await {
                eprintln!("monitor: {} {}", event.kind, event.endpoint);
            }
        })
    });
    if socket_type == SocketType::Sub {
        for topic in topics(&args.subscribe) {
            socket.subscribe(topic).map_err(Failure::runtime)?;
        }
    }
    args.spec.attach(&socket).map_err(Failure::runtime)?;
    tracing::debug!(spec = %args.spec, ?role, "socket ready");

    let cat = Cat {
        socket: &socket,
        args: &args,
    };
    let result = tokio::select! {
        result = cat.run(role, input) => result,
        () = shutdown.wait() => Ok(()),
    };
    socket.close().await;
    if let Some(monitor) = monitor {
        // The events stream ends with the socket: print the last ones.
        let _ = tokio::time::timeout(Duration::from_secs(1), monitor).await;
    }
    result
}

fn topics(subscribe: &[String]) -> Vec<&str> {
    if subscribe.is_empty() {
        vec![""]
    } else {
        subscribe.iter().map(String::as_str).collect()
    }
}

struct Cat<'a> {
    socket: &'a Socket,
    args: &'a CatArgs,
}

impl Cat<'_> {
    async fn run(&self, role: Role, input: Input) -> Result<(), Failure> {
        if self.socket.socket_type() == SocketType::XSub {
            for topic in topics(&self.args.subscribe) {
                let mut subscription = vec![1u8];
                subscription.extend_from_slice(topic.as_bytes());
                self.send(Message::from(subscription)).await?;
            }
        }
        match role {
            Role::Receive => self.receive().await,
            Role::Reply => self.reply(input).await,
            Role::Send | Role::Request => self.send_all(role, input).await,
        }
    }

    async fn send(&self, message: Message) -> Result<(), Failure> {
        let send = self.socket.send(message);
        let sent = match self.args.timeout {
            None => send.await,
            Some(limit) => tokio::time::timeout(limit, send).await.map_err(|_| {
                Failure::Timeout(format!(
                    "could not send within {limit:?}: no peer took the message; is one connected to {}?",
                    self.args.spec
                ))
            })?,
        };
        sent.map_err(Failure::runtime)
    }

    /// The next message, or `None` when `--timeout` passed first.
    async fn recv(&self) -> Result<Option<Message>, Failure> {
        let recv = self.socket.recv();
        let received = match self.args.timeout {
            None => recv.await,
            Some(limit) => match tokio::time::timeout(limit, recv).await {
                Ok(received) => received,
                Err(_) => return Ok(None),
            },
        };
        received.map(Some).map_err(Failure::runtime)
    }

    fn timed_out(&self, what: &str) -> Failure {
        let limit = self.args.timeout.unwrap_or_default();
        Failure::Timeout(format!("{what} within {limit:?} on {}", self.args.spec))
    }

    fn reached(&self, done: u64) -> bool {
        self.args.count.is_some_and(|count| done >= count)
    }

    async fn receive(&self) -> Result<(), Failure> {
        let mut received = 0;
        while !self.reached(received) {
            let Some(message) = self.recv().await? else {
                if received > 0 && self.args.count.is_none() {
                    return Ok(());
                }
                return Err(match self.args.count {
                    Some(count) => {
                        self.timed_out(&format!("received {received} of {count} message(s)"))
                    }
                    None => self.timed_out("nothing arrived"),
                });
            };
            received += 1;
            if !print(self.args.format, &message)? {
                return Ok(());
            }
        }
        Ok(())
    }

    async fn reply(&self, input: Input) -> Result<(), Failure> {
        let router = self.socket.socket_type() == SocketType::Router;
        let mut served = 0;
        while !self.reached(served) {
            let Some(request) = self.recv().await? else {
                if served > 0 && self.args.count.is_none() {
                    return Ok(());
                }
                return Err(self.timed_out("no request arrived"));
            };
            served += 1;
            let open = print(self.args.format, &request)?;
            let reply = match &input {
                Input::Frames(frames) => {
                    let mut reply: Message = if router {
                        envelope(&request).collect()
                    } else {
                        Message::new()
                    };
                    for frame in frames {
                        reply.push(frame.clone());
                    }
                    reply
                }
                _ => request,
            };
            self.send(reply).await?;
            if !open {
                return Ok(());
            }
        }
        Ok(())
    }

    async fn send_all(&self, role: Role, input: Input) -> Result<(), Failure> {
        if let Some(delay) = self.args.delay {
            tokio::time::sleep(delay).await;
        }
        let mut source = Source::new(input, self.args);
        let mut sent = 0;
        while let Some(message) = source.next().await? {
            if sent > 0
                && let Some(interval) = self.args.interval
            {
                tokio::time::sleep(interval).await;
            }
            self.send(message).await?;
            sent += 1;
            if role == Role::Request {
                let Some(reply) = self.recv().await? else {
                    return Err(self.timed_out("no reply arrived"));
                };
                if !print(self.args.format, &reply)? {
                    return Ok(());
                }
            }
        }
        tracing::debug!(sent, "done sending");
        Ok(())
    }
}

/// A ROUTER request's envelope: the routing id and, if there is one, everything up
/// to the empty delimiter frame, so that the reply reaches a REQ too.
fn envelope(request: &Message) -> impl Iterator<Item = bytes::Bytes> + '_ {
    let frames = request.frames();
    let end = frames
        .iter()
        .position(|frame| frame.is_empty())
        .map_or(1, |delimiter| delimiter + 1)
        .min(frames.len());
    frames[..end].iter().cloned()
}

/// Outgoing messages, in order.
enum Source {
    Repeat {
        message: Message,
        remaining: Option<u64>,
    },
    Stdin {
        reader: BufReader<Stdin>,
        delimiter: u8,
        remaining: Option<u64>,
    },
}

impl Source {
    fn new(input: Input, args: &CatArgs) -> Source {
        match input {
            Input::Frames(frames) => Source::Repeat {
                message: frames.into_iter().collect(),
                // Once, unless --count says how often or --interval asks for ever.
                remaining: match (args.count, args.interval) {
                    (Some(count), _) => Some(count),
                    (None, Some(_)) => None,
                    (None, None) => Some(1),
                },
            },
            Input::Lines | Input::None | Input::NulDelimited => Source::Stdin {
                reader: BufReader::new(tokio::io::stdin()),
                delimiter: if input == Input::NulDelimited {
                    0
                } else {
                    b'\n'
                },
                remaining: args.count,
            },
        }
    }

    async fn next(&mut self) -> Result<Option<Message>, Failure> {
        match self {
            Source::Repeat { message, remaining } => {
                if let Some(left) = remaining {
                    if *left == 0 {
                        return Ok(None);
                    }
                    *left -= 1;
                }
                Ok(Some(message.clone()))
            }
            Source::Stdin {
                reader,
                delimiter,
                remaining,
            } => {
                if *remaining == Some(0) {
                    return Ok(None);
                }
                let mut buffer = Vec::new();
                let read = reader
                    .read_until(*delimiter, &mut buffer)
                    .await
                    .map_err(|e| Failure::Runtime(format!("cannot read stdin: {e}")))?;
                if read == 0 {
                    return Ok(None);
                }
                if buffer.last() == Some(delimiter) {
                    buffer.pop();
                    if *delimiter == b'\n' && buffer.last() == Some(&b'\r') {
                        buffer.pop();
                    }
                }
                if let Some(left) = remaining {
                    *left -= 1;
                }
                Ok(Some(Message::from(buffer)))
            }
        }
    }
}

/// Prints a message to stdout; `false` once stdout is closed (`| head`).
fn print(format: Format, message: &Message) -> Result<bool, Failure> {
    let mut out = Vec::new();
    format.write(message, &mut out);
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
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        cat: CatArgs,
    }

    fn plan_of(args: &[&str]) -> Result<(Role, Input), Failure> {
        let cli = Cli::try_parse_from(std::iter::once("cat").chain(args.iter().copied())).unwrap();
        plan(&cli.cat)
    }

    fn usage(args: &[&str]) -> String {
        match plan_of(args) {
            Err(Failure::Usage(message)) => message,
            other => panic!("expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn roles_follow_the_socket_type() {
        let frames = |f: &[&str]| Input::Frames(f.iter().map(|s| s.as_bytes().to_vec()).collect());
        assert_eq!(
            plan_of(&["push>inproc://a"]).unwrap(),
            (Role::Send, Input::Lines)
        );
        assert_eq!(
            plan_of(&["pull@inproc://a"]).unwrap(),
            (Role::Receive, Input::None)
        );
        assert_eq!(
            plan_of(&["req>inproc://a", "-D", "x"]).unwrap(),
            (Role::Request, frames(&["x"]))
        );
        assert_eq!(plan_of(&["dealer>inproc://a"]).unwrap().0, Role::Receive);
        assert_eq!(
            plan_of(&["dealer>inproc://a", "-D", "x"]).unwrap().0,
            Role::Request
        );
        assert_eq!(plan_of(&["pair>inproc://a"]).unwrap().0, Role::Receive);
        assert_eq!(
            plan_of(&["pair>inproc://a", "--stdin"]).unwrap(),
            (Role::Send, Input::Lines)
        );
        assert_eq!(
            plan_of(&["rep@inproc://a", "--echo"]).unwrap(),
            (Role::Reply, Input::None)
        );
        assert_eq!(plan_of(&["router@inproc://a"]).unwrap().0, Role::Receive);
        assert_eq!(
            plan_of(&["router@inproc://a", "--echo"]).unwrap().0,
            Role::Reply
        );
        assert_eq!(
            plan_of(&["push>inproc://a", "-0"]).unwrap(),
            (Role::Send, Input::NulDelimited)
        );
    }

    #[test]
    fn misuse_names_the_flag_to_drop_or_add() {
        assert_eq!(
            usage(&["pull@inproc://a", "-D", "x"]),
            "pull sockets only receive; drop -D, --file, -0 and --stdin (or use push, pub, req, dealer or pair to send)"
        );
        assert_eq!(
            usage(&["rep@inproc://a"]),
            "a rep socket must answer each request: give the reply with -D FRAME, or --echo"
        );
        assert_eq!(
            usage(&["push>inproc://a", "--subscribe", "x"]),
            "--subscribe is for sub and xsub sockets, not push; drop it or use sub@/sub>"
        );
        assert_eq!(
            usage(&["pull@inproc://a", "--echo"]),
            "--echo is for rep and router sockets, not pull; drop --echo"
        );
    }

    #[test]
    fn a_router_reply_keeps_the_envelope() {
        let request: Message = ["id", "", "body"].into_iter().collect();
        assert_eq!(envelope(&request).collect::<Vec<_>>(), ["id", ""]);
        let bare: Message = ["id", "body"].into_iter().collect();
        assert_eq!(envelope(&bare).collect::<Vec<_>>(), ["id"]);
    }
}
