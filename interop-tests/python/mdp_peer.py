"""Majordomo peers written from the RFCs, as the libzmq side of purezmq's broker
interop tests: MDP/0.1 (RFC 7) and MDP/0.2 (RFC 18) clients and workers, an MMI
(RFC 8) client, a Titanic (RFC 9) client and a raw DEALER for probing.

Usage:
  mdp_peer.py client01 --broker EP --service S [--dealer] [--count N] [--timeout MS] FRAME...
  mdp_peer.py worker01 --broker EP --service S [--heartbeat MS] [--liveness N] [--max N]
                       [--mode echo|upper|fail-after K] [--delay MS]
  mdp_peer.py client02 --broker EP --service S [--empty|--no-empty] [--count N] [--timeout MS] FRAME...
  mdp_peer.py worker02 --broker EP --service S [--empty|--no-empty] [--partials K]
                       [--heartbeat MS] [--liveness N] [--max N] [--mode ...]
  mdp_peer.py mmi      --broker EP [--service mmi.service] [--dealer] [--timeout MS] FRAME...
  mdp_peer.py titanic  --broker EP [--timeout MS] request SERVICE FRAME...
  mdp_peer.py titanic  --broker EP [--timeout MS] reply UUID [--wait MS]
  mdp_peer.py titanic  --broker EP [--timeout MS] close UUID
  mdp_peer.py raw      --broker EP [--identity ID] [--timeout MS] FRAME... [--then FRAME...]...

FRAME arguments: `0x` followed by hex digits is those bytes (`0x` alone is an
empty frame), anything else is the argument's UTF-8 text ('' is an empty frame).

Output (stdout, one line each, flushed as printed). Frames are shown as text,
decoded from UTF-8 with errors='backslashreplace'.
  client01, mmi   {"service": S, "body": [...]} per reply.
  client02        {"kind": "partial"|"final", "service": S, "body": [...]} per
                  PARTIAL and FINAL.
  worker01/02     READY                 connected (ZMTP handshake done) and READY
                                        sent; printed again after each reconnect.
                  REQUEST <client-hex> <body json>   for each request.
                  DISCONNECT            the broker sent DISCONNECT; the worker
                                        reconnects on a new socket (RFC 7/18).
                  SILENT                no command from the broker for
                                        liveness x heartbeat; the worker reconnects.
                  CRASH                 --mode fail-after K: the request after the
                                        first K, left unanswered; exit status 4.
                  DONE                  --max requests answered; DISCONNECT sent.
  titanic         {"service": "titanic.<op>", "status": "200", "frames": [...]}
  raw             {"frames": [...], "hex": [...]} per message received.

Exit status: 0 done; 1 the broker sent something the RFCs do not allow (which,
on stderr); 2 bad usage; 3 timeout (no reply within --timeout); 4 CRASH.
raw exits 0 when anything came back within --timeout of its last send, else 3.

MDP/0.2 framing: RFC 18 commands have no leading empty frame (--no-empty, the
default; rustydomo's style); majortomo sends one (--empty). A 0.2 peer checks that
every message from the broker is framed the way the peer frames its own, and
fails (exit 1) if not.

CURVE: --server-key Z85 (the broker's public key) makes the peer a CURVE client,
with the secret key --client-key Z85 or, without it, a fresh key pair.
"""

import argparse
import binascii
import json
import os
import re
import sys
import time

import zmq
from zmq.utils.monitor import recv_monitor_message

# MDP/0.1 (RFC 7)
C01 = b"MDPC01"
W01 = b"MDPW01"
W01_READY, W01_REQUEST, W01_REPLY, W01_HEARTBEAT, W01_DISCONNECT = (
    b"\x01", b"\x02", b"\x03", b"\x04", b"\x05")

# MDP/0.2 (RFC 18)
C02 = b"MDPC02"
C02_REQUEST, C02_PARTIAL, C02_FINAL = b"\x01", b"\x02", b"\x03"
W02 = b"MDPW02"
W02_READY, W02_REQUEST, W02_PARTIAL, W02_FINAL, W02_HEARTBEAT, W02_DISCONNECT = (
    b"\x01", b"\x02", b"\x03", b"\x04", b"\x05", b"\x06")

# Titanic (RFC 9)
TSP_STATUS = re.compile(rb"^(200|300|400|500)( .*)?$", re.DOTALL)
# RFC 9 spells the UUID's characters '0' to '9' and 'A' to 'Z' or 'a' to 'z'.
TSP_UUID = re.compile(rb"^[0-9A-Za-z]{32}$")

EXIT_MALFORMED = 1
EXIT_TIMEOUT = 3
EXIT_CRASH = 4


class Malformed(Exception):
    """The broker sent something the RFC does not allow."""


class TimedOut(Exception):
    """Nothing arrived within the time allowed."""


# --- helpers ------------------------------------------------------------------


def frame_arg(text):
    """A FRAME argument as bytes: `0x<hex>` is raw bytes, anything else UTF-8."""
    if text.startswith("0x"):
        try:
            return binascii.unhexlify(text[2:])
        except binascii.Error as e:
            raise argparse.ArgumentTypeError(f"bad hex frame {text!r}: {e}")
    return text.encode("utf-8")


def show(frame):
    return frame.decode("utf-8", errors="backslashreplace")


def shown(frames):
    """Frames as a JSON list of text."""
    return json.dumps([show(f) for f in frames])


def emit(line):
    """Prints one line of output (a dict becomes JSON) and flushes it."""
    print(json.dumps(line) if isinstance(line, dict) else line, flush=True)


def trace(args, what, frames):
    if args.trace:
        stamp = time.strftime("%H:%M:%S")
        print(f"{stamp} {what} {shown(frames)}", file=sys.stderr, flush=True)


def open_socket(context, kind, args, wait_handshake=False, identity=None):
    """A socket of `kind` connected to --broker (a CURVE client if --server-key),
    with the routing id `identity` if given.

    With wait_handshake, also returns a monitor socket that reports the ZMTP
    handshake; pass it to `await_handshake`.
    """
    sock = context.socket(kind)
    sock.linger = 0
    if identity is not None:
        sock.identity = identity
    if args.server_key:
        if args.client_key:
            secret = args.client_key.encode()
            public = zmq.curve_public(secret)
        else:
            public, secret = zmq.curve_keypair()
        sock.curve_serverkey = args.server_key.encode()
        sock.curve_publickey = public
        sock.curve_secretkey = secret
    monitor = sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED) if wait_handshake else None
    sock.connect(args.broker)
    return sock, monitor


def await_handshake(sock, monitor):
    """Blocks until the socket has completed its ZMTP handshake with the broker."""
    recv_monitor_message(monitor)
    sock.disable_monitor()
    monitor.close()


def receive(sock, timeout_ms, what):
    if not sock.poll(timeout_ms):
        raise TimedOut(f"no {what} within {timeout_ms} ms")
    return sock.recv_multipart()


def expect(condition, message, frames):
    if not condition:
        raise Malformed(f"{message}: {shown(frames)}")


# --- MDP/0.1 client (RFC 7, MDP/Client) ----------------------------------------


def request01(sock, dealer, service, body, timeout_ms, args):
    """Sends one REQUEST and returns the REPLY's body frames.

    A REQ socket adds and removes the empty frame 0 itself; a DEALER client must
    write and check it explicitly.
    """
    frames = [C01, service] + body
    if dealer:
        frames = [b""] + frames
    trace(args, "send", frames)
    sock.send_multipart(frames)
    reply = receive(sock, timeout_ms, f"reply from {show(service)}")
    trace(args, "recv", reply)
    if dealer:
        expect(len(reply) >= 1 and reply[0] == b"", "REPLY without the empty frame 0", reply)
        reply = reply[1:]
    expect(len(reply) >= 3, "REPLY of fewer than 4 frames", reply)
    expect(reply[0] == C01, "REPLY without the MDPC01 header", reply)
    expect(reply[1] == service, "REPLY names another service", reply)
    return reply[2:]


def run_client01(args, context):
    kind = zmq.DEALER if args.dealer else zmq.REQ
    sock, _ = open_socket(context, kind, args)
    service = args.service.encode()
    for _ in range(args.count):
        body = request01(sock, args.dealer, service, args.frames, args.timeout, args)
        emit({"service": args.service, "body": [show(f) for f in body]})


def run_mmi(args, context):
    """RFC 8: a plain MDP/0.1 request to a service in the mmi. namespace."""
    run_client01(args, context)


# --- MDP/0.2 client (RFC 18, MDP/Client) ---------------------------------------


def unframe02(frames, empty):
    """Strips the leading empty frame, checking the broker framed as we do."""
    if empty:
        expect(len(frames) >= 1 and frames[0] == b"",
               "we send a leading empty frame (--empty) but the broker's reply has none", frames)
        return frames[1:]
    expect(len(frames) == 0 or frames[0] != b"",
           "we send no leading empty frame (--no-empty) but the broker's reply has one", frames)
    return frames


def frame02(frames, empty):
    return [b""] + frames if empty else frames


def run_client02(args, context):
    sock, _ = open_socket(context, zmq.DEALER, args)
    service = args.service.encode()
    for _ in range(args.count):
        request = frame02([C02, C02_REQUEST, service] + args.frames, args.empty)
        trace(args, "send", request)
        sock.send_multipart(request)
        while True:
            reply = receive(sock, args.timeout, f"reply from {args.service}")
            trace(args, "recv", reply)
            reply = unframe02(reply, args.empty)
            expect(len(reply) >= 3, "reply of fewer than 3 frames (after any empty frame)", reply)
            expect(reply[0] == C02, "reply without the MDPC02 header", reply)
            expect(reply[1] in (C02_PARTIAL, C02_FINAL), "reply neither PARTIAL nor FINAL", reply)
            expect(reply[2] == service, "reply names another service", reply)
            final = reply[1] == C02_FINAL
            emit({"kind": "final" if final else "partial", "service": args.service,
                  "body": [show(f) for f in reply[3:]]})
            if final:
                break


# --- workers (RFC 7 and RFC 18, MDP/Worker) ------------------------------------


class Dialect:
    """What differs between an MDP/0.1 and an MDP/0.2 worker: the header, the
    command bytes, and the leading empty frame (always in 0.1, optional in 0.2)."""

    def __init__(self, version, empty):
        self.version = version
        self.empty = empty
        if version == 1:
            self.header = W01
            self.ready, self.request, self.heartbeat, self.disconnect = (
                W01_READY, W01_REQUEST, W01_HEARTBEAT, W01_DISCONNECT)
            self.partial, self.final = None, W01_REPLY
        else:
            self.header = W02
            self.ready, self.request, self.heartbeat, self.disconnect = (
                W02_READY, W02_REQUEST, W02_HEARTBEAT, W02_DISCONNECT)
            self.partial, self.final = W02_PARTIAL, W02_FINAL

    def command(self, command, *frames):
        message = [self.header, command] + list(frames)
        return [b""] + message if self.empty else message

    def parse(self, frames):
        """Returns (command, client, body) for a message from the broker."""
        if self.version == 1:
            expect(len(frames) >= 1 and frames[0] == b"", "command without the empty frame 0", frames)
            rest = frames[1:]
        else:
            rest = unframe02(frames, self.empty)
        expect(len(rest) >= 2, "command of fewer than 2 frames after any empty frame", rest)
        expect(rest[0] == self.header, f"command without the {show(self.header)} header", rest)
        command = rest[1]
        if command == self.request:
            expect(len(rest) >= 5, "REQUEST without client address, empty delimiter and body", rest)
            expect(rest[3] == b"", "REQUEST without the empty frame after the client address", rest)
            return command, rest[2], rest[4:]
        if command in (self.heartbeat, self.disconnect):
            expect(len(rest) == 2, "HEARTBEAT or DISCONNECT with extra frames", rest)
            return command, None, []
        raise Malformed(f"a command no broker sends to a worker: {shown(rest)}")


def parse_mode(words):
    if words == ["echo"] or words == ["upper"]:
        return words[0], None
    if len(words) == 2 and words[0] == "fail-after" and words[1].isdigit():
        return "fail-after", int(words[1])
    raise argparse.ArgumentTypeError("--mode is echo, upper or fail-after K")


def answer(mode, body):
    return [f.upper() for f in body] if mode == "upper" else body


def run_worker(args, context, dialect):
    mode, fail_after = parse_mode(args.mode)
    service = args.service.encode()
    handled = 0
    while True:  # one pass per connection: a new socket after DISCONNECT or silence
        sock, monitor = open_socket(context, zmq.DEALER, args, wait_handshake=True)
        ready = dialect.command(dialect.ready, service)
        trace(args, "send", ready)
        sock.send_multipart(ready)
        await_handshake(sock, monitor)
        emit("READY")

        heartbeat_s = args.heartbeat / 1000
        next_heartbeat = time.monotonic() + heartbeat_s
        broker_expires = time.monotonic() + heartbeat_s * args.liveness

        def send(frames):
            nonlocal next_heartbeat
            trace(args, "send", frames)
            sock.send_multipart(frames)
            next_heartbeat = time.monotonic() + heartbeat_s  # any command counts as a heartbeat

        while True:
            now = time.monotonic()
            wait_ms = max(0, int((min(next_heartbeat, broker_expires) - now) * 1000))
            if sock.poll(wait_ms):
                frames = sock.recv_multipart()
                trace(args, "recv", frames)
                broker_expires = time.monotonic() + heartbeat_s * args.liveness
                command, client, body = dialect.parse(frames)
                if command == dialect.disconnect:
                    emit("DISCONNECT")
                    break
                if command == dialect.request:
                    emit(f"REQUEST {client.hex()} {shown(body)}")
                    if mode == "fail-after" and handled >= fail_after:
                        emit("CRASH")
                        os._exit(EXIT_CRASH)
                    if args.delay:
                        time.sleep(args.delay / 1000)  # busy: no heartbeats meanwhile
                    for i in range(1, args.partials + 1):
                        send(dialect.command(dialect.partial, client, b"",
                                             f"partial {i}/{args.partials}".encode()))
                    send(dialect.command(dialect.final, client, b"", *answer(mode, body)))
                    # Brokers need not heartbeat a busy worker: time spent on the
                    # request does not count as broker silence.
                    broker_expires = time.monotonic() + heartbeat_s * args.liveness
                    handled += 1
                    if args.max and handled >= args.max:
                        send(dialect.command(dialect.disconnect))
                        sock.close(linger=2000)  # let the reply and DISCONNECT leave
                        emit("DONE")
                        return
            elif time.monotonic() >= broker_expires:
                emit("SILENT")
                break
            if time.monotonic() >= next_heartbeat:
                send(dialect.command(dialect.heartbeat))
        sock.close()


def run_worker01(args, context):
    run_worker(args, context, Dialect(1, empty=True))


def run_worker02(args, context):
    run_worker(args, context, Dialect(2, empty=args.empty))


# --- Titanic client (RFC 9) ----------------------------------------------------


def tsp_call(args, context, operation, body):
    """One MDP/0.1 request to titanic.<operation>; returns (status, frames)."""
    sock, _ = open_socket(context, zmq.REQ, args)
    service = f"titanic.{operation}"
    try:
        reply = request01(sock, False, service.encode(), body, args.timeout, args)
    finally:
        sock.close()
    expect(len(reply) >= 1 and TSP_STATUS.match(reply[0]) is not None,
           "TSP reply without a status frame of 200, 300, 400 or 500", reply)
    return reply[0], reply[1:]


def run_titanic(args, context):
    if args.operation == "request":
        body = [args.target.encode()] + args.frames
    else:
        body = [args.uuid.encode()]
    deadline = time.monotonic() + args.wait / 1000
    while True:
        status, frames = tsp_call(args, context, args.operation, body)
        code = status[:3]
        if args.operation != "reply" or code != b"300" or time.monotonic() >= deadline:
            break
        time.sleep(0.1)  # 300 PENDING: the RFC asks the client to retry later
    if args.operation == "request" and code == b"200":
        expect(len(frames) >= 1 and TSP_UUID.match(frames[0]) is not None,
               "titanic.request 200 without a 32-character UUID", [status] + frames)
    if args.operation == "close":
        expect(not frames, "titanic.close reply of more than the status frame", [status] + frames)
    emit({"service": f"titanic.{args.operation}", "status": show(status),
          "frames": [show(f) for f in frames]})


# --- raw DEALER ------------------------------------------------------------------


def run_raw(args, context):
    identity = frame_arg(args.identity) if args.identity else None
    sock, _ = open_socket(context, zmq.DEALER, args, identity=identity)
    for message in [args.frames] + (args.then or []):
        trace(args, "send", message)
        sock.send_multipart(message)
    got = 0
    deadline = time.monotonic() + args.timeout / 1000
    while True:
        left = int((deadline - time.monotonic()) * 1000)
        if left <= 0 or not sock.poll(left):
            break
        frames = sock.recv_multipart()
        got += 1
        emit({"frames": [show(f) for f in frames], "hex": [f.hex() for f in frames]})
    if not got:
        raise TimedOut(f"nothing came back within {args.timeout} ms")


# --- command line ------------------------------------------------------------------


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p, timeout=True):
        p.add_argument("--broker", required=True, help="broker endpoint to connect to")
        if timeout:
            p.add_argument("--timeout", type=int, default=5000, metavar="MS",
                           help="how long to wait for each reply (default 5000)")
        p.add_argument("--server-key", metavar="Z85", help="broker's CURVE public key")
        p.add_argument("--client-key", metavar="Z85", help="our CURVE secret key")
        p.add_argument("--trace", action="store_true", help="log every message on stderr")

    def client(p, dealer_choice):
        common(p)
        p.add_argument("--service", required=True)
        p.add_argument("--count", type=int, default=1, help="requests to send, one at a time")
        if dealer_choice:
            p.add_argument("--dealer", action="store_true", help="DEALER instead of REQ")
        p.add_argument("frames", nargs="+", type=frame_arg, metavar="FRAME")

    def empty_choice(p):
        group = p.add_mutually_exclusive_group()
        group.add_argument("--empty", dest="empty", action="store_true",
                           help="leading empty frame (majortomo style)")
        group.add_argument("--no-empty", dest="empty", action="store_false",
                           help="no leading empty frame (RFC 18, the default)")

    def worker(p):
        common(p, timeout=False)
        p.add_argument("--service", required=True)
        p.add_argument("--heartbeat", type=int, default=2500, metavar="MS")
        p.add_argument("--liveness", type=int, default=3, metavar="N")
        p.add_argument("--max", type=int, default=0, metavar="N",
                       help="exit after answering N requests (default: never)")
        p.add_argument("--mode", nargs="+", default=["echo"],
                       help="echo, upper, or fail-after K (crash on request K+1)")
        p.add_argument("--delay", type=int, default=0, metavar="MS",
                       help="work this long on each request before answering")

    client(sub.add_parser("client01", help="MDP/0.1 client"), dealer_choice=True)
    p = sub.add_parser("client02", help="MDP/0.2 client (DEALER)")
    client(p, dealer_choice=False)
    empty_choice(p)
    p.set_defaults(dealer=True)

    p = sub.add_parser("worker01", help="MDP/0.1 worker")
    worker(p)
    p.set_defaults(partials=0)
    p = sub.add_parser("worker02", help="MDP/0.2 worker")
    worker(p)
    empty_choice(p)
    p.add_argument("--partials", type=int, default=0, metavar="K",
                   help="PARTIALs to send before each FINAL")

    p = sub.add_parser("mmi", help="MDP/0.1 request to an mmi.* service")
    common(p)
    p.add_argument("--service", default="mmi.service")
    p.add_argument("--dealer", action="store_true", help="DEALER instead of REQ")
    p.add_argument("frames", nargs="+", type=frame_arg, metavar="FRAME")
    p.set_defaults(count=1)

    p = sub.add_parser("titanic", help="Titanic (TSP) client over MDP/0.1")
    common(p)
    ops = p.add_subparsers(dest="operation", required=True)
    op = ops.add_parser("request")
    op.add_argument("target", metavar="SERVICE")
    op.add_argument("frames", nargs="+", type=frame_arg, metavar="FRAME")
    op.set_defaults(wait=0)
    op = ops.add_parser("reply")
    op.add_argument("uuid", metavar="UUID")
    op.add_argument("--wait", type=int, default=0, metavar="MS",
                    help="ask again while the answer is 300 PENDING, for up to MS")
    op = ops.add_parser("close")
    op.add_argument("uuid", metavar="UUID")
    op.set_defaults(wait=0)

    p = sub.add_parser("raw", help="send frames on a DEALER and print what comes back")
    common(p)
    p.set_defaults(timeout=1000)
    p.add_argument("--identity", help="routing id for the DEALER (FRAME syntax)")
    p.add_argument("frames", nargs="+", type=frame_arg, metavar="FRAME")
    p.add_argument("--then", nargs="+", type=frame_arg, action="append", metavar="FRAME",
                   help="another message, sent after the previous ones")

    args = parser.parse_args()
    if args.command in ("worker01", "worker02"):
        try:
            parse_mode(args.mode)
        except argparse.ArgumentTypeError as e:
            parser.error(str(e))
    return args


RUNNERS = {
    "client01": run_client01,
    "worker01": run_worker01,
    "client02": run_client02,
    "worker02": run_worker02,
    "mmi": run_mmi,
    "titanic": run_titanic,
    "raw": run_raw,
}


def main():
    args = parse_args()
    context = zmq.Context()
    try:
        RUNNERS[args.command](args, context)
    except Malformed as e:
        print(f"malformed: {e}", file=sys.stderr, flush=True)
        sys.exit(EXIT_MALFORMED)
    except TimedOut as e:
        print(f"timeout: {e}", file=sys.stderr, flush=True)
        sys.exit(EXIT_TIMEOUT)
    finally:
        context.destroy(linger=0)


if __name__ == "__main__":
    main()
