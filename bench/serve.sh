#!/usr/bin/env bash
# Benchmark `portcullis serve` (issue 15) on the socket-load fixture:
#
#   1. A /metrics scrape (curl, a fresh audit per scrape) against
#      `portcullis list` in ONE hyperfine run. Target: at most 1.5x list.
#   2. 50 scrapes at once (curl --parallel, 50 connections), ROUNDS times:
#      every one must answer 200; the p50, p99 and max are recorded.
#   3. Idle: serve with its defaults (watch poller every 1 s, hidden check
#      every 10 min, the first at start) scraped every 15 s for IDLE_SECONDS,
#      on a host-sized fixture (IDLE_TCP listeners). Targets: at most 1% of a
#      core after the start-up minute, at most 50 MB resident, and no growth:
#      the resident size in the last quarter is at most 1 MB above the first
#      quarter's. IDLE_SECONDS=3600 is the one-hour soak.
#
#   sudo bench/serve.sh
#
# Everything runs in a network namespace made for the purpose (deleted at
# the end), with bench/ruleset.nft as its firewall; scrapes go to
# 127.0.0.1 inside it. `list` and `serve` read only that namespace
# (--netns): run as root they would read every namespace of the machine,
# and tests or containers making and removing namespaces meanwhile would
# enter the numbers (a soak that read them all grew 4.6 MB, its event
# buffer filling with other namespaces' listeners coming and going).
#
# Environment (all optional):
#   TCP=10000 UDP=1000 EST=5000 PROCS=20   fixture load of runs 1 and 2 (bench/fixture.py)
#   WARMUP=3 RUNS=20                        hyperfine settings
#   CONCURRENT=50 ROUNDS=10                 run 2
#   IDLE_TCP=200 IDLE_SECONDS=600           run 3 (IDLE_SECONDS=0 skips it)
#   PORTCULLIS=path                         benchmark this binary; skip the build
#   REV=commit BUILD_PATH=.build-bench      build that git revision / in that scratch path (bench/lib.sh)
# Results: bench/results/serve.md, serve.json, serve-concurrent.txt, serve-idle.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

TCP=${TCP:-10000}
UDP=${UDP:-1000}
EST=${EST:-5000}
PROCS=${PROCS:-20}
WARMUP=${WARMUP:-3}
RUNS=${RUNS:-20}
CONCURRENT=${CONCURRENT:-50}
ROUNDS=${ROUNDS:-10}
IDLE_TCP=${IDLE_TCP:-200}
IDLE_SECONDS=${IDLE_SECONDS:-600}
PORTCULLIS=${PORTCULLIS:-}
BUILD_PATH=${BUILD_PATH:-.build-bench}
RESULTS=bench/results
TARGET_SCRAPE_LIST=1.5
TARGET_IDLE_CPU=1.0
TARGET_RSS_MB=50
TARGET_GROWTH_MB=1
PORT=9638

BENCH_NAME=bench/serve.sh
# shellcheck source=bench/lib.sh
source bench/lib.sh

[[ $(id -u) -eq 0 ]] || { echo "bench/serve.sh: must run as root (a network namespace). Try: sudo $0" >&2; exit 2; }
for tool in hyperfine ss ip python3 curl; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install -y hyperfine iproute2 python3 curl)"
done
curl --help all 2>/dev/null | grep -q -- --parallel-max || die "curl without --parallel (7.66 or later needed)"

build_portcullis "$BENCH_NAME"

FIXTURE_PID= HYPERFINE_PID= SERVE_PID= SCRAPER_PID=
workspace SCRAPER_PID SERVE_PID HYPERFINE_PID FIXTURE_PID
NETNS="portcullis-bench-$$"
make_netns "$NETNS" bench/ruleset.nft
mkdir -p "$RESULTS"
URL=http://127.0.0.1:$PORT

fixture() {
    local tcp=$1 listen udp est
    stop "$FIXTURE_PID"
    FIXTURE_PID=
    say "starting fixture: $tcp TCP listeners, $UDP UDP sockets, $EST established connections over $PROCS processes"
    start_fixture "$tmp/ready-$tcp" --tcp "$tcp" --udp "$UDP" --established "$EST" --procs "$PROCS"
    read -r listen udp est < <(count_sockets)
    (( listen >= tcp && udp >= UDP )) || die "expected $tcp listeners and $UDP UDP sockets, ss shows $listen and $udp"
}

# serve ARGS...: starts portcullis serve in the namespace and waits until it answers.
serve() {
    stop "$SERVE_PID"
    "${IN_NETNS[@]}" "$PORTCULLIS" serve --netns "$NETNS" --web.listen-address "127.0.0.1:$PORT" "$@" 2>"$tmp/serve.err" &
    SERVE_PID=$!
    for _ in $(seq 1 600); do
        "${IN_NETNS[@]}" curl -s -o /dev/null "$URL/healthz" && return 0
        kill -0 "$SERVE_PID" 2>/dev/null || die "serve exited: $(tail -n 5 "$tmp/serve.err")"
        sleep 0.1
    done
    die "serve did not answer within a minute"
}

# --- 1. A scrape against list -------------------------------------------------
fixture "$TCP"
serve --hidden-interval 0
series=$("${IN_NETNS[@]}" curl -s "$URL/metrics" | grep -c '^portcullis_listener_info{') || true
say "a scrape holds $series listener series"
(( series >= TCP )) || die "expected at least $TCP listener series, got $series"
say "hyperfine: warmup $WARMUP, runs $RUNS"
run_hyperfine -N --warmup "$WARMUP" --runs "$RUNS" \
    --command-name "portcullis list" "$PORTCULLIS list --netns $NETNS" \
    --command-name "curl /metrics (portcullis serve)" "curl -sf -o /dev/null $URL/metrics" \
    --export-markdown "$RESULTS/serve.md" --export-json "$RESULTS/serve.json"
scrape_list=$(mean_ratio "$RESULTS/serve.json" 1 0)
ok_scrape=$(at_most "$scrape_list" "$TARGET_SCRAPE_LIST")

# --- 2. Concurrent scrapes ----------------------------------------------------
say "$ROUNDS rounds of $CONCURRENT concurrent scrapes"
: >"$tmp/concurrent"
for _ in $(seq 1 "$ROUNDS"); do
    args=()
    for _ in $(seq 1 "$CONCURRENT"); do args+=(-o /dev/null "$URL/metrics"); done
    "${IN_NETNS[@]}" curl -s --no-progress-meter -Z --parallel-immediate --parallel-max "$CONCURRENT" -w '%{http_code} %{time_total}\n' "${args[@]}" >>"$tmp/concurrent"
done
read -r total failed p50 p99 worst < <(python3 - "$tmp/concurrent" <<'PY'
import sys
rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
times = sorted(float(t) for _, t in rows)
failed = sum(1 for code, _ in rows if code != "200")
def pct(p): return times[min(len(times) - 1, int(round(p / 100 * (len(times) - 1))))] * 1000
print(len(rows), failed, "%.0f" % pct(50), "%.0f" % pct(99), "%.0f" % (times[-1] * 1000))
PY
)
ok_concurrent=$(( failed == 0 && total == ROUNDS * CONCURRENT ? 1 : 0 ))
printf '%s scrapes (%s rounds of %s at once): %s failed; latency p50 %s ms, p99 %s ms, max %s ms\n' \
    "$total" "$ROUNDS" "$CONCURRENT" "$failed" "$p50" "$p99" "$worst" | tee "$RESULTS/serve-concurrent.txt"

# --- 3. Idle ------------------------------------------------------------------
idle_line="idle: skipped (IDLE_SECONDS=0)"
ok_idle=1
if (( IDLE_SECONDS > 0 )); then
    stop "$SERVE_PID"
    SERVE_PID=
    saved_udp=$UDP saved_est=$EST
    UDP=20 EST=50
    fixture "$IDLE_TCP"
    UDP=$saved_udp EST=$saved_est
    serve
    say "idle for $IDLE_SECONDS s, scraped every 15 s (the first minute, with the first hidden check, not counted)"
    ( while sleep 15; do "${IN_NETNS[@]}" curl -s -o /dev/null "$URL/metrics"; done ) &
    SCRAPER_PID=$!
    sleep 60
    ticks=$(getconf CLK_TCK)
    cpu() { awk '{print $14 + $15}' "/proc/$SERVE_PID/stat"; }
    rss() { awk '/^VmRSS:/ {print $2}' "/proc/$SERVE_PID/status"; }
    start_cpu=$(cpu) start_time=$(now)
    : >"$tmp/rss"
    end=$(( $(date +%s) + IDLE_SECONDS ))
    while (( $(date +%s) < end )); do rss >>"$tmp/rss"; sleep 15; done
    rss >>"$tmp/rss"
    end_cpu=$(cpu) end_time=$(now)
    cp "$tmp/rss" "$RESULTS/serve-idle-rss.txt"   # the resident size (KiB) every 15 s: the curve behind the growth
    stop "$SCRAPER_PID"
    SCRAPER_PID=
    read -r cpu_pct peak_mb growth_mb < <(python3 - "$tmp/rss" "$start_cpu" "$end_cpu" "$start_time" "$end_time" "$ticks" <<'PY'
import sys
rss = [int(x) for x in open(sys.argv[1]) if x.strip()]
c0, c1, t0, t1, hz = float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
q = max(1, len(rss) // 4)
first, last = sum(rss[:q]) / q, sum(rss[-q:]) / q
print("%.2f" % ((c1 - c0) / hz / (t1 - t0) * 100), "%.1f" % (max(rss) / 1024), "%.2f" % ((last - first) / 1024))
PY
)
    ok_idle=$(python3 -c "import sys; c,p,g=map(float,sys.argv[1:4]); print(int(c <= $TARGET_IDLE_CPU and p <= $TARGET_RSS_MB and g <= $TARGET_GROWTH_MB))" "$cpu_pct" "$peak_mb" "$growth_mb")
    idle_line="idle $IDLE_SECONDS s with $IDLE_TCP listeners, scraped every 15 s: ${cpu_pct}% of a core, peak RSS ${peak_mb} MB, growth ${growth_mb} MB (last quarter over first)"
    echo "$idle_line" | tee "$RESULTS/serve-idle.txt"
fi

echo
echo "portcullis: $PORTCULLIS ($LINK; $SOURCE)"
cat "$RESULTS/serve.md"
echo
{
    echo "load:        $TCP TCP listeners, $UDP UDP sockets, $EST established connections over $PROCS processes (runs 1 and 2)"
    echo "scrape:      /metrics ${scrape_list}x list (target <= ${TARGET_SCRAPE_LIST}x): $(verdict "$ok_scrape")"
    echo "concurrent:  $(cat "$RESULTS/serve-concurrent.txt"): $(verdict "$ok_concurrent")"
    echo "$idle_line (targets <= ${TARGET_IDLE_CPU}%, <= ${TARGET_RSS_MB} MB, growth <= ${TARGET_GROWTH_MB} MB): $(verdict "$ok_idle")"
    if [[ -f $tmp/rss ]]; then
        # The curve behind the growth: resident MiB, one reading a minute.
        echo "idle RSS/min: $(awk 'NR % 4 == 1 { printf "%.1f ", $1 / 1024 }' "$tmp/rss")"
    fi
} | tee "$RESULTS/serve-summary.txt"
record_evidence serve "$(all_pass "$ok_scrape" "$ok_concurrent" "$ok_idle")" "$RESULTS/serve-summary.txt" "$RESULTS/serve.md"
(( ok_scrape && ok_concurrent && ok_idle ))
