#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_redirect.sh - action redirect, end to end: packets a rule redirects
# leave the router through a second interface (r2) to the block-page host
# (a fourth namespace, lab_add_blockpage), with their destination MAC set to
# the host's; nothing else changes. The block-page host holds every server
# address as its own (AnyIP), so redirected connections are answered there.
#
#   range    198.18.3.0/24 and 2001:db8:3::/48: pings and HTTP reach the
#            block-page host, never the real server; the client gets the block
#            page; the rule counts exactly the packets the block-page host saw
#   allow    198.18.3.99 inside the range still reaches the real server
#   names    blocked.example on 198.18.2.10 (an address no rule lists): its
#            ClientHello and request go to the block-page host, not the real
#            server; allowed.example on the same address is served as before
#
# Arrivals are counted by nftables (netdev ingress on bp0 and s0, by
# destination; "data" counters take only TCP segments with a payload), so no
# packet socket sits on any interface.

. "$(dirname "$0")/lib.sh"
lab_test_begin nft

tmp=$(t_tmp)
W4=$LAB_WEB4 W6=$LAB_WEB6

assert_ok "add the block-page host behind r2" lab_add_blockpage || lab_test_end
assert_ok "bp0 runs an XDP program (so redirected frames arrive)" \
	bash -c 'ip -n "$1" link show bp0 | grep -q prog/xdp' _ "$LAB_NS_B"
assert_eq "bp0 has the lab's block-page MAC" "$LAB_BP_MAC" \
	"$(ip -n "$LAB_NS_B" -br link show bp0 | awk '{print $3}')"
assert_ok "the block-page host answers a ping from the router" lab_exec r ping -c 1 -W 1 "$LAB_BP4"
assert_ok "nginx serves allowed.example and blocked.example by name" \
	lab_web_sites "$tmp/pki" allowed.example blocked.example
CA=$tmp/pki/ca.pem

# --- counters where packets arrive -------------------------------------------------
count_table() { # NS DEV
	lab_exec "$1" nft -f - <<-EOF
		table netdev tapis_lab {
		    chain in {
		        type filter hook ingress device $2 priority 0;
		        ip daddr 198.18.3.0/24 ip daddr != 198.18.3.99 counter comment "range4"
		        ip6 daddr 2001:db8:3::/48 ip6 daddr != 2001:db8:3::99 counter comment "range6"
		        ip daddr 198.18.3.99 counter comment "exc4"
		        ip6 daddr 2001:db8:3::99 counter comment "exc6"
		        ip daddr $W4 tcp dport { 80, 443, 8080 } ip length > 100 counter comment "web4data"
		        ip6 daddr $W6 tcp dport { 80, 443, 8080 } ip6 length > 80 counter comment "web6data"
		    }
		}
	EOF
}
assert_ok "nft counters on bp0 (block-page host)" count_table b bp0
assert_ok "nft counters on s0 (real server)" count_table s s0
# counters NS: "name packets" lines for the table's counters
counters() {
	lab_exec "$1" nft -j list table netdev tapis_lab | python3 -c '
import json, sys
for o in json.load(sys.stdin)["nftables"]:
    r = o.get("rule")
    if r:
        n = next(e["counter"]["packets"] for e in r["expr"] if "counter" in e)
        print(r["comment"], n)'
}
# snap: remember both hosts' counters; delta NS NAME: the rise since snap
snap() {
	SNAP_B=$(counters b)
	SNAP_S=$(counters s)
}
delta() {
	local now was
	now=$(counters "$1" | awk -v k="$2" '$1 == k {print $2}')
	if [ "$1" = b ]; then was=$SNAP_B; else was=$SNAP_S; fi
	was=$(awk -v k="$2" '$1 == k {print $2}' <<<"$was")
	echo $((${now:-0} - ${was:-0}))
}

# --- the policy ----------------------------------------------------------------------
policy=$tmp/policy.yaml
cat >"$policy" <<EOF
version: 1
rules:
  - name: range-to-blockpage
    action: redirect
    reference: "LAB/REDIRECT/RANGE"
    redirect: { iface: r2, mac: "$LAB_BP_MAC" }
    nets: [198.18.3.0/24, "2001:db8:3::/48"]
  - name: range-exception
    action: allow
    reference: "LAB/REDIRECT/EXCEPTION"
    nets: [198.18.3.99/32, "2001:db8:3::99/128"]
  - name: names-to-blockpage
    action: redirect
    reference: "LAB/REDIRECT/NAMES"
    redirect: { iface: r2, mac: "$LAB_BP_MAC" }
    hosts: [blocked.example]
EOF
# r2 exists in the router's namespace only: check looks interfaces up where
# it runs, so it runs there (or skips the lookup with --no-iface-check).
assert_ok "check accepts the redirect policy (in the router namespace)" \
	lab_tapis check --policy "$policy"
assert_ok "check --no-iface-check accepts it anywhere" \
	"$TAPIS_BIN" check --policy "$policy" --no-iface-check
assert_ok "load in native mode on r0" lab_tapis load --policy "$policy" --iface r0 --mode native ||
	lab_test_end
real_log_from=$(($(wc -l <"$LAB_WEB_LOG") + 1))
real_logged() { # REGEX: the real server's nginx served a matching request
	tail -n +"$real_log_from" "$LAB_WEB_LOG" | grep -qiE -- "$1"
}

# --- range: to the block-page host --------------------------------------------------------
snap
p0=$(rule_stat range-to-blockpage packets)
assert_eq "ping 198.18.3.10: 3 of 3 echoed (by the block-page host)" 3 "$(ping_count c 198.18.3.10 3)"
assert_eq "ping 2001:db8:3::10: 3 of 3 echoed" 3 "$(ping_count c 2001:db8:3::10 3)"
assert_eq "the block-page host got the 3 IPv4 echo requests" 3 "$(delta b range4)"
assert_eq "the block-page host got the 3 IPv6 echo requests" 3 "$(delta b range6)"
assert_eq "the real server got none of them (IPv4)" 0 "$(delta s range4)"
assert_eq "the real server got none of them (IPv6)" 0 "$(delta s range6)"

assert_ok "curl http://198.18.3.10/ gets a page" curl_body c http://198.18.3.10/
assert_match "it is the block page, for 198.18.3.10" \
	"^tapis-lab blockpage server_addr=198\.18\.3\.10 port=80 " "$OUT"
assert_ok "curl http://[2001:db8:3::10]:8080/ gets a page" curl_body c "http://[2001:db8:3::10]:8080/"
assert_match "it is the block page, for 2001:db8:3::10" \
	"^tapis-lab blockpage server_addr=2001:db8:3::10 port=8080 " "$OUT"
assert_ok "the block page's nginx logged both requests" \
	bash -c 'grep -q "198.18.3.10:80 " "$1" && grep -q "2001:db8:3::10:8080 " "$1"' _ "$LAB_BP_LOG"
assert_true "the real server's nginx logged neither" "it did" \
	eval '! real_logged "-> (198\.18\.3\.10|2001:db8:3::10):"'
assert_fail "curl https://198.18.3.10/ (no TLS on the block page) fails" \
	curl_body c https://198.18.3.10/ -k
assert_eq "the real server got no packet for the range" 0 $(($(delta s range4) + $(delta s range6)))

js=$(lab_tapis stats --json)
p1=$(rule_stat range-to-blockpage packets "$js")
seen=$(($(delta b range4) + $(delta b range6)))
assert_eq "range-to-blockpage counted exactly the packets the block-page host got ($seen)" \
	"$seen" $((${p1:-0} - ${p0:-0}))
assert_eq "no redirect errors" 0 "$(json_q "$js" "d['counters']['redirect_errors']")"
assert_eq "range-to-blockpage action in stats" redirect "$(rule_stat range-to-blockpage action "$js")"

# --- the exception and unlisted addresses: the real server --------------------------------------
snap
assert_ok "curl http://198.18.3.99/ (allowed in the range)" curl_body c http://198.18.3.99/
assert_match "served by the real server" "^tapis-lab server_addr=198\.18\.3\.99 " "$OUT"
assert_ok "curl http://[2001:db8:3::99]:8080/" curl_body c "http://[2001:db8:3::99]:8080/"
assert_match "served by the real server (IPv6)" "^tapis-lab server_addr=2001:db8:3::99 " "$OUT"
assert_true "the real server got them" "exc4 +$(delta s exc4), exc6 +$(delta s exc6)" \
	test "$(delta s exc4)" -gt 0 -a "$(delta s exc6)" -gt 0
assert_eq "the block-page host got none of them" 0 $(($(delta b exc4) + $(delta b exc6)))
assert_ok "curl https://allowed.example/ (no rule)" curl_body c https://allowed.example/ \
	--cacert "$CA" --resolve "allowed.example:443:$W4"
assert_match "served by the real server, by name" "^tapis-lab site=allowed\.example server_addr=$W4 " "$OUT"
assert_eq "the block-page host got nothing for $W4" 0 "$(delta b web4data)"
assert_true "range-exception counted (>= 2)" "got $(rule_stat range-exception packets)" \
	test "$(rule_stat range-exception packets)" -ge 2

# --- names: blocked.example's ClientHello and request go to the block-page host ---------------
# The TCP handshake precedes the name, so it reaches the real server; the
# first segment carrying the name, and the rest of the flow, must not.
snap
assert_fail "curl https://blocked.example/ does not get the real page" \
	curl_body c https://blocked.example/ --cacert "$CA" --resolve "blocked.example:443:$W4"
assert_fail "curl over IPv6 https://www.blocked.example/ does not get the real page" \
	curl_body c https://www.blocked.example/ --cacert "$CA" --resolve "www.blocked.example:443:[$W6]"
assert_fail "curl http://blocked.example:8080/ does not get the real page" \
	curl_body c http://blocked.example:8080/ --resolve "blocked.example:8080:$W4"
d4=$(delta b web4data) d6=$(delta b web6data)
assert_true "the block-page host got the ClientHello and the request for $W4 (>= 2, got $d4)" \
	"got $d4" test "$d4" -ge 2
assert_true "the block-page host got the ClientHello for $W6 (>= 1, got $d6)" "got $d6" test "$d6" -ge 1
assert_eq "the real server got no segment with data for $W4" 0 "$(delta s web4data)"
assert_eq "the real server got no segment with data for $W6" 0 "$(delta s web6data)"
assert_true "the real server's nginx never served blocked.example" "it did" \
	eval '! real_logged "(sni|host)=(www\.)?blocked\.example "'
js=$(lab_tapis stats --json)
n=$(json_q "$js" "next(r['kinds']['tls'] for r in d['rules'] if r['name'] == 'names-to-blockpage')")
assert_true "names-to-blockpage: tls >= 2, got $n" "got '$n'" test "${n:-0}" -ge 2
n=$(json_q "$js" "next(r['kinds']['http'] for r in d['rules'] if r['name'] == 'names-to-blockpage')")
assert_true "names-to-blockpage: http >= 1, got $n" "got '$n'" test "${n:-0}" -ge 1
assert_eq "still no redirect errors" 0 "$(json_q "$js" "d['counters']['redirect_errors']")"

# allowed.example shares the address and is still served
snap
assert_ok "curl over IPv6 https://allowed.example/ still loads" curl_body c https://allowed.example/ \
	--cacert "$CA" --resolve "allowed.example:443:[$W6]"
assert_match "from the real server" "^tapis-lab site=allowed\.example server_addr=$W6 " "$OUT"
assert_eq "the block-page host got nothing for it" 0 "$(delta b web6data)"

# --- unload: the range reaches the real server again ---------------------------------------
assert_ok "unload" lab_tapis unload
snap
assert_ok "curl http://198.18.3.10/ after unload" curl_body c http://198.18.3.10/
assert_match "served by the real server" "^tapis-lab server_addr=198\.18\.3\.10 " "$OUT"
assert_eq "the block-page host got nothing" 0 "$(delta b range4)"

lab_test_end
