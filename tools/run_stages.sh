#!/usr/bin/env bash
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Run make targets ("stages") in lanes and print a summary; used by `make test`.
#
# Each LANE argument is a space-separated list of targets run one after another; lanes run side
# by side (most of a stage's time is spent waiting on pip, sandboxes and subprocesses, so two
# lanes on two cores finish much sooner than one). Every stage runs even when an earlier one
# failed. With one lane, output streams as it comes; with several, each stage's output is
# printed as one block when it ends, so the log reads in order. Every stage's output is also
# kept in LOG_DIR/<stage>.log. Exits non-zero when any stage failed.
#
# Usage: tools/run_stages.sh MAKE LOG_DIR LANE...
set -uo pipefail

make_cmd=${1:?usage: $0 MAKE LOG_DIR LANE...}
log_dir=${2:?usage: $0 MAKE LOG_DIR LANE...}
shift 2
lanes=("$@")

rm -rf "$log_dir"
mkdir -p "$log_dir"
lock="$log_dir/.print.lock"
: >"$lock"

stages=()
for lane in "${lanes[@]}"; do
    for stage in $lane; do
        stages+=("$stage")
    done
done

# run_stage STAGE STREAM: run one stage, record "rc seconds" in LOG_DIR/STAGE.result.
run_stage() {
    local stage=$1 stream=$2 start rc
    start=$SECONDS
    if [[ $stream == yes ]]; then
        printf '\n=================== %s ===================\n' "$stage"
        "$make_cmd" --no-print-directory "$stage" 2>&1 | tee "$log_dir/$stage.log"
        rc=${PIPESTATUS[0]}
    else
        "$make_cmd" --no-print-directory "$stage" >"$log_dir/$stage.log" 2>&1 </dev/null
        rc=$?
        {
            flock 9
            printf '\n=================== %s (%ds, exit %d) ===================\n' \
                "$stage" "$((SECONDS - start))" "$rc"
            cat "$log_dir/$stage.log"
        } 9>>"$lock"
    fi
    echo "$rc $((SECONDS - start))" >"$log_dir/$stage.result"
}

start_all=$SECONDS
if [[ ${#lanes[@]} -eq 1 ]]; then
    for stage in "${stages[@]}"; do
        run_stage "$stage" yes
    done
else
    echo "Running ${#lanes[@]} lanes side by side; each stage's output follows when it ends:"
    printf '  lane: %s\n' "${lanes[@]}"
    pids=()
    for lane in "${lanes[@]}"; do
        (
            for stage in $lane; do
                run_stage "$stage" no
            done
        ) &
        pids+=($!)
    done
    # Stop the lanes' stages too when interrupted.
    trap 'kill "${pids[@]}" 2>/dev/null; exit 130' INT TERM
    wait "${pids[@]}"
fi

echo
echo "=================== summary ==================="
failed=()
for stage in "${stages[@]}"; do
    if [[ -f "$log_dir/$stage.result" ]]; then
        read -r rc elapsed <"$log_dir/$stage.result"
    else
        rc=255 elapsed=0
    fi
    if [[ $rc -eq 0 ]]; then
        printf '  %-22s passed  %4ds\n' "$stage" "$elapsed"
    else
        printf '  %-22s FAILED  %4ds  (exit %d; log: %s)\n' "$stage" "$elapsed" "$rc" "$log_dir/$stage.log"
        failed+=("$stage")
    fi
done
total=$((SECONDS - start_all))
# The plain tally CI reads, alone on its line.
echo "stages: $(( ${#stages[@]} - ${#failed[@]} )) passed, ${#failed[@]} failed"
if [[ ${#failed[@]} -eq 0 ]]; then
    echo "make test: all ${#stages[@]} stages passed in ${total}s"
    exit 0
fi
echo "make test: ${#failed[@]} of ${#stages[@]} stages FAILED (${failed[*]}) in ${total}s"
exit 1
