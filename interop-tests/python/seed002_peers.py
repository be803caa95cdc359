"""The libzmq programs of seed 002 (the middleware chapter), as peers for
purezmq's proxies (tests/proxy.rs).

Usage:
  seed002_peers.py MODE [ENDPOINT ...] [options]

Each mode does what the seed's program of that name does, with the seed's
endpoints as defaults and its lines of output ("Subscriber got  [b'...']",
"req =  b'Hello'", "rep =  b'yes'"), so that without arguments it behaves as the
seed's program. The tests pass free ports instead, and ask the programs that loop
for ever in the seed to stop after --count messages.

Seed modes:
  publisher [PUB]                   PUB connects to tcp://127.0.0.1:5559 and sends
                                    b'Hello there' --count times (3), a second apart.
                                    With --topics A,B it sends [topic, b'<i>'] for
                                    each topic every --interval seconds instead, and
                                    with --xpub it is an XPUB that prints each
                                    subscription it gets as "subscription <repr>".
  subscriber [SUB]                  SUB to tcp://127.0.0.1:5560, subscribed to every
                                    --topic (default: everything); prints what it gets.
                                    With --announce it first prints "listening" once
                                    it has connected.
  stable-subscriber [SUB REP]       SUB to 5560, REP to 5562: waits for b'Hello',
                                    answers b'yes', then prints what it gets. With
                                    --announce it first prints "listening" once
                                    it has connected both.
  stable-publisher [PUB REQ]        PUB to 5559, REQ to 5561: sends b'Hello', and on
                                    b'yes' sends b'Blablabla' three times. Unlike
                                    the seed it first waits for its PUB's connection
                                    (see the function: the seed's race).
Shared queue (the seed's REQ/REP behind a ROUTER/DEALER broker):
  client [REQ]                      REQ to 5559: --count requests b'Hello <name> <i>',
                                    prints "client <name> got <repr>" for each reply.
  worker [REP]                      REP to 5560: answers each request with
                                    b'World from <name>: ' + request, and prints
                                    "worker <name> got <repr>".
Streamer:
  push [PUSH]                       PUSH to 5557: sends --count messages, every
                                    seventh of three frames; prints "sent <n>".
  pull [PULL]                       PULL from 5558: receives --count messages and
                                    checks them in order; prints "ok <n> in order"
                                    or "fail <what>".

An endpoint starting with '@' is bound instead of connected; the peer then prints
"ready <endpoint>" with the port picked. Receives give up after --timeout seconds
with a "timeout" line and exit status 1.
"""

import argparse
import sys
import time

import zmq

DEFAULTS = {
    "publisher": ["tcp://127.0.0.1:5559"],
    "subscriber": ["tcp://127.0.0.1:5560"],
    "stable-subscriber": ["tcp://127.0.0.1:5560", "tcp://127.0.0.1:5562"],
    "stable-publisher": ["tcp://127.0.0.1:5559", "tcp://127.0.0.1:5561"],
    "client": ["tcp://127.0.0.1:5559"],
    "worker": ["tcp://127.0.0.1:5560"],
    "push": ["tcp://127.0.0.1:5557"],
    "pull": ["tcp://127.0.0.1:5558"],
}


# --count when not given: the seed's publisher sends three, its receivers loop for
# ever (0).
DEFAULT_COUNTS = {"publisher": 3, "client": 10, "push": 1000, "pull": 1000}


class Timeout(Exception):
    pass


def attach(sock, endpoint):
    """Binds ('@' in front) or connects sock."""
    if endpoint.startswith("@"):
        sock.bind(endpoint[1:])
        print("ready", sock.getsockopt(zmq.LAST_ENDPOINT).decode())
    else:
        sock.connect(endpoint.lstrip(">"))


def recv_multipart(sock, timeout):
    if timeout is not None and not sock.poll(int(timeout * 1000)):
        raise Timeout
    return sock.recv_multipart()


def recv(sock, timeout):
    if timeout is not None and not sock.poll(int(timeout * 1000)):
        raise Timeout
    return sock.recv()


def streamer_message(i):
    if i % 7 == 6:
        return [b"part", b"%d" % i, b""]
    return [b"message %d" % i]


def publisher(context, endpoints, args):
    kind = zmq.XPUB if args.xpub else zmq.PUB
    sender = context.socket(kind)
    sender.setsockopt(zmq.LINGER, 2000)
    attach(sender, endpoints[0])
    topics = [t.encode() for t in args.topics.split(",")] if args.topics else None
    i = 0
    while args.count == 0 or i < args.count:
        if topics is None:
            sender.send(b"Hello there")
        else:
            for topic in topics:
                sender.send_multipart([topic, b"%d" % i])
        i += 1
        deadline = time.monotonic() + args.interval
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if args.xpub and sender.poll(int(left * 1000) + 1):
                print("subscription", sender.recv())
            elif not args.xpub:
                time.sleep(left)
    print("sent", i)


def subscriber(context, endpoints, args):
    receiver = context.socket(zmq.SUB)
    for topic in args.topic or [""]:
        receiver.setsockopt(zmq.SUBSCRIBE, topic.encode())
    attach(receiver, endpoints[0])
    if args.announce:
        print("listening")
    got = 0
    while args.count == 0 or got < args.count:
        msg = recv_multipart(receiver, args.timeout)
        print("Subscriber got ", msg)
        got += 1


def stable_subscriber(context, endpoints, args):
    receiver = context.socket(zmq.SUB)
    receiver.setsockopt(zmq.SUBSCRIBE, b"")
    attach(receiver, endpoints[0])
    controller = context.socket(zmq.REP)
    attach(controller, endpoints[1])
    if args.announce:
        print("listening")
    # The seed waits for the publisher for as long as it takes.
    req = controller.recv()
    print("req = ", req)
    if req == b"Hello":
        controller.send(b"yes")
        got = 0
        while args.count == 0 or got < args.count:
            msg = recv_multipart(receiver, args.timeout)
            print("Subscriber got ", msg)
            got += 1
    else:
        print("Some error")


def stable_publisher(context, endpoints, args):
    sender = context.socket(zmq.PUB)
    sender.setsockopt(zmq.LINGER, 2000)
    # The seed's program races here: its REQ/REP handshake says the subscriber is
    # subscribed at the forwarder, not that the subscription has come back to this
    # PUB over its own new connection, and a PUB drops what no subscription wants.
    # On a loaded machine the handshake through the queue can win. So wait until
    # the PUB's connection is up, and a moment more for the forwarder's XSUB to send
    # the subscriptions it holds to its new peer.
    monitor = sender.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
    attach(sender, endpoints[0])
    if monitor.poll(int((args.timeout or 30) * 1000)):
        monitor.recv_multipart()
        time.sleep(0.2)
    sender.disable_monitor()
    monitor.close()
    controller = context.socket(zmq.REQ)
    attach(controller, endpoints[1])
    controller.send(b"Hello")
    rep = recv(controller, args.timeout)
    print("rep = ", rep)
    if rep == b"yes":
        for _ in range(3):
            sender.send(b"Blablabla")
        print("sent 3")
    else:
        print("Some error")


def client(context, endpoints, args):
    sock = context.socket(zmq.REQ)
    attach(sock, endpoints[0])
    for i in range(args.count):
        sock.send(b"Hello %s %d" % (args.name.encode(), i))
        print("client", args.name, "got", recv(sock, args.timeout))
    print("client", args.name, "done")


def worker(context, endpoints, args):
    sock = context.socket(zmq.REP)
    attach(sock, endpoints[0])
    print("worker", args.name, "up")
    while True:
        request = sock.recv()
        print("worker", args.name, "got", request)
        sock.send(b"World from " + args.name.encode() + b": " + request)


def push(context, endpoints, args):
    sock = context.socket(zmq.PUSH)
    sock.setsockopt(zmq.LINGER, 10_000)
    attach(sock, endpoints[0])
    for i in range(args.count):
        sock.send_multipart(streamer_message(i))
    print("sent", args.count)


def pull(context, endpoints, args):
    sock = context.socket(zmq.PULL)
    attach(sock, endpoints[0])
    for i in range(args.count):
        got = recv_multipart(sock, args.timeout)
        want = streamer_message(i)
        if got != want:
            print("fail", "message", i, "expected", want, "got", got)
            return
    print("ok", args.count, "in order")


MODES = {
    "publisher": publisher,
    "subscriber": subscriber,
    "stable-subscriber": stable_subscriber,
    "stable-publisher": stable_publisher,
    "client": client,
    "worker": worker,
    "push": push,
    "pull": pull,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=sorted(MODES))
    parser.add_argument("endpoints", nargs="*")
    parser.add_argument("--count", type=int, default=None)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--topics", default=None)
    parser.add_argument("--topic", action="append")
    parser.add_argument("--xpub", action="store_true")
    parser.add_argument("--name", default="0")
    parser.add_argument("--timeout", type=float, default=None)
    parser.add_argument("--announce", action="store_true")
    args = parser.parse_args()

    endpoints = args.endpoints or DEFAULTS[args.mode]
    if len(endpoints) != len(DEFAULTS[args.mode]):
        parser.error(f"{args.mode} takes {len(DEFAULTS[args.mode])} endpoint(s)")
    if args.count is None:
        args.count = DEFAULT_COUNTS.get(args.mode, 0)

    context = zmq.Context()
    # Time for what was sent to leave; no hang on the way out.
    context.setsockopt(zmq.LINGER, 2000)
    status = 0
    try:
        MODES[args.mode](context, endpoints, args)
    except Timeout:
        print("timeout")
        status = 1
    # Closes each socket with its own LINGER.
    context.destroy()
    sys.exit(status)


if __name__ == "__main__":
    main()
