#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_service.sh - tapis run as a service: the pin-path lock and --wait,
# the audit trail of every change, and what status says about the last one.

. "$(dirname "$0")/lib.sh"
lab_test_begin flock

tmp=$(t_tmp)
export TAPIS_AUDIT_LOG=$tmp/log/audit.log
cat >"$tmp/policy.yaml" <<'EOF'
version: 1
rules:
  - name: block-range
    action: drop
    reference: "LAB/SVC/1"
    nets: [198.18.3.10/32]
  - name: names
    action: drop
    reference: "LAB/SVC/2"
    hosts: [svc.example]
EOF
sed 's/198.18.3.10\/32/198.18.3.10\/32, 198.18.3.99\/32/; /name: names/,$d' "$tmp/policy.yaml" \
	>"$tmp/policy2.yaml"
assert_ok "load" lab_tapis load --policy "$tmp/policy.yaml" --iface r0 --mode native ||
	lab_test_end

# --- the lock --------------------------------------------------------------------------------
# Another tapis holding the lock is simulated by flock(1) on the pin
# directory, which is the lock tapis takes.
flock -x "$TAPIS_PIN" sleep 2 &
holder=$!
sleep 0.3
assert_exit "host add while another holds the lock: exit 5" 5 \
	lab_tapis host add busy.example --rule names
assert_match "it says another tapis is changing the pin path" "another tapis is changing" "$OUT"
assert_match "and points at --wait" "\-\-wait" "$OUT"
t0=$(date +%s%N)
assert_exit "--wait 1 gives up after a second: exit 5" 5 \
	lab_tapis host add busy.example --rule names --wait 1
dt=$((($(date +%s%N) - t0) / 1000000))
assert_true "--wait 1 waited about a second (${dt} ms)" "waited $dt ms" test "$dt" -ge 900
assert_ok "--wait (for ever) succeeds once the lock is free" \
	lab_tapis host add busy.example --rule names --wait
wait "$holder"
assert_ok "stats (a read-only command) while nobody holds the lock" lab_tapis stats

# --- the audit trail ------------------------------------------------------------------------------
assert_ok "net add" lab_tapis net add 198.18.3.77/32 --rule block-range
assert_ok "net del" lab_tapis net del 198.18.3.77/32 --rule block-range
assert_ok "reload to a policy without the rule 'names'" lab_tapis reload --policy "$tmp/policy2.yaml"
assert_ok "tapis audit --json" lab_tapis audit --json
a=$OUT
assert_eq "audit: the commands in order" \
	'["load", "host add", "net add", "net del", "reload"]' \
	"$(json_q "$a" "[r['command'] for r in d['records']]")"
assert_eq "audit: every record has a time and a user" true \
	"$(json_q "$a" "all(r.get('time') and r.get('user') == 'root' for r in d['records'])")"
assert_match "audit: the load names the policy and its SHA-256" '^sha256:[0-9a-f]{64}$' \
	"$(json_q "$a" "d['records'][0].get('digest')")"
assert_eq "audit: host add names rule, entry and the rule's reference" \
	'["names", "busy.example", "LAB/SVC/2", 1]' \
	"$(json_q "$a" "[d['records'][1].get(k) for k in ('rule', 'entry', 'reference', 'added')]")"
assert_eq "audit: the reload lists the lifted rule 'names' with its final counters" \
	'["names"]' "$(json_q "$a" "[r['name'] for r in d['records'][4].get('rules_removed', [])]")"
assert_eq "audit: the lifted rule's counters are there" true \
	"$(json_q "$a" "all('packets' in r and 'bytes' in r for r in d['records'][4]['rules_removed'])")"
assert_eq "audit: the reload counts the entries it added (198.18.3.99) and removed (2 names)" \
	'[1, 2]' "$(json_q "$a" "[d['records'][4].get('added'), d['records'][4].get('removed')]")"
assert_ok "tapis audit --rule names" lab_tapis audit --rule names --json
assert_eq "audit --rule names: the records that touched it" '["host add", "reload"]' \
	"$(json_q "$OUT" "[r['command'] for r in d['records'] if r['command'] != 'load']")"
assert_ok "tapis audit --since 1h (text)" lab_tapis audit --since 1h
assert_eq "audit text: one line per change" 5 "$(grep -c . <<<"$OUT")"
assert_ok "tapis audit --since in the future" lab_tapis audit --since 2099-01-01T00:00:00Z --json
assert_eq "nothing after 2099" 0 "$(json_q "$OUT" "len(d['records'])")"
assert_true "the audit log is 0640" "mode $(stat -c %a "$TAPIS_AUDIT_LOG")" \
	test "$(stat -c %a "$TAPIS_AUDIT_LOG")" = 640
assert_true "its directory is 0750" "mode $(stat -c %a "$tmp/log")" \
	test "$(stat -c %a "$tmp/log")" = 750
assert_ok "status --json" lab_tapis status --json
assert_eq "status shows the last change" reload "$(json_q "$OUT" "d['last_change']['command']")"
assert_ok "status (text)" lab_tapis status
assert_match "status text shows the last change" "last change:.*reload" "$OUT"

assert_ok "unload" lab_tapis unload
assert_ok "tapis audit after the unload" lab_tapis audit --json
assert_eq "the unload is audited with the final counters of its rules" '["block-range"]' \
	"$(json_q "$OUT" "[r['name'] for r in d['records'][-1].get('rules_removed', [])]")"
lab_test_end
