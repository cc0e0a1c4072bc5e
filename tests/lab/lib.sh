# SPDX-License-Identifier: GPL-2.0
#
# tests/lab/lib.sh - helpers for the lab tests (tests/lab/test_*.sh).
#
# A lab test is a bash script that sources this file, calls lab_test_begin
# (which brings up its own lab with a unique LAB_PREFIX and arranges teardown
# on any exit), asserts, and ends with lab_test_end. Each assertion prints one
# TAP-like line, "ok - DESCRIPTION" or "not ok - DESCRIPTION (details)";
# tests/lab/run.sh counts those lines. A test that cannot run prints
# "skip: WHY" and exits 0 (under TAPIS_STRICT=1: "not ok", exit 1; see
# skip_missing).
#
#   assert_ok   "desc" CMD...        CMD exits 0
#   assert_fail "desc" CMD...        CMD exits non-zero
#   assert_exit "desc" CODE CMD...   CMD exits with CODE
#   assert_eq   "desc" EXPECTED ACTUAL
#   assert_match "desc" REGEX TEXT   TEXT matches the extended REGEX
#   ping_count NS ADDR COUNT [ping options]   -> number of replies
#   lab_router_ifaces N              veth pairs x1..xN in the router: IFACES, IFARGS
#   dns_answered NAME                succeeds when the lab's DNS server answers a
#                                    query for NAME from c (any rcode)
#   json_q JSON PYTHON-EXPR          evaluates EXPR with the document as d
#   rule_stat NAME FIELD             a rule's field from `tapis stats --json`
#
# The output of the last command run by assert_* is in $OUT (stdout and
# stderr together) and its exit code in $RC.

LAB_TEST_NAME=$(basename "$0" .sh)
LAB_TEST_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# A prefix per test and per run, so a failed test cannot poison the next.
LAB_PREFIX=${LAB_PREFIX:-tl-${LAB_TEST_NAME#test_}-$$}
LAB_PREFIX=${LAB_PREFIX:0:40}
LAB_QUIET=${LAB_QUIET:-1}
. "$LAB_TEST_REPO/scripts/lab.sh"

T_PASS=0
T_FAIL=0
T_TMP=""
OUT=""
RC=0

_t_ok() {
	T_PASS=$((T_PASS + 1))
	echo "ok - $1"
}
_t_notok() {
	T_FAIL=$((T_FAIL + 1))
	echo "not ok - $1 ($2)"
}

# Run CMD, capturing output in OUT and exit code in RC.
t_run() {
	OUT=$("$@" 2>&1)
	RC=$?
}

_t_short() { # the first lines of $OUT, on one line, for a failure message
	printf '%s' "$OUT" | head -n 4 | tr '\n' '|' | cut -c1-300
}

assert_ok() {
	local desc=$1
	shift
	t_run "$@"
	if [ "$RC" = 0 ]; then _t_ok "$desc"
	else _t_notok "$desc" "exit $RC: $(_t_short)"; fi
	[ "$RC" = 0 ]
}

assert_fail() {
	local desc=$1
	shift
	t_run "$@"
	if [ "$RC" != 0 ]; then _t_ok "$desc"
	else _t_notok "$desc" "exit 0, expected failure: $(_t_short)"; fi
	[ "$RC" != 0 ]
}

assert_exit() {
	local desc=$1 want=$2
	shift 2
	t_run "$@"
	if [ "$RC" = "$want" ]; then _t_ok "$desc"
	else _t_notok "$desc" "exit $RC, expected $want: $(_t_short)"; fi
	[ "$RC" = "$want" ]
}

assert_eq() {
	if [ "$2" = "$3" ]; then _t_ok "$1"
	else _t_notok "$1" "expected '$2', got '$3'"; fi
	[ "$2" = "$3" ]
}

assert_match() {
	if grep -qE -- "$2" <<<"$3"; then _t_ok "$1"
	else _t_notok "$1" "no match for /$2/ in: $(printf '%s' "$3" | head -n 4 | tr '\n' '|' | cut -c1-300)"; fi
}

assert_true() { # assert_true "desc" "details on failure" CMD...: CMD succeeds, quietly
	local desc=$1 details=$2
	shift 2
	if "$@"; then _t_ok "$desc"
	else _t_notok "$desc" "$details"; fi
}

# TAPIS_STRICT=1 (.ci/run): CI runs as root after `make deps` and `make`,
# so what a lab test needs from it (root, build/tapis, a tool make deps
# installs: the lab's clients and servers, promtool, chromium) is there; a
# test that cannot run for want of one is a failure, not a skip. A skip
# for the state of the machine (test_check: the host has an r0 of its
# own) is not covered and stays a skip.

# skip_missing WHY: a part of a test cannot run for want of something CI
# provides: "skip: WHY", or under TAPIS_STRICT=1 a failed assertion.
# Returns 0 when the part was skipped, 1 when it failed.
skip_missing() {
	if [ "${TAPIS_STRICT:-}" = 1 ]; then
		_t_notok "$LAB_TEST_NAME: $*" "TAPIS_STRICT=1: may not skip"
		return 1
	fi
	echo "skip: $LAB_TEST_NAME: $*"
}

# skip_test WHY: the whole test cannot run (see skip_missing); exits.
skip_test() {
	skip_missing "$@"
	exit $?
}

# lab_router_ifaces N: N more veth pairs in the router, x1..xN up (their
# peers y1..yN up, unattached), for tests that attach to several
# interfaces. Sets IFACES (r0 x1 .. xN) and IFARGS (--iface each); exits
# the test with a failure when a pair cannot be made.
lab_router_ifaces() {
	local i
	IFACES=(r0)
	IFARGS=(--iface r0)
	for ((i = 1; i <= $1; i++)); do
		ip -n "$LAB_NS_R" link add "x$i" type veth peer name "y$i" &&
			ip -n "$LAB_NS_R" link set "x$i" up && ip -n "$LAB_NS_R" link set "y$i" up ||
			{
				_t_notok "make veth x$i" "ip link add failed"
				exit 1
			}
		IFACES+=("x$i")
		IFARGS+=(--iface "x$i")
	done
}

# dns_answered NAME: the lab's DNS server (198.18.2.2) answers a query for
# NAME from c through the router, any rcode; a dropped query times out in 1 s.
dns_answered() { lab_exec c dig +time=1 +tries=1 @198.18.2.2 "$1" >/dev/null 2>&1; }

# ping_count NS ADDR COUNT [options]: number of echo replies received
ping_count() {
	local ns=$1 addr=$2 n=$3 out
	shift 3
	out=$(lab_exec "$ns" ping -n -c "$n" -i 0.2 -W 1 "$@" "$addr" 2>&1)
	out=$(sed -n 's/.* \([0-9][0-9]*\) received.*/\1/p' <<<"$out")
	echo "${out:-0}"
}

# curl_body NS URL [options]: the body, or nothing (and non-zero) on failure
curl_body() {
	local ns=$1 url=$2
	shift 2
	lab_exec "$ns" curl -sS --max-time 2 "$@" "$url" 2>/dev/null
}

# json_q JSON EXPR: print the value of the Python expression EXPR, with the
# parsed document as d (True/False/None printed as true/false/null). Exits
# 1 when the value is false (or the document or EXPR fails), so that
# `assert_ok "..." json_q "$doc" "COND"` cannot pass on a false COND.
json_q() {
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
v = eval(sys.argv[2])
print(json.dumps(v) if isinstance(v, (bool, type(None), dict, list)) else v)
sys.exit(1 if v is False else 0)
' "$1" "$2" 2>/dev/null
}

# rule_stat NAME FIELD [JSON]: a rule's field from stats JSON (fetched now if
# not given); empty when there is no such rule.
rule_stat() {
	local js=${3-}
	[ -n "$js" ] || js=$(lab_tapis stats --json 2>/dev/null)
	json_q "$js" "next((r.get('$2') for r in d['rules'] if r['name'] == '$1'), '')"
}

# Absence checks prove something only where the same probe has seen the
# thing present in this test: with a wrong pin path or interface name,
# "nothing pinned" and "no XDP program" would pass by themselves. So
# pins_left and router_xdp remember (in the test's temp dir, which
# subshells share) that they saw pins or a program, and no_pins and
# router_no_xdp fail, saying why, when that never happened. Check
# absence with no_pins / router_no_xdp only.

# Is anything pinned at the pin path? (absent or empty directory: no)
pins_left() {
	[ -d "$TAPIS_PIN" ] && [ -n "$(ls -A "$TAPIS_PIN" 2>/dev/null)" ] || return 1
	[ -z "$T_TMP" ] || : >"$T_TMP/.seen-pins"
}

# Nothing is pinned at the pin path, where pins_left saw pins before.
no_pins() {
	if [ -z "$T_TMP" ] || [ ! -e "$T_TMP/.seen-pins" ]; then
		echo "no_pins: pins_left never saw pins at $TAPIS_PIN in this test: proves nothing" >&2
		return 2
	fi
	! pins_left
}

# Does IF in the router namespace have an XDP program attached?
router_xdp() {
	ip -n "$LAB_NS_R" link show dev "$1" 2>/dev/null | grep -q 'prog/xdp' || return 1
	[ -z "$T_TMP" ] || : >"$T_TMP/.seen-xdp-$1"
}

# IF exists in the router namespace and runs no XDP program, where
# router_xdp saw one before.
router_no_xdp() {
	if [ -z "$T_TMP" ] || [ ! -e "$T_TMP/.seen-xdp-$1" ]; then
		echo "router_no_xdp: router_xdp never saw a program on $1 in this test: proves nothing" >&2
		return 2
	fi
	if ! ip -n "$LAB_NS_R" link show dev "$1" >/dev/null 2>&1; then
		echo "router_no_xdp: no interface $1 in $LAB_NS_R" >&2
		return 2
	fi
	! router_xdp "$1"
}

t_tmp() { # the temp dir of this test (made by lab_test_begin, removed at exit)
	echo "$T_TMP"
}

_t_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -x "$TAPIS_BIN" ] && [ -d "$TAPIS_PIN" ]; then
		lab_tapis unload >/dev/null 2>&1
	fi
	lab_down
	[ -n "$T_TMP" ] && rm -rf "$T_TMP"
	exit "$rc"
}

# lab_test_begin: check prerequisites (skip if missing), bring up the lab.
lab_test_begin() {
	local why b
	if ! why=$(lab_missing); then
		skip_test "$why"
	fi
	for b in python3 "$@"; do
		command -v "$b" >/dev/null 2>&1 || skip_test "$b not installed"
	done
	[ -x "$TAPIS_BIN" ] || skip_test "$TAPIS_BIN not built"
	trap _t_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	T_TMP=$(mktemp -d "/tmp/${LAB_PREFIX}.XXXXXX") || exit 1
	echo "# $LAB_TEST_NAME (lab $LAB_PREFIX)"
	if ! lab_up; then
		_t_notok "lab up" "see messages above"
		exit 1
	fi
}

# lab_test_end: summary line for humans, exit status for the runner.
lab_test_end() {
	echo "# $LAB_TEST_NAME: $T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" = 0 ]
	exit $?
}
