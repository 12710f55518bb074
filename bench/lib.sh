# Shared by the benchmark scripts: sourced, not run.

# build_portcullis SCRIPT_NAME
# Builds the static release binary unless PORTCULLIS names one already:
# from the working tree, or, with REV set, from that git revision exported
# with git archive (so unfinished edits in the tree are not measured), in the
# scratch path BUILD_PATH (BUILD_PATH-rev for a revision). Falls back to a
# dynamic release build, loudly, if the static link fails. Sets PORTCULLIS
# (absolute path), LINK (static/dynamic/prebuilt) and SOURCE (what was built).
build_portcullis() {
    local name=$1 pkg=. scratch=$BUILD_PATH commit
    LINK="prebuilt (PORTCULLIS=$PORTCULLIS)"
    SOURCE="unknown (prebuilt binary)"
    if [[ -z $PORTCULLIS ]]; then
        if [[ -n ${REV:-} ]]; then
            commit=$(git rev-parse --verify --quiet "$REV^{commit}") || die "no such git revision: $REV"
            scratch=$BUILD_PATH-rev
            pkg=$scratch/src
            say "exporting $REV ($commit) to $pkg"
            rm -rf "$pkg" && mkdir -p "$pkg"
            git archive "$commit" | tar -x -C "$pkg"
            [[ -f Package.resolved ]] && cp Package.resolved "$pkg/"   # same dependency pins
            SOURCE="$REV = $(git rev-parse --short "$commit")"
        else
            SOURCE="working tree at $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
            if [[ -n $(git status --porcelain -- Sources Package.swift 2>/dev/null || true) ]]; then
                SOURCE+=" + uncommitted changes in Sources/ or Package.swift"
            fi
        fi
        say "building release binary (static) from $pkg in $scratch"
        if swift build -c release --product portcullis --package-path "$pkg" --scratch-path "$scratch" -Xswiftc -static-executable; then
            LINK=static
        else
            echo "$name: WARNING: static build failed; falling back to a plain" \
                 "(dynamically linked) release build. Numbers will not match the shipped binary." >&2
            swift build -c release --product portcullis --package-path "$pkg" --scratch-path "$scratch" || die "release build failed"
            LINK="dynamic (static build failed)"
        fi
        PORTCULLIS="$(swift build -c release --package-path "$pkg" --scratch-path "$scratch" --show-bin-path)/portcullis"
    fi
    [[ -x $PORTCULLIS ]] || die "no executable at $PORTCULLIS"
    PORTCULLIS=$(readlink -f "$PORTCULLIS")
}
