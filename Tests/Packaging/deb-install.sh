#!/usr/bin/env bash
# The .deb in a minimal Debian: installed with apt, used, removed, purged.
#
# Usage (as root): Tests/Packaging/deb-install.sh [DEB]
#   DEB defaults to the newest dist/portcullis_*_amd64.deb (contrib/package.sh).
#
# A minimal Debian bookworm (debootstrap --variant=minbase, plus man-db,
# bash-completion and systemd, which an administrator's machine has) is made once and
# kept in $PORTCULLIS_DEBOOTSTRAP_CACHE (default
# /var/cache/portcullis-test/bookworm-minbase): the first run downloads it
# from the apt mirror this machine uses (a few minutes), later runs take
# seconds. Each run works on an overlay of it, so the cached tree is never
# changed and every run starts from the same clean system.
#
# Inside it: apt-get installs the .deb (no network: it has no Depends), then
# portcullis --version, list and snapshot run; man -l renders a page and man
# finds the pages by name; bash completion is loaded the way bash-completion
# loads it on Tab and completes a subcommand; the units are installed and not
# enabled, and `systemd-analyze verify` finds nothing to say about them;
# /var/lib/portcullis is root:root 0700; the example policy is a
# conffile that `policy check` accepts. Then apt-get remove (the conffile and
# the history database stay) and purge (nothing stays but the file the
# administrator made in /etc/portcullis), compared with a listing of the
# system taken before the install.
#
# Prints one line per check and "N passed, N failed"; exits 1 when one failed.
# VERBOSE=1 prints what each check's commands printed, failed or not.
# Not part of `swift test` (it needs the release build, root and a first
# download); not in .ci/run for the same reasons.
set -uo pipefail
cd "$(dirname "$0")/../.."

if [ "$(id -u)" -ne 0 ]; then
    echo "deb-install.sh: skipped: needs root (debootstrap, chroot, mounts)"
    echo "0 passed, 0 failed, 1 skipped"
    exit 0
fi
for tool in debootstrap chroot mount; do
    command -v "$tool" >/dev/null 2>&1 || { echo "deb-install.sh: $tool is missing (apt-get install debootstrap)" >&2; exit 1; }
done

deb=${1:-$(ls -t dist/portcullis_*_amd64.deb 2>/dev/null | head -n 1)}
[ -n "$deb" ] && [ -f "$deb" ] || { echo "deb-install.sh: no .deb (run contrib/package.sh, or name one)" >&2; exit 1; }
deb=$(realpath "$deb")

# The mirror apt uses here: the first URI of the Debian sources.
mirror() {
    local uri
    uri=$(grep -h -m1 '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | head -n 1)
    [ -n "$uri" ] || uri=$(grep -h -m1 '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | head -n 1)
    echo "${uri:-http://deb.debian.org/debian}"
}

cache=${PORTCULLIS_DEBOOTSTRAP_CACHE:-/var/cache/portcullis-test/bookworm-minbase}
if [ ! -x "$cache/usr/bin/apt-get" ]; then
    echo "deb-install.sh: making the minimal Debian in $cache (once) from $(mirror)"
    rm -rf "$cache.tmp"
    mkdir -p "$(dirname "$cache")"
    debootstrap --variant=minbase --include=man-db,bash-completion,systemd bookworm "$cache.tmp" "$(mirror)" >"$cache.log" 2>&1 ||
        { echo "deb-install.sh: debootstrap failed, see $cache.log" >&2; exit 1; }
    rm -rf "$cache" && mv "$cache.tmp" "$cache"
fi

if [ ! -x "$cache/usr/bin/systemd-analyze" ]; then
    # A cache made before systemd was in the list: add it once.
    echo "deb-install.sh: adding systemd to $cache (once)"
    mount -t proc proc "$cache/proc"
    chroot "$cache" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
        sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends systemd' >>"$cache.log" 2>&1
    status=$?
    umount "$cache/proc"
    [ $status -eq 0 ] || { echo "deb-install.sh: installing systemd in the cache failed, see $cache.log" >&2; exit 1; }
fi

run=$(mktemp -d /tmp/portcullis-deb.XXXXXX)
root=$run/root
mkdir -p "$run/upper" "$run/work" "$root"
mounted=()
cleanup() {
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null; done
    rm -rf "$run"
}
trap cleanup EXIT
if mount -t overlay overlay -o "lowerdir=$cache,upperdir=$run/upper,workdir=$run/work" "$root" 2>/dev/null; then
    mounted+=("$root")
else
    echo "deb-install.sh: no overlayfs here; copying the cached tree"
    cp -a "$cache/." "$root/"
fi
mount -t proc proc "$root/proc" && mounted+=("$root/proc")
mount --bind /dev "$root/dev" && mounted+=("$root/dev")
mount -t tmpfs tmpfs "$root/tmp" && mounted+=("$root/tmp")

in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 TERM=dumb "$@"; }
# check NAME COMMAND... (the command runs on the host)
source Tests/Packaging/lib.sh
# Every path of the system but the ones dpkg, apt and the run itself change.
listing() {
    (cd "$root" && find . -xdev \( -path ./proc -o -path ./dev -o -path ./tmp -o -path ./var/lib/dpkg -o -path ./var/lib/apt \
        -o -path ./var/cache -o -path ./var/log -o -path ./run -o -path ./root \) -prune -o -print | LC_ALL=C sort)
}

listing >"$run/before"
cp "$deb" "$root/tmp/portcullis.deb"
version=$(dpkg-deb -f "$deb" Version)

check "apt-get installs the .deb (no Depends, no network)" \
    in_root apt-get install -y --no-install-recommends -o Debug::NoLocking=0 /tmp/portcullis.deb
check "dpkg says installed, version $version" \
    sh -c "chroot '$root' dpkg-query -W -f='\${Status} \${Version}' portcullis | grep -qx 'install ok installed $version'"
check "portcullis --version: ${version%-*} and a revision" \
    sh -c "chroot '$root' /usr/sbin/portcullis --version | grep -E '^portcullis ${version%-*} \\((git [0-9a-f]+(-dirty)?|unknown revision)\\)$'"
check "portcullis list exits 0 and prints the table" sh -c "chroot '$root' /usr/sbin/portcullis list -tuln | head -n 1 | grep -q PROTO"
check "portcullis snapshot stores into /var/lib/portcullis" sh -c "
    id=\$(chroot '$root' /usr/sbin/portcullis snapshot --no-probe --label deb-test) && [ -n \"\$id\" ] &&
    test -s '$root/var/lib/portcullis/portcullis.db'"
check "/var/lib/portcullis is root:root 0700" sh -c "[ \"\$(stat -c '%U:%G %a' '$root/var/lib/portcullis')\" = 'root:root 700' ]"
check "man -l renders the list page" sh -c "
    chroot '$root' env -i PATH=/usr/bin:/bin LANG=C.UTF-8 man -P cat -l /usr/share/man/man8/portcullis-list.8.gz >'$run/page' &&
    grep -q 'SYNOPSIS' '$run/page' && grep -q 'portcullis list' '$run/page'"
check "man finds portcullis(8) and portcullis-snapshot(8) by name" sh -c "
    chroot '$root' env -i PATH=/usr/bin:/bin LANG=C.UTF-8 man -w portcullis | grep -q 'man8/portcullis.8' &&
    chroot '$root' env -i PATH=/usr/bin:/bin LANG=C.UTF-8 man -w portcullis-snapshot | grep -q 'man8/portcullis-snapshot.8'"
check "a man page for every subcommand" sh -c "
    for sub in overview audit list who explain hidden scan policy snapshot history baseline diff watch serve close; do
        test -f '$root'/usr/share/man/man8/portcullis-\$sub.8.gz || { echo \"no page for \$sub\"; exit 1; }
    done"
check "bash completion loads on demand and completes 'portcullis sna' to snapshot" sh -c "
    chroot '$root' env -i PATH=/usr/bin:/bin HOME=/root bash -c '
        source /usr/share/bash-completion/bash_completion
        _completion_loader portcullis  # what bash-completion does on the first Tab
        spec=\$(complete -p portcullis) || exit 1
        func=\${spec#*-F }; func=\${func%% *}
        COMP_WORDS=(portcullis sna); COMP_CWORD=1; COMP_LINE=\"portcullis sna\"; COMP_POINT=\${#COMP_LINE}
        \"\$func\" portcullis sna portcullis
        printf \"%s\\n\" \"\${COMPREPLY[@]}\"' | tee /dev/stderr | grep -qx snapshot"
check "zsh and fish completions in their vendor directories" \
    test -s "$root/usr/share/zsh/vendor-completions/_portcullis" -a -s "$root/usr/share/fish/vendor_completions.d/portcullis.fish"
check "four units installed, none enabled" sh -c "
    cd '$root/lib/systemd/system' && ls portcullis-serve.service portcullis-snapshot.service portcullis-snapshot.timer portcullis-watch.service &&
    ! find '$root/etc/systemd' -name 'portcullis*' | grep ."
check "systemd-analyze verify: the units are clean (nothing printed)" sh -c "
    cd '$root' && chroot '$root' systemd-analyze verify /lib/systemd/system/portcullis-serve.service \
        /lib/systemd/system/portcullis-snapshot.service /lib/systemd/system/portcullis-snapshot.timer \
        /lib/systemd/system/portcullis-watch.service >'$run/verify' 2>&1; rc=\$?; cat '$run/verify'; [ \$rc -eq 0 ] && [ ! -s '$run/verify' ]"
check "the example policy is a conffile and policy check accepts it" sh -c "
    chroot '$root' dpkg-query -W -f='\${Conffiles}' portcullis | grep -q '/etc/portcullis/policy.example.yaml' &&
    chroot '$root' /usr/sbin/portcullis policy check /etc/portcullis/policy.example.yaml"
check "no policy.yaml installed (the audit's default stays: no policy)" test ! -e "$root/etc/portcullis/policy.yaml"
# The administrator's own policy: it must survive remove and purge.
check "policy init writes the administrator's policy.yaml" in_root /usr/sbin/portcullis policy init -o /etc/portcullis/policy.yaml

check "apt-get remove" in_root apt-get remove -y portcullis
check "after remove: binary, man pages, completions, units gone" sh -c "
    ! test -e '$root/usr/sbin/portcullis' && ! ls '$root'/usr/share/man/man8/portcullis* 2>/dev/null &&
    ! test -e '$root/usr/share/bash-completion/completions/portcullis' && ! ls '$root'/lib/systemd/system/portcullis* 2>/dev/null"
check "after remove: the conffile and the history database stay (config-files)" sh -c "
    test -f '$root/etc/portcullis/policy.example.yaml' && test -s '$root/var/lib/portcullis/portcullis.db' &&
    chroot '$root' dpkg-query -W -f='\${Status}' portcullis | grep -qx 'deinstall ok config-files'"
check "apt-get purge" in_root apt-get purge -y portcullis
check "after purge: dpkg knows no portcullis" sh -c "! chroot '$root' dpkg-query -W portcullis 2>/dev/null"
listing >"$run/after"
check "after purge: only the administrator's /etc/portcullis/policy.yaml remains" sh -c "
    diff '$run/before' '$run/after' | tee /dev/stderr | grep '^[<>]' >'$run/changes';
    printf '> ./etc/portcullis\n> ./etc/portcullis/policy.yaml\n' | diff - '$run/changes'"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
