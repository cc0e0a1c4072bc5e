#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/lab/run.sh - run every tests/lab/test_*.sh, each in its own lab.
#
# Each test gets a unique LAB_PREFIX (its own namespaces, bpffs and services)
# and tears its lab down on any exit. Lines "ok - ..." and "not ok - ..." are
# counted; a test that dies without saying "not ok" counts one failure; a test
# (or this runner) that cannot run prints "skip: WHY" and counts one skip;
# under TAPIS_STRICT=1 (.ci/run) it fails instead (tests/lab/lib.sh says
# what that covers).
# Ends with "N passed, N failed" (", N skipped" appended when there are skips).
# Exit status: 0 when nothing failed.
#
# Run from the repository root as root, after `make`:  bash tests/lab/run.sh
# Optional arguments: test names or files to run only those (test_net_block).

set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
cd "$REPO" || exit 1

PASS=0
FAIL=0
SKIP=0

finish() {
	if [ "$SKIP" -gt 0 ]; then
		echo "$PASS passed, $FAIL failed, $SKIP skipped"
	else
		echo "$PASS passed, $FAIL failed"
	fi
	[ "$FAIL" = 0 ]
	exit $?
}

tests=()
if [ $# -gt 0 ]; then
	for t in "$@"; do
		t=${t%.sh}
		t=${t##*/}
		tests+=("$HERE/$t.sh")
	done
else
	for t in "$HERE"/test_*.sh; do
		[ -e "$t" ] && tests+=("$t")
	done
fi

# Whole-suite prerequisites: without them every test would skip anyway.
why=""
if [ "$(id -u)" != 0 ]; then
	why="not root"
elif [ ! -x "${TAPIS_BIN:-$REPO/build/tapis}" ]; then
	why="${TAPIS_BIN:-build/tapis} not built (run make)"
else
	for b in ip ping curl nginx dnsmasq python3 mountpoint; do
		if ! command -v "$b" >/dev/null 2>&1; then
			why="$b not installed"
			break
		fi
	done
fi
if [ -n "$why" ]; then
	# CI (TAPIS_STRICT=1) runs as root with the lab's tools installed: a
	# lab tier that cannot run there has failed.
	if [ "${TAPIS_STRICT:-}" = 1 ]; then
		echo "not ok - lab tests cannot run: $why (TAPIS_STRICT=1: may not skip)"
		FAIL=1
		finish
	fi
	echo "skip: lab tests: $why"
	SKIP=${#tests[@]}
	[ "$SKIP" -gt 0 ] || SKIP=1
	finish
fi

n=0
for t in "${tests[@]}"; do
	n=$((n + 1))
	name=$(basename "$t" .sh)
	if [ ! -f "$t" ]; then
		echo "not ok - $name (no such test)"
		FAIL=$((FAIL + 1))
		continue
	fi
	log=$(mktemp "/tmp/tapis-lab-$name.XXXXXX")
	t0=$SECONDS
	# A unique, short prefix per test: tl<runner pid><n>.
	LAB_PREFIX="tl$$n$n" LAB_DIR="/run/tl$$n$n-lab" \
		timeout --kill-after=10 600 bash "$t" 2>&1 </dev/null | tee "$log"
	rc=${PIPESTATUS[0]}
	p=$(grep -c '^ok - ' "$log")
	f=$(grep -c '^not ok - ' "$log")
	s=$(grep -c '^skip: ' "$log")
	PASS=$((PASS + p))
	FAIL=$((FAIL + f))
	SKIP=$((SKIP + s))
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
			echo "not ok - $name (timed out)"
		else
			echo "not ok - $name (exited $rc without a failed assertion)"
		fi
		FAIL=$((FAIL + 1))
	elif [ "$rc" = 0 ] && [ "$p" = 0 ] && [ "$s" = 0 ]; then
		echo "not ok - $name (ran no assertion)"
		FAIL=$((FAIL + 1))
	fi
	rm -f "$log"
	# What each test costs, for whoever keeps the suite short.
	echo "# $name: $((SECONDS - t0)) s"
	# Nothing of the test's lab may survive it.
	for ns in "tl$$n$n-c" "tl$$n$n-r" "tl$$n$n-s" "tl$$n$n-b"; do
		if [ -e "/run/netns/$ns" ]; then
			echo "not ok - $name left namespace $ns behind"
			FAIL=$((FAIL + 1))
			LAB_PREFIX="tl$$n$n" LAB_DIR="/run/tl$$n$n-lab" bash scripts/lab.sh down
			break
		fi
	done
done

finish
