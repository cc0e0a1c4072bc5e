#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# demo.sh - `make demo`: tapis blocking IP ranges and DNS names on a router.
#
# Builds the namespace lab (scripts/lab.sh), loads examples/demo-policy.yaml
# on the router's client-facing interface in native XDP mode, sends real
# traffic (ping, curl, dig, kdig, curl over HTTPS; IPv4 and IPv6) from the client, shows status, per-rule
# statistics and `explain`, unloads, and tears the lab down, also on failure.
# Exits non-zero if any expected result is not seen; ends with "demo OK".
#
# Run from the repository root as root, after `make`:  bash scripts/demo.sh
# Environment: LAB_PREFIX (default tapis-demo), TAPIS_BIN (default build/tapis).

set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

LAB_PREFIX=${LAB_PREFIX:-tapis-demo}
. scripts/lab.sh

POLICY=examples/demo-policy.yaml
FAILED=0
LOADED=0

if [ -t 1 ]; then B=$'\033[1m' G=$'\033[32m' R=$'\033[31m' Y=$'\033[33m' N=$'\033[0m'
else B="" G="" R="" Y="" N=""; fi

heading() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
show() { printf '   %s$ %s%s\n' "$Y" "$*" "$N"; } # the command, as an operator would type it
good() { printf '   %sok%s      %s\n' "$G" "$N" "$*"; }
bad() {
	printf '   %sFAILED%s  %s\n' "$R" "$N" "$*"
	FAILED=$((FAILED + 1))
}
indent() { sed 's/^/   /'; }

# json_lines: JSON on stdin shown one key (and one list element) a line;
# anything else passes through unchanged.
json_lines() {
	local in
	in=$(cat)
	if [ "${in:0:1}" != "{" ] || ! command -v python3 >/dev/null 2>&1; then
		printf '%s\n' "$in"
		return
	fi
	python3 -c '
import json, sys
try:
    d = json.loads(sys.argv[1])
except ValueError:
    print(sys.argv[1]); sys.exit(0)
c = lambda v: json.dumps(v, separators=(", ", ": "))
keys = list(d)
print("{")
for i, k in enumerate(keys):
    end = "," if i < len(keys) - 1 else ""
    v = d[k]
    if isinstance(v, list) and v:
        print("  %s: [" % c(k))
        for j, e in enumerate(v):
            print("    %s%s" % (c(e), "," if j < len(v) - 1 else ""))
        print("  ]" + end)
    else:
        print("  %s: %s%s" % (c(k), c(v), end))
print("}")' "$in"
}

# run_tapis ARGS...: run tapis in the router namespace, showing the command
# line and its output; stdout in OUT, exit code in RC.
run_tapis() {
	local err
	show "tapis $*        # in $LAB_NS_R, with --pin-path \$TAPIS_PIN"
	err=$(mktemp)
	OUT=$(lab_tapis "$@" 2>"$err")
	RC=$?
	if [ -n "$OUT" ]; then
		json_lines <<<"$OUT" | indent
	fi
	[ -s "$err" ] && indent <"$err"
	rm -f "$err"
	[ "$RC" = 0 ] || bad "tapis $1 exited $RC"
	return "$RC"
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ "$LOADED" = 1 ]; then
		lab_tapis unload >/dev/null 2>&1
	fi
	lab_down
	exit "$rc"
}

# ping_expect served|blocked ADDR
ping_expect() {
	local want=$1 addr=$2 out rx
	out=$(lab_exec c ping -n -c 3 -i 0.2 -W 1 "$addr" 2>&1)
	rx=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' <<<"$out")
	rx=${rx:-0}
	if [ "$want" = served ]; then
		if [ "$rx" -gt 0 ]; then good "ping $addr: $rx/3 replies"
		else bad "ping $addr: no reply, expected replies"; fi
	else
		if [ "$rx" = 0 ]; then good "ping $addr: 0/3 replies, BLOCKED"
		else bad "ping $addr: $rx/3 replies, expected BLOCKED"; fi
	fi
}

# curl_expect served|blocked ADDR
curl_expect() {
	local want=$1 addr=$2 url body
	case $addr in *:*) url="http://[$addr]/" ;; *) url="http://$addr/" ;; esac
	if body=$(lab_exec c curl -sS --max-time 2 "$url" 2>&1); then
		if [ "$want" = served ] && grep -q "server_addr=$addr " <<<"$body"; then
			good "curl $url: served: $body"
		elif [ "$want" = served ]; then
			bad "curl $url: unexpected answer: $body"
		else
			bad "curl $url: served ($body), expected BLOCKED"
		fi
	else
		if [ "$want" = blocked ]; then good "curl $url: BLOCKED (${body#curl: })"
		else bad "curl $url: failed (${body#curl: }), expected to be served"; fi
	fi
}

# dns_expect NAME TYPE WANT WHO: the answer (an address or a status) and
# whether the server saw the query (WHO=dnsmasq) or tapis answered (tapis).
dns_expect() {
	local name=$1 type=$2 want=$3 who=$4 out status ans seen=no
	show "kdig @198.18.2.2 $name $type        # in $LAB_NS_C"
	out=$(lab_exec c kdig +time=2 +retry=0 @198.18.2.2 "$name" "$type" 2>&1)
	status=$(grep -oE 'status: [A-Z]+' <<<"$out" | head -1)
	ans=$(lab_exec c dig +short +time=2 +tries=1 @198.18.2.2 "$name" "$type" 2>/dev/null | head -1)
	lab_dns_seen "$name" 1 && seen=yes
	printf '   %s: %s %s (server saw the query: %s)\n' "$name" "${status#status: }" "$ans" "$seen"
	if [ "$want" = NXDOMAIN ]; then
		[ "$status" = "status: NXDOMAIN" ] || { bad "$name: expected NXDOMAIN"; return; }
	elif [ "$ans" != "$want" ]; then
		bad "$name $type: expected $want"
		return
	fi
	if [ "$who" = tapis ] && [ "$seen" = yes ]; then
		bad "$name reached the server, expected tapis to answer"
	elif [ "$who" = dnsmasq ] && [ "$seen" = no ]; then
		bad "$name: expected the server to answer"
	else
		good "$name $type: $want, answered by $who"
	fi
}

# web_expect served|reset SCHEME NAME ADDR [SITE]: curl SCHEME://NAME/ at
# ADDR (as if NAME resolved there): the page of SITE (default NAME), or a
# reset tapis sent at the ClientHello / request, seen within a second.
web_expect() {
	local want=$1 scheme=$2 name=$3 addr=$4 site=${5:-$3} port=80 t0 ms body
	[ "$scheme" = https ] && port=443
	case $addr in *:*) addr="[$addr]" ;; esac
	show "curl $scheme://$name/        # in $LAB_NS_C, $name resolving to $addr"
	t0=$(date +%s%N)
	body=$(lab_exec c curl -sS --max-time 5 --cacert "$PKI/ca.pem" \
		--resolve "$name:$port:$addr" "$scheme://$name/" 2>&1)
	ms=$((($(date +%s%N) - t0) / 1000000))
	if [ "$want" = served ]; then
		if grep -q "^tapis-lab site=$site " <<<"$body"; then
			good "$scheme://$name/: served by site $site (${body#tapis-lab })"
		else
			bad "$scheme://$name/: expected the page of $site, got: $body"
		fi
	elif grep -qiE 'reset by peer' <<<"$body" && [ "$ms" -lt 1000 ]; then
		good "$scheme://$name/: BLOCKED, connection reset after $ms ms (${body#curl: })"
	else
		bad "$scheme://$name/: expected a reset within 1 s, got after $ms ms: $body"
	fi
}

traffic() {
	local want=$1 addr=$2
	ping_expect "$want" "$addr"
	curl_expect "$want" "$addr"
}

# json_check JSON PYTHON-EXPR DESCRIPTION: the expression, with the parsed
# document as d, must be true.
json_check() {
	if ! command -v python3 >/dev/null 2>&1; then
		echo "   (python3 missing: not checked: $3)"
		return 0
	fi
	if python3 -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if eval(sys.argv[2]) else 1)' \
		"$1" "$2" 2>/dev/null; then
		good "$3"
	else
		bad "$3"
	fi
}

rule_packets() { # rule_packets NAME: python expression for that rule's packets
	echo "next(r['packets'] for r in d['rules'] if r['name']=='$1')"
}
rule_kind() { # rule_kind NAME KIND: python expression for its packets matched in KIND
	echo "next(r['kinds']['$2'] for r in d['rules'] if r['name']=='$1')"
}

main() {
	local why out rc
	OUT="" RC=0
	if [ ! -x "$TAPIS_BIN" ]; then
		echo "demo: $TAPIS_BIN not built; run make first" >&2
		return 1
	fi
	if ! why=$(lab_missing); then
		echo "demo: cannot run: $why" >&2
		return 1
	fi

	heading "1. The lab: client -> router (tapis on r0) -> server, in network namespaces"
	LAB_QUIET=1 lab_up || return 1
	cat <<-EOF
		   client $LAB_NS_C  c0 198.18.1.2  2001:db8:1::2
		   router $LAB_NS_R  r0 198.18.1.1  2001:db8:1::1   <- tapis attaches here
		                     r1 198.18.2.1  2001:db8:2::1
		   server $LAB_NS_S  s0 198.18.2.10 2001:db8:2::10  (allowed web)
		                        198.18.3.10 2001:db8:3::10  (blocked range)
		                        198.18.3.99 2001:db8:3::99  (exception in the range)
		   nginx on :80 :8080, dnsmasq on 198.18.2.2 / 2001:db8:2::2; pins in $TAPIS_PIN
	EOF

	heading "2. Before tapis: everything is reachable"
	traffic served 198.18.3.10

	heading "3. The policy"
	sed 's/^/   /' "$POLICY"
	echo
	show "tapis check --policy $POLICY"
	out=$("$TAPIS_BIN" check --policy "$POLICY" 2>&1)
	rc=$?
	[ -z "$out" ] || indent <<<"$out"
	if [ $rc = 0 ]; then good "policy is valid"; else bad "tapis check exited $rc"; return 1; fi

	heading "4. Load it on the router, native XDP on r0"
	run_tapis load --policy "$POLICY" --iface r0 --mode native || return 1
	LOADED=1
	good "loaded"
	ip -n "$LAB_NS_R" link show r0 | grep -oE 'prog/xdp.*id [0-9]+' | indent

	heading "5. Traffic from the client, IPv4"
	traffic served 198.18.2.10
	traffic blocked 198.18.3.10
	traffic served 198.18.3.99

	heading "6. Traffic from the client, IPv6"
	traffic served 2001:db8:2::10
	traffic blocked 2001:db8:3::10
	traffic served 2001:db8:3::99

	heading "6b. DNS from the client (dig, kdig) to dnsmasq on 198.18.2.2"
	dns_expect allowed.example A "198.18.2.10" dnsmasq
	dns_expect www.blocked.example A NXDOMAIN tapis
	dns_expect exception.blocked.example A "198.18.3.99" dnsmasq
	dns_expect login.sinkhole.example A "198.18.2.10" tapis
	dns_expect login.sinkhole.example AAAA "2001:db8:2::10" tapis
	show "dig +tcp @198.18.2.2 www.blocked.example        # in $LAB_NS_C"
	out=$(lab_exec c dig +tcp +time=2 +tries=1 @198.18.2.2 www.blocked.example A 2>&1)
	grep -iE 'reset|error' <<<"$out" | indent
	if grep -q 'status:' <<<"$out"; then
		bad "TCP query for a blocked name was answered"
	elif grep -qi 'reset' <<<"$out"; then
		good "TCP query for a blocked name: connection reset by tapis"
	else
		bad "TCP query for a blocked name: no reset seen"
	fi

	heading "6c. Hostnames in TLS (SNI) and HTTP (Host): the same patterns, no DNS needed"
	cat <<-EOF
		   A client that skips the lab's DNS (another resolver, DNS over HTTPS, a
		   cached address) still names the host in its ClientHello or Host header.
		   nginx on 198.18.2.10 serves allowed.example, blocked.example and
		   sinkhole.example (and names under them) with certificates of a lab CA.
	EOF
	PKI=$LAB_DIR/pki
	if lab_web_sites "$PKI" allowed.example blocked.example sinkhole.example; then
		web_expect served https allowed.example 198.18.2.10
		web_expect reset https www.blocked.example 198.18.2.10
		web_expect reset https www.blocked.example 2001:db8:2::10
		web_expect reset http blocked.example 198.18.2.10
		web_expect served https exception.blocked.example 198.18.2.10 blocked.example
		web_expect reset https login.sinkhole.example 198.18.2.10
	else
		bad "the lab's nginx does not serve the demo's HTTPS sites"
	fi

	heading "7. Status"
	run_tapis status

	heading "8. Per-rule statistics"
	run_tapis stats
	echo
	if run_tapis stats --json; then
		json_check "$OUT" "$(rule_packets demo-blocked-range) >= 6" \
			"demo-blocked-range counted the 6 blocked pings (and the curl SYNs)"
		json_check "$OUT" "$(rule_packets demo-exception) > 0" "demo-exception counted traffic"
		json_check "$OUT" "$(rule_packets demo-watch-web) > 0" "demo-watch-web counted traffic"
		json_check "$OUT" "$(rule_kind demo-name-order tls) >= 2 and $(rule_kind demo-name-order http) >= 1" \
			"demo-name-order counted the blocked ClientHellos (tls) and the GET (http)"
	fi

	heading "9. Why is 198.18.3.10 blocked, and 198.18.3.99 not?"
	if run_tapis explain 198.18.3.10; then
		if grep -q demo-blocked-range <<<"$OUT"; then good "explain names demo-blocked-range"
		else bad "explain 198.18.3.10 does not name demo-blocked-range"; fi
	fi
	if run_tapis explain 198.18.3.99; then
		if grep -q demo-exception <<<"$OUT"; then good "explain names demo-exception"
		else bad "explain 198.18.3.99 does not name demo-exception"; fi
	fi

	heading "10. Unload: the range is reachable again"
	if run_tapis unload; then
		LOADED=0
		good "unloaded"
	fi
	traffic served 198.18.3.10
	traffic served 2001:db8:3::10

	heading "11. Lab down"
	LOADED=0
	lab_down
	good "namespaces, services and pins removed"

	echo
	if [ "$FAILED" != 0 ]; then
		echo "${R}demo FAILED: $FAILED expected result(s) not seen${N}"
		return 1
	fi
	echo "${G}demo OK${N}"
	return 0
}

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
main
