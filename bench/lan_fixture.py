#!/usr/bin/env python3
"""Listeners for one live host of the small-network benchmark (standard library only).

    python3 bench/lan_fixture.py --tcp 22,80,6379 [--udp 53] --ready-file PATH

Binds each TCP port on 0.0.0.0 (never accepting: a connect scan completes
the handshake in the kernel) and each UDP port on 0.0.0.0, writes PATH
atomically when every socket is open, and waits for SIGTERM/SIGINT. Run it
inside the host's network namespace (ip netns exec NS python3 ...).
"""
import argparse, signal, socket, sys

from fixture import write_atomically  # bench/ is sys.path[0]

ap = argparse.ArgumentParser()
ap.add_argument("--tcp", default="")
ap.add_argument("--udp", default="")
ap.add_argument("--ready-file", required=True)
args = ap.parse_args()

keep = []
for proto, spec in ((socket.SOCK_STREAM, args.tcp), (socket.SOCK_DGRAM, args.udp)):
    for port in filter(None, spec.split(",")):
        s = socket.socket(socket.AF_INET, proto)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", int(port)))
        if proto == socket.SOCK_STREAM:
            s.listen(4096)
        keep.append(s)

write_atomically(args.ready_file, "ready\n")
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
while True:
    signal.pause()
