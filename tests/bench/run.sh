#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/bench/run.sh - `make bench` (and, with --smoke, the bench tier of
# `make test`). Builds nothing: make has built build/tapis and
# build/tapis-bench.
#
#   bash tests/bench/run.sh [--smoke] [--no-live] [-- tapis-bench options]
#
#   1. scripts/gen_bench_policy.py writes the policy (500,000 IPv4 and
#      100,000 IPv6 prefixes and 2,000,000 host patterns; --smoke: 5,000,
#      1,000 and 2,000) unless it is there
#   2. build/tapis-bench prints the per-scenario table, with the reference
#      programs beside tapis (XDP_DROP, memory floors, the kernel LPM trie;
#      issue 11) and the goals of issue 11 as met / NOT MET rows, and writes
#      build/bench.json (--smoke: build/bench-smoke.json, tiny repeat)
#   2b. the same on the small policy (gen_bench_policy.py --small: 1,000
#      prefixes, 1,000 names), the rows with references only, with the
#      small policy's goals, merged into the JSON under "small"
#   3. tests/bench/control.py times the `tapis` commands themselves with the
#      same policy (load, reload, host add/del, unload; peak RSS), merged
#      into the JSON under "control"
#   4. tests/bench/serve.py times a Prometheus scrape of `tapis serve`
#      with 4,000 rules loaded (budget <= 50 ms; --smoke: fewer scrapes),
#      merged into the JSON under "serve"
#   5. tests/bench/live.sh (unless --no-live; --smoke runs one short round)
#      adds the live-path figures, random and Zipf destinations, merged
#      into the JSON under "live"; then on the small policy (3 rounds;
#      --smoke: one short one), under "live_small"
#
# The checks are about the harness, never about timings: the policy was
# written (host patterns included), every scenario ran with finite figures,
# hot verdicts are the expected ones (drop, pass, redirect), cold packets
# that must all be dropped were (blocked addresses, listed DNS names, TLS and
# HTTP names under a drop pattern, blocked flows), the live edit worked, memory
# per prefix and per name was measured, the JSON is valid, the live path ran
# (or was skipped for a stated reason, counted as skipped, as is a run with
# --no-live; never as passed). The checker's own exit status counts: one
# that dies half-way is a failure. Exit status is non-zero only when a
# check failed. Last line: "N passed, N failed[, N skipped]".
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
SMOKE=0
LIVE=1
EXTRA=()
while [ $# -gt 0 ]; do
	case $1 in
	--smoke) SMOKE=1; shift ;;
	--no-live) LIVE=0; shift ;;
	--) shift; EXTRA=("$@"); break ;;
	-h | --help) sed -n '3,33p' "$0"; exit 0 ;;
	*) EXTRA+=("$1"); shift ;;
	esac
done

PASS=0
FAIL=0
SKIP=0
check() { # DESC CONDITION-EXIT-CODE [DETAIL]
	if [ "$2" = 0 ]; then
		PASS=$((PASS + 1))
		echo "ok - $1"
	else
		FAIL=$((FAIL + 1))
		echo "not ok - $1${3:+ ($3)}"
	fi
}
finish() {
	if [ "$SKIP" -gt 0 ]; then
		echo "$PASS passed, $FAIL failed, $SKIP skipped"
	else
		echo "$PASS passed, $FAIL failed"
	fi
	[ "$FAIL" = 0 ]
	exit
}

if [ "$SMOKE" = 1 ]; then
	POLICY_DIR=$B/bench-policy-smoke
	JSON=$B/bench-smoke.json
	SMALL_JSON=$B/bench-small-smoke.json
	GEN_ARGS=(--smoke)
	BENCH_ARGS=(--smoke)
	LIVE_ARGS=(--rounds 1 --seconds 0.5 --json "$B/bench-live-smoke.json")
	LIVE_SMALL_ARGS=(--rounds 1 --seconds 0.5 --json "$B/bench-live-small-smoke.json")
	CONTROL_ARGS=(--rounds 1 --adds 5 --json "$B/bench-control-smoke.json")
	SERVE_ARGS=(--scrapes 10 --json "$B/bench-serve-smoke.json")
else
	POLICY_DIR=$B/bench-policy
	JSON=$B/bench.json
	SMALL_JSON=$B/bench-small.json
	GEN_ARGS=()
	BENCH_ARGS=()
	LIVE_ARGS=(--json "$B/bench-live.json")
	LIVE_SMALL_ARGS=(--rounds 3 --json "$B/bench-live-small.json")
	CONTROL_ARGS=(--rounds 3 --adds 21 --json "$B/bench-control.json")
	SERVE_ARGS=(--scrapes 50 --json "$B/bench-serve.json")
fi

for f in "$B/tapis" "$B/tapis-bench"; do
	if [ ! -x "$f" ]; then
		check "$f is built (make && make $B/tapis-bench)" 1
		finish
	fi
done

# 1. policies (regenerated when missing or older than the generator)
SMALL_DIR=$B/bench-policy-small
gen_policy() { # DIR GEN-ARGS...
	local dir=$1
	shift
	if [ ! -f "$dir/meta.json" ] || [ scripts/gen_bench_policy.py -nt "$dir/meta.json" ]; then
		rm -rf "$dir"
		python3 scripts/gen_bench_policy.py "$@" "$dir"
	fi
	[ -f "$dir/policy.yaml" ] && [ -f "$dir/meta.json" ]
}
gen_policy "$POLICY_DIR" ${GEN_ARGS[@]+"${GEN_ARGS[@]}"}
check "bench policy in $POLICY_DIR" $?
[ -f "$POLICY_DIR/policy.yaml" ] || finish
gen_policy "$SMALL_DIR" --small
check "small policy in $SMALL_DIR" $?

# 2. the harness (no stale results: the checks read what this run wrote)
rm -f "$JSON"
"$B/tapis-bench" "${BENCH_ARGS[@]}" --policy-dir "$POLICY_DIR" --json "$JSON" ${EXTRA[@]+"${EXTRA[@]}"}
rc=$?
check "tapis-bench ran (exit $rc)" $rc

# 2b. the small policy, with its own goals
echo
rm -f "$SMALL_JSON"
if [ -f "$SMALL_DIR/policy.yaml" ]; then
	"$B/tapis-bench" "${BENCH_ARGS[@]}" --goals small --refs-only --policy-dir "$SMALL_DIR" \
		--json "$SMALL_JSON" ${EXTRA[@]+"${EXTRA[@]}"}
	rc=$?
	check "tapis-bench ran on the small policy (exit $rc)" $rc
fi

# 3. the control plane, as commands
echo
CONTROL_JSON=${CONTROL_ARGS[${#CONTROL_ARGS[@]} - 1]}
rm -f "$CONTROL_JSON"
python3 tests/bench/control.py --tapis "$B/tapis" --policy "$POLICY_DIR/policy.yaml" "${CONTROL_ARGS[@]}"
check "control plane: load, reload, host add/del, unload as commands (exit $?)" $?

# 4. a scrape of tapis serve
echo
SERVE_JSON=${SERVE_ARGS[${#SERVE_ARGS[@]} - 1]}
rm -f "$SERVE_JSON"
python3 tests/bench/serve.py --tapis "$B/tapis" "${SERVE_ARGS[@]}"
check "serve: /metrics scraped with 4,000 rules loaded (exit $?)" $?

# 5. the live path
LIVE_RC=skip
if [ "$LIVE" = 1 ]; then
	echo
	LIVE_JSON=${LIVE_ARGS[${#LIVE_ARGS[@]} - 1]}
	rm -f "$LIVE_JSON"
	# the floor end's array: tapis's address tables as this run loaded them
	FLOOR_BYTES=$(python3 -c 'import json, sys; m = json.load(open(sys.argv[1]))["memory"]
print(m["v4_read_by_program_bytes"] + m["v6_read_by_program_bytes"])' "$JSON" 2>/dev/null) ||
		FLOOR_BYTES=$((64 << 20))
	bash tests/bench/live.sh --policy-dir "$POLICY_DIR" --floor-bytes "$FLOOR_BYTES" "${LIVE_ARGS[@]}"
	LIVE_RC=$?
fi
LIVE_SMALL_RC=skip
if [ "$LIVE" = 1 ] && [ -f "$SMALL_DIR/policy.yaml" ]; then
	echo
	LIVE_SMALL_JSON=${LIVE_SMALL_ARGS[${#LIVE_SMALL_ARGS[@]} - 1]}
	rm -f "$LIVE_SMALL_JSON"
	FLOOR_BYTES=$(python3 -c 'import json, sys; m = json.load(open(sys.argv[1]))["memory"]
print(m["v4_read_by_program_bytes"] + m["v6_read_by_program_bytes"])' "$SMALL_JSON" 2>/dev/null) ||
		FLOOR_BYTES=$((1 << 20))
	bash tests/bench/live.sh --policy-dir "$SMALL_DIR" --floor-bytes "$FLOOR_BYTES" "${LIVE_SMALL_ARGS[@]}"
	LIVE_SMALL_RC=$?
fi

# checks on the JSON: structure and finiteness, not speed
CHECKS=$(python3 - "$JSON" "$LIVE_RC" "${LIVE_JSON:-}" "$CONTROL_JSON" "$SERVE_JSON" "$SMALL_JSON" \
	"$LIVE_SMALL_RC" "${LIVE_SMALL_JSON:-}" <<'EOF'
import json, math, sys
path, live_rc, live_json, control_json, serve_json, small_json = sys.argv[1:7]
live_small_rc, live_small_json = sys.argv[7:9]
def out(ok, desc, detail=""):
    print("%s - %s%s" % ("ok" if ok else "not ok", desc, " (%s)" % detail if detail and not ok else ""))
def finite(x):
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0
try:
    d = json.load(open(path))
    out(True, "%s is valid JSON" % path)
except Exception as e:
    out(False, "%s is valid JSON" % path, str(e))
    sys.exit(0)
scen = [s for s in d.get("scenarios", []) if not s.get("pending")]
out(len(scen) > 0, "scenarios present", "none")
names = set(s.get("name") for s in scen)
want = {"ipv4-nomatch", "ipv6-nomatch", "ipv4-blocked", "dns-5label-match", "dns-5label-nomatch"}
out(want <= names, "scenarios of issues 3 and 4 are runnable rows",
    "missing: %s" % ", ".join(sorted(want - names)))
want = {"tls-ch-match", "tls-ch-nomatch", "tls-ch-split2", "http-get-match", "http-get-nomatch",
        "blocked-flow", "redirect", "tcp22-nomatch"}
out(want <= names, "TLS, HTTP, flow, redirect and other-port scenarios are runnable rows",
    "missing: %s" % ", ".join(sorted(want - names)))
out(d.get("config", {}).get("host_patterns", 0) > 0, "policy has host patterns", "none")
for s in scen:
    bad = []
    if not s.get("ran"):
        bad.append("did not run")
    # per-call hot (a flow state reset before each call) has no warm
    for reg in ("hot", "cold") if s.get("hot_method") else ("hot", "warm", "cold"):
        for k in ("tapis_ns", "xdp_pass_ns", "ratio"):
            v = s.get(reg, {}).get(k, {})
            if not all(finite(v.get(x)) for x in ("median", "min", "max")):
                bad.append("%s %s not finite" % (reg, k))
    if not s.get("verdict_ok"):
        bad.append("hot verdict %s" % s.get("hot_verdict"))
    if s.get("cold_expect_drop"):
        cv = s.get("cold_verdicts_round1", {})
        n = sum(cv.values())
        if not n or cv.get("drop", 0) < 0.99 * n:
            bad.append("cold verdicts %s, expected (almost) all drop" % cv)
    out(not bad, "scenario %s: every regime measured, verdict as expected" % s.get("name"),
        "; ".join(bad))
def check_refs(d, tag):
    """issue 11: every reference ran beside tapis, its figures are finite,
    the floors' ratios exist, and the goals were judged."""
    refs = [r.get("name") for r in d.get("references", [])]
    want = {"xdp-drop", "floor-own", "floor-names", "floor-64MiB", "floor-1MiB",
            "floor-256KiB", "lpm"}
    out(want <= set(refs), "%s: reference programs loaded" % tag,
        "missing: %s" % ", ".join(sorted(want - set(refs))))
    rows = {s.get("name"): s for s in d.get("scenarios", []) if s.get("ran")}
    for name in ("ipv4-nomatch", "ipv6-nomatch", "ipv4-blocked", "ipv6-blocked",
                 "dns-5label-match", "dns-5label-nomatch"):
        s = rows.get(name)
        bad = []
        if not s:
            bad.append("did not run")
        else:
            rr = s.get("references", {})
            need = ["xdp-drop", "floor-64MiB"] + (
                ["floor-names"] if name.startswith("dns") else
                ["floor-own", "floor-1MiB", "floor-256KiB", "lpm"])
            for ref in need:
                for reg in ("hot", "warm", "cold"):
                    v = rr.get(ref, {}).get(reg, {}).get("ns", {})
                    if not all(finite(v.get(x)) for x in ("median", "min", "max")):
                        bad.append("%s %s not finite" % (ref, reg))
                if ref != "xdp-drop" and not finite(
                        rr.get(ref, {}).get("cold", {}).get("tapis_extra_ratio", {}).get("median")):
                    bad.append("%s: no cold ratio" % ref)
        out(not bad, "%s: %s measured beside its references" % (tag, name), "; ".join(bad))
    g = d.get("goals", [])
    out(len(g) > 0 and all(isinstance(x.get("met"), bool) and isinstance(x.get("value"), (int, float))
                           for x in g), "%s: goals of issue 11 judged (%d rows)" % (tag, len(g)), "none")
    m = d.get("memory", {})
    out(all(finite(m.get(k)) for k in ("maps_bytes_memlock", "bytes_per_v4_prefix",
                                        "bytes_per_v6_prefix", "bytes_per_host_pattern")),
        "%s: map memory in all and per table" % tag, "missing")

check_refs(d, "bench policy")
try:
    sm = json.load(open(small_json))
    cfg = sm.get("config", {})
    out(cfg.get("v4_prefixes", 0) + cfg.get("v6_prefixes", 0) <= 1100 and
        sm.get("goals_policy") == "small", "small policy run: 1,000 prefixes, its goals",
        "%s prefixes, goals %s" % (cfg.get("v4_prefixes", 0) + cfg.get("v6_prefixes", 0),
                                   sm.get("goals_policy")))
    check_refs(sm, "small policy")
    d["small"] = sm
    json.dump(d, open(path, "w"), indent=1)
except Exception as e:
    out(False, "small policy results", str(e))
ne = d.get("net_edit", {})
out(bool(ne.get("ok")) and finite(ne.get("add_24_us", {}).get("median")),
    "live net add/del on the loaded handle", "failed")
m = d.get("memory", {})
out(finite(m.get("maps_bytes_memlock")) and finite(m.get("vm_hwm_kib")) and
    finite(m.get("bytes_per_host_pattern")), "memory figures (per prefix and per name)", "missing")
out(all(finite(d.get("load", {}).get(k)) for k in ("parse_s", "create_s", "install_s")),
    "load times", "missing")
try:
    c = json.load(open(control_json))
    ok = all(finite(c["commands"][k]["median_s"]) and finite(c["commands"][k]["peak_rss_kib"])
             for k in ("load", "reload", "host add"))
    out(ok, "control plane figures: load, reload, host add with peak RSS", "missing")
    d["control"] = c
    json.dump(d, open(path, "w"), indent=1)
except Exception as e:
    out(False, "control plane figures", str(e))
try:
    sv = json.load(open(serve_json))
    sc = sv["scrape"]
    out(all(finite(sc[k]) for k in ("median_ms", "p95_ms", "bytes", "serve_peak_rss_kib"))
        and sv["rules"] == 4000 and not sv["failed"],
        "serve figures: scrape time, size and RSS with 4,000 rules", "missing")
    d["serve"] = sv
    json.dump(d, open(path, "w"), indent=1)
except Exception as e:
    out(False, "serve figures", str(e))
def live_checks(rc, jpath, key, what):
    """The live path ran (or was skipped for a stated reason), its rates
    are finite, and tapis dropped what it should: every frame with random
    destinations, about the inside share with Zipf ones."""
    if rc == "skip":
        print("skip - %s not run (--no-live)" % what)
        return
    if rc == "77":
        print("skip - %s (see its skip: line above)" % what)
        return
    if rc != "0":
        out(False, "%s ran" % what, "live.sh exit %s" % rc)
        return
    try:
        lv = json.load(open(jpath))
        for mode in lv.get("modes", ["random"]):
            m = lv[mode]
            tg = m["gen"]["targets"]
            ok = all(finite(tg[k]["median_pps"]) and finite(tg[k]["median_capacity_pps"])
                     for k in ("tapis", "xdp_drop", "nftables", "floor"))
            out(ok, "%s, %s destinations: rates for tapis, XDP_DROP, nftables, floor" % (
                what, mode), "not finite")
            f = m.get("tapis_dropped_fraction")
            want = 1.0 if mode == "random" else m["gen"]["inside_fraction"]
            out(f is not None and abs(f - want) <= 0.05,
                "%s, %s destinations: tapis dropped %.0f %% of its frames" % (
                    what, mode, 100 * want), "dropped %s" % f)
            if mode == "zipf":
                inside = m["gen"]["inside_fraction"]
                out(0.35 <= inside <= 0.65, "%s: Zipf frames about half inside the policy" % what,
                    "%.2f inside" % inside)
                # the floor with a verdict dropped what live-gen marked
                # (the destinations inside, and those outside that share
                # their entry): its index is the one the program reads
                fv, mk = m.get("floor_v_dropped_fraction"), m.get("floor_v_marked_fraction")
                out(fv is not None and mk is not None and mk >= inside - 0.01
                    and abs(fv - mk) <= 0.02,
                    "%s: floor_v dropped the frames its marks cover" % what,
                    "dropped %s, marked %s, inside %.2f" % (fv, mk, inside))
            # passed frames die at ip_rcv's first test, as otherhost, before
            # any IP counter, route, conntrack or ICMP error
            st = m.get("stack") or {}
            pe = st.get("ends", {}).get("xdp_pass" if mode == "zipf" else "tapis", {})
            oh, exp = pe.get("otherhost_dropped"), pe.get("passed_expected")
            moved = {k: v for k, v in st.get("ip_counters", {}).items() if v}
            out(oh is not None and exp is not None and abs(oh - exp) <= max(0.01 * exp, 4096)
                and not moved,
                "%s, %s destinations: passed frames dropped as otherhost, IP counters still" % (
                    what, mode), "otherhost %s of %s passed, moved: %s" % (oh, exp, moved))
        d[key] = lv
        json.dump(d, open(path, "w"), indent=1)
    except Exception as e:
        out(False, "%s results" % what, repr(e))
live_checks(live_rc, live_json, "live", "live path")
live_checks(live_small_rc, live_small_json, "live_small", "live path, small policy")
EOF
)
CHECKS_RC=$?
[ -n "$CHECKS" ] || check "JSON checks ran" 1
while IFS= read -r line; do
	case $line in
	"ok - "*) PASS=$((PASS + 1)) ;;
	"not ok - "*) FAIL=$((FAIL + 1)) ;;
	"skip - "*) SKIP=$((SKIP + 1)) ;;
	*) continue ;;
	esac
	echo "$line"
done <<<"$CHECKS"
# A checker that died half-way has not checked the rest: its lines so far
# are kept, and its exit status is a failure of its own.
[ "$CHECKS_RC" = 0 ] || check "JSON checker finished" 1 "exit $CHECKS_RC"
finish
