#!/usr/bin/env bash
# Benchmark `portcullis scan` on a small network against `nmap -sT` (with
# its host discovery) in ONE run: a lab of network namespaces, two /24
# subnets on bridges, live hosts with listeners, the rest of each /24 dead,
# and random packet loss on every live host.
#
#   sudo bench/lan.sh
#
# Loads (each measured against nmap in the same hyperfine run):
#   one live host   10.77.1.0/24, 1 live host,  ports $PORTS
#   twenty live     10.77.2.0/24, 20 live hosts, ports $PORTS
#   discovery only  10.77.2.0/24, portcullis scan -sn vs nmap -sn
#
# Environment (all optional):
#   LOSS=5                  percent of packets each live host drops (nft numgen)
#   PORTS=1-1000,6379,8080,9000-9010
#   WARMUP=0 RUNS=3         hyperfine settings
#   PORTCULLIS=path         benchmark this binary; skip the build
#   REV=rev                 build this git revision instead of the working tree
#   BUILD_PATH=.build-bench SwiftPM scratch path for the build
#   LAB_ONLY=1              build the lab, print how to use it, and keep it
#                           until interrupted (no build, no measurement)
#
# Targets (issue 13): one live host <= 1.0x nmap, twenty live <= 0.5x,
# -sn <= 1.0x; and both tools agree on the up hosts and the open ports.
# Exits 1 if any is missed. Results: bench/results/lan.md, lan-*.json,
# lan-summary.txt (gitignored). Every packet stays inside the lab's
# namespaces, which are deleted however the script ends.
set -euo pipefail
cd "$(dirname "$0")/.."

LOSS=${LOSS:-5}
PORTS=${PORTS:-1-1000,6379,8080,9000-9010}
WARMUP=${WARMUP:-0}
RUNS=${RUNS:-3}
PORTCULLIS=${PORTCULLIS:-}
REV=${REV:-}
BUILD_PATH=${BUILD_PATH:-.build-bench}
RESULTS=bench/results

BENCH_NAME=bench/lan.sh
# shellcheck source=bench/lib.sh
source bench/lib.sh

[[ $(id -u) -eq 0 ]] || { echo "bench/lan.sh: run as root: sudo $0" >&2; exit 2; }
for tool in hyperfine nmap python3 ip nft; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install -y hyperfine nmap python3 iproute2 nftables)"
done

[[ -n ${LAB_ONLY:-} ]] || build_portcullis "$BENCH_NAME"
workspace
FIXTURE_PIDS=()
cleanup_fixtures() { local p; for p in "${FIXTURE_PIDS[@]}"; do stop "$p"; done; workspace_cleanup; }
trap cleanup_fixtures EXIT

tag=$$
BRIDGE=pclan-$tag-br
SCANNER=pclan-$tag-scan
add_netns "$BRIDGE"
add_netns "$SCANNER"
IN_SCANNER=(ip netns exec "$SCANNER")

# The ports live host I listens on: a realistic mix that differs per host.
host_ports() {
    local i=$1 ports="22,8080,$((9000 + i % 11))"
    (( i % 2 == 0 )) && ports+=",80"
    (( i % 3 == 0 )) && ports+=",443,6379"
    (( i % 5 == 0 )) && ports+=",21,23"
    echo "$ports"
}

# subnet K LIVE: bridge brK in the bridge namespace, the scanner at
# 10.77.K.1, LIVE hosts at 10.77.K.10 onwards, each in its own namespace
# with its listeners and LOSS% random drop on input.
subnet() {
    local k=$1 live=$2 i ns
    ip -n "$BRIDGE" link add "br$k" type bridge
    ip -n "$BRIDGE" link set "br$k" up
    ip link add "s$k-$tag" netns "$SCANNER" type veth peer name "bs$k" netns "$BRIDGE"
    ip -n "$BRIDGE" link set "bs$k" master "br$k" up
    ip -n "$SCANNER" addr add "10.77.$k.1/24" dev "s$k-$tag"
    ip -n "$SCANNER" link set "s$k-$tag" up
    for (( i = 0; i < live; i++ )); do
        ns=pclan-$tag-h$k-$i
        add_netns "$ns"
        ip link add eth0 netns "$ns" type veth peer name "b$k-$i" netns "$BRIDGE"
        ip -n "$BRIDGE" link set "b$k-$i" master "br$k" up
        ip -n "$ns" addr add "10.77.$k.$((10 + i))/24" dev eth0
        ip -n "$ns" link set eth0 up
        ip netns exec "$ns" nft -f - <<NFT
table ip loss {
    chain input {
        type filter hook input priority -10; policy accept;
        numgen random mod 100 < $LOSS drop
    }
}
NFT
        ip netns exec "$ns" python3 bench/lan_fixture.py --tcp "$(host_ports "$i")" --ready-file "$tmp/ready-$k-$i" &
        FIXTURE_PIDS+=($!)
        echo "10.77.$k.$((10 + i))" >> "$tmp/up-$k"
    done
    for (( i = 0; i < live; i++ )); do wait_ready "$tmp/ready-$k-$i" "${FIXTURE_PIDS[-live + i]}" "host $k-$i"; done
}

say "building the lab: 10.77.1.0/24 with 1 live host, 10.77.2.0/24 with 20, ${LOSS}% loss"
subnet 1 1
subnet 2 20

if [[ -n ${LAB_ONLY:-} ]]; then
    say "lab ready; scanner namespace: $SCANNER (ip netns exec $SCANNER ...); Ctrl-C removes it"
    sleep infinity & wait $!
fi

# The open ports each tool finds, as "ADDRESS PORT" lines.
nmap_open() { "${IN_SCANNER[@]}" nmap -sT -n -p "$PORTS" -oG - "$1" | python3 -c '
import re, sys
for line in sys.stdin:
    m = re.match(r"Host: (\S+) .*Ports: (.*)", line)
    if m:
        for p in m.group(2).split("\t")[0].split(", "):
            f = p.split("/")
            if len(f) > 1 and f[1] == "open": print(m.group(1), f[0])'; }
ours_open() { "${IN_SCANNER[@]}" "$PORTCULLIS" scan -p "$PORTS" --format json "$1" 2>/dev/null | python3 -c '
import json, sys
for h in json.load(sys.stdin)["hosts"]:
    for p in h["ports"]:
        if p["state"] == "open": print(h["address"], p["port"])'; }
nmap_up() { "${IN_SCANNER[@]}" nmap -sn -n -oG - "$1" | awk '/Status: Up/ {print $2}'; }
ours_up() { "${IN_SCANNER[@]}" "$PORTCULLIS" scan -sn --format json "$1" 2>/dev/null | python3 -c '
import json, sys
for h in json.load(sys.stdin)["hosts"]:
    if (h.get("status") or {}).get("up"): print(h["address"])'; }

# The truth: what the fixtures listen on.
truth_open() {
    local k=$1 i p
    for (( i = 0; i < $2; i++ )); do
        for p in $(host_ports "$i" | tr , ' '); do echo "10.77.$k.$((10 + i)) $p"; done
    done
}

say "checking discovery and open ports against the truth and nmap"
for k in 1 2; do
    live=$([[ $k == 1 ]] && echo 1 || echo 20)
    sort "$tmp/up-$k" > "$tmp/truth-up-$k"
    nmap_up "10.77.$k.0/24" | grep -v "^10.77.$k.1$" | sort > "$tmp/nmap-up-$k"
    ours_up "10.77.$k.0/24" | grep -v "^10.77.$k.1$" | sort > "$tmp/ours-up-$k"
    diff -u "$tmp/truth-up-$k" "$tmp/ours-up-$k" >&2 || die "10.77.$k.0/24: portcullis -sn up set differs from the truth"
    diff -u "$tmp/truth-up-$k" "$tmp/nmap-up-$k" >&2 || say "note: nmap -sn missed or added hosts on 10.77.$k.0/24 (loss)"
    truth_open "$k" "$live" | sort > "$tmp/truth-open-$k"
    ours_open "10.77.$k.0/24" | sort > "$tmp/ours-open-$k"
    nmap_open "10.77.$k.0/24" | sort > "$tmp/nmap-open-$k"
    diff -u "$tmp/truth-open-$k" "$tmp/ours-open-$k" >&2 || die "10.77.$k.0/24: portcullis open set differs from the truth"
    diff -u "$tmp/truth-open-$k" "$tmp/nmap-open-$k" >&2 || say "note: nmap's open set on 10.77.$k.0/24 differs from the truth"
    say "10.77.$k.0/24: $(wc -l < "$tmp/truth-up-$k") hosts up, $(wc -l < "$tmp/truth-open-$k") open ports: portcullis matches"
done

mkdir -p "$RESULTS"
measure() {
    local name=$1 ours=$2 theirs=$3
    say "hyperfine ($name): warmup $WARMUP, runs $RUNS"
    "${IN_SCANNER[@]}" hyperfine -N -i --warmup "$WARMUP" --runs "$RUNS" \
        --export-json "$RESULTS/lan-$name.json" --export-markdown "$RESULTS/lan-$name.md" \
        -n "portcullis $ours" "$PORTCULLIS $ours" -n "nmap $theirs" "nmap $theirs" >&2
}
measure one-live "scan -p $PORTS 10.77.1.0/24" "-sT -n -p $PORTS 10.77.1.0/24"
measure twenty-live "scan -p $PORTS 10.77.2.0/24" "-sT -n -p $PORTS 10.77.2.0/24"
measure discover "scan -sn 10.77.2.0/24" "-sn -n 10.77.2.0/24"

{
    echo "| load | portcullis | nmap | ratio | target |"
    echo "|---|---|---|---|---|"
    fail=0
    for row in "one-live 1.0" "twenty-live 0.5" "discover 1.0"; do
        set -- $row
        read -r ours theirs < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"]
print("%.2f %.2f" % (r[0]["mean"], r[1]["mean"]))' "$RESULTS/lan-$1.json")
        ratio=$(mean_ratio "$RESULTS/lan-$1.json" 0 1)
        ok=$(at_most "$ratio" "$2")
        (( ok )) || fail=1
        echo "| $1 | ${ours} s | ${theirs} s | ${ratio}x | <= $2x $(verdict "$ok") |"
    done
    echo
    echo "ports: $PORTS; loss: ${LOSS}%; CPUs: $(nproc); portcullis: $LINK, $SOURCE"
    echo "fail=$fail"
} > "$RESULTS/lan-summary.txt"
cat "$RESULTS/lan-summary.txt"
record_evidence lan "$(grep -q "fail=0" "$RESULTS/lan-summary.txt" && echo PASS || echo FAIL)" "$RESULTS/lan-summary.txt"
grep -q "fail=0" "$RESULTS/lan-summary.txt"
