#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_crash_grow.sh - SIGKILL at random instants of a reload and of a
# `host add` that grow the host tables (a program swap onto three
# interfaces, user/lib/swap.c), and at each window of a decided swap.
# After every kill:
#   - status answers at once;
#   - every interface runs a tapis program: the pinned one, or the one a
#     decided swap pinned as tapis_xdp_next (the next command moves the
#     rest), never none and never another;
#   - the program on each interface enforces one whole policy, the small
#     or the big one (BPF test runs of DNS queries for a name both list and
#     a name only the big one lists);
# and the next command (the same reload or host add) reaches a clean state: exit 0,
# every interface on the pinned program, no tapis_*_next pin, no pin of an
# idle generation, the big tables in status, the big policy in force for
# real DNS queries. Six kills at the fault points of each command's swap,
# then CRASH_CYCLES (default 6) at random instants, a third of them of
# host add; CRASH_SEED replays a run.

export LAB_SERVICES="dns"
. "$(dirname "$0")/lib.sh"
lab_test_begin bpftool dig

SEED=${CRASH_SEED:-$(($(date +%s) % 100000))}
CYCLES=${CRASH_CYCLES:-6}
echo "# seed $SEED (CRASH_SEED=$SEED replays this run), $CYCLES cycles"
RANDOM=$SEED

lab_router_ifaces 2

tmp=$(t_tmp)
seq 0 99 | sed 's/^/g/; s/$/.grow.example/' >"$tmp/small.txt"
seq 0 9299 | sed 's/^/g/; s/$/.grow.example/' >"$tmp/big.txt"
for p in small big; do
	printf 'version: 1\nrules:\n  - name: names\n    action: drop\n    host_lists: [%s.txt]\n' \
		"$p" >"$tmp/$p.yaml"
done
cat >"$tmp/frame.py" <<'PY'
import socket, struct, sys
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
name, out = sys.argv[1:3]
q = b''.join(bytes([len(l)]) + l.encode() for l in name.split('.')) + b'\0'
dns = struct.pack('!HHHHHH', 0x1234, 0x0100, 1, 0, 0, 0) + q + struct.pack('!HH', 1, 1)
udp = struct.pack('!HHHH', 40000, 53, 8 + len(dns), 0) + dns
ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                 socket.inet_aton('198.18.1.2'), socket.inet_aton('198.18.2.2'))
ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
open(out, 'wb').write(b'\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00' + ip + udp)
PY
python3 "$tmp/frame.py" g5.grow.example "$tmp/both" &&
	python3 "$tmp/frame.py" g9000.grow.example "$tmp/bigonly" || exit 1

xdp_ids() { # "IF ID" for each of IFACES
	ip -j -n "$LAB_NS_R" link show | python3 -c '
import json, sys
want = sys.argv[1:]
for l in json.load(sys.stdin):
    if l["ifname"] in want:
        print(l["ifname"], l.get("xdp", {}).get("prog", {}).get("id", "none"))' "${IFACES[@]}"
}
pin_id() { bpftool -j prog show pinned "$TAPIS_PIN/$1" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' 2>/dev/null; }
verdict() { # ID FRAME: the XDP return value (1 drop, 2 pass)
	bpftool prog run id "$1" data_in "$2" repeat 1 2>&1 | sed -n 's/^Return value: \([0-9]*\).*/\1/p'
}
policy_of() { # ID: small, big or mix
	case "$(verdict "$1" "$tmp/both")$(verdict "$1" "$tmp/bigonly")" in
	12) echo small ;;
	11) echo big ;;
	*) echo "mix($(verdict "$1" "$tmp/both")$(verdict "$1" "$tmp/bigonly"))" ;;
	esac
}
slots() {
	lab_tapis status --json 2>/dev/null | python3 -c '
import json, sys
print(json.load(sys.stdin)["host_tables"]["slots"])'
}
ms_of() {
	local t0
	t0=$(date +%s%N)
	"$@" >/dev/null 2>&1
	echo $((($(date +%s%N) - t0) / 1000000))
}

assert_ok "load the small policy" lab_tapis load --policy "$tmp/small.yaml" "${IFARGS[@]}" --mode native ||
	lab_test_end
T=$(ms_of lab_tapis reload --policy "$tmp/big.yaml")
echo "# a grow reload (100 -> 9,300 names, three interfaces) takes $T ms"
assert_eq "calibration: grown" 32768 "$(slots)"
assert_eq "calibration: all three run the pinned program" "$(pin_id tapis_xdp) x3" \
	"$(xdp_ids | cut -d' ' -f2 | sort | uniq -c | awk '{print $2 " x" $1}')"
assert_ok "unload" lab_tapis unload

# The windows of a decided swap are a few ms wide: besides the random
# kills, the process kills itself at each (TAPIS_FAULT, user/lib/swap.c):
# after the commit, after one and two interfaces moved, after each rename.
# The same for a `host add` that grows the tables (onto a policy of 2,048
# names, tables of 4,096 slots for 3,072, and 1,024 names added before),
# whose swap shares the code.
FAULTS=(swap-committed-0 swap-moved-1 swap-moved-2 swap-renamed-1 swap-renamed-2 swap-renamed-3)
seq 0 2047 | sed 's/^/g/; s/$/.grow.example/' >"$tmp/full.txt"
seq 0 1023 | sed 's/^/h/; s/$/.grow.example/' >"$tmp/fill.txt"
printf 'version: 1\nrules:\n  - name: names\n    action: drop\n    host_lists: [full.txt]\n' \
	>"$tmp/full.yaml"
T_HOST=0
live=0
n_kills=0
# cycle ROUND OP(reload|host) FAULT|"": load, the growing command killed
# (at FAULT, or at a random instant), then the checks and the recovery.
cycle() {
	local r=$1 op=$2 f=$3 ms at pid pinned next bad pols gen stray want_slots cmd first
	if [ "$op" = reload ]; then
		first=small.yaml want_slots=32768
		cmd=(reload --pin-path "$TAPIS_PIN" --policy "$tmp/big.yaml")
	else
		first=full.yaml want_slots=8192
		cmd=(host add --pin-path "$TAPIS_PIN" g9000.grow.example --rule names)
	fi
	assert_ok "$r: load $first" lab_tapis load --policy "$tmp/$first" "${IFARGS[@]}" \
		--mode native || return 1
	# shellcheck disable=SC2046 # one argument a name
	[ "$op" = reload ] || assert_ok "$r: fill the tables to their room" \
		lab_tapis host add $(cat "$tmp/fill.txt") --rule names || return 1
	ms=$((RANDOM % (($([ "$op" = reload ] && echo "$T" || echo "$T_HOST")) * 12 / 10 + 1)))
	at="$ms ms"
	[ -n "$f" ] && at="fault point $f"
	TAPIS_FAULT=$f lab_bg grow tapis r "$TAPIS_BIN" "${cmd[@]}"
	pid=$LAB_LAST_PID
	n_kills=$((n_kills + 1))
	if [ -n "$f" ]; then
		wait "$pid" 2>/dev/null
		assert_eq "$r: killed by itself at $f" 137 "$?"
	else
		sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
		lab_pid_alive "$pid" && live=$((live + 1))
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	t0=$(date +%s%N)
	t_run lab_tapis status --json
	dt=$((($(date +%s%N) - t0) / 1000000))
	assert_true "$r $op (killed at $at): status answers at once ($dt ms)" "exit $RC" \
		test "$RC" = 0 -a "$dt" -lt 3000
	pinned=$(pin_id tapis_xdp) next=$(pin_id tapis_xdp_next)
	bad="" pols=""
	while read -r ifc id; do
		[ "$id" = "$pinned" ] || [ -n "$next" -a "$id" = "$next" ] || bad="$bad $ifc:$id"
		[ "$id" = none ] || pols="$pols $(policy_of "$id")"
	done < <(xdp_ids)
	echo "# $r $op: killed at $at; pinned $pinned, next ${next:-none}; policies:$pols"
	assert_true "$r: every interface runs the pinned program or the decided swap's" \
		"pinned $pinned next ${next:-none}, other:$bad" test -z "$bad"
	assert_true "$r: each runs one whole policy" "$pols" eval '! grep -q mix <<<"$pols"'

	t_run lab_tapis "${cmd[@]:0:$([ "$op" = reload ] && echo 1 || echo 2)}" \
		"${cmd[@]:$([ "$op" = reload ] && echo 3 || echo 4)}"
	assert_true "$r: the same command again completes it (exit 0, or 2: already there)" \
		"exit $RC: $(_t_short)" eval '[ "$RC" = 0 ] || { [ "$RC" = 2 ] && grep -q "already in rule" <<<"$OUT"; }'
	pinned=$(pin_id tapis_xdp)
	bad=""
	while read -r ifc id; do
		[ "$id" = "$pinned" ] && [ "$(policy_of "$id")" = big ] || bad="$bad $ifc:$id"
	done < <(xdp_ids)
	assert_true "$r: recovered: every interface runs the pinned program, g9000 listed" \
		"pinned $pinned, other:$bad" test -z "$bad"
	assert_eq "$r: recovered: no pin of the swap left" "" "$(ls "$TAPIS_PIN" | grep _next)"
	gen=$(lab_tapis status --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])')
	stray=$(ls "$TAPIS_PIN" | grep -E '_g[0-9]+$' | grep -v "_g$gen\$" | tr '\n' ' ')
	assert_eq "$r: recovered: no pin of another generation than $gen" "" "$stray"
	assert_eq "$r: recovered: status shows the grown tables" "$want_slots" "$(slots)"
	assert_fail "$r: recovered: a real query for g9000.grow.example is dropped" \
		lab_exec c dig +time=1 +tries=1 @198.18.2.2 g9000.grow.example
	assert_fail "$r: recovered: and for g5.grow.example" \
		lab_exec c dig +time=1 +tries=1 @198.18.2.2 g5.grow.example
	assert_ok "$r: unload" lab_tapis unload
	assert_true "$r: nothing pinned after the unload" "$(ls "$TAPIS_PIN" 2>/dev/null | head -3)" \
		eval '! pins_left'
}

assert_ok "load the full policy" lab_tapis load --policy "$tmp/full.yaml" "${IFARGS[@]}" --mode native
# shellcheck disable=SC2046 # one argument a name
assert_ok "fill the tables to their room" lab_tapis host add $(cat "$tmp/fill.txt") --rule names
assert_eq "calibration: 4096 slots" 4096 "$(slots)"
T_HOST=$(ms_of lab_tapis host add g9000.grow.example --rule names)
echo "# a host add that grows the tables (3,072 entries, three interfaces) takes $T_HOST ms"
assert_eq "calibration: grown" 8192 "$(slots)"
assert_ok "unload" lab_tapis unload

# All or nothing: an interface that refuses the new program (the second:
# TAPIS_FAULT=swap-fail-2) undoes the swap, the first interface included.
assert_ok "load the small policy" lab_tapis load --policy "$tmp/small.yaml" "${IFARGS[@]}" --mode native
TAPIS_FAULT=swap-fail-2 t_run lab_tapis reload --policy "$tmp/big.yaml"
assert_true "a grow reload whose second interface fails: exit 3" "exit $RC: $(_t_short)" test "$RC" = 3
assert_match "it names the interface" "replace the program on x1" "$OUT"
assert_match "and says the running policy is unchanged" "the running policy is unchanged" "$OUT"
pinned=$(pin_id tapis_xdp)
bad=""
while read -r ifc id; do
	[ "$id" = "$pinned" ] && [ "$(policy_of "$id")" = small ] || bad="$bad $ifc:$id"
done < <(xdp_ids)
assert_true "every interface runs the old program, the small policy" "pinned $pinned, other:$bad" \
	test -z "$bad"
assert_eq "no pin of the swap left" "" "$(ls "$TAPIS_PIN" | grep _next)"
assert_eq "status: the tables as they were" 4096 "$(slots)"
gen=$(lab_tapis status --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])')
assert_eq "no pin of another generation than $gen" "" \
	"$(ls "$TAPIS_PIN" | grep -E '_g[0-9]+$' | grep -v "_g$gen\$" | tr '\n' ' ')"
assert_match "status names the small policy" "small.yaml" "$(lab_tapis status)"
assert_ok "the reload without the fault grows" lab_tapis reload --policy "$tmp/big.yaml"
assert_eq "status: grown" 32768 "$(slots)"
assert_ok "unload" lab_tapis unload

n=0
for op in reload host; do
	for f in "${FAULTS[@]}"; do
		n=$((n + 1))
		cycle "c$n" "$op" "$f" || break 2
	done
done
for k in $(seq "$CYCLES"); do
	n=$((n + 1))
	cycle "c$n" "$([ $((k % 3)) = 0 ] && echo host || echo reload)" "" || break
done
echo "# kills: $n_kills, $((2 * ${#FAULTS[@]})) at fault points, the rest at random ($live while the command ran), seed $SEED"
lab_test_end
