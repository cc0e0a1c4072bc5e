#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_serve.sh - `tapis serve` scraped by a real Prometheus server, end to
# end, and the serve process under clients that misbehave.
#
#   before load   serve starts with nothing loaded and answers tapis_up 0
#   scrape        a Prometheus server (Debian's prometheus, started here in
#                 the router namespace with examples/prometheus.yml, its
#                 target and interval replaced) scrapes serve; blocked
#                 traffic of four kinds is sent from the client namespace
#                 (ping to a dropped range, dig for rejected names, curl
#                 HTTPS and HTTP to rejected names); Prometheus's HTTP API
#                 then returns, per rule and kind, exactly the packets sent
#   exposition    promtool check metrics accepts /metrics and stats
#                 --prometheus, which carry the same names; 404 for other
#                 paths, 405 for other methods, HEAD answered
#   dashboard     every query of examples/grafana-dashboard.json runs on
#                 that Prometheus and finds series; the example alert rules
#                 and configuration pass promtool
#   reload        a refused reload shows as tapis_policy_last_reload_success 0
#   unload/load   serve keeps answering: tapis_up 0, then 1 again, and
#                 Prometheus sees both
#   robustness    1,000 concurrent connections, clients that stall,
#                 garbage requests: serve answers throughout, its memory
#                 stays bounded (the peak RSS is printed), SIGTERM ends it
#                 with exit 0
#
# Everything runs inside the lab's namespaces: serve and Prometheus listen
# on the router namespace's loopback, which no XDP program sees.

. "$(dirname "$0")/lib.sh"
lab_test_begin dig prometheus promtool

tmp=$(t_tmp)
REPO=$LAB_TEST_REPO
SERVE=127.0.0.1:9477
PROM=127.0.0.1:19090
policy=$tmp/policy.yaml
cat >"$policy" <<'EOF'
version: 1
rules:
  - name: serve-net
    action: drop
    reference: "LAB/SERVE/NET \"1\""
    expires: 2099-01-01T00:00:00Z
    nets: [198.18.3.0/24, "2001:db8:3::/48"]
  - name: serve-dns
    action: reject
    reference: "LAB/SERVE/DNS"
    hosts: [blocked.example]
  - name: serve-tls
    action: reject
    hosts: [tlsblocked.example]
  - name: serve-http
    action: reject
    hosts: [httpblocked.example]
  - name: serve-quiet
    action: drop
    hosts: [never-asked.example]
EOF

metrics() { lab_exec r curl -sS --max-time 5 "http://$SERVE/metrics"; }
# sample NAME{LABELS} from a scrape of serve: its value, or nothing
sample() { metrics | awk -v k="$1" '$1 == k { print $2 }'; }

# --- serve before anything is loaded -------------------------------------------------------
assert_exit "serve --listen garbage: exit 2" 2 lab_tapis serve --listen nonsense
assert_exit "serve --listen with a port out of range: exit 2" 2 lab_tapis serve --listen 127.0.0.1:70000
lab_bg serve tapis r "$TAPIS_BIN" serve --pin-path "$TAPIS_PIN" --listen "$SERVE"
SPID=$LAB_LAST_PID
for i in $(seq 50); do
	metrics >/dev/null 2>&1 && break
	sleep 0.1
done
assert_eq "serve with nothing loaded: tapis_up 0" 0 "$(sample tapis_up)"
assert_match "serve with nothing loaded: build info" '^tapis_build_info\{version="[^"]+"\} 1$' "$(metrics)"
assert_exit "a second serve on the same address: exit 1" 1 lab_tapis serve --listen "$SERVE"
assert_match "it says the address is in use" "in use" "$OUT"

# --- Prometheus, from the example configuration ----------------------------------------------
assert_ok "promtool check config examples/prometheus.yml" \
	bash -c 'cd "$1/examples" && promtool check config prometheus.yml' _ "$REPO"
assert_ok "promtool check rules examples/tapis-alerts.yml" promtool check rules "$REPO/examples/tapis-alerts.yml"
mkdir -p "$tmp/prom"
cp "$REPO/examples/tapis-alerts.yml" "$tmp/prom/"
sed -e "s/127\.0\.0\.1:9477/$SERVE/" -e 's/scrape_interval: 15s/scrape_interval: 1s/' \
	-e 's/evaluation_interval: 15s/evaluation_interval: 1s/' -e 's/scrape_timeout: 10s/scrape_timeout: 1s/' \
	"$REPO/examples/prometheus.yml" >"$tmp/prom/prometheus.yml"
lab_bg prometheus prometheus r prometheus --config.file="$tmp/prom/prometheus.yml" \
	--storage.tsdb.path="$tmp/prom/data" --web.listen-address="$PROM" --log.level=warn
ready=0
for i in $(seq 150); do
	lab_exec r curl -fsS --max-time 1 "http://$PROM/-/ready" >/dev/null 2>&1 && ready=1 && break
	sleep 0.2
done
assert_eq "Prometheus is ready" 1 "$ready" || { cat "$LAB_DIR/prometheus.out"; lab_test_end; }

# promq EXPR: the value of an instant query (the first series), or nothing
promq() {
	local js
	js=$(lab_exec r curl -sS --max-time 5 "http://$PROM/api/v1/query" --data-urlencode "query=$1")
	json_q "$js" "d['data']['result'][0]['value'][1] if d['data']['result'] else ''"
}
# prom_wait EXPR WANT [seconds]: poll until the query answers WANT; prints
# the last answer
prom_wait() {
	local v="" i
	for i in $(seq $((${3:-20} * 4))); do
		v=$(promq "$1")
		[ "$v" = "$2" ] && break
		sleep 0.25
	done
	echo "$v"
}
assert_eq "Prometheus stores tapis_up 0 before the load" 0 "$(prom_wait 'tapis_up{job="tapis"}' 0)"
assert_eq "its target is up" 1 "$(prom_wait 'up{job="tapis"}' 1)"

# --- load, send blocked traffic of four kinds ---------------------------------------------
assert_ok "load" lab_tapis load --policy "$policy" --iface r0 --mode native || lab_test_end
assert_eq "serve follows the load: tapis_up 1" 1 "$(sample tapis_up)"
assert_eq "Prometheus sees tapis_up 1" 1 "$(prom_wait 'tapis_up{job="tapis"}' 1)"

N4=7 N6=4 NDNS=5 NTLS=3 NHTTP=4
assert_eq "ping 198.18.3.10 (dropped): no reply" 0 "$(ping_count c 198.18.3.10 $N4)"
assert_eq "ping 2001:db8:3::10 (dropped): no reply" 0 "$(ping_count c 2001:db8:3::10 $N6)"
n=0
for i in $(seq $NDNS); do
	out=$(lab_exec c dig +time=2 +tries=1 @"$LAB_DNS4" "q$i.blocked.example" A 2>&1)
	grep -q "status: NXDOMAIN" <<<"$out" && n=$((n + 1))
done
assert_eq "dig: $NDNS queries under blocked.example, each NXDOMAIN" $NDNS $n
n=0
for i in $(seq $NTLS); do
	lab_exec c curl -sk --max-time 3 --resolve "tlsblocked.example:443:$LAB_WEB4" \
		https://tlsblocked.example/ >/dev/null 2>&1 || n=$((n + 1))
done
assert_eq "curl https://tlsblocked.example/: $NTLS connections refused" $NTLS $n
n=0
for i in $(seq $NHTTP); do
	lab_exec c curl -sS --max-time 3 --resolve "httpblocked.example:80:$LAB_WEB4" \
		http://httpblocked.example/ >/dev/null 2>&1 || n=$((n + 1))
done
assert_eq "curl http://httpblocked.example/: $NHTTP requests refused" $NHTTP $n

# What the filter counted, and what Prometheus stored from serve: equal
# to what was sent, per rule and kind.
js=$(lab_tapis stats --json)
check_kind() { # RULE KIND WANT
	local q="tapis_rule_kind_packets_total{job=\"tapis\",rule=\"$1\",kind=\"$2\"}"
	assert_eq "stats: $1 counted $3 $2 packets" "$3" \
		"$(json_q "$js" "next(r['kinds']['$2'] for r in d['rules'] if r['name'] == '$1')")"
	assert_eq "Prometheus: $q = $3" "$3" "$(prom_wait "$q" "$3")"
}
check_kind serve-net net $((N4 + N6))
check_kind serve-dns dns $NDNS
check_kind serve-tls tls $NTLS
check_kind serve-http http $NHTTP
check_kind serve-tls flow 0
check_kind serve-quiet dns 0
assert_eq "Prometheus: tapis_rule_packets_total of serve-net" $((N4 + N6)) \
	"$(prom_wait 'tapis_rule_packets_total{rule="serve-net",action="drop"}' $((N4 + N6)))"
assert_eq "Prometheus: rejects of serve-dns, -tls and -http together" $((NDNS + NTLS + NHTTP)) \
	"$(prom_wait 'sum(tapis_rule_packets_total{action="reject"})' $((NDNS + NTLS + NHTTP)))"
assert_eq "Prometheus: the rule's reference, escaped and back" 1 \
	"$(prom_wait 'tapis_rule_info{rule="serve-net",reference="LAB/SERVE/NET \"1\"",expires="2099-01-01T00:00:00Z"}' 1)"
assert_eq "Prometheus: r0 in native mode" 1 \
	"$(prom_wait 'tapis_interface_info{interface="r0",mode="native"}' 1)"
assert_eq "Prometheus: the load succeeded (audit log)" 1 "$(prom_wait tapis_policy_last_reload_success 1)"
last=$(promq 'tapis_rule_last_hit_timestamp_seconds{rule="serve-http"}')
assert_true "Prometheus: serve-http's last hit is a time within the last minute ($last)" "got '$last'" \
	python3 -c 'import sys, time; v = float(sys.argv[1]); sys.exit(not time.time() - 60 < v <= time.time() + 1)' "${last:-0}"

# --- the exposition itself ------------------------------------------------------------------
metrics >"$tmp/serve.prom"
lab_tapis stats --prometheus >"$tmp/stats.prom"
assert_ok "promtool check metrics accepts /metrics" bash -c 'promtool check metrics <"$1"' _ "$tmp/serve.prom"
assert_ok "promtool check metrics accepts stats --prometheus" \
	bash -c 'promtool check metrics <"$1"' _ "$tmp/stats.prom"
fams() { sed -n 's/^# TYPE \([^ ]*\) .*/\1/p' "$1" | sort; }
assert_eq "both carry the same metric families" "$(fams "$tmp/stats.prom" | tr '\n' ' ')" \
	"$(fams "$tmp/serve.prom" | tr '\n' ' ')"
assert_match "unmatched packets are action=\"pass_no_rule\"" '^tapis_action_packets_total\{action="pass_no_rule"\} ' \
	"$(cat "$tmp/serve.prom")"
assert_fail "no action=\"none\" left" grep -q 'action="none"' "$tmp/serve.prom"
for m in tapis_events_total tapis_events_lost_total tapis_policy_generation tapis_policy_reloads_total \
	tapis_policy_loaded_timestamp_seconds tapis_policy_applied_timestamp_seconds \
	'tapis_unparsed_packets_total{reason="dns_response"}' 'tapis_policy_entries{kind="hosts"}'; do
	assert_match "/metrics has $m" "^$(sed 's/[{}]/\\&/g' <<<"$m") [0-9.]+$" "$(cat "$tmp/serve.prom")"
done
status() { lab_exec r curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }
assert_eq "GET / : 404" 404 "$(status "http://$SERVE/")"
assert_eq "GET /metricsx : 404" 404 "$(status "http://$SERVE/metricsx")"
assert_eq "POST /metrics : 405" 405 "$(status -X POST -d x=1 "http://$SERVE/metrics")"
assert_eq "DELETE /metrics : 405" 405 "$(status -X DELETE "http://$SERVE/metrics")"
assert_eq "HEAD /metrics : 200" 200 "$(status -I "http://$SERVE/metrics")"
assert_match "405 says which methods are allowed" "Allow: GET, HEAD" \
	"$(lab_exec r curl -s -i -X PUT "http://$SERVE/metrics" | tr -d '\r')"
assert_match "Content-Type is the exposition format's" "Content-Type: text/plain; version=0.0.4" \
	"$(lab_exec r curl -s -I "http://$SERVE/metrics" | tr -d '\r')"

# --- the dashboard's queries, on this Prometheus ------------------------------------------------
python3 - "$REPO/examples/grafana-dashboard.json" >"$tmp/queries" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
for p in d["panels"]:
    for t in p.get("targets", []):
        e = (t["expr"].replace("$__rate_interval", "1m").replace("$__range", "5m")
             .replace('instance=~"$instance"', 'instance=~".+"'))
        print("%s\t%s" % (p["title"], e))
EOF
assert_true "the dashboard has queries" "none" test -s "$tmp/queries"
while IFS=$'\t' read -r title expr; do
	js=$(lab_exec r curl -sS --max-time 5 "http://$PROM/api/v1/query" --data-urlencode "query=$expr")
	assert_eq "dashboard \"$title\": the query runs and finds series" "success True" \
		"$(json_q "$js" "d['status'] + ' ' + str(len(d['data']['result']) > 0)")"
done <"$tmp/queries"

# --- a refused reload ------------------------------------------------------------------------------
printf 'version: 1\nrules:\n  - name: broken\n    action: explode\n' >"$tmp/broken.yaml"
assert_exit "reload with a broken policy: exit 2" 2 lab_tapis reload --policy "$tmp/broken.yaml"
assert_eq "serve: tapis_policy_last_reload_success 0" 0 "$(sample tapis_policy_last_reload_success)"
assert_eq "Prometheus sees it (the alert's expression)" 0 \
	"$(prom_wait 'tapis_policy_last_reload_success' 0)"
assert_ok "reload with the good policy" lab_tapis reload --policy "$policy"
assert_eq "serve: tapis_policy_last_reload_success 1 again" 1 "$(sample tapis_policy_last_reload_success)"
assert_eq "the reload kept the counters (serve-dns dns)" $NDNS \
	"$(sample 'tapis_rule_kind_packets_total{rule="serve-dns",action="reject",kind="dns"}')"

# --- unload and load again under serve -------------------------------------------------------------
assert_ok "unload" lab_tapis unload
assert_eq "serve after unload: tapis_up 0" 0 "$(sample tapis_up)"
assert_eq "serve after unload: no rule series" "" "$(metrics | grep '^tapis_rule_packets_total')"
assert_eq "Prometheus sees tapis_up 0" 0 "$(prom_wait 'tapis_up{job="tapis"}' 0)"
assert_ok "load again" lab_tapis load --policy "$policy" --iface r0 --mode native
assert_eq "serve after the new load: tapis_up 1" 1 "$(sample tapis_up)"
assert_eq "ping 198.18.3.10 once more: no reply" 0 "$(ping_count c 198.18.3.10 2)"
assert_eq "the new filter's counter, served" 2 \
	"$(sample 'tapis_rule_packets_total{rule="serve-net",action="drop"}')"
assert_eq "Prometheus sees tapis_up 1 again" 1 "$(prom_wait 'tapis_up{job="tapis"}' 1)"
assert_true "serve is the same process throughout" "pid $SPID gone" lab_pid_alive "$SPID"

# --- robustness ------------------------------------------------------------------------------------
rss() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
echo "# serve RSS before the robustness part: $(rss "$SPID" VmRSS) KiB"
probe() { lab_exec r python3 "$REPO/tests/lab/httpprobe.py" "${SERVE%:*}" "${SERVE#*:}" "$@"; }
out=$(probe concurrent 1000)
echo "# 1,000 concurrent connections: $out"
assert_eq "1,000 concurrent connections: each answered or closed, none left hanging" "1000 0" \
	"$(json_q "$out" "str(d['ok'] + d['closed'] + d['other_status'] + d['connect_failed']) + ' ' + str(d['unfinished'])")"
assert_true "some of them got the exposition (200)" "$out" test "$(json_q "$out" "d['ok']")" -ge 1
assert_true "serve survived them" "pid $SPID gone" lab_pid_alive "$SPID"
assert_eq "and answers the next scrape" 1 "$(sample tapis_up)"
out=$(probe slow 12 20)
echo "# 12 clients that stall: $out"
assert_eq "stalled clients are closed by the idle timeout (10 s)" 12 "$(json_q "$out" "d['closed']")"
assert_true "within 10-15 s" "$out" \
	python3 -c 'import sys; sys.exit(not 9 <= float(sys.argv[1]) <= 15)' "$(json_q "$out" "d['closed_after_s']")"
assert_eq "a scrape meanwhile, from the same address, is answered" 200 "$(json_q "$out" "d['get_meanwhile']")"
out=$(probe garbage)
echo "# garbage: $out"
assert_eq "garbage requests get 4xx answers, never a hang" \
	"400 400 405 405 431 414 404 404 404" \
	"$(json_q "$out" "' '.join(str(d[k]) for k in ('binary', 'no_version', 'bad_method', 'post', 'huge_header', 'huge_url', 'other_path', 'root', 'non_utf8_path'))")"
assert_eq "HEAD, HTTP/1.0 and a query string are answered" "200 200 200" \
	"$(json_q "$out" "' '.join(str(d[k]) for k in ('head', 'http10', 'query'))")"
assert_true "serve survived the garbage" "pid $SPID gone" lab_pid_alive "$SPID"
assert_eq "and still answers" 1 "$(sample tapis_up)"
hwm=$(rss "$SPID" VmHWM)
echo "# serve peak RSS after the robustness part: $hwm KiB (now $(rss "$SPID" VmRSS) KiB)"
assert_true "serve's peak RSS stays under 64 MiB ($hwm KiB)" "VmHWM $hwm KiB" test "${hwm:-999999}" -lt 65536

# --- SIGTERM ---------------------------------------------------------------------------------------
lab_stop_prometheus() { lab_stop_pid "$(awk '$2 == "prometheus" { print $1 }' "$LAB_DIR/pids")" prometheus; }
lab_stop_prometheus
kill -TERM "$SPID"
for i in $(seq 30); do
	lab_pid_alive "$SPID" || break
	sleep 0.1
done
assert_fail "SIGTERM ends serve within 3 s" lab_pid_alive "$SPID"
wait "$SPID"
assert_eq "with exit 0" 0 $?
assert_match "it says so" "stopped by SIGTERM after [0-9]+ scrapes" "$(cat "$LAB_DIR/serve.out")"
assert_ok "the filter is still loaded after serve stopped" lab_tapis status

lab_test_end
