#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_capacity_rules.sh - the rule tables (counters, metadata, rules) are
# sized when tapis is loaded (README, "Memory"), and what an operator sees
# when a policy outgrows them:
#   load       a policy of 3 rules gets 64 rule slots: ids for 63 rules;
#              status shows that and the other sizes fixed at load
#   reload     of 70 rules: exit 2, a message naming
#              settings.capacity.rules and both sizes; the running policy
#              still blocks, its counters keep counting, and the new rules
#              are not in force; the setting in the reloaded file alone
#              does not help (sizes are fixed at load) and says so
#   load       with settings.capacity.rules: 100 sizes for it up front (256
#              slots): the same 70-rule reload is applied and in force

. "$(dirname "$0")/lib.sh"
lab_test_begin dig

tmp=$(t_tmp)
policy() { # FILE N-EXTRA-RULES [SETTINGS]: rule "names" drops blocked.example,
	# rules r0..r<N-1> drop r<i>.rules.example each
	{
		echo "version: 1"
		[ -n "${3:-}" ] && printf 'settings:\n  %s\n' "$3"
		echo "rules:"
		echo "  - name: names"
		echo "    action: drop"
		echo "    hosts: [blocked.example]"
		for i in $(seq 0 $(($2 - 1))); do
			echo "  - name: r$i"
			echo "    action: drop"
			echo "    hosts: [r$i.rules.example]"
		done
	} >"$1"
}
policy "$tmp/small.yaml" 2
policy "$tmp/big.yaml" 69
policy "$tmp/big-cap.yaml" 69 "capacity: { rules: 100 }"
policy "$tmp/small-cap.yaml" 2 "capacity: { rules: 100 }"

assert_ok "load 3 rules" lab_tapis load --policy "$tmp/small.yaml" --iface r0 --mode native ||
	lab_test_end
assert_fail "blocked.example is dropped" dns_answered blocked.example
assert_fail "r1.rules.example is dropped" dns_answered r1.rules.example
assert_ok "r60.rules.example is answered" dns_answered r60.rules.example
assert_ok "status --json" lab_tapis status --json
assert_eq "status: 64 rule slots, ids for 63 rules" "64 63" \
	"$(json_q "$OUT" "'%d %d' % (d['sizes']['rule_slots'], d['sizes']['rule_ids'])")"
assert_eq "status: the other sizes fixed at load, the defaults" "8192 262144 8192" \
	"$(json_q "$OUT" "'%d %d %d' % (d['sizes']['flows'], d['sizes']['events_ring_bytes'], d['sizes']['edits'])")"
assert_ok "status" lab_tapis status
assert_match "status text: the sizes" \
	"sizes: +rule ids up to 63, flows 8192, events ring 256 KiB, live edits up to 8192" "$OUT"
before=$(rule_stat names packets)
assert_match "the counter of 'names' counted the drop" "^[1-9][0-9]*$" "$before"

assert_exit "reload 70 rules into tables for 63: exit 2" 2 lab_tapis reload --policy "$tmp/big.yaml"
assert_match "it names the setting and what to do" \
	"set settings.capacity.rules to 70 or more, then unload and load" "$OUT"
assert_match "it gives both sizes" "loaded for at most 63 rule ids \(64 rule slots" "$OUT"
assert_match "it says the running policy is unchanged" "the running policy is unchanged" "$OUT"
assert_fail "the running policy still drops blocked.example" dns_answered blocked.example
assert_fail "and r1.rules.example" dns_answered r1.rules.example
assert_ok "the refused policy's r60.rules.example is not in force" dns_answered r60.rules.example
after=$(rule_stat names packets)
assert_eq "the counter of 'names' went on counting" "$((before + 1))" "$after"
assert_ok "status names the running policy" lab_tapis status
assert_match "small.yaml runs" "small.yaml" "$OUT"
assert_exit "the setting in the reloaded file does not resize: exit 2" 2 \
	lab_tapis reload --policy "$tmp/big-cap.yaml"
assert_match "it says so" "at most 63 rule ids" "$OUT"

assert_ok "reload of 3 rules asking for capacity 100" lab_tapis reload --policy "$tmp/small-cap.yaml"
assert_match "it warns that the capacity takes effect at the next load" \
	"settings.capacity.rules is 100 but the running rule tables have 64 slots: the new size takes effect at the next load" \
	"$OUT"

assert_ok "unload" lab_tapis unload
assert_ok "load 3 rules with settings.capacity.rules: 100" \
	lab_tapis load --policy "$tmp/small-cap.yaml" --iface r0 --mode native || lab_test_end
assert_ok "status --json" lab_tapis status --json
assert_eq "status: 256 rule slots (2 x 100 + 1, a power of two)" "256" \
	"$(json_q "$OUT" "d['sizes']['rule_slots']")"
assert_ok "reload 70 rules" lab_tapis reload --policy "$tmp/big.yaml"
assert_fail "r60.rules.example is dropped" dns_answered r60.rules.example
assert_fail "blocked.example is still dropped" dns_answered blocked.example
assert_ok "unload" lab_tapis unload

lab_test_end
