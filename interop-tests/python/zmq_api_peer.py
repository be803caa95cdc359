"""The libzmq side of purezmq-compat's interop tests (tests/zmq_api.rs): one pyzmq
socket per process facing a socket of the `zmq` crate's API on purezmq.

Usage:
  zmq_api_peer.py ROLE bind|connect ENDPOINT [options]

Output, one line each: "ready <endpoint>" once bound (with the port picked) or
connected, then what the role reports, ending with "ok" (or "fail <what>" and exit
status 1). Roles that serve wait to be killed after their work, so that nothing
they queued is lost.

Messages are multipart: message i is the frames b"message <i>", b"" and
b"<i> frames=3" (tests/zmq_api.rs builds the same), unless said otherwise.

ROLE is one of
  rep      replies to --count requests with the request, each frame as received
  req      sends --count requests and checks each reply is the request
  router   receives --count messages, prints "from <routing id>" for the first,
           replies to each with [routing id, b"to " + routing id, *message]
  dealer   (--identity ID) sends --count messages, checks each reply is
           [b"to " + ID, *message]
  pair     echoes --count messages (serve), or with --drive sends and checks them
  push     sends --count messages
  pull     receives --count messages and checks them in order
  pub      publishes [b"news", i] and [b"weather", i] every millisecond until
           killed
  sub      (--topic T) prints "joined" at its first message, then checks that
           the next 50 all start with T
  xpub     prints "subscription <hex>" for the first message it receives (a
           subscription), then publishes as pub does
  xsub     (--topic T) sends b"\\x01" + T, checks as sub does, then sends
           b"\\x00" + T

--curve-server makes the socket a CURVE server with a key pair made here by
zmq.curve_keypair(), and prints "public <z85>" before "ready"; --curve-client
SERVER_PUBLIC makes it a CURVE client of that server, with a key pair made here
too.
"""

import argparse
import sys
import time

import zmq

TIMEOUT_MS = 20_000
CHECK = 50


def message(i):
    return [b"message %d" % i, b"", b"%d frames=3" % i]


def fail(what):
    print(f"fail {what}", flush=True)
    sys.exit(1)


def recv(sock):
    try:
        return sock.recv_multipart()
    except zmq.Again:
        fail("timed out receiving")


def serve_forever():
    while True:
        time.sleep(3600)


def publish(sock):
    i = 0
    while True:
        sock.send_multipart([b"news", b"%d" % i])
        sock.send_multipart([b"weather", b"%d" % i])
        i += 1
        time.sleep(0.001)


def check_topic(sock, topic):
    first = recv(sock)
    print("joined", flush=True)
    if not first[0].startswith(topic):
        fail(f"got {first!r}, not subscribed to")
    for _ in range(CHECK):
        got = recv(sock)
        if not got[0].startswith(topic):
            fail(f"got {got!r}, not subscribed to")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("role")
    parser.add_argument("mode", choices=["bind", "connect"])
    parser.add_argument("endpoint")
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--identity")
    parser.add_argument("--topic", default="")
    parser.add_argument("--drive", action="store_true")
    parser.add_argument("--curve-server", action="store_true")
    parser.add_argument("--curve-client")
    args = parser.parse_args()

    kinds = {
        "rep": zmq.REP, "req": zmq.REQ, "router": zmq.ROUTER, "dealer": zmq.DEALER,
        "pair": zmq.PAIR, "push": zmq.PUSH, "pull": zmq.PULL, "pub": zmq.PUB,
        "sub": zmq.SUB, "xpub": zmq.XPUB, "xsub": zmq.XSUB,
    }
    ctx = zmq.Context()
    sock = ctx.socket(kinds[args.role])
    sock.rcvtimeo = TIMEOUT_MS
    sock.sndtimeo = TIMEOUT_MS
    if args.identity:
        sock.identity = args.identity.encode()
    if args.curve_server:
        public, secret = zmq.curve_keypair()
        sock.curve_server = True
        sock.curve_secretkey = secret
        print(f"public {public.decode()}", flush=True)
    if args.curve_client:
        public, secret = zmq.curve_keypair()
        sock.curve_serverkey = args.curve_client.encode()
        sock.curve_publickey = public
        sock.curve_secretkey = secret
    topic = args.topic.encode()
    if args.role == "sub":
        sock.setsockopt(zmq.SUBSCRIBE, topic)

    if args.mode == "bind":
        sock.bind(args.endpoint)
        endpoint = sock.getsockopt_string(zmq.LAST_ENDPOINT)
    else:
        sock.connect(args.endpoint)
        endpoint = args.endpoint
    print(f"ready {endpoint}", flush=True)

    role, count = args.role, args.count
    if role == "rep" or (role == "pair" and not args.drive):
        for _ in range(count):
            sock.send_multipart(recv(sock))
        print("ok", flush=True)
        serve_forever()
    elif role in ("req", "pair"):
        for i in range(count):
            sock.send_multipart(message(i))
            got = recv(sock)
            if got != message(i):
                fail(f"reply {got!r} to {message(i)!r}")
    elif role == "router":
        for i in range(count):
            routing_id, *rest = recv(sock)
            if i == 0:
                print(f"from {routing_id.decode(errors='backslashreplace')}", flush=True)
            sock.send_multipart([routing_id, b"to " + routing_id, *rest])
        print("ok", flush=True)
        serve_forever()
    elif role == "dealer":
        for i in range(count):
            sock.send_multipart(message(i))
            got = recv(sock)
            want = [b"to " + args.identity.encode(), *message(i)]
            if got != want:
                fail(f"reply {got!r}, expected {want!r}")
    elif role == "push":
        for i in range(count):
            sock.send_multipart(message(i))
    elif role == "pull":
        for i in range(count):
            got = recv(sock)
            if got != message(i):
                fail(f"message {i} is {got!r}")
    elif role == "pub":
        publish(sock)
    elif role == "sub":
        check_topic(sock, topic)
    elif role == "xpub":
        got = recv(sock)
        print(f"subscription {b''.join(got).hex()}", flush=True)
        publish(sock)
    elif role == "xsub":
        sock.send(b"\x01" + topic)
        check_topic(sock, topic)
        sock.send(b"\x00" + topic)
    print("ok", flush=True)
    ctx.destroy(linger=TIMEOUT_MS)


if __name__ == "__main__":
    main()
