"""What libzmq reports in ZMQ_EVENTS (POLLIN, POLLOUT) in a row of situations, for
tests/zmq_api.rs, which builds the same situations on purezmq-compat and compares
the lines one by one.

Usage:
  pollout_table.py

Output: one line per situation, "<situation> <events>" with events "in", "out",
"in+out" or "-" (or "<situation> <number>", "<situation> sent|EAGAIN"), then "ok".
Everything runs over inproc in this one process, where libzmq delivers at once.
"""

import zmq

TYPES = [
    "PUSH", "PULL", "PUB", "SUB", "XPUB", "XSUB",
    "DEALER", "ROUTER", "REQ", "REP", "PAIR",
]
# How long a poll for an arrival may take, in milliseconds.
WAIT_MS = 10_000


def events(socket):
    flags = socket.getsockopt(zmq.EVENTS)
    names = [name for flag, name in ((zmq.POLLIN, "in"), (zmq.POLLOUT, "out"))
             if flags & flag]
    return "+".join(names) or "-"


def report(situation, socket):
    print(situation, events(socket))


def fill(socket, frames):
    """Sends while POLLOUT holds; returns how many went."""
    sent = 0
    while socket.getsockopt(zmq.EVENTS) & zmq.POLLOUT:
        socket.send_multipart(frames, zmq.DONTWAIT)
        sent += 1
    return sent


def try_send(socket, frames):
    try:
        socket.send_multipart(frames, zmq.DONTWAIT)
        return "sent"
    except zmq.Again:
        return "EAGAIN"


def main():
    ctx = zmq.Context()
    for i, name in enumerate(TYPES):
        kind = getattr(zmq, name)
        alone = ctx.socket(kind)
        alone.setsockopt(zmq.LINGER, 0)
        report(f"{name} alone", alone)
        alone.bind(f"inproc://pollout-types-{i}")
        report(f"{name} bound", alone)
        connected = ctx.socket(kind)
        connected.setsockopt(zmq.LINGER, 0)
        connected.connect("tcp://127.0.0.1:1")
        report(f"{name} connected-to-nobody", connected)

    # A PUSH to a PULL that does not read, both HWMs 2.
    pull = ctx.socket(zmq.PULL)
    pull.setsockopt(zmq.RCVHWM, 2)
    pull.bind("inproc://pollout-fill")
    push = ctx.socket(zmq.PUSH)
    push.setsockopt(zmq.SNDHWM, 2)
    push.connect("inproc://pollout-fill")
    report("push connected", push)
    sent = fill(push, [b"x"])
    print("push sent-while-pollout", sent)
    print("push next-send", try_send(push, [b"x"]))
    report("push full", push)
    for _ in range(sent):
        pull.recv()
    report("push drained", push)

    # REQ and REP, in turn.
    rep = ctx.socket(zmq.REP)
    rep.bind("inproc://pollout-reqrep")
    req = ctx.socket(zmq.REQ)
    req.connect("inproc://pollout-reqrep")
    report("req before-request", req)
    report("rep before-request", rep)
    req.send(b"question")
    report("req after-request", req)
    rep.poll(WAIT_MS, zmq.POLLIN)
    report("rep request-queued", rep)
    rep.recv()
    report("rep request-read", rep)
    rep.send(b"answer")
    report("rep after-reply", rep)
    req.poll(WAIT_MS, zmq.POLLIN)
    report("req reply-queued", req)
    req.recv()
    report("req reply-read", req)
    relaxed = ctx.socket(zmq.REQ)
    relaxed.setsockopt(zmq.REQ_RELAXED, 1)
    relaxed.connect("inproc://pollout-reqrep")
    relaxed.send(b"again")
    report("req-relaxed after-request", relaxed)

    # ROUTER, with and without ROUTER_MANDATORY, to a DEALER that reads nothing.
    router = ctx.socket(zmq.ROUTER)
    report("router alone", router)
    router.setsockopt(zmq.ROUTER_MANDATORY, 1)
    report("router-mandatory alone", router)
    router.setsockopt(zmq.SNDHWM, 2)
    router.bind("inproc://pollout-router")
    dealer = ctx.socket(zmq.DEALER)
    dealer.setsockopt(zmq.RCVHWM, 2)
    dealer.setsockopt(zmq.IDENTITY, b"dealer")
    dealer.connect("inproc://pollout-router")
    report("router-mandatory peer", router)
    print("router-mandatory sent-while-pollout", fill(router, [b"dealer", b"x"]))
    print("router-mandatory next-send", try_send(router, [b"dealer", b"x"]))
    report("router-mandatory full", router)
    router.setsockopt(zmq.ROUTER_MANDATORY, 0)
    report("router full", router)

    # PAIR.
    a = ctx.socket(zmq.PAIR)
    a.setsockopt(zmq.SNDHWM, 1)
    a.bind("inproc://pollout-pair")
    report("pair bound", a)
    b = ctx.socket(zmq.PAIR)
    b.setsockopt(zmq.RCVHWM, 1)
    b.connect("inproc://pollout-pair")
    report("pair joined", a)
    report("pair joining", b)
    print("pair sent-while-pollout", fill(a, [b"x"]))
    report("pair full", a)

    # PUB to a SUB that reads nothing.
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.SNDHWM, 1)
    pub.bind("inproc://pollout-pub")
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.RCVHWM, 1)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect("inproc://pollout-pub")
    for _ in range(100):
        pub.send(b"news", zmq.DONTWAIT)
    report("pub after-100", pub)
    report("sub subscribed", sub)

    print("ok")
    ctx.destroy(linger=0)


if __name__ == "__main__":
    main()
