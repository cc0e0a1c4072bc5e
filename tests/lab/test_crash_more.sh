#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_crash_more.sh - SIGKILL at random instants of load (onto six
# interfaces), reload (one big policy to another), batch live edits (`net
# add` and `host add --for` of many entries in one command) and unload.
# After every kill a fresh process must find a state it can tell truly and
# drive to clean:
#
#   - status answers at once (exit 0, or 4 when nothing is loaded);
#   - no interface runs tapis that status does not list (ip link), status
#     says it runs exactly where it does, and every program attached is
#     the one pinned;
#   - the policy packets meet is the old or the new one entirely, and the
#     one status names (BPF test runs of the program attached to r0 with
#     addresses only policy A blocks and addresses only B blocks);
#   - a live edit is in force exactly when status lists it, pending ones
#     (a command killed in the middle of an entry) aside, which the next
#     command completes;
#   - the next command (load, reload, the same batch, unload) reaches a
#     clean state: all interfaces or none, no pin of another generation
#     than the running one, no pin at all after an unload.
#
# The instants are drawn from a seed (CRASH_SEED, printed) over 0-120 % of
# each operation's duration as measured at the start of the run, so kills
# land before, during and after the work. CRASH_CYCLES (default 10) cycles
# of five operations: 50 kills.

export LAB_SERVICES="" # pings and test runs need no web or DNS server
. "$(dirname "$0")/lib.sh"
lab_test_begin bpftool

SEED=${CRASH_SEED:-$(($(date +%s) % 100000))}
CYCLES=${CRASH_CYCLES:-10}
N_NETS=${CRASH_NETS:-30000}
N_BATCH=${CRASH_BATCH:-300}
# A host add costs far more than a net add (each maps the name index).
N_HOSTS=${CRASH_HOSTS:-30}
echo "# seed $SEED (CRASH_SEED=$SEED replays this run), $CYCLES cycles"
RANDOM=$SEED

lab_router_ifaces 5

tmp=$(t_tmp)
# Policy A blocks 10.0.0.0/16-ish /32s and 198.18.3.10; B blocks
# 10.128.0.0/16-ish /32s and 198.18.2.10. Both hold the rule `live` the
# batches edit, so edits outlive a reload from one to the other.
for p in a b; do
	base=$([ $p = a ] && echo 0 || echo 128)
	python3 -c "
import sys
for i in range($N_NETS):
    print('10.%d.%d.%d/32' % ($base + (i >> 16), (i >> 8) & 255, i & 255))
" >"$tmp/$p-nets.txt"
	cat >"$tmp/$p.yaml" <<EOF
version: 1
rules:
  - name: big-$p
    action: drop
    net_lists: [$tmp/$p-nets.txt]
  - name: one-$p
    action: drop
    nets: [$([ $p = a ] && echo 198.18.3.10 || echo 198.18.2.10)/32]
  - name: live
    action: drop
    nets: []
EOF
done
last=$((N_NETS - 1))
LAST_A=10.$((last >> 16)).$(((last >> 8) & 255)).$((last & 255))
LAST_B=10.$((128 + (last >> 16))).$(((last >> 8) & 255)).$((last & 255))
# Addresses whose verdict tells the policies apart: dropped under A, passed
# under B, and the other way round. The last entry of each list too, so a
# table half written shows.
ONLY_A="198.18.3.10 10.0.0.7 $LAST_A"
ONLY_B="198.18.2.10 10.128.0.7 $LAST_B"

# A frame to a destination (UDP port 9), or a DNS query for a name.
cat >"$tmp/frame.py" <<'EOF'
import socket, struct, sys
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
def frame(dst, dport, payload):
    udp = struct.pack('!HHHH', 40000, dport, 8 + len(payload), 0) + payload
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                     socket.inet_aton('198.18.1.2'), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    return b'\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00' + ip + udp
def frame6(dst, dport, payload):
    src6 = socket.inet_pton(socket.AF_INET6, '2001:db8:1::2')
    dst6 = socket.inet_pton(socket.AF_INET6, dst)
    n = 8 + len(payload)
    pseudo = src6 + dst6 + struct.pack('!IxxxB', n, 17)
    udp = struct.pack('!HHHH', 40000, dport, n, 0) + payload
    c = csum(pseudo + udp) or 0xffff
    udp = udp[:6] + struct.pack('!H', c) + udp[8:]
    ip6 = struct.pack('!IHBB', 6 << 28, n, 17, 64) + src6 + dst6
    return b'\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x86\xdd' + ip6 + udp
def query(name):
    q = b''.join(bytes([len(l)]) + l.encode() for l in name.split('.')) + b'\0'
    return struct.pack('!HHHHHH', 0x1234, 0x0100, 1, 0, 0, 0) + q + struct.pack('!HH', 1, 1)
kind, what, out = sys.argv[1:4]
with open(out, 'wb') as f:
    if kind == 'dns':
        f.write(frame('198.18.2.2', 53, query(what)))
    elif kind == 'net6':
        f.write(frame6(what, 9, b'x' * 8))
    else:
        f.write(frame(what, 9, b'x' * 8))
EOF

# "IF ID" for each interface of IFACES that runs an XDP program (one ip call).
xdp_all() {
	ip -j -n "$LAB_NS_R" link show 2>/dev/null | python3 -c '
import json, sys
want = sys.argv[1:]
for l in json.load(sys.stdin):
    i = l.get("xdp", {}).get("prog", {}).get("id")
    if l["ifname"] in want and i:
        print(l["ifname"], i)' "${IFACES[@]}"
}
# What runs where, read once (xdp_snap, in the calling shell) and then
# asked: the id on IF, the interfaces that run XDP.
XDP_NOW=""
xdp_snap() { XDP_NOW=$(xdp_all); }
xdp_id() {
	sed -n "s/^$1 //p" <<<"$XDP_NOW"
}
attached_now() {
	local i out="" all
	all=" $(cut -d' ' -f1 <<<"$XDP_NOW" | tr '\n' ' ') "
	for i in "${IFACES[@]}"; do
		case "$all" in *" $i "*) out="$out $i" ;; esac
	done
	echo "${out# }"
}
pinned_id() {
	bpftool -j prog show pinned "$TAPIS_PIN/tapis_xdp" 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' 2>/dev/null
}
# verdict net ADDR | dns NAME: XDP return value of the program on r0
# (1 drop, 2 pass), or "none" with nothing attached.
VERDICT_ID="" # set: the program to test-run, instead of asking ip
verdict() {
	local id=$VERDICT_ID
	[ -n "$id" ] || { xdp_snap; id=$(xdp_id r0); }
	[ -n "$id" ] || { echo none; return; }
	local f="$tmp/frame-$1-$2"
	[ -f "$f" ] || python3 "$tmp/frame.py" "$1" "$2" "$f" || return
	bpftool prog run id "$id" data_in "$f" repeat 1 2>&1 |
		sed -n 's/^Return value: \([0-9]*\).*/\1/p'
}
# Which policy r0's program enforces: a, b, mix or none.
running_policy() {
	local a="" b="" x
	xdp_snap
	VERDICT_ID=$(xdp_id r0)
	[ -n "$VERDICT_ID" ] || { echo none; return; }
	for x in $ONLY_A; do a="$a$(verdict net "$x")"; done
	for x in $ONLY_B; do b="$b$(verdict net "$x")"; done
	case "$a/$b" in
	111/222) echo a ;;
	222/111) echo b ;;
	*/*none*) echo none ;;
	*) echo "mix($a/$b)" ;;
	esac
	VERDICT_ID=""
}

ST_JSON="" ST_RC=0
# status_now ROUND: status answers at once; sets ST_JSON and ST_RC.
status_now() {
	local t0 dt
	t0=$(date +%s%N)
	# stdout alone: a warning on stderr must not spoil the document
	OUT=$(lab_tapis status --json 2>"$tmp/status.err")
	RC=$?
	dt=$((($(date +%s%N) - t0) / 1000000))
	ST_RC=$RC ST_JSON=$OUT
	# Thousands of edits make a document too long for an argument.
	printf '%s' "$OUT" >"$tmp/status.json"
	[ -s "$tmp/status.err" ] && echo "# $1: status said: $(head -c 300 "$tmp/status.err" | tr '\n' '|')"
	assert_true "$1: status answers (exit 0 or 4) in ${dt} ms" "exit $RC after $dt ms: $(_t_short)" \
		test \( "$RC" = 0 -o "$RC" = 4 \) -a "$dt" -lt 3000
}
# st_q EXPR: EXPR over the last status document (d), printed.
st_q() {
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))
' "$tmp/status.json" "$1" 2>/dev/null
}
status_ifaces() {
	[ "$ST_RC" = 0 ] || return 0
	st_q "' '.join(i['name'] for i in d['ifaces'])"
}
status_policy() {
	[ "$ST_RC" = 0 ] || { echo none; return; }
	st_q "d['policy'].rsplit('/', 1)[-1].split('.')[0] if d['policy'] else 'none'"
}

# truthful ROUND: right after a kill, nothing runs that status does not
# show, what runs is the pinned program, and the policy is the one status
# names, whole.
truthful() {
	local r=$1 att shown i pid pol sp runs extra=""
	xdp_snap
	att=$(attached_now)
	shown=" $(status_ifaces) "
	for i in $att; do
		case "$shown" in *" $i "*) ;; *) extra="$extra $i" ;; esac
	done
	assert_true "$r: every interface running XDP is in status (attached: ${att:-none})" \
		"not in status:$extra (status: $shown)" test -z "$extra"
	# Records are intent; status asks the kernel which hold.
	runs=""
	[ "$ST_RC" = 0 ] && runs=$(st_q "' '.join(sorted(i['name'] for i in d['ifaces'] if i.get('running')))")
	assert_eq "$r: status says tapis runs exactly where ip link shows XDP" \
		"$(tr ' ' '\n' <<<"$att" | sort | xargs)" "$runs"
	if [ -n "$att" ]; then
		pid=$(pinned_id)
		for i in $att; do
			[ "$(xdp_id "$i")" = "$pid" ] || extra="$extra $i"
		done
		assert_true "$r: the program attached is the pinned one" \
			"pinned id '${pid}', other on:$extra" test -z "$extra"
	fi
	pol=$(running_policy)
	sp=$(status_policy)
	if [ "$pol" != none ] && [ "$sp" = none ]; then
		# A reload killed between recording its policy and the flip:
		# status says it does not know, which is true.
		echo "# $r: status names no policy (reload killed before its flip)"
		assert_true "$r: packets meet one whole policy ($pol)" "packets: $pol" \
			test "$pol" = a -o "$pol" = b
	elif [ "$pol" != none ]; then
		assert_true "$r: packets meet one whole policy, the one status names ($pol)" \
			"packets: $pol, status: $sp" test "$pol" = "$sp"
	fi
}

# clean_loaded ROUND POLICY: loaded on every interface, status says so,
# POLICY enforced, no pin of an idle generation.
clean_loaded() {
	local r=$1 want=$2 gen stray
	status_now "$r (after recovery)"
	xdp_snap
	assert_eq "$r: recovered: status lists all six interfaces" "${IFACES[*]}" "$(status_ifaces)"
	assert_eq "$r: recovered: all six run tapis" "${IFACES[*]}" "$(attached_now)"
	assert_eq "$r: recovered: status says all six run it" 6 \
		"$(st_q "sum(1 for i in d['ifaces'] if i.get('running'))")"
	assert_eq "$r: recovered: policy $want in force" "$want" "$(running_policy)"
	gen=$(st_q "d['generation']")
	stray=$(ls "$TAPIS_PIN" | grep -E '_g[0-9]+$' | grep -v "_g$gen\$" | tr '\n' ' ')
	assert_true "$r: recovered: no pin of another generation than $gen" "stray: $stray" \
		test -z "$stray"
}
clean_unloaded() {
	local r=$1
	xdp_snap
	assert_true "$r: unloaded: nothing pinned" "pins: $(ls "$TAPIS_PIN" 2>/dev/null | head -5 | tr '\n' ' ')" \
		eval '! pins_left'
	assert_eq "$r: unloaded: no interface runs XDP" "" "$(attached_now)"
	t_run lab_tapis status --json
	assert_eq "$r: unloaded: status says nothing is loaded (exit 4)" 4 "$RC"
}

# Live edits: every entry of a batch is in force exactly when status lists
# it (pending aside: in force or not). Entries are checked where a kill
# leaves its mark: the last listed and the first not listed, in batch
# order; with ALL, every entry must be listed and the first, middle and
# last in force.
# edits_consistent ROUND TYPE(net|host) LISTFILE [all]
edits_consistent() {
	local r=$1 type=$2 list=$3 all=${4-} listed n_listed bad="" e v want k
	listed=$(python3 -c "
import json
d = json.load(open('$tmp/status.json'))
print('\n'.join(e['entry'] + ('?' if e.get('pending') else '') for e in d.get('edits', []) if e['type'] == '$type' and e['rule'] == 'live'))")
	mapfile -t L <"$list"
	n_listed=$(python3 -c "
import sys
listed = set(l.rstrip('?') for l in sys.stdin.read().split())
print(sum(1 for l in open('$list').read().split() if l in listed))" <<<"$listed")
	if [ -n "$all" ]; then
		assert_eq "$r: all ${#L[@]} $type entries of the batch listed" "${#L[@]}" "$n_listed"
		set -- 0 $((${#L[@]} / 2)) $((${#L[@]} - 1))
	else
		# Listed entries are a prefix of the batch (it edits in order).
		set -- $((n_listed > 0 ? n_listed - 1 : 0)) $((n_listed < ${#L[@]} ? n_listed : ${#L[@]} - 1))
	fi
	for k in "$@"; do
		e=${L[$k]}
		if grep -qxF "$e?" <<<"$listed"; then
			continue # pending: either way until the next command
		fi
		want=2
		grep -qxF "$e" <<<"$listed" && want=1
		case "$type/$e" in
		net/*:*) v=$(verdict net6 "${e%/64}1") ;;
		net/*) v=$(verdict net "${e%/32}") ;;
		*) v=$(verdict dns "x.$e") ;;
		esac
		[ "$v" = "$want" ] || bad="$bad $e(listed:$([ $want = 1 ] && echo yes || echo no),verdict:$v)"
	done
	assert_true "$r: $type edits in force exactly where status lists them ($n_listed of ${#L[@]} listed)" \
		"$bad" test -z "$bad"
}

# The batch of round R: N_BATCH prefixes, IPv4 /32s and IPv6 /64s in
# turn (the first /64s under 2001:db8::/32 sit inline in its table entry,
# the later ones overflow into per-length probes), or names; unique per
# round.
batch_nets() {
	python3 -c "
import ipaddress
for i in range($N_BATCH):
    n = $1 * $N_BATCH + i
    if i % 2:
        print(ipaddress.ip_network('2001:db8:%x:%x::/64' % (0xc000 + (n >> 16), n & 0xffff)))
    else:
        print('198.19.%d.%d/32' % (n >> 8 & 255, n & 255))"
}
batch_hosts() {
	python3 -c "
for i in range($N_HOSTS):
    print('h%d-%d.crash.example' % ($1, i))"
}

# kill_at NAME MS CMD...: run tapis in the router namespace, SIGKILL it MS
# ms in; KILLED_LIVE=1 when it was still running then.
KILLED_LIVE=0
kill_at() {
	local name=$1 ms=$2 pid
	shift 2
	lab_bg "$name" tapis r "$@"
	pid=$LAB_LAST_PID
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	KILLED_LIVE=0
	lab_pid_alive "$pid" && KILLED_LIVE=1
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}
# ms_of CMD...: how long CMD takes, in ms
ms_of() {
	local t0
	t0=$(date +%s%N)
	"$@" >/dev/null 2>&1
	echo $((($(date +%s%N) - t0) / 1000000))
}

P=(--pin-path "$TAPIS_PIN")
load_cmd=("$TAPIS_BIN" load "${P[@]}" --policy "$tmp/a.yaml" "${IFARGS[@]}" --mode native)

# Calibration: each operation once, unkilled, on the path the rounds take.
T_LOAD=$(ms_of lab_tapis load --policy "$tmp/a.yaml" "${IFARGS[@]}" --mode native)
T_RELOAD=$(ms_of lab_tapis reload --policy "$tmp/b.yaml")
batch_nets 999 >"$tmp/cal-nets"
batch_hosts 999 >"$tmp/cal-hosts"
T_NET=$(ms_of lab_tapis net add $(cat "$tmp/cal-nets") --rule live)
T_HOST=$(ms_of lab_tapis host add $(cat "$tmp/cal-hosts") --rule live --for 1h)
status_now calibration
edits_consistent calibration net "$tmp/cal-nets" all
edits_consistent calibration host "$tmp/cal-hosts" all
T_UNLOAD=$(ms_of lab_tapis unload)
clean_unloaded calibration
echo "# durations (ms): load $T_LOAD, reload $T_RELOAD, net batch $T_NET, host batch $T_HOST, unload $T_UNLOAD"

declare -A KILLS LIVE
for op in load reload net host unload; do KILLS[$op]=0 LIVE[$op]=0; done
count() {
	KILLS[$1]=$((KILLS[$1] + 1))
	LIVE[$1]=$((LIVE[$1] + KILLED_LIVE))
}
rand_ms() { echo $((RANDOM % ($1 * 12 / 10 + 1))); }

cur=a
for cycle in $(seq "$CYCLES"); do
	# load, killed; a fresh load completes it
	r="c$cycle load"
	ms=$(rand_ms "$T_LOAD")
	kill_at load "$ms" "${load_cmd[@]}"
	count load
	echo "# $r: killed at $ms ms ($([ $KILLED_LIVE = 1 ] && echo running || echo done))"
	status_now "$r"
	truthful "$r"
	assert_ok "$r: a new load completes it" lab_tapis load --policy "$tmp/a.yaml" "${IFARGS[@]}" --mode native
	cur=a
	clean_loaded "$r" a

	# reload to the other policy, killed; the reload run again completes it
	r="c$cycle reload"
	next=$([ $cur = a ] && echo b || echo a)
	ms=$(rand_ms "$T_RELOAD")
	kill_at reload "$ms" "$TAPIS_BIN" reload "${P[@]}" --policy "$tmp/$next.yaml"
	count reload
	echo "# $r $cur -> $next: killed at $ms ms ($([ $KILLED_LIVE = 1 ] && echo running || echo done))"
	status_now "$r"
	truthful "$r"
	pol=$(running_policy)
	assert_true "$r: the old or the new policy runs ($pol)" "" test "$pol" = "$cur" -o "$pol" = "$next"
	assert_ok "$r: reload again completes it" lab_tapis reload --policy "$tmp/$next.yaml"
	cur=$next
	clean_loaded "$r" "$cur"

	# a batch of net adds, killed; the same batch again completes it
	r="c$cycle net add"
	batch_nets "$cycle" >"$tmp/nets-$cycle"
	ms=$(rand_ms "$T_NET")
	kill_at net "$ms" "$TAPIS_BIN" net add "${P[@]}" $(cat "$tmp/nets-$cycle") --rule live
	count net
	echo "# $r: killed at $ms ms ($([ $KILLED_LIVE = 1 ] && echo running || echo done))"
	status_now "$r"
	truthful "$r"
	edits_consistent "$r" net "$tmp/nets-$cycle"
	t_run lab_tapis net add $(cat "$tmp/nets-$cycle") --rule live
	assert_true "$r: the batch again: added, or already there (exit 0 or 2)" "exit $RC: $(_t_short)" \
		eval '[ "$RC" = 0 ] || { [ "$RC" = 2 ] && ! grep -v -e "already in rule" -e "^added " <<<"$OUT" | grep -q .; }'
	status_now "$r (after the batch)"
	edits_consistent "$r" net "$tmp/nets-$cycle" all
	clean_loaded "$r" "$cur"

	# a batch of timed host adds, killed; the same batch again completes it
	r="c$cycle host add"
	batch_hosts "$cycle" >"$tmp/hosts-$cycle"
	# --expires, not --for: the same batch run again must name the same
	# expiry (the calibration ran --for).
	exp=$(date -u -d "+1 hour" +%Y-%m-%dT%H:%M:00Z)
	ms=$(rand_ms "$T_HOST")
	kill_at host "$ms" "$TAPIS_BIN" host add "${P[@]}" $(cat "$tmp/hosts-$cycle") --rule live --expires "$exp"
	count host
	echo "# $r: killed at $ms ms ($([ $KILLED_LIVE = 1 ] && echo running || echo done))"
	status_now "$r"
	truthful "$r"
	edits_consistent "$r" host "$tmp/hosts-$cycle"
	t_run lab_tapis host add $(cat "$tmp/hosts-$cycle") --rule live --expires "$exp"
	assert_true "$r: the batch again: added, or already there (exit 0 or 2)" "exit $RC: $(_t_short)" \
		eval '[ "$RC" = 0 ] || { [ "$RC" = 2 ] && ! grep -v -e "already in rule" -e "^added " <<<"$OUT" | grep -q .; }'
	status_now "$r (after the batch)"
	edits_consistent "$r" host "$tmp/hosts-$cycle" all
	clean_loaded "$r" "$cur"

	# unload, killed; unload again completes it
	r="c$cycle unload"
	ms=$(rand_ms "$T_UNLOAD")
	kill_at unload "$ms" "$TAPIS_BIN" unload "${P[@]}"
	count unload
	echo "# $r: killed at $ms ms ($([ $KILLED_LIVE = 1 ] && echo running || echo done))"
	status_now "$r"
	truthful "$r"
	t_run lab_tapis unload
	assert_true "$r: unload again reaches a clean state (exit 0, or 4 with nothing there)" \
		"exit $RC: $(_t_short)" test "$RC" = 0 -o "$RC" = 4
	clean_unloaded "$r"
done

total=0
line=""
for op in load reload net host unload; do
	total=$((total + KILLS[$op]))
	line="$line $op ${KILLS[$op]} (${LIVE[$op]} mid-run),"
done
echo "# kills:$line total $total, seed $SEED"
assert_true "at least 50 kills" "only $total" test "$total" -ge 50

# Real traffic once: the filter a recovered load leaves blocks and passes.
assert_ok "final load" lab_tapis load --policy "$tmp/a.yaml" "${IFARGS[@]}" --mode native
assert_eq "ping to 198.18.2.10 passes policy a" 1 "$(ping_count c 198.18.2.10 1)"
assert_eq "ping to 198.18.3.10 is dropped by policy a" 0 "$(ping_count c 198.18.3.10 1)"
lab_test_end
