#!/usr/bin/env bash
# The whole suite, tier by tier: unit (cmocka), packet (BPF_PROG_TEST_RUN),
# lab (namespaces, real clients, the real CLI), package (make deb installed
# with dpkg, then purged), bench smoke.
#
# Like is counted with like. The last line, "N passed, N failed[, N
# skipped]", counts tests of tapis only: cmocka tests, packet test functions
# (one that runs many cases says how many on its ok line), lab and package
# assertions, bench harness checks. The lint checks (files formatted, files
# within the layout) and the test libraries' own self-tests (tests/lib's
# selftest_pkt, tests/lab/selftest_lib.sh) are reported on
# their own lines just before it and add no passes to it; a failure there
# still fails the run and is added to the failed count, so that the last
# line never says "0 failed" about a failing run.
#
# TAPIS_STRICT=1 (set by .ci/run) turns the skips CI must never take into
# failures inside the tiers; .ci/run names exactly what it covers.
set -u
cd "$(dirname "$0")/.."
B=${BUILD:-build}
pass=0 fail=0 skip=0
aside_fail=0 aside_lines=()
log=$(mktemp -d /tmp/tapis-test.XXXXXX)
trap 'rm -rf "$log"' EXIT

# The counts a runner printed, into p, fl and s; a runner that dies without
# its summary line counts as one failure.
counts() { # file rc
	local f=$1 rc=$2 line
	p=0 fl=0 s=0
	line=$(grep -E '^[a-z]*:? ?[0-9]+ passed, [0-9]+ failed' "$f" | tail -1)
	if [ -n "$line" ]; then
		p=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+')
		fl=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+')
		s=$(grep -oE '[0-9]+ skipped' <<<"$line" | grep -oE '[0-9]+' || echo 0)
	elif grep -q '^\[  PASSED  \]\|^\[  FAILED  \]' "$f"; then
		p=$(grep -oE '^\[  PASSED  \] [0-9]+' "$f" | grep -oE '[0-9]+$' | tail -1)
		fl=$(grep -oE '^\[  FAILED  \] [0-9]+' "$f" | grep -oE '[0-9]+$' | tail -1)
		p=${p:-0} fl=${fl:-0}
	else
		fl=1
	fi
	s=${s:-0}
	if [ "$rc" -ne 0 ] && [ "$fl" -eq 0 ]; then
		fl=1 # exited non-zero without saying what failed
	fi
}

# One line per runner, with what its passes stand for; its output when
# something failed. Test functions that ran many cases said so on their ok
# lines ("ok 1 - test_matrix (280 cases)"): their cases are shown beside.
report() { # name file [unit]
	local unit=${3:-} cases n
	if [ -n "$unit" ]; then
		printf '%-36s %4s %s' "$1" "$p" "$unit"
		[ "$fl" -eq 0 ] || printf ', %s failed' "$fl"
	else
		printf '%-36s %4s passed %4s failed' "$1" "$p" "$fl"
	fi
	[ "$s" -eq 0 ] || printf ' %s skipped' "$s"
	cases=$(grep -oE '^ok [0-9]+ - .* \([0-9]+ cases\)$' "$2" | grep -oE '[0-9]+ cases\)$' |
		grep -oE '^[0-9]+')
	if [ -n "$cases" ]; then
		n=$(wc -l <<<"$cases")
		printf ' (%s of them ran %s cases)' "$n" "$(awk '{ s += $1 } END { print s }' <<<"$cases")"
	fi
	echo
	if [ "$fl" -gt 0 ]; then
		echo "---- output of $1 ----"
		tail -60 "$2"
		echo "----"
	fi
}

outfile() { echo "$log/$(tr '/ ' '__' <<<"$1").out"; }

# count NAME FILE RC: a runner's output of tapis tests into the summary.
count() { # name file rc
	counts "$2" "$3"
	pass=$((pass + p)) fail=$((fail + fl)) skip=$((skip + s))
	report "$1" "$2"
}

# run NAME CMD...: a runner of tapis tests; its counts go into the summary.
run() { # name cmd...
	local name=$1 f
	shift
	f=$(outfile "$name")
	"$@" >"$f" 2>&1
	count "$name" "$f" $?
}

# run_aside LABEL UNIT NAME CMD...: a check that is not a test of tapis (lint,
# the test library's self-tests). Reported as "LABEL: N UNIT" before the
# summary; only its failures reach the summary.
run_aside() { # label unit name cmd...
	local label=$1 unit=$2 name=$3 f line
	shift 3
	f=$(outfile "$name")
	"$@" >"$f" 2>&1
	counts "$f" $?
	report "$name" "$f" "$unit"
	line="$label: $p $unit"
	[ "$fl" -eq 0 ] || line="$line, $fl failed"
	[ "$s" -eq 0 ] || line="$line, $s skipped"
	aside_lines+=("$line")
	aside_fail=$((aside_fail + fl))
}

echo "== lint"
run_aside "lint" "files formatted" "clang-format" bash scripts/check_format.sh
run_aside "lint" "files within the user/lib vs user/cli layout" "layout (user/lib vs user/cli)" \
	bash scripts/check_layout.sh

echo "== unit (cmocka)"
for t in "$B"/tests/unit/test_*; do
	[ -x "$t" ] && [ "${t%.d}" = "$t" ] || continue
	run "unit/$(basename "$t")" env TAPIS_TEST_DATA=tests/unit/data "$t"
done

echo "== packet (BPF_PROG_TEST_RUN)"
run_aside "packet test library self-tests" "passed" "lib/selftest_pkt" "$B"/tests/selftest_pkt
for t in "$B"/tests/bpf/test_*; do
	[ -x "$t" ] && [ "${t%.d}" = "$t" ] || continue
	run "bpf/$(basename "$t")" "$t"
done

echo "== lab (namespaces, real clients)"
run_aside "lab test library self-tests" "passed" "lab/selftest_lib" bash tests/lab/selftest_lib.sh
run "lab" bash tests/lab/run.sh

echo "== package (make deb, dpkg, units, man page, completion)"
run "pkg/test_deb" bash tests/pkg/test_deb.sh

echo "== bench smoke"
run "bench --smoke" bash tests/bench/run.sh --smoke

echo
for line in "${aside_lines[@]}"; do
	echo "$line"
done
fail=$((fail + aside_fail))
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
