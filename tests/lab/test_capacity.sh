#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_capacity.sh - the host tables are sized when tapis is loaded
# (README, "Memory"), and grow when a list outgrows them:
#   load       a policy of 1,000 names gets tables for 3,072
#   reload     of 3,100 names: exit 0, the tables grow to 8192 slots (a
#              program swap), the new names in force, the old still
#   reload     of 1,000 names asking for settings.capacity.names: 5000:
#              grows to 16384 slots; a reload asking for less keeps them
#   host add   of 4,500 names: exit 0, in force
#   load       with settings.capacity.names: 5000 sizes for it up front

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

assert_ok "load 1,000 names" lab_tapis load --policy "$tmp/small.yaml" --iface r0 --mode native ||
	lab_test_end
assert_fail "blocked.example is dropped" dns_answered blocked.example
assert_fail "n998.cap.example is dropped" dns_answered n998.cap.example
assert_ok "n3000.cap.example is answered" dns_answered n3000.cap.example
assert_ok "status --json" lab_tapis status --json
assert_eq "status: host tables of 4096 slots for 3072 names" "4096 3072" \
	"$(json_q "$OUT" "'%d %d' % (d['host_tables']['slots'], d['host_tables']['capacity'])")"

assert_ok "reload 3,100 names into tables for 3,072: exit 0" lab_tapis reload --policy "$tmp/big.yaml"
assert_match "it says the host tables grew" "host table slots 4096 -> 8192" "$OUT"
assert_fail "blocked.example is still dropped" dns_answered blocked.example
assert_fail "and n998.cap.example" dns_answered n998.cap.example
assert_fail "the new policy's n3000.cap.example is dropped" dns_answered n3000.cap.example
assert_ok "status --json" lab_tapis status --json
assert_eq "status: host tables of 8192 slots for 6144 names" "8192 6144" \
	"$(json_q "$OUT" "'%d %d' % (d['host_tables']['slots'], d['host_tables']['capacity'])")"

assert_ok "reload of 1,000 names asking for capacity 5000" lab_tapis reload --policy "$tmp/small-cap.yaml"
assert_match "the tables grow for the setting" "host table slots 8192 -> 16384" "$OUT"
assert_ok "n3000.cap.example, no longer listed, is answered" dns_answered n3000.cap.example
assert_ok "reload of 1,000 names without the setting" lab_tapis reload --policy "$tmp/small.yaml"
assert_true "the tables keep their size" "$OUT" eval '! grep -q "host table slots" <<<"$OUT"'
assert_match "status: room for 12288 names" "hosts: +host names up to 12288 \(16384 index slots" \
	"$(lab_tapis status)"

# shellcheck disable=SC2046 # one argument a name
assert_ok "host add of 4,500 names" \
	lab_tapis host add $(seq 0 4499 | sed 's/^/live/; s/$/.cap.example/') --rule names
assert_fail "live0.cap.example is dropped" dns_answered live0.cap.example
assert_fail "live4499.cap.example is dropped" dns_answered live4499.cap.example
assert_fail "blocked.example is still dropped" dns_answered blocked.example

assert_ok "unload" lab_tapis unload
assert_ok "load 1,000 names with settings.capacity.names: 5000" \
	lab_tapis load --policy "$tmp/small-cap.yaml" --iface r0 --mode native || lab_test_end
assert_ok "n3000.cap.example is answered" dns_answered n3000.cap.example
assert_ok "status" lab_tapis status
assert_match "status: room for 12288 names (2 x 5000, a power of two, three quarters)" \
	"hosts: +host names up to 12288 \(16384 index slots" "$OUT"
assert_ok "reload 3,100 names" lab_tapis reload --policy "$tmp/big-cap.yaml"
assert_fail "n3000.cap.example is dropped" dns_answered n3000.cap.example
assert_fail "blocked.example is still dropped" dns_answered blocked.example
assert_ok "unload" lab_tapis unload

lab_test_end
