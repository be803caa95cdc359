"""A libzmq peer for purezmq-zmtp's handshake tests.

Usage:
  zmtp_peer.py rep-bind    null|plain            binds a REP, answers one request
  zmtp_peer.py req-connect PORT null|plain USER PASS
                                                 connects a REQ, sends one request

rep-bind prints "PORT <n>" once bound, then "GOT <request>" and "DONE".
req-connect prints "REPLY <reply>" or "TIMEOUT". With plain, rep-bind runs a ZAP
authenticator that accepts only admin/secret.
"""

import sys

import zmq
from zmq.auth.thread import ThreadAuthenticator

TIMEOUT_MS = 10_000


def rep_bind(mechanism):
    ctx = zmq.Context()
    auth = None
    sock = ctx.socket(zmq.REP)
    if mechanism == "plain":
        auth = ThreadAuthenticator(ctx)
        auth.start()
        auth.configure_plain(domain="*", passwords={"admin": "secret"})
        sock.plain_server = True
    sock.rcvtimeo = TIMEOUT_MS
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    print(f"PORT {port}", flush=True)
    try:
        request = sock.recv()
        print(f"GOT {request.decode()}", flush=True)
        sock.send(request + b" World")
        print("DONE", flush=True)
    except zmq.Again:
        print("TIMEOUT", flush=True)
    sock.close(linger=1000)
    if auth:
        auth.stop()
    ctx.term()


def req_connect(port, mechanism, user="", password=""):
    ctx = zmq.Context()
    sock = ctx.socket(zmq.REQ)
    if mechanism == "plain":
        sock.plain_username = user.encode()
        sock.plain_password = password.encode()
    sock.rcvtimeo = TIMEOUT_MS
    sock.connect(f"tcp://127.0.0.1:{port}")
    sock.send(b"Hello")
    try:
        print(f"REPLY {sock.recv().decode()}", flush=True)
    except zmq.Again:
        print("TIMEOUT", flush=True)
    sock.close(linger=0)
    ctx.term()


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "rep-bind":
        rep_bind(sys.argv[2])
    elif mode == "req-connect":
        req_connect(sys.argv[2], *sys.argv[3:])
    else:
        sys.exit(f"unknown mode {mode}")
