#!/usr/bin/env bash
# Benchmark `portcullis watch` at its default interval (1 s) on a host with
# about 20,000 sockets: CPU use, resident memory and its growth over a soak
# with churn, and how soon a new listener is reported.
#
#   sudo bench/watch.sh
#
# Phases, one watch process throughout:
#   1. steady: STEADY seconds with the fixture's sockets and nothing else
#      changing: mean CPU% of one core (utime+stime from /proc/PID/stat).
#   2. soak:   DURATION seconds with bench/churn.py opening and closing
#      listeners and UDP sockets at CHURN socket() calls per second, and
#      bench/latency_probe.py opening a listener every ~PROBE_EVERY seconds
#      and timing its "opened" event. RSS (VmRSS) is sampled every 5 s.
#
# Environment (all optional):
#   TCP=10000 UDP=1000 EST=5000 PROCS=20   fixture load (bench/fixture.py): 21,000 sockets
#   STEADY=60 DURATION=600                 phase lengths in seconds (the soak defaults to 10 minutes)
#   CHURN=60 PROBE_EVERY=5                 churn rate; seconds between latency probes
#   PORTCULLIS=path                        benchmark this binary; skip the build
#   REV=commit BUILD_PATH=.build-bench     build that git revision / in that scratch path (bench/lib.sh)
#
# Targets (issue requirement): mean CPU <= 2% of one core, RSS <= 40 MB with
# no growth over the soak, a new listener reported within 1.5 intervals
# (1.5 s). Exits 1 if one is missed. Results: bench/results/watch.txt and
# watch-rss.tsv (bench/results/ is gitignored).
set -euo pipefail
cd "$(dirname "$0")/.."

TCP=${TCP:-10000}
UDP=${UDP:-1000}
EST=${EST:-5000}
PROCS=${PROCS:-20}
STEADY=${STEADY:-60}
DURATION=${DURATION:-600}
CHURN=${CHURN:-60}
PROBE_EVERY=${PROBE_EVERY:-5}
PORTCULLIS=${PORTCULLIS:-}
BUILD_PATH=${BUILD_PATH:-.build-bench}
RESULTS=bench/results
TARGET_CPU=2.0
TARGET_RSS_KB=$((40 * 1000 * 1000 / 1024))   # 40 MB
TARGET_LATENCY=1.5

BENCH_NAME=bench/watch.sh
# shellcheck source=bench/lib.sh
source bench/lib.sh   # the cwd is the repo root (see cd above)
[[ $(id -u) -eq 0 ]] || { echo "bench/watch.sh: run as root (watch must see every owner)" >&2; exit 2; }
command -v python3 >/dev/null || die "python3 not found"

build_portcullis "$BENCH_NAME"

FIXTURE_PID= WATCH_PID= CHURN_PID= PROBE_PID=
workspace PROBE_PID CHURN_PID WATCH_PID FIXTURE_PID

say "starting fixture: $TCP TCP listeners, $UDP UDP sockets, $EST established connections over $PROCS processes"
start_fixture "$tmp/ready" --tcp "$TCP" --udp "$UDP" --established "$EST" --procs "$PROCS"

"$PORTCULLIS" watch --format ndjson >"$tmp/events" 2>"$tmp/watch.err" &
WATCH_PID=$!
for _ in $(seq 1 600); do grep -q watching "$tmp/watch.err" 2>/dev/null && break; sleep 0.1; done
grep -q watching "$tmp/watch.err" || die "watch did not start: $(cat "$tmp/watch.err")"
say "$(grep watching "$tmp/watch.err")"

ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$WATCH_PID/stat"; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$WATCH_PID/status"; }
percent() { python3 -c "import sys; print(f'{(int(sys.argv[2]) - int(sys.argv[1])) / int(sys.argv[5]) / (float(sys.argv[4]) - float(sys.argv[3])) * 100:.2f}')" "$@"; }

sleep 5   # let the start-up walk's allocations settle
say "phase 1: steady for ${STEADY}s"
c0=$(cpu_ticks); t0=$(now)
sleep "$STEADY"
c1=$(cpu_ticks); t1=$(now)
cpu_steady=$(percent "$c0" "$c1" "$t0" "$t1" "$ticks")
rss_start=$(rss_kb)

say "phase 2: soak with churn for ${DURATION}s"
python3 bench/churn.py --rate "$CHURN" --workers 2 --port-start 61000 --duration "$DURATION" >/dev/null 2>"$tmp/churn.err" &
CHURN_PID=$!
probes=$(python3 -c "import sys; print(max(1, int(float(sys.argv[1]) / float(sys.argv[2])) - 1))" "$DURATION" "$PROBE_EVERY")
python3 bench/latency_probe.py --events "$tmp/events" --count "$probes" --every "$PROBE_EVERY" --report "$tmp/latency.json" &
PROBE_PID=$!
mkdir -p "$RESULTS"
echo -e "seconds\trss_kb" >"$RESULTS/watch-rss.tsv"
c2=$(cpu_ticks); t2=$(now)
rss_max=$rss_start
end=$(( $(date +%s) + DURATION ))
while (( $(date +%s) < end )); do
    sleep 5
    kb=$(rss_kb)
    echo -e "$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.0f}')" "$t2" "$(now)")\t$kb" >>"$RESULTS/watch-rss.tsv"
    (( kb > rss_max )) && rss_max=$kb
    kill -0 "$WATCH_PID" 2>/dev/null || die "watch died: $(cat "$tmp/watch.err")"
done
c3=$(cpu_ticks); t3=$(now)
cpu_soak=$(percent "$c2" "$c3" "$t2" "$t3" "$ticks")
wait "$PROBE_PID" || true
PROBE_PID=
stop "$CHURN_PID"; CHURN_PID=
# Growth: the last minute's mean against the first minute's (sampling noise aside).
read -r rss_first rss_last < <(python3 -c "
import sys
rows = [int(l.split()[1]) for l in open(sys.argv[1]).read().split('\n')[1:] if l.strip()]
k = max(1, min(12, len(rows) // 3))
print(sum(rows[:k]) // k, sum(rows[-k:]) // k)" "$RESULTS/watch-rss.tsv")
events=$(wc -l <"$tmp/events")
kill -TERM "$WATCH_PID"; wait "$WATCH_PID"; watch_status=$?; WATCH_PID=

read -r lat_n lat_missed lat_mean lat_median lat_max < <(python3 -c "
import json, sys; r = json.load(open(sys.argv[1]))
print(r['samples'], r['missed'], r['mean'], r['median'], r['max'])" "$tmp/latency.json")

mb() { python3 -c "import sys; print(f'{int(sys.argv[1]) / 1024:.1f}')" "$1"; }
ok_cpu=$(python3 -c "import sys; print(int(float(sys.argv[1]) <= float(sys.argv[3]) and float(sys.argv[2]) <= float(sys.argv[3])))" "$cpu_steady" "$cpu_soak" "$TARGET_CPU")
ok_rss=$(( rss_max <= TARGET_RSS_KB ))
ok_growth=$(python3 -c "import sys; print(int(int(sys.argv[2]) - int(sys.argv[1]) <= 1024))" "$rss_first" "$rss_last")
ok_latency=$(python3 -c "import sys; print(int(sys.argv[3] == '0' and float(sys.argv[1]) <= float(sys.argv[2])))" "$lat_max" "$TARGET_LATENCY" "$lat_missed")
verdict() { (( $1 )) && echo PASS || echo FAIL; }
{
    echo "load:        $TCP TCP listeners, $UDP UDP sockets, $EST established connections ($((TCP + UDP + 2 * EST)) sockets) over $PROCS processes"
    echo "binary:      $PORTCULLIS ($LINK), source $SOURCE"
    echo "machine:     $(uname -srm), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "watch:       interval 1 s (default), --format ndjson to a file; $events events; exit status $watch_status after SIGTERM"
    echo "CPU:         steady ${cpu_steady}% of one core over ${STEADY}s; with churn (${CHURN} socket()/s) ${cpu_soak}% over ${DURATION}s (target <= ${TARGET_CPU}%): $(verdict "$ok_cpu")"
    echo "RSS:         $(mb "$rss_start") MiB after start, max $(mb "$rss_max") MiB (target <= 40 MB): $(verdict "$ok_rss")"
    echo "growth:      first-minute mean $(mb "$rss_first") MiB, last-minute mean $(mb "$rss_last") MiB (target: no growth, <= 1 MiB): $(verdict "$ok_growth")"
    echo "latency:     new listener reported after mean ${lat_mean}s, median ${lat_median}s, max ${lat_max}s over $lat_n probes, $lat_missed missed (target <= ${TARGET_LATENCY}s): $(verdict "$ok_latency")"
    echo "reproduce:   sudo STEADY=$STEADY DURATION=$DURATION CHURN=$CHURN bench/watch.sh"
} | tee "$RESULTS/watch.txt"
record_evidence watch "$(all_pass "$ok_cpu" "$ok_rss" "$ok_growth" "$ok_latency")" "$RESULTS/watch.txt"
(( ok_cpu && ok_rss && ok_growth && ok_latency )) || exit 1
