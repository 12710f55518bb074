# Shared by the benchmark scripts: sourced, not run, from the repo root after
# setting BENCH_NAME (the script's name, for messages).

die() { echo "${BENCH_NAME:-bench}: $*" >&2; exit 1; }
say() { echo "==> $*" >&2; }

# stop PID: TERM a child of ours if it still runs, and reap it. An empty PID
# (never started) is fine.
stop() {
    if [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; then
        kill -TERM "$1" 2>/dev/null || true
        wait "$1" 2>/dev/null || true
    fi
}

# workspace PIDVAR...: makes the temporary directory $tmp and sets traps so
# that however the script ends, the children whose pids those variables hold
# then (empty: none) are stopped, in that order, and $tmp is removed (and the
# network namespaces of make_netns and add_netns deleted).
workspace() {
    tmp=$(mktemp -d)
    WORKSPACE_PIDS=("$@")
    trap workspace_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}
workspace_cleanup() {
    local var ns
    for var in "${WORKSPACE_PIDS[@]}"; do stop "${!var:-}"; done
    rm -rf "$tmp"
    for ns in "${WORKSPACE_NETNS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
}

# The network namespaces this script made (add_netns), and only those: the
# workspace cleanup deletes them.
WORKSPACE_NETNS=()

# add_netns NAME: a new network namespace with loopback up, deleted by the
# workspace cleanup. Dies if NAME exists already (someone else's: never
# touched). The name is recorded before the namespace is made, so a signal
# between the two cannot leave it behind, and forgotten again if ip netns add
# fails (made by someone else meanwhile).
add_netns() {
    local name=$1
    [[ ! -e /run/netns/$name ]] || die "network namespace $name exists already"
    WORKSPACE_NETNS+=("$name")
    if ! ip netns add "$name"; then
        unset 'WORKSPACE_NETNS[-1]'
        die "cannot create network namespace $name"
    fi
    ip -n "$name" link set lo up || die "cannot bring up loopback in $name"
}

# Commands that run in the benchmark's network namespace start with
# "${IN_NETNS[@]}": empty (the host's) unless make_netns made one.
IN_NETNS=()

# make_netns NAME [RULESET]: a network namespace of our own (loopback up,
# the nftables RULESET loaded into it when given), deleted by the workspace
# cleanup; sets IN_NETNS. Its sockets are only the fixture's, its firewall
# only RULESET, and its sysctls (port range) ours to change; processes and
# /proc are the host's, so the owner walk does the same work.
make_netns() {
    local name=$1 ruleset=${2:-}
    command -v ip >/dev/null || die "ip not found (apt-get install -y iproute2)"
    add_netns "$name"
    if [[ -n $ruleset ]]; then
        command -v nft >/dev/null || die "nft not found (apt-get install -y nftables)"
        ip netns exec "$name" nft -f "$ruleset" || die "cannot load $ruleset"
    fi
    IN_NETNS=(ip netns exec "$name")
}

# wait_ready FILE PID WHAT [SECONDS]: waits until FILE exists (the fixtures
# write their ready file atomically once every socket is open); dies if the
# child PID exits first or SECONDS (default 180) pass.
wait_ready() {
    local file=$1 pid=$2 what=$3 seconds=${4:-180} i
    for (( i = 0; i < seconds * 10; i++ )); do
        [[ -f $file ]] && return 0
        kill -0 "$pid" 2>/dev/null || die "$what exited before becoming ready"
        sleep 0.1
    done
    die "$what not ready after $seconds s"
}

# start_fixture READY_FILE FIXTURE_ARGS...: bench/fixture.py in the
# background with those arguments, waited for; sets FIXTURE_PID.
start_fixture() {
    local ready=$1
    shift
    # ip netns exec execs the command, so the pid is the fixture's own.
    "${IN_NETNS[@]}" python3 bench/fixture.py "$@" --ready-file "$ready" &
    FIXTURE_PID=$!
    wait_ready "$ready" "$FIXTURE_PID" "fixture"
}

# count_sockets: "LISTEN UDP ESTABLISHED" socket counts as ss shows them
# (in the benchmark's network namespace).
count_sockets() {
    local listen udp est
    listen=$("${IN_NETNS[@]}" ss -Htln | wc -l)
    udp=$("${IN_NETNS[@]}" ss -Huan | wc -l)
    est=$("${IN_NETNS[@]}" ss -Htn state established | wc -l)
    echo "$listen $udp $est"
}

# run_hyperfine ARGS...: hyperfine ARGS (in the benchmark's network
# namespace), in the background: bash defers traps until a foreground child
# ends, so this way a SIGTERM to the script stops the benchmark and the
# fixture at once instead of after the last run.
run_hyperfine() {
    "${IN_NETNS[@]}" hyperfine "$@" &
    HYPERFINE_PID=$!
    wait "$HYPERFINE_PID"   # its exit status; under set -e a failed run stops us
    HYPERFINE_PID=
}

# mean_ratio JSON I J: from hyperfine's JSON export, the mean time of
# command I over that of command J (0-based, in the order given to
# hyperfine), with two decimals.
mean_ratio() {
    python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"]
print("%.2f" % (r[int(sys.argv[2])]["mean"] / r[int(sys.argv[3])]["mean"]))' "$@"
}

# at_most X LIMIT: 1 when X <= LIMIT (decimals), else 0.
at_most() { python3 -c "import sys; print(int(float(sys.argv[1]) <= float(sys.argv[2])))" "$1" "$2"; }

# verdict FLAG: PASS for 1, FAIL for 0.
verdict() { (( $1 )) && echo PASS || echo FAIL; }

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
    # A prebuilt binary says what it was built from in its --version line.
    SOURCE="prebuilt: $("$PORTCULLIS" --version 2>/dev/null | head -n 1 || echo 'no --version')"
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

now() { date +%s.%N; }

# mb KIB: KiB as MiB with one decimal.
mb() { python3 -c "import sys; print(f'{int(sys.argv[1]) / 1024:.1f}')" "$1"; }

# peak_rss CMD...: the largest maximum resident set size (KiB, GNU time's
# %M) over $RSS_RUNS runs of CMD, so one lucky run does not hide the peak. A
# non-zero exit is fine (the timed runs judge that); a run that cannot be
# measured is not.
peak_rss() {
    local max=0 kb
    for _ in $(seq 1 "$RSS_RUNS"); do
        /usr/bin/time -f %M -o "$tmp/rss" "$@" >/dev/null 2>"$tmp/stderr" || true
        kb=$(tail -n 1 "$tmp/rss")
        [[ $kb =~ ^[0-9]+$ ]] || die "'$*' could not be measured: $(tail -n 3 "$tmp/stderr")"
        (( kb > max )) && max=$kb
    done
    echo "$max"
}

# record_evidence NAME VERDICT FILE...: writes bench/evidence/NAME.md, the
# committed record of this run (bench/results/ is scratch and gitignored):
# when, on what machine and load, which binary built from which commit,
# how to reproduce it, the verdict (PASS/FAIL against the script's targets),
# and the given result files verbatim (Markdown tables as tables, anything
# else in a code block). Written whether the targets were met or not: a
# miss is evidence too. Commit the file with the README numbers it backs.
record_evidence() {
    local name=$1 verdict=$2 file
    shift 2
    mkdir -p bench/evidence
    {
        echo "# bench/$name.sh: $verdict"
        echo
        echo "- when: $(date -u '+%Y-%m-%d %H:%M UTC')"
        echo "- binary: ${PORTCULLIS:-?} (${LINK:-?}); source ${SOURCE:-?}"
        echo "- checkout: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$([[ -n $(git status --porcelain -- Sources Package.swift bench 2>/dev/null) ]] && echo ' (with uncommitted changes)')"
        echo "- machine: $(uname -srm), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'))"
        echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
        echo "- reproduce: sudo ${EVIDENCE_ENV:+$EVIDENCE_ENV }bench/$name.sh${EVIDENCE_ARGS:+ $EVIDENCE_ARGS}"
        for file in "$@"; do
            [[ -f $file ]] || continue
            echo
            echo "## $(basename "$file")"
            echo
            if [[ $file == *.md ]]; then
                cat "$file"
            else
                echo '```'
                cat "$file"
                echo '```'
            fi
        done
    } >"bench/evidence/$name.md"
    say "evidence: bench/evidence/$name.md ($verdict)"
}

# all_pass FLAG...: PASS when every FLAG is 1, else FAIL.
all_pass() {
    local flag
    for flag; do (( flag )) || { echo FAIL; return; }; done
    echo PASS
}
