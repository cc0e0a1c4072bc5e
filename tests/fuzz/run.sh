#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/fuzz/run.sh BUILD - run every libFuzzer target in BUILD/fuzz/ for
# FUZZ_SECONDS (default 15) over its seeds (tests/fuzz/corpus/NAME/) and
# what earlier runs found (BUILD/fuzz-corpus/NAME/), with an input size
# bound, a memory limit and a time limit per input. One line per target:
# runs, execs/s, coverage at the start and the end, new inputs, crashes.
# A crash, leak, UB report, time-out or out-of-memory is saved in
# BUILD/fuzz-crashes/NAME/ (make it a regression: tests/fuzz/README.md).
# tests/fuzz/NAME.dict, where there is one, is the target's dictionary.
# Exit 1 when any target found one.
set -u
cd "$(dirname "$0")/../.."
B=${1:-build-fuzz}
secs=${FUZZ_SECONDS:-15}

# Inputs larger than these find nothing new and slow every run down.
max_len() {
	case $1 in
	policy) echo 16384 ;;
	hostlist | netlist | rpz) echo 8192 ;;
	*) echo 512 ;;
	esac
}

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

found=0 total_runs=0 n=0
start=$(date +%s)
printf '%-9s %10s %9s %13s %6s %8s\n' target runs execs/s coverage new crashes
for bin in "$B"/fuzz/*; do
	[ -x "$bin" ] && [ "${bin%.d}" = "$bin" ] || continue
	t=$(basename "$bin")
	work=$B/fuzz-corpus/$t crashes=$B/fuzz-crashes/$t log=$B/fuzz-logs/$t.log
	mkdir -p "$work" "$crashes" "$(dirname "$log")"
	rm -f "$crashes"/*
	extra=()
	[ -f "tests/fuzz/$t.dict" ] && extra=(-dict="tests/fuzz/$t.dict")
	# The command line prints what a user would see: not into the log.
	[ "$t" = cli ] && extra+=(-close_fd_mask=3)
	"$bin" "${extra[@]}" -max_total_time="$secs" -max_len="$(max_len "$t")" -rss_limit_mb=2048 \
		-malloc_limit_mb=1024 -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$crashes/" "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	new=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -1)
	cov0=$(grep -oE 'INITED cov: [0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
	cov1=$(grep -oE '^#[0-9]+.*cov: [0-9]+' "$log" | tail -1 | grep -oE 'cov: [0-9]+' | grep -oE '[0-9]+')
	ncrash=$(find "$crashes" -type f | wc -l)
	if [ "$rc" -ne 0 ] && [ "$ncrash" -eq 0 ]; then
		ncrash=1 # died without an artifact: the log says why
	fi
	printf '%-9s %10s %9s %13s %6s %8s\n' "$t" "${runs:-?}" "${eps:-?}" \
		"${cov0:-?} -> ${cov1:-?}" "${new:-?}" "$ncrash"
	if [ "$ncrash" -gt 0 ]; then
		found=$((found + ncrash))
		echo "---- $t: $log"
		grep -E 'ERROR|SUMMARY|runtime error|fuzz check failed|Test unit written' "$log" | head -8
		echo "----"
	fi
	total_runs=$((total_runs + ${runs:-0}))
	n=$((n + 1))
done
echo "fuzz: $n targets, $total_runs runs in $(($(date +%s) - start)) s, $found crashes"
[ "$n" -gt 0 ] && [ "$found" -eq 0 ]
