"""Steers a purezmq proxy from libzmq, as a zmq_proxy_steerable user would
(tests/proxy.rs).

Usage:
  proxy_control.py REQ|PAIR CONTROL FRONTEND BACKEND

The proxy under test is a streamer: FRONTEND is its PULL, BACKEND its PUSH, and
CONTROL its REP (for REQ here) or PAIR control socket. This peer connects a PUSH
to FRONTEND, a PULL to BACKEND and the control socket to CONTROL, then:

  1. STATISTICS                   -> "statistics <8 numbers>"
  2. sends 10 messages b'message <i>' and 5 of three frames
     [b'multi', b'part', b'<i>'], receives all 15 -> "forwarded 15"
  3. STATISTICS                   -> "statistics ..."
  4. PAUSE                        -> "PAUSE reply <frames>" or "PAUSE no reply"
  5. sends b'while paused'        -> "paused: nothing arrived" or "paused: got ..."
  6. STATISTICS                   -> "statistics ..."
  7. RESUME                       -> "RESUME reply ..." or "RESUME no reply";
                                     then "resumed: got <frames>"
  8. STATISTICS                   -> "statistics ..."
  9. BOGUS (unknown)              -> "BOGUS reply ..." or "BOGUS no reply"
 10. TERMINATE                    -> "TERMINATE reply ..." or "TERMINATE no reply"
 then "end".

A STATISTICS reply is read as eight frames of eight bytes, each unpacked with
struct '=Q' (native byte order, as libzmq writes them). A reply of another shape
prints "statistics bad <frames>"; anything arriving after the eight frames adds
" extra <frames>".
"""

import struct
import sys

import zmq

# How long to wait for a reply that should come, and to be sure none comes.
WAIT_MS = 10_000
QUIET_MS = 500


def main():
    kind, control_endpoint, frontend, backend = sys.argv[1:5]
    context = zmq.Context()
    context.setsockopt(zmq.LINGER, 0)
    control = context.socket({"REQ": zmq.REQ, "PAIR": zmq.PAIR}[kind])
    control.connect(control_endpoint)
    push = context.socket(zmq.PUSH)
    push.connect(frontend)
    pull = context.socket(zmq.PULL)
    pull.connect(backend)

    def expect_message(sock, what):
        if not sock.poll(WAIT_MS):
            print("timeout waiting for", what)
            context.destroy()
            sys.exit(1)
        return sock.recv_multipart()

    def statistics():
        control.send(b"STATISTICS")
        frames = expect_message(control, "STATISTICS")
        if len(frames) != 8 or any(len(f) != 8 for f in frames):
            line = "statistics bad %r" % frames
        else:
            values = [struct.unpack("=Q", f)[0] for f in frames]
            line = "statistics " + " ".join(str(v) for v in values)
        if control.poll(QUIET_MS // 5):
            line += " extra %r" % control.recv_multipart()
        print(line)

    def command(name):
        control.send(name)
        if kind == "REQ":
            print(name.decode(), "reply", expect_message(control, name.decode()))
        elif control.poll(QUIET_MS):
            print(name.decode(), "reply", control.recv_multipart())
        else:
            print(name.decode(), "no reply")

    statistics()

    sent = [[b"message %d" % i] for i in range(10)]
    sent += [[b"multi", b"part", b"%d" % i] for i in range(5)]
    for message in sent:
        push.send_multipart(message)
    got = [expect_message(pull, "forwarded messages") for _ in sent]
    print("forwarded", len(got) if got == sent else "wrong %r" % got)
    statistics()

    command(b"PAUSE")
    push.send(b"while paused")
    if pull.poll(QUIET_MS):
        print("paused: got", pull.recv_multipart())
    else:
        print("paused: nothing arrived")
    statistics()

    command(b"RESUME")
    print("resumed: got", expect_message(pull, "the message sent while paused"))
    statistics()

    command(b"BOGUS")
    command(b"TERMINATE")
    print("end")
    context.destroy()


if __name__ == "__main__":
    main()
