#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/fuzz/cli_san.sh TAPIS - the command line where no kernel is needed,
# for the sanitizer tier of `make test` (TAPIS is build-san/tapis): help of
# every command, check and its JSON on every example policy, and the error
# paths of each value an operator types (exit 2 and the message saying
# what is wrong) or of a command with nothing loaded (exit 4). Every call
# names a pin path and an audit log in a temporary directory, so nothing
# outside it is read or changed. Prints "ok - ..." / "not ok - ..." and
# "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
T=${1:?usage: cli_san.sh TAPIS}
tmp=$(mktemp -d /tmp/tapis-cli-san.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
common=(--pin-path "$tmp/pins" --audit-log "$tmp/audit.log")

# expect CODE REGEX DESC -- ARGS...: tapis ARGS exits CODE and its output
# (stdout and stderr) matches REGEX.
expect() {
	local code=$1 re=$2 desc=$3 out rc
	shift 4
	out=$("$T" "$@" 2>&1)
	rc=$?
	if [ "$rc" -eq "$code" ] && grep -qE -- "$re" <<<"$out"; then
		pass=$((pass + 1))
		echo "ok - $desc"
	else
		fail=$((fail + 1))
		echo "not ok - $desc (exit $rc, want $code; output: $(head -c 300 <<<"$out" | tr '\n' '|'))"
	fi
}

# --- help of every command --------------------------------------------------
expect 0 '^Usage: tapis COMMAND' "tapis --help" -- --help
expect 0 '[0-9]+\.[0-9]+' "tapis --version" -- --version
for c in check load reload unload attach detach status stats explain host net watch events \
	audit serve; do
	expect 0 "^Usage: tapis $c" "tapis $c --help" -- "$c" --help
	expect 0 "^Usage: tapis $c" "tapis help $c" -- help "$c"
done
expect 2 "unknown command 'bogus'" "an unknown command: exit 2" -- bogus

# --- check: the whole compile, text and JSON ------------------------------------
for p in examples/*.yaml tests/unit/data/policy-full.yaml; do
	expect 0 ': OK: [0-9]+ rules' "check $p" -- check --policy "$p" --no-iface-check "${common[@]}"
	out=$("$T" check --policy "$p" --no-iface-check --json "${common[@]}" 2>/dev/null)
	if python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d["ok"] else 1)' 2>/dev/null \
		<<<"$out"; then
		pass=$((pass + 1))
		echo "ok - check --json $p: valid JSON, ok true"
	else
		fail=$((fail + 1))
		echo "not ok - check --json $p: valid JSON, ok true ($(head -c 200 <<<"$out"))"
	fi
done
printf 'version: 1\nrules:\n  - name: a\n    action: drop\n    host_lists: [missing.txt]\n' \
	>"$tmp/missing.yaml"
expect 2 "missing.yaml:5: error: cannot open host list" "check: a missing list is FILE:LINE, exit 2" \
	-- check --policy "$tmp/missing.yaml" "${common[@]}"
printf 'version: 1\nrules:\n  - name: a\n    action: drop\n    nets: [198.18.0.0/33]\n' \
	>"$tmp/badnet.yaml"
expect 2 "badnet.yaml:5: error:" "check: a bad prefix is FILE:LINE, exit 2" \
	-- check --policy "$tmp/badnet.yaml" "${common[@]}"
printf 'version: 1\nrules: [\n' >"$tmp/syntax.yaml"
expect 2 "syntax.yaml:[0-9]+: error:" "check: broken YAML is FILE:LINE, exit 2" \
	-- check --policy "$tmp/syntax.yaml" "${common[@]}"
python3 -c 'print("a: " * 5000 + "b")' >"$tmp/deep.yaml"
expect 2 "deep.yaml:[0-9]+: error:" "check: a YAML nested too deep is refused, exit 2" \
	-- check --policy "$tmp/deep.yaml" "${common[@]}"
expect 2 "not a regular file" "check: a device as the policy is refused, exit 2" \
	-- check --policy /dev/null "${common[@]}"
expect 2 "error" "check without --policy: exit 2" -- check "${common[@]}"

# --- values an operator types ------------------------------------------------------
expect 2 "198.18.0.300" "explain 198.18.0.300: neither address nor name, exit 2" \
	-- explain 198.18.0.300 "${common[@]}"
expect 2 "--top takes a number" "stats --top 0: exit 2" -- stats --top 0 "${common[@]}"
expect 2 "--top takes a number" "stats --top 99999999999999999999: exit 2" \
	-- stats --top 99999999999999999999 "${common[@]}"
expect 2 "--wait takes seconds" "--wait=-1: exit 2" -- status --wait=-1 "${common[@]}"
expect 2 "listen|ADDR:PORT" "serve --listen ::1:80 (no brackets): exit 2" \
	-- serve --listen ::1:80 "${common[@]}"
expect 2 "listen|ADDR:PORT" "serve --listen 127.0.0.1:65536: exit 2" \
	-- serve --listen 127.0.0.1:65536 "${common[@]}"
expect 2 "since" "audit --since yesterday: exit 2" -- audit --since yesterday "${common[@]}"
expect 2 "invalid host" "host add bad..example: exit 2" \
	-- host add bad..example --rule r "${common[@]}"
expect 2 "address, not a host name" "host add 1.2.3.4: exit 2" \
	-- host add 1.2.3.4 --rule r "${common[@]}"
expect 2 "CIDR|prefix|1.2.3.4/33" "net add 1.2.3.4/33: exit 2" \
	-- net add 1.2.3.4/33 --rule r "${common[@]}"
expect 2 "--for|duration" "host add --for 0s: exit 2" \
	-- host add a.example --rule r --for 0s "${common[@]}"
expect 2 "--expires|time" "host add --expires 2026-13-01T00:00:00Z: exit 2" \
	-- host add a.example --rule r --expires 2026-13-01T00:00:00Z "${common[@]}"
expect 2 "--count" "events --count 0: exit 2" -- events --count 0 "${common[@]}"
expect 2 "--timeout" "events --timeout 0: exit 2" -- events --timeout 0 "${common[@]}"
expect 2 "--wait takes seconds" "--wait=86401: exit 2" -- status --wait=86401 "${common[@]}"
expect 2 "--settle" "watch --settle 60001: exit 2" \
	-- watch --policy examples/demo-policy.yaml --settle 60001 "${common[@]}"
expect 2 "mode" "load --mode turbo: exit 2" \
	-- load --policy examples/demo-policy.yaml --iface lo --mode turbo "${common[@]}"

# --- nothing loaded at the pin path: exit 4 ----------------------------------------
for args in "status" "stats" "stats --prometheus" "explain example.com" "explain 198.18.0.1" \
	"host list" "net list" "unload" "reload"; do
	# shellcheck disable=SC2086 # the words of args are the arguments
	expect 4 "nothing loaded" "$args with nothing loaded: exit 4" -- $args "${common[@]}"
done
expect 0 "" "audit with no log yet: exit 0" -- audit "${common[@]}"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
