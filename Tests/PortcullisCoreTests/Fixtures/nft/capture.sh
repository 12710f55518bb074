#!/bin/sh
# Regenerates every <shape>.json from <shape>.nft with the nft of this host
# (and iptables-nft.json from iptables-nft.v4/.v6 with iptables-nft):
# each ruleset is loaded into a network namespace created for the purpose
# (never into the host's own ruleset), listed with `nft -j list ruleset`,
# and the namespace is deleted. Needs root, nft and ip (iptables-nft for
# the iptables-nft fixture; Debian package iptables).
#
#   sh Tests/PortcullisCoreTests/Fixtures/nft/capture.sh
set -eu
cd "$(dirname "$0")"
ns="pc-fw-capture-$$"
cleanup() { ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT INT TERM
ip netns add "$ns"
ip -n "$ns" link set lo up
# ingress.nft binds a netdev chain to this device (a veth end: the dummy
# driver is not available everywhere).
ip -n "$ns" link add dummy0 type veth peer name dummy1
for source in *.nft; do
    shape="${source%.nft}"
    ip netns exec "$ns" nft flush ruleset
    ip netns exec "$ns" nft -f "$source"
    ip netns exec "$ns" nft -j list ruleset > "$shape.json"
    echo "captured $shape.json"
done
# iptables-nft rules (xt expressions in nft's JSON) need iptables-nft.
if command -v iptables-nft-restore >/dev/null 2>&1; then
    ip netns exec "$ns" nft flush ruleset
    ip netns exec "$ns" iptables-nft-restore < iptables-nft.v4
    ip netns exec "$ns" ip6tables-nft-restore < iptables-nft.v6
    ip netns exec "$ns" nft -j list ruleset > iptables-nft.json
    echo "captured iptables-nft.json"
else
    echo "iptables-nft-restore not installed: iptables-nft.json left as it is" >&2
fi
{ ip netns exec "$ns" nft --version; iptables-nft --version 2>/dev/null || true; } > nft-version.txt
