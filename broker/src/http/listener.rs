//! The gateway's TCP listener, forgiving about the first request line.
//!
//! `curl -g 'http://127.0.0.1:9001/echo?args=["hello"]'` sends the quotes and
//! brackets as they are typed, and so do other command-line clients; browsers
//! percent-encode them. HTTP's grammar has no room for `"`, `{`, `|` and a few other
//! bytes in a request target, and the HTTP parser refuses such a request with a bare
//! 400. So each connection's first request line goes through [`RequestLineFix`],
//! which percent-encodes those bytes inside the target (`"` becomes `%22`) and
//! leaves everything else as it came. Decoding the query gives the same text back,
//! so the gateway sees exactly what the user typed. Later requests on a kept-alive
//! connection come from clients that reuse connections, which encode as they
//! should; they pass untouched.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Accepts TCP connections and wraps each in a [`RequestLineFix`].
#[derive(Debug)]
pub struct LenientListener {
    inner: TcpListener,
}

impl LenientListener {
    /// Takes over a bound listener.
    pub fn new(inner: TcpListener) -> LenientListener {
        LenientListener { inner }
    }
}

impl axum::serve::Listener for LenientListener {
    type Io = RequestLineFix<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, peer)) => {
                    if let Err(error) = stream.set_nodelay(true) {
                        tracing::debug!(%error, "cannot set TCP_NODELAY");
                    }
                    return (RequestLineFix::new(stream), peer);
                }
                Err(error) => {
                    // Out of file descriptors and the like: wait a little rather
                    // than spin, as axum's own TcpListener does.
                    tracing::warn!(%error, "cannot accept an HTTP connection");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// Where the first request line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Line {
    /// In the method, before the first space.
    Method,
    /// In the request target, where bytes HTTP forbids get percent-encoded.
    Target,
    /// Past the target: everything passes as it is.
    Done,
}

/// A stream whose first request line's target has HTTP's forbidden bytes
/// percent-encoded; writes and everything after that line pass through.
#[derive(Debug)]
pub struct RequestLineFix<S> {
    inner: S,
    line: Line,
    /// Encoded bytes that did not fit the caller's buffer last time.
    pending: [u8; 3],
    pending_start: usize,
    pending_end: usize,
}

impl<S> RequestLineFix<S> {
    /// Wraps a fresh connection.
    pub fn new(inner: S) -> RequestLineFix<S> {
        RequestLineFix {
            inner,
            line: Line::Method,
            pending: [0; 3],
            pending_start: 0,
            pending_end: 0,
        }
    }

    /// Moves pending bytes into `buf`.
    fn flush_pending(&mut self, buf: &mut ReadBuf<'_>) {
        let take = (self.pending_end - self.pending_start).min(buf.remaining());
        buf.put_slice(&self.pending[self.pending_start..self.pending_start + take]);
        self.pending_start += take;
    }

    /// Puts one byte read from the peer into `buf`, encoded if it is in the target
    /// and HTTP forbids it there.
    fn push(&mut self, byte: u8, buf: &mut ReadBuf<'_>) {
        let mut encoded = [byte, 0, 0];
        let mut len = 1;
        match self.line {
            Line::Method if byte == b' ' => self.line = Line::Target,
            Line::Method | Line::Target if byte == b'\r' || byte == b'\n' => {
                self.line = Line::Done;
            }
            Line::Target if byte == b' ' => self.line = Line::Done,
            Line::Target if needs_encoding(byte) => {
                encoded = [
                    b'%',
                    HEX[usize::from(byte >> 4)],
                    HEX[usize::from(byte & 15)],
                ];
                len = 3;
            }
            _ => {}
        }
        let fits = len.min(buf.remaining());
        buf.put_slice(&encoded[..fits]);
        if fits < len {
            self.pending[..len - fits].copy_from_slice(&encoded[fits..len]);
            self.pending_start = 0;
            self.pending_end = len - fits;
        }
    }
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Bytes a request target may not hold raw: HTTP's URI grammar leaves them out
/// (and the parser refuses them), though clients send them as typed.
fn needs_encoding(byte: u8) -> bool {
    matches!(
        byte,
        b'"' | b'<' | b'>' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}'
    ) || byte >= 0x7f
}

impl<S: AsyncRead + Unpin> AsyncRead for RequestLineFix<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.pending_start < this.pending_end {
            this.flush_pending(buf);
            return Poll::Ready(Ok(()));
        }
        if this.line == Line::Done {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        // Read no more than fits once every byte is encoded (at least one byte;
        // what does not fit waits in `pending`).
        let mut scratch = [0u8; 512];
        let room = (buf.remaining() / 3).clamp(1, scratch.len());
        let mut raw = ReadBuf::new(&mut scratch[..room]);
        match Pin::new(&mut this.inner).poll_read(cx, &mut raw) {
            Poll::Ready(Ok(())) => {
                let filled = raw.filled().len();
                for &byte in &scratch[..filled] {
                    this.push(byte, buf);
                }
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for RequestLineFix<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, data)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// Reads everything through a fix, `chunk` bytes of buffer at a time.
    async fn through(input: &[u8], chunk: usize) -> Vec<u8> {
        let mut fix = RequestLineFix::new(input);
        let mut out = Vec::new();
        let mut buffer = vec![0u8; chunk];
        loop {
            let n = fix.read(&mut buffer).await.unwrap();
            if n == 0 && fix.pending_start == fix.pending_end {
                return out;
            }
            out.extend_from_slice(&buffer[..n]);
        }
    }

    #[tokio::test]
    async fn the_first_target_is_encoded_and_nothing_else() {
        let request = "GET /echo?args=[\"hello\",{\"a\":\"|\"}] HTTP/1.1\r\nX: \"q\"\r\n\r\nGET /x?\"b\" HTTP/1.1\r\n\r\n";
        let expected = "GET /echo?args=[%22hello%22,%7B%22a%22:%22%7C%22%7D] HTTP/1.1\r\nX: \"q\"\r\n\r\nGET /x?\"b\" HTTP/1.1\r\n\r\n";
        for chunk in [1, 2, 3, 4, 7, 64, 4096] {
            let out = through(request.as_bytes(), chunk).await;
            assert_eq!(String::from_utf8(out).unwrap(), expected, "chunk {chunk}");
        }
    }

    #[tokio::test]
    async fn utf8_in_the_target_is_encoded_byte_by_byte() {
        let out = through("GET /echo?args=[\"é\"] HTTP/1.1\r\n\r\n".as_bytes(), 5).await;
        assert_eq!(out, b"GET /echo?args=[%22%C3%A9%22] HTTP/1.1\r\n\r\n");
    }

    #[tokio::test]
    async fn well_formed_requests_pass_unchanged() {
        let request = b"POST /echo?args=%5B%22x%22%5D HTTP/1.1\r\nContent-Length: 3\r\n\r\n{|}";
        assert_eq!(through(request, 2).await, request);
    }
}
