#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_watch.sh - `tapis watch`, the service, as an operator drives it.
#
# Starts the watch on r0 with a policy dropping one range and checks, with
# pings through the router: an edit in place, a save by rename (as editors
# do) and an edit of a list file each take effect within seconds; a broken
# edit is reported with FILE:LINE and the running policy stays; SIGHUP
# reloads; a rule's expiry is logged and audited; a second watch on a
# loaded filter reloads instead of failing; SIGTERM ends the watch and
# leaves the filter running.

. "$(dirname "$0")/lib.sh"
lab_test_begin

tmp=$(t_tmp)
export TAPIS_AUDIT_LOG=$tmp/audit.log
mkdir -p "$tmp/lists"
echo "198.18.3.10/32" >"$tmp/lists/extra.txt"
write_policy() { # nets-of-rule-one [extra yaml]
	cat >"$tmp/policy.yaml.new" <<-EOF
		version: 1
		rules:
		  - name: one
		    action: drop
		    reference: "LAB/WATCH/1"
		    nets: [$1]
		  - name: listed
		    action: drop
		    net_lists: [lists/extra.txt]
		$2
	EOF
}
write_policy "2001:db8:3::10/128"
mv "$tmp/policy.yaml.new" "$tmp/policy.yaml"

gen() { json_q "$(lab_tapis status --json 2>/dev/null)" "d.get('reloads', -1)"; }
# wait_for DESC CMD...: up to 5 s for CMD to succeed
wait_for() {
	local desc=$1 i
	shift
	for i in $(seq 50); do
		"$@" >/dev/null 2>&1 && {
			_t_ok "$desc"
			return 0
		}
		sleep 0.1
	done
	_t_notok "$desc" "not within 5 s"
	return 1
}
gen_above() { [ "$(gen)" -gt "$1" ] 2>/dev/null; }
# Readers take no lock: status answers while the load is still under way,
# so "loaded" is the interface recorded as attached, the load's last step.
attached_r0() { [ "$(json_q "$(lab_tapis status --json 2>/dev/null)" "','.join(i['name'] for i in d.get('ifaces', []))")" = r0 ]; }
blocked() { [ "$(ping_count c "$1" 1)" = 0 ]; }
passes() { [ "$(ping_count c "$1" 1)" = 1 ]; }

lab_bg watch tapis r "$TAPIS_BIN" watch --policy "$tmp/policy.yaml" --iface r0 --mode native \
	--settle 100 --pin-path "$TAPIS_PIN"
wpid=$LAB_LAST_PID
wlog=$LAB_DIR/watch.out
wait_for "the watch loads the policy" attached_r0 || {
	cat "$wlog"
	lab_test_end
}
assert_eq "198.18.3.10 (in the list) is dropped" 0 "$(ping_count c 198.18.3.10 2)"
assert_eq "198.18.3.99 passes" 2 "$(ping_count c 198.18.3.99 2)"

# --- an edit in place ---------------------------------------------------------------------
g=$(gen)
write_policy "2001:db8:3::10/128, 198.18.3.99/32"
cat "$tmp/policy.yaml.new" >"$tmp/policy.yaml"
wait_for "an edit in place is reloaded" gen_above "$g"
wait_for "198.18.3.99 is dropped after the edit" blocked 198.18.3.99

# --- a save by rename -----------------------------------------------------------------------
g=$(gen)
write_policy "2001:db8:3::10/128"
mv "$tmp/policy.yaml.new" "$tmp/policy.yaml"
wait_for "a save by rename is reloaded" gen_above "$g"
wait_for "198.18.3.99 passes again" passes 198.18.3.99

# --- a list file ------------------------------------------------------------------------------
g=$(gen)
echo "198.18.2.10/32" >>"$tmp/lists/extra.txt"
wait_for "an edit of a list file is reloaded" gen_above "$g"
wait_for "198.18.2.10 (added to the list) is dropped" blocked 198.18.2.10
g=$(gen)
echo "198.18.3.10/32" >"$tmp/lists/extra.txt"
wait_for "the list edited back is reloaded" gen_above "$g"
wait_for "198.18.2.10 passes again" passes 198.18.2.10

# --- a broken edit ----------------------------------------------------------------------------
g=$(gen)
printf 'version: 1\nrules:\n  - name: one\n    action: dorp\n    nets: [198.18.3.99/32]\n' \
	>"$tmp/policy.yaml"
sleep 1.5
assert_eq "a broken edit is not applied (reload count unchanged)" "$g" "$(gen)"
assert_match "the watch names the broken line (policy.yaml:4)" "policy\.yaml:4:" "$(cat "$wlog")"
assert_eq "the running policy stays: 198.18.3.10 still dropped" 0 "$(ping_count c 198.18.3.10 1)"
assert_true "the watch is still running" "exited" lab_pid_alive "$wpid"

# --- SIGHUP, and an expiring rule -----------------------------------------------------------
exp=$(date -u -d '+3 seconds' +%Y-%m-%dT%H:%M:%SZ)
write_policy "2001:db8:3::10/128" "  - name: short-order
    action: drop
    expires: \"$exp\"
    nets: [198.18.3.99/32]"
cp "$tmp/policy.yaml.new" "$tmp/policy.yaml"
sleep 1
g=$(gen)
kill -HUP "$wpid"
wait_for "SIGHUP reloads" gen_above "$g"
sleep 4
assert_match "the watch logs the expiry of short-order" "rule short-order expired" "$(cat "$wlog")"
assert_ok "tapis audit --rule short-order" lab_tapis audit --rule short-order --json
assert_eq "the audit log holds the expiry" expire \
	"$(json_q "$OUT" "[r['command'] for r in d['records']][-1]")"
assert_eq "198.18.3.99 passes after the expiry" 1 "$(ping_count c 198.18.3.99 1)"

# --- a second watch on a running filter reloads -------------------------------------------
g=$(gen)
lab_bg watch2 tapis r "$TAPIS_BIN" watch --policy "$tmp/policy.yaml" --pin-path "$TAPIS_PIN"
w2=$LAB_LAST_PID
wait_for "a second watch on the loaded filter reloads it" gen_above "$g"
kill -TERM "$w2"
wait "$w2"
assert_eq "the second watch exits 0 on SIGTERM" 0 "$?"

# --- SIGTERM ----------------------------------------------------------------------------------
kill -TERM "$wpid"
wait "$wpid"
assert_eq "the watch exits 0 on SIGTERM" 0 "$?"
assert_match "the watch says the filter stays" "filter stays loaded" "$(cat "$wlog")"
assert_eq "the filter still drops 198.18.3.10" 0 "$(ping_count c 198.18.3.10 1)"
lab_test_end
