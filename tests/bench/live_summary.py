#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Summarise a run of tests/bench/live.sh: the generator's JSON per
destination mode -> ratios, extra ns per frame, the budgets of issues 3 and
11, one JSON file and a table on stdout.

  live_summary.py DIR OUT-JSON RULE NCPU FLOOR-BYTES RT MODE...

DIR holds gen-MODE.json (tapis-bench live-gen), rule-MODE.count (the drop
rule's packets counted by tapis during that mode), the *.time files of the
timed commands and nft.out (the nftables chain with its counter).
"""
import json
import re
import sys

# (reference end, tapis / reference at least, where the budget comes from)
GOALS = {
    "random": [("floor", 0.85, "issue 11"), ("nftables", 8.0, "issue 11"),
               ("xdp_drop", 0.60, "issue 3")],
    "zipf": [("xdp_drop", 0.70, "issue 11")],
}


def summarise(d, mode):
    g = json.load(open("%s/gen-%s.json" % (d, mode)))
    tg = g["targets"]
    cap = {k: tg[k]["median_capacity_pps"] for k in tg}
    x = {"gen": g, "ratios": {}, "extra_ns_over_xdp_drop": {}, "budget": []}
    tp = cap.get("tapis", 0)
    for k in tg:
        if k != "tapis" and tp > 0 and cap[k] > 0:
            x["ratios"][k] = tp / cap[k]
        if cap[k] > 0 and cap.get("xdp_drop", 0) > 0:
            x["extra_ns_over_xdp_drop"][k] = 1e9 / cap[k] - 1e9 / cap["xdp_drop"]
    # An skb generator adds the same copy to every end's rate, which pulls
    # rate ratios towards 1; what each program adds over XDP_DROP does not
    # carry it.
    ex = x["extra_ns_over_xdp_drop"]
    if ex.get("tapis", 0) > 0 and ex.get("nftables", 0) > 0:
        x["nftables_extra_vs_tapis_extra"] = ex["nftables"] / ex["tapis"]
    # With Zipf destinations a filter must pass the frames outside the
    # policy, which XDP_DROP never does: beside the budget against XDP_DROP,
    # the cost of an ideal filter, derived from the two constant ends of the
    # same run: XDP_DROP's ns for the frames inside, XDP_PASS's (a pass to
    # the stack) for the rest.
    if mode == "zipf" and cap.get("xdp_drop", 0) > 0 and cap.get("xdp_pass", 0) > 0 and tp > 0:
        f = g["inside_fraction"]
        x["ideal_ns"] = f * 1e9 / cap["xdp_drop"] + (1 - f) * 1e9 / cap["xdp_pass"]
        x["tapis_vs_ideal"] = x["ideal_ns"] / (1e9 / tp)
    for ref, lim, src in GOALS.get(mode, []):
        v = x["ratios"].get(ref)
        x["budget"].append({"reference": ref, "min": lim, "value": v, "source": src,
                            "met": bool(v is not None and v >= lim)})
    x["tapis_rule_packets"] = None
    x["tapis_dropped_fraction"] = None
    try:
        n = int(open("%s/rule-%s.count" % (d, mode)).read())
    except (OSError, ValueError):
        n = -1
    if n >= 0:
        x["tapis_rule_packets"] = n
        # frames tapis's end ran through XDP in this mode, all rounds
        # (a ring's worth more may drain after a round's count)
        seen = sum(tg["tapis"].get("frames", [])) if "tapis" in tg else 0
        x["tapis_dropped_fraction"] = n / seen if seen > 0 else None
    return x


def table(x, mode, rule):
    g = x["gen"]
    tg = g["targets"]
    lines = ["live path, %s destinations (%s generator on CPU 0, far ends' NAPI threads on "
             "CPU 1)%s" % (mode, g["generator"], "" if mode != "zipf" else
                           ": %.0f %% of frames inside the policy" % (100 * g["inside_fraction"])),
             "  %-9s %-36s %-9s %-33s %s" % ("far end", "capacity Mpps (ns/frame) [min-max]",
                                             "+ns/frame", "handled Mpps [min-max of rounds]",
                                             "NAPI busy, refused")]
    for k in tg:
        e = tg[k]
        c = [v for v in e["capacity_pps"] if v > 0]
        cap = e["median_capacity_pps"]
        lines.append("  %-9s %6.3f (%5.0f ns) [%5.2f-%5.2f]     %+6.0f    %6.3f [%5.2f-%5.2f]"
                     "               %3.0f %%, %3.0f %%" % (
                         k, cap / 1e6, 1e9 / cap if cap > 0 else -1,
                         min(c) / 1e6 if c else -1, max(c) / 1e6 if c else -1,
                         x["extra_ns_over_xdp_drop"].get(k, float("nan")),
                         e["median_pps"] / 1e6, min(e["pps"]) / 1e6, max(e["pps"]) / 1e6,
                         100 * e["median_napi_busy"],
                         100 * max(e["median_refused_fraction"], 0)))
    for b in x["budget"]:
        v = b["value"]
        lines.append("  tapis / %s = %s (%s budget >= %g%s: %s)" % (
            b["reference"], "%.2f" % v if v is not None else "n/a", b["source"], b["min"],
            "x" if b["min"] > 1 else "", "met" if b["met"] else "NOT MET"))
    if x.get("nftables_extra_vs_tapis_extra"):
        lines.append("  over XDP_DROP, nftables adds %.1fx what tapis adds" % (
            x["nftables_extra_vs_tapis_extra"]))
    if x.get("ideal_ns"):
        lines.append("  ideal filter (XDP_DROP's ns inside, XDP_PASS's outside): %.0f ns/frame; "
                     "tapis = %.2f of its rate" % (x["ideal_ns"], x["tapis_vs_ideal"]))
    if x["tapis_dropped_fraction"] is not None:
        lines.append("  tapis dropped %.1f %% of the frames it ran (rule %s)" % (
            100 * x["tapis_dropped_fraction"], rule))
    return lines


def main():
    d, out, rule, ncpu, floor_bytes, rt = sys.argv[1:7]
    modes = sys.argv[7:]

    def t(name):
        return float(open("%s/%s.time" % (d, name)).read())

    r = {
        "tapis_load_s": t("tapis_load"), "nft_load_s": t("nft_load"),
        "cli_net_add_s": t("net_add"), "cli_net_del_s": t("net_del"),
        "ncpu": int(ncpu), "floor_bytes": int(floor_bytes), "napi_sched_fifo": rt == "1",
        "metric": "capacity: frames per second of far-end NAPI thread CPU time "
                  "(median of rounds)",
        "modes": modes,
    }
    for mode in modes:
        r[mode] = summarise(d, mode)
    # the keys readers had before the Zipf mode: random destinations
    if "random" in r:
        rr = r["random"]
        r["gen"] = rr["gen"]
        r["tapis_vs_xdp_drop"] = rr["ratios"].get("xdp_drop")
        r["tapis_vs_nftables"] = rr["ratios"].get("nftables")
        r["tapis_vs_floor"] = rr["ratios"].get("floor")
    try:
        m = re.search(r"counter packets (\d+)", open(d + "/nft.out").read())
    except OSError:
        m = None
    r["nft_counter_packets"] = int(m.group(1)) if m else None
    json.dump(r, open(out, "w"), indent=1)

    print()
    for mode in modes:
        print("\n".join(table(r[mode], mode, rule)))
    print("  tapis load (CLI) %.2f s; nft -f %.2f s; tapis net add %.3f s, net del %.3f s" % (
        r["tapis_load_s"], r["nft_load_s"], r["cli_net_add_s"], r["cli_net_del_s"]))
    print("  results: %s" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
