#!/usr/bin/env python3
"""Socket-churn generator for soak-testing `portcullis hidden` (standard library only).

    python3 bench/churn.py [--rate 3000] [--workers 4] [--port-start 20000]
        [--ready-file PATH] [--report PATH] [--duration SECONDS]

Forks --workers processes that open and close sockets on loopback, paced to
--rate socket() calls per second in total (0 = as fast as they can), until
SIGTERM/SIGINT (or --duration). Each worker repeats this cycle of six
socket() calls, so every kind below runs at rate/6 per second:

* tcp_listen  v4 and v6: socket, bind to a port of the worker's own slice of
  fixed ports (--port-start upward, outside the ephemeral range, so TIME_WAIT
  never starves them), listen, close. A port that is busy (EADDRINUSE: for
  example while `portcullis hidden` bind-probes it) is skipped and counted.
* tcp_connect v4 and v6: connect to the worker's own long-lived listener on
  127.0.0.1 or ::1, send one byte, wait for the one-byte reply, close. The
  client closes first, so every connection leaves a TIME_WAIT socket on its
  ephemeral port. The server end is accept()ed by a thread of the worker,
  which reads the byte, answers, waits for EOF and closes: one more socket
  opened and closed per connection (counted as tcp_accepted). Connections
  from others (such as the connect probes of `portcullis hidden`) are
  accepted too, dropped, and counted only as accepted_unscripted.
* udp         v4 and v6: socket, bind to 127.0.0.1:0 or [::1]:0 (an
  ephemeral port), send one datagram to itself, close.

Counters live in shared memory; the parent samples them once a second. The
ready file (written atomically) appears once every worker is running. At the
end the parent writes --report (JSON, else stderr only) with totals per kind
and family, the elapsed time, the mean rate of all sockets and of socket()
calls alone, and the lowest and median one-second rate. A worker that dies
fails the run (exit 1); so does an unexpected error in any socket operation
(EADDRINUSE on a listener port, and client connections that are refused,
reset or time out, are counted, not fatal).

All traffic stays on loopback (127.0.0.1 and ::1).
"""

import argparse
import ctypes
import errno
import json
import multiprocessing as mp
import os
import signal
import socket
import statistics
import sys
import threading
import time

from fixture import Stop, ephemeral_range, port_pool, write_atomically  # bench/ is sys.path[0]

PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15

FAMILIES = [("v4", socket.AF_INET, "127.0.0.1"), ("v6", socket.AF_INET6, "::1")]
# Counter slots per worker: (kind, family) pairs, then error counters.
KINDS = ["tcp_listen", "tcp_connect", "tcp_accepted", "udp"]
EVENTS = ["listen_port_busy", "connect_failed", "accepted_unscripted"]  # not sockets of their own
SLOTS = [f"{k}_{f}" for k in KINDS for f, _, _ in FAMILIES] + EVENTS
SLOT = {name: i for i, name in enumerate(SLOTS)}
SOCKETS = [i for name, i in SLOT.items() if name not in EVENTS]
CREATED = [i for name, i in SLOT.items() if name not in EVENTS and not name.startswith("tcp_accepted")]
CYCLE = 6  # socket() calls per cycle


def log(msg):
    print(f"churn: {msg}", file=sys.stderr, flush=True)


def serve(listener, counters, base, foreign, stop, errors):
    """Accept connections on `listener` one by one: read 1 byte, answer, wait for EOF.

    Connections that do not follow that script (reset, silent or closed at
    once: `portcullis hidden` connect-probes ports in use, and so may anyone
    else on loopback) are counted in `foreign`, not in `base`, and dropped:
    they are not the generator's doing.
    """
    try:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except socket.timeout:
                continue
            ok = False
            with conn:
                try:
                    conn.settimeout(1)
                    if conn.recv(1):
                        conn.sendall(b"y")
                        # EOF: the client closed first (TIME_WAIT is on its side)
                        ok = conn.recv(1) == b""
                except (OSError, socket.timeout):
                    pass
            counters[base if ok else foreign] += 1
    except Exception as e:  # reported by the worker's main loop
        errors.append(e)


def worker(index, parent_pid, ports, per_second, counters, ready):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(1)
    libc.prctl(PR_SET_NAME, ctypes.c_char_p(f"churn-w{index:02d}".encode()), 0, 0, 0)
    stopping = threading.Event()

    def on_term(_signum, _frame):
        stopping.set()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    n = len(SLOTS)
    mine = lambda name: index * n + SLOT[name]  # noqa: E731

    try:
        servers, errors = [], []
        for fam, af, host in FAMILIES:
            ls = socket.socket(af, socket.SOCK_STREAM)
            ls.bind((host, 0))
            ls.listen(1024)
            servers.append((fam, af, host, ls.getsockname()[1]))
            threading.Thread(target=serve, args=(ls, counters, mine(f"tcp_accepted_{fam}"),
                                                 mine("accepted_unscripted"), stopping, errors),
                             daemon=True).start()
        ready.release()

        port_i = 0
        started = time.monotonic()
        done = 0  # socket() calls so far
        while not stopping.is_set():
            if errors:
                raise errors[0]
            for fam, af, host, target in servers:
                # TCP listener on a fixed port of our slice.
                s = socket.socket(af, socket.SOCK_STREAM)
                try:
                    port = ports[port_i % len(ports)]
                    port_i += 1
                    try:
                        s.bind((host, port))
                        s.listen(16)
                        counters[mine(f"tcp_listen_{fam}")] += 1
                    except OSError as e:
                        if e.errno != errno.EADDRINUSE:
                            raise OSError(e.errno, f"bind/listen {host} port {port}: {e.strerror}")
                        counters[mine("listen_port_busy")] += 1
                        counters[mine(f"tcp_listen_{fam}")] += 1  # opened and closed all the same
                finally:
                    s.close()

                # Outgoing TCP connection to our own listener; client closes first.
                c = socket.socket(af, socket.SOCK_STREAM)
                try:
                    c.settimeout(5)
                    try:
                        c.connect((host, target))
                        c.sendall(b"x")
                        c.recv(1)
                    except (ConnectionError, socket.timeout):  # refused, reset, broken pipe
                        counters[mine("connect_failed")] += 1
                    counters[mine(f"tcp_connect_{fam}")] += 1
                finally:
                    c.close()

                # UDP socket on an ephemeral port; one datagram to itself.
                u = socket.socket(af, socket.SOCK_DGRAM)
                try:
                    u.bind((host, 0))
                    u.sendto(b"u", u.getsockname()[:2])
                    counters[mine(f"udp_{fam}")] += 1
                finally:
                    u.close()
            done += CYCLE
            if per_second > 0:
                # Pace to per_second socket() calls; never bank more than 1 s of debt.
                due = started + done / per_second
                now = time.monotonic()
                if due > now:
                    stopping.wait(due - now)
                elif now - due > 1:
                    started = now - done / per_second
        os._exit(0)
    except Exception as e:
        log(f"worker {index}: error: {e}")
        os._exit(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=float, default=3000,
                    help="socket() calls per second over all workers (0 = unpaced)")
    ap.add_argument("--workers", type=int, default=4, help="worker processes")
    ap.add_argument("--port-start", type=int, default=20000,
                    help="first fixed port for the listeners (default 20000)")
    ap.add_argument("--ready-file", help="write this file when every worker runs")
    ap.add_argument("--report", help="write the final report (JSON) here")
    ap.add_argument("--duration", type=float, default=0, help="stop after this many seconds (0 = on signal)")
    a = ap.parse_args()
    if a.workers < 1 or a.rate < 0:
        ap.error("--workers must be >= 1 and --rate >= 0")
    pool = port_pool(a.port_start)
    slice_len = len(pool) // a.workers
    if slice_len < 16:
        ap.error(f"too few ports from {a.port_start} outside the ephemeral range for {a.workers} workers")

    n = len(SLOTS)
    counters = mp.RawArray(ctypes.c_uint64, n * a.workers)  # one writer per slot: no lock needed
    ready = mp.Semaphore(0)
    me = os.getpid()
    def on_stop(signum, _frame):
        raise Stop(signum)

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    ctx = mp.get_context("fork")
    procs = []
    rc = 0
    samples = []  # (monotonic, total sockets, socket() calls)

    def totals():
        snap = list(counters)
        rows = [snap[i * n:(i + 1) * n] for i in range(a.workers)]
        col = lambda j: sum(r[j] for r in rows)  # noqa: E731
        return {name: col(j) for name, j in SLOT.items()}

    def sums(t):
        return (sum(t[SLOTS[j]] for j in SOCKETS), sum(t[SLOTS[j]] for j in CREATED))

    t_start = None
    try:
        for i in range(a.workers):
            p = ctx.Process(target=worker, name=f"churn-w{i:02d}",
                            args=(i, me, pool[i * slice_len:(i + 1) * slice_len],
                                  a.rate / a.workers, counters, ready))
            p.start()
            procs.append(p)
        for _ in procs:
            if not ready.acquire(timeout=30):
                raise RuntimeError("workers not running after 30 s")
        t_start = time.monotonic()
        samples.append((t_start, *sums(totals())))
        target = "unpaced" if a.rate == 0 else f"{a.rate:g} socket() calls/s"
        log(f"running: {a.workers} workers, target {target}, parent pid {me}")
        if a.ready_file:
            write_atomically(a.ready_file, f"pid={me}\nworkers={' '.join(str(p.pid) for p in procs)}\n")
        while True:
            time.sleep(1)
            samples.append((time.monotonic(), *sums(totals())))
            dead = [p for p in procs if not p.is_alive()]
            if dead:
                raise RuntimeError(f"worker pid {dead[0].pid} exited (code {dead[0].exitcode})")
            if a.duration and samples[-1][0] - t_start >= a.duration:
                break
    except Stop as s:
        log(f"got signal {s.args[0]}, stopping")
    except Exception as e:
        log(f"error: {e}")
        rc = 1
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
        t_end = time.monotonic()
        final = totals()
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(10)
            if p.exitcode not in (0, -signal.SIGTERM) and rc == 0:
                log(f"worker pid {p.pid} exited with code {p.exitcode}")
                rc = 1
        if a.ready_file:
            try:
                os.unlink(a.ready_file)
            except FileNotFoundError:
                pass

    if t_start is None:
        return rc or 1
    elapsed = t_end - t_start
    all_sockets, created = sums(final)
    all_sockets -= samples[0][1]
    created -= samples[0][2]
    per_sec = [(b[1] - a_[1]) / (b[0] - a_[0]) for a_, b in zip(samples, samples[1:]) if b[0] > a_[0]]
    report = {
        "workers": a.workers,
        "target_socket_calls_per_second": a.rate,
        "elapsed_seconds": round(elapsed, 3),
        "sockets_opened_and_closed": all_sockets,
        "socket_calls": created,
        "rate_sockets_per_second": round(all_sockets / elapsed, 1) if elapsed > 0 else 0,
        "rate_socket_calls_per_second": round(created / elapsed, 1) if elapsed > 0 else 0,
        "rate_per_second_min": round(min(per_sec), 1) if per_sec else None,
        "rate_per_second_median": round(statistics.median(per_sec), 1) if per_sec else None,
        "counts": final,
        "exit_code": rc,
    }
    text = json.dumps(report, indent=2)
    if a.report:
        write_atomically(a.report, text + "\n")
    log(f"{all_sockets} sockets opened and closed in {elapsed:.1f}s: "
        f"{report['rate_sockets_per_second']:g}/s ({report['rate_socket_calls_per_second']:g} socket() calls/s; "
        f"per-second min {report['rate_per_second_min']}, median {report['rate_per_second_median']})")
    return rc


if __name__ == "__main__":
    sys.exit(main())
