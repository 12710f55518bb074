#!/usr/bin/env python3
"""Listeners in many network namespaces, for bench/netns.sh (standard library only).

    python3 bench/netns_fixture.py [--ready-file PATH] [--timeout 60] NAME...

Each NAME is a network namespace that already exists (`ip netns add NAME`,
loopback up): this script neither creates nor deletes namespaces. For each
one it forks a process that enters it (setns(2) on /run/netns/NAME, before
opening any socket) and opens the same ten listeners there, as a small
container's services would:

    tcp  0.0.0.0:80     tcp6 [::]:443      tcp  127.0.0.1:5432
    tcp6 [::1]:6379     tcp  0.0.0.0:8080  tcp  127.0.0.1:9090
    tcp6 [::]:9100      udp  0.0.0.0:53    udp6 [::]:5353
    udp  127.0.0.1:8125

(seven TCP listeners, three unconnected UDP sockets; four of the ten
IPv6). Every namespace has the same ports, so a tool that does not keep
namespaces apart shows duplicates. The process of namespace number i is
named pcb-ns-i (comm).

When every process is ready the parent writes --ready-file atomically (else
prints "ready"): one line "NAME PID" per namespace. On SIGTERM/SIGINT it
stops them and removes the file. They also die with the parent however it
dies (PR_SET_PDEATHSIG, and EOF on their control pipe). No traffic at all:
the sockets are only bound.
"""

import argparse
import ctypes
import os
import signal
import socket
import sys
import time

PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15
CLONE_NEWNET = 0x40000000

# (kind, family, address, port) of the listeners every namespace gets.
LISTENERS = [
    (socket.SOCK_STREAM, socket.AF_INET, "0.0.0.0", 80),
    (socket.SOCK_STREAM, socket.AF_INET6, "::", 443),
    (socket.SOCK_STREAM, socket.AF_INET, "127.0.0.1", 5432),
    (socket.SOCK_STREAM, socket.AF_INET6, "::1", 6379),
    (socket.SOCK_STREAM, socket.AF_INET, "0.0.0.0", 8080),
    (socket.SOCK_STREAM, socket.AF_INET, "127.0.0.1", 9090),
    (socket.SOCK_STREAM, socket.AF_INET6, "::", 9100),
    (socket.SOCK_DGRAM, socket.AF_INET, "0.0.0.0", 53),
    (socket.SOCK_DGRAM, socket.AF_INET6, "::", 5353),
    (socket.SOCK_DGRAM, socket.AF_INET, "127.0.0.1", 8125),
]


def log(msg):
    print(f"netns_fixture: {msg}", file=sys.stderr, flush=True)


class Stop(Exception):
    """Raised from the SIGTERM/SIGINT handler to unwind the parent cleanly."""


def write_atomically(path, text):
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def worker(index, name, parent_pid, up_fd, down_fd):
    """Enters namespace `name`, opens the listeners, waits. Never returns."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(1)
    libc.prctl(PR_SET_NAME, ctypes.c_char_p(f"pcb-ns-{index}".encode()), 0, 0, 0)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)
    up = os.fdopen(up_fd, "w", buffering=1)
    down = os.fdopen(down_fd, "r")
    keep = []
    try:
        fd = os.open(f"/run/netns/{name}", os.O_RDONLY | os.O_CLOEXEC)
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns {name}: {os.strerror(err)}")
        os.close(fd)
        for kind, family, host, port in LISTENERS:
            s = socket.socket(family, kind)
            if family == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            s.bind((host, port))
            if kind == socket.SOCK_STREAM:
                s.listen(16)
            keep.append(s)
        up.write("ready\n")
    except Exception as e:
        try:
            up.write(f"error {name}: {e}\n")
        finally:
            os._exit(1)
    while down.readline():
        pass
    os._exit(0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="+", metavar="NAME", help="network namespaces (ip netns names)")
    ap.add_argument("--ready-file", help="write this file when ready (else print 'ready')")
    ap.add_argument("--timeout", type=float, default=60,
                    help="give up if not ready after this many seconds")
    a = ap.parse_args()

    t0 = time.monotonic()
    me = os.getpid()
    workers = []  # [(name, pid, up_file, down_file)]

    def on_stop(signum, _frame):
        raise Stop(signum)

    def on_alarm(_signum, _frame):
        raise TimeoutError(f"not ready after {a.timeout:g}s")

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGALRM, on_alarm)
    rc = 0
    try:
        signal.setitimer(signal.ITIMER_REAL, a.timeout)
        for i, name in enumerate(a.names):
            up_r, up_w = os.pipe()
            down_r, down_w = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(up_r)
                os.close(down_w)
                for _, _, uf, df in workers:
                    uf.close()
                    df.close()
                try:
                    worker(i, name, me, up_w, down_r)
                finally:
                    os._exit(1)
            os.close(up_w)
            os.close(down_r)
            workers.append((name, pid, os.fdopen(up_r, "r"), os.fdopen(down_w, "w", buffering=1)))
        for name, pid, uf, _ in workers:
            line = uf.readline().strip()
            if line != "ready":
                raise RuntimeError(line or f"process for {name} (pid {pid}) died")
        signal.setitimer(signal.ITIMER_REAL, 0)
        log(f"ready in {time.monotonic() - t0:.2f}s: {len(LISTENERS)} listeners in each of "
            f"{len(workers)} namespaces (parent pid {me})")
        summary = "".join(f"{name} {pid}\n" for name, pid, _, _ in workers)
        if a.ready_file:
            write_atomically(a.ready_file, summary)
        else:
            print("ready", flush=True)
        pid, status = os.waitpid(-1, 0)
        workers = [w for w in workers if w[1] != pid]
        raise RuntimeError(f"pid {pid} exited unexpectedly (status {status})")
    except Stop as s:
        log(f"got signal {s.args[0]}, stopping")
    except Exception as e:
        log(f"error: {e}")
        rc = 1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
        for _, pid, _, _ in workers:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for _, pid, _, _ in workers:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        if a.ready_file:
            try:
                os.unlink(a.ready_file)
            except FileNotFoundError:
                pass
    return rc


if __name__ == "__main__":
    sys.exit(main())
