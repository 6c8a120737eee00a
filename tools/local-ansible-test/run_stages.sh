#!/usr/bin/env bash
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Run make targets ("stages") in lanes and print one line per stage as it ends; used by `make test`.
#
# Each LANE argument is a space-separated list of targets run one after another; lanes run side
# by side (much of a stage's time is spent waiting on pip, sandboxes and subprocesses, so lanes on
# two cores finish much sooner than one). Every stage runs even when an earlier one failed.
# A stage's whole output goes to LOG_DIR/<stage>.log only; the terminal gets one line per stage
# (result, wall time, CPU time, log) and, for a failed stage, the last TAIL_LINES lines of its log.
# Exits non-zero when any stage failed.
#
# Usage: tools/local-ansible-test/run_stages.sh MAKE LOG_DIR LANE...      (TAIL_LINES=40 by default)
set -uo pipefail

make_cmd=${1:?usage: $0 MAKE LOG_DIR LANE...}
log_dir=${2:?usage: $0 MAKE LOG_DIR LANE...}
shift 2
lanes=("$@")
tail_lines=${TAIL_LINES:-40}

rm -rf "$log_dir"
mkdir -p "$log_dir"
lock="$log_dir/.print.lock"
: >"$lock"
# Shown relative to where make runs, so a failed stage's log can be opened as printed.
show_dir=${log_dir#"$PWD/"}

stages=()
for lane in "${lanes[@]}"; do
    for stage in $lane; do
        stages+=("$stage")
    done
done

# seconds_of "1m2.5s" -> 62
seconds_of() {
    local m=${1%%m*} s=${1#*m}
    s=${s%s}
    echo $((10#$m * 60 + 10#${s%.*}))
}

# result_line RC WALL CPU STAGE
result_line() {
    local word=passed
    [[ $1 -eq 0 ]] || word="FAILED (exit $1)"
    printf '  %-16s %-20s %5ds  cpu %5ds  %s\n' "$word" "$4" "$2" "$3" "$show_dir/$4.log"
}

# run_stage STAGE: run one stage, record "rc wall cpu" in LOG_DIR/STAGE.result, print its line.
run_stage() {
    local stage=$1 start rc cpu
    start=$SECONDS
    # In a subshell, so that `times` counts this stage's processes only (user + system).
    cpu=$(
        "$make_cmd" --no-print-directory "$stage" >"$log_dir/$stage.log" 2>&1 </dev/null
        rc=$?
        times >"$log_dir/$stage.times"
        { read -r _; read -r user sys; } <"$log_dir/$stage.times"
        echo "$rc $(( $(seconds_of "$user") + $(seconds_of "$sys") ))"
    )
    read -r rc cpu <<<"$cpu"
    echo "$rc $((SECONDS - start)) $cpu" >"$log_dir/$stage.result"
    {
        flock 9
        result_line "$rc" "$((SECONDS - start))" "$cpu" "$stage"
        if [[ $rc -ne 0 ]]; then
            echo "  ---- last $tail_lines lines of $show_dir/$stage.log ----"
            tail -n "$tail_lines" "$log_dir/$stage.log" | cut -c1-400 | sed 's/^/  | /'
            echo "  ----"
        fi
    } 9>>"$lock"
}

start_all=$SECONDS
echo "make test: ${#stages[@]} stages in ${#lanes[@]} lane(s) side by side; one line per stage as it ends."
printf '  lane: %s\n' "${lanes[@]}"
pids=()
for lane in "${lanes[@]}"; do
    (
        for stage in $lane; do
            run_stage "$stage"
        done
    ) &
    pids+=($!)
done
# Stop the lanes' stages too when interrupted.
trap 'kill "${pids[@]}" 2>/dev/null; exit 130' INT TERM
wait "${pids[@]}"

total=$((SECONDS - start_all))
failed=()
for stage in "${stages[@]}"; do
    rc=255
    [[ -f "$log_dir/$stage.result" ]] && read -r rc _ _ <"$log_dir/$stage.result"
    [[ $rc -eq 0 ]] || failed+=("$stage")
done
# The plain tally CI reads, alone on its line.
echo "stages: $(( ${#stages[@]} - ${#failed[@]} )) passed, ${#failed[@]} failed"
duration=$(printf '%dm%02ds' $((total / 60)) $((total % 60)))
if [[ ${#failed[@]} -eq 0 ]]; then
    echo "make test: all ${#stages[@]} stages passed in ${total}s ($duration); logs in $show_dir/"
    exit 0
fi
echo "make test: ${#failed[@]} of ${#stages[@]} stages FAILED (${failed[*]}) in ${total}s ($duration); logs in $show_dir/"
exit 1
