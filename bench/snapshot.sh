#!/usr/bin/env bash
# Benchmark `portcullis snapshot` against `portcullis list` on a host with
# about 20,000 sockets, in one hyperfine run.
#
#   sudo bench/snapshot.sh
#
# `snapshot` does what `list` does, then the audit (firewall included) and one
# SQLite transaction with every listener, owner and finding. Two variants:
#   snapshot (new db)  each run writes a fresh database (hyperfine --prepare
#                      removes it): creation, migration, quick_check, write
#   snapshot (history) each run adds to one database that grows by a
#                      snapshot per run (quick_check on open reads it all)
#
# Environment (all optional):
#   TCP=10000 UDP=1000 EST=5000 PROCS=20   fixture load (bench/fixture.py)
#   WARMUP=3 RUNS=20                        hyperfine settings
#   PORTCULLIS=path                         benchmark this binary; skip the build
#   REV=commit BUILD_PATH=.build-bench      build that git revision / in that scratch path (bench/lib.sh)
#
# Target (issue 11): snapshot's mean wall time <= 1.5x list's (it was 2x).
# Exits 1 when the new-database variant misses it. bench/overview.sh checks
# the same target beside the overview's, in a network namespace with a
# firewall ruleset; this script adds the growing history database. Results:
# bench/results/snapshot.md, snapshot.json and snapshot.txt (bench/results/
# is gitignored).
set -euo pipefail
cd "$(dirname "$0")/.."

TCP=${TCP:-10000}
UDP=${UDP:-1000}
EST=${EST:-5000}
PROCS=${PROCS:-20}
WARMUP=${WARMUP:-3}
RUNS=${RUNS:-20}
PORTCULLIS=${PORTCULLIS:-}
BUILD_PATH=${BUILD_PATH:-.build-bench}
RESULTS=bench/results
TARGET_RATIO=1.5

BENCH_NAME=bench/snapshot.sh
# shellcheck source=bench/lib.sh
source bench/lib.sh   # the cwd is the repo root (see cd above)
[[ $(id -u) -eq 0 ]] || { echo "bench/snapshot.sh: run as root (owners of every socket)" >&2; exit 2; }
for tool in hyperfine python3; do command -v "$tool" >/dev/null || die "$tool not found (apt-get install -y hyperfine python3)"; done

build_portcullis "$BENCH_NAME"

FIXTURE_PID= HYPERFINE_PID=
workspace HYPERFINE_PID FIXTURE_PID

say "starting fixture: $TCP TCP listeners, $UDP UDP sockets, $EST established connections over $PROCS processes"
start_fixture "$tmp/ready" --tcp "$TCP" --udp "$UDP" --established "$EST" --procs "$PROCS"

mkdir -p "$RESULTS"
say "hyperfine: warmup $WARMUP, runs $RUNS"
run_hyperfine -N --warmup "$WARMUP" --runs "$RUNS" \
    --prepare "true" --command-name "portcullis list" "$PORTCULLIS list" \
    --prepare "rm -f $tmp/new.db $tmp/new.db-wal $tmp/new.db-shm" --command-name "portcullis snapshot (new db)" \
        "$PORTCULLIS snapshot --db $tmp/new.db" \
    --prepare "true" --command-name "portcullis snapshot (history)" "$PORTCULLIS snapshot --db $tmp/history.db" \
    --export-markdown "$RESULTS/snapshot.md" --export-json "$RESULTS/snapshot.json"

ratio_new=$(mean_ratio "$RESULTS/snapshot.json" 1 0)
ratio_history=$(mean_ratio "$RESULTS/snapshot.json" 2 0)
snapshots=$("$PORTCULLIS" history --db "$tmp/history.db" --format json | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["snapshots"]))')
size=$(du -k "$tmp/history.db" | cut -f1)
ok=$(at_most "$ratio_new" "$TARGET_RATIO")
{
    echo "load:        $TCP TCP listeners, $UDP UDP sockets, $EST established connections ($((TCP + UDP + 2 * EST)) sockets) over $PROCS processes"
    echo "binary:      $PORTCULLIS ($LINK), source $SOURCE"
    echo "machine:     $(uname -srm), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "ratio:       snapshot (new db) / list = $ratio_new (target <= $TARGET_RATIO): $(verdict "$ok")"
    echo "history:     snapshot (history) / list = $ratio_history; that database ended with $snapshots snapshots, $((size / 1024)) MiB"
    echo "reproduce:   sudo bench/snapshot.sh"
} | tee "$RESULTS/snapshot.txt"
echo
cat "$RESULTS/snapshot.md"
record_evidence snapshot "$(all_pass "$ok")" "$RESULTS/snapshot.txt" "$RESULTS/snapshot.md"
(( ok )) || exit 1
