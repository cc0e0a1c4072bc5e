#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# jitprof.sh - where a running XDP program spends its time, by source line
# and by JIT instruction, without libbfd (see jitinfo.c).
#
#   bash tests/bench/jitprof/jitprof.sh [--seconds N] [--out DIR] TAG [report options]
#
# Run it while the program runs (for instance `tapis-bench --only X --rounds
# 40` in another shell). TAG is the program's tag (`bpftool prog show`):
# every loaded program with it is sampled (a bench loads one per round), so
# stop other loads of the same build meanwhile. perf samples all CPUs at
# 20 kHz on cpu-clock (this VM has no PMU); samples outside the program are
# counted and left out. Report options go to jitprof.py (--func ADDR for
# one subprogram's instructions; --src DIR for the source text).
set -eu
SEC=5
OUT=/tmp/jitprof
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) SEC=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	-h | --help) sed -n '3,15p' "$0"; exit 0 ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || { echo "jitprof.sh: a program tag is needed (--help)" >&2; exit 2; }
TAG=$1
shift
HERE=$(dirname "$0")
BIN=${JITINFO:-build/jitinfo}
[ -x "$BIN" ] || { echo "jitprof.sh: $BIN is not built (make $BIN)" >&2; exit 2; }
mkdir -p "$OUT"
rm -f "$OUT"/img.* "$OUT"/table.* "$OUT"/perf.data "$OUT"/ips
dump() {
	local id
	for id in $(bpftool prog show | awk -v t="tag $TAG" 'index($0, t) {sub(":", "", $1); print $1}'); do
		[ -f "$OUT/table.$id" ] || "$BIN" "$id" "$OUT/img.$id" >"$OUT/table.$id" 2>/dev/null ||
			rm -f "$OUT/table.$id"
	done
}
dump
perf record -q -a -F 20000 -e cpu-clock -o "$OUT/perf.data" -- sleep "$SEC" >/dev/null 2>&1 &
P=$!
# Programs loaded while perf runs are dumped too.
for _ in $(seq $((SEC * 4))); do
	sleep 0.25
	dump
done
wait $P
perf script -i "$OUT/perf.data" -F ip 2>/dev/null >"$OUT/ips"
ls "$OUT"/table.* >/dev/null 2>&1 || { echo "jitprof.sh: no program with tag $TAG was loaded" >&2; exit 1; }
python3 "$HERE/jitprof.py" "$OUT" "$@"
