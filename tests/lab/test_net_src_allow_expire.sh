#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_net_src_allow_expire.sh - net rules beyond a plain destination drop:
#   direction src     blocks one client source address, not the others
#   allow /32         an exception inside a blocked /24 passes (and wins)
#   expires           a rule expired in the past never blocks; a rule that
#                     expires while loaded blocks until then and stops
#                     blocking by itself, with no tapis command in between
#                     (enforced in the data path). Its expiry is set 12 s
#                     after the load has finished (by a reload), so a slow
#                     load cannot eat the time its "blocks before expiry"
#                     check needs; that check is never left out.
#   monitor           counts every packet and passes it
#   expired_hits      matches of the expired rule count there and in the
#                     Prometheus tapis_rule_expired_matches_total, not in
#                     its packets
#   stats             kinds / kind_bytes add up to packets / bytes; --top N
#                     gives the N rules with most packets, same document
#   reload            a rule removed from the policy is gone from stats
#                     (JSON, text, Prometheus); the others keep their counts

. "$(dirname "$0")/lib.sh"
lab_test_begin

tmp=$(t_tmp)
policy=$tmp/policy.yaml
# expires-soon starts a day away; its real expiry comes after the load.
soon=$(date -u -d "@$(($(date +%s) + 86400))" +%Y-%m-%dT%H:%M:%SZ)
cat >"$policy" <<EOF
version: 1
rules:
  - name: block-range
    action: drop
    reference: "LAB/RANGE"
    nets: [198.18.3.0/24, "2001:db8:3::/48"]
  - name: range-exception
    action: allow
    reference: "LAB/RANGE annex"
    nets: [198.18.3.99/32, "2001:db8:3::99/128"]
  - name: block-client-src
    action: drop
    reference: "LAB/SRC"
    direction: src
    nets: [198.18.1.66/32, "2001:db8:1::66/128"]
  - name: expired-long-ago
    action: drop
    reference: "LAB/EXPIRED"
    expires: 2020-01-01T00:00:00Z
    nets: ["2001:db8:2::2/128"]
  - name: expires-soon
    action: drop
    reference: "LAB/SOON"
    expires: $soon
    nets: [198.18.2.2/32]
  - name: watch-web
    action: monitor
    reference: "LAB/WATCH"
    nets: [198.18.2.10/32, "2001:db8:2::10/128"]
EOF

assert_ok "load the policy on r0 (native)" lab_tapis load --policy "$policy" --iface r0 --mode native ||
	lab_test_end # nothing below means anything without it

# --- expires: the rule that expires soon blocks until then ----------------------
soon_epoch=$(($(date +%s) + 12))
soon_new=$(date -u -d "@$soon_epoch" +%Y-%m-%dT%H:%M:%SZ)
sed -i "s/expires: $soon\$/expires: $soon_new/" "$policy"
soon=$soon_new
assert_match "the policy now says expires: $soon" "expires: $soon\$" "$(cat "$policy")"
assert_ok "reload: expires-soon expires at $soon" lab_tapis reload --policy "$policy"
left=$((soon_epoch - $(date +%s)))
# Three pings take about a second; less time than that left is a reload
# far slower than it should be, and a failure, not a check left out.
assert_true "the reload left time before the expiry (${left} s)" "only ${left} s left" test "$left" -ge 3
assert_eq "expires-soon blocks 198.18.2.2 before it expires" 0 "$(ping_count c 198.18.2.2 3)"

# --- direction src --------------------------------------------------------------------
s0=$(rule_stat block-client-src packets)
assert_eq "src 198.18.1.66 -> 198.18.2.1: blocked" 0 "$(ping_count c 198.18.2.1 3 -I 198.18.1.66)"
assert_eq "src 2001:db8:1::66 -> 2001:db8:2::1: blocked" 0 "$(ping_count c 2001:db8:2::1 3 -I 2001:db8:1::66)"
s1=$(rule_stat block-client-src packets)
assert_eq "block-client-src counted the 6 echo requests" 6 $((${s1:-0} - ${s0:-0}))
assert_eq "src 198.18.1.2 -> 198.18.2.1: passes" 3 "$(ping_count c 198.18.2.1 3)"
assert_eq "src 2001:db8:1::2 -> 2001:db8:2::1: passes" 3 "$(ping_count c 2001:db8:2::1 3)"
assert_eq "block-client-src did not count other sources" "$s1" "$(rule_stat block-client-src packets)"
# TCP to the router, where nothing listens: refused (curl exit 7) when the
# SYN gets through, timed out (exit 28) when it is dropped.
assert_exit "TCP from 198.18.1.66 is dropped (curl times out)" 28 \
	lab_exec c curl -sS --max-time 1 --interface 198.18.1.66 http://198.18.2.1:81/
assert_exit "TCP from 198.18.1.2 gets through (connection refused)" 7 \
	lab_exec c curl -sS --max-time 1 http://198.18.2.1:81/

# --- allow /32 inside a blocked /24 ------------------------------------------------------
e0=$(rule_stat range-exception packets)
assert_eq "198.18.3.99 (allowed inside the blocked /24): 3 replies" 3 "$(ping_count c 198.18.3.99 3)"
assert_eq "2001:db8:3::99 (allowed inside the blocked /48): 3 replies" 3 "$(ping_count c 2001:db8:3::99 3)"
e1=$(rule_stat range-exception packets)
assert_eq "range-exception counted the 6 echo requests" 6 $((${e1:-0} - ${e0:-0}))
assert_ok "curl http://198.18.3.99/ is served" curl_body c http://198.18.3.99/
assert_match "the page names 198.18.3.99" "server_addr=198\.18\.3\.99 " "$OUT"
assert_ok "curl http://[2001:db8:3::99]/ is served" curl_body c "http://[2001:db8:3::99]/"
assert_eq "198.18.3.10 (same /24, not excepted): blocked" 0 "$(ping_count c 198.18.3.10 3)"
assert_eq "2001:db8:3::10 (same /48, not excepted): blocked" 0 "$(ping_count c 2001:db8:3::10 3)"
assert_fail "curl http://198.18.3.10/ fails" curl_body c http://198.18.3.10/
assert_eq "allow on the destination wins over a src drop (DESIGN: allow wins)" 3 \
	"$(ping_count c 198.18.3.99 3 -I 198.18.1.66)"
assert_ok "explain 198.18.3.99" lab_tapis explain 198.18.3.99
assert_match "explain 198.18.3.99 names range-exception" "range-exception" "$OUT"
assert_ok "explain 198.18.3.10" lab_tapis explain 198.18.3.10
assert_match "explain 198.18.3.10 names block-range" "block-range" "$OUT"

# --- expired in the past ---------------------------------------------------------------
assert_eq "expired-long-ago does not block 2001:db8:2::2" 3 "$(ping_count c 2001:db8:2::2 3)"
assert_ok "curl http://[2001:db8:2::2]/ is served" curl_body c "http://[2001:db8:2::2]/"
assert_eq "expired-long-ago counted nothing" 0 "$(rule_stat expired-long-ago packets)"
eh=$(rule_stat expired-long-ago expired_hits)
assert_true "expired-long-ago's expired_hits counted the echo requests and HTTP packets" \
	"expired_hits $eh" test "${eh:-0}" -ge 4

# --- monitor ----------------------------------------------------------------------------
m0=$(rule_stat watch-web packets)
assert_eq "monitor: 198.18.2.10 answers 4 of 4" 4 "$(ping_count c 198.18.2.10 4)"
assert_eq "monitor: 2001:db8:2::10 answers 2 of 2" 2 "$(ping_count c 2001:db8:2::10 2)"
m1=$(rule_stat watch-web packets)
assert_eq "watch-web counted exactly the 6 echo requests" 6 $((${m1:-0} - ${m0:-0}))
assert_eq "watch-web action is monitor" monitor "$(rule_stat watch-web action)"
assert_ok "curl http://198.18.2.10/ through the monitor rule is served" curl_body c http://198.18.2.10/
m2=$(rule_stat watch-web packets)
assert_true "watch-web counted the HTTP packets too" "$m1 -> $m2" test "${m2:-0}" -gt "${m1:-0}"

# --- expires while loaded -------------------------------------------------------------------
wait_s=$((soon_epoch - $(date +%s) + 2))
if [ "$wait_s" -gt 0 ]; then
	echo "# waiting ${wait_s}s for expires-soon ($soon) to pass"
	sleep "$wait_s"
fi
x0=$(rule_stat expires-soon expired_hits)
xp=$(rule_stat expires-soon packets)
assert_eq "expires-soon stopped blocking 198.18.2.2 by itself" 3 "$(ping_count c 198.18.2.2 3)"
x1=$(rule_stat expires-soon expired_hits)
assert_eq "expires-soon's expired_hits counted the 3 echo requests" 3 $((${x1:-0} - ${x0:-0}))
assert_ok "curl http://198.18.2.2/ is served after expiry" curl_body c http://198.18.2.2/
assert_ok "stats --json" lab_tapis stats --json
js=$OUT
x2=$(rule_stat expires-soon expired_hits "$js")
assert_true "the HTTP packets count in expired_hits too" "$x1 -> $x2" test "${x2:-0}" -gt "${x1:-0}"
assert_eq "expires-soon counted no packets since it expired" "$xp" "$(rule_stat expires-soon packets "$js")"
assert_ok "stats --prometheus" lab_tapis stats --prometheus
prom=$OUT
assert_match "tapis_rule_expired_matches_total of expires-soon is its expired_hits" \
	"^tapis_rule_expired_matches_total\\{rule=\"expires-soon\",action=\"drop\"\\} $x2\$" "$prom"
assert_match "a live rule has tapis_rule_expired_matches_total 0" \
	"^tapis_rule_expired_matches_total\\{rule=\"block-range\",action=\"drop\"\\} 0\$" "$prom"

# --- stats: kinds add up, --top N -------------------------------------------------------
assert_eq "every rule's kinds add up to its packets, kind_bytes to its bytes" "[]" \
	"$(json_q "$js" "[r['name'] for r in d['rules'] if sum(r['kinds'].values()) != r['packets'] or sum(r['kind_bytes'].values()) != r['bytes']]")"
assert_true "the traffic above was counted in bytes" "no bytes" \
	json_q "$js" "sum(r['bytes'] for r in d['rules']) > 0"
assert_ok "stats --json --top 2" lab_tapis stats --json --top 2
top=$OUT
# Compared by counts, so that rules with equal counts may come in any order.
want=$(json_q "$js" "sorted((r['packets'] for r in d['rules']), reverse=True)[:2]")
assert_eq "--top 2: two rules, the most packets first" "$want" \
	"$(json_q "$top" "[r['packets'] for r in d['rules']]")"
assert_eq "--top 2: the document keeps its shape" "$(json_q "$js" "sorted(d)")" "$(json_q "$top" "sorted(d)")"

# --- a rule that leaves the policy leaves the stats ------------------------------------
assert_eq "before: watch-web is in stats" monitor "$(rule_stat watch-web action)"
assert_match "before: watch-web has Prometheus series" 'rule="watch-web"' "$prom"
src_before=$(rule_stat block-client-src packets)
python3 - "$policy" <<'EOF'
import re, sys
p = sys.argv[1]
s = open(p).read()
s2 = re.sub(r"  - name: watch-web\n(    .*\n)*", "", s)
assert s2 != s
open(p, "w").write(s2)
EOF
lacks() { ! grep -qF -- "$1" <<<"$2"; } # TEXT has no line with $1
assert_true "the policy no longer names watch-web" "still there" lacks watch-web "$(cat "$policy")"
assert_ok "reload without watch-web" lab_tapis reload --policy "$policy"
assert_ok "stats --json after the reload" lab_tapis stats --json
js=$OUT
assert_eq "after: watch-web is gone from stats --json" "[]" \
	"$(json_q "$js" "[r['name'] for r in d['rules'] if r['name'] == 'watch-web']")"
assert_eq "after: the other rules are there" \
	"block-range range-exception block-client-src expired-long-ago expires-soon" \
	"$(json_q "$js" "' '.join(r['name'] for r in d['rules'])")"
assert_eq "after: block-client-src kept its count" "$src_before" "$(rule_stat block-client-src packets "$js")"
assert_ok "stats --prometheus after the reload" lab_tapis stats --prometheus
assert_true "after: no Prometheus series names watch-web" "$(grep -m 2 'watch-web' <<<"$OUT")" \
	lacks 'rule="watch-web"' "$OUT"
assert_ok "stats (text) after the reload" lab_tapis stats
assert_true "after: the text table does not name watch-web" "$(grep -m 2 'watch-web' <<<"$OUT")" \
	lacks watch-web "$OUT"
assert_eq "198.18.2.10 still answers (nothing matches it now)" 2 "$(ping_count c 198.18.2.10 2)"

assert_ok "unload" lab_tapis unload
lab_test_end
