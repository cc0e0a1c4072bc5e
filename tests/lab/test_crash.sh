#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_crash.sh - a load killed with SIGKILL at random instants: the next
# process sees what is there and can always get back to a clean state.
#
# A load of 200,000 prefixes is killed 0-600 ms in, ten times. After each
# kill: status answers at once (loaded, or nothing/stale pins: exit 0 or 4,
# never a 10 s wait nor a kernel error), unload reaches a clean state (the
# pins of a load that died before pinning its program are removed, not
# reported as "nothing loaded" and left there), nothing stays pinned or
# attached, and a new load succeeds.

. "$(dirname "$0")/lib.sh"
lab_test_begin

tmp=$(t_tmp)
python3 -c '
for i in range(200000):
    print("10.%d.%d.%d/32" % (i >> 16, (i >> 8) & 255, i & 255))
' >"$tmp/nets.txt"
cat >"$tmp/policy.yaml" <<EOF
version: 1
rules:
  - name: big
    action: drop
    net_lists: [$tmp/nets.txt]
EOF

# A load left to finish: the probes of the absence checks below see pins
# and a program when there are some.
assert_ok "a load that is not killed" lab_tapis load --policy "$tmp/policy.yaml" --iface r0 --mode native
assert_true "loaded: pins at the pin path" "nothing pinned at $TAPIS_PIN" pins_left
assert_true "loaded: r0 has an XDP program" "no prog/xdp on r0" router_xdp r0
assert_ok "unload it" lab_tapis unload

RANDOM=7
for round in $(seq 10); do
	ms=$((RANDOM % 600))
	lab_bg load tapis r "$TAPIS_BIN" load --policy "$tmp/policy.yaml" --iface r0 --mode native \
		--pin-path "$TAPIS_PIN"
	pid=$LAB_LAST_PID
	sleep "0.$(printf '%03d' "$ms")"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	t0=$(date +%s%N)
	t_run lab_tapis status --json
	dt=$((($(date +%s%N) - t0) / 1000000))
	assert_true "round $round (killed at ${ms} ms): status answers, exit 0 or 4, in ${dt} ms" \
		"exit $RC after $dt ms: $(_t_short)" test "$RC" -le 4 -a "$RC" != 1 -a "$RC" != 2 -a "$RC" != 3 -a "$dt" -lt 3000
	st=$RC
	t_run lab_tapis unload
	echo "# round $round: killed at ${ms} ms, status exit $st, unload exit $RC: $(head -n 1 <<<"$OUT")"
	assert_true "round $round: unload reaches a clean state (exit 0, or 4 with nothing there)" \
		"exit $RC: $(_t_short)" test "$RC" = 0 -o "$RC" = 4
	assert_true "round $round: nothing pinned after the unload" "pins: $(ls "$TAPIS_PIN" 2>/dev/null | head -3 | tr '\n' ' ')" \
		no_pins
	assert_true "round $round: no tapis program on r0" "r0 still runs a program" \
		router_no_xdp r0
done
# Killed again, then a load straight away: it replaces the leftovers.
lab_bg load tapis r "$TAPIS_BIN" load --policy "$tmp/policy.yaml" --iface r0 --mode native \
	--pin-path "$TAPIS_PIN"
pid=$LAB_LAST_PID
sleep 0.15
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
assert_ok "a load after the kills succeeds" lab_tapis load --policy "$tmp/policy.yaml" --iface r0 --mode native
echo "# $(head -n 2 <<<"$OUT" | tr '\n' ' ')"
assert_ok "explain 10.0.0.1" lab_tapis explain 10.0.0.1
assert_match "10.0.0.1 is dropped by rule big" "drop by rule big" "$OUT"
lab_test_end
