#!/usr/bin/env bash
# Fuzz every parser of untrusted input (the targets of Fuzz/, one per parser)
# with libFuzzer under AddressSanitizer, each for SECONDS.
#
#   bench/fuzz.sh 60            # every target, 60 s each
#   bench/fuzz.sh 300 dns x509  # only these targets
#
# Builds Fuzz/ (a package of its own: the main package's `swift build` and
# `swift test` never build it) into .build-fuzz with
# -sanitize=fuzzer,address, then runs each target from its seed corpus
# (Fuzz/Corpus/TARGET, read only) plus a working corpus in
# .build-fuzz/corpus/TARGET that keeps what earlier runs found. Each run:
# -max_total_time=SECONDS -timeout=10 -rss_limit_mb=2048, leak detection on.
#
# Exits 1 on any crash, leak, timeout or out-of-memory, naming the target and
# its reproducer (.build-fuzz/artifacts/TARGET/...); replay one with
#   "$(swift build -c release --package-path Fuzz --scratch-path .build-fuzz --show-bin-path)"/fuzz-TARGET REPRODUCER
# Writes bench/results/fuzz.md (executions per second, libFuzzer's final
# cov: and ft:, the corpus size) and prints the same table.
#
# Environment: SKIP_BUILD=1 uses the binaries already built (BIN=directory:
# those); SCRATCH=path builds there instead of .build-fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_NAME=fuzz
# shellcheck source=bench/lib.sh
source bench/lib.sh

[[ $# -ge 1 && $1 =~ ^[0-9]+$ && $1 -gt 0 ]] || die "usage: bench/fuzz.sh SECONDS [TARGET...]"
seconds=$1
shift
scratch=${SCRATCH:-.build-fuzz}
[[ $scratch == .build-fuzz* ]] || die "SCRATCH must start with .build-fuzz"

all=()
for dir in Fuzz/Sources/fuzz-*/; do
    dir=${dir%/}
    all+=("${dir##*/fuzz-}")
done
targets=("${@:-${all[@]}}")
for t in "${targets[@]}"; do
    [[ -d Fuzz/Sources/fuzz-$t ]] || die "no fuzz target $t (have: ${all[*]})"
done

flags=(-c release --package-path Fuzz --scratch-path "$scratch" -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    say "building ${#targets[@]} fuzz targets into $scratch"
    if [[ $# -eq 0 ]]; then
        swift build "${flags[@]}" >&2 || die "the build of the fuzz targets failed"
    else
        # SwiftPM builds one --product per command.
        for t in "${targets[@]}"; do
            swift build "${flags[@]}" --product "fuzz-$t" >&2 || die "the build of fuzz-$t failed"
        done
    fi
fi
bin=${BIN:-$(swift build "${flags[@]}" --show-bin-path)}

mkdir -p bench/results
results=bench/results/fuzz.md
rows=()
failed=()
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
# Swift's own backtracer reads the stack from another thread, which ASan reports
# as a stack-buffer-underflow of its own: let libFuzzer report the trap.
export SWIFT_BACKTRACE=${SWIFT_BACKTRACE:-enable=no}
for t in "${targets[@]}"; do
    exe=$bin/fuzz-$t
    [[ -x $exe ]] || die "$exe is missing (build first, or unset SKIP_BUILD)"
    work=$scratch/corpus/$t
    artifacts=$scratch/artifacts/$t
    mkdir -p "$work" "$artifacts" Fuzz/Corpus/"$t"
    log=$scratch/logs/$t.log
    mkdir -p "${log%/*}"
    say "fuzz-$t for ${seconds}s"
    status=0
    "$exe" "$work" Fuzz/Corpus/"$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -detect_leaks=1 -print_final_stats=1 -artifact_prefix="$artifacts/" >"$log" 2>&1 || status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
    final=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$final")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$final")
    corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p' <<<"$final")
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    if [[ $status -ne 0 ]]; then
        kind=$(grep -oE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer): [a-zA-Z-]+' "$log" | head -1 || true)
        [[ -n $kind ]] || kind=$(grep -m1 -oE 'Fatal error: .*|deadly signal|timeout|out-of-memory' "$log" || echo "exit $status")
        repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
        failed+=("fuzz-$t: $kind; reproducer ${repro:-none}; log $log")
        rows+=("| $t | FAILED ($kind) | ${runs:-?} | ${eps:-?} | ${cov:-?} | ${ft:-?} | ${corp:-?} |")
    else
        rows+=("| $t | ${secs:-$seconds} | ${runs:-?} | ${eps:-?} | ${cov:-?} | ${ft:-?} | ${corp:-?} |")
    fi
done

{
    echo "# bench/fuzz.sh $seconds"
    echo
    echo "Commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Sources Fuzz || echo ' (with uncommitted changes)'), $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(swift --version 2>/dev/null | head -1)."
    echo
    echo "| target | seconds | executions | exec/s | cov | ft | corpus |"
    echo "|---|---:|---:|---:|---:|---:|---|"
    printf '%s\n' "${rows[@]}"
    if [[ ${#failed[@]} -gt 0 ]]; then
        echo
        printf -- '- %s\n' "${failed[@]}"
    fi
} >"$results"
cat "$results"
EVIDENCE_ARGS="$seconds${*:+ $*}" record_evidence fuzz "$( [[ ${#failed[@]} -eq 0 ]] && echo PASS || echo FAIL)" "$results"
if [[ ${#failed[@]} -gt 0 ]]; then
    printf 'fuzz: FAILED %s\n' "${failed[@]}" >&2
    exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${seconds}s each, no crash, leak or timeout" >&2
