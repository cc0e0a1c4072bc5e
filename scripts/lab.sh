#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# lab.sh - the network-namespace lab used by `make demo` and the lab tests.
#
#   client ns              router ns                   server ns
#   ${P}-c                 ${P}-r                      ${P}-s
#   c0 ───────────────── r0      r1 ──────────────────── s0
#   198.18.1.2/24        198.18.1.1/24  198.18.2.1/24    198.18.2.2/24
#   198.18.1.66/24       2001:db8:1::1  2001:db8:2::1    198.18.2.10/24  (web "allowed")
#   2001:db8:1::2/64                                     198.18.3.10/24  (range the demo blocks)
#   2001:db8:1::66/64                                    198.18.3.99/24  (exception inside it)
#                                                        2001:db8:2::2/64, 2001:db8:2::10/64
#                                                        2001:db8:3::10/64, 2001:db8:3::99/64
#
# P is $LAB_PREFIX (default "tapis"). The router forwards both families; tapis
# is attached to r0 (traffic from the client). c0, r1 and s0 run an XDP_PASS
# program in native mode: on veth, frames sent with XDP_TX / XDP_REDIRECT
# reach the peer only when the peer runs an XDP program. The client's second
# addresses (.66 / ::66) exist so that source-address rules have a victim;
# they are never picked as a source unless asked for (ping -I, curl --interface).
#
# The server runs nginx (ports 80, 8080 and, when openssl exists, 443 with a
# self-signed certificate; v4 and v6, every address) answering with the address
# it was reached on, and dnsmasq on 198.18.2.2 / 2001:db8:2::2 port 53 with the
# records in lab_start_dns, logging every query to $LAB_DIR/dnsmasq.log.
#
# `ip netns exec` gives each invocation its own /sys, so pins under
# /sys/fs/bpf do not outlive one command. The lab mounts a bpffs at
# $LAB_DIR/bpffs in the calling mount namespace (visible inside every
# `ip netns exec`) and exports TAPIS_PIN=$LAB_DIR/bpffs/tapis for --pin-path
# (and LIBXDP_BPFFS, so libxdp keeps its own pins there too).
#
# Optional parts, for the tests that need them:
#   lab_web_sites DIR NAME...  nginx also serves NAME... by name (HTTPS with SNI,
#                              a CA made in DIR; HTTP on 80 and 8080)
#   lab_hosts c LINE...        an /etc/hosts of its own for a namespace
#   lab_add_blockpage          a fourth namespace ${P}-b, the block-page host,
#                              on a second router interface r2 (see there)
#
# Use as a CLI:   bash scripts/lab.sh up | down | exec c|r|s|b CMD... | env | status | blockpage
# or source it:   . scripts/lab.sh; trap lab_down EXIT; lab_up || exit 1
#                 lab_exec c curl http://198.18.2.10/; lab_tapis status --json
#
# Everything lab_up makes is removed by lab_down, which is idempotent and safe
# after a half-finished lab_up. Processes are stopped by the PIDs recorded in
# $LAB_DIR/pids, never by name.

LAB_REPO=${LAB_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
LAB_PREFIX=${LAB_PREFIX:-tapis}
LAB_DIR=${LAB_DIR:-/run/${LAB_PREFIX}-lab}
LAB_NS_C=${LAB_PREFIX}-c
LAB_NS_R=${LAB_PREFIX}-r
LAB_NS_S=${LAB_PREFIX}-s
LAB_NS_B=${LAB_PREFIX}-b # only after lab_add_blockpage
LAB_XDP_PASS=${LAB_XDP_PASS:-$LAB_REPO/build/xdp_pass.bpf.o}
LAB_SERVICES=${LAB_SERVICES-web dns}  # what lab_up starts; "" for none
LAB_QUIET=${LAB_QUIET:-0}
TAPIS_BIN=${TAPIS_BIN:-$LAB_REPO/build/tapis}
TAPIS_PIN=$LAB_DIR/bpffs/tapis
# The lab's changes are audited in the lab, not in the machine's log.
export TAPIS_AUDIT_LOG=${TAPIS_AUDIT_LOG:-$LAB_DIR/audit.log}
export LAB_REPO LAB_PREFIX LAB_DIR LAB_NS_C LAB_NS_R LAB_NS_S LAB_NS_B LAB_XDP_PASS \
	TAPIS_BIN TAPIS_PIN

# Addresses, for scripts that source this file.
LAB_C4=198.18.1.2 LAB_C6=2001:db8:1::2
LAB_C4_ALT=198.18.1.66 LAB_C6_ALT=2001:db8:1::66
LAB_R0_4=198.18.1.1 LAB_R0_6=2001:db8:1::1
LAB_R1_4=198.18.2.1 LAB_R1_6=2001:db8:2::1
LAB_S4=198.18.2.2 LAB_S6=2001:db8:2::2
LAB_WEB4=198.18.2.10 LAB_WEB6=2001:db8:2::10
LAB_BLK4=198.18.3.10 LAB_BLK6=2001:db8:3::10
LAB_EXC4=198.18.3.99 LAB_EXC6=2001:db8:3::99
LAB_DNS4=$LAB_S4 LAB_DNS6=$LAB_S6
LAB_R2_4=198.18.4.1 LAB_R2_6=2001:db8:4::1 # block-page host (lab_add_blockpage)
LAB_BP4=198.18.4.2 LAB_BP6=2001:db8:4::2 LAB_BP_MAC=02:00:00:00:b0:02
LAB_WEB_LOG=$LAB_DIR/nginx/logs/access.log
LAB_BP_LOG=$LAB_DIR/blockpage/logs/access.log

lab_log() { [ "$LAB_QUIET" = 1 ] || echo "lab: $*" >&2; }
lab_err() { echo "lab: error: $*" >&2; }

# lab_ns c|r|s|client|router|server|NAME -> namespace name
lab_ns() {
	case $1 in
	c | client) echo "$LAB_NS_C" ;;
	r | router) echo "$LAB_NS_R" ;;
	s | server) echo "$LAB_NS_S" ;;
	b | blockpage) echo "$LAB_NS_B" ;;
	*) echo "$1" ;;
	esac
}

# lab_exec c|r|s CMD... : run CMD inside a lab namespace
lab_exec() {
	local ns
	ns=$(lab_ns "$1") || return
	shift
	ip netns exec "$ns" "$@"
}

# lab_tapis ARGS... : run build/tapis in the router namespace with
# --pin-path $TAPIS_PIN placed right after the command words
# ("status", "host add", "net del", ...), so option parsing order never matters.
lab_tapis() {
	local n=1
	case ${1-} in host | net) n=2 ;; esac
	[ $# -ge $n ] || n=$#
	ip netns exec "$LAB_NS_R" "$TAPIS_BIN" "${@:1:n}" --pin-path "$TAPIS_PIN" "${@:n+1}"
}

# lab_missing: print the first missing prerequisite and return 1, or return 0.
lab_missing() {
	local b
	if [ "$(id -u)" != 0 ]; then
		echo "not root"
		return 1
	fi
	for b in ip mount umount mountpoint ping curl nginx dnsmasq; do
		if ! command -v "$b" >/dev/null 2>&1; then
			echo "$b not installed"
			return 1
		fi
	done
	if [ ! -f "$LAB_XDP_PASS" ] && ! command -v clang >/dev/null 2>&1; then
		echo "$LAB_XDP_PASS missing and no clang to build one"
		return 1
	fi
	return 0
}

# ---- processes: "PID COMM" lines in $LAB_DIR/pids -------------------------

# lab_bg NAME COMM NS CMD... : start CMD in namespace NS in the background,
# output to $LAB_DIR/NAME.out, and record its PID (COMM = expected comm).
lab_bg() {
	local name=$1 comm=$2 ns pid
	ns=$(lab_ns "$3") || return
	shift 3
	ip netns exec "$ns" "$@" </dev/null >>"$LAB_DIR/$name.out" 2>&1 &
	pid=$!
	echo "$pid $comm" >>"$LAB_DIR/pids"
	LAB_LAST_PID=$pid
}

# Is PID alive (not gone, not a zombie)?
lab_pid_alive() {
	local st
	[ -r "/proc/$1/stat" ] || return 1
	st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# lab_stop_pid PID [COMM] : TERM, wait up to 5 s, then KILL; reap if ours.
lab_stop_pid() {
	local pid=$1 comm=${2-} i
	lab_pid_alive "$pid" || { wait "$pid" 2>/dev/null; return 0; }
	if [ -n "$comm" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != "$comm" ]; then
		return 0 # PID reused by something else: not ours
	fi
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 50); do
		lab_pid_alive "$pid" || break
		sleep 0.1
	done
	if lab_pid_alive "$pid"; then
		kill -KILL "$pid" 2>/dev/null
		sleep 0.1
	fi
	wait "$pid" 2>/dev/null
	return 0
}

lab_stop_recorded() {
	local pid comm
	[ -f "$LAB_DIR/pids" ] || return 0
	while read -r pid comm; do
		[ -n "$pid" ] && lab_stop_pid "$pid" "$comm"
	done <"$LAB_DIR/pids"
	: >"$LAB_DIR/pids"
}

# Anything still running inside a lab namespace was started there by the lab
# or a test (a background tcpdump, tapis serve, ...): stop it by PID.
lab_stop_ns_pids() {
	local ns pid
	for ns in "$LAB_NS_C" "$LAB_NS_R" "$LAB_NS_S" "$LAB_NS_B"; do
		[ -e "/run/netns/$ns" ] || continue
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			[ "$pid" = $$ ] && continue
			lab_stop_pid "$pid"
		done
	done
}

# ---- topology ----------------------------------------------------------------

lab_xdp_obj() {
	if [ -f "$LAB_XDP_PASS" ]; then
		echo "$LAB_XDP_PASS"
		return 0
	fi
	# Not built yet (developing the lab alone): build an XDP_PASS program here.
	local src=$LAB_DIR/xdp_pass.bpf.c obj=$LAB_DIR/xdp_pass.bpf.o
	if [ ! -f "$obj" ]; then
		cat >"$src" <<-'EOF'
			/* no includes: the host may lack asm/types.h for -target bpf */
			#define SEC(n) __attribute__((section(n), used))
			SEC("xdp") int xdp_pass(void *ctx) { return 2; /* XDP_PASS */ }
			char LICENSE[] SEC("license") = "GPL";
		EOF
		clang -O2 -g -target bpf -c "$src" -o "$obj" >&2 || return 1
	fi
	echo "$obj"
}

# Send full checksums from the end hosts, as a real wire does: veth would
# otherwise hand partial (offloaded) checksums to the router's XDP program and
# any answer it builds from them would be wrong on the wire.
lab_tx_csum_off() {
	local ns=$1 dev=$2
	if command -v ethtool >/dev/null 2>&1; then
		ip netns exec "$ns" ethtool -K "$dev" tx off >/dev/null 2>&1 && return 0
	fi
	if command -v python3 >/dev/null 2>&1; then
		# SIOCETHTOOL / ETHTOOL_STXCSUM, for machines without ethtool
		ip netns exec "$ns" python3 - "$dev" <<-'EOF' && return 0
			import array, fcntl, socket, struct, sys
			buf = array.array('B', struct.pack('II', 0x17, 0))
			ifr = struct.pack('16sP', sys.argv[1].encode(), buf.buffer_info()[0])
			s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
			fcntl.ioctl(s.fileno(), 0x8946, ifr)
		EOF
	fi
	lab_log "warning: could not turn off tx checksum offload on $dev"
	return 0
}

lab_ping_ok() { # lab_ping_ok NS ADDR: one echo answered within 1 s
	ip netns exec "$(lab_ns "$1")" ping -n -q -c 1 -W 1 "$2" >/dev/null 2>&1
}

lab_wait_ping() { # lab_wait_ping NS ADDR [tries]
	local i
	for i in $(seq "${3:-50}"); do
		lab_ping_ok "$1" "$2" && return 0
		sleep 0.2
	done
	lab_err "no ping reply from $2 in $(lab_ns "$1")"
	return 1
}

lab_topology() {
	local ns obj
	for ns in "$LAB_NS_C" "$LAB_NS_R" "$LAB_NS_S"; do
		ip netns add "$ns" || return 1
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0 \
			net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_ra=0 || return 1
		ip -n "$ns" link set lo up || return 1
	done
	ip netns exec "$LAB_NS_R" sysctl -qw net.ipv4.ip_forward=1 \
		net.ipv6.conf.all.forwarding=1 || return 1

	ip link add c0 netns "$LAB_NS_C" type veth peer name r0 netns "$LAB_NS_R" || return 1
	ip link add r1 netns "$LAB_NS_R" type veth peer name s0 netns "$LAB_NS_S" || return 1

	# client
	ip -n "$LAB_NS_C" addr add 198.18.1.2/24 dev c0 &&
		ip -n "$LAB_NS_C" addr add 198.18.1.66/24 dev c0 &&
		ip -n "$LAB_NS_C" addr add 2001:db8:1::2/64 dev c0 nodad &&
		ip -n "$LAB_NS_C" addr add 2001:db8:1::66/64 dev c0 nodad preferred_lft 0 &&
		ip -n "$LAB_NS_C" link set c0 up &&
		ip -n "$LAB_NS_C" route add default via 198.18.1.1 &&
		ip -n "$LAB_NS_C" -6 route add default via 2001:db8:1::1 || return 1
	# router
	ip -n "$LAB_NS_R" addr add 198.18.1.1/24 dev r0 &&
		ip -n "$LAB_NS_R" addr add 2001:db8:1::1/64 dev r0 nodad &&
		ip -n "$LAB_NS_R" addr add 198.18.2.1/24 dev r1 &&
		ip -n "$LAB_NS_R" addr add 2001:db8:2::1/64 dev r1 nodad &&
		ip -n "$LAB_NS_R" link set r0 up &&
		ip -n "$LAB_NS_R" link set r1 up &&
		ip -n "$LAB_NS_R" route add 198.18.3.0/24 via 198.18.2.2 &&
		ip -n "$LAB_NS_R" -6 route add 2001:db8:3::/48 via 2001:db8:2::2 || return 1
	# server
	ip -n "$LAB_NS_S" addr add 198.18.2.2/24 dev s0 &&
		ip -n "$LAB_NS_S" addr add 198.18.2.10/24 dev s0 &&
		ip -n "$LAB_NS_S" addr add 198.18.3.10/24 dev s0 &&
		ip -n "$LAB_NS_S" addr add 198.18.3.99/24 dev s0 &&
		ip -n "$LAB_NS_S" addr add 2001:db8:2::2/64 dev s0 nodad &&
		ip -n "$LAB_NS_S" addr add 2001:db8:2::10/64 dev s0 nodad &&
		ip -n "$LAB_NS_S" addr add 2001:db8:3::10/64 dev s0 nodad &&
		ip -n "$LAB_NS_S" addr add 2001:db8:3::99/64 dev s0 nodad &&
		ip -n "$LAB_NS_S" link set s0 up &&
		ip -n "$LAB_NS_S" route add default via 198.18.2.1 &&
		ip -n "$LAB_NS_S" -6 route add default via 2001:db8:2::1 || return 1

	lab_tx_csum_off "$LAB_NS_C" c0
	lab_tx_csum_off "$LAB_NS_S" s0

	obj=$(lab_xdp_obj) || return 1
	ip -n "$LAB_NS_C" link set dev c0 xdpdrv obj "$obj" sec xdp &&
		ip -n "$LAB_NS_R" link set dev r1 xdpdrv obj "$obj" sec xdp &&
		ip -n "$LAB_NS_S" link set dev s0 xdpdrv obj "$obj" sec xdp || {
		lab_err "cannot attach $obj in native mode"
		return 1
	}

	local a
	for a in 198.18.2.2 2001:db8:2::2 198.18.2.10 2001:db8:2::10 \
		198.18.3.10 2001:db8:3::10 198.18.3.99 2001:db8:3::99; do
		lab_wait_ping c "$a" || return 1
	done
}

lab_mount_bpffs() {
	mkdir -p "$LAB_DIR/bpffs" || return 1
	mountpoint -q "$LAB_DIR/bpffs" && return 0
	mount -t bpf bpf "$LAB_DIR/bpffs" || {
		lab_err "cannot mount bpffs at $LAB_DIR/bpffs"
		return 1
	}
}

# ---- services ------------------------------------------------------------

# _lab_nginx_conf DIR SERVER-BLOCKS: an nginx configuration for a prefix DIR
# (pid, logs, temp files inside it); every request is logged to
# DIR/logs/access.log as "CLIENT -> ADDR:PORT site=SERVER_NAME sni=SNI
# host=HOST "REQUEST" STATUS". Files DIR/sites/*.conf are included too.
_lab_nginx_conf() {
	local d=$1 servers
	servers=$(sed 's/^\t*//' <<<"$2") # drop the caller's source indentation
	cat <<-EOF
		# tapis lab web server (generated by scripts/lab.sh)
		daemon off;
		master_process on;
		worker_processes 1;
		user root;
		pid $d/nginx.pid;
		error_log $d/logs/error.log;
		events { worker_connections 256; }
		http {
		    log_format tapis '\$remote_addr -> \$server_addr:\$server_port site=\$server_name sni=\$ssl_server_name host=\$host "\$request" \$status';
		    access_log $d/logs/access.log tapis;
		    client_body_temp_path $d/tmp/body;
		    proxy_temp_path $d/tmp/proxy;
		    fastcgi_temp_path $d/tmp/fastcgi;
		    uwsgi_temp_path $d/tmp/uwsgi;
		    scgi_temp_path $d/tmp/scgi;
		    default_type text/plain;
		    keepalive_timeout 5;
		    ssl_protocols TLSv1.2 TLSv1.3;
		    $servers
		    include $d/sites/*.conf;
		}
	EOF
}

# _lab_nginx_start NAME NS DIR URL... : start nginx with DIR/nginx.conf in NS
# and wait until every URL answers (curl run in NS).
_lab_nginx_start() {
	local name=$1 ns=$2 d=$3 i u ok
	shift 3
	lab_bg "$name" nginx "$ns" nginx -p "$d" -c "$d/nginx.conf" || return 1
	for i in $(seq 50); do
		ok=1
		for u in "$@"; do
			lab_exec "$ns" curl -fsS --max-time 1 -o /dev/null "$u" 2>/dev/null || ok=0
		done
		[ "$ok" = 1 ] && return 0
		lab_pid_alive "$LAB_LAST_PID" || break
		sleep 0.1
	done
	lab_err "nginx ($name) did not come up; see $LAB_DIR/$name.out and $d/logs/error.log"
	cat "$LAB_DIR/$name.out" "$d/logs/error.log" >&2 2>/dev/null
	return 1
}

lab_start_web() {
	local d=$LAB_DIR/nginx ssl=""
	mkdir -p "$d/tmp" "$d/logs" "$d/sites" || return 1
	if command -v openssl >/dev/null 2>&1 &&
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout "$d/key.pem" -out "$d/cert.pem" -days 7 -subj "/CN=tapis-lab" \
			-addext "subjectAltName=DNS:allowed.example,DNS:*.example,DNS:*.blocked.example,DNS:blocked.example,IP:198.18.2.10,IP:198.18.3.10" \
			>/dev/null 2>&1; then
		ssl="listen 443 ssl default_server; listen [::]:443 ssl default_server;
		        ssl_certificate $d/cert.pem; ssl_certificate_key $d/key.pem;"
	fi
	_lab_nginx_conf "$d" "server {
		        listen 80 default_server; listen [::]:80 default_server;
		        listen 8080 default_server; listen [::]:8080 default_server;
		        $ssl
		        server_name _;
		        location / {
		            return 200 \"tapis-lab server_addr=\$server_addr port=\$server_port host=\$host\n\";
		        }
		    }" >"$d/nginx.conf" || return 1
	_lab_nginx_start nginx s "$d" http://198.18.2.2:80/ "http://[2001:db8:2::2]:8080/"
}

# lab_web_sites DIR NAME... : the server's nginx also serves each NAME, and
# every name under it, on 443 (HTTPS), 80 and 8080, IPv4 and IPv6, on every
# address. A CA is made now in DIR (DIR/ca.pem, for clients to verify with;
# keys stay in DIR, which the caller removes) and each NAME gets its own key
# and certificate (NAME and *.NAME) signed by it, so a client that verifies
# proves nginx chose the certificate by the SNI it sent. Pages read
# "tapis-lab site=NAME server_addr=A port=P host=H sni=S"; $LAB_WEB_LOG gets
# "... site=NAME sni=S host=H ..." for every request served. nginx re-reads
# its configuration (SIGHUP); returns when every NAME answers over HTTPS.
lab_web_sites() {
	local dir=$1 d=$LAB_DIR/nginx n pid i ok
	shift
	command -v openssl >/dev/null 2>&1 || { lab_err "lab_web_sites needs openssl"; return 1; }
	mkdir -p "$dir" "$d/sites" || return 1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$dir/ca.key" -out "$dir/ca.pem" -days 2 -subj "/CN=tapis-lab test CA" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" >"$dir/openssl.out" 2>&1 || {
		lab_err "cannot make a CA in $dir"
		cat "$dir/openssl.out" >&2
		return 1
	}
	for n in "$@"; do
		printf '%s\n' "subjectAltName=DNS:$n,DNS:*.$n" "basicConstraints=CA:FALSE" \
			"keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" \
			"subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" >"$dir/$n.ext"
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout "$dir/$n.key" -out "$dir/$n.csr" -subj "/CN=$n" >>"$dir/openssl.out" 2>&1 &&
			openssl x509 -req -in "$dir/$n.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
				-set_serial "0x$(openssl rand -hex 8)" -days 2 -extfile "$dir/$n.ext" \
				-out "$dir/$n.pem" >>"$dir/openssl.out" 2>&1 || {
			lab_err "cannot make a certificate for $n in $dir"
			cat "$dir/openssl.out" >&2
			return 1
		}
		cat >"$d/sites/$n.conf" <<-EOF
			server {
			    listen 80; listen [::]:80; listen 8080; listen [::]:8080;
			    listen 443 ssl; listen [::]:443 ssl;
			    server_name $n *.$n;
			    ssl_certificate $dir/$n.pem; ssl_certificate_key $dir/$n.key;
			    location / {
			        return 200 "tapis-lab site=$n server_addr=\$server_addr port=\$server_port host=\$host sni=\$ssl_server_name\n";
			    }
			}
		EOF
	done
	pid=$(cat "$d/nginx.pid" 2>/dev/null)
	if [ -z "$pid" ] || [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != nginx ]; then
		lab_err "lab_web_sites: the lab's nginx is not running"
		return 1
	fi
	kill -HUP "$pid" || return 1
	for i in $(seq 50); do
		ok=1
		for n in "$@"; do
			lab_exec s curl -sS --max-time 1 --cacert "$dir/ca.pem" \
				--resolve "$n:443:$LAB_S4" "https://$n/" 2>/dev/null |
				grep -q "^tapis-lab site=$n " || ok=0
		done
		[ "$ok" = 1 ] && return 0
		sleep 0.1
	done
	lab_err "nginx does not serve $* after a reload; see $d/logs/error.log"
	cat "$d/logs/error.log" >&2 2>/dev/null
	return 1
}

# lab_web_seen REGEX : did the server's nginx log a request matching the
# extended REGEX (see lab_web_sites for the line format)?
lab_web_seen() {
	grep -qE -- "$1" "$LAB_WEB_LOG" 2>/dev/null
}

# lab_hosts NS LINE... : every later `ip netns exec NS` gets an /etc/hosts of
# its own holding localhost and the LINEs ("ADDRESS NAME..."): iproute2 bind
# mounts each file in /etc/netns/NS over /etc for that invocation. lab_down
# removes it.
lab_hosts() {
	local ns
	ns=$(lab_ns "$1") || return
	shift
	mkdir -p "/etc/netns/$ns" || return 1
	{
		printf '%s\n' "127.0.0.1 localhost" "::1 localhost ip6-localhost ip6-loopback"
		printf '%s\n' "$@"
	} >"/etc/netns/$ns/hosts"
}

lab_start_dns() {
	local conf=$LAB_DIR/dnsmasq.conf i
	cat >"$conf" <<-EOF
		# tapis lab DNS server (generated by scripts/lab.sh)
		no-hosts
		no-resolv
		no-poll
		bind-interfaces
		listen-address=198.18.2.2
		listen-address=2001:db8:2::2
		port=53
		user=root
		group=root
		pid-file=$LAB_DIR/dnsmasq.pid
		log-queries
		log-facility=$LAB_DIR/dnsmasq.log
		# answer for example. from here only: unknown names are NXDOMAIN
		local=/example/
		host-record=server.example,198.18.2.2,2001:db8:2::2
		host-record=allowed.example,198.18.2.10,2001:db8:2::10
		host-record=a.b.c.d.e.example,198.18.2.10,2001:db8:2::10
		host-record=blocked.example,198.18.3.10,2001:db8:3::10
		host-record=www.blocked.example,198.18.3.10,2001:db8:3::10
		host-record=api.blocked.example,198.18.3.10,2001:db8:3::10
		host-record=deep.sub.blocked.example,198.18.3.10,2001:db8:3::10
		host-record=exception.blocked.example,198.18.3.99,2001:db8:3::99
		host-record=other.example,198.18.2.10,2001:db8:2::10
		host-record=notblocked-example.example,198.18.2.10,2001:db8:2::10
		# bücher.example in A-label form
		host-record=xn--bcher-kva.example,198.18.3.10,2001:db8:3::10
		host-record=a-label-that-is-exactly-sixty-three-characters-long-abcdefghijk.example,198.18.2.10
		cname=www.allowed.example,allowed.example
		cname=alias.blocked.example,blocked.example
		host-record=mail.allowed.example,198.18.2.10
		mx-host=allowed.example,mail.allowed.example,10
		txt-record=txt.example,"v=tapis-lab; hello from the lab"
		txt-record=allowed.example,"tapis-lab allowed"
		txt-record=blocked.example,"tapis-lab blocked"
	EOF
	: >"$LAB_DIR/dnsmasq.log"
	lab_bg dnsmasq dnsmasq s dnsmasq --keep-in-foreground --conf-file="$conf" || return 1
	for i in $(seq 50); do
		if lab_exec s dig +short +time=1 +tries=1 @198.18.2.2 server.example A 2>/dev/null |
			grep -qx 198.18.2.2; then
			return 0
		fi
		lab_pid_alive "$LAB_LAST_PID" || break
		sleep 0.1
	done
	lab_err "dnsmasq did not come up; see $LAB_DIR/dnsmasq.out"
	cat "$LAB_DIR/dnsmasq.out" >&2 2>/dev/null
	return 1
}

# lab_dns_seen NAME [seconds]: did the DNS server log a query for NAME?
lab_dns_seen() {
	local i n=$((${2:-2} * 10))
	for i in $(seq "$n"); do
		grep -qiE "query\[[A-Z0-9]+\] $1 from" "$LAB_DIR/dnsmasq.log" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# ---- the block-page host (optional) --------------------------------------------
#
#   router ns ${P}-r                     block-page ns ${P}-b
#   r2 ─────────────────────────────── bp0
#   198.18.4.1/24  2001:db8:4::1/64      198.18.4.2/24  2001:db8:4::2/64
#                                        MAC $LAB_BP_MAC
#
# lab_add_blockpage [PREFIX...] : add it to a running lab. bp0 runs XDP_PASS,
# so frames tapis sends there with XDP_REDIRECT (a rule's
# `redirect: { iface: r2, mac: $LAB_BP_MAC }`) arrive. Every address in
# PREFIX... (default: the server's 198.18.2.0/24, 198.18.3.0/24,
# 2001:db8:2::/64 and 2001:db8:3::/48) is local on the block-page host
# (AnyIP routes on lo), so redirected traffic is answered there under the
# address the client asked for: pings are echoed, and an nginx serves
# "tapis-lab blockpage server_addr=A port=P host=H" on 80 and 8080 (v4, v6),
# logging each request to $LAB_BP_LOG; a TCP segment of a connection it never
# saw (one redirected mid-flow) gets a reset. rp_filter is off on the router,
# whose answers from those addresses come in on r2, not r1.
lab_add_blockpage() {
	local ns=$LAB_NS_B d=$LAB_DIR/blockpage obj p a
	[ $# -gt 0 ] || set -- 198.18.2.0/24 198.18.3.0/24 2001:db8:2::/64 2001:db8:3::/48
	[ -d "$LAB_DIR" ] && [ -e "/run/netns/$LAB_NS_R" ] || {
		lab_err "lab_add_blockpage: no lab is up"
		return 1
	}
	ip netns add "$ns" || return 1
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_ra=0 || return 1
	ip -n "$ns" link set lo up || return 1
	ip link add r2 netns "$LAB_NS_R" type veth peer name bp0 netns "$ns" || return 1
	ip -n "$LAB_NS_R" addr add "$LAB_R2_4/24" dev r2 &&
		ip -n "$LAB_NS_R" addr add "$LAB_R2_6/64" dev r2 nodad &&
		ip -n "$LAB_NS_R" link set r2 up &&
		ip netns exec "$LAB_NS_R" sysctl -qw net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.r2.rp_filter=0 || return 1
	ip -n "$ns" link set bp0 address "$LAB_BP_MAC" &&
		ip -n "$ns" addr add "$LAB_BP4/24" dev bp0 &&
		ip -n "$ns" addr add "$LAB_BP6/64" dev bp0 nodad &&
		ip -n "$ns" link set bp0 up &&
		ip -n "$ns" route add default via "$LAB_R2_4" &&
		ip -n "$ns" -6 route add default via "$LAB_R2_6" || return 1
	for p in "$@"; do
		case $p in
		*:*) ip -n "$ns" -6 route add local "$p" dev lo ;;
		*) ip -n "$ns" route add local "$p" dev lo ;;
		esac || return 1
	done
	lab_tx_csum_off "$ns" bp0
	obj=$(lab_xdp_obj) || return 1
	ip -n "$ns" link set dev bp0 xdpdrv obj "$obj" sec xdp || {
		lab_err "cannot attach $obj to bp0 in native mode"
		return 1
	}
	for a in "$LAB_BP4" "$LAB_BP6"; do
		lab_wait_ping r "$a" || return 1
	done

	mkdir -p "$d/tmp" "$d/logs" "$d/sites" || return 1
	_lab_nginx_conf "$d" "server {
		        listen 80 default_server; listen [::]:80 default_server;
		        listen 8080 default_server; listen [::]:8080 default_server;
		        server_name _;
		        location / {
		            return 200 \"tapis-lab blockpage server_addr=\$server_addr port=\$server_port host=\$host\n\";
		        }
		    }" >"$d/nginx.conf" || return 1
	_lab_nginx_start blockpage b "$d" "http://$LAB_BP4/" "http://[$LAB_BP6]:8080/"
}

# ---- up / down -----------------------------------------------------------------

lab_up() {
	local why s
	if ! why=$(lab_missing); then
		lab_err "cannot start the lab: $why"
		return 1
	fi
	if [ -e "/run/netns/$LAB_NS_R" ] || [ -d "$LAB_DIR" ]; then
		lab_log "a lab named $LAB_PREFIX exists; tearing it down first"
		lab_down
	fi
	lab_log "up: $LAB_NS_C <-> $LAB_NS_R <-> $LAB_NS_S (state in $LAB_DIR)"
	mkdir -p "$LAB_DIR" && : >"$LAB_DIR/pids" &&
		lab_mount_bpffs && lab_topology || {
		lab_err "lab setup failed"
		lab_down
		return 1
	}
	for s in $LAB_SERVICES; do
		"lab_start_$s" || {
			lab_err "lab service $s failed"
			lab_down
			return 1
		}
	done
	export LIBXDP_BPFFS=$LAB_DIR/bpffs
	lab_log "ready: TAPIS_PIN=$TAPIS_PIN"
	return 0
}

lab_down() {
	local ns
	lab_stop_recorded
	lab_stop_ns_pids
	for ns in "$LAB_NS_C" "$LAB_NS_R" "$LAB_NS_S" "$LAB_NS_B"; do
		if [ -e "/run/netns/$ns" ]; then
			ip netns del "$ns" 2>/dev/null || lab_err "cannot delete netns $ns"
		fi
		if [ -f "/etc/netns/$ns/hosts" ]; then # lab_hosts
			rm -f "/etc/netns/$ns/hosts"
			rmdir "/etc/netns/$ns" 2>/dev/null
			rmdir /etc/netns 2>/dev/null
		fi
	done
	if [ -d "$LAB_DIR/bpffs" ]; then
		while mountpoint -q "$LAB_DIR/bpffs"; do
			umount "$LAB_DIR/bpffs" 2>/dev/null || umount -l "$LAB_DIR/bpffs" || break
		done
	fi
	if [ -d "$LAB_DIR" ] && ! mountpoint -q "$LAB_DIR/bpffs" 2>/dev/null; then
		rm -rf "$LAB_DIR"
	fi
	return 0
}

lab_status() {
	local ns
	for ns in "$LAB_NS_C" "$LAB_NS_R" "$LAB_NS_S" "$LAB_NS_B"; do
		if [ -e "/run/netns/$ns" ]; then
			echo "== $ns"
			ip -n "$ns" -br addr
			ip -n "$ns" link | grep -o 'prog/xdp[a-z]* id [0-9]*' | sed 's/^/   /'
		elif [ "$ns" != "$LAB_NS_B" ]; then
			echo "== $ns (absent)"
		fi
	done
	[ -f "$LAB_DIR/pids" ] && { echo "== processes"; cat "$LAB_DIR/pids"; }
	mountpoint -q "$LAB_DIR/bpffs" 2>/dev/null && echo "== bpffs at $LAB_DIR/bpffs"
	return 0
}

lab_main() {
	local cmd=${1-}
	shift || true
	case $cmd in
	up)
		lab_up || return 1
		echo "export LAB_PREFIX=$LAB_PREFIX LAB_DIR=$LAB_DIR TAPIS_PIN=$TAPIS_PIN LIBXDP_BPFFS=$LAB_DIR/bpffs"
		;;
	down) lab_down ;;
	exec)
		[ $# -ge 2 ] || { echo "usage: lab.sh exec c|r|s CMD..." >&2; return 2; }
		lab_exec "$@"
		;;
	tapis) lab_tapis "$@" ;;
	blockpage) lab_add_blockpage "$@" ;;
	status) lab_status ;;
	env)
		echo "LAB_PREFIX=$LAB_PREFIX LAB_DIR=$LAB_DIR TAPIS_PIN=$TAPIS_PIN"
		echo "namespaces: $LAB_NS_C $LAB_NS_R $LAB_NS_S"
		;;
	-h | --help | help | "")
		cat <<-EOF
			usage: bash scripts/lab.sh up | down | status | env
			       bash scripts/lab.sh exec c|r|s|b|NS CMD... run CMD in a lab namespace
			       bash scripts/lab.sh tapis ARGS...          build/tapis in the router ns, --pin-path set
			       bash scripts/lab.sh blockpage [PREFIX...]  add the block-page host (ns \$LAB_PREFIX-b, via r2)
			environment: LAB_PREFIX (default tapis), LAB_DIR (/run/\$LAB_PREFIX-lab),
			             LAB_SERVICES ("web dns"), LAB_XDP_PASS, TAPIS_BIN
		EOF
		[ -n "$cmd" ]
		;;
	*)
		echo "lab.sh: unknown command '$cmd' (try --help)" >&2
		return 2
		;;
	esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	export LIBXDP_BPFFS=$LAB_DIR/bpffs
	lab_main "$@"
	exit $?
fi
