#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/bench/live.sh - the live path of `make bench` (issues 3 and 11):
# frames per second handled on a veth by tapis (full policy, native XDP,
# loaded with the real CLI) beside an XDP_DROP-only program, nftables
# (netdev ingress hook, one interval set of the same IPv4 prefixes) and the
# memory floor (bpf/bench_floor.bpf.c: one read per direction in an array
# of the size of tapis's address tables, --floor-bytes, then XDP_DROP), in
# one run, with random destinations and with Zipf ones.
#
#   bash tests/bench/live.sh [--policy-dir DIR] [--seconds S] [--rounds N]
#                            [--json FILE] [--floor-bytes N] [--dst LIST]
#                            [--gen auto|live|clone|packet] [--no-rt]
#                            [--tapis-b TAPIS] [--ends LIST]
#
# Everything lives in one namespace this script creates, tbench-PID (the
# veths' names below end in the PID too):
#
#   gt ──veth── ft   tapis (tapis load --mode native, pinned on a bpffs
#                    mounted at /run/tbench-PID/bpffs)
#   gd ──veth── fd   XDP_DROP (tapis-bench live-attach)
#   gn ──veth── fn   XDP_PASS, then nftables netdev ingress: ip daddr @blk drop
#   gf ──veth── ff   the memory floor (tapis-bench live-attach --prog floor)
#   gp ──veth── fp   XDP_PASS: every frame to the stack (Zipf only: what a
#                    pass costs)
#   gv ──veth── fv   the floor with a verdict (Zipf only): the same reads,
#                    XDP_DROP where the destination's entry is marked
#                    (live-gen --mark: the destinations inside the policy),
#                    else XDP_PASS. The floor and XDP_DROP return a
#                    constant, which the CPU guesses and runs ahead on
#                    while the reads are outstanding; a filter's verdict
#                    waits for its reads, and with half the frames inside
#                    the guess fails about half the time. This is the one-
#                    read filter that pays that too: what tapis can reach.
#   gb ──veth── fb   with --tapis-b TAPIS: a second tapis binary (another
#                    build, e.g. a worktree of the unchanged tree), loaded
#                    the same way beside the first, as the end tapis_b: an
#                    A/B of a data-path change whose rounds alternate with
#                    the first's in one run (figures from two runs of this
#                    shared VM do not compare)
#
# --ends LIST (comma-separated end names, default all): generate into those
# ends only, e.g. --ends tapis,tapis_b,xdp_drop for a quicker A/B with more
# rounds; the goals whose reference is left out print n/a.
#
# Destinations (--dst, default "random,zipf"): random, a random host of a
# random drop prefix (every end but fp drops every frame); zipf, drawn with
# P(rank k) ~ 1/k over 1,000,000 addresses half inside the drop prefixes,
# half outside every prefix (issue 11). Sources are random outside the
# policy. A frame a far end passes goes up its namespace's stack: veth
# builds an skb, GRO and the receive list take it, and ip_rcv drops it at
# its first test, as "other host" (the destination MAC is no far end's),
# before any IP counter, route lookup, conntrack, rp_filter, martian log or
# ICMP error. That is the least a stack can do with a frame (a router would
# forward it, which costs more), so the frames a filter must pass cost it
# as little here as anywhere. tapis, nftables and fp pay it for the Zipf
# frames outside the policy, XDP_DROP and the floor drop everything. The
# run checks it: each end's otherhost counter against the frames it
# passed, and the namespace's IP and ICMP counters, which must not move.
#
# The generator (tapis-bench live-gen, tests/bench/livegen.c) runs on CPU
# 0: BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES where the kernel
# allows it, else (--gen auto) a tc program whose test runs each send a
# clone of an skb out of gX, else AF_PACKET. Each fX runs its NAPI in a
# thread (threaded NAPI) pinned to CPU 1, at SCHED_FIFO priority 10 unless
# --no-rt so that other work on that core does not stall it, with
# napi_defer_hard_irqs/gro_flush_timeout set so that the thread polls on a
# 50 us timer while frames keep coming instead of being woken per frame.
# Rounds rotate the order of the ends.
#
# From an skb generator (tc clones, AF_PACKET) every far end pays the same
# extra per frame before its program runs: veth copies the skb into a page
# of its own (the clone's data is shared, its headroom under 256 bytes),
# builds an xdp_buff on it and frees both afterwards. Ratios between ends
# are therefore closer to 1 than with live frames; the extra ns per frame
# over XDP_DROP is the same either way.
#
# Two figures per end: "handled", frames the far end's NAPI ran through XDP
# per wall-clock second, and "capacity", the same frames per second of CPU
# time of its NAPI thread (/proc/PID/schedstat), i.e. the rate it sustains
# with a core of its own. The budgets use capacity: on this shared 2-core
# VM the far end's thread neither always gets its core nor is always fed,
# so the wall rate measures the generator and the neighbours as much as the
# filter; it is printed with the refused share (frames veth dropped with
# the far end's ring full) beside it.
#
# Also timed here: `tapis load` of the full policy through the CLI, one
# `tapis net add` and `net del` command (process start, pin open, edit),
# and `nft -f` of the same prefixes.
#
# Exit status: 0 when the run completed (whatever the figures), 1 on an
# error, 77 when something this needs is missing (printed as "skip: ...").
# Cleanup (trap): unload tapis, delete the namespace, unmount the bpffs. No
# process is left behind: every command here runs in the foreground.
set -u
cd "$(dirname "$0")/../.."
REPO=$(pwd)
B=${BUILD:-build}
POLICY_DIR=$B/bench-policy
SECONDS_PER=2
ROUNDS=7
JSON=$B/bench-live.json
FLOOR_BYTES=$((64 << 20))
DSTS=random,zipf
GEN=auto
RT=1
TAPIS_B=
ONLY_ENDS=
while [ $# -gt 0 ]; do
	case $1 in
	--policy-dir) POLICY_DIR=$2; shift 2 ;;
	--seconds) SECONDS_PER=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	--json) JSON=$2; shift 2 ;;
	--floor-bytes) FLOOR_BYTES=$2; shift 2 ;;
	--dst) DSTS=$2; shift 2 ;;
	--gen) GEN=$2; shift 2 ;;
	--no-rt) RT=0; shift ;;
	--tapis-b) TAPIS_B=$2; shift 2 ;;
	--ends) ONLY_ENDS=,$2,; shift 2 ;;
	-h | --help) sed -n '3,/^set -u/p' "$0" | sed '$d'; exit 0 ;;
	*) echo "live.sh: unknown argument $1" >&2; exit 1 ;;
	esac
done

TAPIS=$REPO/$B/tapis
BENCH=$REPO/$B/tapis-bench
NS=tbench-$$
DIR=/run/tbench-$$
PIN=$DIR/bpffs/tapis
PIN_B=$DIR/bpffs/tapis-b
ENDS="t d n f p v"
# The veths carry this run's PID: the NAPI threads are found by name
# ("napi/DEV-ID", here and in live-gen), and those of another run of this
# script on the machine must not be counted or re-pinned as ours.
SUF=$$
export LIBXDP_BPFFS=$DIR/bpffs

say() { echo "live: $*" >&2; }
skip() { echo "skip: $*"; exit 77; }
fail() {
	say "error: $*"
	exit 1
}

[ "$(id -u)" = 0 ] || skip "not root"
for b in ip nft taskset chrt mount; do
	command -v $b >/dev/null 2>&1 || skip "$b not installed"
done
[ -x "$TAPIS" ] && [ -x "$BENCH" ] || skip "$TAPIS or $BENCH not built (make && make $B/tapis-bench)"
if [ -n "$TAPIS_B" ]; then
	[ -x "$TAPIS_B" ] || fail "--tapis-b $TAPIS_B: not an executable"
	TAPIS_B=$(cd "$(dirname "$TAPIS_B")" && pwd)/$(basename "$TAPIS_B")
	ENDS="$ENDS b"
fi
[ -f "$POLICY_DIR/policy.yaml" ] && [ -f "$POLICY_DIR/nft.conf" ] ||
	skip "no policy in $POLICY_DIR (python3 scripts/gen_bench_policy.py $POLICY_DIR)"
NCPU=$(nproc)
GEN_CPU=0
NAPI_CPU=$((NCPU > 1 ? 1 : 0))

cleanup() {
	if [ -e "$PIN/tapis_ctl" ]; then
		ip netns exec "$NS" "$TAPIS" unload --pin-path "$PIN" >/dev/null 2>&1 ||
			say "tapis unload failed"
	fi
	if [ -e "$PIN_B/tapis_ctl" ]; then
		ip netns exec "$NS" "$TAPIS_B" unload --pin-path "$PIN_B" >/dev/null 2>&1 ||
			say "tapis unload (--tapis-b) failed"
	fi
	[ -e "/run/netns/$NS" ] && ip netns del "$NS"
	if mountpoint -q "$DIR/bpffs" 2>/dev/null; then
		rm -rf "$DIR/bpffs"/* 2>/dev/null
		umount "$DIR/bpffs"
	fi
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# wall-clock seconds of a command (its output to $DIR/NAME.out)
timed() { # NAME CMD...
	local name=$1 t0 t1 rc
	shift
	t0=$(date +%s.%N)
	"$@" >"$DIR/$name.out" 2>&1
	rc=$?
	t1=$(date +%s.%N)
	echo "$t0 $t1" | awk '{printf "%.3f", $2 - $1}' >"$DIR/$name.time"
	return $rc
}

mkdir -p "$DIR/bpffs" || fail "mkdir $DIR"
mount -t bpf bpf "$DIR/bpffs" || fail "mount bpffs at $DIR/bpffs"
ip netns add "$NS" || fail "ip netns add $NS"
nsx() { ip netns exec "$NS" "$@"; }
nsx ip link set lo up
for e in $ENDS; do
	nsx ip link add g$e$SUF type veth peer name f$e$SUF || fail "veth g$e$SUF/f$e$SUF"
	nsx ip link set g$e$SUF up && nsx ip link set f$e$SUF up || fail "link up g$e$SUF/f$e$SUF"
done

# far ends: tapis through the real CLI, the XDP_DROP floor, nftables
say "tapis load (full policy, native) ..."
timed tapis_load nsx "$TAPIS" load --policy "$POLICY_DIR/policy.yaml" --iface ft$SUF --mode native \
	--pin-path "$PIN" || fail "tapis load: $(cat "$DIR/tapis_load.out")"
say "tapis load took $(cat "$DIR/tapis_load.time") s: $(tail -1 "$DIR/tapis_load.out")"
if [ -n "$TAPIS_B" ]; then
	timed tapis_b_load nsx "$TAPIS_B" load --policy "$POLICY_DIR/policy.yaml" --iface fb$SUF \
		--mode native --pin-path "$PIN_B" || fail "tapis load (--tapis-b): $(cat "$DIR/tapis_b_load.out")"
	say "tapis load (--tapis-b $TAPIS_B) took $(cat "$DIR/tapis_b_load.time") s"
fi
nsx "$BENCH" live-attach --dev fd$SUF --prog drop || fail "attach XDP_DROP to fd$SUF"
nsx "$BENCH" live-attach --dev fn$SUF --prog pass || fail "attach XDP_PASS to fn$SUF"
nsx "$BENCH" live-attach --dev fp$SUF --prog pass || fail "attach XDP_PASS to fp$SUF"
nsx "$BENCH" live-attach --dev ff$SUF --prog floor --bytes "$FLOOR_BYTES" ||
	fail "attach the memory floor ($FLOOR_BYTES B) to ff$SUF"
nsx "$BENCH" live-attach --dev fv$SUF --prog floor-verdict --bytes "$FLOOR_BYTES" ||
	fail "attach the memory floor with a verdict ($FLOOR_BYTES B) to fv$SUF"
sed "s/@IFACE@/fn$SUF/" "$POLICY_DIR/nft.conf" >"$DIR/nft.conf"
say "nft -f (interval set of the same IPv4 prefixes) ..."
timed nft_load nsx nft -f "$DIR/nft.conf" || fail "nft -f: $(head -5 "$DIR/nft_load.out")"
say "nft -f took $(cat "$DIR/nft_load.time") s"

# one live edit through the CLI, timed as an operator would see it
RULE=$(awk '/- name:/ {n=$3} /action: drop/ {print n; exit}' "$POLICY_DIR/policy.yaml")
timed net_add nsx "$TAPIS" net add 198.18.250.0/24 --rule "$RULE" --pin-path "$PIN" ||
	fail "tapis net add: $(cat "$DIR/net_add.out")"
timed net_del nsx "$TAPIS" net del 198.18.250.0/24 --rule "$RULE" --pin-path "$PIN" ||
	fail "tapis net del: $(cat "$DIR/net_del.out")"
say "tapis net add $(cat "$DIR/net_add.time") s, net del $(cat "$DIR/net_del.time") s"

# NAPI of each far end in its own thread, on the core the generator leaves,
# polled on a timer while frames keep coming
for e in $ENDS; do
	nsx sh -c "echo 1 > /sys/class/net/f$e$SUF/threaded" 2>/dev/null ||
		say "threaded NAPI not available on f$e$SUF: NAPI shares the generator's core"
	nsx sh -c "echo 100 > /sys/class/net/f$e$SUF/napi_defer_hard_irqs &&
		echo 50000 > /sys/class/net/f$e$SUF/gro_flush_timeout" 2>/dev/null ||
		say "cannot defer NAPI re-arming on f$e$SUF: woken per burst"
done
sleep 0.2
napi_pids=$(ps -eo pid=,comm= |
	awk -v e="$(echo $ENDS | tr -d ' ')" -v s="$SUF" '$2 ~ "^napi/f[" e "]" s "-" {print $1}')
for p in $napi_pids; do
	taskset -pc "$NAPI_CPU" "$p" >/dev/null 2>&1 || say "cannot pin NAPI thread $p"
	if [ "$RT" = 1 ]; then
		chrt -f -p 10 "$p" >/dev/null 2>&1 || say "cannot make NAPI thread $p SCHED_FIFO"
	fi
done
say "NAPI threads: $(echo $napi_pids | wc -w) pinned to CPU $NAPI_CPU$([ "$RT" = 1 ] && echo ", SCHED_FIFO 10"); generator on CPU $GEN_CPU"

rule_packets() { # the drop rule's packet counter, or -1
	nsx "$TAPIS" stats --json --pin-path "$PIN" 2>/dev/null | python3 -c '
import json, sys
try:
    print(next(r["packets"] for r in json.load(sys.stdin)["rules"] if r["name"] == sys.argv[1]))
except Exception:
    print(-1)' "$RULE"
}

DONE=
for dst in ${DSTS//,/ }; do
	targets=()
	for t in tapis:t xdp_drop:d nftables:n floor:f; do
		targets+=(--target "${t%:*}:g${t#*:}$SUF:f${t#*:}$SUF")
	done
	mark=()
	if [ "$dst" = zipf ]; then
		targets+=(--target xdp_pass:gp$SUF:fp$SUF --target floor_v:gv$SUF:fv$SUF)
		mark=(--mark fv$SUF)
	fi
	[ -n "$TAPIS_B" ] && targets+=(--target tapis_b:gb$SUF:fb$SUF)
	if [ -n "$ONLY_ENDS" ]; then
		sel=()
		for ((i = 1; i < ${#targets[@]}; i += 2)); do
			[[ $ONLY_ENDS == *",${targets[i]%%:*},"* ]] && sel+=(--target "${targets[i]}")
		done
		targets=(${sel[@]+"${sel[@]}"})
		[[ $ONLY_ENDS == *,floor_v,* ]] || mark=()
		[ ${#targets[@]} -gt 0 ] || fail "--ends${ONLY_ENDS//,/ }: no such end"
	fi
	say "generating, $dst destinations: $ROUNDS rounds x $((${#targets[@]} / 2)) ends x $SECONDS_PER s ..."
	before=$(rule_packets)
	# what the stack did with the frames the ends passed (summarised by
	# live_summary.py): each end's otherhost drops, the namespace's IP
	# and ICMP counters
	nsx ip -s -s -j link show >"$DIR/link-$dst-0.json"
	nsx cat /proc/net/snmp >"$DIR/snmp-$dst-0.txt"
	nsx taskset -c "$GEN_CPU" "$BENCH" live-gen --policy-dir "$POLICY_DIR" --cpu "$GEN_CPU" \
		--seconds "$SECONDS_PER" --rounds "$ROUNDS" --gen "$GEN" --dst "$dst" "${targets[@]}" ${mark[@]+"${mark[@]}"} \
		>"$DIR/gen-$dst.json" 2>"$DIR/gen-$dst.err"
	rc=$?
	if [ "$rc" = 77 ]; then
		skip "the generator was refused: $(tail -1 "$DIR/gen-$dst.err")"
	elif [ "$rc" != 0 ]; then
		fail "live-gen --dst $dst: $(tail -5 "$DIR/gen-$dst.err")"
	fi
	nsx ip -s -s -j link show >"$DIR/link-$dst-1.json"
	nsx cat /proc/net/snmp >"$DIR/snmp-$dst-1.txt"
	cat "$DIR/gen-$dst.err" >&2
	echo $(($(rule_packets) - before)) >"$DIR/rule-$dst.count"
	DONE="$DONE $dst"
done
[ -n "$DONE" ] || fail "--dst $DSTS: nothing run (random, zipf)"

nsx nft list chain netdev tapis_bench in >"$DIR/nft.out" 2>/dev/null

python3 tests/bench/live_summary.py "$DIR" "$JSON" "$RULE" "$NCPU" "$FLOOR_BYTES" "$RT" $DONE ||
	fail "summarise"
exit 0
