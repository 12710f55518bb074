#!/usr/bin/env bash
# Benchmark the default overview (`portcullis` with no subcommand), `audit`
# and `snapshot` against `portcullis list` and `ss -tulnp` on the socket-load
# fixture, in ONE hyperfine run; then the audit and the overview at several
# fixture sizes, to show that their time grows linearly with the listeners
# (the audit also with bench/policy.yaml, which makes nearly every listener
# a finding).
#
#   sudo bench/overview.sh
#
# Everything runs in a network namespace made for the purpose (deleted at
# the end): its only sockets are the fixture's, and its firewall is
# bench/ruleset.nft, a typical server ruleset that every listener is judged
# against (RULESET=none for an empty one; the host's own ruleset is never
# touched). Processes and /proc are the host's, so the owner walk does the
# same work as on the host.
#
# Environment (all optional):
#   TCP=10000 UDP=1000 EST=5000 PROCS=20   fixture load of the main run (bench/fixture.py)
#   WARMUP=3 RUNS=20                        hyperfine settings of the main run
#   SERIES="1000 10000 50000"               TCP listeners of the linearity runs (SERIES= skips them)
#   SERIES_WARMUP=2 SERIES_RUNS=10          hyperfine settings of each linearity run
#   RULESET=bench/ruleset.nft               nftables ruleset of the namespace (none: no ruleset)
#   PORTCULLIS=path                         benchmark this binary; skip the build
#   REV=commit BUILD_PATH=.build-bench      build that git revision / in that scratch path (bench/lib.sh)
#
# Targets (issue 11), each checked; the script exits 1 when one is missed:
#   overview mean wall time <= 1.3x list's and <= 0.7x ss -tulnp's;
#   snapshot (a fresh database per run) <= 1.5x list's;
#   linear growth: the time each added listener costs between the two
#   largest sizes is at most LINEAR_LIMIT (1.5) times what it costs between
#   the two smallest, for the overview, the audit and the audit with
#   bench/policy.yaml (linear growth gives about 1x; a purely quadratic
#   cost would give about 5x from 1,000/10,000/50,000, and the audit before
#   issue 11, quadratic under linear costs, measured 2.2x with the policy).
# Results: bench/results/overview.md (hyperfine), overview.json, ratios.md,
# series.md, series-<N>.json and overview.txt (bench/results/ is gitignored).
set -euo pipefail
cd "$(dirname "$0")/.."          # repo root, wherever we are called from

TCP=${TCP:-10000}
UDP=${UDP:-1000}
EST=${EST:-5000}
PROCS=${PROCS:-20}
WARMUP=${WARMUP:-3}
RUNS=${RUNS:-20}
SERIES=${SERIES-1000 10000 50000}
SERIES_WARMUP=${SERIES_WARMUP:-2}
SERIES_RUNS=${SERIES_RUNS:-10}
RULESET=${RULESET:-bench/ruleset.nft}
POLICY=bench/policy.yaml
PORTCULLIS=${PORTCULLIS:-}
BUILD_PATH=${BUILD_PATH:-.build-bench}
RESULTS=bench/results
TARGET_OVERVIEW_LIST=1.3
TARGET_OVERVIEW_SS=0.7
TARGET_SNAPSHOT_LIST=1.5
LINEAR_LIMIT=1.5

BENCH_NAME=bench/overview.sh
# shellcheck source=bench/lib.sh
source bench/lib.sh   # the cwd is the repo root (see cd above)

if [[ $(id -u) -ne 0 ]]; then
    echo "bench/overview.sh: must run as root (a network namespace, and ss -p and portcullis" \
         "need it to see every socket's owner). Try: sudo $0" >&2
    exit 2
fi
for tool in hyperfine ss ip python3; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install -y hyperfine iproute2 python3)"
done
[[ $RULESET == none || -f $RULESET ]] || die "no ruleset file $RULESET (RULESET=none for an empty ruleset)"

build_portcullis "$BENCH_NAME"

FIXTURE_PID= HYPERFINE_PID=
workspace HYPERFINE_PID FIXTURE_PID
make_netns "portcullis-bench-$$" "$([[ $RULESET == none ]] || echo "$RULESET")"
mkdir -p "$RESULTS"

# fixture TCP_LISTENERS [FIXTURE_ARGS...]: (re)starts the fixture in the
# namespace with UDP, EST and PROCS, and checks that ss sees all of it.
fixture() {
    local tcp=$1 listen udp est
    shift
    stop "$FIXTURE_PID"
    FIXTURE_PID=
    say "starting fixture: $tcp TCP listeners, $UDP UDP sockets, $EST established connections over $PROCS processes"
    start_fixture "$tmp/ready-$tcp" --tcp "$tcp" --udp "$UDP" --established "$EST" --procs "$PROCS" "$@"
    read -r listen udp est < <(count_sockets)
    say "ss shows $listen listeners, $udp UDP sockets, $est established sockets"
    (( listen >= tcp && udp >= UDP && est >= 2 * EST )) ||
        die "expected $tcp listeners, $UDP UDP sockets and $((2 * EST)) established sockets"
}

# check_exits: every command runs once and ends as it should (audit: 0, or
# 1 for findings at or above high), since the timed runs ignore exit codes
# for audit's sake.
check_exits() {
    local db=$1 rc
    for cmd in "ss -tulnp" "$PORTCULLIS list" "$PORTCULLIS" "$PORTCULLIS audit --format json" \
               "$PORTCULLIS audit --format json --policy $POLICY" "$PORTCULLIS snapshot --db $db"; do
        rc=0
        # shellcheck disable=SC2086  # the command is deliberately word-split
        "${IN_NETNS[@]}" $cmd >/dev/null 2>"$tmp/stderr" || rc=$?
        (( rc == 0 )) || [[ $cmd == *" audit "* && $rc == 1 ]] ||
            die "'$cmd' exited $rc: $(tail -n 3 "$tmp/stderr")"
    done
    rm -f "$db" "$db-wal" "$db-shm"
}

# --- 1. One hyperfine run on the fixture --------------------------------------
fixture "$TCP"
db=$tmp/snapshot.db
check_exits "$db"
say "hyperfine: warmup $WARMUP, runs $RUNS"
# -N: no intermediate shell. -i: audit exits 1 for its findings (checked above).
# One --prepare per command: only the snapshot's removes its database, so
# every run creates, migrates and fills a fresh one.
run_hyperfine -N -i --warmup "$WARMUP" --runs "$RUNS" \
    --prepare true --command-name "ss -tulnp" "ss -tulnp" \
    --prepare true --command-name "portcullis list" "$PORTCULLIS list" \
    --prepare true --command-name "portcullis" "$PORTCULLIS" \
    --prepare true --command-name "portcullis audit --format json" "$PORTCULLIS audit --format json" \
    --prepare "rm -f $db $db-wal $db-shm" --command-name "portcullis snapshot --db DB" "$PORTCULLIS snapshot --db $db" \
    --export-markdown "$RESULTS/overview.md" --export-json "$RESULTS/overview.json"

# Commands in the order above: 0 ss, 1 list, 2 overview, 3 audit, 4 snapshot.
ratios_table() {
    python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"]
print("| Command | Mean [ms] | CPU [ms] | / list | / ss -tulnp |")
print("|:---|---:|---:|---:|---:|")
for x in r:
    cpu = (x["user"] + x["system"]) * 1000
    print("| `%s` | %.1f ± %.1f | %.0f | %.2f | %.2f |" % (x["command"], x["mean"] * 1000, x["stddev"] * 1000, cpu,
          x["mean"] / r[1]["mean"], x["mean"] / r[0]["mean"]))' "$1"
}
ratios_table "$RESULTS/overview.json" >"$RESULTS/ratios.md"
overview_list=$(mean_ratio "$RESULTS/overview.json" 2 1)
overview_ss=$(mean_ratio "$RESULTS/overview.json" 2 0)
audit_list=$(mean_ratio "$RESULTS/overview.json" 3 1)
snapshot_list=$(mean_ratio "$RESULTS/overview.json" 4 1)
ok_overview_list=$(at_most "$overview_list" "$TARGET_OVERVIEW_LIST")
ok_overview_ss=$(at_most "$overview_ss" "$TARGET_OVERVIEW_SS")
ok_snapshot=$(at_most "$snapshot_list" "$TARGET_SNAPSHOT_LIST")

# --- 2. Linearity: the same commands at several sizes ---------------------------
# 50,000 listeners, each on a port of its own, need more ports than the
# fixture's default range (20000 up, outside the ephemeral range) holds: in
# our namespace the ephemeral range moves to 61000-65535 (enough for the
# client ends of the connections) and the listeners start at port 1024.
ok_linear=1
linear_lines=()
if [[ -n $SERIES ]]; then
    "${IN_NETNS[@]}" sysctl -q -w net.ipv4.ip_local_port_range="61000 65535"
    sizes=()
    for n in $SERIES; do
        fixture "$n" --port-start 1024
        check_exits "$db"
        say "hyperfine at $n TCP listeners: warmup $SERIES_WARMUP, runs $SERIES_RUNS"
        run_hyperfine -N -i --warmup "$SERIES_WARMUP" --runs "$SERIES_RUNS" \
            --command-name "portcullis list" "$PORTCULLIS list" \
            --command-name "portcullis" "$PORTCULLIS" \
            --command-name "portcullis audit --format json" "$PORTCULLIS audit --format json" \
            --command-name "portcullis audit --format json --policy $POLICY" "$PORTCULLIS audit --format json --policy $POLICY" \
            --export-json "$RESULTS/series-$n.json" >/dev/null
        sizes+=("$n")
    done
    # Per size: mean time, and time per listener; between sizes, the cost of
    # each added listener (the slope), which stays flat when growth is linear.
    python3 - "$RESULTS" "$UDP" "${sizes[@]}" >"$RESULTS/series.md" <<'PY'
import json, sys
results, udp, sizes = sys.argv[1], int(sys.argv[2]), [int(n) for n in sys.argv[3:]]
runs = {n: json.load(open(f"{results}/series-{n}.json"))["results"] for n in sizes}
names = [x["command"] for x in runs[sizes[0]]]
print("| Listeners (TCP + UDP) | " + " | ".join(f"`{c}` [ms]" for c in names) + " | " +
      " | ".join(f"`{c}` per listener [µs]" for c in names) + " |")
print("|---:|" + "---:|" * (2 * len(names)))
for n in sizes:
    listeners = n + udp
    means = [x["mean"] * 1000 for x in runs[n]]
    print(f"| {listeners:,} | " + " | ".join(f"{m:.1f}" for m in means) + " | " +
          " | ".join(f"{m * 1000 / listeners:.1f}" for m in means) + " |")
print()
print("| Added listeners | " + " | ".join(f"`{c}` per added listener [µs]" for c in names) + " |")
print("|:---|" + "---:|" * len(names))
for a, b in zip(sizes, sizes[1:]):
    slopes = [(y["mean"] - x["mean"]) * 1e6 / (b - a) for x, y in zip(runs[a], runs[b])]
    print(f"| {a:,} → {b:,} | " + " | ".join(f"{s:.1f}" for s in slopes) + " |")
PY
    if (( ${#sizes[@]} >= 3 )); then
        # Slope between the two largest sizes over slope between the two smallest.
        read -r linear_overview linear_audit linear_policy < <(python3 - "$RESULTS" "${sizes[0]}" "${sizes[1]}" "${sizes[-2]}" "${sizes[-1]}" <<'PY'
import json, sys
d, a, b, c, e = sys.argv[1], *map(int, sys.argv[2:])
def mean(n, i): return json.load(open(f"{d}/series-{n}.json"))["results"][i]["mean"]
def slope(x, y, i): return (mean(y, i) - mean(x, i)) / (y - x)
print(" ".join("%.2f" % (slope(c, e, i) / slope(a, b, i)) for i in (1, 2, 3)))
PY
        )
        ok_linear=$(( $(at_most "$linear_overview" "$LINEAR_LIMIT") && $(at_most "$linear_audit" "$LINEAR_LIMIT")
                      && $(at_most "$linear_policy" "$LINEAR_LIMIT") ))
        linear_lines+=("linearity:  per added listener, ${sizes[-2]}→${sizes[-1]} over ${sizes[0]}→${sizes[1]}: overview ${linear_overview}x, audit ${linear_audit}x, audit with $POLICY ${linear_policy}x (target <= ${LINEAR_LIMIT}x): $(verdict "$ok_linear")")
    else
        linear_lines+=("linearity:  not judged (SERIES needs three sizes)")
    fi
fi

# --- 3. Verdict -----------------------------------------------------------------
{
    echo "load:        $TCP TCP listeners, $UDP UDP sockets, $EST established connections ($((2 * EST)) sockets) over $PROCS processes"
    echo "firewall:    $([[ $RULESET == none ]] && echo "empty ruleset" || echo "$RULESET"), in network namespace portcullis-bench-$$"
    echo "binary:      $PORTCULLIS ($LINK), source $SOURCE"
    echo "machine:     $(uname -srm), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "tools:       $(hyperfine --version), $(ss -V)"
    echo "overview:    ${overview_list}x list (target <= $TARGET_OVERVIEW_LIST): $(verdict "$ok_overview_list"); ${overview_ss}x ss -tulnp (target <= $TARGET_OVERVIEW_SS): $(verdict "$ok_overview_ss")"
    echo "snapshot:    ${snapshot_list}x list, fresh database per run (target <= $TARGET_SNAPSHOT_LIST): $(verdict "$ok_snapshot")"
    echo "audit json:  ${audit_list}x list"
    for line in "${linear_lines[@]}"; do echo "$line"; done
    echo "reproduce:   sudo TCP=$TCP UDP=$UDP EST=$EST PROCS=$PROCS SERIES=\"$SERIES\" RULESET=$RULESET bench/overview.sh"
} | tee "$RESULTS/overview.txt"
echo
cat "$RESULTS/ratios.md"
if [[ -f $RESULTS/series.md && -n $SERIES ]]; then
    echo
    cat "$RESULTS/series.md"
fi

record_evidence overview "$(all_pass "$ok_overview_list" "$ok_overview_ss" "$ok_snapshot" "$ok_linear")" \
    "$RESULTS/overview.txt" "$RESULTS/ratios.md" "$RESULTS/series.md"
(( ok_overview_list && ok_overview_ss && ok_snapshot && ok_linear )) || exit 1
