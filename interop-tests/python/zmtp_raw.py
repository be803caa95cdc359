"""A raw, hand-driven ZMTP peer for talking to libzmq byte by byte.

This module owns the raw side of interop conversations: encoders for the
few ZMTP 3.x structures the raw side sends (RFC 23 / 37 / 24), and `Raw`, a
TCP connection read with explicit timeouts that hands back frames exactly
as libzmq put them on the wire. It deliberately has no ZMTP state machine:
callers script each conversation step by step.
"""

import select
import socket
import struct
import time

# Upper bound for any single expected read; generous for slow CI machines.
TIMEOUT = 5.0
# How long to wait for more bytes before deciding libzmq has finished a stage.
SILENCE = 0.3


def signature(padding=b"\x00" * 8):
    """The 10-byte signature: 0xFF, 8 padding bytes, 0x7F."""
    return b"\xff" + padding + b"\x7f"


def greeting(mechanism=b"NULL", as_server=False, minor=1, padding=b"\x00" * 8):
    """A full 64-byte ZMTP 3.x greeting."""
    return (
        signature(padding)
        + bytes([3, minor])
        + mechanism.ljust(20, b"\x00")
        + bytes([1 if as_server else 0])
        + b"\x00" * 31
    )


def frame(body, flags=0):
    """One frame: short size when the body fits in a byte, long otherwise."""
    if len(body) <= 255:
        return bytes([flags, len(body)]) + body
    return bytes([flags | 0x02]) + struct.pack(">Q", len(body)) + body


def command(name, data=b""):
    """A command frame: 1-byte name length, name, data."""
    return frame(bytes([len(name)]) + name + data, flags=0x04)


def metadata(props):
    """Encode (name, value) pairs: 1-byte name length, name, u32 BE length, value."""
    out = b""
    for name, value in props:
        out += bytes([len(name)]) + name + struct.pack(">I", len(value)) + value
    return out


def ready(socket_type, identity=None):
    """A NULL/PLAIN READY command announcing `socket_type` (and `identity`)."""
    props = [(b"Socket-Type", socket_type)]
    if identity is not None:
        props.append((b"Identity", identity))
    return command(b"READY", metadata(props))


def hello(username, password):
    """A PLAIN HELLO command."""
    return command(
        b"HELLO", bytes([len(username)]) + username + bytes([len(password)]) + password
    )


def ping(ttl_deciseconds, context):
    """A ZMTP 3.1 PING command."""
    return command(b"PING", struct.pack(">H", ttl_deciseconds) + context)


class Raw:
    """A raw TCP connection to a libzmq socket, read with explicit timeouts."""

    def __init__(self, endpoint):
        host, port = endpoint.rsplit("/", 1)[1].rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=TIMEOUT)
        # Small writes must leave at once so libzmq sees each greeting stage
        # on its own rather than coalesced with the next.
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def recv_exact(self, n):
        """Exactly `n` bytes; raises on EOF or after TIMEOUT."""
        self.sock.settimeout(TIMEOUT)
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise EOFError(f"libzmq closed after {len(out)} of {n} bytes: {out.hex()}")
            out += chunk
        return out

    def recv_until_silence(self, quiet=SILENCE):
        """Everything libzmq sends until `quiet` seconds pass without data.

        Returns (bytes, closed): `closed` tells whether libzmq closed the
        connection (EOF or reset) rather than merely falling silent.
        """
        out = b""
        self.sock.settimeout(quiet)
        while True:
            try:
                chunk = self.sock.recv(4096)
            except socket.timeout:
                return out, False
            except ConnectionResetError:
                return out, True
            if not chunk:
                return out, True
            out += chunk

    def wait_readable(self, pump):
        """Wait for data, calling `pump()` while waiting.

        Used to keep a libzmq socket processing its command queue; see
        `capture_vectors.pump` for why that matters.
        """
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            pump()
            readable, _, _ = select.select([self.sock], [], [], 0.05)
            if readable:
                return
        raise TimeoutError("libzmq sent nothing")

    def recv_frame(self):
        """One whole frame exactly as received: flags, size and body."""
        head = self.recv_exact(1)
        if head[0] & 0x02:
            size_bytes = self.recv_exact(8)
            size = struct.unpack(">Q", size_bytes)[0]
        else:
            size_bytes = self.recv_exact(1)
            size = size_bytes[0]
        return head + size_bytes + self.recv_exact(size)

    def recv_message(self):
        """All frames of one message (up to one without MORE), as received."""
        out = b""
        while True:
            f = self.recv_frame()
            out += f
            if not f[0] & 0x01:
                return out
