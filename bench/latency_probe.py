#!/usr/bin/env python3
"""Latency probe for `portcullis watch` (standard library only).

    python3 bench/latency_probe.py --events FILE --count N --every SECONDS --report PATH

Every --every seconds (at a random phase, so the opening falls anywhere
within watch's poll interval) opens a TCP listener on 127.0.0.1 with a port
from the kernel, notes the time, and reads FILE (watch's --format ndjson
output) until the "opened" event for that port appears; then closes it. The
report (JSON) lists each latency in seconds, and the mean, median and max.
"""

import argparse
import json
import os
import random
import socket
import statistics
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", required=True)
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--every", type=float, default=5.0)
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--report", required=True)
    a = ap.parse_args()
    latencies, missed = [], 0
    offset = 0
    with open(a.events, "rb") as f:
        for _ in range(a.count):
            time.sleep(random.uniform(0.5 * a.every, 1.5 * a.every))
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            s.listen(8)
            port = s.getsockname()[1]
            t0 = time.time()
            found = None
            buffer = b""
            while time.time() - t0 < a.timeout and found is None:
                chunk = f.read()
                if chunk:
                    buffer += chunk
                    *lines, buffer = buffer.split(b"\n")
                    for line in lines:
                        try:
                            e = json.loads(line)
                        except ValueError:
                            continue
                        if e.get("event") == "opened" and e.get("local_port") == port and e.get("proto") == "tcp":
                            found = time.time() - t0
                            break
                else:
                    time.sleep(0.002)
            s.close()
            if found is None:
                missed += 1
            else:
                latencies.append(found)
    report = {
        "samples": len(latencies), "missed": missed, "latencies": [round(x, 4) for x in latencies],
        "mean": round(statistics.mean(latencies), 4) if latencies else None,
        "median": round(statistics.median(latencies), 4) if latencies else None,
        "max": round(max(latencies), 4) if latencies else None,
    }
    with open(a.report + ".tmp", "w") as out:
        json.dump(report, out)
    os.rename(a.report + ".tmp", a.report)
    return 0 if missed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
