#!/usr/bin/env python3
"""Listener fixture for the scan benchmark (standard library only).

    python3 bench/scan_fixture.py --listeners 5000 --ready-file PATH [--address 127.0.0.1]

Binds N TCP listeners on one loopback address, spread over 1-65535 outside
the kernel's ephemeral range (every 65535/N-th free port), with the largest
backlog the kernel allows, and never accepts: a connect scan completes the
handshake and resets, which leaves one dead child per scan in each accept
queue, so a 4096 backlog lasts thousands of runs. Writes the listening ports,
one per line, to PATH (atomically) when ready; exits on SIGTERM/SIGINT.
"""
import argparse, os, resource, signal, socket, sys

from fixture import write_atomically  # bench/ is sys.path[0]

ap = argparse.ArgumentParser()
ap.add_argument("--listeners", type=int, default=5000)
ap.add_argument("--address", default="127.0.0.1")
ap.add_argument("--ready-file", required=True)
args = ap.parse_args()

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
    low, high = map(int, f.read().split())

family = socket.AF_INET6 if ":" in args.address else socket.AF_INET
candidates = [p for p in range(1024, 65536) if not (low <= p <= high)]
step = max(1, len(candidates) // args.listeners)
keep, ports = [], []
for port in candidates[::step] + candidates:
    if len(keep) == args.listeners:
        break
    if port in ports:
        continue
    s = socket.socket(family, socket.SOCK_STREAM)
    try:
        s.bind((args.address, port))
    except OSError:
        s.close()
        continue
    s.listen(65535)  # capped at net.core.somaxconn
    keep.append(s)
    ports.append(port)
if len(keep) < args.listeners:
    sys.exit(f"scan_fixture: only {len(keep)} of {args.listeners} ports were free")

write_atomically(args.ready_file, "\n".join(map(str, sorted(ports))) + "\n")
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
while True:
    signal.pause()
