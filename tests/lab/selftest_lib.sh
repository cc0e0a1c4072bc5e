#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/lab/selftest_lib.sh - the lab test library's own checks: that its
# assertions can fail. No lab, no namespace, no root needed; tests/run.sh
# reports it with the test library's self-tests, not as tests of tapis.
#
#   json_q          exits 1 on a false value, so `assert_ok ... json_q`
#                   cannot pass on a false condition; 0 on other values
#   no_pins         refuses to pass before pins_left saw pins; then says
#                   whether pins are there
#   router_no_xdp   refuses to pass before router_xdp saw a program, and
#                   on an interface the router namespace does not have
#   skip_missing    a skip, or under TAPIS_STRICT=1 a failed assertion
#
# Lines "ok - ..." / "not ok - ..." and last "N passed, N failed".

set -u
SELF_PASS=0
SELF_FAIL=0
check() { # DESC CMD...: CMD succeeds
	local desc=$1
	shift
	if "$@"; then
		SELF_PASS=$((SELF_PASS + 1))
		echo "ok - $desc"
	else
		SELF_FAIL=$((SELF_FAIL + 1))
		echo "not ok - $desc"
	fi
}

# The library, as a lab test sources it, with a prefix no lab uses.
LAB_PREFIX=tlself$$
. "$(dirname "$0")/lib.sh"
T_TMP=$(mktemp -d /tmp/tapis-selftest-lib.XXXXXX) || exit 1
trap 'rm -rf "$T_TMP"' EXIT
TAPIS_PIN=$T_TMP/pins
LAB_NS_R=tlself$$-no-such-ns

# In a subshell: the output of an assertion of the library and its counts.
run_assert() { # CMD... -> prints the assertion's line, then "pass fail"
	(
		T_PASS=0 T_FAIL=0
		"$@" >"$T_TMP/line" 2>&1
		cat "$T_TMP/line"
		echo "$T_PASS $T_FAIL"
	)
}

# --- json_q --------------------------------------------------------------------------
doc='{"a": 1, "b": [1, 2], "c": null, "ok": true}'
out=$(json_q "$doc" "d['a'] == 2")
rc=$?
check "json_q: a false condition prints false" test "$out" = false
check "json_q: a false condition exits 1" test "$rc" = 1
out=$(json_q "$doc" "d['a'] == 1")
rc=$?
check "json_q: a true condition prints true and exits 0" test "$out $rc" = "true 0"
out=$(json_q "$doc" "d['b']")
rc=$?
check "json_q: a list prints as JSON and exits 0" test "$out $rc" = "[1, 2] 0"
out=$(json_q "$doc" "d['c']")
rc=$?
check "json_q: null prints null and exits 0" test "$out $rc" = "null 0"
json_q "not json" "True" >/dev/null
check "json_q: a document that is not JSON exits non-zero" test $? != 0
json_q "$doc" "d['nosuch']" >/dev/null
check "json_q: an expression that fails exits non-zero" test $? != 0
res=$(run_assert assert_ok "cond" json_q "$doc" "d['a'] == 2")
check "assert_ok on a false json_q condition: not ok, counted failed" \
	grep -qx "not ok - cond (exit 1: false)" <<<"$res"
check "  ... and counted 0 passed, 1 failed" test "$(tail -n 1 <<<"$res")" = "0 1"
res=$(run_assert assert_ok "cond" json_q "$doc" "d['ok']")
check "assert_ok on a true json_q condition: ok" test "$(tail -n 1 <<<"$res")" = "1 0"

# --- no_pins -------------------------------------------------------------------------
no_pins 2>"$T_TMP/err"
rc=$?
check "no_pins before pins_left saw pins: refuses (exit 2)" test "$rc" = 2
check "  ... and says it proves nothing" grep -q "proves nothing" "$T_TMP/err"
res=$(run_assert assert_ok "gone" no_pins)
check "assert_ok no_pins before any presence check: not ok" test "$(tail -n 1 <<<"$res")" = "0 1"
mkdir -p "$TAPIS_PIN" && : >"$TAPIS_PIN/tapis_ctl"
check "pins_left sees a pin" pins_left
check "no_pins while a pin is there: fails" eval '! no_pins'
rm -f "$TAPIS_PIN/tapis_ctl"
check "no_pins once the pins are gone (seen before): passes" no_pins
rmdir "$TAPIS_PIN"
check "no_pins with the directory gone: passes" no_pins

# --- router_no_xdp -------------------------------------------------------------------
router_no_xdp r0 2>"$T_TMP/err"
rc=$?
check "router_no_xdp before router_xdp saw a program: refuses (exit 2)" test "$rc" = 2
check "  ... and says it proves nothing" grep -q "proves nothing" "$T_TMP/err"
: >"$T_TMP/.seen-xdp-r0"
router_no_xdp r0 2>"$T_TMP/err"
rc=$?
check "router_no_xdp on an interface the router does not have: refuses (exit 2)" test "$rc" = 2
check "  ... and says so" grep -q "no interface r0" "$T_TMP/err"

# --- skip_missing --------------------------------------------------------------------
res=$(TAPIS_STRICT= run_assert skip_missing "promtool missing")
check "skip_missing: a skip line" grep -qx "skip: $LAB_TEST_NAME: promtool missing" <<<"$res"
check "  ... counted neither passed nor failed" test "$(tail -n 1 <<<"$res")" = "0 0"
res=$(TAPIS_STRICT=1 run_assert skip_missing "promtool missing")
check "skip_missing under TAPIS_STRICT=1: not ok" \
	grep -q "^not ok - $LAB_TEST_NAME: promtool missing (TAPIS_STRICT=1: may not skip)" <<<"$res"
check "  ... counted failed" test "$(tail -n 1 <<<"$res")" = "0 1"
(TAPIS_STRICT=1 skip_test "no root" >/dev/null)
check "skip_test under TAPIS_STRICT=1 exits 1" test $? = 1
(TAPIS_STRICT= skip_test "no root" >/dev/null)
check "skip_test otherwise exits 0" test $? = 0

echo "$SELF_PASS passed, $SELF_FAIL failed"
[ "$SELF_FAIL" = 0 ]
