#!/bin/sh
# Regenerates the published-port fixtures with the real tools of this host:
# every <shape>.nft is loaded with `nft -f`, every <shape>.v4 with
# iptables-nft-restore (the iptables-nft backend Docker, netavark's
# iptables driver, CNI portmap and kube-proxy use), each into a network
# namespace made for the purpose (never the host's own ruleset). Then:
#   <shape>.json           `nft -j list ruleset`
#   <shape>.iptables-save  `iptables-nft-save` (iptables shapes only): the
#                          text that carries what nft's JSON leaves out of
#                          xtables targets (DNAT --to-destination, MARK).
# The namespace is deleted at the end, also on failure. Needs root, ip, nft
# and iptables-nft-restore (Debian package iptables).
#
#   sh Tests/PortcullisCoreTests/Fixtures/published/generate.sh
set -eu
cd "$(dirname "$0")"
ns="pcfx-$$"
cleanup() { ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT INT TERM
ip netns add "$ns"
ip -n "$ns" link set lo up
in_ns() { ip netns exec "$ns" "$@"; }

for source in *.nft; do
    shape="${source%.nft}"
    in_ns nft flush ruleset
    in_ns nft -f "$source"
    in_ns nft -j list ruleset > "$shape.json"
    echo "captured $shape.json"
done

if command -v iptables-nft-restore >/dev/null 2>&1; then
    for source in *.v4; do
        shape="${source%.v4}"
        in_ns nft flush ruleset
        in_ns iptables-nft-restore < "$source"
        in_ns nft -j list ruleset > "$shape.json"
        # Without counters and the header/footer comments (a date), so a
        # regeneration changes the file only when the rules change.
        in_ns iptables-nft-save | grep -v '^#' > "$shape.iptables-save"
        echo "captured $shape.json and $shape.iptables-save"
    done
else
    echo "iptables-nft-restore not installed: the iptables shapes were left as they are" >&2
fi
{ in_ns nft --version; iptables-nft --version 2>/dev/null || true; } > tool-versions.txt
