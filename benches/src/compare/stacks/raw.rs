//! The baseline: ZMTP's frame format (1 byte of flags, a 1- or 8-byte length, the
//! body) over plain tokio TCP or Unix sockets, with no handshake, no sockets
//! semantics and no message objects. The sender packs small frames into a 256 KiB
//! buffer and hands large ones to `writev` without copying; the receiver reads
//! 256 KiB at a time, parses each frame's header and skips its body. No ZeroMQ
//! stack can beat this.

use std::io::IoSlice;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

use super::{
    Bind, Broker, BrokerReady, Device, Pattern, Ready, Roles, SubReport, check_size, runtime,
};
use crate::compare::control;

/// Plain sockets carrying ZMTP frames.
pub struct Raw;

/// How much the sender buffers, and the receiver reads, at a time.
const BUFFER: usize = 256 * 1024;

/// Bodies above this size are written from where they are rather than copied.
const COPY_LIMIT: usize = 1024;

fn text(error: std::io::Error) -> String {
    error.to_string()
}

fn not_measured(what: &str) -> String {
    format!("the raw baseline has no {what}")
}

/// A ZMTP frame header for a body of `len` bytes (no MORE, not a command).
fn header(len: usize) -> Vec<u8> {
    if len <= 255 {
        vec![0, len as u8]
    } else {
        let mut header = vec![0x02];
        header.extend_from_slice(&(len as u64).to_be_bytes());
        header
    }
}

/// Reads ZMTP frames from a byte stream.
struct FrameReader<R> {
    stream: R,
    buffer: Box<[u8]>,
    start: usize,
    end: usize,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    fn new(stream: R) -> FrameReader<R> {
        FrameReader {
            stream,
            buffer: vec![0; BUFFER].into_boxed_slice(),
            start: 0,
            end: 0,
        }
    }

    fn available(&self) -> usize {
        self.end - self.start
    }

    /// Reads more bytes, first moving the few unread ones to the front.
    async fn fill(&mut self) -> Result<(), String> {
        self.buffer.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        let read = self
            .stream
            .read(&mut self.buffer[self.end..])
            .await
            .map_err(text)?;
        if read == 0 {
            return Err("the peer closed the connection".to_owned());
        }
        self.end += read;
        Ok(())
    }

    /// Parses the next frame's header and returns its body length.
    async fn header(&mut self) -> Result<usize, String> {
        while self.available() < 2 {
            self.fill().await?;
        }
        let long = self.buffer[self.start] & 0x02 != 0;
        let header = if long { 9 } else { 2 };
        while self.available() < header {
            self.fill().await?;
        }
        let at = self.start + 1;
        let len = if long {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&self.buffer[at..at + 8]);
            u64::from_be_bytes(bytes) as usize
        } else {
            usize::from(self.buffer[at])
        };
        self.start += header;
        Ok(len)
    }

    /// Skips the next frame and returns its body length.
    async fn skip(&mut self) -> Result<usize, String> {
        let len = self.header().await?;
        let mut remaining = len;
        loop {
            let take = remaining.min(self.available());
            self.start += take;
            remaining -= take;
            if remaining == 0 {
                return Ok(len);
            }
            self.fill().await?;
        }
    }

    /// Reads the next frame's body into `body`.
    async fn read(&mut self, body: &mut Vec<u8>) -> Result<(), String> {
        let len = self.header().await?;
        body.clear();
        while body.len() < len {
            if self.available() == 0 {
                self.fill().await?;
            }
            let take = (len - body.len()).min(self.available());
            body.extend_from_slice(&self.buffer[self.start..self.start + take]);
            self.start += take;
        }
        Ok(())
    }
}

/// A connected stream of either kind.
enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

async fn accept(bind: &Bind, ready: Ready<'_>) -> Result<Stream, String> {
    match bind {
        Bind::Tcp => {
            let listener = TcpListener::bind("127.0.0.1:0").await.map_err(text)?;
            let address = listener.local_addr().map_err(text)?;
            ready(&format!("tcp://{address}"), None);
            let (stream, _) = listener.accept().await.map_err(text)?;
            stream.set_nodelay(true).map_err(text)?;
            Ok(Stream::Tcp(stream))
        }
        Bind::Ipc(path) => {
            let listener = UnixListener::bind(path).map_err(text)?;
            ready(&format!("ipc://{}", path.display()), None);
            let (stream, _) = listener.accept().await.map_err(text)?;
            Ok(Stream::Unix(stream))
        }
    }
}

async fn connect(endpoint: &str) -> Result<Stream, String> {
    if let Some(address) = endpoint.strip_prefix("tcp://") {
        let stream = TcpStream::connect(address).await.map_err(text)?;
        stream.set_nodelay(true).map_err(text)?;
        Ok(Stream::Tcp(stream))
    } else if let Some(path) = endpoint.strip_prefix("ipc://") {
        Ok(Stream::Unix(UnixStream::connect(path).await.map_err(text)?))
    } else {
        Err(format!("the raw baseline cannot connect to {endpoint}"))
    }
}

async fn receive<R: AsyncRead + Unpin>(
    stream: R,
    size: usize,
    count: usize,
) -> Result<Duration, String> {
    let mut frames = FrameReader::new(stream);
    check_size(frames.skip().await?, size)?;
    let start = Instant::now();
    for _ in 1..count {
        check_size(frames.skip().await?, size)?;
    }
    Ok(start.elapsed())
}

async fn send<W: AsyncWrite + Unpin>(
    mut stream: W,
    size: usize,
    count: usize,
) -> Result<(), String> {
    let header = header(size);
    let body = vec![0u8; size];
    if size <= COPY_LIMIT {
        let mut buffer = Vec::with_capacity(BUFFER);
        for _ in 0..count {
            buffer.extend_from_slice(&header);
            buffer.extend_from_slice(&body);
            if buffer.len() + header.len() + size > BUFFER {
                stream.write_all(&buffer).await.map_err(text)?;
                buffer.clear();
            }
        }
        stream.write_all(&buffer).await.map_err(text)?;
    } else {
        // Up to 1 MiB of frames per writev, each frame two slices.
        let per_call = (4 * BUFFER / size).clamp(1, 512);
        let mut left = count;
        while left > 0 {
            let frames = left.min(per_call);
            let mut batch: Vec<IoSlice> = (0..frames)
                .flat_map(|_| [IoSlice::new(&header), IoSlice::new(&body)])
                .collect();
            let mut slices = &mut batch[..];
            while !slices.is_empty() {
                let written = stream.write_vectored(slices).await.map_err(text)?;
                if written == 0 {
                    return Err("the receiver closed the connection".to_owned());
                }
                IoSlice::advance_slices(&mut slices, written);
            }
            left -= frames;
        }
    }
    stream.flush().await.map_err(text)?;
    // Hold the connection until the receiver has everything, as the stacks do.
    control::wait_stop_async().await;
    stream.shutdown().await.map_err(text)
}

/// Echoes frames until an empty one, which it echoes too.
async fn echo<S: AsyncRead + AsyncWrite + Unpin>(stream: S) -> Result<u64, String> {
    let (read, mut write) = tokio::io::split(stream);
    let mut frames = FrameReader::new(read);
    let mut body = Vec::new();
    let mut echoed = 0;
    loop {
        frames.read(&mut body).await?;
        let mut frame = header(body.len());
        frame.extend_from_slice(&body);
        write.write_all(&frame).await.map_err(text)?;
        echoed += 1;
        if body.is_empty() {
            return Ok(echoed);
        }
    }
}

async fn ping<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    size: usize,
    warmup: usize,
    duration: Duration,
) -> Result<Vec<u64>, String> {
    let (read, mut write) = tokio::io::split(stream);
    let mut frames = FrameReader::new(read);
    let mut frame = header(size);
    frame.resize(frame.len() + size, 0);
    let mut reply = Vec::with_capacity(size);
    for _ in 0..warmup {
        write.write_all(&frame).await.map_err(text)?;
        frames.read(&mut reply).await?;
        check_size(reply.len(), size)?;
    }
    let mut round_trips = Vec::with_capacity(100_000);
    let start = Instant::now();
    while start.elapsed() < duration {
        let sent = Instant::now();
        write.write_all(&frame).await.map_err(text)?;
        frames.read(&mut reply).await?;
        round_trips.push(sent.elapsed().as_nanos() as u64);
        check_size(reply.len(), size)?;
    }
    write.write_all(&header(0)).await.map_err(text)?;
    frames.read(&mut reply).await?;
    Ok(round_trips)
}

impl Roles for Raw {
    fn pull(
        &self,
        bind: &Bind,
        size: usize,
        count: usize,
        curve: bool,
        ready: Ready,
    ) -> Result<Duration, String> {
        if curve {
            return Err(not_measured("encryption"));
        }
        runtime()?.block_on(async {
            match accept(bind, ready).await? {
                Stream::Tcp(stream) => receive(stream, size, count).await,
                Stream::Unix(stream) => receive(stream, size, count).await,
            }
        })
    }

    fn push(
        &self,
        endpoint: &str,
        size: usize,
        count: usize,
        server_key: Option<&str>,
    ) -> Result<(), String> {
        if server_key.is_some() {
            return Err(not_measured("encryption"));
        }
        runtime()?.block_on(async {
            match connect(endpoint).await? {
                Stream::Tcp(stream) => send(stream, size, count).await,
                Stream::Unix(stream) => send(stream, size, count).await,
            }
        })
    }

    fn inproc(&self, _size: usize, _count: usize) -> Result<Duration, String> {
        Err(not_measured("inproc transport"))
    }

    fn publish(
        &self,
        _bind: &Bind,
        _size: usize,
        _count: usize,
        _ready: Ready,
    ) -> Result<(), String> {
        Err(not_measured("publish-subscribe"))
    }

    fn subscribe(
        &self,
        _endpoint: &str,
        _size: usize,
        _count: usize,
        _subscribed: &mut dyn FnMut(),
    ) -> Result<SubReport, String> {
        Err(not_measured("publish-subscribe"))
    }

    fn echo(&self, _pattern: Pattern, bind: &Bind, ready: Ready) -> Result<u64, String> {
        runtime()?.block_on(async {
            match accept(bind, ready).await? {
                Stream::Tcp(stream) => echo(stream).await,
                Stream::Unix(stream) => echo(stream).await,
            }
        })
    }

    fn ping(
        &self,
        _pattern: Pattern,
        endpoint: &str,
        size: usize,
        warmup: usize,
        duration: Duration,
    ) -> Result<Vec<u64>, String> {
        runtime()?.block_on(async {
            match connect(endpoint).await? {
                Stream::Tcp(stream) => ping(stream, size, warmup, duration).await,
                Stream::Unix(stream) => ping(stream, size, warmup, duration).await,
            }
        })
    }

    fn idle_router(
        &self,
        _bind: &Bind,
        _expect: usize,
        _deadline: Duration,
        _ready: Ready,
        _connected: &mut dyn FnMut(usize),
    ) -> Result<(), String> {
        Err(not_measured("ROUTER"))
    }

    fn proxy(&self, _device: Device, _endpoint: &str, _ready: Ready) -> Result<(), String> {
        Err(not_measured("a proxy"))
    }

    fn broker(&self, _broker: Broker, _ready: BrokerReady) -> Result<(), String> {
        Err(not_measured("a broker"))
    }
}
