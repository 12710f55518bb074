#!/usr/bin/env bash
# Run the whole test suite under a sanitizer: AddressSanitizer (with its
# LeakSanitizer), ThreadSanitizer, or both one after the other.
#
#   sudo nice -n 10 bench/sanitize.sh both      # address, then thread (the default)
#   sudo nice -n 10 bench/sanitize.sh thread
#
# For each sanitizer: builds the package and its tests with --sanitize=NAME in
# a scratch path of its own (.build-asan, .build-tsan; the plain .build is
# never touched), then runs the suite there as .ci/run does (`swift test`, as
# root, so the live-kernel and namespace tests run too). Every program of the
# package is instrumented: the test runner and the portcullis (and
# portcullis-crash-writer) binaries the CLI tests start.
#
# A report fails the run. halt_on_error/exitcode make an instrumented process
# exit non-zero on one (ASan at the first error, as it must; TSan at exit,
# after every race is reported, so one run finds them all). But a report in a
# child the tests start lands on a stderr the test reads, and a test that
# expects a failure exit may pass; so every process writes its reports to a
# file of its own (log_path) in bench/results/sanitize-NAME.reports/
# (world-writable: one test runs the binary as nobody), and the script fails
# when any of them, or the log, holds "ERROR: AddressSanitizer", "ERROR:
# LeakSanitizer", "WARNING: ThreadSanitizer" or a sanitizer's SUMMARY line.
# (A file with only the table of suppressions used is no report; the
# summary adds those tables up.)
#
# Suppressions: bench/sanitize-NAME.supp when it exists (each entry says why);
# none are for the package's own code. Tests that cannot run under a
# sanitizer skip there with the reason (Sanitizer.active in
# PortcullisTestSupport); the README lists them.
#
# Results:
#   bench/results/sanitize-NAME-build.log   the build
#   bench/results/sanitize-NAME.log         the test run, with every report appended
#   bench/results/sanitize-NAME.reports/    the report files (PROGRAM.PID)
#   bench/evidence/sanitize-NAME.txt        the summary to commit: commit, date,
#                                           tests run/passed/skipped/failed,
#                                           reports, wall time
#
# Environment (all optional):
#   SKIP_BUILD=1                     run the suite already built in the scratch path
#   ASAN_SCRATCH=.build-asan         scratch paths (must start with .build-)
#   TSAN_SCRATCH=.build-tsan
#   FILTER=regex                     only the tests matching (swift test --filter);
#                                    a partial run writes no evidence file
#   ASAN_OPTIONS / TSAN_OPTIONS / LSAN_OPTIONS   added after the script's own
#                                    options (later ones win)
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_NAME=bench/sanitize.sh
# shellcheck source=bench/lib.sh
source bench/lib.sh

which=${1:-both}
case $which in
    address | thread) sanitizers=("$which") ;;
    both) sanitizers=(address thread) ;;
    *) die "usage: bench/sanitize.sh [address|thread|both]" ;;
esac
[[ $(id -u) -eq 0 ]] || echo "$BENCH_NAME: not root: the tests that need root skip, so this is not the whole suite" >&2
ASAN_SCRATCH=${ASAN_SCRATCH:-.build-asan}
TSAN_SCRATCH=${TSAN_SCRATCH:-.build-tsan}
[[ $ASAN_SCRATCH == .build-* && $TSAN_SCRATCH == .build-* ]] || die "scratch paths must start with .build-"
FILTER=${FILTER:-}
RESULTS=bench/results
EVIDENCE=bench/evidence
mkdir -p "$RESULTS" "$EVIDENCE"
root=$(pwd -P)

# The user's own options, kept to be appended after ours.
user_asan=${ASAN_OPTIONS:-}
user_tsan=${TSAN_OPTIONS:-}
user_lsan=${LSAN_OPTIONS:-}
# Swift's backtracer reads the crashed thread's stack from another thread,
# which ASan reports as a stack-buffer-underflow of its own (as in
# bench/fuzz.sh): let the sanitizer report the crash.
export SWIFT_BACKTRACE=enable=no

# seconds_since START: whole seconds from START (now) to now.
seconds_since() { python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$(now)"; }

# minutes SECONDS: "1234 s (20.6 min)".
minutes() { python3 -c "import sys; s = int(sys.argv[1]); print(f'{s} s ({s / 60:.1f} min)')" "$1"; }

# run_one NAME SCRATCH: build, run, judge and summarise one sanitizer. Sets
# FAILED_REASON when the run failed.
run_one() {
    local san=$1 scratch=$2 short supp build_log log reports build_secs=0 test_secs status=0 start
    short=${san:0:1}san
    build_log=$RESULTS/sanitize-$san-build.log
    log=$RESULTS/sanitize-$san.log
    reports=$RESULTS/sanitize-$san.reports
    supp=$root/bench/sanitize-$san.supp
    FAILED_REASON=
    # The commit measured: as it is when the build starts.
    local measured
    measured="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Sources Tests Package.swift || echo ' (with uncommitted changes)')"

    if [[ ${SKIP_BUILD:-0} != 1 ]]; then
        say "$san: building the package and its tests with --sanitize=$san in $scratch (log: $build_log)"
        start=$(now)
        swift build --build-tests --sanitize="$san" --scratch-path "$scratch" >"$build_log" 2>&1 \
            || { tail -n 30 "$build_log" >&2; die "$san: the build failed (log: $build_log)"; }
        build_secs=$(seconds_since "$start")
    fi

    rm -rf "$reports"
    mkdir -p "$reports"
    chmod 1777 "$reports"
    # halt_on_error: ASan stops at the first error (its only mode without
    # -sanitize-recover); TSan goes on and reports every race, then exits
    # with exitcode. log_path: each process's reports in a file of its own.
    local common="log_path=$root/$reports/$short:log_exe_name=1:exitcode=66"
    case $san in
        address)
            export ASAN_OPTIONS="$common:halt_on_error=1:detect_leaks=1${user_asan:+:$user_asan}"
            # LeakSanitizer takes its suppressions from LSAN_OPTIONS.
            export LSAN_OPTIONS="${user_lsan}"
            if [[ -f $root/bench/sanitize-leak.supp ]]; then
                LSAN_OPTIONS="suppressions=$root/bench/sanitize-leak.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
            fi
            if [[ -f $supp ]]; then ASAN_OPTIONS="suppressions=$supp:$ASAN_OPTIONS"; fi
            ;;
        thread)
            export TSAN_OPTIONS="$common:halt_on_error=0:second_deadlock_stack=1${user_tsan:+:$user_tsan}"
            if [[ -f $supp ]]; then TSAN_OPTIONS="suppressions=$supp:$TSAN_OPTIONS"; fi
            ;;
    esac

    local args=(--skip-build --sanitize="$san" --scratch-path "$scratch" --xunit-output "$RESULTS/sanitize-$san.xml")
    [[ -n $FILTER ]] && args+=(--filter "$FILTER")
    say "$san: swift test ${args[*]} (log: $log)"
    start=$(now)
    swift test "${args[@]}" >"$log" 2>&1 &
    TEST_PID=$!
    wait "$TEST_PID" || status=$?
    TEST_PID=
    test_secs=$(seconds_since "$start")
    LSAN_SAVED=${LSAN_OPTIONS:-}
    LSAN_SAVED=${LSAN_SAVED//$root\//}
    local options=${ASAN_OPTIONS:-${TSAN_OPTIONS:-}}
    options=${options//$root\//}
    unset ASAN_OPTIONS LSAN_OPTIONS TSAN_OPTIONS

    # Reports: the files, and any that reached the log itself (a process
    # that could not open its report file writes to stderr).
    # A file that holds only the table of suppressions used is no report.
    local files=() marker='ERROR: AddressSanitizer|ERROR: LeakSanitizer|WARNING: ThreadSanitizer|^SUMMARY: [A-Za-z]+Sanitizer'
    mapfile -t files < <(find "$reports" -type f | sort)
    local in_log in_files=0 report_files=0 f n
    in_log=$(grep -cE "$marker" "$log" || true)
    for f in "${files[@]}"; do
        n=$(grep -cE "$marker" "$f" || true)
        (( n > 0 )) && report_files=$(( report_files + 1 ))
        in_files=$(( in_files + n ))
        { echo; echo "=== report file $f ==="; cat "$f"; } >>"$log"
    done
    # What the suppressions hid, over every process: "count template" lines.
    local suppressed
    suppressed=$(cat "${files[@]}" /dev/null | awk '/^Suppressions used:/{on=1; next} /^-+$/{on=0} on && $1 ~ /^[0-9]+$/ {n[$NF]+=$1} END {for (t in n) print "  " n[t], t}' | sort -rn || true)
    local summaries
    summaries=$(cat "$log" | grep -E '^SUMMARY: (AddressSanitizer|LeakSanitizer|ThreadSanitizer)' | sort | uniq -c | sort -rn || true)

    # Counts: swift-testing's xUnit document (XCTest's has no tests here), else
    # its closing line.
    local xml tests=? failures=? skipped=?
    xml=$(ls "$RESULTS"/sanitize-"$san"-swift-testing.xml 2>/dev/null | head -1 || true)
    if [[ -n $xml ]]; then
        read -r tests failures skipped < <(python3 - "$xml" <<'EOF'
import re, sys, xml.etree.ElementTree as ET
# Failure messages can carry control bytes (escape sequences a test printed),
# which are not XML: drop them before parsing.
text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", open(sys.argv[1], encoding="utf-8", errors="replace").read())
cases = list(ET.fromstring(text).iter("testcase"))
failed = sum(1 for c in cases if c.find("failure") is not None or c.find("error") is not None)
skipped = sum(1 for c in cases if c.find("skipped") is not None)
print(len(cases), failed, skipped)
EOF
        )
    fi
    local closing
    closing=$(grep -E 'Test run with [0-9]+ tests? ' "$log" | tail -1 || true)
    local gated
    gated=$(grep -iE 'skipped: .*sanitizer' "$log" | sed -E 's/^[^A-Za-z]*//' | sort -u || true)

    local verdict=PASS
    if (( status != 0 )); then
        verdict=FAIL
        FAILED_REASON="swift test exited $status"
    fi
    if (( in_log + in_files > 0 )); then
        verdict=FAIL
        FAILED_REASON+="${FAILED_REASON:+; }sanitizer reports: $in_files in $report_files report files, $in_log in the log"
    fi

    local summary
    summary=$(
        echo "bench/sanitize.sh $san: $verdict"
        echo
        echo "commit:    $measured"
        echo "date:      $(date -u +%Y-%m-%dT%H:%MZ)"
        echo "host:      $(nproc) cores, shared with other builds and benchmarks; $(swift --version 2>/dev/null | head -1)"
        echo "command:   swift test --sanitize=$san (as $(id -un)), after swift build --build-tests --sanitize=$san"
        echo "build:     $(if [[ ${SKIP_BUILD:-0} == 1 ]]; then echo "skipped (SKIP_BUILD=1)"; else minutes "$build_secs"; fi)"
        echo "tests:     $(minutes "$test_secs") wall"
        if [[ $tests =~ ^[0-9]+$ ]]; then
            echo "counted:   $tests tests: $(( tests - failures - skipped )) passed, $skipped skipped, $failures failed (swift-testing's xUnit file)"
        else
            echo "counted:   no xUnit file (the runner did not finish)"
        fi
        echo "closing:   ${closing:-none (the runner did not finish)}"
        echo "exit:      $status"
        echo "reports:   $in_files in $report_files report files, $in_log in the log"
        echo "options:   ${options}${LSAN_SAVED:+ (LSAN_OPTIONS=$LSAN_SAVED)}"
        [[ -n $FAILED_REASON ]] && echo "failed:    $FAILED_REASON"
        if [[ -n $suppressed ]]; then
            echo
            echo "suppressed (count, template), over every process:"
            echo "$suppressed"
        fi
        if [[ -n $summaries ]]; then
            echo
            echo "report summaries (count, first line):"
            echo "$summaries"
        fi
        if [[ -n $gated ]]; then
            echo
            echo "skipped under the sanitizer:"
            echo "$gated"
        fi
        if (( status != 0 )); then
            echo
            echo "failing tests:"
            grep -E '✘ Test .* (failed|recorded)' "$log" | sed -E 's/^[^A-Za-z]*//' | sort -u | head -40 || true
        fi
    )
    echo "$summary" | tee "$RESULTS/sanitize-$san.txt" >&2
    if [[ -z $FILTER ]]; then
        cp "$RESULTS/sanitize-$san.txt" "$EVIDENCE/sanitize-$san.txt"
    else
        echo "$BENCH_NAME: FILTER set: a partial run, $EVIDENCE/sanitize-$san.txt not written" >&2
    fi
    [[ $verdict == PASS ]]
}

TEST_PID=
workspace TEST_PID
failed=()
for san in "${sanitizers[@]}"; do
    scratch=$ASAN_SCRATCH
    [[ $san == thread ]] && scratch=$TSAN_SCRATCH
    run_one "$san" "$scratch" || failed+=("$san: $FAILED_REASON")
done
if [[ ${#failed[@]} -gt 0 ]]; then
    printf '%s: FAILED %s\n' "$BENCH_NAME" "${failed[@]}" >&2
    exit 1
fi
echo "$BENCH_NAME: ${sanitizers[*]}: every test passed, no sanitizer report" >&2
