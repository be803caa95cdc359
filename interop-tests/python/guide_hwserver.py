"""The guide's Hello World server (hwserver.py), for interop tests.

Binds a REP socket to tcp://*:5555 and answers each "Hello" with "World",
printing "Received request: <request>" for each. Unlike the guide's, it does not
pretend to work a second per request, and it stops after 60 seconds so that a
leaked process cannot hold the port for ever.

Used by interop-tests/tests/guide_examples.rs against purezmq's hwclient example.
"""

import zmq

context = zmq.Context()
socket = context.socket(zmq.REP)
socket.setsockopt(zmq.RCVTIMEO, 60_000)
socket.bind("tcp://*:5555")
print("Listening on tcp://*:5555")

while True:
    try:
        request = socket.recv()
    except zmq.Again:
        break
    print(f"Received request: {request.decode()}")
    socket.send(b"World")
