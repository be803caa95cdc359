"""Prints the libzmq and pyzmq versions, then idles until killed.

Used by interop-tests/tests/pyzmq_available.rs to check PyPeer: reading
lines, timing out on silence, and killing the child on drop.
"""

import sys
import time

import zmq

print(f"libzmq {zmq.zmq_version()}")
print(f"pyzmq {zmq.pyzmq_version()}")
# Idle with a bound so a leaked process cannot live forever.
time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 60)
