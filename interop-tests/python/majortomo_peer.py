"""majortomo (PyPI, MDP/0.2 in Python) as a peer of purezmq's broker: its own
Client and Worker classes, driven from the command line with the output
conventions of mdp_peer.py (client02, worker02).

Usage:
  majortomo_peer.py client --broker EP --service S [--count N] [--timeout MS] FRAME...
  majortomo_peer.py worker --broker EP --service S [--heartbeat MS] [--max N]
                           [--partials K] [--mode echo|upper] [--reconnect]

FRAME arguments: `0x<hex>` is raw bytes, anything else UTF-8 text.

Output (stdout, one line each, flushed):
  client  {"kind": "partial"|"final", "body": [...]} per reply part, where body
          is what majortomo's Client hands its user: every frame after the
          command frame. majortomo's broker sends no service frame, so against
          an RFC 18 broker the service name shows up as body[0].
  worker  READY               majortomo's Worker.connect() returned (READY queued;
                              majortomo gives no way to wait for the connection).
          REQUEST <client-hex> <body json>   per request.
          DISCONNECT          the broker sent DISCONNECT. majortomo's own request
                              loop stops there; with --reconnect this peer
                              connects again (as RFC 18 asks) and prints READY.
          DONE                --max requests answered; majortomo's close() sent
                              DISCONNECT.

Exit status: 0 done; 1 majortomo raised a ProtocolError (message on stderr);
2 bad usage; 3 timeout.

Framing, as majortomo 0.2.0 does it (see README.md): a leading empty frame on
every message both ways, client commands numbered REQUEST 0x02, PARTIAL 0x03,
FINAL 0x04 (RFC 18: 0x01, 0x02, 0x03), worker commands as RFC 18.
"""

import argparse
import binascii
import json
import sys

from majortomo import Client, Worker
from majortomo import error


def frame_arg(text):
    if text.startswith("0x"):
        try:
            return binascii.unhexlify(text[2:])
        except binascii.Error as e:
            raise argparse.ArgumentTypeError(f"bad hex frame {text!r}: {e}")
    return text.encode("utf-8")


def show(frame):
    return frame.decode("utf-8", errors="backslashreplace")


def emit(line):
    print(json.dumps(line) if isinstance(line, dict) else line, flush=True)


def run_client(args):
    with Client(args.broker) as client:
        for _ in range(args.count):
            client.send(args.service, *args.frames)
            while True:
                part = client.recv_part(timeout=args.timeout / 1000)
                if part is None:
                    break
                # majortomo's Client tells a FINAL from a PARTIAL only through
                # this attribute, cleared when the FINAL arrives.
                final = not client._expect_reply
                emit({"kind": "final" if final else "partial", "body": [show(f) for f in part]})
                if final:
                    break


def run_worker(args):
    worker = Worker(args.broker, args.service, heartbeat_interval=args.heartbeat / 1000,
                    heartbeat_timeout=args.heartbeat * args.liveness / 1000)
    worker.connect()
    emit("READY")
    handled = 0
    while True:
        try:
            client, body = worker.wait_for_request()
        except error.Disconnected:
            emit("DISCONNECT")
            if not args.reconnect:
                return
            worker.connect()
            emit("READY")
            continue
        emit(f"REQUEST {client.hex()} {json.dumps([show(f) for f in body])}")
        for i in range(1, args.partials + 1):
            worker.send_reply_partial(client, [f"partial {i}/{args.partials}".encode()])
        reply = [f.upper() for f in body] if args.mode == "upper" else body
        worker.send_reply_final(client, reply)
        handled += 1
        if args.max and handled >= args.max:
            worker.close()
            emit("DONE")
            return


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("client", help="majortomo.Client")
    p.add_argument("--broker", required=True)
    p.add_argument("--service", required=True)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--timeout", type=int, default=5000, metavar="MS")
    p.add_argument("frames", nargs="+", type=frame_arg, metavar="FRAME")

    p = sub.add_parser("worker", help="majortomo.Worker")
    p.add_argument("--broker", required=True)
    p.add_argument("--service", required=True)
    p.add_argument("--heartbeat", type=int, default=2500, metavar="MS")
    p.add_argument("--liveness", type=int, default=4, metavar="N",
                   help="heartbeat timeout in heartbeats (majortomo's default: 10 s = 4 x 2.5 s)")
    p.add_argument("--max", type=int, default=0, metavar="N")
    p.add_argument("--partials", type=int, default=0, metavar="K")
    p.add_argument("--mode", choices=["echo", "upper"], default="echo")
    p.add_argument("--reconnect", action="store_true",
                   help="connect again after a DISCONNECT instead of exiting")
    return parser.parse_args()


def main():
    args = parse_args()
    try:
        if args.command == "client":
            run_client(args)
        else:
            run_worker(args)
    except error.Timeout as e:
        print(f"timeout: {e}", file=sys.stderr, flush=True)
        sys.exit(3)
    except error.ProtocolError as e:
        print(f"malformed: {e}", file=sys.stderr, flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
