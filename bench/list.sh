#!/usr/bin/env bash
# Benchmark `portcullis list` (owners included) against `ss -tulnp`,
# `netstat -tulnp` and `lsof -nP -iTCP -sTCP:LISTEN` under a large socket load,
# in ONE hyperfine run so that all four see the same machine state.
#
#   sudo bench/list.sh
#
# Environment (all optional):
#   TCP=10000 UDP=1000 EST=5000 PROCS=20   fixture load (see bench/fixture.py)
#   WARMUP=3 RUNS=20                        hyperfine settings
#   PORTCULLIS=path                         benchmark this binary; skip the build
#   REV=commit BUILD_PATH=.build-bench      build that git revision / in that scratch path (bench/lib.sh)
#   LIST_ARGS="list"                        arguments given to portcullis
#   RSS_RUNS=5                              runs for the peak-RSS measurement
#
# Targets (issue requirement): portcullis mean wall time <= 0.7x that of
# `ss -tulnp`, and peak RSS <= 50 MB. The script exits 1 if either is missed.
# Results: bench/results/list.md (hyperfine markdown), list.json, rss.md and
# summary.txt (bench/results/ is gitignored).
#
# Root is required: without it ss -p, netstat -p and lsof only see the
# caller's own processes, and portcullis could not attribute the fixture's
# sockets either, so the comparison would be meaningless.
set -euo pipefail

cd "$(dirname "$0")/.."          # repo root, wherever we are called from

TCP=${TCP:-10000}
UDP=${UDP:-1000}
EST=${EST:-5000}
PROCS=${PROCS:-20}
WARMUP=${WARMUP:-3}
RUNS=${RUNS:-20}
RSS_RUNS=${RSS_RUNS:-5}
LIST_ARGS=${LIST_ARGS:-list}
PORTCULLIS=${PORTCULLIS:-}
BUILD_PATH=${BUILD_PATH:-.build-bench}
RESULTS=bench/results
TARGET_RATIO=0.7
TARGET_RSS_KB=$((50 * 1000 * 1000 / 1024))   # 50 MB = 48,828 KiB (strict reading)

BENCH_NAME=bench/list.sh
# shellcheck source=bench/lib.sh
source bench/lib.sh   # the cwd is the repo root (see cd above)

if [[ $(id -u) -ne 0 ]]; then
    echo "bench/list.sh: must run as root (ss -p, netstat -p, lsof and portcullis" \
         "need it to see every socket's owner). Try: sudo $0" >&2
    exit 2
fi

for tool in hyperfine ss netstat lsof python3; do
    command -v "$tool" >/dev/null ||
        die "$tool not found (apt-get install -y hyperfine iproute2 net-tools lsof python3)"
done
# The bash keyword `time` cannot report peak RSS; GNU time (package `time`) can.
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (apt-get install -y time)"

# --- 1. Build ----------------------------------------------------------------
# The release binary is meant to ship statically linked (see DESIGN.md,
# "Trust"), so that is what we measure (bench/lib.sh says so loudly if it has
# to fall back to a dynamic build).
build_portcullis "$BENCH_NAME"

# --- 2. Socket load ----------------------------------------------------------
FIXTURE_PID= HYPERFINE_PID=
workspace HYPERFINE_PID FIXTURE_PID   # however we exit, the fixture goes down (its workers with it)
ready=$tmp/ready

# Baselines, so the check below counts only the fixture's sockets.
count() { ss -H "$@" | wc -l; }
base_listen=$(count -tln)
base_udp=$(count -uan)
base_est=$(count -tn state established)

say "starting fixture: $TCP TCP listeners, $UDP UDP sockets, $EST established connections over $PROCS processes"
start=$(date +%s.%N)
start_fixture "$ready" --tcp "$TCP" --udp "$UDP" --established "$EST" --procs "$PROCS"
up_secs=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" \
    "$start" "$(date +%s.%N)")

# Trust but verify: the load must really be visible to the kernel's own view.
# Each established connection is two sockets (client end and accepted end).
got_listen=$(( $(count -tln) - base_listen ))
got_udp=$(( $(count -uan) - base_udp ))
got_est=$(( $(count -tn state established) - base_est ))
say "fixture up in ${up_secs}s: +$got_listen TCP listeners, +$got_udp UDP sockets, +$got_est established sockets"
(( got_listen >= TCP ))  || die "expected $TCP new listeners, ss shows $got_listen"
(( got_udp >= UDP ))     || die "expected $UDP new UDP sockets, ss shows $got_udp"
(( got_est >= 2 * EST )) || die "expected $((2 * EST)) new established sockets, ss shows $got_est"

# --- 3. Wall time: one hyperfine run ----------------------------------------
# -N (no intermediate shell) so that shell start-up is not part of what we
# measure; hyperfine sends each command's stdout to /dev/null by default.
# run_hyperfine (bench/lib.sh) runs it in the background and waits, so that
# a SIGTERM to the script stops the benchmark and the fixture at once.
mkdir -p "$RESULTS"
say "hyperfine: warmup $WARMUP, runs $RUNS"
run_hyperfine -N --warmup "$WARMUP" --runs "$RUNS" \
    --command-name "portcullis $LIST_ARGS" "$PORTCULLIS $LIST_ARGS" \
    --command-name "ss -tulnp" "ss -tulnp" \
    --command-name "netstat -tulnp" "netstat -tulnp" \
    --command-name "lsof -nP -iTCP -sTCP:LISTEN" "lsof -nP -iTCP -sTCP:LISTEN" \
    --export-markdown "$RESULTS/list.md" \
    --export-json "$RESULTS/list.json"

# Commands are in the order given above: 0 = portcullis, 1 = ss.
ratio=$(mean_ratio "$RESULTS/list.json" 0 1)

# --- 4. Peak RSS ------------------------------------------------------------
# GNU time's %M is the maximum resident set size in KiB; take the largest of
# a few runs so one lucky run does not hide the peak.
# shellcheck disable=SC2086  # LIST_ARGS is deliberately word-split
rss_portcullis=$(peak_rss "$PORTCULLIS" $LIST_ARGS)
rss_ss=$(peak_rss ss -tulnp)

{
    echo "| Command | Peak RSS (MiB) |"
    echo "|:---|---:|"
    echo "| \`portcullis $LIST_ARGS\` | $(mb "$rss_portcullis") |"
    echo "| \`ss -tulnp\` | $(mb "$rss_ss") |"
} >"$RESULTS/rss.md"

# --- 5. Verdict -------------------------------------------------------------
ok_time=$(at_most "$ratio" "$TARGET_RATIO")
ok_rss=$(( rss_portcullis <= TARGET_RSS_KB ))

{
    echo "load:        $TCP TCP listeners, $UDP UDP sockets, $EST established connections ($((2 * EST)) sockets) over $PROCS processes"
    echo "fixture up:  ${up_secs}s"
    echo "binary:      $PORTCULLIS ($LINK), source $SOURCE"
    echo "machine:     $(uname -srm), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "tools:       $(hyperfine --version), $(ss -V), $(netstat -V 2>&1 | head -n1), lsof $(lsof -v 2>&1 | sed -n 's/^ *revision: *//p')"
    echo "time ratio:  portcullis/ss mean = $ratio (target <= $TARGET_RATIO): $(verdict "$ok_time")"
    echo "peak RSS:    portcullis $(mb "$rss_portcullis") MiB (target <= 50 MB): $(verdict "$ok_rss"); ss -tulnp $(mb "$rss_ss") MiB"
    echo "reproduce:   sudo TCP=$TCP UDP=$UDP EST=$EST PROCS=$PROCS bench/list.sh"
} | tee "$RESULTS/summary.txt"
echo
cat "$RESULTS/list.md"
echo
cat "$RESULTS/rss.md"

record_evidence list "$(all_pass "$ok_time" "$ok_rss")" "$RESULTS/summary.txt" "$RESULTS/list.md" "$RESULTS/rss.md"
(( ok_time && ok_rss )) || exit 1
