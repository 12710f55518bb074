#!/usr/bin/env bash
# Benchmark what the audit's safe local probes cost: `portcullis audit`
# beside `portcullis audit --no-probe`, in ONE hyperfine run, on a network
# namespace made for the purpose (deleted at the end) where real redis-server,
# memcached and snmpd listen on a non-loopback address without
# authentication (so every one of them is probed and answers).
#
#   sudo bench/probes.sh
#
# Environment (all optional):
#   WARMUP=3 RUNS=30                        hyperfine settings
#   PORTCULLIS=path                         benchmark this binary; skip the build
#   REV=commit BUILD_PATH=.build-bench      build that git revision / in that scratch path (bench/lib.sh)
#
# Target (issue 14), checked; the script exits 1 when it is missed: the
# probes add at most 50 ms to the audit's mean wall time.
# Results: bench/results/probes.md (hyperfine), probes.json, probes.txt.
set -euo pipefail
cd "$(dirname "$0")/.."          # repo root, wherever we are called from

WARMUP=${WARMUP:-3}
RUNS=${RUNS:-30}
PORTCULLIS=${PORTCULLIS:-}
BUILD_PATH=${BUILD_PATH:-.build-bench}
RESULTS=bench/results
TARGET_ADDED_MS=50
ADDRESS=192.0.2.1

BENCH_NAME=bench/probes.sh
source bench/lib.sh

[[ $(id -u) -eq 0 ]] || die "run as root (the namespace, and the probes run as root only)"
for tool in hyperfine redis-server memcached; do command -v "$tool" >/dev/null || die "$tool not found"; done
[[ -x /usr/sbin/snmpd ]] || die "snmpd not found (apt-get install -y snmpd)"

build_portcullis "$BENCH_NAME"

workspace
NS=pc-bench-probes-$$
make_netns "$NS"
# The daemons fork into the background; they are stopped by pid, then the namespace is deleted.
probes_cleanup() {
    local file
    for file in "$tmp"/*.pid; do [[ -f $file ]] && kill -9 "$(cat "$file")" 2>/dev/null || true; done
    workspace_cleanup
}
trap probes_cleanup EXIT
chmod 777 "$tmp"   # memcached writes its pid file as nobody
ip -n "$NS" link add pva type veth peer name pvb
ip -n "$NS" addr add "$ADDRESS/24" dev pva
ip -n "$NS" link set pva up
ip -n "$NS" link set pvb up
"${IN_NETNS[@]}" redis-server --bind "$ADDRESS" --port 6379 --protected-mode no --save '' --appendonly no --dir "$tmp" \
    --daemonize yes --pidfile "$tmp/redis.pid" --logfile "$tmp/redis.log"
"${IN_NETNS[@]}" memcached -l "$ADDRESS" -p 11211 -U 0 -u nobody -d -P "$tmp/memcached.pid"
printf 'agentaddress udp:%s:161\nrocommunity public\n' "$ADDRESS" > "$tmp/snmpd.conf"
"${IN_NETNS[@]}" /usr/sbin/snmpd -C -c "$tmp/snmpd.conf" -p "$tmp/snmpd.pid" -Lf "$tmp/snmpd.log" -r
for _ in $(seq 1 100); do
    listening=$("${IN_NETNS[@]}" ss -Hlntu)
    [[ $listening == *"$ADDRESS:6379"* && $listening == *"$ADDRESS:11211"* && $listening == *"$ADDRESS:161"* ]] && break
    sleep 0.1
done
[[ $listening == *"$ADDRESS:161"* ]] || die "the daemons did not start"

# Every probe answered: the audit shows three pieces of probe evidence.
"${IN_NETNS[@]}" "$PORTCULLIS" audit --no-policy --netns "$NS" --format json > "$tmp/audit.json" || true
answered=$(grep -c '"probe: ' "$tmp/audit.json" || true)
[[ $answered -ge 3 ]] || die "expected 3 probe answers in the audit, found $answered"

mkdir -p "$RESULTS"
run_hyperfine -N -i --warmup "$WARMUP" --runs "$RUNS" \
    --export-markdown "$RESULTS/probes.md" --export-json "$RESULTS/probes.json" \
    -n "portcullis audit" "$PORTCULLIS audit --no-policy --netns $NS" \
    -n "portcullis audit --no-probe" "$PORTCULLIS audit --no-policy --netns $NS --no-probe"
added=$(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"]
print("%.1f" % ((r[0]["mean"] - r[1]["mean"]) * 1000))' "$RESULTS/probes.json")
ok=$(at_most "$added" "$TARGET_ADDED_MS")
{
    echo "binary: $PORTCULLIS ($LINK; $SOURCE)"
    echo "probes answered: $answered (redis PING, memcached stats, snmpd sysDescr with public)"
    echo "added by the probes: $added ms (target <= $TARGET_ADDED_MS ms): $(verdict "$ok")"
} | tee "$RESULTS/probes.txt"
record_evidence probes "$(all_pass "$ok")" "$RESULTS/probes.txt" "$RESULTS/probes.md"
(( ok ))
