#!/usr/bin/env bash
# Benchmark `portcullis hidden` against `unhide-tcp -s` (Debian package
# `unhide`) under the same socket load, in ONE hyperfine run so that both see
# the same machine state.
#
#   sudo bench/hidden.sh
#
# Environment (all optional):
#   TCP=10000 PROCS=20        fixture load: TCP listeners on 127.0.0.1, spread
#                             over PROCS processes (see bench/fixture.py)
#   WARMUP=1                  hyperfine warm-up runs
#   RUNS=auto                 hyperfine runs per command; "auto" times one run
#                             of each command by hand first and picks as many
#                             runs (3-20) as fit in BUDGET seconds
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
#                      process, pid sweep to pid_max, bind probes of ports
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
# So portcullis probes IPv6 too and every port (unhide-tcp skips the 10,000
# listed listeners); the ratio is still the honest answer to "how long does
# each tool's full check take".
#
# Before timing, each command runs once and must do its full work on a clean
# result: portcullis exits 0 with "clean": true and its four (protocol,
# family) results covering 65,535 ports with the fixture's listeners in use; unhide-tcp exits 0 and
# prints no "Found Hidden port" line. hyperfine then runs with -i (unhide-tcp
# re-checks only once, without a pause, so a port that something else on a
# busy machine holds across its two passes would make it exit 4 and abort the
# whole benchmark); afterwards every run's exit code is checked: any non-zero
# portcullis run fails the script, non-zero unhide-tcp runs are reported.
#
# Results: bench/results/hidden.md (hyperfine markdown), hidden.json,
# hidden-table.md and hidden-summary.txt (bench/results/ is gitignored).
#
# Root is required: portcullis and unhide-tcp probe ports below 1024, and the
# fd walk needs every process's fd table.
set -euo pipefail

cd "$(dirname "$0")/.."          # repo root, wherever we are called from

TCP=${TCP:-10000}
PROCS=${PROCS:-20}
WARMUP=${WARMUP:-1}
RUNS=${RUNS:-auto}
BUDGET=${BUDGET:-120}
RSS_RUNS=${RSS_RUNS:-3}
PORTCULLIS=${PORTCULLIS:-}
BUILD_PATH=${BUILD_PATH:-.build-bench}
REV=${REV:-}
RESULTS=bench/results
UNHIDE="unhide-tcp -s"

BENCH_NAME=bench/hidden.sh
# shellcheck source=bench/lib.sh
source bench/lib.sh   # the cwd is the repo root (see cd above)

if [[ $(id -u) -ne 0 ]]; then
    echo "bench/hidden.sh: must run as root (both tools bind-probe ports below 1024;" \
         "portcullis walks every process's fd table). Try: sudo $0" >&2
    exit 2
fi

# Tools, and the Debian package that provides each; missing ones are installed.
# unhide-tcp -s runs `netstat` (net-tools) itself.
declare -A PACKAGE=([hyperfine]=hyperfine [ss]=iproute2 [netstat]=net-tools
                    [unhide-tcp]=unhide [python3]=python3 [/usr/bin/time]=time)
missing=()
for tool in hyperfine ss netstat unhide-tcp python3 /usr/bin/time; do
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

# --- 2. Socket load ----------------------------------------------------------
FIXTURE_PID= HYPERFINE_PID=
workspace HYPERFINE_PID FIXTURE_PID   # however we exit, the fixture goes down (its workers with it)
ready=$tmp/ready

count_listen() { ss -H -tln src 127.0.0.1 | wc -l; }
base_listen=$(count_listen)

say "starting fixture: $TCP TCP listeners on 127.0.0.1 over $PROCS processes"
start_fixture "$ready" --tcp "$TCP" --udp 0 --established 0 --procs "$PROCS" --bind 127.0.0.1
got_listen=$(( $(count_listen) - base_listen ))
say "fixture up: +$got_listen TCP listeners on 127.0.0.1"
(( got_listen >= TCP )) || die "expected $TCP new listeners on 127.0.0.1, ss shows $got_listen"

# --- 3. Each command once, by hand: full work, clean result, rough time ------
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$2"; }

say "sanity run: portcullis hidden --format json"
t0=$(now)
rc=0; "$PORTCULLIS" hidden --format json >"$tmp/p.json" 2>"$tmp/p.err" || rc=$?
t_portcullis=$(elapsed "$t0" "$(now)")
if (( rc != 0 )); then
    cat "$tmp/p.json" "$tmp/p.err" >&2
    die "portcullis hidden exited $rc on the fixture load (expected 0: clean)"
fi
python3 - "$tmp/p.json" "$TCP" <<'EOF' || { cat "$tmp/p.json" >&2; die "portcullis hidden did not do its full work (see above)"; }
import json, sys
r = json.load(open(sys.argv[1])); want = int(sys.argv[2])
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
tcp4 = sweeps.get(("tcp", "ipv4"), {})
if tcp4.get("in_use", 0) + tcp4.get("listed", 0) < want:
    problems.append(f"tcp/ipv4 sweep found fewer than {want} ports in use (probed or listed)")
if problems:
    sys.exit("; ".join(problems))
EOF
p_inuse=$(python3 -c 'import json,sys; print(next(s["in_use"] + s.get("listed", 0) for s in json.load(open(sys.argv[1]))["bind_probes"] if s["proto"]=="tcp" and s["family"]=="ipv4"))' "$tmp/p.json")
say "portcullis: exit 0, clean, 4 protocol/family results x 65,535 ports, tcp/ipv4 $p_inuse in use (listed or probed), ${t_portcullis}s"

say "sanity run: $UNHIDE"
t0=$(now)
# shellcheck disable=SC2086  # UNHIDE is deliberately word-split
rc=0; $UNHIDE >"$tmp/u.out" 2>&1 || rc=$?
t_unhide=$(elapsed "$t0" "$(now)")
if (( rc != 0 )) || grep -q "Found Hidden port" "$tmp/u.out" ||
   ! grep -q "Starting TCP checking" "$tmp/u.out" || ! grep -q "Starting UDP checking" "$tmp/u.out"; then
    cat "$tmp/u.out" >&2
    die "$UNHIDE exited $rc or reported hidden ports on the fixture load (expected exit 0 and no findings)"
fi
say "unhide-tcp -s: exit 0, TCP and UDP checked, no hidden port reported, ${t_unhide}s"

if [[ $RUNS == auto ]]; then
    RUNS=$(python3 -c "import sys; print(max(3, min(20, int(float(sys.argv[1]) / (float(sys.argv[2]) + float(sys.argv[3]))))))" \
        "$BUDGET" "$t_portcullis" "$t_unhide")
    say "RUNS=auto: $RUNS runs per command (~${BUDGET}s budget)"
fi

# --- 4. Wall time: one hyperfine run ----------------------------------------
# -N: no intermediate shell. -i: see the header; exit codes are checked below.
# Backgrounded and waited for so that a SIGTERM stops it at once (see list.sh).
mkdir -p "$RESULTS"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
say "hyperfine: warmup $WARMUP, runs $RUNS"
hyperfine -N -i --warmup "$WARMUP" --runs "$RUNS" \
    --command-name "portcullis hidden" "$PORTCULLIS hidden" \
    --command-name "$UNHIDE" "$UNHIDE" \
    --export-markdown "$RESULTS/hidden.md" \
    --export-json "$RESULTS/hidden.json" &
HYPERFINE_PID=$!
wait "$HYPERFINE_PID"
HYPERFINE_PID=
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# Commands are in the order given above: 0 = portcullis, 1 = unhide-tcp.
read -r bad_portcullis bad_unhide unhide_codes < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"]
bad = [[c for c in x["exit_codes"] if c != 0] for x in r]
print(len(bad[0]), len(bad[1]), ",".join(map(str, sorted(set(bad[1])))) or "-")' "$RESULTS/hidden.json")
(( bad_portcullis == 0 )) ||
    die "portcullis hidden exited non-zero in $bad_portcullis of $RUNS timed runs (see $RESULTS/hidden.json)"
if (( bad_unhide )); then
    echo "bench/hidden.sh: WARNING: $UNHIDE exited non-zero (codes $unhide_codes) in $bad_unhide" \
         "of $RUNS timed runs: it reported a hidden port (no re-verification; probably a port" \
         "opened elsewhere during its sweep). Its timing still covers the full sweep." >&2
fi

# --- 5. Peak RSS ------------------------------------------------------------
# GNU time's %M: maximum resident set size in KiB, the largest of a few runs.
# For unhide-tcp it is its own peak (netstat and sed run as its children).
rss_portcullis=$(peak_rss "$PORTCULLIS" hidden)
# shellcheck disable=SC2086
rss_unhide=$(peak_rss $UNHIDE)

# --- 6. Report --------------------------------------------------------------
python3 - "$RESULTS/hidden.json" "$rss_portcullis" "$rss_unhide" >"$RESULTS/hidden-table.md" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
rss = [int(sys.argv[2]), int(sys.argv[3])]
base = r[1]["mean"]
print("| Command | Mean ± σ [s] | Min [s] | Max [s] | Ratio vs `unhide-tcp -s` | Peak RSS [MiB] |")
print("|:---|---:|---:|---:|---:|---:|")
for x, kb in zip(r, rss):
    print(f"| `{x['command']}` | {x['mean']:.3f} ± {x['stddev']:.3f} | {x['min']:.3f} | {x['max']:.3f} "
          f"| {x['mean'] / base:.2f} | {kb / 1024:.1f} |")
EOF
ratio=$(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"]
print("%.3f" % (r[0]["mean"] / r[1]["mean"]))' "$RESULTS/hidden.json")

{
    echo "load:        $TCP TCP listeners on 127.0.0.1 over $PROCS processes (+$got_listen seen by ss)"
    echo "binary:      $PORTCULLIS ($LINK), source $SOURCE"
    echo "machine:     $(uname -srm), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "CPUs used:   $(nproc) (online CPUs available to us, of $(nproc --all)); portcullis probes on all of them, unhide-tcp on one (+ netstat)"
    echo "load avg:    before $load_before, after $load_after (1/5/15 min)"
    echo "tools:       $(hyperfine --version), $(unhide-tcp -V 2>&1 | head -n1) (Debian unhide $(dpkg-query -W -f='${Version}' unhide 2>/dev/null || echo '?'))"
    echo "hyperfine:   -N -i, warmup $WARMUP, runs $RUNS; non-zero exits: portcullis $bad_portcullis, unhide-tcp $bad_unhide"
    echo "single runs: portcullis ${t_portcullis}s, unhide-tcp -s ${t_unhide}s (sanity runs, before hyperfine)"
    echo "work:        portcullis: bind probes of every port (TCP, UDP x IPv4, IPv6; listed ports skipped) + netlink, /proc/net, fd walk, pid sweep, re-verification;" \
         "unhide-tcp -s: netstat -tan/-uan + 2 bind sweeps (TCP, UDP x IPv4) of the ports netstat does not list, at nice -20"
    echo "time ratio:  portcullis hidden / unhide-tcp -s mean = $ratio"
    echo "peak RSS:    portcullis hidden $(mb "$rss_portcullis") MiB; unhide-tcp -s $(mb "$rss_unhide") MiB"
    echo "reproduce:   sudo TCP=$TCP PROCS=$PROCS WARMUP=$WARMUP RUNS=$RUNS${REV:+ REV=$REV} bench/hidden.sh"
} | tee "$RESULTS/hidden-summary.txt"
echo
cat "$RESULTS/hidden-table.md"
echo
cat "$RESULTS/hidden.md"
