#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_web.sh - hostname rules on HTTPS (TLS SNI) and HTTP (Host), end to
# end, with the clients people use: curl (TLS 1.2, TLS 1.3, HTTP/1.1),
# openssl s_client, gnutls-cli, wget, python3 urllib and headless Chromium,
# in the client namespace, against nginx in the server namespace serving
# several names on one address (198.18.2.10 / 2001:db8:2::10) with a
# certificate each, signed by a CA made for this run. Every name lives on
# the same address, so only the name can tell them apart.
#
#   reject   blocked.example and names under it: the client sees a
#            connection reset well within a second (TLS: at the ClientHello;
#            HTTP: at the request), and nginx never logs the request
#   allow    =exception.blocked.example loads
#   drop     dropped.example: no answer, the client times out
#   monitor  watched.example loads and is counted
#   (none)   allowed.example loads with every client
#   Host     "BLOCKED.example:8080" (case, port) and "www.blocked.example."
#            (trailing dot) are the same name
#   stats    per-rule packets and their split by kind ("kinds": tls, http)
#            rise by at least the connections and requests made
#
# Names reach the clients without DNS: curl --resolve, openssl -connect with
# -servername, an /etc/hosts of the client namespace (lab_hosts) for
# gnutls-cli, wget and python, --host-resolver-rules for Chromium.
# No packet capture runs on the path: a packet socket on a veth changes how
# frames reach XDP.

. "$(dirname "$0")/lib.sh"
lab_test_begin openssl gnutls-cli wget

tmp=$(t_tmp)
pki=$tmp/pki
W4=$LAB_WEB4 W6=$LAB_WEB6
NAMES="allowed.example blocked.example www.blocked.example exception.blocked.example"
NAMES="$NAMES dropped.example watched.example"
T=2 # seconds a client waits for a dropped connection

assert_ok "nginx serves allowed, blocked, dropped and watched .example by name" \
	lab_web_sites "$pki" allowed.example blocked.example dropped.example watched.example ||
	lab_test_end
CA=$pki/ca.pem
assert_ok "an /etc/hosts for the client namespace" lab_hosts c "$W4 $NAMES" "$W6 $NAMES"
assert_match "the client namespace resolves www.blocked.example from it" "^$W4 " \
	"$(lab_exec c getent ahostsv4 www.blocked.example | head -1)"

# --- clients -----------------------------------------------------------------------
# Each runs in the client namespace with the output in OUT, the exit code in
# RC and the wall time in MS (milliseconds, the namespace switch included).
timed() {
	local t0 t1
	t0=$(date +%s%N)
	t_run lab_exec c "$@"
	t1=$(date +%s%N)
	MS=$(((t1 - t0) / 1000000))
}
# curl_tls12 NAME [4|6], curl_tls13 NAME [4|6], curl_http NAME PORT [4|6]
_addr() { if [ "${1:-4}" = 6 ]; then echo "[$W6]"; else echo "$W4"; fi; }
curl_tls12() {
	timed curl -sS --max-time $T --cacert "$CA" --tlsv1.2 --tls-max 1.2 \
		--resolve "$1:443:$(_addr "${2-}")" "https://$1/"
}
curl_tls13() {
	timed curl -sS --max-time $T --cacert "$CA" --tlsv1.3 \
		--resolve "$1:443:$(_addr "${2-}")" "https://$1/"
}
curl_http() {
	timed curl -sS --max-time $T --http1.1 --resolve "$1:$2:$(_addr "${3-}")" "http://$1:$2/"
}
# openssl s_client: TLS 1.3 by default; sends a GET once the handshake is done
s_client() { # NAME (the SNI, as given) CONNECT-ADDR [options]
	local name=$1 addr=$2
	shift 2
	# -quiet ignores EOF on stdin: it ends when the server closes
	timed bash -c 'printf "GET / HTTP/1.0\r\nHost: %s\r\n\r\n" "$1" |
		timeout "$2" openssl s_client -quiet -connect "$3:443" -servername "$1" \
			-CAfile "$4" -verify_return_error -verify_hostname "$5" "${@:6}"' \
		_ "$name" $T "$addr" "$CA" "${name,,}" "$@"
}
# gnutls-cli resolves the name itself (hosts file: IPv6 first)
gnutls() {
	timed bash -c 'printf "GET / HTTP/1.0\r\nHost: %s\r\n\r\n" "$1" |
		timeout "$2" gnutls-cli --x509cafile="$3" -p 443 "$1"' _ "$1" $T "$CA"
}
wget_get() { # URL [-4|-6]
	timed wget -O - --timeout=$T --tries=1 --ca-certificate="$CA" ${2:+"$2"} "$1"
}
cat >"$tmp/get.py" <<'EOF'
# get.py URL CAFILE: print the body, or "error: EXCEPTION: REASON" and exit 1
import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
try:
    body = urllib.request.urlopen(sys.argv[1], context=ctx, timeout=float(sys.argv[3]))
    sys.stdout.write(body.read().decode())
except Exception as e:
    r = getattr(e, "reason", e)
    print("error: %s: %s" % (type(r).__name__, r))
    sys.exit(1)
EOF
py_get() { timed python3 "$tmp/get.py" "$1" "$CA" $T; }

# --- headless Chromium --------------------------------------------------------------
# Chromium's own net log says how its main request ended and how long it
# took (the browser's start is not part of it): CR_ERR is the net error
# (0: loaded, -101: ERR_CONNECTION_RESET, "cancelled": stopped by --timeout,
# "none": no such request), CR_MS the request's life in ms, CR_CONNS the TCP
# connections it opened to the URL's address and port (preconnects and
# retries included).
cat >"$tmp/netlog.py" <<'EOF'
# netlog.py FILE URL: "NET_ERROR MS CONNECTIONS" of the first request for URL
import json, sys
raw = open(sys.argv[1]).read()
try:
    d = json.loads(raw)
except ValueError:  # cut short: close the event list
    d = json.loads(raw.rstrip().rstrip(",") + "]}")
c = d["constants"]
ev = {v: k for k, v in c["logEventTypes"].items()}
ph = {v: k for k, v in c["logEventPhase"].items()}
url, host = sys.argv[2], sys.argv[3]
src, t0, t1, err, conns, cancelled = None, None, None, "none", 0, False
for e in d["events"]:
    t, p = ev[e["type"]], e.get("params", {})
    if t == "TCP_CONNECT" and ph[e["phase"]] == "PHASE_BEGIN" and host in p.get("address_list", []):
        conns += 1
    if t == "CANCELLED" and src == e["source"]["id"]:
        cancelled = True
    if t != "REQUEST_ALIVE":
        continue
    if src is None and ph[e["phase"]] == "PHASE_BEGIN" and p.get("url") == url:
        src, t0 = e["source"]["id"], int(e["time"])
    elif src == e["source"]["id"] and ph[e["phase"]] == "PHASE_END":
        t1, err = int(e["time"]), p.get("net_error", "cancelled" if cancelled else 0)
print(err, (t1 - t0) if t1 is not None else -1, conns)
EOF
CHROMIUM_FLAGS=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
	--disable-background-networking --disable-component-update --disable-sync
	--ignore-certificate-errors --timeout=2500)
# chromium_get URL ADDR:PORT: DOM in OUT; CR_ERR, CR_MS, CR_CONNS as above
chromium_get() {
	local url=$1 hostport=$2 d name
	name=${url#*://}
	name=${name%%[:/]*}
	d=$(mktemp -d "$tmp/chromium.XXXXXX")
	# every other name fails to resolve: no background traffic, no DNS
	timed timeout 20 chromium "${CHROMIUM_FLAGS[@]}" --user-data-dir="$d/profile" \
		--host-resolver-rules="MAP $name ${hostport%:*}, MAP * ~NOTFOUND" \
		--log-net-log="$d/net.json" --dump-dom "$url"
	read -r CR_ERR CR_MS CR_CONNS < <(python3 "$tmp/netlog.py" "$d/net.json" "$url" "$hostport" 2>/dev/null)
	: "${CR_ERR:=none}" "${CR_MS:=-1}" "${CR_CONNS:=0}"
	rm -rf "$d"
}
HAVE_CHROMIUM=1
command -v chromium >/dev/null 2>&1 || {
	HAVE_CHROMIUM=0
	skip_missing "chromium not installed (make deps installs it): browser checks left out"
}

# --- checks on one client run ---------------------------------------------------------
short() { # the first lines of OUT that say something
	printf '%s' "$OUT" | grep -v -e '^depth=' -e '^verify return' -e '^\[[0-9:./]*:[A-Z]*:' \
		-e '^/usr/bin/chromium:' | head -n 3 | tr '\n' '|' | cut -c1-240
}
# loaded DESC NAME SITE: the page came from nginx's SITE block, reached by NAME
loaded() {
	local re="tapis-lab site=$3 .*host=$2( |\$)"
	if [ "$RC" = 0 ] && grep -qE -- "$re" <<<"$OUT"; then _t_ok "$1 ($MS ms)"
	else _t_notok "$1" "exit $RC after $MS ms: $(short)"; fi
}
# reset DESC REGEX: the client failed, in the words REGEX, within a second
reset() {
	if [ "$RC" != 0 ] && [ "$MS" -lt 1000 ] && grep -qE -- "$2" <<<"$OUT" &&
		! grep -q "tapis-lab site=" <<<"$OUT"; then _t_ok "$1 ($MS ms)"
	else _t_notok "$1" "exit $RC after $MS ms: $(short)"; fi
}
# no_answer DESC: the client failed after waiting (dropped, not refused)
no_answer() {
	if [ "$RC" != 0 ] && [ "$MS" -ge $((T * 1000 - 300)) ] &&
		! grep -q "tapis-lab site=" <<<"$OUT"; then _t_ok "$1 ($MS ms)"
	else _t_notok "$1" "exit $RC after $MS ms: $(short)"; fi
}
# What each client says when the server side resets the connection
RST_CURL='\((35|56)\) .*Connection reset by peer'
RST_OPENSSL='errno=104'
RST_GNUTLS='Error in the pull function'
RST_WGET='Connection reset by peer|Unable to establish SSL connection'
RST_PY='error: ConnectionResetError'

# --- before tapis: every name and client works ----------------------------------------
for n in allowed.example www.blocked.example exception.blocked.example dropped.example watched.example; do
	site=${n#www.}
	site=${site#exception.}
	curl_tls13 "$n"
	loaded "before tapis: curl TLS 1.3 loads https://$n/ (certificate of $site)" "$n" "$site"
done
curl_tls12 www.blocked.example 6
loaded "before tapis: curl TLS 1.2 over IPv6 loads https://www.blocked.example/" www.blocked.example blocked.example
curl_http blocked.example 8080
loaded "before tapis: curl loads http://blocked.example:8080/" blocked.example blocked.example
s_client blocked.example "$W4"
loaded "before tapis: openssl s_client loads blocked.example" blocked.example blocked.example
gnutls blocked.example
loaded "before tapis: gnutls-cli loads blocked.example" blocked.example blocked.example
wget_get https://blocked.example/ -4
loaded "before tapis: wget loads https://blocked.example/" blocked.example blocked.example
py_get https://blocked.example/
loaded "before tapis: python3 urllib loads https://blocked.example/" blocked.example blocked.example
if [ "$HAVE_CHROMIUM" = 1 ]; then
	chromium_get https://www.blocked.example/ "$W4:443"
	if [ "$CR_ERR" = 0 ] && grep -q "tapis-lab site=blocked.example " <<<"$OUT"; then
		_t_ok "before tapis: headless Chromium loads https://www.blocked.example/ ($CR_MS ms in the browser, $MS ms in all)"
	else
		_t_notok "before tapis: headless Chromium loads https://www.blocked.example/" \
			"net error $CR_ERR, exit $RC: $(short)"
	fi
fi

# --- the policy ---------------------------------------------------------------------------
policy=$tmp/policy.yaml
cat >"$policy" <<'EOF'
version: 1
settings:
  ports: { dns: [53], tls: [443], http: [80, 8080] }
rules:
  - name: web-reject
    action: reject
    reference: "LAB/WEB/REJECT"
    hosts: [blocked.example]
  - name: web-exception
    action: allow
    reference: "LAB/WEB/EXCEPTION"
    hosts: ["=exception.blocked.example"]
  - name: web-drop
    action: drop
    reference: "LAB/WEB/DROP"
    hosts: [dropped.example]
  - name: web-watch
    action: monitor
    reference: "LAB/WEB/WATCH"
    hosts: [watched.example]
EOF
assert_ok "check accepts the web policy" "$TAPIS_BIN" check --policy "$policy"
assert_ok "load in native mode on r0" lab_tapis load --policy "$policy" --iface r0 --mode native ||
	lab_test_end
# From here on, only requests made under the policy count in nginx's log.
log_from=$(($(wc -l <"$LAB_WEB_LOG") + 1))
# logged REGEX: nginx served a request from the client whose line matches
logged() {
	tail -n +"$log_from" "$LAB_WEB_LOG" | grep -E '^(198\.18\.1\.|2001:db8:1::)' | grep -qiE -- "$1"
}

# --- allowed.example (no rule): every client loads it -----------------------------------
curl_tls12 allowed.example
loaded "curl TLS 1.2 loads https://allowed.example/" allowed.example allowed.example
curl_tls13 allowed.example 6
loaded "curl TLS 1.3 over IPv6 loads https://allowed.example/" allowed.example allowed.example
curl_http allowed.example 80
loaded "curl loads http://allowed.example/" allowed.example allowed.example
curl_http allowed.example 8080 6
loaded "curl over IPv6 loads http://allowed.example:8080/" allowed.example allowed.example
s_client allowed.example "$W4" -tls1_2
loaded "openssl s_client -tls1_2 loads allowed.example" allowed.example allowed.example
s_client allowed.example "[$W6]"
loaded "openssl s_client over IPv6 loads allowed.example" allowed.example allowed.example
gnutls allowed.example
loaded "gnutls-cli loads allowed.example" allowed.example allowed.example
wget_get https://allowed.example/ -6
loaded "wget over IPv6 loads https://allowed.example/" allowed.example allowed.example
wget_get http://allowed.example:8080/ -4
loaded "wget loads http://allowed.example:8080/" allowed.example allowed.example
py_get https://allowed.example/
loaded "python3 urllib loads https://allowed.example/" allowed.example allowed.example
py_get http://allowed.example/
loaded "python3 urllib loads http://allowed.example/" allowed.example allowed.example
if [ "$HAVE_CHROMIUM" = 1 ]; then
	chromium_get https://allowed.example/ "$W4:443"
	if [ "$CR_ERR" = 0 ] && grep -q "tapis-lab site=allowed.example " <<<"$OUT"; then
		_t_ok "Chromium loads https://allowed.example/ ($CR_MS ms)"
	else _t_notok "Chromium loads https://allowed.example/" "net error $CR_ERR, exit $RC: $(short)"; fi
	chromium_get http://allowed.example:8080/ "$W4:8080"
	if [ "$CR_ERR" = 0 ] && grep -q "tapis-lab site=allowed.example " <<<"$OUT"; then
		_t_ok "Chromium loads http://allowed.example:8080/ ($CR_MS ms)"
	else _t_notok "Chromium loads http://allowed.example:8080/" "net error $CR_ERR, exit $RC: $(short)"; fi
fi
assert_true "nginx logged allowed.example by SNI" "no sni=allowed.example line" \
	logged "sni=allowed\.example host=allowed\.example"

# --- reject: blocked.example and names under it ------------------------------------------
# TLS: one connection each with a ClientHello naming a blocked name
N_TLS=0 N_HTTP=0
curl_tls12 blocked.example
reset "curl TLS 1.2 https://blocked.example/: connection reset within 1 s" "$RST_CURL"
curl_tls13 www.blocked.example 6
reset "curl TLS 1.3 over IPv6 https://www.blocked.example/: reset within 1 s" "$RST_CURL"
s_client www.blocked.example "$W4"
reset "openssl s_client -servername www.blocked.example: reset within 1 s" "$RST_OPENSSL"
s_client WwW.BlOcKeD.eXaMpLe "[$W6]" -tls1_2
reset "openssl s_client -tls1_2 over IPv6, SNI WwW.BlOcKeD.eXaMpLe: reset within 1 s" "$RST_OPENSSL"
gnutls www.blocked.example
reset "gnutls-cli www.blocked.example: reset within 1 s" "$RST_GNUTLS"
wget_get https://blocked.example/ -4
reset "wget https://blocked.example/: reset within 1 s" "$RST_WGET"
py_get https://www.blocked.example/
reset "python3 urllib https://www.blocked.example/: reset within 1 s" "$RST_PY"
N_TLS=7
if [ "$HAVE_CHROMIUM" = 1 ]; then
	chromium_get https://www.blocked.example/ "$W4:443"
	if [ "$CR_ERR" = -101 ] && [ "$CR_MS" -ge 0 ] && [ "$CR_MS" -lt 1000 ]; then
		_t_ok "Chromium https://www.blocked.example/: ERR_CONNECTION_RESET after $CR_MS ms ($CR_CONNS connections)"
	else
		_t_notok "Chromium https://www.blocked.example/: ERR_CONNECTION_RESET within 1 s" \
			"net error $CR_ERR after $CR_MS ms, $CR_CONNS connections: $(short)"
	fi
	N_TLS=$((N_TLS + 1))
fi

# HTTP: one request each with a Host naming a blocked name
curl_http blocked.example 80
reset "curl http://blocked.example/: reset within 1 s" "$RST_CURL"
timed curl -sS --max-time $T -H 'Host: BLOCKED.example:8080' "http://$W4:8080/"
reset "curl -H 'Host: BLOCKED.example:8080' http://$W4:8080/: reset within 1 s" "$RST_CURL"
timed curl -sS --max-time $T --resolve "www.blocked.example.:80:[$W6]" http://www.blocked.example./
reset "curl over IPv6 http://www.blocked.example./ (trailing dot): reset within 1 s" "$RST_CURL"
wget_get http://www.blocked.example:8080/ -6
reset "wget over IPv6 http://www.blocked.example:8080/: reset within 1 s" "$RST_WGET"
py_get http://blocked.example/
reset "python3 urllib http://blocked.example/: reset within 1 s" "$RST_PY"
N_HTTP=5
if [ "$HAVE_CHROMIUM" = 1 ]; then
	chromium_get http://blocked.example:8080/ "$W4:8080"
	if [ "$CR_ERR" = -101 ] && [ "$CR_MS" -ge 0 ] && [ "$CR_MS" -lt 1000 ]; then
		_t_ok "Chromium http://blocked.example:8080/: ERR_CONNECTION_RESET after $CR_MS ms ($CR_CONNS connections)"
	else
		_t_notok "Chromium http://blocked.example:8080/: ERR_CONNECTION_RESET within 1 s" \
			"net error $CR_ERR after $CR_MS ms, $CR_CONNS connections: $(short)"
	fi
	N_HTTP=$((N_HTTP + 1))
fi
assert_true "nginx never served blocked.example or www.blocked.example" \
	"it did: $(tail -n +"$log_from" "$LAB_WEB_LOG" | grep -iE '[=.]blocked\.example' | grep -v exception | head -2 | tr '\n' '|')" \
	eval '! logged "(sni|host)=(www\.)?blocked\.example "'

# --- allow inside the blocked name -----------------------------------------------------
curl_tls13 exception.blocked.example
loaded "curl TLS 1.3 loads https://exception.blocked.example/ (exact allow)" \
	exception.blocked.example blocked.example
curl_http exception.blocked.example 8080 6
loaded "curl over IPv6 loads http://exception.blocked.example:8080/" \
	exception.blocked.example blocked.example

# --- monitor -------------------------------------------------------------------------
curl_tls12 watched.example 6
loaded "curl TLS 1.2 over IPv6 loads https://watched.example/ (monitor)" watched.example watched.example
wget_get https://watched.example/ -4
loaded "wget loads https://watched.example/ (monitor)" watched.example watched.example
py_get http://watched.example:8080/
loaded "python3 urllib loads http://watched.example:8080/ (monitor)" watched.example watched.example

# --- drop: dropped.example gets no answer -------------------------------------------------
curl_tls13 dropped.example
no_answer "curl TLS 1.3 https://dropped.example/: no answer"
s_client dropped.example "[$W6]"
no_answer "openssl s_client over IPv6 -servername dropped.example: no answer"
curl_http dropped.example 80 6
no_answer "curl over IPv6 http://dropped.example/: no answer"
N_DROP_TLS=2 N_DROP_HTTP=1
if [ "$HAVE_CHROMIUM" = 1 ]; then
	chromium_get https://dropped.example/ "$W4:443"
	if [ "$CR_ERR" != 0 ] && [ "$CR_ERR" != -101 ] && [ "$CR_MS" -ge 2000 ] &&
		! grep -q "tapis-lab site=" <<<"$OUT"; then
		_t_ok "Chromium https://dropped.example/: no page (net error $CR_ERR after $CR_MS ms)"
	else
		_t_notok "Chromium https://dropped.example/: no page" \
			"net error $CR_ERR after $CR_MS ms (run $MS ms): $(short)"
	fi
	N_DROP_TLS=$((N_DROP_TLS + 1))
fi
assert_true "nginx never served dropped.example" "it did" eval '! logged "(sni|host)=dropped\.example "'

# --- counters ---------------------------------------------------------------------------
assert_ok "stats --json" lab_tapis stats --json
js=$OUT
# kind RULE KIND: packets the rule counted by that kind of match
kind() { json_q "$js" "next(r['kinds']['$2'] for r in d['rules'] if r['name'] == '$1')"; }
ge() { [ -n "$1" ] && [ "$1" -ge "$2" ] 2>/dev/null; }
for r in web-reject web-exception web-drop web-watch; do
	assert_eq "$r: its packets split by kind add up" "$(rule_stat "$r" packets "$js")" \
		"$(json_q "$js" "next(sum(r['kinds'].values()) for r in d['rules'] if r['name'] == '$r')")"
	assert_eq "$r: no packet matched by address (host rule)" 0 "$(kind "$r" net)"
done
# Each blocked connection carried at least its ClientHello or request.
p=$(kind web-reject tls)
assert_true "web-reject: tls >= $N_TLS (blocked TLS connections), got $p" "got '$p'" ge "$p" $N_TLS
p=$(kind web-reject http)
assert_true "web-reject: http >= $N_HTTP (blocked HTTP requests), got $p" "got '$p'" ge "$p" $N_HTTP
p=$(rule_stat web-reject packets "$js")
assert_true "web-reject: packets >= $((N_TLS + N_HTTP)), got $p" "got '$p'" ge "$p" $((N_TLS + N_HTTP))
p=$(kind web-drop tls)
assert_true "web-drop: tls >= $N_DROP_TLS, got $p" "got '$p'" ge "$p" $N_DROP_TLS
p=$(kind web-drop http)
assert_true "web-drop: http >= $N_DROP_HTTP, got $p" "got '$p'" ge "$p" $N_DROP_HTTP
# a dropped ClientHello or request is sent again (TCP retransmission) and
# dropped again within the clients' $T s
p=$(rule_stat web-drop packets "$js")
n=$((N_DROP_TLS + N_DROP_HTTP + 1))
assert_true "web-drop: packets >= $n (retransmissions dropped too), got $p" "got '$p'" ge "$p" $n
p=$(kind web-exception tls)
assert_true "web-exception: tls >= 1, got $p" "got '$p'" ge "$p" 1
p=$(kind web-exception http)
assert_true "web-exception: http >= 1, got $p" "got '$p'" ge "$p" 1
p=$(kind web-watch tls)
assert_true "web-watch: tls >= 2, got $p" "got '$p'" ge "$p" 2
p=$(kind web-watch http)
assert_true "web-watch: http >= 1, got $p" "got '$p'" ge "$p" 1
assert_ok "stats (text) works" lab_tapis stats

# --- unload: everything loads again ----------------------------------------------------------
assert_ok "unload" lab_tapis unload
curl_tls13 www.blocked.example
loaded "after unload curl loads https://www.blocked.example/" www.blocked.example blocked.example
curl_http dropped.example 8080
loaded "after unload curl loads http://dropped.example:8080/" dropped.example dropped.example

lab_test_end
