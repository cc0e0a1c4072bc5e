#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_edit_errors.sh - what `host|net add|del` refuse, the exit codes the
# README gives them, and deletes that take part of a rule:
#   exit 2   a bad prefix, host bits, an address given to host, a bad name,
#            no --rule, an unknown rule, an entry another rule holds, a
#            delete of what the rule does not hold, or holds only in
#            another form (part of a prefix, =name of a subtree, the name
#            of a wildcard): each says why, and under --json is a JSON
#            error; the filter is unchanged (traffic still blocked)
#   exit 4   nothing loaded
#   exit 5   another tapis holds the pin-path lock (flock on the pin
#            directory, as a running load or reload does); --wait N waits
#            N seconds and then fails, or succeeds once the lock is gone;
#            readers (status, stats) answer meanwhile
#   partial  deleting one entry of a rule lifts that entry only: the
#            rule's other entries, of both families and kinds, still block

. "$(dirname "$0")/lib.sh"
lab_test_begin dig flock

tmp=$(t_tmp)
cat >"$tmp/policy.yaml" <<'EOF'
version: 1
rules:
  - name: ranges
    action: drop
    nets: [198.18.3.0/24, "2001:db8:3::/48"]
  - name: names
    action: drop
    hosts: [blocked.example, "=exact.example", "*.wild.example"]
  - name: live
    action: drop
    hosts: []
EOF
entries() { # RULE KIND: a rule's entry count (v4, v6, hosts) from stats --json
	json_q "$(lab_tapis stats --json 2>/dev/null)" \
		"next(r['entries']['$2'] for r in d['rules'] if r['name'] == '$1')"
}
blocked_as_loaded() { # the policy's entries all still block
	[ "$(ping_count c 198.18.3.10 2)" = 0 ] && [ "$(ping_count c 2001:db8:3::10 2)" = 0 ] &&
		! dns_answered blocked.example && ! dns_answered x.blocked.example &&
		! dns_answered exact.example && ! dns_answered a.wild.example
}

assert_ok "load" lab_tapis load --policy "$tmp/policy.yaml" --iface r0 --mode native || lab_test_end
assert_true "the policy blocks what it names" "something answered" blocked_as_loaded
assert_ok "names outside it are answered" dns_answered other.example

# --- exit 2: arguments ------------------------------------------------------------------
assert_exit "net add 198.18.3.0/33: exit 2" 2 lab_tapis net add 198.18.3.0/33 --rule live
assert_match "it says it is no prefix" "'198.18.3.0/33' is not an IPv4 or IPv6 prefix" "$OUT"
assert_exit "net add 198.18.3.1/24 (host bits): exit 2" 2 lab_tapis net add 198.18.3.1/24 --rule live
assert_match "it names the network" "has host bits set \(the network is 198.18.3.0/24\)" "$OUT"
assert_exit "net add without --rule: exit 2" 2 lab_tapis net add 198.18.5.0/24
assert_match "it says --rule is required" "--rule NAME is required" "$OUT"
assert_exit "host add 198.18.3.10 (an address): exit 2" 2 lab_tapis host add 198.18.3.10 --rule live
assert_match "it says addresses go in nets" "is an address, not a host name" "$OUT"
assert_exit "host add bad..name: exit 2" 2 lab_tapis host add bad..name --rule live
assert_match "it says why" "invalid host 'bad..name': empty label" "$OUT"
assert_exit "net add to an unknown rule: exit 2" 2 lab_tapis net add 198.18.5.0/24 --rule nosuch
assert_match "it names the rule" "no rule named 'nosuch'" "$OUT"
assert_exit "host add to an unknown rule, --json: exit 2" 2 lab_tapis host add x.example --rule nosuch --json
assert_eq "--json: the error as JSON" "no rule named 'nosuch' in the running policy" \
	"$(json_q "$OUT" "d['error']")"

# --- exit 2: held by another rule, or not held ------------------------------------------
assert_exit "net add 198.18.3.0/24 to live (ranges holds it): exit 2" 2 \
	lab_tapis net add 198.18.3.0/24 --rule live
assert_match "it names the rule that holds it" "198.18.3.0/24 belongs to rule 'ranges'" "$OUT"
assert_exit "host add blocked.example to live (names holds it): exit 2" 2 \
	lab_tapis host add blocked.example --rule live
assert_match "it names the rule that holds it" "is in rule 'names'" "$OUT"
assert_exit "net del 198.18.3.0/25 (part of ranges' /24): exit 2" 2 \
	lab_tapis net del 198.18.3.0/25 --rule ranges
assert_match "it says the /25 is not in the rule" "198.18.3.0/25 is not in rule 'ranges'" "$OUT"
assert_exit "net del 198.18.3.0/24 from the wrong rule: exit 2" 2 lab_tapis net del 198.18.3.0/24 --rule live
assert_match "it says so" "198.18.3.0/24 is not in rule 'live'" "$OUT"
assert_exit "host del =blocked.example (the rule holds the subtree): exit 2" 2 \
	lab_tapis host del =blocked.example --rule names
assert_match "it says what to delete" "tapis host del blocked.example --rule names" "$OUT"
assert_exit "host del x.blocked.example (under a held subtree): exit 2" 2 \
	lab_tapis host del x.blocked.example --rule names
assert_match "it says no rule has that entry" "no rule has an entry for 'x.blocked.example'" "$OUT"
assert_exit "host del wild.example (the rule holds *.wild.example): exit 2" 2 \
	lab_tapis host del wild.example --rule names
assert_match "it says what to delete" "tapis host del \*.wild.example --rule names" "$OUT"
assert_exit "host del exact.example (the rule holds =exact.example): exit 2" 2 \
	lab_tapis host del exact.example --rule names
assert_match "it says what to delete" "tapis host del =exact.example --rule names" "$OUT"
assert_exit "net del of another rule's prefix, --json: exit 2" 2 \
	lab_tapis net del 198.18.3.0/24 --rule live --json
assert_eq "--json: the error as JSON" "198.18.3.0/24 is not in rule 'live'" "$(json_q "$OUT" "d['error']")"
assert_true "after every refusal the policy still blocks all it names" "something answered" \
	blocked_as_loaded
assert_eq "ranges still holds one IPv4 and one IPv6 prefix" "1 1" "$(entries ranges v4) $(entries ranges v6)"
assert_eq "names still holds three patterns" 3 "$(entries names hosts)"

# --- exit 5: the pin-path lock ----------------------------------------------------------
flock "$TAPIS_PIN" sleep 6 &
lock_pid=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do
	flock -n "$TAPIS_PIN" true || break
	sleep 0.1
done
assert_fail "the lock is held (flock -n fails)" flock -n "$TAPIS_PIN" true
assert_exit "net add while another tapis holds the lock: exit 5" 5 lab_tapis net add 198.18.5.0/24 --rule live
assert_match "it says another tapis is changing the pin path" "another tapis is changing .*--wait" "$OUT"
assert_exit "host del while locked, --json: exit 5" 5 lab_tapis host del blocked.example --rule names --json
assert_match "--json: the error as JSON" "another tapis" "$(json_q "$OUT" "d['error']")"
assert_exit "reload while locked: exit 5" 5 lab_tapis reload
t0=$(date +%s%N)
assert_exit "net add --wait 1 while locked: exit 5" 5 lab_tapis net add 198.18.5.0/24 --rule live --wait 1
ms=$((($(date +%s%N) - t0) / 1000000))
assert_true "--wait 1 waited about a second (${ms} ms)" "${ms} ms" test "$ms" -ge 900 -a "$ms" -lt 3000
assert_ok "status answers while locked (readers take no lock)" lab_tapis status
assert_ok "stats --json answers while locked" lab_tapis stats --json
assert_eq "the refused edits changed nothing: live has no prefix" 0 "$(entries live v4)"
assert_ok "net add --wait 10: done once the lock is gone" \
	lab_tapis net add 198.18.5.0/24 --rule live --wait 10
wait "$lock_pid"
assert_eq "live now holds 198.18.5.0/24" 1 "$(entries live v4)"

# --- partial deletes ----------------------------------------------------------------------
assert_ok "net del 2001:db8:3::/48 --rule ranges" lab_tapis net del 2001:db8:3::/48 --rule ranges
assert_eq "2001:db8:3::10 answers" 2 "$(ping_count c 2001:db8:3::10 2)"
assert_eq "198.18.3.10 (the rule's other prefix) is still blocked" 0 "$(ping_count c 198.18.3.10 2)"
assert_eq "ranges: one IPv4 prefix, no IPv6" "1 0" "$(entries ranges v4) $(entries ranges v6)"
assert_ok "host del blocked.example --rule names" lab_tapis host del blocked.example --rule names
assert_ok "blocked.example is answered" dns_answered blocked.example
assert_ok "x.blocked.example is answered" dns_answered x.blocked.example
assert_fail "exact.example (the rule's other entry) is still dropped" dns_answered exact.example
assert_fail "a.wild.example (the rule's other entry) is still dropped" dns_answered a.wild.example
assert_eq "names: two patterns left" 2 "$(entries names hosts)"
assert_ok "host del '*.wild.example' --rule names" lab_tapis host del '*.wild.example' --rule names
assert_ok "a.wild.example is answered" dns_answered a.wild.example
assert_fail "exact.example is still dropped" dns_answered exact.example
assert_exit "host del blocked.example again: exit 2 (no longer held)" 2 \
	lab_tapis host del blocked.example --rule names

# --- exit 4: nothing loaded ---------------------------------------------------------------
assert_ok "unload" lab_tapis unload
assert_exit "net add with nothing loaded: exit 4" 4 lab_tapis net add 198.18.5.0/24 --rule live
assert_exit "host del with nothing loaded: exit 4" 4 lab_tapis host del exact.example --rule names
assert_match "it says nothing is loaded" "nothing loaded|not loaded" "$OUT"

lab_test_end
