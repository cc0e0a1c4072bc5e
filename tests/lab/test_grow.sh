#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_grow.sh - host tables that grow without an unload (README "Memory"):
# a policy or a live add that outgrows the tables loads a second program
# with larger ones, sharing every other map, and swaps it in on the
# interface. Checked as an operator would:
#   load      100 names: tables at the floor (4096 slots, 3072 names);
#             DNS and HTTP of a listed name dropped, other names pass
#   reload    to 9,300 names (3x the room) while an HTTP flow blocked by a
#             name retransmits and a ping runs every 10 ms: exit 0, the new
#             names and the old ones dropped, the rule's counters not reset,
#             the flow's packets still dropped as a flow, status shows the
#             new size, the new program runs and is the pinned one, no ping
#             lost, no pin of the swap left
#   host add  of 4,000 names onto tables for 3,072 (after a fresh load):
#             exit 0, the last name dropped, the first policy name too,
#             tables of 8192 slots

. "$(dirname "$0")/lib.sh"
lab_test_begin dig curl

tmp=$(t_tmp)
names() { # FILE FIRST N: g<FIRST>.grow.example .. g<FIRST+N-1>.grow.example
	seq "$2" $(($2 + $3 - 1)) | sed 's/^/g/; s/$/.grow.example/' >"$1"
}
policy() { # FILE LIST EXTRA-HOSTS
	cat >"$1" <<EOP
version: 1
rules:
  - name: names
    action: drop
    hosts: [blocked.example$3]
    host_lists: [$2]
EOP
}
names "$tmp/small.txt" 0 100
names "$tmp/big.txt" 0 9300
policy "$tmp/small.yaml" small.txt ""
policy "$tmp/big.yaml" big.txt ", newly.example"
http() { lab_exec c curl -sS --max-time 2 --resolve "$1:80:$LAB_WEB4" "http://$1/" >/dev/null 2>&1; }
xdp_id() { ip -j -n "$LAB_NS_R" link show dev r0 | json_q "$(cat)" "d[0]['xdp']['prog']['id']"; }
pinned_id() { bpftool -j prog show pinned "$TAPIS_PIN/tapis_xdp" | json_q "$(cat)" "d['id']"; }
slots() { # "slots capacity" of the host tables, from status (a document too long for json_q)
	lab_tapis status --json 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)["host_tables"]
print("%d %d" % (d["slots"], d["capacity"]))'
}
kind() { # packets of rule names matched by KIND
	t_run lab_tapis stats --json
	json_q "$OUT" "next(r['kinds']['$1'] for r in d['rules'] if r['name'] == 'names')"
}

assert_ok "load 100 names" lab_tapis load --policy "$tmp/small.yaml" --iface r0 --mode native ||
	lab_test_end
assert_eq "status: tables at the floor, 4096 slots for 3072 names" "4096 3072" "$(slots)"
assert_fail "DNS: blocked.example is dropped" dns_answered blocked.example
assert_fail "DNS: g99.grow.example is dropped" dns_answered g99.grow.example
assert_ok "DNS: g9000.grow.example (only in the big list) is answered" dns_answered g9000.grow.example
assert_fail "HTTP: blocked.example is dropped" http blocked.example
assert_ok "HTTP: newly.example is served" http newly.example
ID0=$(xdp_id)

# A connection whose GET names blocked.example: its retransmissions are
# dropped by the flow's remembered verdict, not by the name.
lab_bg flow curl c curl -sS --max-time 30 --resolve "blocked.example:80:$LAB_WEB4" http://blocked.example/
FLOW_PID=$LAB_LAST_PID
sleep 1.5
F0=$(kind flow)
assert_true "the blocked HTTP flow's retransmissions are dropped as a flow ($F0)" "" test "${F0:-0}" -gt 0
P0=$(rule_stat names packets)
SINCE0=$(rule_stat names since)
assert_true "rule names has counted packets ($P0)" "" test "${P0:-0}" -gt 0

# A `tapis events` started before the swap keeps getting events after it
# (the new tapis_ctl starts with its flag, and it follows the pinned one).
lab_bg events tapis r "$TAPIS_BIN" events --json --timeout 25 --pin-path "$TAPIS_PIN"
EVENTS_PID=$LAB_LAST_PID
lab_bg ping ping c ping -n -q -i 0.01 -c 500 -W 1 198.18.2.2
PING_PID=$LAB_LAST_PID
sleep 1
t0=$(date +%s%N)
assert_ok "reload 9,300 names into tables for 3,072: exit 0" lab_tapis reload --policy "$tmp/big.yaml"
echo "# grow reload: $((($(date +%s%N) - t0) / 1000000)) ms"
assert_match "it says the tables grew" "host table slots 4096 -> 32768" "$OUT"
wait "$PING_PID"
pl=$(sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\1 \2/p' "$LAB_DIR/ping.out")
echo "# ping every 10 ms across the swap: $pl (transmitted received)"
assert_true "no ping lost across the swap ($pl)" "" eval '[ -n "$pl" ] && [ "${pl% *}" = "${pl#* }" ] && [ "${pl% *}" -ge 400 ]'

assert_eq "status: 32768 slots for 24576 names (2 x 9302 keys, a power of two)" "32768 24576" "$(slots)"
assert_match "status text shows the new size" "host names up to 24576 \(32768 index slots" \
	"$(lab_tapis status)"
ID1=$(xdp_id)
assert_true "another program runs on r0 ($ID0 -> $ID1)" "" test -n "$ID1" -a "$ID1" != "$ID0"
assert_eq "the program running is the pinned one" "$ID1" "$(pinned_id)"
assert_eq "no pin of the swap is left" "" "$(ls "$TAPIS_PIN" | grep _next)"
assert_fail "DNS: g9000.grow.example (new) is dropped" dns_answered g9000.grow.example
assert_fail "DNS: g9299.grow.example (new, last) is dropped" dns_answered g9299.grow.example
sleep 1.2 # past the reader's next renewal, on the new tapis_ctl
assert_fail "DNS: g9298.grow.example (new) is dropped" dns_answered g9298.grow.example
sleep 0.5
assert_match "the events reader started before the swap saw the drop after it" \
	'"g9298.grow.example"' "$(cat "$LAB_DIR/events.out")"
lab_stop_pid "$EVENTS_PID" tapis
assert_fail "DNS: blocked.example (old) is still dropped" dns_answered blocked.example
assert_fail "DNS: g99.grow.example (old) is still dropped" dns_answered g99.grow.example
assert_ok "DNS: allowed.example is answered" dns_answered allowed.example
assert_fail "HTTP: newly.example (new) is dropped" http newly.example
assert_fail "HTTP: blocked.example is still dropped" http blocked.example
assert_ok "HTTP: allowed.example is served" http allowed.example
P1=$(rule_stat names packets)
assert_true "rule counters kept: packets $P0 before, $P1 after" "" test "${P1:-0}" -gt "$P0"
assert_eq "rule names counts since the same instant" "$SINCE0" "$(rule_stat names since)"
F1=$(kind flow)
sleep 2
F2=$(kind flow)
assert_true "the flow blocked before the swap is still dropped as a flow ($F0 -> $F1 -> $F2)" "" \
	test "${F2:-0}" -gt "${F1:-0}" -a "${F1:-0}" -ge "$F0"
lab_stop_pid "$FLOW_PID" curl

assert_ok "unload" lab_tapis unload
assert_ok "load 100 names again" lab_tapis load --policy "$tmp/small.yaml" --iface r0 --mode native ||
	lab_test_end
assert_fail "DNS: g0.grow.example is dropped" dns_answered g0.grow.example
P2=$(rule_stat names packets)
names "$tmp/live.txt" 20000 4000
# shellcheck disable=SC2046 # one argument a name
assert_ok "host add of 4,000 names onto tables for 3,072: exit 0" \
	lab_tapis host add $(cat "$tmp/live.txt") --rule names
assert_match "it says the tables grew" "the host tables hold 3072 host names at most: grown to 8192 index slots" "$OUT"
assert_eq "status: 8192 slots for 6144 names" "8192 6144" "$(slots)"
assert_fail "DNS: g23999.grow.example (the last added) is dropped" dns_answered g23999.grow.example
assert_fail "DNS: g20000.grow.example (the first added) is dropped" dns_answered g20000.grow.example
assert_fail "DNS: g0.grow.example (policy) is still dropped" dns_answered g0.grow.example
assert_ok "DNS: g30000.grow.example is answered" dns_answered g30000.grow.example
assert_true "rule counters kept over the grow" "" test "$(rule_stat names packets)" -gt "$P2"
assert_eq "the program running is the pinned one" "$(xdp_id)" "$(pinned_id)"
assert_eq "no pin of the swap is left" "" "$(ls "$TAPIS_PIN" | grep _next)"
assert_ok "host del of an added name" lab_tapis host del g20000.grow.example --rule names
assert_ok "DNS: g20000.grow.example is answered again" dns_answered g20000.grow.example
assert_ok "unload" lab_tapis unload
assert_true "nothing pinned after the unload" "" eval '! pins_left'

lab_test_end
