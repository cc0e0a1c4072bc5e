#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_live_edits.sh - lifting and adding entries live, precisely, and what
# a reload does with them.
#
# With "telegram.me" (the name and every name under it) in the policy,
# `host del =telegram.me` must fail and say what the rule holds (it used to
# answer "removed" and leave x.telegram.me blocked); `host del telegram.me`
# lifts both. `host|net list` show the entries in force with their source
# (file:line, or runtime with who and when); status lists the live edits;
# a reload keeps them (a name deleted live stays lifted), forgets those
# that no longer apply and says so; --drop-edits forgets them all. Timed
# entries (--for) stop matching when their time is up, in the data path.

. "$(dirname "$0")/lib.sh"
lab_test_begin dig

tmp=$(t_tmp)
cat >"$tmp/policy.yaml" <<'EOF'
version: 1
rules:
  - name: telegram
    action: drop
    reference: "ORDER/7"
    hosts: [telegram.me]
  - name: ranges
    action: drop
    nets: [198.18.3.0/24]
  - name: live
    action: drop
    reference: "ORDER/8"
    hosts: []
EOF
assert_ok "load" lab_tapis load --policy "$tmp/policy.yaml" --iface r0 --mode native || lab_test_end
assert_fail "x.telegram.me is dropped" dns_answered x.telegram.me

# --- a delete names the entry as it is ----------------------------------------------------------
assert_exit "host del =telegram.me (the rule holds telegram.me): exit 2" 2 \
	lab_tapis host del =telegram.me --rule telegram
assert_match "it says what the rule holds" \
	"'=telegram.me' is not an entry of rule 'telegram': it holds 'telegram.me' \(the name and every name under it\)" "$OUT"
assert_match "and what to type" "tapis host del telegram.me --rule telegram" "$OUT"
assert_fail "x.telegram.me is still dropped" dns_answered x.telegram.me
assert_exit "host del telegram.me from the wrong rule: exit 2" 2 lab_tapis host del telegram.me --rule live
assert_match "it says which rule has it" "'telegram.me' \(the name and every name under it\) is in rule 'telegram'" "$OUT"
assert_ok "host del telegram.me --rule telegram" lab_tapis host del telegram.me --rule telegram
assert_ok "telegram.me is answered" dns_answered telegram.me
assert_ok "x.telegram.me is answered" dns_answered x.telegram.me

# --- adds, lists, status ----------------------------------------------------------------------
assert_ok "host add blocked.example --rule live (a rule declared empty)" \
	lab_tapis host add blocked.example --rule live
assert_fail "blocked.example is dropped" dns_answered blocked.example
assert_ok "host list --json" lab_tapis host list --json
l=$OUT
assert_eq "host list: telegram.me (deleted live) is not listed" "[]" \
	"$(json_q "$l" "[e for e in d['entries'] if e['entry'] == 'telegram.me']")"
assert_eq "host list: blocked.example from runtime, by root" '["live", "runtime", "root"]' \
	"$(json_q "$l" "[[e['rule'], e['source'], e['who']] for e in d['entries'] if e['entry'] == 'blocked.example'][0]")"
assert_ok "net list --rule ranges --json" lab_tapis net list --rule ranges --json
assert_eq "net list: 198.18.3.0/24 from policy.yaml line 9" '["198.18.3.0/24", "file", 9]' \
	"$(json_q "$OUT" "[[e['entry'], e['source'], e['line']] for e in d['entries']][0]")"
assert_match "the file is named" "policy\.yaml" "$(json_q "$OUT" "d['entries'][0]['file']")"
assert_ok "net list (text)" lab_tapis net list
assert_match "text list: rule, entry, file:line" "ranges +198\.18\.3\.0/24 +.*policy\.yaml:9" "$OUT"
assert_exit "host list --rule nosuch: exit 2" 2 lab_tapis host list --rule nosuch
assert_ok "status --json" lab_tapis status --json
assert_eq "status lists the two live edits" '[["del", "telegram.me"], ["add", "blocked.example"]]' \
	"$(json_q "$OUT" "sorted([[e['op'], e['entry']] for e in d['edits']], reverse=True)")"
assert_ok "status (text)" lab_tapis status
assert_match "status text: live edits: 2" "live edits: +2" "$OUT"

# --- a reload keeps them ------------------------------------------------------------------------
assert_ok "reload (same file)" lab_tapis reload
assert_match "the reload says it kept 2 live edits" "kept 2 live edits" "$OUT"
assert_ok "telegram.me is still lifted after the reload" dns_answered x.telegram.me
assert_fail "blocked.example is still dropped after the reload" dns_answered blocked.example

# --- timed entries ----------------------------------------------------------------------------------
assert_ok "host add soon.example --rule live --for 3s" lab_tapis host add soon.example --rule live --for 3s
assert_match "it went into a rule of its own, live@TIME" "rule live@20[0-9-]+T[0-9:]+Z" "$OUT"
assert_fail "soon.example is dropped" dns_answered soon.example
assert_ok "host list shows it with its expiry" lab_tapis host list --rule live --json
assert_eq "soon.example: until a time" true \
	"$(json_q "$OUT" "[bool(e['expires']) for e in d['entries'] if e['entry'] == 'soon.example'][0]")"
sleep 4
assert_ok "soon.example is answered once its time is up (the data path)" dns_answered soon.example
assert_ok "reload after the expiry" lab_tapis reload
assert_match "the reload forgets the expired entry and says so" "soon.example.*it expired" "$OUT"
assert_exit "--for without add: exit 2" 2 lab_tapis host del x.example --rule live --for 1h
assert_exit "--for nonsense: exit 2" 2 lab_tapis host add x.example --rule live --for soon
assert_exit "--expires in the past: exit 2" 2 lab_tapis host add x.example --rule live --expires 2001-01-01T00:00:00Z

# --- records that no longer apply --------------------------------------------------------------
sed -i 's/    hosts: \[\]/    hosts: [blocked.example]/' "$tmp/policy.yaml"
assert_ok "reload with blocked.example now in the file" lab_tapis reload
assert_match "the reload forgets the add the file now has, and says so" \
	"blocked\.example.*the policy file has it now" "$OUT"
assert_ok "reload --json" lab_tapis reload --json --drop-edits
json=$(lab_tapis reload --json 2>/dev/null)
assert_eq "reload --json reports the live edits" '[0, 0, []]' \
	"$(json_q "$json" "[d['edits'][k] for k in ('kept_add', 'kept_del', 'forgotten')]")"
assert_fail "blocked.example is dropped (by the file now)" dns_answered blocked.example
assert_ok "host del telegram.me again" lab_tapis host del telegram.me --rule telegram
assert_ok "reload --drop-edits" lab_tapis reload --drop-edits
assert_match "it says it dropped the live edit" "dropped 1 live edit" "$OUT"
assert_fail "x.telegram.me is dropped again (the file's entry is back)" dns_answered x.telegram.me
assert_ok "status --json" lab_tapis status --json
assert_eq "no live edits left" 0 "$(json_q "$OUT" "len(d['edits'])")"

# --- nets ------------------------------------------------------------------------------------------
assert_exit "net del 198.18.3.0/25 (the rule holds the /24): exit 2" 2 \
	lab_tapis net del 198.18.3.0/25 --rule ranges
assert_match "it says it is not in the rule" "198.18.3.0/25 is not in rule 'ranges'" "$OUT"
assert_ok "audit shows the live edits" lab_tapis audit --json
assert_eq "audit: host del, host add, host add (timed), host del" '["host del", "host add", "host add", "host del"]' \
	"$(json_q "$OUT" "[r['command'] for r in d['records'] if r['command'].startswith('host')]")"
lab_test_end
