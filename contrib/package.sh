#!/usr/bin/env bash
# Builds portcullis's release artifacts, all from one static release binary:
#
#   dist/portcullis-VERSION-linux-x86_64.tar.gz        the stripped binary, man pages,
#                                                      completions, units, example policy
#   dist/portcullis-VERSION-linux-x86_64.debug.tar.gz  its debug info (portcullis.debug)
#   dist/portcullis_VERSION-1_amd64.deb                the Debian package (-1: contrib/debian/changelog)
#   dist/SHA256SUMS                                    sha256sum of the three
#   dist/lintian.txt                                   what lintian says of the .deb
#   dist/sizes.txt                                     the sizes the README records
#
# Usage: contrib/package.sh [--no-build] [--out DIR]
#   --no-build   use the binary already in the scratch path (built by an earlier run)
#   --out DIR    where the artifacts go (default: dist/ at the package root)
# Environment: SCRATCH (default .build-pkg), the SwiftPM scratch path;
#   NICE (default 10), the niceness of the builds.
#
# Needs: the Swift toolchain, libsqlite3-dev and libyaml-dev (the static
# link takes their libsqlite3.a and libyaml.a), binutils (objcopy, readelf), dpkg-dev's dpkg-deb, and
# lintian (optional: skipped with a note when missing). Runs as any user:
# dpkg-deb --root-owner-group makes every file root's in the package.
set -euo pipefail
umask 022
cd "$(dirname "$0")/.."
root=$PWD

build=1
out=$root/dist
while [ $# -gt 0 ]; do
    case $1 in
        --no-build) build=0 ;;
        --out) out=$(realpath -m "$2"); shift ;;
        -h | --help) sed -n '2,22p' "$0"; exit 0 ;;
        *) echo "package.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
scratch=${SCRATCH:-.build-pkg}
nice=${NICE:-10}
say() { printf 'package.sh: %s\n' "$*" >&2; }

# The commit's time, for every timestamp the artifacts carry (tar entries,
# man page dates, gzip headers carry none with -n): two runs on one commit
# give the same tarball and package.
if git rev-parse --git-dir >/dev/null 2>&1; then
    export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
else
    export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(stat -c %Y Package.swift)}
fi

# 1. The static release binary. The revision it prints comes from
#    Plugins/BuildRevision (git, or REVISION in a source tarball).
if [ "$build" = 1 ]; then
    say "building the static release binary (swift build -c release, 15-30 min on 2 cores)"
    nice -n "$nice" swift build -c release --product portcullis --scratch-path "$scratch" -Xswiftc -static-executable
fi
bin=$scratch/release/portcullis
[ -x "$bin" ] || { say "no binary at $bin: run without --no-build"; exit 1; }
if readelf -l "$bin" | grep -q 'INTERP\|Requesting program interpreter' || readelf -d "$bin" 2>/dev/null | grep -q NEEDED; then
    say "$bin is not static (it has a program interpreter or NEEDED libraries): build with -Xswiftc -static-executable"
    exit 1
fi

# Version and revision, from the binary itself: "portcullis 0.1.0 (git 1a2b3c4)".
version_line=$("$bin" --version)
version=$(printf '%s\n' "$version_line" | sed -n 's/^portcullis \([0-9][0-9.]*\) (.*)$/\1/p')
revision=$(printf '%s\n' "$version_line" | sed -n 's/^portcullis [0-9.]* (\(.*\))$/\1/p')
[ -n "$version" ] || { say "cannot read the version from '$version_line'"; exit 1; }
# The package's version is the changelog's: upstream version, "-", Debian
# revision (0.1.0-1). Its upstream part must be the binary's.
deb_version=$(sed -n '1s/^portcullis (\([^)]*\)).*/\1/p' contrib/debian/changelog)
if [ "${deb_version%-*}" != "$version" ]; then
    say "contrib/debian/changelog is at $deb_version but the binary is $version: add a changelog entry"
    exit 1
fi
case $revision in
    *-dirty) say "warning: built from a tree with uncommitted changes ($revision)" ;;
    "unknown revision") say "warning: the binary does not know its revision (not a git checkout, no REVISION file)" ;;
esac
say "$version_line"

name=portcullis-$version-linux-x86_64
work=$out/work
rm -rf "$work"
mkdir -p "$work" "$out"

# 2. Stripped binary plus separate debug info, joined by a .gnu_debuglink
#    (gdb finds portcullis.debug beside the binary or under /usr/lib/debug).
cp "$bin" "$work/portcullis.unstripped"
objcopy --only-keep-debug "$work/portcullis.unstripped" "$work/portcullis.debug"
chmod 0644 "$work/portcullis.debug"
objcopy --strip-all --remove-section=.comment --add-gnu-debuglink="$work/portcullis.debug" \
    "$work/portcullis.unstripped" "$work/portcullis"
chmod 0755 "$work/portcullis"
bin=$work/portcullis

# 3. Man pages, one per command and subcommand (section 8: it is in
#    /usr/sbin), from swift-argument-parser's generate-manual: the tool its
#    generate-manual plugin runs, built from the same checkout the package
#    resolved and pointed at this binary (the plugin would rebuild every
#    product in another configuration first).
tools=$scratch/argument-parser-tools
nice -n "$nice" swift build --package-path "$scratch/checkouts/swift-argument-parser" --product generate-manual \
    --scratch-path "$tools" >/dev/null
mkdir -p "$work/man"
"$tools/debug/generate-manual" "$bin" --multi-page --section 8 \
    --date "$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)" \
    --authors 'portcullis maintainers<maintainers@users.noreply.r-seed-e6f85336.example>' \
    --output-directory "$work/man"
# generate-manual names the page of `portcullis baseline set`
# portcullis.baseline.set.8, with NAME `.Nm "portcullis baseline set"`, which
# man-db's whatis parser (lexgrog) cannot read. Renamed the way git's and
# systemd's pages are: portcullis-baseline-set(8), NAME portcullis-baseline-set,
# the SYNOPSIS still `portcullis baseline set`, cross references to match.
# A blank line in mdoc is not a paragraph break (groff warns): .Pp is.
for page in "$work"/man/portcullis*.8; do
    base=$(basename "$page" .8)
    dashed=$(printf '%s' "$base" | tr . -)
    perl -pi -e '
        if (/^\.Dt (\S+)/) { (my $n = $1) =~ tr/./-/; s/^\.Dt \S+/.Dt $n/ }
        s{^\.Xr (portcullis\S*)}{ (my $x = $1) =~ tr/./-/; ".Xr $x" }e;
        if (!$named && /^\.Nm "(.+)"$/) { $full = $1; ($d = $1) =~ tr/ /-/; $_ = ".Nm $d\n"; $named = 1 }
        elsif ($full && /^\.Nm$/) { $_ = ".Nm \"$full\"\n" }
        s/^\.Nd "(.*)"$/.Nd $1/;
        s/^$/.Pp/;
    ' "$page"
    [ "$base" = "$dashed" ] || mv "$page" "$work/man/$dashed.8"
done
for page in "$work"/man/*.8; do gzip -9n "$page"; done

# 4. Shell completions, from the binary.
mkdir -p "$work/completions"
# Sourced, not run: without the generator's "#!/bin/bash" line.
"$bin" --generate-completion-script bash | sed '1{/^#!/d}' >"$work/completions/portcullis.bash"
"$bin" --generate-completion-script zsh >"$work/completions/_portcullis"
"$bin" --generate-completion-script fish >"$work/completions/portcullis.fish"

# tar with fixed owners, order and times; gzip without a name or time.
tarball() { # tarball OUTPUT DIR-IN-WORK
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
        --format=gnu -C "$work" -cf - "$2" | gzip -9n >"$1"
}

# 5. The tarball: everything the .deb installs, laid out for /usr/local.
t=$work/$name
mkdir -p "$t/man/man8" "$t/completions" "$t/systemd"
install -m 0755 "$bin" "$t/portcullis"
cp -P "$work"/man/*.8.gz "$t/man/man8/"
install -m 0644 "$work"/completions/* "$t/completions/"
install -m 0644 contrib/systemd/*.service contrib/systemd/*.timer "$t/systemd/"
install -m 0644 contrib/policy.example.yaml README.md "$t/"
printf '%s\n' "$version_line" >"$t/VERSION"
cat >"$t/INSTALL" <<EOF
$version_line: a static binary for Linux x86_64; it needs no Swift runtime
and no shared library.

  install -m 0755 portcullis /usr/local/sbin/
  cp -P man/man8/* /usr/local/share/man/man8/
  install -m 0644 completions/portcullis.bash /usr/local/share/bash-completion/completions/portcullis
  install -m 0644 completions/_portcullis /usr/local/share/zsh/site-functions/_portcullis
  install -m 0644 completions/portcullis.fish /usr/local/share/fish/vendor_completions.d/portcullis.fish

The units in systemd/ run /usr/sbin/portcullis: install the binary there, or
change ExecStart= in a drop-in. Debug info: $name.debug.tar.gz
(portcullis.debug; gdb finds it beside the binary). README.md, "Install".
EOF
tarball "$out/$name.tar.gz" "$name"
mkdir -p "$work/$name.debug"
cp "$work/portcullis.debug" "$work/$name.debug/portcullis.debug"
tarball "$out/$name.debug.tar.gz" "$name.debug"

# 6. The .deb, a plain dpkg-deb tree.
d=$work/deb
install -d -m 0755 "$d/usr/sbin" "$d/usr/share/man/man8" "$d/usr/share/doc/portcullis" \
    "$d/usr/share/bash-completion/completions" "$d/usr/share/zsh/vendor-completions" \
    "$d/usr/share/fish/vendor_completions.d" "$d/lib/systemd/system" "$d/etc/portcullis" "$d/DEBIAN"
install -d -m 0700 "$d/var/lib/portcullis"
install -m 0755 "$bin" "$d/usr/sbin/portcullis"
cp -P "$work"/man/*.8.gz "$d/usr/share/man/man8/"
install -m 0644 "$work/completions/portcullis.bash" "$d/usr/share/bash-completion/completions/portcullis"
install -m 0644 "$work/completions/_portcullis" "$d/usr/share/zsh/vendor-completions/_portcullis"
install -m 0644 "$work/completions/portcullis.fish" "$d/usr/share/fish/vendor_completions.d/portcullis.fish"
install -m 0644 contrib/systemd/*.service contrib/systemd/*.timer "$d/lib/systemd/system/"
install -m 0644 contrib/policy.example.yaml "$d/etc/portcullis/policy.example.yaml"
# The units' Documentation= and the example policy point at README.md as it is.
install -m 0644 README.md "$d/usr/share/doc/portcullis/README.md"
gzip -9n <contrib/debian/changelog >"$d/usr/share/doc/portcullis/changelog.Debian.gz"
chmod 0644 "$d/usr/share/doc/portcullis/changelog.Debian.gz"

# copyright: portcullis, then every component the static binary holds.
{
    cat <<'EOF'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: portcullis
Comment: /usr/sbin/portcullis is statically linked. Besides portcullis it
 contains the Swift runtime and FoundationEssentials, the Swift packages
 listed below (every package the build resolved, at its version; a few only
 resolve, such as hummingbird, which hummingbird-auth names), the GNU C
 library, libstdc++, SQLite and libyaml; each entry gives its licence.

Files: *
Copyright: the portcullis authors
License: no licence yet
 The portcullis repository does not yet state a licence. Until it does, no
 permission beyond what the law allows is granted; this entry is to be
 replaced by the licence the authors choose.

Files: usr/sbin/portcullis (Swift runtime, Foundation, FoundationEssentials, Dispatch)
Copyright: Apple Inc. and the Swift project authors
License: Apache-2.0 with Runtime Library Exception
 See /usr/share/common-licenses/Apache-2.0 and
 https://swift.org/LICENSE.txt (the Runtime Library Exception).

Files: usr/sbin/portcullis (GNU C library, statically linked)
Copyright: Free Software Foundation, Inc.
License: LGPL-2.1+
 See /usr/share/common-licenses/LGPL-2.1. The Static-Built-Using field
 names the Debian source version linked in.

Files: usr/sbin/portcullis (libstdc++ and libgcc, statically linked)
Copyright: Free Software Foundation, Inc.
License: GPL-3+ with GCC Runtime Library Exception
 See /usr/share/common-licenses/GPL-3 and the GCC Runtime Library
 Exception, version 3.1.

Files: usr/sbin/portcullis (SQLite, statically linked from libsqlite3-dev)
Copyright: none: dedicated to the public domain by its authors
License: public-domain
 The SQLite source code is in the public domain.

Files: usr/sbin/portcullis (libyaml, statically linked from libyaml-dev)
Copyright: 2006-2020, Kirill Simonov
License: Expat
 Permission is hereby granted, free of charge, to any person obtaining
 a copy of this software and associated documentation files (the
 “Software”), to deal in the Software without restriction, including
 without limitation the rights to use, copy, modify, merge, publish,
 distribute, sublicense, and/or sell copies of the Software, and to
 permit persons to whom the Software is furnished to do so, subject to
 the following conditions:
 .
 The above copyright notice and this permission notice shall be
 included in all copies or substantial portions of the Software.
 .
 THE SOFTWARE IS PROVIDED “AS IS”, WITHOUT WARRANTY OF ANY KIND,
 EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF
 MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
 NONINFRINGEMENT.  IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS
 BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN
 ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
 CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
 SOFTWARE.
EOF
    while read -r package_name package_version; do
        dir=$scratch/checkouts/$package_name
        licence_file=$(find "$dir" -maxdepth 1 -iname 'license*' | head -n 1)
        licence="unknown (see the package's repository)"
        if [ -n "$licence_file" ]; then
            if grep -q 'Apache License' "$licence_file"; then licence=Apache-2.0
            elif grep -q 'Permission is hereby granted, free of charge' "$licence_file"; then licence=Expat
            fi
            holder=$(grep -m1 -i 'copyright (c)\|^copyright' "$licence_file" | sed 's/^ *//' || true)
        fi
        printf '\nFiles: usr/sbin/portcullis (Swift package %s %s)\n' "$package_name" "$package_version"
        printf 'Copyright: %s\n' "${holder:-the $package_name authors}"
        printf 'License: %s\n' "$licence"
        case $licence in
            Apache-2.0) printf ' See /usr/share/common-licenses/Apache-2.0.\n' ;;
            Expat) sed 's/^$/./; s/^/ /' "$licence_file" ;;
        esac
        holder=
    done < <(python3 -c '
import json, sys, os
pins = json.load(open("Package.resolved"))["pins"]
for pin in sorted(pins, key=lambda p: p["identity"]):
    location = pin["location"].rstrip("/")
    name = os.path.basename(location)
    name = name[:-4] if name.endswith(".git") else name
    print(name, pin["state"].get("version") or pin["state"].get("revision", "")[:12])
')
} >"$d/usr/share/doc/portcullis/copyright"
chmod 0644 "$d/usr/share/doc/portcullis/copyright"

install -D -m 0644 contrib/debian/lintian-overrides "$d/usr/share/lintian/overrides/portcullis"
install -m 0755 contrib/debian/postinst contrib/debian/prerm contrib/debian/postrm "$d/DEBIAN/"
printf '/etc/portcullis/policy.example.yaml\n' >"$d/DEBIAN/conffiles"
chmod 0644 "$d/DEBIAN/conffiles"
# Static-Built-Using: the Debian sources linked into the binary (glibc,
# SQLite, libyaml, GCC's libstdc++), at the versions installed for the build.
# Built-Using: the one of them whose licence asks for its source to stay
# available beside a static link (glibc, LGPL).
sources_of() { dpkg-query -W -f='${source:Package} (= ${source:Version})\n' "$@" 2>/dev/null | sort -u | paste -sd, | sed 's/,/, /g'; }
static_built_using=$(sources_of libc6-dev libsqlite3-dev libyaml-dev "libstdc++-$(gcc -dumpversion 2>/dev/null | cut -d. -f1)-dev")
built_using=$(sources_of libc6-dev)
installed_size=$(du -sk --apparent-size --exclude=DEBIAN "$d" | cut -f1)
sed -e "s/@VERSION@/$deb_version/" -e "s/@INSTALLED_SIZE@/$installed_size/" \
    -e "s/@STATIC_BUILT_USING@/$static_built_using/" -e "s/@BUILT_USING@/$built_using/" contrib/debian/control.in >"$d/DEBIAN/control"
chmod 0644 "$d/DEBIAN/control"
(cd "$d" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | LC_ALL=C sort |
    xargs md5sum >DEBIAN/md5sums)
chmod 0644 "$d/DEBIAN/md5sums"
# Every mtime the commit's, so the .deb is reproducible.
find "$d" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
deb=$out/portcullis_${deb_version}_amd64.deb
dpkg-deb --root-owner-group -Zxz --build "$d" "$deb" >/dev/null
say "built $deb"

# 7. Checks. The units' security exposure, as systemd-analyze rates it
#    offline. (`systemd-analyze verify` needs the units' world, /bin/sh,
#    sysinit.target, the binary and its man pages: Tests/Packaging/deb-install.sh
#    runs it inside a Debian where the package is installed.)
if command -v systemd-analyze >/dev/null 2>&1; then
    for unit in portcullis-serve portcullis-snapshot portcullis-watch; do
        printf '%s: %s\n' "$unit" "$(systemd-analyze security --offline=true "$d/lib/systemd/system/$unit.service" 2>/dev/null |
            sed -n 's/.*Overall exposure level for [^:]*: //p')"
    done >"$out/security.txt"
fi
if command -v lintian >/dev/null 2>&1; then
    lintian --info --display-info --pedantic "$deb" >"$out/lintian.txt" 2>&1 || true
    say "lintian: $(grep -c '^[EWIP]:' "$out/lintian.txt" || true) tags (dist/lintian.txt)"
else
    say "lintian is not installed: not run (apt-get install lintian)"
fi

(cd "$out" && sha256sum "$name.tar.gz" "$name.debug.tar.gz" "$(basename "$deb")" >SHA256SUMS)
{
    echo "$version_line"
    printf 'binary, unstripped:  %s bytes\n' "$(stat -c %s "$work/portcullis.unstripped")"
    printf 'binary, stripped:    %s bytes\n' "$(stat -c %s "$work/portcullis")"
    printf 'debug info:          %s bytes\n' "$(stat -c %s "$work/portcullis.debug")"
    printf 'tarball:             %s bytes\n' "$(stat -c %s "$out/$name.tar.gz")"
    printf 'debug tarball:       %s bytes\n' "$(stat -c %s "$out/$name.debug.tar.gz")"
    printf '.deb:                %s bytes\n' "$(stat -c %s "$deb")"
    printf 'installed size:      %s KiB\n' "$installed_size"
} >"$out/sizes.txt"
cat "$out/sizes.txt" >&2
rm -rf "$work"
say "artifacts in $out: $(cd "$out" && ls | paste -sd' ')"
