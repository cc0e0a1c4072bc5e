#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_events.sh - `tapis events`: block events as they happen.
#
# A reader runs while a ping to a blocked address, a DNS query for a blocked
# name and a TLS ClientHello for a blocked SNI cross the router: each gives
# one event whose fields (rule, action, kind, hostname, addresses, ports,
# protocol, interface) are those of the packet. With no reader, blocked
# packets write no event and count none lost. Then a flood far over
# settings.events' rate while a reader runs: the events lost are counted,
# the events written stay within the rate and reach the reader, and the
# CLI answers meanwhile.

. "$(dirname "$0")/lib.sh"
lab_test_begin dig curl

tmp=$(t_tmp)
here=$(cd "$(dirname "$0")" && pwd)
cat >"$tmp/policy.yaml" <<'EOF'
version: 1
settings:
  events: {rate: 20, burst: 10}
rules:
  - name: nets
    action: drop
    nets: [198.18.3.10/32]
  - name: names
    action: drop
    hosts: [blocked.example, tls-blocked.example]
EOF
assert_ok "load" lab_tapis load --policy "$tmp/policy.yaml" --iface r0 --mode native || lab_test_end
SERVE=127.0.0.1:19477
lab_bg serve tapis r "$TAPIS_BIN" serve --pin-path "$TAPIS_PIN" --listen "$SERVE"
metrics() { lab_exec r curl -sS --max-time 2 "http://$SERVE/metrics"; }
for _ in $(seq 50); do metrics >/dev/null 2>&1 && break; sleep 0.1; done

lab_bg events tapis r "$TAPIS_BIN" events --json --count 3 --timeout 30 --pin-path "$TAPIS_PIN"
epid=$LAB_LAST_PID
sleep 0.5
assert_eq "ping 198.18.3.10 (blocked): no reply" 0 "$(ping_count c 198.18.3.10 1)"
lab_exec c dig +time=1 +tries=1 @198.18.2.2 blocked.example >/dev/null 2>&1
lab_exec c curl -sk --max-time 2 --resolve tls-blocked.example:443:198.18.2.10 \
	https://tls-blocked.example/ >/dev/null 2>&1
for _ in $(seq 50); do lab_pid_alive "$epid" || break; sleep 0.1; done
wait "$epid" 2>/dev/null
ev=$(cat "$LAB_DIR/events.out")
assert_eq "three events, one line each" 3 "$(grep -c '^{' <<<"$ev")"
q() { python3 -c '
import json, sys
evs = [json.loads(l) for l in sys.argv[1].splitlines() if l.startswith("{")]
e = next((e for e in evs if e["kind"] == sys.argv[2]), None)
print(json.dumps(None if e is None else [e.get(k) for k in sys.argv[3].split(",")]))
' "$ev" "$1" "$2"; }
assert_eq "net event: rule, action, addresses, protocol, interface" \
	'["nets", "drop", "198.18.1.2", "198.18.3.10", "icmp", "r0", null]' \
	"$(q net rule,action,src,dst,proto,iface,hostname)"
assert_eq "DNS event: the hostname and port 53 over UDP" \
	'["names", "drop", "blocked.example", "198.18.2.2", "udp", 53]' \
	"$(q dns rule,action,hostname,dst,proto,dport)"
assert_eq "TLS event: the SNI and port 443 over TCP" \
	'["names", "drop", "tls-blocked.example", "198.18.2.10", "tcp", 443]' \
	"$(q tls rule,action,hostname,dst,proto,dport)"
assert_match "each event has an RFC 3339 time" '"time": "20[0-9-]+T[0-9:.]+Z"' "$ev"

# The reader ended with --count: it said so, and blocked packets now write no
# event and count none lost (nobody would see them).
assert_ok "stats after the reader" lab_tapis stats --json
e0=$(json_q "$OUT" "d['counters']['events']")
l0=$(json_q "$OUT" "d['counters']['events_lost']")
n0=$(rule_stat nets packets "$OUT")
assert_eq "ping 198.18.3.10 (blocked, no reader): no reply" 0 "$(ping_count c 198.18.3.10 3)"
assert_ok "stats after the pings" lab_tapis stats --json
assert_eq "rule nets counted the pings with no reader" 3 "$(($(rule_stat nets packets "$OUT") - n0))"
assert_eq "no reader: no event written" "$e0" "$(json_q "$OUT" "d['counters']['events']")"
assert_eq "no reader: none counted lost" "$l0" "$(json_q "$OUT" "d['counters']['events_lost']")"

# --- a flood over the rate, a reader running ---------------------------------------------------
lab_bg events2 tapis r "$TAPIS_BIN" events --json --timeout 30 --pin-path "$TAPIS_PIN"
rpid=$LAB_LAST_PID
sleep 0.5
assert_ok "stats before the flood" lab_tapis stats --json
e0=$(json_q "$OUT" "d['counters']['events']")
l0=$(json_q "$OUT" "d['counters']['events_lost']")
n0=$(rule_stat nets packets "$OUT")
t0=$(date +%s%N)
# A numbered UDP stream at 5000 packets a second, far over 20 a second.
rm -f "$tmp/stop"
lab_bg flood python3 c python3 "$here/udpstream.py" send --dst 198.18.3.10 --port 9 \
	--rate 5000 --run flood --stop "$tmp/stop" --out "$tmp/flood.json"
fpid=$LAB_LAST_PID
sleep 1
s0=$(date +%s%N)
assert_ok "tapis stats answers during the flood" lab_tapis stats --json
ms=$((($(date +%s%N) - s0) / 1000000))
assert_true "and within a second (${ms} ms)" "took $ms ms" test "$ms" -lt 1000
s0=$(date +%s%N)
assert_ok "tapis serve answers a scrape during the flood" metrics
ms=$((($(date +%s%N) - s0) / 1000000))
assert_match "the scrape counts the events lost" "^tapis_events_lost_total [0-9]+" "$OUT"
assert_true "within a second (${ms} ms)" "took $ms ms" test "$ms" -lt 1000
sleep 1
touch "$tmp/stop"
wait "$fpid"
sent=$(json_q "$(cat "$tmp/flood.json" 2>/dev/null)" "d['198.18.3.10']")
secs=$((($(date +%s%N) - t0) / 1000000000 + 1))
assert_ok "stats after the flood" lab_tapis stats --json
e1=$(json_q "$OUT" "d['counters']['events']")
l1=$(json_q "$OUT" "d['counters']['events_lost']")
n1=$(rule_stat nets packets "$OUT")
de=$((e1 - e0)) dl=$((l1 - l0))
echo "# flood of $sent packets in ~${secs} s: $de events written, $dl lost"
assert_true "the flood was one ($sent packets)" "sent $sent" test "${sent:-0}" -ge 3000
assert_true "events lost to the rate are counted (>= 80% of them)" "lost $dl of $sent" \
	test "$((dl * 100))" -ge "$((${sent:-0} * 80))"
# 20 a second per CPU and a burst of 10, on at most the machine's CPUs.
cpus=$(nproc)
max=$(((20 * secs + 10) * cpus))
assert_true "events written stay within the rate (<= $max)" "wrote $de" test "$de" -le "$max"
assert_eq "rule nets counted every packet of the flood" "${sent:-x}" "$((n1 - n0))"
# (a retransmission of the blocked TLS flow may land in the window too: a
# flow verdict's packet gives no event)
assert_eq "written and lost add up to the packets rule nets blocked" "$((n1 - n0))" "$((de + dl))"
sleep 0.5 # the reader drains what the flood left
kill -INT "$rpid" 2>/dev/null
for _ in $(seq 50); do lab_pid_alive "$rpid" || break; sleep 0.1; done
wait "$rpid" 2>/dev/null
assert_eq "the reader printed the events written" "$de" "$(grep -c '^{' "$LAB_DIR/events2.out")"
lab_test_end
