#!/usr/bin/env bash
# Re-measure every number of the README's "Speed" section at one commit:
# build the static release binary once (bench/lib.sh), then run each
# benchmark script with it, one after another, whatever the others' verdicts.
# Each script writes its committed record, bench/evidence/NAME.md.
#
#   sudo bench/all.sh                    # every script
#   sudo bench/all.sh list overview      # only these (names without .sh)
#
# Environment: PORTCULLIS=path skips the build; REV=commit builds that
# revision (bench/lib.sh); FUZZ_SECONDS=60 is passed to bench/fuzz.sh;
# IDLE_SECONDS (bench/serve.sh's soak, default 600 there) is passed through.
# Exits 1 when any script failed or missed a target; prints one line per
# script with its verdict and wall time.
set -euo pipefail
cd "$(dirname "$0")/.."

BENCH_NAME=bench/all.sh
PORTCULLIS=${PORTCULLIS:-}
BUILD_PATH=${BUILD_PATH:-.build-bench}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
# shellcheck source=bench/lib.sh
source bench/lib.sh

[[ $(id -u) -eq 0 ]] || { echo "bench/all.sh: must run as root (the scripts make network namespaces). Try: sudo $0" >&2; exit 2; }
ALL=(list overview snapshot netns hidden hidden-churn scan lan probes watch close serve fuzz)
names=("${@:-${ALL[@]}}")
for name in "${names[@]}"; do
    [[ -f bench/$name.sh && $name != all && $name != lib ]] || die "no benchmark bench/$name.sh (have: ${ALL[*]})"
done

build_portcullis "$BENCH_NAME"
export PORTCULLIS
say "every script measures $PORTCULLIS ($LINK; $SOURCE)"

results=()
failed=0
for name in "${names[@]}"; do
    args=()
    [[ $name == fuzz ]] && args=("$FUZZ_SECONDS")
    say "bench/$name.sh ${args[*]}"
    started=$(date +%s)
    status=0
    bash "bench/$name.sh" "${args[@]}" || status=$?
    seconds=$(( $(date +%s) - started ))
    if (( status == 0 )); then
        results+=("PASS  bench/$name.sh (${seconds} s)")
    else
        results+=("FAIL  bench/$name.sh: exit $status (${seconds} s)")
        failed=1
    fi
done

echo
printf '%s\n' "${results[@]}"
echo "evidence: bench/evidence/ ($(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
(( failed == 0 ))
