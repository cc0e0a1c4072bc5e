#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_service.sh - tapis run as a service: the pin-path lock and --wait,
# the audit trail of every change, what status says about the last one,
# read-only commands for members of the group tapis (and "permission
# denied", not "nothing loaded", for others), and a pin directory that
# someone else could have made refused.

. "$(dirname "$0")/lib.sh"
lab_test_begin flock useradd runuser

# Two users of our own: a member of group tapis and a stranger. The group
# is made (and removed at the end) if the machine has none.
ro_user=tro$$ other_user=tot$$ made_group=0
getent group tapis >/dev/null || { groupadd --system tapis && made_group=1; }
useradd -M -N -g tapis -s /usr/sbin/nologin "$ro_user"
useradd -M -N -s /usr/sbin/nologin "$other_user"
svc_cleanup() {
	userdel "$ro_user" 2>/dev/null
	userdel "$other_user" 2>/dev/null
	[ "$made_group" = 1 ] && groupdel tapis 2>/dev/null
}
trap 'rc=$?; svc_cleanup; (exit $rc); _t_cleanup' EXIT
# Let them walk to the pins, as an operator would open /sys/fs/bpf.
chmod 711 "$LAB_DIR" "$LAB_DIR/bpffs"
as() { # USER CMD...: run a tapis command as USER
	local u=$1
	shift
	runuser -u "$u" -- "$TAPIS_BIN" "$@" --pin-path "$TAPIS_PIN"
}

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

# --- who may read, who may change -------------------------------------------------------
assert_true "the pin directory is 0750, group tapis" "$(stat -c '%a %G' "$TAPIS_PIN")" \
	test "$(stat -c '%a %G' "$TAPIS_PIN")" = "750 tapis"
assert_ok "a member of tapis: status" as "$ro_user" status --json
assert_eq "the member sees the policy loaded" true "$(json_q "$OUT" "d['loaded']")"
assert_ok "a member of tapis: stats" as "$ro_user" stats --json
assert_eq "the member sees the rules" '["block-range", "names"]' "$(json_q "$OUT" "[r['name'] for r in d['rules']]")"
assert_ok "a member of tapis: explain an address" as "$ro_user" explain 198.18.3.10
assert_match "the member's explain names the rule" "block-range" "$OUT"
assert_ok "a member of tapis: explain a name" as "$ro_user" explain svc.example
assert_match "the member's explain names the host rule" "names" "$OUT"
assert_exit "a member of tapis may not change the filter: exit 1" 1 \
	as "$ro_user" host add x.example --rule names
assert_match "and is told permission denied" "permission denied" "$OUT"
assert_exit "a stranger's status: exit 1, not 4 (nothing loaded)" 1 as "$other_user" status
assert_match "the stranger is told permission denied" "permission denied" "$OUT"

# --- a pin directory someone else could have made -------------------------------------------
mkdir "$LAB_DIR/bpffs/theirs"
chown "$other_user" "$LAB_DIR/bpffs/theirs"
assert_exit "load into a pin directory owned by another user is refused" 1 \
	lab_tapis load --policy "$tmp/policy.yaml" --iface r1 --pin-path "$LAB_DIR/bpffs/theirs"
assert_match "the refusal names owner and mode" "theirs is owned by uid [0-9]+ with mode" "$OUT"
mkdir -m 0777 "$LAB_DIR/bpffs/open"
chmod 0777 "$LAB_DIR/bpffs/open"
assert_exit "load into a world-writable pin directory is refused" 1 \
	lab_tapis load --policy "$tmp/policy.yaml" --iface r1 --pin-path "$LAB_DIR/bpffs/open"
assert_eq "nothing was pinned in either" "" "$(ls -A "$LAB_DIR/bpffs/theirs")$(ls -A "$LAB_DIR/bpffs/open")"
rmdir "$LAB_DIR/bpffs/theirs" "$LAB_DIR/bpffs/open"

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
flock -x "$TAPIS_PIN" sleep 1.5 &
holder=$!
sleep 0.3
t0=$(date +%s%N)
assert_ok "stats while another holds the lock: answers (readers take no lock)" lab_tapis stats --json
dt=$((($(date +%s%N) - t0) / 1000000))
assert_true "at once, not after the writer (${dt} ms)" "answered in $dt ms" test "$dt" -lt 1000
wait "$holder"

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
