#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_net_block.sh - an IP-range drop rule on a router, end to end.
#
# Loads a policy dropping 198.18.3.0/24 and 2001:db8:3::/48 in native mode on
# r0 and checks, with real clients: blocked addresses get nothing (ping,
# curl), other addresses are served; the rule's packet counter equals exactly
# the echo requests sent to blocked addresses; status reports the interface
# and mode; another tapis process sees the same state; unload restores
# traffic and removes the pins.

. "$(dirname "$0")/lib.sh"
lab_test_begin

tmp=$(t_tmp)
policy=$tmp/policy.yaml
cat >"$policy" <<'EOF'
version: 1
rules:
  - name: block-range
    action: drop
    reference: "LAB/NET/1"
    nets: [198.18.3.0/24, "2001:db8:3::/48"]
EOF

assert_ok "check accepts the policy" "$TAPIS_BIN" check --policy "$policy"
assert_ok "load in native mode on r0" lab_tapis load --policy "$policy" --iface r0 --mode native ||
	lab_test_end # nothing below means anything without it
assert_true "r0 has an XDP program" "ip link shows no prog/xdp on r0" router_xdp r0
assert_true "pins at the pin path" "nothing pinned at $TAPIS_PIN" pins_left

# --- reachability ---------------------------------------------------------------
assert_eq "ping 198.18.3.10 (blocked): 0 of 5 replies" 0 "$(ping_count c 198.18.3.10 5)"
assert_eq "ping 2001:db8:3::10 (blocked): 0 of 5 replies" 0 "$(ping_count c 2001:db8:3::10 5)"
assert_fail "curl http://198.18.3.10/ (blocked) fails" curl_body c http://198.18.3.10/
assert_fail "curl http://[2001:db8:3::10]/ (blocked) fails" curl_body c "http://[2001:db8:3::10]/"
assert_fail "curl :8080 on 198.18.3.10 (blocked) fails" curl_body c http://198.18.3.10:8080/
assert_eq "ping 198.18.2.10: 5 of 5 replies" 5 "$(ping_count c 198.18.2.10 5)"
assert_eq "ping 2001:db8:2::10: 5 of 5 replies" 5 "$(ping_count c 2001:db8:2::10 5)"
assert_ok "curl http://198.18.2.10/ is served" curl_body c http://198.18.2.10/
assert_match "the page names 198.18.2.10" "server_addr=198\.18\.2\.10 " "$OUT"
assert_ok "curl http://[2001:db8:2::10]:8080/ is served" curl_body c "http://[2001:db8:2::10]:8080/"
assert_match "the page names 2001:db8:2::10" "server_addr=2001:db8:2::10 " "$OUT"
assert_ok "DNS to 198.18.2.2 still answers" lab_exec c dig +short +time=1 +tries=2 @198.18.2.2 allowed.example
assert_eq "DNS answer for allowed.example" 198.18.2.10 "$OUT"

# --- counters: exactly the echo requests sent to blocked addresses -----------------
assert_ok "stats --json works" lab_tapis stats --json
before=$OUT
assert_ok "stats --json is valid JSON with a rules list" json_q "$before" "isinstance(d['rules'], list)"
p0=$(rule_stat block-range packets "$before")
b0=$(rule_stat block-range bytes "$before")
assert_match "block-range has a packet count" '^[0-9]+$' "$p0"
assert_eq "block-range action in stats" drop "$(rule_stat block-range action "$before")"
assert_eq "block-range reference in stats" "LAB/NET/1" "$(rule_stat block-range reference "$before")"

N4=7 N6=4
assert_eq "ping -c $N4 198.18.3.10: no reply" 0 "$(ping_count c 198.18.3.10 $N4)"
assert_eq "ping -c $N6 2001:db8:3::10: no reply" 0 "$(ping_count c 2001:db8:3::10 $N6)"
assert_eq "ping 198.18.2.10 meanwhile: 3 replies" 3 "$(ping_count c 198.18.2.10 3)"
assert_ok "stats --json after the pings" lab_tapis stats --json
after=$OUT
p1=$(rule_stat block-range packets "$after")
b1=$(rule_stat block-range bytes "$after")
assert_eq "block-range counted exactly $((N4 + N6)) packets (the echo requests)" \
	$((N4 + N6)) $((${p1:-0} - ${p0:-0}))
# 84/104 bytes of IP per echo request, 98/118 with the Ethernet header.
db=$((${b1:-0} - ${b0:-0}))
lo=$((N4 * 84 + N6 * 104)) hi=$((N4 * 98 + N6 * 118))
assert_true "block-range bytes grew by the echo requests' size ($lo..$hi)" "grew by $db" \
	test "$db" -ge "$lo" -a "$db" -le "$hi"
assert_match "block-range last_hit is an RFC 3339 time" \
	'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}' "$(rule_stat block-range last_hit "$after")"

# --- another process sees the same state ------------------------------------------------
assert_ok "a second tapis process reads stats" lab_tapis stats --json
assert_eq "the second process sees the same block-range packets" "$p1" "$(rule_stat block-range packets "$OUT")"
assert_ok "stats (text) names the rule" lab_tapis stats
assert_match "text stats list block-range" "block-range" "$OUT"

# --- the Prometheus exposition, as monitoring would read it -------------------------------
assert_ok "stats --prometheus" lab_tapis stats --prometheus
prom=$OUT
assert_match "block-range's packet counter carries the JSON figure" \
	"^tapis_rule_packets_total\\{rule=\"block-range\",action=\"drop\"\\} $p1\$" "$prom"
if command -v promtool >/dev/null 2>&1; then
	assert_ok "promtool check metrics accepts the exposition" \
		bash -c 'promtool check metrics <<<"$1"' _ "$prom"
else
	skip_missing "promtool missing (make deps installs prometheus)"
fi

assert_ok "status --json" lab_tapis status --json
st=$OUT
assert_eq "status: loaded" true "$(json_q "$st" "d.get('loaded')")"
assert_eq "status: interface r0" r0 "$(json_q "$st" "','.join(i['name'] for i in d['ifaces'])")"
assert_eq "status: mode native" native "$(json_q "$st" "d['ifaces'][0]['mode']")"
assert_eq "status: ifindex of r0" "$(ip netns exec "$LAB_NS_R" cat /sys/class/net/r0/ifindex)" \
	"$(json_q "$st" "d['ifaces'][0]['ifindex']")"
assert_eq "status: 1 rule" 1 "$(json_q "$st" "d.get('rules')")"
assert_ok "status (text) works" lab_tapis status
assert_match "text status names r0" "r0" "$OUT"

# The state lives in the pins, not in a process: a client namespace process
# (another mount and network namespace) reads the same counters.
assert_ok "stats from another namespace's process" \
	ip netns exec "$LAB_NS_C" "$TAPIS_BIN" stats --json --pin-path "$TAPIS_PIN"
assert_eq "it sees the same block-range packets" "$p1" "$(rule_stat block-range packets "$OUT")"

# --- unload ------------------------------------------------------------------------
assert_ok "unload" lab_tapis unload
assert_ok "r0 has no XDP program after unload" router_no_xdp r0
assert_true "the pin directory is gone or empty" "left: $(ls -A "$TAPIS_PIN" 2>/dev/null | tr '\n' ' ')" \
	no_pins
assert_eq "ping 198.18.3.10 after unload: 3 replies" 3 "$(ping_count c 198.18.3.10 3)"
assert_eq "ping 2001:db8:3::10 after unload: 3 replies" 3 "$(ping_count c 2001:db8:3::10 3)"
assert_ok "curl http://198.18.3.10/ after unload is served" curl_body c http://198.18.3.10/
assert_exit "status after unload: no state (exit 4)" 4 lab_tapis status

lab_test_end
