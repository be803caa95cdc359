"""The libzmq end of `purezmq cat` interop tests (tests/cli.rs).

Usage:
  cat_peer.py TYPE ENDPOINT ACTION [ARGS ...] [options]
  cat_peer.py load-cert PATH ...
  cat_peer.py create-cert DIR NAME

TYPE is a socket type (PUSH, PULL, PUB, SUB, XPUB, XSUB, REQ, REP, DEALER,
ROUTER, PAIR). ENDPOINT is bound if it starts with '@', else connected; either
way the peer then prints "ready <endpoint>" (with the port picked for a bind to
port *).

Actions:
  recv N                 receives N messages; prints each as a Python list of
                         bytes, e.g. [b'one', b'two'].
  send N FRAME ...       sends the message of FRAMEs N times (N = 0: until
                         killed), --interval seconds apart; prints "sent <n>".
                         With --each, each FRAME is a message of its own, sent
                         in turn, and each counts.
  reply N PREFIX         REP, ROUTER: receives N requests, prints each, and
                         answers with PREFIX put in front of the last frame
                         (a ROUTER keeps the envelope).
  request N FRAME ...    REQ, DEALER: sends the message, prints the reply; N times.

load-cert prints, for each certificate file, what zmq.auth.load_certificate
reads: "cert <path> public <z85> secret <z85 or None>", and for a secret one
"derived <z85>", the public key computed from the secret key. create-cert writes
DIR/NAME.key and DIR/NAME.key_secret with zmq.auth.create_certificates and prints
"created <public path> <secret path>".

Options: --subscribe TOPIC (SUB; XSUB sends the subscription message),
--routing-id ID, --interval SECONDS, --timeout SECONDS (a receive that waits
longer prints "timeout" and exits 1), --curve-server SECRET_CERT,
--curve-client SECRET_CERT with --server-key CERT (certificates read with
zmq.auth.load_certificate), --plain-server USER:PASSWORD (a PLAIN server admitting
that user only, through pyzmq's ThreadAuthenticator), --plain-client
USER:PASSWORD, --hex (the FRAMEs to send are given in hex).
"""

import argparse
import sys
import time

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator


class Timeout(Exception):
    pass


def load_certificates(paths):
    for path in paths:
        public, secret = zmq.auth.load_certificate(path)
        line = "cert %s public %s secret %s" % (
            path,
            public.decode(),
            secret.decode() if secret else None,
        )
        if secret:
            # The public key that belongs to the secret one.
            line += " derived " + zmq.curve_public(secret).decode()
        print(line)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "load-cert":
        load_certificates(sys.argv[2:])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "create-cert":
        public, secret = zmq.auth.create_certificates(sys.argv[2], sys.argv[3])
        print("created", public, secret)
        return

    parser = argparse.ArgumentParser()
    parser.add_argument("type")
    parser.add_argument("endpoint")
    parser.add_argument("action", choices=["recv", "send", "reply", "request"])
    parser.add_argument("count", type=int)
    parser.add_argument("frames", nargs="*")
    parser.add_argument("--subscribe", action="append", default=[])
    parser.add_argument("--routing-id")
    parser.add_argument("--interval", type=float, default=0.0)
    parser.add_argument("--each", action="store_true")
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("--curve-server")
    parser.add_argument("--curve-client")
    parser.add_argument("--server-key")
    parser.add_argument("--plain-server")
    parser.add_argument("--plain-client")
    parser.add_argument("--hex", action="store_true")
    args = parser.parse_args()

    context = zmq.Context()
    context.setsockopt(zmq.LINGER, 2000)
    kind = getattr(zmq, args.type.upper())
    sock = context.socket(kind)
    if args.routing_id:
        sock.setsockopt(zmq.ROUTING_ID, args.routing_id.encode())
    if args.curve_server:
        public, secret = zmq.auth.load_certificate(args.curve_server)
        sock.curve_publickey = public
        sock.curve_secretkey = secret
        sock.curve_server = True
    if args.curve_client:
        public, secret = zmq.auth.load_certificate(args.curve_client)
        server_public, _ = zmq.auth.load_certificate(args.server_key)
        sock.curve_publickey = public
        sock.curve_secretkey = secret
        sock.curve_serverkey = server_public
    authenticator = None
    if args.plain_server:
        user, password = args.plain_server.split(":", 1)
        authenticator = ThreadAuthenticator(context)
        authenticator.start()
        authenticator.configure_plain(domain="*", passwords={user: password})
        sock.plain_server = True
    if args.plain_client:
        user, password = args.plain_client.split(":", 1)
        sock.plain_username = user.encode()
        sock.plain_password = password.encode()
    if kind == zmq.SUB:
        for topic in args.subscribe or [""]:
            sock.setsockopt(zmq.SUBSCRIBE, topic.encode())

    if args.endpoint.startswith("@"):
        sock.bind(args.endpoint[1:])
        print("ready", sock.getsockopt(zmq.LAST_ENDPOINT).decode())
    else:
        sock.connect(args.endpoint.lstrip(">"))
        print("ready", args.endpoint.lstrip(">"))
    if kind == zmq.XSUB:
        for topic in args.subscribe:
            sock.send(b"\x01" + topic.encode())

    def recv():
        if not sock.poll(int(args.timeout * 1000)):
            raise Timeout
        return sock.recv_multipart()

    frames = [bytes.fromhex(f) if args.hex else f.encode() for f in args.frames]
    status = 0
    try:
        if args.action == "recv":
            for _ in range(args.count):
                print(recv())
        elif args.action == "send":
            sent = 0
            while args.count == 0 or sent < args.count:
                if sent and args.interval:
                    time.sleep(args.interval)
                if args.each:
                    sock.send(frames[sent % len(frames)])
                else:
                    sock.send_multipart(frames)
                sent += 1
            print("sent", sent)
        elif args.action == "reply":
            prefix = args.frames[0].encode() if args.frames else b""
            for _ in range(args.count):
                request = recv()
                print(request)
                sock.send_multipart(request[:-1] + [prefix + request[-1]])
        elif args.action == "request":
            for _ in range(args.count):
                sock.send_multipart(frames)
                print(recv())
    except Timeout:
        print("timeout")
        status = 1
    if authenticator:
        authenticator.stop()
    context.destroy()
    sys.exit(status)


if __name__ == "__main__":
    main()
