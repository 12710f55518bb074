#!/usr/bin/env bash
# Checks the Prometheus files beside this script with promtool:
#   promtool check rules  portcullis.rules.yml        (syntax, PromQL, templates)
#   promtool test rules   portcullis.rules.test.yml   (each alert firing and not firing)
#   promtool check config prometheus.yml              (the fleet example, its rule file and file_sd targets)
#
#   contrib/prometheus/check.sh        # from anywhere; exit 0 when all pass
#
# promtool comes with Prometheus (Debian: apt-get install prometheus).
# Exit codes: 0 all passed, 1 a check failed or promtool is missing.
set -uo pipefail
# The directory of this script, without dirname (no PATH needed for it).
here=${BASH_SOURCE[0]%/*}
[[ "$here" == "${BASH_SOURCE[0]}" ]] && here=.
cd "$here" || exit 1

promtool=${PROMTOOL:-$(command -v promtool || true)}
if [[ -z "$promtool" || ! -x "$promtool" ]]; then
    echo "check.sh: promtool not found (install Prometheus: apt-get install prometheus, or set PROMTOOL=/path/to/promtool)" >&2
    exit 1
fi

failed=0
run() {
    echo "+ promtool $*"
    if ! "$promtool" "$@"; then
        echo "check.sh: FAILED: promtool $*" >&2
        failed=1
    fi
}

"$promtool" --version 2>&1 | head -n 1
run check rules portcullis.rules.yml
run test rules portcullis.rules.test.yml
run check config prometheus.yml

if ((failed)); then
    echo "check.sh: some checks failed" >&2
    exit 1
fi
echo "check.sh: all checks passed"
