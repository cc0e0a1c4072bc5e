#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_reload_traffic.sh - 200 reloads under a steady stream: never a mix.
#
# A sender in the client namespace sends a numbered UDP stream, round robin,
# to three server addresses: ALWAYS (198.18.3.10, dropped by both policies),
# NEVER (198.18.2.10, dropped by neither) and SOMETIMES (198.18.3.99,
# dropped by policy one only). First a run without reloads measures the
# loss of the path; then a second run while `tapis reload` alternates the two
# policies 200 times. Checked: nothing to ALWAYS arrives; NEVER loses no more
# than in the quiet run; the rule counters agree with what the receiver
# missed (rules keep their counters across a reload by name); the filter
# and its pins are intact at the end. Prints the reload latency (median, max).

. "$(dirname "$0")/lib.sh"
lab_test_begin

RELOADS=${RELOADS:-200}
RATE=1500 # packets a second, over the three destinations
PORT=9400
ALWAYS=198.18.3.10 NEVER=198.18.2.10 SOMETIMES=198.18.3.99
tmp=$(t_tmp)
here=$(cd "$(dirname "$0")" && pwd)

# Both policies carry the same rule names with different contents, and a host
# list, so that a reload changes every kind of table.
mk_policy() { # file sometimes-net
	cat >"$1" <<-EOF
		version: 1
		rules:
		  - name: always
		    action: drop
		    reference: "LAB/RELOAD/1"
		    nets: [$ALWAYS/32, "2001:db8:3::10/128"]
		  - name: sometimes
		    action: drop
		    reference: "LAB/RELOAD/2"
		    nets: [$2]
		  - name: names
		    action: drop
		    hosts: [reload-$3.example, "*.reload-$3.example"]
	EOF
}
mk_policy "$tmp/one.yaml" "$SOMETIMES/32" one
mk_policy "$tmp/two.yaml" "198.18.3.77/32" two

assert_ok "load policy one" lab_tapis load --policy "$tmp/one.yaml" --iface r0 --mode native ||
	lab_test_end

# run NAME: stream for as long as the body between start_run and end_run runs.
start_run() {
	rm -f "$tmp/stop" "$tmp/recv.json.ready"
	lab_bg recv python3 s python3 "$here/udpstream.py" recv --bind "$ALWAYS,$NEVER,$SOMETIMES" \
		--port $PORT --stop "$tmp/stop" --out "$tmp/recv-$1.json"
	recv_pid=$LAB_LAST_PID
	for _ in $(seq 50); do [ -e "$tmp/recv-$1.json.ready" ] && break; sleep 0.1; done
	lab_bg send python3 c python3 "$here/udpstream.py" send --dst "$ALWAYS,$NEVER,$SOMETIMES" \
		--port $PORT --rate $RATE --run "$1" --stop "$tmp/stop" --out "$tmp/send-$1.json"
	send_pid=$LAB_LAST_PID
}
end_run() {
	touch "$tmp/stop"
	for _ in $(seq 100); do
		lab_pid_alive "$send_pid" || lab_pid_alive "$recv_pid" || break
		sleep 0.1
	done
	wait "$send_pid" "$recv_pid" 2>/dev/null
}
# got RUN WHO DST: a count from the sender's or receiver's file
got() {
	if [ "$2" = sent ]; then
		json_q "$(cat "$tmp/send-$1.json" 2>/dev/null)" "d.get('$3', 0)"
	else
		json_q "$(cat "$tmp/recv-$1.json" 2>/dev/null)" "d.get('$1', {}).get('$3', 0)"
	fi
}

# --- the quiet run: the path's own loss ------------------------------------------------
start_run quiet
sleep 4
end_run
q_sent=$(got quiet sent $NEVER)
q_recv=$(got quiet recv $NEVER)
assert_true "quiet run: the stream flowed to $NEVER ($q_recv of $q_sent)" "sent $q_sent, got $q_recv" \
	test "${q_sent:-0}" -gt 1000 -a "${q_recv:-0}" -gt 0
assert_eq "quiet run: nothing to $ALWAYS arrived" 0 "$(got quiet recv $ALWAYS)"
q_lost=$((${q_sent:-0} - ${q_recv:-0}))

# --- 200 reloads under the stream -------------------------------------------------------
assert_ok "stats before the reloads" lab_tapis stats --json
before=$OUT
start_run reloads
sleep 0.5
# Readers meanwhile: stats --prometheus in a loop must never fail.
(
	n=0 bad=0
	while [ ! -e "$tmp/readers.stop" ]; do
		lab_tapis stats --prometheus >/dev/null 2>&1 || bad=$((bad + 1))
		n=$((n + 1))
	done
	echo "$n $bad" >"$tmp/readers"
) &
readers=$!
lat=$tmp/latency
fails=0
for i in $(seq "$RELOADS"); do
	p=$tmp/two.yaml
	[ $((i % 2)) = 0 ] && p=$tmp/one.yaml
	t0=$(date +%s%N)
	lab_tapis reload --policy "$p" >"$tmp/reload.out" 2>&1 || {
		fails=$((fails + 1))
		cat "$tmp/reload.out" >&2
	}
	echo $((($(date +%s%N) - t0) / 1000)) >>"$lat"
done
sleep 0.5
end_run
touch "$tmp/readers.stop"
wait "$readers"
read -r n_read bad_read <"$tmp/readers"
assert_eq "all $RELOADS reloads succeeded" 0 "$fails"
assert_true "stats --prometheus ran during the reloads ($n_read times)" "ran $n_read" test "${n_read:-0}" -ge 10
assert_eq "no stats --prometheus failed during the reloads (of $n_read)" 0 "${bad_read:-x}"
# The last reload was an even one: policy one is in force.
sort -n "$lat" >"$lat.sorted"
med=$(sed -n "$(((RELOADS + 1) / 2))p" "$lat.sorted")
max=$(tail -n 1 "$lat.sorted")
echo "# reload latency over $RELOADS reloads (the command, start to exit): median $((med / 1000)).$(((med % 1000) / 100)) ms, max $((max / 1000)).$(((max % 1000) / 100)) ms"

r_sent_a=$(got reloads sent $ALWAYS) r_recv_a=$(got reloads recv $ALWAYS)
r_sent_n=$(got reloads sent $NEVER) r_recv_n=$(got reloads recv $NEVER)
r_sent_s=$(got reloads sent $SOMETIMES) r_recv_s=$(got reloads recv $SOMETIMES)
echo "# sent/received: always $r_sent_a/$r_recv_a, never $r_sent_n/$r_recv_n, sometimes $r_sent_s/$r_recv_s; quiet run lost $q_lost of $q_sent"
assert_true "the stream ran through the reloads (>= 1000 packets to each)" "sent $r_sent_a/$r_sent_n/$r_sent_s" \
	test "${r_sent_a:-0}" -ge 1000 -a "${r_sent_n:-0}" -ge 1000 -a "${r_sent_s:-0}" -ge 1000
assert_eq "zero packets to $ALWAYS (dropped by both policies) arrived" 0 "${r_recv_a:-x}"
# Loss on the allowed path may not exceed the quiet run's, scaled to this run.
allowed=$(((${q_lost} * ${r_sent_n:-0} + ${q_sent:-1} - 1) / ${q_sent:-1}))
r_lost_n=$((${r_sent_n:-0} - ${r_recv_n:-0}))
assert_true "packets to $NEVER (allowed by both) lost: $r_lost_n, no more than the quiet run's $allowed" \
	"lost $r_lost_n" test "$r_lost_n" -le "$allowed"
s_dropped=$((${r_sent_s:-0} - ${r_recv_s:-0}))
assert_true "some packets to $SOMETIMES were dropped and some arrived" "dropped $s_dropped of $r_sent_s" \
	test "$s_dropped" -gt 0 -a "${r_recv_s:-0}" -gt 0

assert_ok "stats after the reloads" lab_tapis stats --json
after=$OUT
d_always=$(($(rule_stat always packets "$after") - $(rule_stat always packets "$before")))
d_some=$(($(rule_stat sometimes packets "$after") - $(rule_stat sometimes packets "$before")))
assert_eq "rule 'always' counted every packet sent to $ALWAYS" "$r_sent_a" "$d_always"
# Beyond the path's own loss, which is measured on NEVER: a packet counted by
# the rule is a packet the receiver did not get.
assert_true "rule 'sometimes' counted the packets to $SOMETIMES that did not arrive ($d_some vs $s_dropped, path loss $r_lost_n)" \
	"counted $d_some, missing $s_dropped" \
	test "$d_some" -le "$s_dropped" -a "$d_some" -ge $((s_dropped - r_lost_n))

# --- intact afterwards ----------------------------------------------------------------
assert_ok "status after the reloads" lab_tapis status --json
assert_match "status: policy one in force" 'one\.yaml' "$OUT"
assert_eq "ping $ALWAYS: still dropped" 0 "$(ping_count c $ALWAYS 2)"
assert_eq "ping $SOMETIMES: dropped under policy one" 0 "$(ping_count c $SOMETIMES 2)"
assert_eq "ping $NEVER: answered" 2 "$(ping_count c $NEVER 2)"
lab_test_end
