#!/usr/bin/env python3
"""A pre-forking TCP server for bench/close.sh: the master listens on PORT,
forks WORKERS workers that share the socket, and writes READY_FILE (its pid)
once all are up. --mode polite: on SIGTERM the master stops its workers and
exits (nginx, apache, gunicorn). --mode stubborn: the workers ignore SIGTERM
and outlive their master, so only SIGKILL after the grace frees the port.
Runs detached (its own session), so the benchmark's command is not its parent."""
import argparse, os, signal, socket, sys, time

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--workers", type=int, default=2)
parser.add_argument("--mode", choices=["polite", "stubborn"], default="polite")
parser.add_argument("--ready-file", required=True)
args = parser.parse_args()

if os.fork() > 0:
    os._exit(0)
os.setsid()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", args.port))
s.listen(128)
workers = []
for _ in range(args.workers):
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN if args.mode == "stubborn" else signal.SIG_DFL)
        while True:
            time.sleep(3600)
    workers.append(pid)

def stop(signum, frame):
    if args.mode == "polite":
        for w in workers:
            os.kill(w, signal.SIGTERM)
        for w in workers:
            os.waitpid(w, 0)
    os._exit(0)

signal.signal(signal.SIGTERM, stop)
with open(args.ready_file + ".tmp", "w") as f:
    f.write("%d\n" % os.getpid())
os.rename(args.ready_file + ".tmp", args.ready_file)
while True:
    time.sleep(3600)
