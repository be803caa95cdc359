"""A clone server or client on libzmq, on the wire format of the ZeroMQ guide's
Clone pattern, model five (clonesrv5 / clonecli5 / kvmsg), for purezmq's clone
programs to meet.

    clone_peer.py client PORT SUBTREE NAME COUNT SECONDS
        Like clonecli5: subscribes to SUBTREE on PORT+1, takes a snapshot from PORT
        (prints "snapshot SEQ"), sets COUNT keys SUBTREE+NAME+i (the first with
        ttl=1, the others with ttl=0) through PORT+2, then applies updates newer
        than its sequence for SECONDS, printing "update SEQ KEY" or "delete SEQ KEY",
        and prints its map as "map {json}".

    clone_peer.py server PORT
        Like clonesrv5 (Python flavour: KTHXBAI carries a UUID and the subtree, ttl
        stored as an absolute time, expiry checked every second); prints
        "listening", then "publish SEQ KEY" and "expire SEQ KEY".
"""

import json
import struct
import sys
import time
import uuid

import zmq


def send_kvmsg(socket, key, sequence, uid, props, body, envelope=None):
    frames = [] if envelope is None else [envelope]
    prop_s = b"".join(b"%s=%s\n" % (k, v) for k, v in props.items())
    frames += [key, struct.pack("!q", sequence), uid, prop_s, body]
    socket.send_multipart(frames)


def parse_kvmsg(frames):
    key, seq_s, uid, prop_s, body = frames
    props = {}
    for line in prop_s.split(b"\n"):
        if b"=" in line:
            name, value = line.split(b"=", 1)
            props[name] = value
    return key, struct.unpack("!q", seq_s)[0], uid, props, body


def client(port, subtree, name, count, seconds):
    ctx = zmq.Context()
    snapshot = ctx.socket(zmq.DEALER)
    snapshot.linger = 0
    snapshot.connect("tcp://localhost:%d" % port)
    subscriber = ctx.socket(zmq.SUB)
    subscriber.linger = 0
    subscriber.setsockopt(zmq.SUBSCRIBE, subtree)
    subscriber.connect("tcp://localhost:%d" % (port + 1))
    publisher = ctx.socket(zmq.PUSH)
    publisher.linger = 1000
    publisher.connect("tcp://localhost:%d" % (port + 2))

    kvmap = {}
    snapshot.send_multipart([b"ICANHAZ?", subtree])
    while True:
        key, seq, _, _, body = parse_kvmsg(snapshot.recv_multipart())
        if key == b"KTHXBAI":
            sequence = seq
            break
        if body:
            kvmap[key] = body
    print("snapshot %d" % sequence)

    for i in range(count):
        key = subtree + b"%s%d" % (name, i)
        body = b"%s%d" % (name, i)
        ttl = b"1" if i == 0 else b"0"
        send_kvmsg(publisher, key, 0, uuid.uuid4().bytes, {b"ttl": ttl}, body)
        kvmap[key] = body

    deadline = time.time() + seconds
    while time.time() < deadline:
        if not subscriber.poll(max(1, int(1000 * (deadline - time.time())))):
            continue
        key, seq, _, _, body = parse_kvmsg(subscriber.recv_multipart())
        if seq <= sequence:
            continue
        sequence = seq
        if body:
            kvmap[key] = body
            print("update %d %s" % (seq, key.decode()))
        else:
            kvmap.pop(key, None)
            print("delete %d %s" % (seq, key.decode()))

    entries = {k.decode(): v.decode() for k, v in kvmap.items()}
    print("map " + json.dumps(entries, sort_keys=True))


def server(port):
    ctx = zmq.Context()
    snapshot = ctx.socket(zmq.ROUTER)
    snapshot.bind("tcp://*:%d" % port)
    publisher = ctx.socket(zmq.PUB)
    publisher.bind("tcp://*:%d" % (port + 1))
    collector = ctx.socket(zmq.PULL)
    collector.bind("tcp://*:%d" % (port + 2))
    print("listening")

    kvmap = {}  # key -> (sequence, uuid, props, body)
    sequence = 0
    poller = zmq.Poller()
    poller.register(snapshot, zmq.POLLIN)
    poller.register(collector, zmq.POLLIN)
    next_flush = time.time() + 1
    while True:
        events = dict(poller.poll(max(0, int(1000 * (next_flush - time.time())))))
        if snapshot in events:
            msg = snapshot.recv_multipart()
            if len(msg) == 3 and msg[1] == b"ICANHAZ?":
                identity, _, subtree = msg
                for key, (seq, uid, props, body) in kvmap.items():
                    if key.startswith(subtree):
                        send_kvmsg(snapshot, key, seq, uid, props, body, identity)
                send_kvmsg(snapshot, b"KTHXBAI", sequence, uuid.uuid4().bytes, {},
                           subtree, identity)
        if collector in events:
            key, _, uid, props, body = parse_kvmsg(collector.recv_multipart())
            sequence += 1
            send_kvmsg(publisher, key, sequence, uid, props, body)
            print("publish %d %s" % (sequence, key.decode()))
            ttl = float(props.get(b"ttl", b"0") or b"0")
            if ttl:
                props[b"ttl"] = b"%f" % (time.time() + ttl)
            if body:
                kvmap[key] = (sequence, uid, props, body)
            else:
                kvmap.pop(key, None)
        if time.time() >= next_flush:
            next_flush = time.time() + 1
            for key, (_, uid, props, body) in list(kvmap.items()):
                ttl = float(props.get(b"ttl", b"0") or b"0")
                if ttl and ttl <= time.time():
                    sequence += 1
                    send_kvmsg(publisher, key, sequence, uid, props, b"")
                    del kvmap[key]
                    print("expire %d %s" % (sequence, key.decode()))


if __name__ == "__main__":
    if sys.argv[1] == "client":
        port, subtree, name, count, seconds = sys.argv[2:7]
        client(int(port), subtree.encode(), name.encode(), int(count), float(seconds))
    else:
        server(int(sys.argv[2]))
