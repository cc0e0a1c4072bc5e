#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_attach.sh - a service starts twice without harm: interfaces added and
# removed from a running filter, and `load` onto a loaded pin path.
#
# Two rules, one for each side of the router: blk-server drops traffic to
# 198.18.3.10 (enters r0, from the client), blk-client-alt drops traffic to
# the client's second address 198.18.1.66 (enters r1, from the server), so
# pings and curl tell on which interfaces the filter runs. Checked with real
# traffic at each step, beside status, exit codes, messages and --json:
#   - attach to r1 while the lab's XDP_PASS program runs there: refused,
#     naming that program; attached once it is removed;
#   - attach and detach again change nothing and say so; detach of r0 lifts
#     the filter there and not on r1; detach of the last interface keeps the
#     filter loaded and pinned (unlike unload);
#   - load with the same policy: "unchanged"; with an edited list: reloaded;
#     live edits untouched or kept; with an extra interface: attached; with
#     fewer: the others stay; onto an interface running another program:
#     refused before any change; a watch (the service) started with one more
#     interface attaches it;
#   - each change has its audit record, an unchanged load one too.

. "$(dirname "$0")/lib.sh"
lab_test_begin

tmp=$(t_tmp)
policy=$tmp/policy.yaml
mkdir -p "$tmp/lists"
printf '198.18.3.10/32\n2001:db8:3::10/128\n' >"$tmp/lists/servers.txt"
cat >"$policy" <<'EOF'
version: 1
rules:
  - name: blk-server
    action: drop
    reference: "LAB/ATTACH/1"
    net_lists: [lists/servers.txt]
  - name: blk-client-alt
    action: drop
    reference: "LAB/ATTACH/2"
    nets: [198.18.1.66/32, "2001:db8:1::66/128"]
EOF
audit_log=$TAPIS_AUDIT_LOG

ifaces() { # the interfaces status reports, "name:mode" joined by spaces
	json_q "$(lab_tapis status --json 2>/dev/null)" \
		"' '.join(i['name'] + ':' + i['mode'] for i in d['ifaces'])"
}
status_field() { # status_field KEY: one member of status --json
	json_q "$(lab_tapis status --json 2>/dev/null)" "d['$1']"
}
last_audit() { # last_audit EXPR: EXPR over the last audit record, as d
	json_q "$(tail -n 1 "$audit_log" 2>/dev/null)" "$1"
}
r0_filtered() { [ "$(ping_count c 198.18.3.10 3)" = 0 ]; }
r0_open() { [ "$(ping_count c 198.18.3.10 3)" = 3 ]; }
r1_filtered() { [ "$(ping_count s 198.18.1.66 3)" = 0 ]; }
r1_open() { [ "$(ping_count s 198.18.1.66 3)" = 3 ]; }
r1_prog() { # the id of the XDP program on r1, or nothing
	ip -n "$LAB_NS_R" link show dev r1 | sed -n 's/.*prog\/xdp[a-z]* id \([0-9]*\).*/\1/p'
}

# --- load on r0 ---------------------------------------------------------------------------
assert_ok "load on r0" lab_tapis load --policy "$policy" --iface r0 --mode native || lab_test_end
assert_match "load names r0" "on r0 \(native\)" "$OUT"
assert_true "r0 has an XDP program" "no prog/xdp on r0" router_xdp r0
assert_eq "status: r0 native" "r0:native" "$(ifaces)"
assert_true "r0: 198.18.3.10 dropped" "pings answered" r0_filtered
assert_eq "r0: 198.18.2.10 answers" 3 "$(ping_count c 198.18.2.10 3)"
assert_true "r1 not filtered yet: the server reaches 198.18.1.66" "pings lost" r1_open
assert_ok "r1 not filtered yet: curl from 198.18.1.66 is served" \
	curl_body c http://198.18.2.10/ --interface 198.18.1.66

# --- attach where another XDP program runs ----------------------------------------------------
pass_id=$(r1_prog)
assert_match "the lab runs its XDP_PASS program on r1" '^[0-9]+$' "$pass_id"
assert_exit "attach r1 over the lab's program: exit 3" 3 lab_tapis attach --iface r1 --mode native
assert_match "the refusal names the program, its id and the interface" \
	"r1 runs another XDP program: xdp_pass \(id $pass_id, native mode\)" "$OUT"
assert_match "and how to remove it" "ip link set dev r1 xdpdrv off" "$OUT"
assert_exit "the same under --json: exit 3" 3 lab_tapis attach --iface r1 --json
assert_eq "--json: the error names the program" "xdp_pass $pass_id r1" \
	"$(json_q "$OUT" "'%s %s %s' % (d['program']['name'], d['program']['id'], d['iface'])")"
assert_eq "the lab's program still runs on r1" "$pass_id" "$(r1_prog)"
assert_eq "status: still r0 only" "r0:native" "$(ifaces)"

# tapis takes over the XDP_PASS program's veth duty on r1 (it passes what
# it does not match), so the lab keeps working without it.
ip -n "$LAB_NS_R" link set dev r1 xdpdrv off

# --- attach r1 --------------------------------------------------------------------------------
assert_ok "attach r1 (native)" lab_tapis attach --iface r1 --mode native --json
assert_eq "attach --json: attached r1, changed" '["r1"] true' \
	"$(json_q "$OUT" "'%s %s' % (json.dumps(d['attached']), json.dumps(d['changed']))")"
assert_eq "status: r0 and r1, native" "r0:native r1:native" "$(ifaces)"
assert_eq "audit: attach r1" "attach r1 ok" \
	"$(last_audit "'%s %s %s' % (d['command'], d['entry'], d['result'])")"
assert_true "r1: the server no longer reaches 198.18.1.66" "pings answered" r1_filtered
assert_eq "r1: the server still reaches 198.18.1.2" 3 "$(ping_count s 198.18.1.2 3)"
assert_eq "r1: 2001:db8:1::66 dropped too" 0 "$(ping_count s 2001:db8:1::66 3)"
assert_fail "r1: curl from 198.18.1.66 gets no answer" \
	curl_body c http://198.18.2.10/ --interface 198.18.1.66
assert_ok "r1: curl from 198.18.1.2 is served" curl_body c http://198.18.2.10/
assert_true "r0: 198.18.3.10 still dropped" "pings answered" r0_filtered
hits=$(rule_stat blk-client-alt packets)
assert_true "blk-client-alt counted the drops on r1" "packets: $hits" test "${hits:-0}" -gt 0

assert_ok "attach r1 again: exit 0" lab_tapis attach --iface r1
assert_match "attach r1 again: says nothing to do" "already attached to r1 \(native mode\)" "$OUT"
assert_eq "audit: the idempotent attach is recorded as unchanged" "attach unchanged" \
	"$(last_audit "d['command'] + ' ' + d['result']")"
assert_ok "attach r1 again --json" lab_tapis attach --iface r1 --json
assert_eq "--json: already attached, unchanged" '["r1"] false' \
	"$(json_q "$OUT" "'%s %s' % (json.dumps(d['already_attached']), json.dumps(d['changed']))")"
assert_exit "attach r1 in another mode: exit 1" 1 lab_tapis attach --iface r1 --mode generic
assert_match "it says which mode runs and how to change it" \
	"runs on r1 in native mode, not generic.*detach --iface r1" "$OUT"
assert_exit "attach to a missing interface: exit 3" 3 lab_tapis attach --iface nosuch0
assert_match "it names the interface" "nosuch0: no such interface" "$OUT"
assert_eq "status: unchanged by the refusals" "r0:native r1:native" "$(ifaces)"

# --- detach -------------------------------------------------------------------------------------
assert_ok "detach r0" lab_tapis detach --iface r0
assert_match "detach r0: says so and where tapis still runs" "detached from r0.*runs on r1" \
	"$(tr '\n' ' ' <<<"$OUT")"
assert_eq "status: r1 only" "r1:native" "$(ifaces)"
assert_ok "r0 has no XDP program" router_no_xdp r0
assert_true "r0: 198.18.3.10 answers again" "pings lost" r0_open
assert_true "r1: still filtered" "pings answered" r1_filtered
assert_eq "audit: detach r0" "detach r0 ok" \
	"$(last_audit "'%s %s %s' % (d['command'], d['entry'], d['result'])")"
assert_ok "detach r0 again: exit 0" lab_tapis detach --iface r0 --json
assert_eq "--json: not attached, unchanged" '["r0"] false' \
	"$(json_q "$OUT" "'%s %s' % (json.dumps(d['not_attached']), json.dumps(d['changed']))")"
assert_exit "detach a missing interface: exit 2" 2 lab_tapis detach --iface nosuch0

assert_ok "detach r1, the last interface" lab_tapis detach --iface r1
assert_match "it says the filter stays loaded" "stays loaded at .* on no interface" "$OUT"
assert_ok "status after the last detach: exit 0" lab_tapis status --json
assert_eq "status: loaded, no interface" "True []" \
	"$(json_q "$OUT" "'%s %s' % (d['loaded'], json.dumps(d['ifaces']))")"
assert_true "the pins stay" "nothing pinned" pins_left
assert_true "r1: the server reaches 198.18.1.66 again" "pings lost" r1_open
assert_eq "the rules are still loaded" 2 "$(status_field rules)"
assert_ok "attach r0 again" lab_tapis attach --iface r0 --mode native
assert_true "r0: filtered again" "pings answered" r0_filtered

# --- load onto a loaded pin path -------------------------------------------------------------------
gen0=$(status_field generation)
digest0=$(status_field content_digest)
assert_match "status shows the content digest" '^sha256:[0-9a-f]{64}$' "$digest0"
assert_ok "load again, same policy and interface: exit 0" \
	lab_tapis load --policy "$policy" --iface r0 --mode native
assert_match "it says the policy is unchanged" "policy $policy unchanged \(sha256:" "$OUT"
assert_match "and that r0 is attached already" "already attached to r0" "$OUT"
assert_eq "audit: a load with result unchanged" "load unchanged" \
	"$(last_audit "d['command'] + ' ' + d['result']")"
assert_ok "the same under --json" lab_tapis load --policy "$policy" --iface r0 --json
assert_eq "--json: policy unchanged, nothing changed, already loaded" "unchanged False True" \
	"$(json_q "$OUT" "'%s %s %s' % (d['policy_change'], d['changed'], d['already_loaded'])")"
assert_eq "no reload happened" "$gen0 0" "$(status_field generation) $(status_field reloads)"

# An order changes a list, not the policy file.
echo "198.18.2.10/32" >>"$tmp/lists/servers.txt"
assert_ok "load with an edited list: exit 0" lab_tapis load --policy "$policy" --iface r0 --json
assert_eq "--json: reloaded, changed" "reloaded True" \
	"$(json_q "$OUT" "'%s %s' % (d['policy_change'], d['changed'])")"
assert_eq "status: one reload, generation moved" "1 true" \
	"$(status_field reloads) $(json_q "$(lab_tapis status --json)" "d['generation'] != $gen0")"
assert_true "the content digest changed" "still $digest0" \
	test "$(status_field content_digest)" != "$digest0"
assert_eq "the new entry acts: 198.18.2.10 dropped" 0 "$(ping_count c 198.18.2.10 3)"
assert_eq "audit: a load that reloaded" "load ok reloaded" \
	"$(last_audit "'%s %s %s' % (d['command'], d['result'], d['policy_change'])")"
echo "# an operator's comment" >>"$policy"
assert_ok "load with an edited policy file (text)" lab_tapis load --policy "$policy" --iface r0
assert_match "it says reloaded" "already: reloaded $policy" "$OUT"
assert_ok "reload, then load: the reload recorded what it read" lab_tapis reload
assert_ok "load after the reload: exit 0" lab_tapis load --policy "$policy" --iface r0
assert_match "it is unchanged" "unchanged" "$OUT"

# Live edits: untouched by an unchanged load, kept by one that reloads.
assert_ok "a live edit: net add 198.18.3.99/32" lab_tapis net add 198.18.3.99/32 --rule blk-server
assert_ok "load, the file unchanged" lab_tapis load --policy "$policy" --iface r0
assert_match "it is unchanged" "unchanged" "$OUT"
assert_eq "the live edit stays in force" 0 "$(ping_count c 198.18.3.99 3)"
echo "# edited again" >>"$policy"
assert_ok "load with the file edited" lab_tapis load --policy "$policy" --iface r0
assert_match "it reloads" "reloaded" "$OUT"
assert_eq "the reload kept the live edit, as reload does" 0 "$(ping_count c 198.18.3.99 3)"

assert_ok "load with an extra interface r1" \
	lab_tapis load --policy "$policy" --iface r0 --iface r1 --mode native --json
assert_eq "--json: policy unchanged, r1 attached, r0 already" 'unchanged ["r1"] ["r0"] True' \
	"$(json_q "$OUT" "'%s %s %s %s' % (d['policy_change'], json.dumps(d['attached']), json.dumps(d['already_attached']), d['changed'])")"
assert_eq "status: r0 and r1" "r0:native r1:native" "$(ifaces)"
assert_true "r1: filtered" "pings answered" r1_filtered
assert_eq "audit: the load that attached" 'load ok ["r1"]' \
	"$(last_audit "'%s %s %s' % (d['command'], d['result'], json.dumps(d['attached']))")"
assert_ok "load naming r1 only: exit 0" lab_tapis load --policy "$policy" --iface r1
assert_match "it says r0 stays attached" "still attached to r0, which this load does not name" "$OUT"
assert_eq "status: r0 and r1 still" "r0:native r1:native" "$(ifaces)"
assert_true "r0: still filtered" "pings answered" r0_filtered

# --- the service: a watch started with one more interface attaches it -----------------------
assert_ok "detach r1 (as if the service had run on r0 alone)" lab_tapis detach --iface r1
lab_bg watch tapis r "$TAPIS_BIN" watch --policy "$policy" --iface r0 --iface r1 --mode native \
	--pin-path "$TAPIS_PIN"
wpid=$LAB_LAST_PID
for i in $(seq 50); do
	[ "$(ifaces)" = "r0:native r1:native" ] && break
	sleep 0.1
done
assert_eq "the watch attached r1 beside r0" "r0:native r1:native" "$(ifaces)"
assert_match "the watch says the policy is unchanged and r1 attached" \
	"unchanged.*attached to r1 \(native mode\)" "$(tr '\n' ' ' <"$LAB_DIR/watch.out")"
kill -TERM "$wpid"
wait "$wpid"
assert_eq "the watch exits 0 on SIGTERM" 0 "$?"
assert_true "r1: filtered" "pings answered" r1_filtered

# --- load onto an interface running another program ---------------------------------------------
assert_ok "detach r1" lab_tapis detach --iface r1
ip -n "$LAB_NS_R" link set dev r1 xdpdrv obj "$(lab_xdp_obj)" sec xdp
pass_id=$(r1_prog)
gen1=$(status_field generation)
echo "# another edit, not applied" >>"$policy"
assert_exit "load onto r1 with the lab's program back: exit 3" 3 \
	lab_tapis load --policy "$policy" --iface r0 --iface r1
assert_match "the refusal names the program" "r1 runs another XDP program: xdp_pass \(id $pass_id" "$OUT"
assert_eq "the lab's program still runs on r1" "$pass_id" "$(r1_prog)"
assert_eq "status: r0 only" "r0:native" "$(ifaces)"
assert_eq "the policy was not reloaded either" "$gen1" "$(status_field generation)"
assert_true "r0: still filtered" "pings answered" r0_filtered
assert_exit "--json: exit 3" 3 lab_tapis load --policy "$policy" --iface r1 --json
assert_eq "--json: the error names the program" "xdp_pass" "$(json_q "$OUT" "d['program']['name']")"

# --- the audit trail, --help ---------------------------------------------------------------------------
assert_eq "audit: every attach, detach and load is there" "attach 4, detach 5, load 11" \
	"$(python3 -c '
import json, sys
n = {}
for line in open(sys.argv[1]):
    c = json.loads(line)["command"]
    n[c] = n.get(c, 0) + 1
print(", ".join("%s %d" % (c, n.get(c, 0)) for c in ("attach", "detach", "load")))
' "$audit_log")"
for cmd in attach detach; do
	assert_ok "tapis $cmd --help: exit 0" "$TAPIS_BIN" $cmd --help
	assert_match "tapis $cmd --help shows its usage" "Usage: tapis $cmd --iface IF" "$OUT"
	assert_ok "tapis $cmd --help --json" "$TAPIS_BIN" $cmd --help --json
	assert_match "--json: the usage" "tapis $cmd --iface IF" "$(json_q "$OUT" "d['usage']")"
done
assert_exit "detach without --iface: exit 2" 2 lab_tapis detach
assert_exit "attach --mode bogus: exit 2" 2 lab_tapis attach --iface r1 --mode bogus

assert_ok "unload" lab_tapis unload
assert_true "unload removes the pins" "left: $(ls -A "$TAPIS_PIN" 2>/dev/null | tr '\n' ' ')" \
	no_pins
assert_exit "attach with nothing loaded: exit 4" 4 lab_tapis attach --iface r0
assert_exit "detach with nothing loaded: exit 4" 4 lab_tapis detach --iface r0

lab_test_end
