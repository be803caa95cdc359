"""The libzmq side of purezmq's socket interop matrix (tests/sockets_matrix.rs).

Usage:
  socket_peer.py TYPE bind|connect ENDPOINT SCENARIO [options]

TYPE is a socket type (REQ, REP, DEALER, ROUTER, PUB, SUB, XPUB, XSUB, PUSH, PULL,
PAIR). SCENARIO is what the peer does, which follows from the pair:

  echo   sends every message it receives straight back (REP, ROUTER, DEALER, PAIR)
  drive  sends the test sequence, at most --window messages ahead, and checks that
         each comes back unchanged (REQ, DEALER)
  send   sends the test sequence (PUSH; PUB and XPUB with the pub/sub phases below)
  recv   receives the test sequence and checks it (PULL; SUB and XSUB with the
         pub/sub phases below)

drive, send and recv repeat their round --rounds times, pausing --idle-ms between
rounds; echo runs until the process is killed. After its rounds the process waits
to be killed, so that nothing it queued is lost.

The test sequence (tests/sockets_matrix.rs builds the same one): --count one-frame
messages b"message <i>"; a multipart message with empty frames; one-frame messages
of 0, 255, 256 and 1 MiB bytes; a message with frames of all those sizes. Frame
contents are byte i = i mod 256. Between pub/sub peers every message carries the
topic frame b"T" in front, and each is preceded by b"X", a topic nobody subscribes.

Pub/sub phases, per round:
  join    the publisher sends [T, warmup] every millisecond until the subscriber
          has received one (a SUB here prints "joined"; a publisher here waits for
          SIGUSR1). An XPUB here first waits for the subscription to T.
  data    the publisher sends the sequence; the subscriber checks it, skipping
          warm-ups, and that no X came through.
  filter  the subscriber unsubscribes T and subscribes U; the publisher sends
          [T, late] and [U, u] every millisecond until the subscriber has seen the
          first U and 50 more messages, all U (a SUB here prints its verdict; a
          publisher here stops on the next SIGUSR1).

Output, one line each: "pid <n>" first; "ready <endpoint>" once bound (with the
port or path picked) or connected; then per round "ok" or "fail <what>" from drive
and recv (recv on SUB/XSUB: "joined", then a verdict for data and one for filter).
"""

import argparse
import collections
import os
import signal
import sys
import time

import zmq

# How long any single receive may wait before the round fails.
TIMEOUT_MS = 30_000
# Messages that must arrive as U, after the first, in the filter phase.
FILTER_CHECK = 50
SIZES = (0, 255, 256, 1 << 20)


def payload(size):
    """size bytes whose byte i is i mod 256."""
    return (bytes(range(256)) * (size // 256 + 1))[:size]


def sequence(count):
    """The test sequence, as lists of frames."""
    messages = [[b"message %d" % i] for i in range(count)]
    messages.append([b"", b"multi", b"", b"", b"part", b""])
    messages.extend([payload(size)] for size in SIZES)
    messages.append([payload(size) for size in SIZES])
    return messages


class Signals:
    """Counts SIGUSR1, which the Rust side sends to move a publisher on."""

    def __init__(self):
        self.received = 0
        self.consumed = 0
        signal.signal(signal.SIGUSR1, self._handle)

    def _handle(self, _signum, _frame):
        self.received += 1

    def take(self):
        """Whether a signal arrived that was not taken yet; takes it."""
        if self.received > self.consumed:
            self.consumed += 1
            return True
        return False


class Failure(Exception):
    pass


def recv(sock, what):
    try:
        return sock.recv_multipart()
    except zmq.Again:
        raise Failure(f"no message within {TIMEOUT_MS} ms while waiting for {what}")


def describe(frames):
    """A short description of a message for failure lines."""
    shown = []
    for frame in frames[:6]:
        shown.append(repr(frame) if len(frame) <= 24 else f"<{len(frame)} bytes>")
    more = ", ..." if len(frames) > 6 else ""
    return f"[{', '.join(shown)}{more}]"


def expect(got, want, index):
    if got != want:
        raise Failure(f"message {index}: expected {describe(want)}, got {describe(got)}")


def set_subscribed(sock, kind, topic, on):
    if kind == zmq.SUB:
        sock.setsockopt(zmq.SUBSCRIBE if on else zmq.UNSUBSCRIBE, topic)
    else:  # XSUB: subscriptions are messages
        sock.send((b"\x01" if on else b"\x00") + topic)


def echo(sock):
    while True:
        try:
            message = sock.recv_multipart()
        except zmq.Again:
            continue
        sock.send_multipart(message)


def drive(sock, messages, window, envelope):
    pending = collections.deque()
    sent = 0
    received = 0
    while received < len(messages):
        while sent < len(messages) and len(pending) < window:
            sock.send_multipart(envelope + messages[sent])
            pending.append(envelope + messages[sent])
            sent += 1
        got = recv(sock, f"the echo of message {received}")
        expect(got, pending.popleft(), received)
        received += 1


def receive(sock, messages):
    for index, message in enumerate(messages):
        expect(recv(sock, f"message {index}"), message, index)


def publish_round(sock, kind, messages, signals, first):
    if kind == zmq.XPUB and first:
        while recv(sock, "the subscription to T") != [b"\x01T"]:
            pass
    while not signals.take():
        sock.send_multipart([b"T", b"warmup"])
        time.sleep(0.001)
    for message in messages:
        sock.send_multipart([b"X", b"filtered"])
        sock.send_multipart([b"T"] + message)
    while not signals.take():
        sock.send_multipart([b"T", b"late"])
        sock.send_multipart([b"U", b"u"])
        time.sleep(0.001)


def subscribe_round(sock, kind, messages, first):
    if not first:
        set_subscribed(sock, kind, b"T", True)
    while recv(sock, "a warm-up message") != [b"T", b"warmup"]:
        pass
    print("joined", flush=True)
    try:
        got = recv(sock, "message 0")
        while got == [b"T", b"warmup"]:
            got = recv(sock, "message 0")
        for index, message in enumerate(messages):
            if index > 0:
                got = recv(sock, f"message {index}")
            expect(got, [b"T"] + message, index)
        print("ok", flush=True)
    except Failure as failure:
        print(f"fail data: {failure}", flush=True)
        raise
    try:
        set_subscribed(sock, kind, b"T", False)
        set_subscribed(sock, kind, b"U", True)
        got = recv(sock, "the first U")
        while got != [b"U", b"u"]:
            if got != [b"T", b"late"]:
                raise Failure(f"expected [T, late] or [U, u], got {describe(got)}")
            got = recv(sock, "the first U")
        for index in range(FILTER_CHECK):
            got = recv(sock, f"U number {index + 1}")
            if got != [b"U", b"u"]:
                raise Failure(f"after unsubscribing T, got {describe(got)}")
        set_subscribed(sock, kind, b"U", False)
        print("ok", flush=True)
    except Failure as failure:
        print(f"fail filter: {failure}", flush=True)
        raise


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("type")
    parser.add_argument("mode", choices=["bind", "connect"])
    parser.add_argument("endpoint")
    parser.add_argument("scenario", choices=["echo", "drive", "send", "recv"])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--idle-ms", type=int, default=0)
    parser.add_argument("--window", type=int, default=1)
    parser.add_argument("--envelope", action="store_true",
                        help="drive: put an empty delimiter frame in front (DEALER to REP)")
    parser.add_argument("--routing-id")
    parser.add_argument("--hwm", type=int, help="SNDHWM and RCVHWM")
    parser.add_argument("--heartbeat-ivl", type=int, help="ZMQ_HEARTBEAT_IVL in ms")
    parser.add_argument("--heartbeat-timeout", type=int, help="ZMQ_HEARTBEAT_TIMEOUT in ms")
    parser.add_argument("--heartbeat-ttl", type=int, help="ZMQ_HEARTBEAT_TTL in ms")
    args = parser.parse_args()

    signals = Signals()
    print(f"pid {os.getpid()}", flush=True)

    kind = getattr(zmq, args.type)
    ctx = zmq.Context()
    sock = ctx.socket(kind)
    sock.rcvtimeo = TIMEOUT_MS
    if args.routing_id:
        sock.routing_id = args.routing_id.encode()
    if args.hwm is not None:
        sock.sndhwm = args.hwm
        sock.rcvhwm = args.hwm
    if args.heartbeat_ivl is not None:
        sock.heartbeat_ivl = args.heartbeat_ivl
    if args.heartbeat_timeout is not None:
        sock.heartbeat_timeout = args.heartbeat_timeout
    if args.heartbeat_ttl is not None:
        sock.heartbeat_ttl = args.heartbeat_ttl
    if kind in (zmq.SUB, zmq.XSUB) and args.scenario == "recv":
        # Before connecting, so the subscription goes out with the handshake.
        set_subscribed(sock, kind, b"T", True)

    if args.mode == "bind":
        sock.bind(args.endpoint)
        endpoint = sock.getsockopt_string(zmq.LAST_ENDPOINT)
    else:
        sock.connect(args.endpoint)
        endpoint = args.endpoint
    print(f"ready {endpoint}", flush=True)

    messages = sequence(args.count)
    if args.scenario == "echo":
        echo(sock)
    for round_ in range(args.rounds):
        if round_ > 0 and args.scenario in ("drive", "send"):
            time.sleep(args.idle_ms / 1000)
        try:
            if args.scenario == "drive":
                envelope = [b""] if args.envelope else []
                drive(sock, messages, args.window, envelope)
                print("ok", flush=True)
            elif args.scenario == "send" and kind in (zmq.PUB, zmq.XPUB):
                publish_round(sock, kind, messages, signals, round_ == 0)
            elif args.scenario == "send":
                for message in messages:
                    sock.send_multipart(message)
            elif kind in (zmq.SUB, zmq.XSUB):
                subscribe_round(sock, kind, messages, round_ == 0)
            else:
                receive(sock, messages)
                print("ok", flush=True)
        except Failure as failure:
            if args.scenario in ("drive", "recv") and kind not in (zmq.SUB, zmq.XSUB):
                print(f"fail {failure}", flush=True)
            break
    # Stay until killed: a PUSH's or PUB's last messages may still be queued.
    while True:
        signal.pause()


if __name__ == "__main__":
    sys.exit(main())
