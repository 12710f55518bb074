#!/usr/bin/env python3
"""Socket-load fixture for benchmarking `portcullis list` and `hidden` (standard library only).

    python3 bench/fixture.py --tcp 10000 --udp 1000 --established 5000 --procs 20 \
        [--bind ADDR,...] [--ready-file PATH] [--port-start 20000] [--timeout 120]

Forks --procs worker processes and spreads the sockets evenly over them, so
that owner attribution (the /proc/PID/fd walk) has real work to do:

* --tcp N listeners in total. Each worker rotates its listeners over the
  --bind addresses, by default 127.0.0.1, ::1, 0.0.0.0 and :: (IPv4 and IPv6
  alternate; loopback and wildcard). --bind takes a comma-separated subset of
  those four, in the order to rotate (e.g. --bind 127.0.0.1 for IPv4 loopback
  only). Every listener has its own port, so there is no dual-stack
  ambiguity between 0.0.0.0:p and [::]:p.
* --udp U unconnected UDP sockets, rotated over the same addresses.
* --established E loopback connections. Worker i's clients connect to worker
  (i+1)'s first two listeners (alternating; with the default --bind these
  are 127.0.0.1 and ::1), so client and server ends belong to different
  processes, as in real life. A target bound to a wildcard address is
  reached through the loopback address of its family. These two listeners
  are COUNTED WITHIN N: `ss -Htln` shows exactly N new listeners. Each
  connection has two ESTABLISHED sockets (client end and accepted end), so
  `ss -Htn state established` shows 2*E new lines. Requires N >= 2*P.

Ports: listeners and UDP sockets get fixed ports from --port-start upward,
skipping the kernel's ephemeral range (/proc/sys/net/ipv4/ip_local_port_range)
so that they never collide with the client ends of the established connections
(or with anything else on the machine that uses ephemeral ports). The pool is
cut into one contiguous slice per worker, so workers never race for a port;
a port that is already in use (EADDRINUSE) is skipped and the next one tried.
TCP and UDP have separate port spaces, so each slice is used for both.

When every worker is ready the parent writes --ready-file (atomically; or
prints "ready" on stdout) and waits for SIGTERM/SIGINT; then it stops the
workers, whose sockets close with it, and removes the ready file. Workers also
die if the parent dies, however it dies (PR_SET_PDEATHSIG, plus EOF on their
control pipe), so no orphans hold ports after a `kill -9` of the parent.

All traffic stays on loopback: the only connect() calls go to 127.0.0.1/::1.
"""

import argparse
import ctypes
import errno
import os
import resource
import signal
import socket
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15

# Default rotation of bind addresses (--bind): IPv4 and IPv6 alternate;
# loopback then wildcard. A worker's first two listeners double as the accept
# targets for the established connections, which only ever go to loopback
# (CONNECT_TO maps each bindable address to the address a client uses).
ADDRESSES = [
    (socket.AF_INET, "127.0.0.1"),
    (socket.AF_INET6, "::1"),
    (socket.AF_INET, "0.0.0.0"),
    (socket.AF_INET6, "::"),
]
FAMILY_OF = {host: family for family, host in ADDRESSES}
CONNECT_TO = {"127.0.0.1": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::1": "::1", "::": "::1"}


def log(msg):
    print(f"fixture: {msg}", file=sys.stderr, flush=True)


class Stop(Exception):
    """Raised from the SIGTERM/SIGINT handler to unwind the parent cleanly."""


def ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
            return lo, hi
    except (OSError, ValueError):
        return 32768, 60999  # the Linux default


def port_pool(start):
    """All ports from `start` to 65535 outside the ephemeral range."""
    lo, hi = ephemeral_range()
    return [p for p in range(start, 65536) if not lo <= p <= hi]


def write_atomically(path, text):
    """Writes `path` through a temporary name and a rename: readers never see half a file."""
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def split_evenly(total, parts):
    """[total // parts (+1 for the first total % parts)]: counts per worker."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def raise_nofile():
    """Soft NOFILE limit to the hard limit; as root, lift the hard limit too.

    A worker holds ~(N + U + 2E) / P descriptors; at the target load that is
    about 1,050, above the usual soft limit of 1,024.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard
    if os.geteuid() == 0:
        try:
            with open("/proc/sys/fs/nr_open") as f:
                want = max(hard, min(int(f.read()), 1048576))
        except (OSError, ValueError):
            want = max(hard, 1048576)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def bind_some(kind, count, ports, backlog_for, addresses):
    """Open `count` sockets of `kind` on successive free ports from `ports`.

    Returns [(socket, family, host, port)]. Ports in use are skipped, so the
    count is exact unless the slice runs out, which is an error.
    """
    out = []
    it = iter(ports)
    while len(out) < count:
        family, host = addresses[len(out) % len(addresses)]
        for port in it:
            s = socket.socket(family, kind)
            if kind == socket.SOCK_STREAM:
                # Lets a rerun bind ports that still have TIME_WAIT sockets;
                # on Linux it never allows binding over a live listener.
                # (Not set for UDP, where it would allow sharing a port.)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host, port))
            except OSError as e:
                s.close()
                if e.errno == errno.EADDRINUSE:
                    continue  # taken by someone else: try the next port
                raise OSError(e.errno, f"bind {host} port {port}: {e.strerror}")
            if kind == socket.SOCK_STREAM:
                s.listen(backlog_for(len(out)))
            out.append((s, family, host, port))
            break
        else:
            raise RuntimeError(
                f"port slice exhausted after {len(out)} of {count} "
                f"{'TCP' if kind == socket.SOCK_STREAM else 'UDP'} sockets "
                "(too many ports in use, or too few ports outside the "
                "ephemeral range: lower --port-start or the counts)")
    return out


def linger_zero(s):
    # Close with RST instead of FIN: no TIME_WAIT sockets pile up between runs.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


def worker(index, parent_pid, ports, addresses, n_tcp, n_udp, n_est, up_fd, down_fd):
    """Body of worker `index`. Never returns (os._exit)."""
    libc = ctypes.CDLL(None, use_errno=True)
    # Die with the parent, and check for the race where it died before prctl.
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(1)
    # A recognisable name in ss/lsof/portcullis output (comm, 15 bytes max).
    libc.prctl(PR_SET_NAME, ctypes.c_char_p(f"fixture-w{index:02d}".encode()), 0, 0, 0)
    # Die quietly on Ctrl-C / SIGTERM: the parent does the orchestration.
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)

    up = os.fdopen(up_fd, "w", buffering=1)
    down = os.fdopen(down_fd, "r")
    keep = []  # every socket we own; closing them is the kernel's job at exit
    try:
        raise_nofile()
        # The two accept targets get a deep backlog so connects never wait on
        # accept(); the rest never see a connection.
        listeners = bind_some(socket.SOCK_STREAM, n_tcp, ports,
                              lambda i: 4096 if i < 2 else 16, addresses)
        keep += listeners
        keep += bind_some(socket.SOCK_DGRAM, n_udp, ports, None, addresses)
        # The two accept targets, as "host port" a client connects to.
        targets = [f"{CONNECT_TO[l[2]]} {l[3]}" for l in listeners[:2]]
        targets += ["- 0"] * (2 - len(targets))
        up.write(f"bound {' '.join(targets)}\n")

        # Wait for the parent to tell us whom to connect to (the next worker's
        # targets) and how many connections to accept from the previous one.
        line = down.readline().split()
        if not line or line[0] != "go":
            os._exit(1)
        # go HOST_A PORT_A HOST_B PORT_B N_ACCEPT
        dests = [(line[1], int(line[2])), (line[3], int(line[4]))]
        n_accept = int(line[5])

        accepted, accept_error = [], []

        def accept_loop():
            # Accept from both targets; the loopback v4/v6 listeners are
            # blocking, so poll them alternately with a short timeout.
            targets = [listeners[0][0], listeners[1][0]] if n_accept else []
            for t in targets:
                t.settimeout(0.05)
            try:
                while len(accepted) < n_accept:
                    for t in targets:
                        try:
                            conn, _ = t.accept()
                        except socket.timeout:
                            continue
                        conn.setblocking(True)
                        linger_zero(conn)
                        accepted.append(conn)
            except Exception as e:  # reported by the main thread
                accept_error.append(e)

        th = threading.Thread(target=accept_loop, daemon=True)
        th.start()
        for i in range(n_est):
            host, port = dests[i % 2]
            c = socket.socket(FAMILY_OF[host], socket.SOCK_STREAM)
            c.connect((host, port))
            linger_zero(c)
            keep.append(c)
        th.join()
        if accept_error:
            raise accept_error[0]
        keep += accepted
        up.write("ready\n")
    except Exception as e:
        try:
            up.write(f"error worker {index}: {e}\n")
        finally:
            os._exit(1)

    # Hold the sockets until the parent goes away or signals us. EOF on the
    # control pipe means the parent is gone even if PDEATHSIG were missed.
    while down.readline():
        pass
    os._exit(0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tcp", type=int, default=10000, help="TCP listeners (total)")
    ap.add_argument("--udp", type=int, default=1000, help="unconnected UDP sockets (total)")
    ap.add_argument("--established", type=int, default=5000,
                    help="loopback TCP connections (2 sockets each)")
    ap.add_argument("--procs", type=int, default=20, help="worker processes")
    ap.add_argument("--bind", default=",".join(h for _, h in ADDRESSES),
                    help="comma-separated addresses to rotate sockets over, a subset of "
                         "127.0.0.1, ::1, 0.0.0.0, :: (default: all four, in that order)")
    ap.add_argument("--ready-file", help="write this file when ready (else print 'ready')")
    ap.add_argument("--port-start", type=int, default=20000,
                    help="first port to try (default 20000)")
    ap.add_argument("--timeout", type=float, default=120,
                    help="give up if not ready after this many seconds")
    a = ap.parse_args()

    if a.procs < 1 or min(a.tcp, a.udp, a.established) < 0:
        ap.error("--procs must be >= 1 and the counts >= 0")
    hosts = [h.strip() for h in a.bind.split(",") if h.strip()]
    unknown = [h for h in hosts if h not in FAMILY_OF]
    if not hosts or unknown:
        ap.error(f"--bind takes addresses among {', '.join(FAMILY_OF)}; got {a.bind!r}")
    addresses = [(FAMILY_OF[h], h) for h in hosts]
    if a.established and a.tcp < 2 * a.procs:
        ap.error("--established needs --tcp >= 2 * --procs "
                 "(each worker's first two listeners accept the connections)")
    pool = port_pool(a.port_start)
    slice_len = len(pool) // a.procs
    need = max(-(-a.tcp // a.procs), -(-a.udp // a.procs))
    if need > slice_len:
        ap.error(f"need {need} ports per worker but only {slice_len} are available "
                 f"per worker from {a.port_start} outside the ephemeral range")

    tcp, udp, est = (split_evenly(n, a.procs) for n in (a.tcp, a.udp, a.established))
    t0 = time.monotonic()
    me = os.getpid()
    workers = []  # [(pid, up_file, down_file)]

    def on_stop(signum, _frame):
        raise Stop(signum)

    def on_alarm(_signum, _frame):
        raise TimeoutError(f"workers not ready after {a.timeout:g}s")

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGALRM, on_alarm)
    rc = 0
    try:
        signal.setitimer(signal.ITIMER_REAL, a.timeout)
        for i in range(a.procs):
            up_r, up_w = os.pipe()
            down_r, down_w = os.pipe()
            pid = os.fork()
            if pid == 0:
                # Drop every other worker's pipe ends so that EOF works.
                os.close(up_r)
                os.close(down_w)
                for _, uf, df in workers:
                    uf.close()
                    df.close()
                try:
                    worker(i, me, pool[i * slice_len:(i + 1) * slice_len], addresses,
                           tcp[i], udp[i], est[i], up_w, down_r)
                finally:
                    os._exit(1)
            os.close(up_w)
            os.close(down_r)
            workers.append((pid, os.fdopen(up_r, "r"), os.fdopen(down_w, "w", buffering=1)))

        def expect(word):
            replies = []
            for i, (pid, uf, _) in enumerate(workers):
                line = uf.readline().split()
                if not line:
                    raise RuntimeError(f"worker {i} (pid {pid}) died")
                if line[0] != word:
                    raise RuntimeError(" ".join(line[1:]) if line[0] == "error" else line)
                replies.append(line[1:])
            return replies

        # Phase 1: everyone has bound. Phase 2: worker i connects to worker
        # i+1's loopback listeners and accepts worker i-1's connections.
        bound = expect("bound")
        for i, (_, _, df) in enumerate(workers):
            nxt = bound[(i + 1) % a.procs]
            df.write(f"go {' '.join(nxt)} {est[(i - 1) % a.procs]}\n")
        expect("ready")
        signal.setitimer(signal.ITIMER_REAL, 0)

        took = time.monotonic() - t0
        summary = (f"pid={me}\nworkers={' '.join(str(p) for p, _, _ in workers)}\n"
                   f"tcp_listeners={a.tcp}\nudp_sockets={a.udp}\n"
                   f"established_connections={a.established}\n"
                   f"established_sockets={2 * a.established}\nseconds={took:.2f}\n")
        log(f"ready in {took:.2f}s: {a.tcp} TCP listeners, {a.udp} UDP sockets, "
            f"{a.established} established connections over {a.procs} processes "
            f"on {', '.join(hosts)} (parent pid {me})")
        if a.ready_file:
            write_atomically(a.ready_file, summary)
        else:
            print("ready", flush=True)

        # Block until SIGTERM/SIGINT (the handler raises Stop out of the
        # wait); a worker exiting on its own meanwhile is an error.
        pid, status = os.waitpid(-1, 0)
        workers = [w for w in workers if w[0] != pid]
        raise RuntimeError(f"worker pid {pid} exited unexpectedly (status {status})")
    except Stop as s:
        log(f"got signal {s.args[0]}, stopping workers")
    except Exception as e:
        log(f"error: {e}")
        rc = 1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)  # finish the cleanup undisturbed
        for pid, _, _ in workers:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for pid, _, _ in workers:
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
