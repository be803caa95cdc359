"""The guide's Ironhouse pattern on libzmq (pyzmq's examples/security), for
interop tests against purezmq's ironhouse_server and ironhouse_client examples.

    ironhouse.py certs DIR [NAME ...]  make DIR/public_keys/NAME.key and
                                       DIR/private_keys/NAME.key_secret for each
                                       NAME (default: server client), as pyzmq's
                                       generate_certificates.py does; prints "ready"
    ironhouse.py client DIR            REQ with private_keys/client.key_secret and
                                       public_keys/server.key to tcp://127.0.0.1:9000:
                                       sends b"Hello", prints the reply; prints
                                       "no reply" and exits 1 after 5 s without one
    ironhouse.py server DIR            REP at tcp://*:9000 with
                                       private_keys/server.key_secret, admitting only
                                       the keys in public_keys/ (ThreadAuthenticator);
                                       replies request + b" World"; prints "listening"

Used by interop-tests/tests/ironhouse.rs.
"""

import os
import shutil
import sys

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator


def certs(base, names):
    staging = os.path.join(base, "certificates")
    public_dir = os.path.join(base, "public_keys")
    private_dir = os.path.join(base, "private_keys")
    for d in (staging, public_dir, private_dir):
        os.makedirs(d, exist_ok=True)
    for name in names:
        public_file, secret_file = zmq.auth.create_certificates(staging, name)
        shutil.move(public_file, os.path.join(public_dir, os.path.basename(public_file)))
        shutil.move(secret_file, os.path.join(private_dir, os.path.basename(secret_file)))
    print("ready")


def client(base):
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.REQ)
    sock.linger = 0
    public, secret = zmq.auth.load_certificate(
        os.path.join(base, "private_keys", "client.key_secret")
    )
    sock.curve_publickey = public
    sock.curve_secretkey = secret
    server_public, _ = zmq.auth.load_certificate(os.path.join(base, "public_keys", "server.key"))
    sock.curve_serverkey = server_public
    sock.connect("tcp://127.0.0.1:9000")
    sock.send(b"Hello")
    if sock.poll(5000):
        print(sock.recv().decode())
        return 0
    print("no reply")
    return 1


def server(base):
    ctx = zmq.Context.instance()
    auth = ThreadAuthenticator(ctx)
    auth.start()
    auth.configure_curve(domain="*", location=os.path.join(base, "public_keys"))
    sock = ctx.socket(zmq.REP)
    public, secret = zmq.auth.load_certificate(
        os.path.join(base, "private_keys", "server.key_secret")
    )
    sock.curve_publickey = public
    sock.curve_secretkey = secret
    sock.curve_server = True
    sock.bind("tcp://*:9000")
    print("listening")
    while True:
        request = sock.recv()
        sock.send(request + b" World")


if __name__ == "__main__":
    command, base = sys.argv[1], sys.argv[2]
    if command == "certs":
        certs(base, sys.argv[3:] or ["server", "client"])
    elif command == "client":
        sys.exit(client(base))
    elif command == "server":
        server(base)
    else:
        sys.exit(f"unknown command {command!r}")
