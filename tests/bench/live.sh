#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/bench/live.sh - the live path of `make bench` (issue 3): frames per
# second handled on a veth by tapis (full policy, native XDP, loaded with the
# real CLI), by an XDP_DROP-only program and by nftables (netdev ingress
# hook, one interval set of the same IPv4 prefixes) and by the memory floor
# (issue 11: bpf/bench_floor.bpf.c, one read per direction in an array of
# the size of tapis's address tables, --floor-bytes, then XDP_DROP), in one
# run.
#
#   bash tests/bench/live.sh [--policy-dir DIR] [--seconds S] [--rounds N]
#                            [--json FILE] [--floor-bytes N]
#
# Everything lives in one namespace this script creates, tbench-PID:
#
#   gt ──veth── ft   tapis (tapis load --mode native, pinned on a bpffs
#                    mounted at /run/tbench-PID/bpffs)
#   gd ──veth── fd   XDP_DROP (tapis-bench live-attach)
#   gn ──veth── fn   XDP_PASS, then nftables netdev ingress: ip daddr @blk drop
#   gf ──veth── ff   the memory floor (tapis-bench live-attach --prog floor)
#
# The generator (tapis-bench live-gen, see tests/bench/livegen.c) runs on
# CPU 0 and sends frames with BPF_PROG_TEST_RUN + BPF_F_TEST_XDP_LIVE_FRAMES
# out of gX; each fX runs its NAPI in a thread (threaded NAPI) pinned to
# CPU 1, so each far end has a core of its own. Destinations are random
# inside the policy's drop prefixes (all three drop every frame), sources
# random outside the policy. Rounds rotate the order of the three ends.
#
# Two figures per end: "handled", frames the far end's NAPI ran through XDP
# per wall-clock second, and "capacity", the same frames per second of CPU
# time of its NAPI thread (/proc/PID/schedstat), i.e. the rate it sustains
# with a core of its own. The budgets use capacity: on this VM a veth NAPI
# thread sleeps between batches and the 256-frame ring overflows during its
# wake-up latency long before the thread is busy (XDP_DROP's thread idles
# half the time while veth refuses frames), so the wall rate measures the
# wake-ups, not the filter; the refused share is printed to show it.
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
SECONDS_PER=3
ROUNDS=5
JSON=$B/bench-live.json
FLOOR_BYTES=$((64 << 20))
while [ $# -gt 0 ]; do
	case $1 in
	--policy-dir) POLICY_DIR=$2; shift 2 ;;
	--seconds) SECONDS_PER=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	--json) JSON=$2; shift 2 ;;
	--floor-bytes) FLOOR_BYTES=$2; shift 2 ;;
	-h | --help) sed -n '3,34p' "$0"; exit 0 ;;
	*) echo "live.sh: unknown argument $1" >&2; exit 1 ;;
	esac
done

TAPIS=$REPO/$B/tapis
BENCH=$REPO/$B/tapis-bench
NS=tbench-$$
DIR=/run/tbench-$$
PIN=$DIR/bpffs/tapis
export LIBXDP_BPFFS=$DIR/bpffs

say() { echo "live: $*" >&2; }
skip() { echo "skip: $*"; exit 77; }

[ "$(id -u)" = 0 ] || skip "not root"
for b in ip nft taskset mount; do
	command -v $b >/dev/null 2>&1 || skip "$b not installed"
done
[ -x "$TAPIS" ] && [ -x "$BENCH" ] || skip "$TAPIS or $BENCH not built (make && make $B/tapis-bench)"
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
	[ -e "/run/netns/$NS" ] && ip netns del "$NS"
	if mountpoint -q "$DIR/bpffs" 2>/dev/null; then
		rm -rf "$DIR/bpffs"/* 2>/dev/null
		umount "$DIR/bpffs"
	fi
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	say "error: $*"
	exit 1
}

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
for e in t d n f; do
	nsx ip link add g$e type veth peer name f$e || fail "veth g$e/f$e"
	nsx ip link set g$e up && nsx ip link set f$e up || fail "link up g$e/f$e"
done

# far ends: tapis through the real CLI, the XDP_DROP floor, nftables
say "tapis load (full policy, native) ..."
timed tapis_load nsx "$TAPIS" load --policy "$POLICY_DIR/policy.yaml" --iface ft --mode native \
	--pin-path "$PIN" || fail "tapis load: $(cat "$DIR/tapis_load.out")"
say "tapis load took $(cat "$DIR/tapis_load.time") s: $(tail -1 "$DIR/tapis_load.out")"
nsx "$BENCH" live-attach --dev fd --prog drop || fail "attach XDP_DROP to fd"
nsx "$BENCH" live-attach --dev fn --prog pass || fail "attach XDP_PASS to fn"
nsx "$BENCH" live-attach --dev ff --prog floor --bytes "$FLOOR_BYTES" ||
	fail "attach the memory floor ($FLOOR_BYTES B) to ff"
sed 's/@IFACE@/fn/' "$POLICY_DIR/nft.conf" >"$DIR/nft.conf"
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

# NAPI of each far end in its own thread, on the core the generator leaves
for e in t d n f; do
	nsx sh -c "echo 1 > /sys/class/net/f$e/threaded" 2>/dev/null ||
		say "threaded NAPI not available on f$e: NAPI shares the generator's core"
done
sleep 0.2
napi_pids=$(ps -eo pid=,comm= | awk '$2 ~ /^napi\/f[tdnf]-/ {print $1}')
for p in $napi_pids; do
	taskset -pc "$NAPI_CPU" "$p" >/dev/null 2>&1 || say "cannot pin NAPI thread $p"
done
say "NAPI threads: $(echo $napi_pids | wc -w) pinned to CPU $NAPI_CPU; generator on CPU $GEN_CPU"

say "generating: $ROUNDS rounds x 4 ends x $SECONDS_PER s ..."
nsx taskset -c "$GEN_CPU" "$BENCH" live-gen --policy-dir "$POLICY_DIR" --cpu "$GEN_CPU" \
	--seconds "$SECONDS_PER" --rounds "$ROUNDS" \
	--target tapis:gt:ft --target xdp_drop:gd:fd --target nftables:gn:fn --target floor:gf:ff \
	>"$DIR/gen.json" 2>"$DIR/gen.err"
rc=$?
if [ "$rc" = 77 ]; then
	skip "this machine refuses BPF_F_TEST_XDP_LIVE_FRAMES (EPERM): $(tail -1 "$DIR/gen.err")"
elif [ "$rc" != 0 ]; then
	fail "live-gen: $(tail -5 "$DIR/gen.err")"
fi
cat "$DIR/gen.err" >&2

nsx "$TAPIS" stats --json --pin-path "$PIN" >"$DIR/stats.json" 2>/dev/null
nsx nft list chain netdev tapis_bench in >"$DIR/nft.out" 2>/dev/null

python3 - "$DIR" "$JSON" "$RULE" "$NCPU" "$FLOOR_BYTES" <<'EOF' || fail "summarise"
import json, re, sys
d, out, rule, ncpu = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
floor_bytes = int(sys.argv[5])
def t(name):
    return float(open("%s/%s.time" % (d, name)).read())
g = json.load(open(d + "/gen.json"))
tg = g["targets"]
r = {
    "gen": g,
    "tapis_load_s": t("tapis_load"), "nft_load_s": t("nft_load"),
    "cli_net_add_s": t("net_add"), "cli_net_del_s": t("net_del"),
    "ncpu": ncpu, "floor_bytes": floor_bytes,
}
try:
    st = json.load(open(d + "/stats.json"))
    r["tapis_rule_packets"] = {x["name"]: x["packets"] for x in st.get("rules", [])}
except Exception as e:
    r["tapis_rule_packets"] = None
m = re.search(r"counter packets (\d+)", open(d + "/nft.out").read() or "")
r["nft_counter_packets"] = int(m.group(1)) if m else None
cap = {k: tg[k]["median_capacity_pps"] for k in tg}
tp, dp, np_ = (cap[k] for k in ("tapis", "xdp_drop", "nftables"))
ok = all(v and v > 0 for v in (tp, dp, np_))
r["metric"] = "capacity: frames per second of far-end NAPI thread CPU time (median of rounds)"
r["tapis_vs_xdp_drop"] = tp / dp if ok else None
r["tapis_vs_nftables"] = tp / np_ if ok else None
hp, hd, hn = (tg[k]["median_pps"] for k in ("tapis", "xdp_drop", "nftables"))
r["handled_tapis_vs_xdp_drop"] = hp / hd if hd else None
r["handled_tapis_vs_nftables"] = hp / hn if hn else None
fp = cap.get("floor")
r["tapis_vs_floor"] = tp / fp if ok and fp else None
r["budget"] = {
    "tapis_vs_xdp_drop_min": 0.6, "tapis_vs_xdp_drop_met": bool(ok and tp / dp >= 0.6),
    "tapis_vs_nftables_min": 4.0, "tapis_vs_nftables_met": bool(ok and tp / np_ >= 4.0),
    # issue 11: random destinations >= 85 % of the floor program's rate
    "tapis_vs_floor_min": 0.85, "tapis_vs_floor_met": bool(ok and fp and tp / fp >= 0.85),
}
json.dump(r, open(out, "w"), indent=1)
print()
print("live path (veth, native XDP; generator CPU 0, far-end NAPI thread CPU 1; every frame dropped)")
print("  %-9s %-32s %-34s %s" % ("far end", "capacity Mpps (ns/frame)", "handled Mpps (min-max of rounds)",
                                "NAPI busy, refused"))
for k in ("tapis", "xdp_drop", "nftables", "floor"):
    x = tg[k]
    c = [v for v in x["capacity_pps"] if v > 0]
    print("  %-9s %6.3f (%5.0f ns) [%5.2f-%5.2f]     %6.3f [%5.2f-%5.2f]                %3.0f %%, %3.0f %%" % (
        k, cap[k] / 1e6, 1e9 / cap[k] if cap[k] > 0 else -1, min(c) / 1e6 if c else -1,
        max(c) / 1e6 if c else -1, x["median_pps"] / 1e6, min(x["pps"]) / 1e6, max(x["pps"]) / 1e6,
        100 * x["median_napi_busy"], 100 * max(x["median_refused_fraction"], 0)))
if ok:
    print("  tapis / XDP_DROP = %.2f (budget >= 0.60: %s); handled-rate ratio %.2f" % (
        tp / dp, "met" if tp / dp >= 0.6 else "NOT MET", hp / hd if hd else -1))
    print("  tapis / nftables = %.2fx (budget >= 4x: %s); handled-rate ratio %.2fx" % (
        tp / np_, "met" if tp / np_ >= 4 else "NOT MET", hp / hn if hn else -1))
    if fp:
        print("  tapis / floor (%.1f MiB array) = %.2f (issue 11 budget >= 0.85: %s)" % (
            floor_bytes / 1048576.0, tp / fp, "met" if tp / fp >= 0.85 else "NOT MET"))
else:
    print("  no NAPI thread CPU time: ratios not computed")
print("  tapis load (CLI) %.2f s; nft -f %.2f s; tapis net add %.3f s, net del %.3f s" % (
    r["tapis_load_s"], r["nft_load_s"], r["cli_net_add_s"], r["cli_net_del_s"]))
if r["tapis_rule_packets"] is not None:
    print("  tapis counted %s packets on rule %s; nft counter %s" % (
        r["tapis_rule_packets"].get(rule), rule, r["nft_counter_packets"]))
print("  results: %s" % out)
EOF
exit 0
