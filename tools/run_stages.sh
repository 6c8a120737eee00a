#!/usr/bin/env bash
# Run make targets one after another, each even when an earlier one failed, timing each, and
# print a summary. Exits non-zero when any target failed.
#
# Usage: tools/run_stages.sh MAKE TARGET...
set -uo pipefail

make_cmd=${1:?usage: $0 MAKE TARGET...}
shift

passed=()
failed=()
report=()
start_all=$SECONDS

for target in "$@"; do
    echo
    echo "=================== $target ==================="
    start=$SECONDS
    "$make_cmd" --no-print-directory "$target"
    rc=$?
    elapsed=$((SECONDS - start))
    if [[ $rc -eq 0 ]]; then
        passed+=("$target")
        report+=("$(printf '  %-22s passed  %4ds' "$target" "$elapsed")")
    else
        failed+=("$target")
        report+=("$(printf '  %-22s FAILED  %4ds  (exit %d)' "$target" "$elapsed" "$rc")")
    fi
done

echo
echo "=================== summary ==================="
printf '%s\n' "${report[@]}"
total=$((SECONDS - start_all))
if [[ ${#failed[@]} -eq 0 ]]; then
    echo "make test: all ${#passed[@]} stages passed in ${total}s"
    exit 0
fi
echo "make test: ${#failed[@]} of $# stages FAILED (${failed[*]}) in ${total}s"
exit 1
