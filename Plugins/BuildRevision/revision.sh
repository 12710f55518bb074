#!/bin/sh
# The git revision a build of portcullis comes from, as `portcullis --version`
# prints it after the version: "git 1a2b3c4", "git 1a2b3c4-dirty" (tracked
# files changed, or files git does not ignore added, since that commit), or
# "unknown revision".
#
#   revision.sh text  PACKAGE_DIR          print the text
#   revision.sh swift PACKAGE_DIR OUTPUT   write it as a Swift constant to OUTPUT,
#                                          only when OUTPUT would change
#
# Where it comes from, first that applies:
# 1. PACKAGE_DIR is the top of a git work tree (a clone, or a worktree): its
#    HEAD, and -dirty when `git status` lists anything. A package that is
#    merely inside some other repository (a tarball unpacked in a checkout of
#    something else) is not taken for that repository's revision.
# 2. PACKAGE_DIR/REVISION: a source tarball has no .git. `git archive` fills
#    the committed file's $Format:%h$ (export-subst in .gitattributes), and
#    the packaging script (contrib/package.sh) writes it into the tarballs it
#    makes. Its unfilled placeholder (a copy of a clone without .git) does not
#    count.
# 3. Otherwise "unknown revision": never a guess.
set -u
mode=$1
dir=$2

revision=
top=$(git -C "$dir" rev-parse --show-toplevel 2>/dev/null) || top=
if [ -n "$top" ] && [ "$(cd "$top" && pwd -P)" = "$(cd "$dir" && pwd -P)" ]; then
    revision=$(git -C "$dir" rev-parse --short HEAD 2>/dev/null) || revision=
    if [ -n "$revision" ]; then
        # --no-optional-locks: a build must not take the index lock from a
        # git command the developer is running.
        changes=$(git --no-optional-locks -C "$dir" status --porcelain 2>/dev/null) || changes=unknown
        [ -n "$changes" ] && revision="$revision-dirty"
    fi
fi
if [ -z "$revision" ] && [ -f "$dir/REVISION" ]; then
    recorded=$(head -n 1 "$dir/REVISION" | tr -d ' \t\r')
    case $recorded in
        '' | *[!0-9a-f-]*) ;;  # empty, the unfilled $Format:%h$, or anything but a hash
        *) revision=$recorded ;;
    esac
fi
if [ -n "$revision" ]; then text="git $revision"; else text="unknown revision"; fi

case $mode in
    text) printf '%s\n' "$text" ;;
    swift)
        out=$3
        mkdir -p "$(dirname "$out")"
        tmp="$out.tmp.$$"
        {
            printf '// Written by Plugins/BuildRevision/revision.sh at build time. Do not edit.\n\n'
            printf '/// The git revision this binary was built from, as `--version` prints it.\n'
            printf 'let buildRevision = "%s"\n' "$text"
        } > "$tmp"
        if cmp -s "$tmp" "$out"; then rm -f "$tmp"; else mv -f "$tmp" "$out"; fi
        ;;
    *) echo "usage: revision.sh text|swift PACKAGE_DIR [OUTPUT]" >&2; exit 2 ;;
esac
