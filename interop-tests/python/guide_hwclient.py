"""The guide's Hello World client (hwclient.py), for interop tests.

Connects a REQ socket to tcp://localhost:5555, sends "Hello" ten times and
expects "World" back each time, printing a line per step. Exits with an error
if a reply is anything else or takes over 30 seconds.

Used by interop-tests/tests/guide_examples.rs against purezmq's hwserver example.
"""

import sys

import zmq

context = zmq.Context()
print("Connecting to hello world server...")
socket = context.socket(zmq.REQ)
socket.setsockopt(zmq.RCVTIMEO, 30_000)
socket.setsockopt(zmq.LINGER, 1000)
socket.connect("tcp://localhost:5555")

for request in range(10):
    print(f"Sending request {request} ...")
    socket.send(b"Hello")
    reply = socket.recv()
    if reply != b"World":
        sys.exit(f"expected b'World', got {reply!r}")
    print(f"Received reply {request} [ {reply.decode()} ]")

socket.close()
context.term()
