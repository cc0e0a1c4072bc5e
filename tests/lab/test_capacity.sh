#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_capacity.sh - the host tables are sized when tapis is loaded
# (README, "Memory"), and what an operator sees when a list outgrows them:
#   load       a policy of 1,000 names gets tables for 3,072
#   reload     of 3,100 names: exit 2, a message naming
#              settings.capacity.names and both sizes; the running policy
#              still blocks and the new names are not in force; the setting
#              in the reloaded file alone does not help (sizes are fixed at
#              load)
#   host add   past the tables' room: exit 2, the same advice; the names
#              added before it filled are in force
#   load       with settings.capacity.names: 5000 sizes for it up front: the
#              same 3,100-name reload is then applied and in force

. "$(dirname "$0")/lib.sh"
lab_test_begin dig

tmp=$(t_tmp)
names() { # FILE N: n0.cap.example .. n<N-1>.cap.example
	seq 0 $(($2 - 1)) | sed 's/^/n/; s/$/.cap.example/' >"$1"
}
policy() { # FILE LIST [SETTINGS]
	{
		echo "version: 1"
		[ -n "${3:-}" ] && printf 'settings:\n  %s\n' "$3"
		echo "rules:"
		echo "  - name: names"
		echo "    action: drop"
		echo "    hosts: [blocked.example]"
		echo "    host_lists: [$2]"
	} >"$1"
}
names "$tmp/small.txt" 999
names "$tmp/big.txt" 3099
policy "$tmp/small.yaml" small.txt
policy "$tmp/big.yaml" big.txt
policy "$tmp/big-cap.yaml" big.txt "capacity: { names: 5000 }"
policy "$tmp/small-cap.yaml" small.txt "capacity: { names: 5000 }"
# answered NAME: the DNS server answers (any rcode) a query through the router
answered() { lab_exec c dig +time=1 +tries=1 @198.18.2.2 "$1" >/dev/null 2>&1; }

assert_ok "load 1,000 names" lab_tapis load --policy "$tmp/small.yaml" --iface r0 --mode native ||
	lab_test_end
assert_fail "blocked.example is dropped" answered blocked.example
assert_fail "n998.cap.example is dropped" answered n998.cap.example
assert_ok "n3000.cap.example is answered" answered n3000.cap.example
assert_ok "status --json" lab_tapis status --json
assert_eq "status: host tables of 4096 slots for 3072 names" "4096 3072" \
	"$(json_q "$OUT" "'%d %d' % (d['host_tables']['slots'], d['host_tables']['capacity'])")"

assert_exit "reload 3,100 names into tables for 3,072: exit 2" 2 lab_tapis reload --policy "$tmp/big.yaml"
assert_match "it names the setting and what to do" \
	"set settings.capacity.names to 3100 or more, then unload and load" "$OUT"
assert_match "it gives both sizes" "has 3100 host names, .*at most 3072 \(4096 index slots" "$OUT"
assert_fail "the running policy still drops blocked.example" answered blocked.example
assert_fail "and n998.cap.example" answered n998.cap.example
assert_ok "the refused policy's n3000.cap.example is not in force" answered n3000.cap.example
assert_exit "the setting in the reloaded file does not resize: exit 2" 2 \
	lab_tapis reload --policy "$tmp/big-cap.yaml"
assert_match "it says so" "at most 3072" "$OUT"
assert_ok "status answers" lab_tapis status
assert_match "status names the running policy" "small.yaml" "$OUT"

assert_ok "reload of 1,000 names asking for capacity 5000" lab_tapis reload --policy "$tmp/small-cap.yaml"
assert_match "it warns that the capacity takes effect at the next load" \
	"settings.capacity.names is 5000 but the running host tables take 3072 names: the new size takes effect at the next load" \
	"$OUT"

# shellcheck disable=SC2046 # one argument a name
assert_exit "host add of 4,500 names past the tables' room: exit 2" 2 \
	lab_tapis host add $(seq 0 4499 | sed 's/^/live/; s/$/.cap.example/') --rule names
assert_match "it says the tables are full and names the setting" \
	"the host tables are full \(loaded for 3072 host names, settings.capacity.names\)" "$OUT"
assert_fail "live0.cap.example, added while there was room, is dropped" answered live0.cap.example
assert_ok "live4499.cap.example, refused, is answered" answered live4499.cap.example
assert_fail "blocked.example is still dropped" answered blocked.example

assert_ok "unload" lab_tapis unload
assert_ok "load 1,000 names with settings.capacity.names: 5000" \
	lab_tapis load --policy "$tmp/small-cap.yaml" --iface r0 --mode native || lab_test_end
assert_ok "n3000.cap.example is answered" answered n3000.cap.example
assert_ok "status" lab_tapis status
assert_match "status: room for 12288 names (2 x 5000, a power of two, three quarters)" \
	"hosts: +host names up to 12288 \(16384 index slots" "$OUT"
assert_ok "reload 3,100 names" lab_tapis reload --policy "$tmp/big-cap.yaml"
assert_fail "n3000.cap.example is dropped" answered n3000.cap.example
assert_fail "blocked.example is still dropped" answered blocked.example
assert_ok "unload" lab_tapis unload

lab_test_end
