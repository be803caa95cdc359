"""The libzmq side of purezmq's security interop tests (tests/security_matrix.rs).

Usage:
  security_peer.py TYPE bind|connect ENDPOINT SCENARIO [options]
  security_peer.py certs DIR NAME...

The first form runs one socket of TYPE (REQ, REP, DEALER, ROUTER, PUB, SUB, XPUB,
XSUB, PUSH, PULL) with a security mechanism and, optionally, a ZAP authenticator
(pyzmq's ThreadAuthenticator). SCENARIO is what it does:

  echo   sends every message it receives straight back (REP, ROUTER)
  drive  sends the test sequence, at most --window messages ahead, and checks that
         each comes back unchanged (REQ, DEALER)
  send   sends the test sequence (PUSH; PUB and XPUB with the pub/sub round below)
  recv   receives the test sequence and checks it (PULL; SUB and XSUB with the
         pub/sub round below)

drive, send and recv repeat their round --rounds times, pausing --idle-ms between
rounds; echo runs until the process is killed, and so does every process after its
rounds, so that nothing it queued is lost.

The test sequence (security_matrix.rs builds the same one): --count one-frame
messages b"message <i>"; a multipart message with empty frames; a one-frame message
of --large bytes; a message with frames of 0, 255, 256 and --large bytes. Frame
contents are byte i = i mod 256.

A pub/sub round: the subscriber is subscribed to b"T" before it connects (an XPUB
here first waits for that subscription and prints "subscribed T"). The publisher
sends [T, warmup] every millisecond until the subscriber has one (a SUB or XSUB here
prints "joined"; a publisher here waits for SIGUSR1), then the sequence with the
topic frame b"T" in front of each message, each preceded by [X, filtered], a topic
nobody subscribes. The subscriber checks the sequence, skipping warm-ups, and that
no X came through.

The second form writes DIR/NAME.key and DIR/NAME.key_secret for each NAME with
zmq.auth.create_certificates and prints "certs".

Output, one line each: "ready <endpoint>" once bound (with the port picked) or
connected; "received" when the first message arrives; "joined" and "subscribed T"
as above; per round "ok" or "fail <what>" from drive and recv; and, from the
socket's monitor, "event <NAME> <value>" for each handshake event (HANDSHAKE_*) and
for DISCONNECTED.
"""

import argparse
import collections
import signal
import sys
import threading
import time

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator
from zmq.utils.monitor import recv_monitor_message

# How long any single receive may wait before the round fails.
TIMEOUT_MS = 30_000
SMALL_SIZES = (0, 255, 256)
WATCHED = (
    zmq.EVENT_HANDSHAKE_SUCCEEDED
    | zmq.EVENT_HANDSHAKE_FAILED_AUTH
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
    | zmq.EVENT_DISCONNECTED
)

_output = threading.Lock()


def say(line):
    """Prints one whole line; the monitor thread and the main thread both report."""
    with _output:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def payload(size):
    """size bytes whose byte i is i mod 256."""
    return (bytes(range(256)) * (size // 256 + 1))[:size]


def sequence(count, large):
    """The test sequence, as lists of frames."""
    messages = [[b"message %d" % i] for i in range(count)]
    messages.append([b"", b"multi", b"", b"", b"part", b""])
    messages.append([payload(large)])
    messages.append([payload(size) for size in SMALL_SIZES + (large,)])
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


class Receiver:
    """Receives, saying "received" the first time a message arrives."""

    def __init__(self, sock):
        self.sock = sock
        self.first = True

    def __call__(self, what):
        try:
            message = self.sock.recv_multipart()
        except zmq.Again:
            raise Failure(f"no message within {TIMEOUT_MS} ms while waiting for {what}")
        if self.first:
            self.first = False
            say("received")
        return message


def describe(frames):
    """A short description of a message for failure lines."""
    shown = []
    for frame in frames[:6]:
        shown.append(repr(frame) if len(frame) <= 24 else f"<{len(frame)} bytes>")
    more = ", ..." if len(frames) > 6 else ""
    return f"[{', '.join(shown)}{more}]"


def expect(got, want, what):
    if got != want:
        raise Failure(f"{what}: expected {describe(want)}, got {describe(got)}")


def echo(sock, recv):
    while True:
        try:
            message = recv("a message to echo")
        except Failure:
            continue
        sock.send_multipart(message)


def drive(sock, recv, messages, window):
    pending = collections.deque()
    sent = 0
    received = 0
    while received < len(messages):
        while sent < len(messages) and len(pending) < window:
            sock.send_multipart(messages[sent])
            pending.append(messages[sent])
            sent += 1
        got = recv(f"the echo of message {received}")
        expect(got, pending.popleft(), f"echo {received}")
        received += 1


def receive(recv, messages):
    for index, message in enumerate(messages):
        expect(recv(f"message {index}"), message, f"message {index}")


def publish_round(sock, kind, recv, messages, signals, first):
    if kind == zmq.XPUB and first:
        while recv("the subscription to T") != [b"\x01T"]:
            pass
        say("subscribed T")
    while not signals.take():
        sock.send_multipart([b"T", b"warmup"])
        time.sleep(0.001)
    for message in messages:
        sock.send_multipart([b"X", b"filtered"])
        sock.send_multipart([b"T"] + message)


def subscribe_round(recv, messages):
    while recv("a warm-up message") != [b"T", b"warmup"]:
        pass
    say("joined")
    got = recv("message 0")
    while got == [b"T", b"warmup"]:
        got = recv("message 0")
    for index, message in enumerate(messages):
        if index > 0:
            got = recv(f"message {index}")
        expect(got, [b"T"] + message, f"message {index}")


def watch(monitor):
    """Reports the socket's handshake and disconnect events until the socket closes."""
    while True:
        try:
            event = recv_monitor_message(monitor)
        except zmq.ZMQError:
            return
        say(f"event {zmq.Event(event['event']).name} {event['value']}")


class AllowKeys:
    """A ZAP CURVE credentials provider admitting the given Z85 keys."""

    def __init__(self, keys):
        self.keys = {key.encode() for key in keys}

    def callback(self, domain, key):
        # pyzmq hands the key over in Z85 already.
        return key in self.keys


def start_authenticator(ctx, args):
    """A ThreadAuthenticator configured from the command line, or None."""
    wanted = (
        args.allow or args.deny or args.plain_password or args.curve_allow
        or args.curve_any or args.curve_location
    )
    if not wanted:
        return None
    auth = ThreadAuthenticator(ctx)
    auth.start()
    if args.allow:
        auth.allow(*args.allow)
    if args.deny:
        auth.deny(*args.deny)
    if args.plain_password:
        passwords = dict(entry.split("=", 1) for entry in args.plain_password)
        auth.configure_plain(domain="*", passwords=passwords)
    if args.curve_allow:
        auth.configure_curve_callback(domain="*", credentials_provider=AllowKeys(args.curve_allow))
    elif args.curve_any:
        auth.configure_curve(domain="*", location=zmq.auth.CURVE_ALLOW_ANY)
    elif args.curve_location:
        auth.configure_curve(domain="*", location=args.curve_location)
    return auth


def configure_security(sock, args):
    if args.mechanism == "plain-client":
        sock.plain_username = args.username.encode()
        sock.plain_password = args.password.encode()
    elif args.mechanism == "plain-server":
        sock.plain_server = True
    elif args.mechanism in ("curve-client", "curve-server"):
        if args.cert:
            public, secret = zmq.auth.load_certificate(args.cert)
        else:
            secret = args.secret.encode()
            public = zmq.curve_public(secret)
        sock.curve_secretkey = secret
        sock.curve_publickey = public
        if args.mechanism == "curve-server":
            sock.curve_server = True
        elif args.server_cert:
            sock.curve_serverkey, _ = zmq.auth.load_certificate(args.server_cert)
        else:
            sock.curve_serverkey = args.server_key.encode()
    if args.zap_domain is not None:
        sock.zap_domain = args.zap_domain.encode()


def certs(directory, names):
    for name in names:
        zmq.auth.create_certificates(directory, name, metadata={"name": name})
    say("certs")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("type")
    parser.add_argument("mode", choices=["bind", "connect"])
    parser.add_argument("endpoint")
    parser.add_argument("scenario", choices=["echo", "drive", "send", "recv"])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--large", type=int, default=256 * 1024, help="bytes in the large frame")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--idle-ms", type=int, default=0)
    parser.add_argument("--window", type=int, default=1)
    parser.add_argument("--hwm", type=int, help="SNDHWM and RCVHWM")
    parser.add_argument("--heartbeat-ivl", type=int, help="ZMQ_HEARTBEAT_IVL in ms")
    parser.add_argument("--heartbeat-timeout", type=int, help="ZMQ_HEARTBEAT_TIMEOUT in ms")
    security = parser.add_argument_group("security")
    security.add_argument(
        "--mechanism",
        choices=["null", "plain-client", "plain-server", "curve-client", "curve-server"],
        default="null",
    )
    security.add_argument("--username", default="")
    security.add_argument("--password", default="")
    security.add_argument("--secret", help="our CURVE secret key in Z85")
    security.add_argument("--cert", help="our CURVE keys from a .key_secret file")
    security.add_argument("--server-key", help="the CURVE server's public key in Z85")
    security.add_argument("--server-cert", help="the CURVE server's public key from a .key file")
    security.add_argument("--zap-domain")
    auth = parser.add_argument_group("ZAP authenticator")
    auth.add_argument("--allow", action="append", help="admit only this IP address")
    auth.add_argument("--deny", action="append", help="refuse this IP address")
    auth.add_argument("--plain-password", action="append", metavar="USER=PASSWORD")
    auth.add_argument("--curve-allow", action="append", metavar="Z85", help="admit this client key")
    auth.add_argument("--curve-any", action="store_true", help="admit any client key")
    auth.add_argument("--curve-location", help="admit the keys of the .key files in this directory")
    args = parser.parse_args()

    signals = Signals()
    kind = getattr(zmq, args.type)
    ctx = zmq.Context()
    authenticator = start_authenticator(ctx, args)
    sock = ctx.socket(kind)
    sock.rcvtimeo = TIMEOUT_MS
    if args.hwm is not None:
        sock.sndhwm = args.hwm
        sock.rcvhwm = args.hwm
    if args.heartbeat_ivl is not None:
        sock.heartbeat_ivl = args.heartbeat_ivl
    if args.heartbeat_timeout is not None:
        sock.heartbeat_timeout = args.heartbeat_timeout
    configure_security(sock, args)
    monitor = sock.get_monitor_socket(WATCHED)
    threading.Thread(target=watch, args=(monitor,), daemon=True).start()
    if kind == zmq.SUB:
        # Before connecting, so the subscription goes out with the handshake.
        sock.setsockopt(zmq.SUBSCRIBE, b"T")
    elif kind == zmq.XSUB:
        sock.send(b"\x01T")

    if args.mode == "bind":
        sock.bind(args.endpoint)
        endpoint = sock.getsockopt_string(zmq.LAST_ENDPOINT)
    else:
        sock.connect(args.endpoint)
        endpoint = args.endpoint
    say(f"ready {endpoint}")

    recv = Receiver(sock)
    messages = sequence(args.count, args.large)
    if args.scenario == "echo":
        echo(sock, recv)
    for round_ in range(args.rounds):
        if round_ > 0 and args.scenario in ("drive", "send"):
            time.sleep(args.idle_ms / 1000)
        try:
            if args.scenario == "drive":
                drive(sock, recv, messages, args.window)
                say("ok")
            elif args.scenario == "send" and kind in (zmq.PUB, zmq.XPUB):
                publish_round(sock, kind, recv, messages, signals, round_ == 0)
            elif args.scenario == "send":
                for message in messages:
                    sock.send_multipart(message)
            elif kind in (zmq.SUB, zmq.XSUB):
                subscribe_round(recv, messages)
                say("ok")
            else:
                receive(recv, messages)
                say("ok")
        except Failure as failure:
            say(f"fail {failure}")
            break
    # Stay until killed: a PUSH's or PUB's last messages may still be queued (and
    # the authenticator keeps answering).
    assert authenticator is None or authenticator.is_alive()
    while True:
        signal.pause()


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "certs":
        certs(sys.argv[2], sys.argv[3:])
    else:
        sys.exit(main())
