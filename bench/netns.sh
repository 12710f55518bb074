#!/usr/bin/env bash
# Benchmark the network-namespace sweep of `portcullis list` (issue 12,
# "Fast, measured"), in three hyperfine runs:
#
#   1. the sweep's overhead on the host as it is: `portcullis list` (every
#      namespace) beside `portcullis list --netns host` (one);
#   2. the same two on a loaded host: bench/fixture.py in the host's
#      namespace (10,000 TCP listeners, 1,000 UDP sockets, 5,000 established
#      connections over 20 processes, IPv4 and IPv6, as bench/list.sh);
#   3. NAMESPACES (100) namespaces made with `ip netns add`, ten listeners
#      in each (bench/netns_fixture.py: seven TCP, three UDP, four of them
#      IPv6): `portcullis list` beside a shell loop of
#      `ip netns exec NS ss -tulnp` over those namespaces (the way an admin
#      does it today), and `portcullis list --netns NS` beside
#      `ip netns exec NS ss -tulnp` for one of them.
#
#   sudo bench/netns.sh
#
# Before timing, each run checks that the tools see what they should: the
# sweep and `--netns host` list every fixture socket in the host's namespace,
# and the sweep lists every one of the 1,000 listeners of run 3 in the right
# namespace, with the right owner (as `--netns NS` does for its namespace).
#
# Environment (all optional):
#   NAMESPACES=100                          namespaces of run 3 (ten listeners each)
#   TCP=10000 UDP=1000 EST=5000 PROCS=20   host load of run 2 (bench/fixture.py)
#   WARMUP=3 RUNS=20                        hyperfine settings of runs 1 and 2
#   LOOP_WARMUP=2 LOOP_RUNS=10              hyperfine settings of run 3 (the loop takes seconds)
#   PORTCULLIS=path                         benchmark this binary; skip the build
#   REV=commit BUILD_PATH=.build-bench      build that git revision / in that scratch path (bench/lib.sh)
#
# Targets (issue 12), each checked; the script exits 1 when one is missed:
#   run 3: the sweep's mean wall time <= 0.2x the ss loop's;
#   runs 1 and 2: the sweep's <= 1.5x that of `--netns host`.
# Results: bench/results/netns.md and netns.json (run 3), sweep-idle.*,
# sweep-loaded.* (runs 1 and 2), netns.txt (summary); gitignored.
#
# The namespaces are named pcb-PID-NNN (PID: this script's); only those are
# ever deleted, and all of them are, with the fixtures' processes, however
# the script ends (bench/lib.sh's workspace). There is no traffic but the
# fixture's own connections over loopback in the host's namespace (run 2);
# the namespaces' listeners are only bound.
#
# Run 1 measures the host as it is: other network namespaces there (other
# programs', containers') are part of the sweep, so the summary lists them.
set -euo pipefail
cd "$(dirname "$0")/.."          # repo root, wherever we are called from

NAMESPACES=${NAMESPACES:-100}
TCP=${TCP:-10000}
UDP=${UDP:-1000}
EST=${EST:-5000}
PROCS=${PROCS:-20}
WARMUP=${WARMUP:-3}
RUNS=${RUNS:-20}
LOOP_WARMUP=${LOOP_WARMUP:-2}
LOOP_RUNS=${LOOP_RUNS:-10}
PORTCULLIS=${PORTCULLIS:-}
BUILD_PATH=${BUILD_PATH:-.build-bench}
RESULTS=bench/results
TARGET_SWEEP_LOOP=0.2
TARGET_SWEEP_HOST=1.5

BENCH_NAME=bench/netns.sh
# shellcheck source=bench/lib.sh
source bench/lib.sh   # the cwd is the repo root (see cd above)

if [[ $(id -u) -ne 0 ]]; then
    echo "bench/netns.sh: must run as root (network namespaces; and ss -p and portcullis" \
         "need it to see every socket's owner, portcullis to sweep the namespaces). Try: sudo $0" >&2
    exit 2
fi
for tool in hyperfine ss ip python3; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install -y hyperfine iproute2 python3)"
done
(( NAMESPACES >= 1 )) || die "NAMESPACES must be at least 1"

build_portcullis "$BENCH_NAME"

FIXTURE_PID= NETNS_FIXTURE_PID= HYPERFINE_PID=
workspace HYPERFINE_PID FIXTURE_PID NETNS_FIXTURE_PID   # then our namespaces are deleted
mkdir -p "$RESULTS"
PREFIX=pcb-$$-

# host_namespaces: "COUNT: LABEL, ..." for the network namespaces on the host
# now, found as portcullis finds them (the processes' links, nsfs mounts), so
# the summary says what a sweep had to read.
host_namespaces() {
    python3 - <<'PY'
import os
def link(pid):
    try:
        return os.readlink(f"/proc/{pid}/ns/net")
    except OSError:
        return None
# pid 1's namespace; where that is shielded, kthreadd's (as portcullis does).
host = link(1) or link(2) or link("self")
labels = {}  # "net:[INODE]" -> label
for pid in filter(str.isdigit, os.listdir("/proc")):
    ns = link(pid)
    if ns:
        labels.setdefault(ns, "host" if ns == host else f"pid {pid}")
with open("/proc/self/mountinfo") as f:
    for line in f:
        fields = line.split()
        fstype = fields[fields.index("-") + 1]
        if fstype == "nsfs" and fields[3].startswith("net:[") and labels.get(fields[3]) != "host":
            labels[fields[3]] = os.path.basename(fields[4])  # an ip netns name, or a mount point's
others = sorted(label for label in labels.values() if label != "host")
print(f"{1 + len(others)}: {', '.join(['host'] + others)}")
PY
}

# sweep_check NAME [FIXTURE_READY_FILE]: runs `portcullis list` and
# `portcullis list --netns host` once (JSON): both must succeed, the second
# list only the host's namespace, and, with the fixture up, both must list
# every one of its TCP + UDP listening sockets, in the host's namespace.
# Sets `listed`: how many sockets --netns host listed.
sweep_check() {
    local name=$1 ready=${2:-}
    "$PORTCULLIS" list --format json >"$tmp/sweep.json" 2>"$tmp/sweep.err" ||
        die "'portcullis list' failed: $(tail -n 3 "$tmp/sweep.err")"
    "$PORTCULLIS" list --netns host --format json >"$tmp/host.json" 2>"$tmp/host.err" ||
        die "'portcullis list --netns host' failed: $(tail -n 3 "$tmp/host.err")"
    python3 - "$tmp/sweep.json" "$tmp/host.json" "${ready:+1}" "$TCP" "$UDP" "$ready" <<'PY' >&2 ||
import json, sys
sweep, host = (json.load(open(p))["sockets"] for p in sys.argv[1:3])
loaded, tcp, udp, ready = sys.argv[3] == "1", int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
others = [s for s in host if s["netns"]["name"] != "host"]
if others:
    sys.exit(f"--netns host listed {len(others)} sockets of other namespaces")
def fixture(sockets):
    return sum(1 for s in sockets if s["netns"]["name"] == "host"
               and any(ready in o.get("cmdline", "") for o in s["owners"]))
print(f"==> sweep: {len(sweep)} sockets in {len({s['netns']['inode'] for s in sweep})} namespaces; "
      f"--netns host: {len(host)}")
if loaded:
    a, b = fixture(sweep), fixture(host)
    print(f"==> fixture sockets in the host's namespace: sweep {a}, --netns host {b} (expected {tcp + udp})")
    if a != tcp + udp or b != tcp + udp:
        sys.exit("a fixture socket is missing")
PY
        die "$name: the check of the sweep failed"
    listed=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["sockets"]))' "$tmp/host.json")
}

# hyperfine_sweep NAME: run 1 or 2, the sweep beside --netns host.
hyperfine_sweep() {
    local name=$1
    say "hyperfine ($name): warmup $WARMUP, runs $RUNS"
    run_hyperfine -N --warmup "$WARMUP" --runs "$RUNS" \
        --command-name "portcullis list" "$PORTCULLIS list" \
        --command-name "portcullis list --netns host" "$PORTCULLIS list --netns host" \
        --export-markdown "$RESULTS/sweep-$name.md" --export-json "$RESULTS/sweep-$name.json"
}

# --- 1. The sweep's overhead on the host as it is -----------------------------
idle_namespaces=$(host_namespaces)
say "network namespaces on the host: $idle_namespaces"
sweep_check idle
idle_listed=$listed
hyperfine_sweep idle
idle_ratio=$(mean_ratio "$RESULTS/sweep-idle.json" 0 1)

# --- 2. The same on a loaded host ----------------------------------------------
count() { ss -H "$@" | wc -l; }
base_listen=$(count -tln)
base_udp=$(count -uan)
base_est=$(count -tn state established)
say "starting fixture in the host's namespace: $TCP TCP listeners, $UDP UDP sockets, $EST established connections over $PROCS processes"
start_fixture "$tmp/ready" --tcp "$TCP" --udp "$UDP" --established "$EST" --procs "$PROCS"
got_listen=$(( $(count -tln) - base_listen ))
got_udp=$(( $(count -uan) - base_udp ))
got_est=$(( $(count -tn state established) - base_est ))
say "ss shows +$got_listen TCP listeners, +$got_udp UDP sockets, +$got_est established sockets"
(( got_listen >= TCP && got_udp >= UDP && got_est >= 2 * EST )) ||
    die "expected $TCP new listeners, $UDP UDP sockets and $((2 * EST)) established sockets"
loaded_namespaces=$(host_namespaces)
sweep_check loaded "$tmp/ready"
loaded_listed=$listed
hyperfine_sweep loaded
loaded_ratio=$(mean_ratio "$RESULTS/sweep-loaded.json" 0 1)
stop "$FIXTURE_PID"
FIXTURE_PID=

# --- 3. NAMESPACES namespaces, ten listeners each --------------------------------
say "creating $NAMESPACES network namespaces ${PREFIX}000..."
names=()
for (( i = 0; i < NAMESPACES; i++ )); do
    printf -v name '%s%03d' "$PREFIX" "$i"
    add_netns "$name"
    names+=("$name")
done
python3 bench/netns_fixture.py --ready-file "$tmp/netns-ready" "${names[@]}" &
NETNS_FIXTURE_PID=$!
wait_ready "$tmp/netns-ready" "$NETNS_FIXTURE_PID" "netns fixture" 60
one=${names[$((NAMESPACES / 2))]}

# ss must see the ten listeners in each namespace, or the loop does not do
# the work it stands for.
for name in "${names[@]}"; do
    n=$(ip netns exec "$name" ss -Htuln | wc -l)
    (( n == 10 )) || die "ss shows $n listening sockets in $name, expected 10"
done
# portcullis: every listener in the right namespace, held by the fixture's
# process of that namespace, and nothing else in those namespaces; the same
# for --netns on one of them.
"$PORTCULLIS" list --format json >"$tmp/all.json" 2>"$tmp/all.err" ||
    die "'portcullis list' failed: $(tail -n 3 "$tmp/all.err")"
"$PORTCULLIS" list --netns "$one" --format json >"$tmp/one.json" 2>"$tmp/one.err" ||
    die "'portcullis list --netns $one' failed: $(tail -n 3 "$tmp/one.err")"
python3 - "$tmp/netns-ready" "$tmp/all.json" "$tmp/one.json" "$one" "$PREFIX" "$tmp/all.err" <<'PY' >&2 ||
import json, socket, sys
sys.path.insert(0, "bench")
from netns_fixture import LISTENERS
ready, all_json, one_json, one, prefix, errors = sys.argv[1:]
pids = dict(line.split() for line in open(ready))
expected = sorted(("tcp" if kind == socket.SOCK_STREAM else "udp",
                   "ipv4" if family == socket.AF_INET else "ipv6", host, port)
                  for kind, family, host, port in LISTENERS)

def check(sockets, names):
    got = {}
    for s in sockets:
        name = s["netns"]["name"] or ""
        if name.startswith(prefix):
            got.setdefault(name, []).append(s)
    bad = []
    for name in names:
        mine = got.pop(name, [])
        keys = sorted((s["proto"], s["family"], s["local_address"], s["local_port"]) for s in mine)
        if keys != expected:
            bad.append(f"{name}: {keys}")
        owners = {o["pid"] for s in mine for o in s["owners"]}
        if owners != {int(pids[name])}:
            bad.append(f"{name}: owners {sorted(owners)}, expected {pids[name]}")
    bad += [f"unexpected namespace {name}" for name in got]
    return sum(1 for s in sockets if (s["netns"]["name"] or "").startswith(prefix)), bad

total, bad = check(json.load(open(all_json))["sockets"], list(pids))
n_one, bad_one = check(json.load(open(one_json))["sockets"], [one])
for line in open(errors):
    if prefix in line:
        bad.append("portcullis said: " + line.strip())
print(f"==> portcullis list: {total} listeners in the {len(pids)} namespaces (expected {len(pids) * len(expected)}); "
      f"--netns {one}: {n_one}")
if bad or bad_one or total != len(pids) * len(expected):
    sys.exit("\n".join((bad + bad_one)[:10]))
PY
    die "portcullis does not list the namespaces' listeners as expected"

# The admin's loop, as a script so that hyperfine times no extra shell layer.
{
    echo '#!/bin/bash'
    echo "for ns in ${names[*]}; do ip netns exec \"\$ns\" ss -tulnp; done"
} >"$tmp/ss-loop.sh"
sweep_namespaces=$(host_namespaces)
say "hyperfine ($NAMESPACES namespaces): warmup $LOOP_WARMUP, runs $LOOP_RUNS"
run_hyperfine -N --warmup "$LOOP_WARMUP" --runs "$LOOP_RUNS" \
    --command-name "portcullis list" "$PORTCULLIS list" \
    --command-name "ip netns exec NS ss -tulnp, for each of $NAMESPACES" "bash $tmp/ss-loop.sh" \
    --command-name "portcullis list --netns NS" "$PORTCULLIS list --netns $one" \
    --command-name "ip netns exec NS ss -tulnp" "ip netns exec $one ss -tulnp" \
    --export-markdown "$RESULTS/netns.md" --export-json "$RESULTS/netns.json"
# Commands in the order above: 0 sweep, 1 loop, 2 one namespace, 3 ss in it.
loop_ratio=$(mean_ratio "$RESULTS/netns.json" 0 1)
one_ratio=$(mean_ratio "$RESULTS/netns.json" 2 3)

# --- Verdict ----------------------------------------------------------------------
ok_loop=$(at_most "$loop_ratio" "$TARGET_SWEEP_LOOP")
ok_idle=$(at_most "$idle_ratio" "$TARGET_SWEEP_HOST")
ok_loaded=$(at_most "$loaded_ratio" "$TARGET_SWEEP_HOST")
{
    echo "binary:      $PORTCULLIS ($LINK), source $SOURCE"
    echo "machine:     $(uname -srm), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "tools:       $(hyperfine --version), $(ss -V), $(ip -V)"
    echo "namespaces:  run 1: $idle_namespaces"
    echo "             run 2: $loaded_namespaces"
    echo "             run 3: ${sweep_namespaces%%:*} (the host's, $NAMESPACES of ours, and others')"
    echo "host:        $idle_listed listening sockets in run 1 (portcullis list --netns host), $loaded_listed in run 2"
    echo "idle host:   sweep ${idle_ratio}x --netns host (target <= $TARGET_SWEEP_HOST): $(verdict "$ok_idle")"
    echo "loaded host: sweep ${loaded_ratio}x --netns host, with $TCP TCP listeners, $UDP UDP sockets, $EST established connections over $PROCS processes (target <= $TARGET_SWEEP_HOST): $(verdict "$ok_loaded")"
    echo "$NAMESPACES namespaces: sweep ${loop_ratio}x the ip netns exec ... ss -tulnp loop (target <= $TARGET_SWEEP_LOOP): $(verdict "$ok_loop")"
    echo "one of them: portcullis list --netns NS ${one_ratio}x ip netns exec NS ss -tulnp"
    echo "reproduce:   sudo NAMESPACES=$NAMESPACES TCP=$TCP UDP=$UDP EST=$EST PROCS=$PROCS bench/netns.sh"
} | tee "$RESULTS/netns.txt"
for table in sweep-idle sweep-loaded netns; do
    echo
    cat "$RESULTS/$table.md"
done

record_evidence netns "$(all_pass "$ok_loop" "$ok_idle" "$ok_loaded")" "$RESULTS/netns.txt" "$RESULTS/sweep-idle.md" "$RESULTS/sweep-loaded.md" "$RESULTS/netns.md"
(( ok_loop && ok_idle && ok_loaded )) || exit 1
