#!/usr/bin/env bash
# The whole suite, tier by tier: unit (cmocka), packet (BPF_PROG_TEST_RUN),
# lab (namespaces, real clients, the real CLI), package (make deb installed
# with dpkg, then purged), bench smoke. Each tier's counts are added up;
# the last line is "N passed, N failed[, N skipped]".
set -u
cd "$(dirname "$0")/.."
B=${BUILD:-build}
pass=0 fail=0 skip=0
log=$(mktemp -d /tmp/tapis-test.XXXXXX)
trap 'rm -rf "$log"' EXIT

# Add the counts from a runner's output to the totals; a runner that dies
# without its summary line counts as one failure.
count() { # name file rc
	local name=$1 f=$2 rc=$3 line p=0 fl=0 s=0
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
	if [ "$rc" -ne 0 ] && [ "$fl" -eq 0 ]; then
		fl=1 # exited non-zero without saying what failed
	fi
	pass=$((pass + p)) fail=$((fail + fl)) skip=$((skip + ${s:-0}))
	printf '%-36s %4s passed %4s failed %s\n' "$name" "$p" "$fl" \
		"$([ "${s:-0}" -gt 0 ] && echo "${s} skipped")"
	if [ "$fl" -gt 0 ]; then
		echo "---- output of $name ----"
		tail -60 "$f"
		echo "----"
	fi
}

run() { # name cmd...
	local name=$1
	shift
	local f="$log/$(tr '/ ' '__' <<<"$name").out"
	"$@" >"$f" 2>&1
	count "$name" "$f" $?
}

echo "== lint"
run "clang-format" bash scripts/check_format.sh
run "layout (user/lib vs user/cli)" bash scripts/check_layout.sh

echo "== unit (cmocka)"
for t in "$B"/tests/unit/test_*; do
	[ -x "$t" ] && [ "${t%.d}" = "$t" ] || continue
	run "unit/$(basename "$t")" env TAPIS_TEST_DATA=tests/unit/data "$t"
done

echo "== packet (BPF_PROG_TEST_RUN)"
run "lib/selftest_pkt" "$B"/tests/selftest_pkt
for t in "$B"/tests/bpf/test_*; do
	[ -x "$t" ] && [ "${t%.d}" = "$t" ] || continue
	run "bpf/$(basename "$t")" "$t"
done

echo "== lab (namespaces, real clients)"
run "lab" bash tests/lab/run.sh

echo "== package (make deb, dpkg, units, man page, completion)"
run "pkg/test_deb" bash tests/pkg/test_deb.sh

echo "== bench smoke"
run "bench --smoke" bash tests/bench/run.sh --smoke

echo
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
