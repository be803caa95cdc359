#!/usr/bin/env python3
"""Capture byte-exact ZMTP traffic from libzmq (through pyzmq) as test vectors.

This script owns the contents of zmtp/tests/vectors/: every `.bin` there and
the README.md describing them (prose in vectors_readme.py). Edit the scripts,
not the outputs.

One side of each connection is a real libzmq socket; the other is a raw
socket (zmtp_raw.py) that speaks just enough ZMTP by hand to make libzmq emit
the item captured. libzmq always binds to 127.0.0.1 and the raw side
connects, so neither ports nor addresses reach the bytes; identities, topics
and passwords are fixed, so reruns give identical files. The script checks
every file against the bytes it expects and every fact the README states,
and writes nothing if any differs, so a libzmq change cannot silently alter
the vectors.

Usage: python capture_vectors.py [OUTPUT_DIR]   (default: <repo>/zmtp/tests/vectors)
"""

import os
import struct
import sys

import zmq
from zmq.auth.thread import ThreadAuthenticator

import vectors_readme
from zmtp_raw import (
    Raw, command, frame, greeting, hello, metadata, ping, ready, signature,
)

ROUTING_ID = b"client"
USERNAME = b"admin"
PASSWORD = b"secret"
WRONG_PASSWORD = b"wrong"
TOPIC = b"weather"
PING_CONTEXT = b"0123456789abcdefghij"
SHORT_PING_CONTEXT = b"ctx1"
METADATA_OPTION = b"X-Name:value"
# Short enough that the close after a PLAIN ERROR is observable quickly.
HANDSHAKE_IVL_MS = 1000

# Captures that depend on the pyzmq build; skipped (and said so) if unsupported.
OPTIONAL = {"ready_metadata.bin"}

# Observations the README states as facts, checked in `check_facts`.
OBSERVED = {}


class Session:
    """A zmq context plus every socket opened in it, all closed at the end."""

    def __init__(self):
        self.ctx = zmq.Context()
        self.sockets = []
        self.raws = []

    def bind(self, socket_type, **options):
        """A libzmq socket bound to a random 127.0.0.1 port, and its endpoint."""
        s = self.ctx.socket(socket_type)
        s.linger = 0
        s.sndtimeo = 5000
        s.rcvtimeo = 5000
        for name, value in options.items():
            s.setsockopt(getattr(zmq, name), value)
        port = s.bind_to_random_port("tcp://127.0.0.1")
        self.sockets.append(s)
        return s, f"tcp://127.0.0.1:{port}"

    def raw(self, endpoint):
        """A raw connection to `endpoint`."""
        r = Raw(endpoint)
        self.raws.append(r)
        return r

    def close(self):
        for r in self.raws:
            r.close()
        for s in self.sockets:
            s.close(linger=0)
        self.ctx.term()


def pump(sock):
    """A callable that makes `sock` process its command queue.

    A bound libzmq socket learns about a newly handshaken connection (the
    pipe "bind" command from its I/O thread) only when the application
    thread processes commands; setsockopt() does not, so a subscribe() on a
    bound SUB could sit unsent forever. Reading ZMQ_EVENTS does.
    """
    return lambda: sock.getsockopt(zmq.EVENTS)


def null_handshake(raw, peer_type, minor=1, identity=None):
    """Greet and READY as `peer_type`; return libzmq's (greeting, READY).

    libzmq's READY is read before ours is sent so that libzmq's order of
    events, and therefore its output, does not depend on timing.
    """
    raw.send(greeting(minor=minor))
    their_greeting = raw.recv_exact(64)
    their_ready = raw.recv_frame()
    raw.send(ready(peer_type, identity))
    return their_greeting, their_ready


def bind_and_handshake(sess, libzmq_type, peer_type, minor=1, **options):
    """Bind a libzmq socket, connect raw, do the NULL handshake."""
    sock, ep = sess.bind(libzmq_type, **options)
    raw = sess.raw(ep)
    their_greeting, their_ready = null_handshake(raw, peer_type, minor)
    return sock, raw, their_greeting, their_ready


# --------------------------------------------------------------------------
# Captures; each returns {filename: bytes}.
# --------------------------------------------------------------------------


def capture_greeting_stages(sess):
    _, ep = sess.bind(zmq.DEALER, ROUTING_ID=ROUTING_ID)
    raw = sess.raw(ep)
    ours = greeting()
    stage1, _ = raw.recv_until_silence()
    raw.send(ours[:10])
    stage2, _ = raw.recv_until_silence()
    raw.send(ours[10:11])
    stage3, _ = raw.recv_until_silence()
    raw.send(ours[11:])
    OBSERVED["greeting_stages"] = (stage1, stage2, stage3)
    return {
        "greeting_stage1_signature.bin": stage1,
        "greeting_stage2_major.bin": stage2,
    }


def capture_greetings_and_readies(sess):
    out = capture_greeting_stages(sess)
    _, _, g, r = bind_and_handshake(sess, zmq.DEALER, b"ROUTER", ROUTING_ID=ROUTING_ID)
    out["greeting_null.bin"] = g
    out["ready_dealer_identity.bin"] = r
    _, _, out["greeting_null_no_identity.bin"], _ = bind_and_handshake(
        sess, zmq.DEALER, b"ROUTER")

    # The raw peer announces a type libzmq accepts for each socket.
    pairs = [
        ("req", zmq.REQ, b"REP"),
        ("router", zmq.ROUTER, b"DEALER"),
        ("rep", zmq.REP, b"REQ"),
        ("pub", zmq.PUB, b"SUB"),
        ("sub", zmq.SUB, b"PUB"),
        ("xpub", zmq.XPUB, b"XSUB"),
        ("xsub", zmq.XSUB, b"XPUB"),
        ("push", zmq.PUSH, b"PULL"),
        ("pull", zmq.PULL, b"PUSH"),
        ("pair", zmq.PAIR, b"PAIR"),
    ]
    for name, libzmq_type, peer_type in pairs:
        _, _, _, out[f"ready_{name}.bin"] = bind_and_handshake(sess, libzmq_type, peer_type)
    return out


def capture_metadata(sess):
    """READY with an application property, if this build accepts ZMQ_METADATA."""
    probe = sess.ctx.socket(zmq.DEALER)
    try:
        probe.setsockopt(zmq.METADATA, METADATA_OPTION)
    except (zmq.ZMQError, AttributeError):
        return {}  # README and check_facts then report it as unavailable.
    finally:
        probe.close(linger=0)
    _, _, _, r = bind_and_handshake(sess, zmq.DEALER, b"ROUTER", METADATA=METADATA_OPTION)
    return {"ready_metadata.bin": r}


def capture_plain_client(sess):
    """libzmq as PLAIN client; the raw side plays the PLAIN server."""
    _, ep = sess.bind(zmq.DEALER, PLAIN_USERNAME=USERNAME, PLAIN_PASSWORD=PASSWORD)
    raw = sess.raw(ep)
    raw.send(greeting(b"PLAIN", as_server=True))
    out = {"greeting_plain_client.bin": raw.recv_exact(64)}
    out["plain_hello.bin"] = raw.recv_frame()
    raw.send(command(b"WELCOME"))
    out["plain_initiate.bin"] = raw.recv_frame()
    raw.send(ready(b"ROUTER", b""))
    return out


def capture_zap(sess):
    """libzmq as PLAIN server, and a NULL socket denied, both through ZAP."""
    out = {}
    auth = ThreadAuthenticator(sess.ctx)
    auth.start()
    try:
        auth.configure_plain(domain="*", passwords={USERNAME.decode(): PASSWORD.decode()})
        _, ep = sess.bind(zmq.ROUTER, PLAIN_SERVER=1)
        raw = sess.raw(ep)
        raw.send(greeting(b"PLAIN"))
        out["greeting_plain_server.bin"] = raw.recv_exact(64)
        raw.send(hello(USERNAME, PASSWORD))
        out["plain_welcome.bin"] = raw.recv_frame()
        raw.send(command(b"INITIATE", metadata([(b"Socket-Type", b"DEALER"),
                                                 (b"Identity", ROUTING_ID)])))
        out["plain_ready.bin"] = raw.recv_frame()

        _, ep = sess.bind(zmq.ROUTER, PLAIN_SERVER=1, HANDSHAKE_IVL=HANDSHAKE_IVL_MS)
        raw = sess.raw(ep)
        raw.send(greeting(b"PLAIN"))
        raw.recv_exact(64)
        raw.send(hello(USERNAME, WRONG_PASSWORD))
        out["plain_error_wrong_password.bin"] = raw.recv_frame()
        # Still open shortly after the ERROR; closed once the handshake timer fires.
        OBSERVED["plain_error_soon"] = raw.recv_until_silence(0.4)
        OBSERVED["plain_error_later"] = raw.recv_until_silence(3 * HANDSHAKE_IVL_MS / 1000)

        # NULL consults ZAP only when the socket has a ZAP domain.
        auth.deny("127.0.0.1")
        _, ep = sess.bind(zmq.DEALER, ZAP_DOMAIN=b"global")
        raw = sess.raw(ep)
        raw.send(greeting())
        raw.recv_exact(64)
        out["null_error_zap_denied.bin"] = raw.recv_frame()
        # libzmq's NULL mechanism fails only once it has both sent its ERROR
        # and received a command, so it stays open until we send our READY.
        OBSERVED["null_error_soon"] = raw.recv_until_silence(0.4)
        raw.send(ready(b"ROUTER", b""))
        OBSERVED["null_error_after_ready"] = raw.recv_until_silence(1.0)
    finally:
        auth.stop()
    return out


def capture_socket_type_error(sess):
    """A REQ told by the raw peer that it is a PUSH."""
    _, raw, _, _ = bind_and_handshake(sess, zmq.REQ, b"PUSH")
    after, closed = raw.recv_until_silence(1.0)
    OBSERVED["socket_type_closed"] = closed
    return {"error_socket_type.bin": after}


def capture_subscriptions(sess, minor, suffix):
    sub, raw, _, _ = bind_and_handshake(sess, zmq.SUB, b"PUB", minor=minor)
    # Each frame is read before the next call. The first subscribe may go out
    # directly or in the subscription set libzmq replays when the pipe
    # attaches (same bytes); the cancel must come after either.
    out = {}
    for name, action, topic in [
        (f"subscribe_{suffix}.bin", sub.subscribe, TOPIC),
        (f"cancel_{suffix}.bin", sub.unsubscribe, TOPIC),
        (f"subscribe_empty_{suffix}.bin", sub.subscribe, b""),
    ]:
        action(topic)
        raw.wait_readable(pump(sub))
        out[name] = raw.recv_frame()
    return out


def capture_heartbeats(sess):
    _, raw, _, _ = bind_and_handshake(
        sess, zmq.DEALER, b"ROUTER", HEARTBEAT_IVL=100, HEARTBEAT_TTL=2000)
    out = {"ping.bin": raw.recv_frame()}
    _, raw, _, _ = bind_and_handshake(sess, zmq.DEALER, b"ROUTER", HEARTBEAT_IVL=100)
    out["ping_no_ttl.bin"] = raw.recv_frame()

    # No heartbeat options: libzmq answers PINGs regardless.
    _, raw, _, _ = bind_and_handshake(sess, zmq.DEALER, b"ROUTER")
    raw.send(ping(0, PING_CONTEXT))
    out["pong.bin"] = raw.recv_frame()
    raw.send(ping(0, SHORT_PING_CONTEXT))
    out["pong_short.bin"] = raw.recv_frame()
    return out


def capture_messages(sess):
    dealer, raw, _, _ = bind_and_handshake(sess, zmq.DEALER, b"ROUTER")
    out = {}
    # send() processes commands and waits (SNDTIMEO) for the pipe to attach.
    dealer.send_multipart([b"", b"hello", b"world"])
    out["message_multipart.bin"] = raw.recv_message()
    for name, body in [("message_255.bin", b"x" * 255), ("message_256.bin", b"x" * 256),
                       ("message_empty.bin", b"")]:
        dealer.send(body)
        out[name] = raw.recv_message()
    return out


def capture_zmtp20_peer(sess):
    """What libzmq sends to a peer greeting in ZMTP 2.0 style."""
    _, ep = sess.bind(zmq.DEALER, ROUTING_ID=ROUTING_ID)
    raw = sess.raw(ep)
    # ZMTP 2.0 greeting: signature, revision 0x01, socket type (DEALER = 5).
    raw.send(signature() + b"\x01" + bytes([zmq.DEALER]))
    data, closed = raw.recv_until_silence()
    OBSERVED["zmtp20_closed"] = closed
    return {"greeting_to_zmtp20_peer.bin": data}


# --------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------


def libzmq_greeting(padding, mechanism=b"NULL"):
    """libzmq's 3.1 greeting: note the padding and the as-server byte always 0."""
    return greeting(mechanism, as_server=False, padding=struct.pack(">Q", padding))


def expected():
    """The exact bytes each file must hold."""
    empty_id = (b"Identity", b"")
    return {
        "greeting_stage1_signature.bin": signature(struct.pack(">Q", len(ROUTING_ID) + 1)),
        "greeting_stage2_major.bin": b"\x03",
        "greeting_null.bin": libzmq_greeting(len(ROUTING_ID) + 1),
        "greeting_null_no_identity.bin": libzmq_greeting(1),
        "greeting_plain_client.bin": libzmq_greeting(1, b"PLAIN"),
        "greeting_plain_server.bin": libzmq_greeting(1, b"PLAIN"),
        "ready_dealer_identity.bin": ready(b"DEALER", ROUTING_ID),
        "ready_req.bin": ready(b"REQ", b""),
        "ready_router.bin": ready(b"ROUTER", b""),
        "ready_rep.bin": ready(b"REP"),
        "ready_pub.bin": ready(b"PUB"),
        "ready_sub.bin": ready(b"SUB"),
        "ready_xpub.bin": ready(b"XPUB"),
        "ready_xsub.bin": ready(b"XSUB"),
        "ready_push.bin": ready(b"PUSH"),
        "ready_pull.bin": ready(b"PULL"),
        "ready_pair.bin": ready(b"PAIR"),
        "ready_metadata.bin": command(b"READY", metadata(
            [(b"Socket-Type", b"DEALER"), empty_id, (b"X-Name", b"value")])),
        "plain_hello.bin": hello(USERNAME, PASSWORD),
        "plain_welcome.bin": command(b"WELCOME"),
        "plain_initiate.bin": command(b"INITIATE", metadata(
            [(b"Socket-Type", b"DEALER"), empty_id])),
        "plain_ready.bin": command(b"READY", metadata([(b"Socket-Type", b"ROUTER"), empty_id])),
        # libzmq bug: "\x05ERROR" in C is "\x5e" "RROR"; see the README.
        "plain_error_wrong_password.bin": frame(b"\x5eRROR\x03400", flags=0x04),
        "null_error_zap_denied.bin": command(b"ERROR", b"\x03400"),
        "error_socket_type.bin": b"",
        "subscribe_zmtp31.bin": command(b"SUBSCRIBE", TOPIC),
        "cancel_zmtp31.bin": command(b"CANCEL", TOPIC),
        "subscribe_empty_zmtp31.bin": command(b"SUBSCRIBE"),
        "subscribe_zmtp30.bin": frame(b"\x01" + TOPIC),
        "cancel_zmtp30.bin": frame(b"\x00" + TOPIC),
        "subscribe_empty_zmtp30.bin": frame(b"\x01"),
        "ping.bin": ping(20, b""),
        "ping_no_ttl.bin": ping(0, b""),
        "pong.bin": command(b"PONG", PING_CONTEXT[:16]),
        "pong_short.bin": command(b"PONG", SHORT_PING_CONTEXT),
        "message_multipart.bin": frame(b"", 1) + frame(b"hello", 1) + frame(b"world"),
        "message_255.bin": frame(b"x" * 255),
        "message_256.bin": frame(b"x" * 256),
        "message_empty.bin": frame(b""),
        "greeting_to_zmtp20_peer.bin": signature(struct.pack(">Q", len(ROUTING_ID) + 1))
        + b"\x03" + bytes([zmq.DEALER]) + frame(ROUTING_ID),
    }


def check_facts(files):
    """Problems with the README's facts that are not visible in the bytes alone."""
    problems = []

    def want(ok, fact):
        if not ok:
            problems.append(fact)

    stage1, stage2, stage3 = OBSERVED["greeting_stages"]
    want(len(stage1) == 10 and len(stage2) == 1 and len(stage3) == 53
         and stage1 + stage2 + stage3 == files["greeting_null.bin"],
         "greeting sent in stages of 10, 1 and 53 bytes")
    want(OBSERVED["plain_error_soon"] == (b"", False),
         "connection silent and open right after the PLAIN ERROR")
    want(OBSERVED["plain_error_later"] == (b"", True),
         "connection closed by the handshake timer after the PLAIN ERROR")
    want(OBSERVED["null_error_soon"] == (b"", False), "open after the NULL ZAP ERROR")
    want(OBSERVED["null_error_after_ready"] == (b"", True),
         "closed at once after the NULL ZAP ERROR once our READY arrived")
    want(OBSERVED["socket_type_closed"], "closed after a Socket-Type mismatch")
    want(not OBSERVED["zmtp20_closed"], "ZMTP 2.0 connection still open after 300 ms")
    return problems


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.join(here, "..", "..", "zmtp", "tests", "vectors")
    out_dir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else default)

    files = {}
    sess = Session()
    try:
        for capture in [capture_greetings_and_readies, capture_metadata,
                        capture_plain_client, capture_zap, capture_socket_type_error]:
            files.update(capture(sess))
        files.update(capture_subscriptions(sess, minor=1, suffix="zmtp31"))
        files.update(capture_subscriptions(sess, minor=0, suffix="zmtp30"))
        for capture in [capture_heartbeats, capture_messages, capture_zmtp20_peer]:
            files.update(capture(sess))
    finally:
        sess.close()

    print(f"libzmq {zmq.zmq_version()}, pyzmq {zmq.pyzmq_version()}")
    for name in vectors_readme.DESCRIPTIONS:
        if name in files:
            print(f"{name} ({len(files[name])} bytes)\n{vectors_readme.hexdump(files[name])}")

    exp = expected()
    problems = [f"{name}:\n  got  {files.get(name, b'<missing>').hex(' ')}\n"
                f"  want {want.hex(' ')}"
                for name, want in exp.items()
                if files.get(name) != want and not (name in OPTIONAL and name not in files)]
    problems += check_facts(files)
    assert set(files) <= set(vectors_readme.DESCRIPTIONS), "a capture lacks a description"
    if problems:
        print("\nlibzmq no longer behaves as the README says; nothing written:",
              *problems, sep="\n- ", file=sys.stderr)
        sys.exit(1)

    os.makedirs(out_dir, exist_ok=True)
    for name in OPTIONAL - set(files):  # do not leave a stale optional vector
        if os.path.exists(os.path.join(out_dir, name)):
            os.remove(os.path.join(out_dir, name))
    for name, data in sorted(files.items()):
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)
    with open(os.path.join(out_dir, "README.md"), "w") as f:
        f.write(vectors_readme.render(files, zmq.zmq_version(), zmq.pyzmq_version()))
    print(f"\nwrote {len(files)} vectors and README.md to {out_dir}")


if __name__ == "__main__":
    main()
