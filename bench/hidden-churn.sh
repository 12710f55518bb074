#!/usr/bin/env bash
# Soak test: `portcullis hidden` must report nothing on a machine whose
# sockets churn. bench/churn.py opens and closes thousands of loopback sockets
# a second (TCP listeners, TCP connections that leave TIME_WAIT behind, UDP
# sockets; IPv4 and IPv6) while `portcullis hidden --format json` runs RUNS
# times, one run after another. Every run must exit 0 with no finding: a
# socket that comes or goes between two views is not a hidden port, and the
# re-verification rounds exist to tell the two apart.
#
#   sudo bench/hidden-churn.sh
#
# Environment (all optional):
#   RUNS=10                   portcullis hidden runs under churn
#   RATE=3000                 churn target, socket() calls per second (0 = as
#                             fast as the workers go); each TCP connection
#                             adds an accepted socket on top
#   WORKERS=4                 churn worker processes
#   MIN_RATE=1000             fail if the churn's mean rate (socket() calls/s,
#                             accepted sockets not counted) falls below this
#   SETTLE=5                  seconds of churn before the first run (TIME_WAIT
#                             sockets pile up)
#   HIDDEN_ARGS=""            extra arguments to `portcullis hidden`, e.g.
#                             "--rounds 1" to see how much re-verification matters
#   PORTCULLIS=path           test this binary; skip the build
#   BUILD_PATH=.build-bench   SwiftPM scratch path for the build
#   REV=rev                   build this git revision instead of the working
#                             tree (see bench/hidden.sh)
#
# Exit: 0 if every run was clean and the churn reached MIN_RATE; 1 otherwise
# (each offending run's JSON and stderr are printed). Results:
# bench/results/hidden-churn/run-N.json (+ .err), churn.json (the generator's
# report) and summary.txt (bench/results/ is gitignored).
set -euo pipefail

cd "$(dirname "$0")/.."          # repo root, wherever we are called from

RUNS=${RUNS:-10}
RATE=${RATE:-3000}
WORKERS=${WORKERS:-4}
MIN_RATE=${MIN_RATE:-1000}
SETTLE=${SETTLE:-5}
HIDDEN_ARGS=${HIDDEN_ARGS:-}
PORTCULLIS=${PORTCULLIS:-}
BUILD_PATH=${BUILD_PATH:-.build-bench}
REV=${REV:-}
OUT=bench/results/hidden-churn

BENCH_NAME=bench/hidden-churn.sh
# shellcheck source=bench/lib.sh
source bench/lib.sh   # the cwd is the repo root (see cd above)

if [[ $(id -u) -ne 0 ]]; then
    echo "bench/hidden-churn.sh: must run as root (portcullis hidden probes ports below" \
         "1024 and walks every process's fd table). Try: sudo $0" >&2
    exit 2
fi
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer (got '$RUNS')"
for tool in python3 ss; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install -y python3 iproute2)"
done

# --- 1. Build: the static release binary, as shipped (bench/lib.sh) -------
build_portcullis "$BENCH_NAME"

# --- 2. Churn ----------------------------------------------------------------
CHURN_PID=
workspace CHURN_PID   # however we exit, the generator stops (its workers with it)
ready=$tmp/ready

rm -rf "$OUT" && mkdir -p "$OUT"
timewait() { ss -H -tan state time-wait | wc -l; }

say "starting churn: $WORKERS workers, target $RATE socket() calls/s"
python3 bench/churn.py --rate "$RATE" --workers "$WORKERS" \
    --ready-file "$ready" --report "$OUT/churn.json" &
CHURN_PID=$!
wait_ready "$ready" "$CHURN_PID" "churn generator" 30
sleep "$SETTLE"
kill -0 "$CHURN_PID" 2>/dev/null || die "churn generator died while settling"
tw_first=$(timewait)
say "churning; $tw_first TIME_WAIT sockets after ${SETTLE}s"

# --- 3. portcullis hidden, RUNS times -----------------------------------------
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
failed=0
total_findings=0
total_alarms=0
tw_min=$tw_first tw_max=$tw_first
summaries=()
for i in $(seq 1 "$RUNS"); do
    json=$OUT/run-$i.json err=$OUT/run-$i.err
    rc=0
    # shellcheck disable=SC2086  # HIDDEN_ARGS is deliberately word-split
    "$PORTCULLIS" hidden --format json $HIDDEN_ARGS >"$json" 2>"$err" || rc=$?
    kill -0 "$CHURN_PID" 2>/dev/null || die "churn generator died during run $i"
    tw=$(timewait)
    (( tw < tw_min )) && tw_min=$tw
    (( tw > tw_max )) && tw_max=$tw
    # findings alarms candidates duration_ms clean ("-" when the JSON is unreadable)
    read -r findings alarms candidates duration clean < <(python3 -c '
import json, sys
try:
    r = json.load(open(sys.argv[1]))
    f = r["findings"]
    print(len(f), sum(1 for x in f if x.get("alarm")), r["candidates"], r["duration_ms"], r["clean"])
except Exception:
    print("- - - - -")' "$json")
    line="run $i/$RUNS: exit $rc, findings $findings (alarms $alarms), candidates $candidates, ${duration} ms, TIME_WAIT $tw"
    summaries+=("$line")
    say "$line"
    if (( rc != 0 )) || [[ $findings != 0 ]]; then
        failed=$((failed + 1))
        echo "---- run $i: exit $rc; JSON ($json):" >&2
        cat "$json" >&2
        echo "---- run $i: stderr ($err):" >&2
        cat "$err" >&2
        echo "----" >&2
    fi
    [[ $findings =~ ^[0-9]+$ ]] && total_findings=$((total_findings + findings))
    [[ $alarms =~ ^[0-9]+$ ]] && total_alarms=$((total_alarms + alarms))
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --- 4. Stop the churn, read its report ---------------------------------------
kill -TERM "$CHURN_PID"
churn_rc=0
wait "$CHURN_PID" || churn_rc=$?
CHURN_PID=
[[ -f $OUT/churn.json ]] || die "churn generator wrote no report (exit $churn_rc)"
read -r rate calls_rate rate_min rate_median sockets elapsed busy refused unscripted < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
c = r["counts"]
print(r["rate_sockets_per_second"], r["rate_socket_calls_per_second"], r["rate_per_second_min"],
      r["rate_per_second_median"], r["sockets_opened_and_closed"], r["elapsed_seconds"],
      c["listen_port_busy"], c["connect_failed"], c["accepted_unscripted"])' "$OUT/churn.json")
ok_rate=$(python3 -c "import sys; print(int(float(sys.argv[1]) >= float(sys.argv[2])))" "$calls_rate" "$MIN_RATE")

# --- 5. Report ----------------------------------------------------------------
{
    echo "binary:        $PORTCULLIS ($LINK), source $SOURCE"
    echo "command:       portcullis hidden --format json${HIDDEN_ARGS:+ $HIDDEN_ARGS}"
    echo "machine:       $(uname -srm), $(nproc) CPUs used (of $(nproc --all)); load avg before $load_before, after $load_after"
    echo "churn:         $WORKERS workers, target $RATE socket() calls/s; TCP listeners, TCP connections (+ accepted ends), UDP; 127.0.0.1 and ::1"
    echo "churn rate:    $rate sockets/s opened and closed ($calls_rate socket() calls/s; one-second min $rate_min, median $rate_median; $sockets sockets in ${elapsed}s)"
    echo "               listener binds refused with EADDRINUSE: $busy; failed client connections: $refused;" \
         "connections from others (e.g. connect probes) accepted and dropped: $unscripted; generator exit $churn_rc"
    echo "TIME_WAIT:     $tw_min-$tw_max sockets during the runs"
    for line in "${summaries[@]}"; do echo "  $line"; done
    echo "runs:          $RUNS, failed $failed"
    echo "findings:      $total_findings in total ($total_alarms alarms) (must be 0)"
    echo "rate check:    $calls_rate socket() calls/s >= $MIN_RATE: $( (( ok_rate )) && echo PASS || echo FAIL)"
    echo "reproduce:     sudo RUNS=$RUNS RATE=$RATE WORKERS=$WORKERS${REV:+ REV=$REV}${HIDDEN_ARGS:+ HIDDEN_ARGS=\"$HIDDEN_ARGS\"} bench/hidden-churn.sh"
} | tee "$OUT/summary.txt"
record_evidence hidden-churn "$(all_pass "$(( churn_rc == 0 ))" "$(( failed == 0 ))" "$ok_rate")" "$OUT/summary.txt"

(( churn_rc == 0 )) || die "churn generator exited $churn_rc"
(( failed == 0 )) || die "$failed of $RUNS runs failed (exit non-zero or findings); their JSON is above and in $OUT/"
(( ok_rate )) || die "churn reached only $calls_rate socket() calls/s (< $MIN_RATE): the soak did not run at the intended load"
echo "PASS: $RUNS clean runs under churn"
