# Shared by the packaging proofs (sourced, not run).

# check NAME COMMAND...: runs COMMAND; "ok NAME" or "FAIL NAME" with the
# tail of its output (all of it with VERBOSE set); counts into passed/failed.
passed=0 failed=0
check() {
    local name=$1; shift
    if output=$("$@" 2>&1); then
        passed=$((passed + 1)); echo "ok   $name"
        [ -z "${VERBOSE:-}" ] || printf '%s\n' "$output" | tail -n 25 | sed 's/^/     /'
    else
        failed=$((failed + 1)); echo "FAIL $name"; printf '%s\n' "$output" | tail -n 25 | sed 's/^/     /'
    fi
}
