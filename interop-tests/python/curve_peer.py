"""A libzmq CURVE peer for purezmq-curve's interop tests.

Usage:
  curve_peer.py rep-bind SERVER_SECRET [allow CLIENT_PUBLIC | deny-all] [heartbeat]
      binds a REP as CURVE server; prints "PORT <n>", then for each request
      "GOT <frames joined by |>" and replies with the request, " World" appended to
      its last frame. With allow/deny-all a ZAP authenticator admits only that key
      (or none). With heartbeat, PINGs every 100 ms and drops a silent peer after
      300 ms.
  curve_peer.py pub-bind SERVER_SECRET
      binds a PUB as CURVE server; prints "PORT <n>" and publishes "other <i>" and
      "weather <i>" every 20 ms.
  curve_peer.py req-connect PORT SERVER_PUBLIC CLIENT_SECRET
      connects a REQ as CURVE client, sends the two frames "Hello" "again", prints
      "REPLY <frames joined by |>", or "AUTH_FAILED <status>" / "TIMEOUT".
  curve_peer.py create-certs DIR NAME
      writes DIR/NAME.key and DIR/NAME.key_secret with zmq.auth.create_certificates
      (metadata name=NAME) and prints "PUBLIC <z85>" and "SECRET <z85>".
  curve_peer.py load-cert FILE
      prints "PUBLIC <z85>" and "SECRET <z85 or None>" from zmq.auth.load_certificate.
  curve_peer.py load-certs DIR
      prints "KEY <z85>" for each key zmq.auth.load_certificates finds, sorted.
"""

import sys
import threading
import time

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator
from zmq.utils.monitor import recv_monitor_message

TIMEOUT_MS = 10_000


def public_of(secret):
    return zmq.curve_public(secret.encode())


def rep_bind(secret, *options):
    ctx = zmq.Context()
    auth = None
    options = list(options)
    if options and options[0] in ("allow", "deny-all"):
        auth = ThreadAuthenticator(ctx)
        auth.start()
        if options[0] == "allow":
            # An allowlist of one key, as configure_curve reads a directory of them.
            auth.configure_curve_callback(domain="*", credentials_provider=Allow(options[1]))
            del options[:2]
        else:
            auth.configure_curve_callback(domain="*", credentials_provider=Allow(None))
            del options[:1]
    sock = ctx.socket(zmq.REP)
    sock.curve_server = True
    sock.curve_secretkey = secret.encode()
    sock.curve_publickey = public_of(secret)
    if "heartbeat" in options:
        sock.heartbeat_ivl = 100
        sock.heartbeat_timeout = 300
    sock.rcvtimeo = TIMEOUT_MS
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    print(f"PORT {port}", flush=True)
    try:
        while True:
            frames = sock.recv_multipart()
            print("GOT " + "|".join(f.decode() for f in frames), flush=True)
            frames[-1] += b" World"
            sock.send_multipart(frames)
    except zmq.Again:
        print("TIMEOUT", flush=True)
    sock.close(linger=1000)
    if auth:
        auth.stop()
    ctx.term()


class Allow:
    """A ZAP CURVE credentials provider admitting one Z85 key (or none)."""

    def __init__(self, key):
        self.key = key.encode() if key else None

    def callback(self, domain, key):
        # pyzmq hands the key over in Z85 already.
        return self.key is not None and key == self.key


def pub_bind(secret):
    ctx = zmq.Context()
    sock = ctx.socket(zmq.PUB)
    sock.curve_server = True
    sock.curve_secretkey = secret.encode()
    sock.curve_publickey = public_of(secret)
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    print(f"PORT {port}", flush=True)
    deadline = time.time() + TIMEOUT_MS / 1000
    i = 0
    while time.time() < deadline:
        sock.send(f"other {i}".encode())
        sock.send(f"weather {i}".encode())
        i += 1
        time.sleep(0.02)
    sock.close(linger=0)
    ctx.term()


def req_connect(port, server_public, client_secret):
    ctx = zmq.Context()
    sock = ctx.socket(zmq.REQ)
    sock.curve_serverkey = server_public.encode()
    sock.curve_secretkey = client_secret.encode()
    sock.curve_publickey = public_of(client_secret)
    monitor = sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_AUTH)
    failed = []

    def watch():
        try:
            event = recv_monitor_message(monitor)
            failed.append(event["value"])
        except zmq.ZMQError:
            pass

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    sock.rcvtimeo = TIMEOUT_MS
    sock.connect(f"tcp://127.0.0.1:{port}")
    sock.send_multipart([b"Hello", b"again"])
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    deadline = time.time() + TIMEOUT_MS / 1000
    while time.time() < deadline:
        if poller.poll(50):
            frames = sock.recv_multipart()
            print("REPLY " + "|".join(f.decode() for f in frames), flush=True)
            break
        if failed:
            print(f"AUTH_FAILED {failed[0]}", flush=True)
            break
    else:
        print("TIMEOUT", flush=True)
    sock.disable_monitor()
    sock.close(linger=0)
    monitor.close(linger=0)
    ctx.term()


def create_certs(directory, name):
    public_file, secret_file = zmq.auth.create_certificates(directory, name, metadata={"name": name})
    public, secret = zmq.auth.load_certificate(secret_file)
    print(f"PUBLIC {public.decode()}", flush=True)
    print(f"SECRET {secret.decode()}", flush=True)


def load_cert(path):
    public, secret = zmq.auth.load_certificate(path)
    print(f"PUBLIC {public.decode()}", flush=True)
    print(f"SECRET {secret.decode() if secret else None}", flush=True)


def load_certs(directory):
    for key in sorted(zmq.auth.load_certificates(directory)):
        print(f"KEY {key.decode()}", flush=True)
    print("END", flush=True)


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    modes = {
        "rep-bind": rep_bind,
        "pub-bind": pub_bind,
        "req-connect": req_connect,
        "create-certs": create_certs,
        "load-cert": load_cert,
        "load-certs": load_certs,
    }
    if mode not in modes:
        sys.exit(f"unknown mode {mode}")
    modes[mode](*args)
