#!/usr/bin/env bash
# Benchmark `portcullis hidden` against `unhide-tcp -s` (Debian package
# `unhide`) under the same socket load, in ONE hyperfine run per load so that
# both see the same machine state. Two loads, one after the other:
#
#   ipv4   TCP listeners on 127.0.0.1 only (the load of the first benchmark)
#   mixed  TCP listeners split between IPv4 and IPv6 (127.0.0.1, ::1, 0.0.0.0,
#          ::), UDP sockets, and established loopback connections, all over
#          the same processes (bench/fixture.py, as bench/list.sh uses it)
#
# and within each hyperfine run, portcullis twice: with kernel.pid_max as it
# is (32768, the kernel's default) and with 4194304, what systemd sets on
# real hosts. The pid_max of each command is set by hyperfine's --prepare
# before each of its runs; the original value is restored when the script
# ends, however it ends. unhide-tcp -s does not look at pids; it runs with
# the original pid_max.
#
#   sudo bench/hidden.sh
#
# Environment (all optional):
#   LOADS="ipv4 mixed"        which loads to run, in order
#   TCP=10000 PROCS=20        TCP listeners and processes of both loads
#   UDP=1000 EST=5000         UDP sockets and established connections of the
#                             mixed load (each connection is two sockets)
#   PID_MAX_HIGH=4194304      the second pid_max portcullis runs with ("" or
#                             the current value: skip that command)
#   WARMUP=1                  hyperfine warm-up runs
#   RUNS=auto                 hyperfine runs per command; "auto" times one run
#                             of each command by hand first and picks as many
#                             runs (3-20) as fit in BUDGET seconds per load
#   BUDGET=120                seconds of measured runs that RUNS=auto aims at
#   RSS_RUNS=3                runs for the peak-RSS measurement
#   PORTCULLIS=path           benchmark this binary; skip the build
#   BUILD_PATH=.build-bench   SwiftPM scratch path for the build (kept apart
#                             from .build, which other work uses)
#   REV=rev                   build this git revision (exported with git archive
#                             to $BUILD_PATH-rev/src, built in $BUILD_PATH-rev)
#                             instead of the working tree, e.g. REV=HEAD when
#                             the tree holds unfinished edits
#
# What each command does on this load:
#   portcullis hidden  netlink dump (every state) + /proc/net, fd walk of every
#                      process, the task census (or, when the kernel's count
#                      of tasks does not prove the /proc listing complete, a
#                      lookup of every pid up to pid_max: see
#                      Sources/PortcullisCore/Hidden/TaskCensus.swift), bind
#                      probes of ports
#                      1-65535 for TCP and UDP over IPv4 and IPv6 (one
#                      dual-stack probe per port, family probes where in use,
#                      listed ports skipped; on every online CPU), and, for any
#                      discrepancy, a second dump, connect probes and --rounds
#                      re-verification. Exit 0 = clean.
#   unhide-tcp -s      per protocol: `netstat -tan` (or -uan) through sh and
#                      sed, then a bind probe (SO_REUSEADDR, 0.0.0.0; TCP also
#                      listen()s) of every port 0-65535 that netstat does NOT
#                      list, IPv4 only, one thread; ports found in use get one
#                      more netstat + probe pass. It sets its own priority to
#                      nice -20, which favours it on a busy machine. Exit 0 = no
#                      hidden port; 4/8/12 = hidden TCP/UDP/both.
# So portcullis probes IPv6 too (unhide-tcp skips the ports netstat lists);
# the ratio is still the honest answer to "how long does each tool's full
# check take".
#
# Before timing, each command runs once and must do its full work on a clean
# result: portcullis exits 0 with "clean": true, its four (protocol, family)
# results covering 65,535 ports with the fixture's sockets in use, and every
# pid up to pid_max looked up or the listing proven complete by the task
# count (once per pid_max); unhide-tcp exits 0 and
# prints no "Found Hidden port" line. hyperfine then runs with -i (unhide-tcp
# re-checks only once, without a pause, so a port that something else on a
# busy machine holds across its two passes would make it exit 4 and abort the
# whole benchmark); afterwards every run's exit code is checked: any non-zero
# portcullis run fails the script, non-zero unhide-tcp runs are reported.
#
# Results, per load: bench/results/hidden-LOAD.md (hyperfine markdown) and
# hidden-LOAD.json; for all loads: hidden-table.md and hidden-summary.txt
# (bench/results/ is gitignored).
#
# Root is required: portcullis and unhide-tcp probe ports below 1024, the
# fd walk needs every process's fd table, and pid_max is set.
set -euo pipefail

cd "$(dirname "$0")/.."          # repo root, wherever we are called from

LOADS=${LOADS:-ipv4 mixed}
TCP=${TCP:-10000}
UDP=${UDP:-1000}
EST=${EST:-5000}
PROCS=${PROCS:-20}
PID_MAX_HIGH=${PID_MAX_HIGH-4194304}
WARMUP=${WARMUP:-1}
RUNS=${RUNS:-auto}
BUDGET=${BUDGET:-120}
RSS_RUNS=${RSS_RUNS:-3}
PORTCULLIS=${PORTCULLIS:-}
BUILD_PATH=${BUILD_PATH:-.build-bench}
REV=${REV:-}
RESULTS=bench/results
UNHIDE="unhide-tcp -s"
# Target (README, "`hidden` beside `unhide-tcp -s`"): every portcullis row at most this multiple of unhide-tcp -s, on both loads.
TARGET_RATIO=0.5
ok_hidden=1

BENCH_NAME=bench/hidden.sh
# shellcheck source=bench/lib.sh
source bench/lib.sh   # the cwd is the repo root (see cd above)

if [[ $(id -u) -ne 0 ]]; then
    echo "bench/hidden.sh: must run as root (both tools bind-probe ports below 1024;" \
         "portcullis walks every process's fd table; pid_max is set). Try: sudo $0" >&2
    exit 2
fi
for load in $LOADS; do
    [[ $load == ipv4 || $load == mixed ]] || die "unknown load '$load' (LOADS takes ipv4 and mixed)"
done

# Tools, and the Debian package that provides each; missing ones are installed.
# unhide-tcp -s runs `netstat` (net-tools) itself.
declare -A PACKAGE=([hyperfine]=hyperfine [ss]=iproute2 [netstat]=net-tools
                    [unhide-tcp]=unhide [python3]=python3 [/usr/bin/time]=time [sysctl]=procps)
missing=()
for tool in hyperfine ss netstat unhide-tcp python3 /usr/bin/time sysctl; do
    command -v "$tool" >/dev/null || missing+=("${PACKAGE[$tool]}")
done
if (( ${#missing[@]} )); then
    say "installing ${missing[*]}"
    apt-get install -y "${missing[@]}" >&2 ||
        { apt-get update >&2 && apt-get install -y "${missing[@]}" >&2; } ||
        die "could not install ${missing[*]}"
fi

# --- 1. Build: the static release binary, as shipped (bench/lib.sh) -------
build_portcullis "$BENCH_NAME"

# --- 2. Workspace; pid_max restored however we exit -------------------------
FIXTURE_PID= HYPERFINE_PID=
workspace HYPERFINE_PID FIXTURE_PID   # however we exit, the fixture goes down (its workers with it)
PID_MAX_ORIGINAL=$(sysctl -n kernel.pid_max)
restore_pid_max() {
    sysctl -qw "kernel.pid_max=$PID_MAX_ORIGINAL" ||
        echo "$BENCH_NAME: could not restore kernel.pid_max=$PID_MAX_ORIGINAL" >&2
}
trap 'workspace_cleanup; restore_pid_max' EXIT
set_pid_max() { sysctl -qw "kernel.pid_max=$1" || die "cannot set kernel.pid_max=$1"; }

PID_MAXES=("$PID_MAX_ORIGINAL")
if [[ -n $PID_MAX_HIGH && $PID_MAX_HIGH != "$PID_MAX_ORIGINAL" ]]; then PID_MAXES+=("$PID_MAX_HIGH"); fi

elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$2"; }
mkdir -p "$RESULTS"
: >"$RESULTS/hidden-summary.txt"
: >"$RESULTS/hidden-table.md"

# check_portcullis JSON LOAD PID_MAX: did that `hidden --format json` do its
# full work on a clean result? Prints how the processes were checked.
check_portcullis() {
    python3 - "$1" "$2" "$TCP" "$UDP" "$3" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); load = sys.argv[2]; tcp, udp, pid_max = map(int, sys.argv[3:6])
problems = []
if r["clean"] is not True or r["findings"]:
    problems.append("not clean")
sweeps = {(s["proto"], s["family"]): s for s in r["bind_probes"]}
for key in [("tcp", "ipv4"), ("tcp", "ipv6"), ("udp", "ipv4"), ("udp", "ipv6")]:
    s = sweeps.get(key)
    if s is None:
        problems.append(f"no {key[0]}/{key[1]} sweep"); continue
    total = s["in_use"] + s.get("listed", 0) + s["free"] + s["not_probed"] + s["errors"]
    if total != 65535 or s["not_probed"] or s["errors"]:
        problems.append(f"{key[0]}/{key[1]} sweep incomplete: {s}")
def used(proto, *families):
    return sum(sweeps.get((proto, f), {}).get("in_use", 0) + sweeps.get((proto, f), {}).get("listed", 0) for f in families)
if load == "ipv4" and used("tcp", "ipv4") < tcp:
    problems.append(f"tcp/ipv4 sweep found fewer than {tcp} ports in use (probed or listed)")
if load == "mixed" and used("tcp", "ipv4", "ipv6") < tcp:
    problems.append(f"tcp sweeps found fewer than {tcp} ports in use (probed or listed, both families)")
if load == "mixed" and used("udp", "ipv4", "ipv6") < udp:
    problems.append(f"udp sweeps found fewer than {udp} ports in use (probed or listed, both families)")
if r.get("pids_checked") != pid_max and not r.get("tasks_counted"):
    problems.append(f"neither every pid up to {pid_max} looked up (pids_checked {r.get('pids_checked')}) "
                    "nor the listing proven complete by the task count")
if problems:
    sys.exit("; ".join(problems))
if r.get("tasks_counted"):
    print(f"listing proven complete: {r['tasks_counted']} tasks")
else:
    print(f"{r['pids_checked']} pids looked up")
PY
}

# bench_load LOAD: the fixture of that load, the sanity runs, one hyperfine
# run (portcullis at each pid_max, then unhide-tcp -s), peak RSS, the report.
bench_load() {
    local load=$1 ready=$tmp/ready-$1 description
    local fixture_args=(--tcp "$TCP" --procs "$PROCS")
    if [[ $load == ipv4 ]]; then
        fixture_args+=(--udp 0 --established 0 --bind 127.0.0.1)
        description="$TCP TCP listeners on 127.0.0.1 over $PROCS processes"
    else
        fixture_args+=(--udp "$UDP" --established "$EST")
        description="$TCP TCP listeners (127.0.0.1, ::1, 0.0.0.0, :: in turn), $UDP UDP sockets, $EST established connections ($((2 * EST)) sockets) over $PROCS processes"
    fi
    local base got
    read -r -a base < <(count_sockets)
    say "[$load] starting fixture: $description"
    start_fixture "$ready" "${fixture_args[@]}"
    read -r -a got < <(count_sockets)
    local listen=$(( got[0] - base[0] )) udp=$(( got[1] - base[1] )) est=$(( got[2] - base[2] ))
    say "[$load] fixture up: +$listen TCP listeners, +$udp UDP sockets, +$est established sockets (ss)"
    (( listen >= TCP )) || die "expected $TCP new listeners, ss shows $listen"
    if [[ $load == mixed ]]; then
        (( udp >= UDP )) || die "expected $UDP new UDP sockets, ss shows $udp"
        (( est >= 2 * EST )) || die "expected $((2 * EST)) new established sockets, ss shows $est"
    fi

    # --- Each command once, by hand: full work, clean result, rough time ---
    local names=() commands=() prepares=() times=() pid_max t0 rc how
    for pid_max in "${PID_MAXES[@]}"; do
        set_pid_max "$pid_max"
        say "[$load] sanity run: portcullis hidden --format json (pid_max $pid_max)"
        t0=$(now)
        rc=0; "$PORTCULLIS" hidden --format json >"$tmp/p.json" 2>"$tmp/p.err" || rc=$?
        times+=("$(elapsed "$t0" "$(now)")")
        if (( rc != 0 )); then
            cat "$tmp/p.json" "$tmp/p.err" >&2
            die "portcullis hidden exited $rc on the $load load (expected 0: clean)"
        fi
        how=$(check_portcullis "$tmp/p.json" "$load" "$pid_max") ||
            { cat "$tmp/p.json" >&2; die "portcullis hidden did not do its full work (see above)"; }
        say "[$load] portcullis (pid_max $pid_max): exit 0, clean, 4 protocol/family results x 65,535 ports, $how, ${times[-1]}s"
        names+=("portcullis hidden (pid_max $pid_max)")
        commands+=("$PORTCULLIS hidden")
        prepares+=("sysctl -qw kernel.pid_max=$pid_max")
    done
    set_pid_max "$PID_MAX_ORIGINAL"

    say "[$load] sanity run: $UNHIDE"
    t0=$(now)
    # shellcheck disable=SC2086  # UNHIDE is deliberately word-split
    rc=0; $UNHIDE >"$tmp/u.out" 2>&1 || rc=$?
    times+=("$(elapsed "$t0" "$(now)")")
    if (( rc != 0 )) || grep -q "Found Hidden port" "$tmp/u.out" ||
       ! grep -q "Starting TCP checking" "$tmp/u.out" || ! grep -q "Starting UDP checking" "$tmp/u.out"; then
        cat "$tmp/u.out" >&2
        die "$UNHIDE exited $rc or reported hidden ports on the $load load (expected exit 0 and no findings)"
    fi
    say "[$load] unhide-tcp -s: exit 0, TCP and UDP checked, no hidden port reported, ${times[-1]}s"
    names+=("$UNHIDE")
    commands+=("$UNHIDE")
    prepares+=("sysctl -qw kernel.pid_max=$PID_MAX_ORIGINAL")

    local runs=$RUNS
    if [[ $runs == auto ]]; then
        runs=$(python3 -c "import sys; print(max(3, min(20, int(float(sys.argv[1]) / sum(map(float, sys.argv[2:]))))))" \
            "$BUDGET" "${times[@]}")
        say "[$load] RUNS=auto: $runs runs per command (~${BUDGET}s budget)"
    fi

    # --- Wall time: one hyperfine run -----------------------------------------
    # -N: no intermediate shell. -i: see the header; exit codes are checked
    # below. Each command's --prepare sets its pid_max before each of its runs.
    local args=() i
    for i in "${!names[@]}"; do args+=(--prepare "${prepares[$i]}"); done
    for i in "${!names[@]}"; do args+=(--command-name "${names[$i]}" "${commands[$i]}"); done
    local load_before load_after
    load_before=$(cut -d' ' -f1-3 /proc/loadavg)
    say "[$load] hyperfine: warmup $WARMUP, runs $runs"
    run_hyperfine -N -i --warmup "$WARMUP" --runs "$runs" "${args[@]}" \
        --export-markdown "$RESULTS/hidden-$load.md" --export-json "$RESULTS/hidden-$load.json"
    set_pid_max "$PID_MAX_ORIGINAL"
    load_after=$(cut -d' ' -f1-3 /proc/loadavg)

    # The last command is unhide-tcp; all the others are portcullis.
    local bad_portcullis bad_unhide unhide_codes
    read -r bad_portcullis bad_unhide unhide_codes < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"]
bad = [[c for c in x["exit_codes"] if c != 0] for x in r]
print(sum(map(len, bad[:-1])), len(bad[-1]), ",".join(map(str, sorted(set(bad[-1])))) or "-")' "$RESULTS/hidden-$load.json")
    (( bad_portcullis == 0 )) ||
        die "portcullis hidden exited non-zero in $bad_portcullis timed runs on the $load load (see $RESULTS/hidden-$load.json)"
    if (( bad_unhide )); then
        echo "$BENCH_NAME: WARNING: $UNHIDE exited non-zero (codes $unhide_codes) in $bad_unhide" \
             "of $runs timed runs on the $load load: it reported a hidden port (no re-verification;" \
             "probably a port opened elsewhere during its sweep). Its timing still covers the full sweep." >&2
    fi

    # --- Peak RSS (GNU time's %M, KiB; the largest of a few runs) --------------
    # For unhide-tcp it is its own peak (netstat and sed run as its children).
    local rss=()
    for pid_max in "${PID_MAXES[@]}"; do
        set_pid_max "$pid_max"
        rss+=("$(peak_rss "$PORTCULLIS" hidden)")
    done
    set_pid_max "$PID_MAX_ORIGINAL"
    # shellcheck disable=SC2086
    rss+=("$(peak_rss $UNHIDE)")

    # --- Report ------------------------------------------------------------------
    {
        echo "#### Load: $load ($description)"
        echo
        python3 - "$RESULTS/hidden-$load.json" "${rss[@]}" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
rss = [int(x) for x in sys.argv[2:]]
base = r[-1]["mean"]
print("| Command | Mean ± σ [s] | Min [s] | Max [s] | Ratio vs `unhide-tcp -s` | Peak RSS [MiB] |")
print("|:---|---:|---:|---:|---:|---:|")
for x, kb in zip(r, rss):
    print(f"| `{x['command']}` | {x['mean']:.3f} ± {x['stddev']:.3f} | {x['min']:.3f} | {x['max']:.3f} "
          f"| {x['mean'] / base:.2f} | {kb / 1024:.1f} |")
PY
        echo
    } >>"$RESULTS/hidden-table.md"
    local ratios
    ratios=$(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"]
print("; ".join("%s %.3f" % (x["command"], x["mean"] / r[-1]["mean"]) for x in r[:-1]))' "$RESULTS/hidden-$load.json")
    local worst ok_load
    worst=$(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"]
print("%.3f" % max(x["mean"] / r[-1]["mean"] for x in r[:-1]))' "$RESULTS/hidden-$load.json")
    ok_load=$(at_most "$worst" "$TARGET_RATIO")
    (( ok_load )) || ok_hidden=0
    {
        echo "[$load] load:        $description (+$listen listeners, +$udp UDP, +$est established seen by ss)"
        echo "[$load] load avg:    before $load_before, after $load_after (1/5/15 min)"
        echo "[$load] hyperfine:   -N -i, warmup $WARMUP, runs $runs; non-zero exits: portcullis $bad_portcullis, unhide-tcp $bad_unhide"
        echo "[$load] single runs: $(for i in "${!names[@]}"; do printf '%s %ss; ' "${names[$i]}" "${times[$i]}"; done)(sanity runs, before hyperfine)"
        echo "[$load] time ratio:  mean over unhide-tcp -s mean: $ratios (target <= $TARGET_RATIO): $(verdict "$ok_load")"
        echo "[$load] peak RSS:    $(for i in "${!names[@]}"; do printf '%s %s MiB; ' "${names[$i]}" "$(mb "${rss[$i]}")"; done)"
    } | tee -a "$RESULTS/hidden-summary.txt"

    stop "$FIXTURE_PID"
    FIXTURE_PID=
}

for load in $LOADS; do bench_load "$load"; done

{
    echo "binary:      $PORTCULLIS ($LINK), source $SOURCE"
    echo "machine:     $(uname -srm), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "CPUs used:   $(nproc) (online CPUs available to us, of $(nproc --all)); portcullis probes on all of them, unhide-tcp on one (+ netstat)"
    echo "tools:       $(hyperfine --version), $(unhide-tcp -V 2>&1 | head -n1) (Debian unhide $(dpkg-query -W -f='${Version}' unhide 2>/dev/null || echo '?'))"
    echo "pid_max:     ${PID_MAXES[*]} (the first is the machine's own, restored at exit)"
    echo "work:        portcullis: bind probes of every port (TCP, UDP x IPv4, IPv6; listed ports skipped) + netlink, /proc/net, fd walk, task census or pid sweep, re-verification;" \
         "unhide-tcp -s: netstat -tan/-uan + 2 bind sweeps (TCP, UDP x IPv4) of the ports netstat does not list, at nice -20"
    echo "reproduce:   sudo LOADS=\"$LOADS\" TCP=$TCP UDP=$UDP EST=$EST PROCS=$PROCS PID_MAX_HIGH=$PID_MAX_HIGH WARMUP=$WARMUP RUNS=$RUNS${REV:+ REV=$REV} bench/hidden.sh"
} | tee -a "$RESULTS/hidden-summary.txt"
echo
cat "$RESULTS/hidden-table.md"
record_evidence hidden "$(all_pass "$ok_hidden")" "$RESULTS/hidden-summary.txt" "$RESULTS/hidden-table.md"
(( ok_hidden )) || die "portcullis hidden took more than ${TARGET_RATIO}x unhide-tcp -s (see above)"
