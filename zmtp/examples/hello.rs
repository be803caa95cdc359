//! The ZeroMQ guide's "Hello World" over real TCP, driven by the sans-IO codec with
//! nothing but `std::net`.
//!
//! ```text
//! cargo run -p purezmq-zmtp --example hello                  # server and client, here
//! cargo run -p purezmq-zmtp --example hello -- server 5555   # like the guide's hwserver
//! cargo run -p purezmq-zmtp --example hello -- client localhost:5555   # like hwclient
//! ```
//!
//! The server answers every "Hello" with "World" as the guide's hwserver does, so the
//! guide's own hwclient (in any language, libzmq underneath) talks to it unchanged, and
//! the client talks to the guide's hwserver.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Instant as StdInstant;

use bytes::Bytes;
use purezmq_zmtp::mechanism::Null;
use purezmq_zmtp::{Config, Connection, Event, Instant, Message, SocketType};

/// Any failure: I/O, or the peer breaking the protocol.
type Error = Box<dyn std::error::Error + Send + Sync>;

/// One connection driven over a blocking TCP stream.
struct Peer {
    stream: TcpStream,
    conn: Connection,
    start: StdInstant,
}

impl Peer {
    fn new(stream: TcpStream, socket_type: SocketType) -> Peer {
        let conn = Connection::new(
            Config::new(socket_type),
            Box::new(Null::new()),
            Instant::ZERO,
        );
        Peer {
            stream,
            conn,
            start: StdInstant::now(),
        }
    }

    /// Writes what the connection has to say, then reads until it has an event.
    fn next_event(&mut self) -> Result<Event, Error> {
        let mut buf = [0u8; 8192];
        loop {
            let out = self.conn.send_buffer().take_all();
            self.stream.write_all(&out)?;
            if let Some(event) = self.conn.poll_event() {
                return Ok(event);
            }
            let n = self.stream.read(&mut buf)?;
            if n == 0 {
                return Err("peer closed the connection".into());
            }
            let now = Instant::from_elapsed(self.start.elapsed());
            self.conn.feed(&buf[..n], now)?;
        }
    }

    /// The next message, skipping the handshake event.
    fn recv(&mut self) -> Result<Message, Error> {
        loop {
            if let Event::Message(message) = self.next_event()? {
                return Ok(message);
            }
        }
    }

    fn wait_ready(&mut self) -> Result<(), Error> {
        while !self.conn.is_ready() {
            self.next_event()?;
        }
        Ok(())
    }

    fn send(&mut self, message: &Message) -> Result<(), Error> {
        self.conn.send(message)?;
        let out = self.conn.send_buffer().take_all();
        self.stream.write_all(&out)?;
        Ok(())
    }
}

/// A REP socket's envelope: the empty delimiter a REQ puts before its request.
fn with_delimiter(body: &'static str) -> Message {
    Message::from(vec![Bytes::new(), Bytes::from_static(body.as_bytes())])
}

fn serve(listener: TcpListener) -> Result<(), Error> {
    println!(
        "hwserver listening on tcp://{}",
        listener.local_addr().expect("bound")
    );
    for stream in listener.incoming() {
        let mut rep = Peer::new(stream?, SocketType::Rep);
        std::thread::spawn(move || {
            while let Ok(request) = rep.recv() {
                let body = request.frames().last().cloned().unwrap_or_default();
                println!("Received request: {}", String::from_utf8_lossy(&body));
                if rep.send(&with_delimiter("World")).is_err() {
                    break;
                }
            }
        });
    }
    Ok(())
}

fn client(address: &str) -> Result<(), Error> {
    println!("Connecting to hello world server at {address}…");
    let stream = TcpStream::connect(address)?;
    let mut req = Peer::new(stream, SocketType::Req);
    req.wait_ready()?;
    for n in 0..10 {
        println!("Sending Hello {n}…");
        req.send(&with_delimiter("Hello"))?;
        let reply = req.recv()?;
        let body = reply.frames().last().cloned().unwrap_or_default();
        println!("Received {} {n}", String::from_utf8_lossy(&body));
    }
    Ok(())
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["server", port] => {
            serve(TcpListener::bind(("0.0.0.0", port.parse().expect("a port"))).expect("bind"))
        }
        ["client", address] => client(address),
        [] => {
            let listener = TcpListener::bind("127.0.0.1:0")?;
            let address = listener.local_addr()?.to_string();
            std::thread::spawn(move || serve(listener));
            client(&address)
        }
        _ => {
            eprintln!("usage: hello [server PORT | client HOST:PORT]");
            std::process::exit(2);
        }
    }
}
