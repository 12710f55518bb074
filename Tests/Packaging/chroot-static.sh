#!/usr/bin/env bash
# The static binary runs with nothing around it: an empty root holding only
# the binary, /proc, /etc/passwd and /etc/services. No /lib, no dynamic
# loader, no Swift runtime, no shell.
#
# Usage (as root): Tests/Packaging/chroot-static.sh [BINARY]
#   BINARY defaults to the stripped binary of the newest dist/*.tar.gz, else
#   .build-pkg/release/portcullis. Takes a second; not part of `swift test`
#   (it needs the static release build, contrib/package.sh).
# Prints one line per check and "N passed, N failed"; exits 1 when one failed.
# VERBOSE=1 prints what each check's commands printed, failed or not.
set -uo pipefail
cd "$(dirname "$0")/../.."

if [ "$(id -u)" -ne 0 ]; then
    echo "chroot-static.sh: skipped: needs root (chroot(2) and mounting /proc)"
    echo "0 passed, 0 failed, 1 skipped"
    exit 0
fi

root=$(mktemp -d /tmp/portcullis-chroot.XXXXXX)
cleanup() { umount "$root/proc" 2>/dev/null; rm -rf "$root"; }
trap cleanup EXIT

binary=${1:-}
if [ -z "$binary" ]; then
    tarball=$(ls -t dist/portcullis-*-linux-x86_64.tar.gz 2>/dev/null | head -n 1)
    if [ -n "$tarball" ]; then
        tar -xzf "$tarball" -C "$root" --wildcards '*/portcullis' --strip-components=1
        mv "$root/portcullis" "$root/portcullis.bin"
        binary=$root/portcullis.bin
    else
        binary=.build-pkg/release/portcullis
    fi
fi
[ -x "$binary" ] || { echo "chroot-static.sh: no binary at $binary (run contrib/package.sh)" >&2; exit 1; }

mkdir -p "$root/usr/sbin" "$root/proc" "$root/etc"
install -m 0755 "$binary" "$root/usr/sbin/portcullis"
rm -f "$root/portcullis.bin"
cp /etc/passwd /etc/services "$root/etc/"
mount -t proc proc "$root/proc"

# check NAME COMMAND... (the command runs on the host)
source Tests/Packaging/lib.sh

echo "the root holds: $(cd "$root" && find . -path ./proc -prune -o -print | sort | paste -sd' ')"
check "no program interpreter (static)" sh -c "! readelf -l '$root/usr/sbin/portcullis' | grep -q INTERP"
check "--version in the empty root" sh -c "chroot '$root' /usr/sbin/portcullis --version | grep -E '^portcullis [0-9.]+ \\((git [0-9a-f]+(-dirty)?|unknown revision)\\)$'"
list() { chroot "$root" /usr/sbin/portcullis list -tuln >"$root/list.out" 2>"$root/list.err"; }
check "list exits 0 in the empty root" list
check "list prints the socket table" sh -c "head -n 1 '$root/list.out' | grep -q PROTO"
# Both counts are printed; other programs' sockets come and go between the
# two runs, so only "some" is required of the one inside.
check "list found this host's listeners (counted inside and outside the root)" sh -c "
    inside=\$(chroot '$root' /usr/sbin/portcullis list -tuln --format json | grep -o '\"local_port\"' | wc -l)
    outside=\$('$root/usr/sbin/portcullis' list -tuln --format json | grep -o '\"local_port\"' | wc -l)
    echo \"inside \$inside, outside \$outside\" >&2; [ \"\$inside\" -gt 0 ]"
# A listener of this script's own, so that an owner to name is there on any
# host (a sandbox whose only listener is its pid 1's has none to attribute).
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
print(s.getsockname()[1], flush=True); time.sleep(600)' >"$root/own-listener.port" &
own_listener=$!
trap 'kill $own_listener 2>/dev/null; cleanup' EXIT
for _ in $(seq 50); do [ -s "$root/own-listener.port" ] && break; sleep 0.1; done
check "list names owners in the empty root (a listener this script started, pid $own_listener)" sh -c "
    chroot '$root' /usr/sbin/portcullis list -tuln --format json --port \$(cat '$root/own-listener.port') \
        | tr -d ' \\n' | grep -q '\"pid\":$own_listener,'"
echo "--- list, in the root (first lines) ---"; head -n 5 "$root/list.out"; sed 's/^/stderr: /' "$root/list.err" | head -n 5
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
