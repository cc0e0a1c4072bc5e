#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Summarise a run of tests/bench/live.sh: the generator's JSON per
destination mode -> ratios, extra ns per frame, the budgets of issues 3 and
11, one JSON file and a table on stdout.

  live_summary.py DIR OUT-JSON RULE NCPU FLOOR-BYTES RT MODE...

DIR holds gen-MODE.json (tapis-bench live-gen), rule-MODE.count (the drop
rule's packets counted by tapis during that mode), link-MODE-{0,1}.json and
snmp-MODE-{0,1}.txt (the namespace's links and IP counters before and after
the mode), the *.time files of the timed commands and nft.out (the nftables
chain with its counter).
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


def per_round(tg, a, b):
    """a's capacity over b's, round by round: the two ran within seconds of
    each other, so this ratio moves less with the neighbours' load than the
    one of the medians; its spread is what a single run can claim."""
    return [x / y for x, y in zip(tg[a]["capacity_pps"], tg[b]["capacity_pps"]) if x > 0 and y > 0]


def spread(v):
    s = sorted(v)
    if not s:
        return None
    n = len(s)
    med = s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
    return {"median": med, "min": s[0], "max": s[-1], "rounds": n}


def stack_drops(d, mode, tg, rule_count):
    """What the far ends' stack did with the frames they passed: otherhost
    drops per end (ip -s -s link) against the frames each passed, and the
    namespace's IP and ICMP counters, which stay still when every passed
    frame dies at ip_rcv's first test. None when the snapshots are missing."""
    try:
        links = [{l["ifname"]: l.get("stats64", {}).get("rx", {})
                  for l in json.load(open("%s/link-%s-%d.json" % (d, mode, i)))} for i in (0, 1)]
        snmp = []
        for i in (0, 1):
            rows = [l.split() for l in open("%s/snmp-%s-%d.txt" % (d, mode, i))]
            c = {}
            for h, v in zip(rows[0::2], rows[1::2]):
                c.update({"%s%s" % (h[0].rstrip(":"), k): int(x) for k, x in zip(h[1:], v[1:])})
            snmp.append(c)
    except (OSError, ValueError, KeyError, IndexError):
        return None
    out = {"ends": {}, "ip_counters": {}}
    for k in tg:
        far = tg[k]["far"]
        b, a = links[0].get(far, {}), links[1].get(far, {})
        ran = sum(tg[k].get("frames", []))
        passed = None
        if k in ("xdp_pass",):
            passed = ran
        elif k in ("xdp_drop", "floor"):
            passed = 0
        elif k == "tapis" and rule_count is not None and rule_count >= 0:
            # (a frame counted after the window's last read: not below 0)
            passed = max(ran - rule_count, 0)
        elif k != "nftables" and tg[k].get("median_dropped_fraction", -1) >= 0:
            # (nftables's XDP passes everything; its chain drops after)
            passed = round(ran * (1 - tg[k]["median_dropped_fraction"]))
        out["ends"][k] = {
            "frames_run": ran, "passed_expected": passed,
            "to_stack": a.get("packets", 0) - b.get("packets", 0),
            "otherhost_dropped": a.get("otherhost", 0) - b.get("otherhost", 0)}
    for key in ("IpInReceives", "IpInDelivers", "IpForwDatagrams", "IpInAddrErrors",
                "IpOutRequests", "IcmpOutMsgs", "IcmpOutDestUnreachs"):
        if key in snmp[0] and key in snmp[1]:
            out["ip_counters"][key] = snmp[1][key] - snmp[0][key]
    return out


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
    # The floor with a verdict (live.sh, fv): one read per direction and a
    # verdict that waits for it, as any filter's does; tapis against it is
    # what is left to win in tapis itself.
    if "floor_v" in tg and "tapis" in tg and cap.get("floor_v", 0) > 0 and tp > 0:
        x["tapis_vs_floor_v"] = tp / cap["floor_v"]
        x["tapis_vs_floor_v_per_round"] = spread(per_round(tg, "tapis", "floor_v"))
        x["floor_v_dropped_fraction"] = tg["floor_v"].get("median_dropped_fraction")
        # the share its marks drop: inside, and outside colliding with inside
        x["floor_v_marked_fraction"] = g.get("floor_marked_fraction")
    for ref, lim, src in GOALS.get(mode, []):
        v = x["ratios"].get(ref)
        b = {"reference": ref, "min": lim, "value": v, "source": src,
             "met": bool(v is not None and v >= lim)}
        if "tapis" in tg and ref in tg:
            b["per_round"] = spread(per_round(tg, "tapis", ref))
        # veth copies every frame an skb generator sends before XDP runs:
        # no XDP program beats XDP_DROP, so XDP_DROP / reference is the
        # most any filter can reach here (printed beside the goal, which
        # stays what it is)
        if ref != "xdp_drop" and cap.get("xdp_drop", 0) > 0 and cap.get(ref, 0) > 0:
            b["bound_xdp_drop"] = cap["xdp_drop"] / cap[ref]
            b["bound_per_round"] = spread(per_round(tg, "xdp_drop", ref))
            b["reachable"] = b["bound_xdp_drop"] >= lim
        x["budget"].append(b)
    # an A/B end (live.sh --tapis-b): the second build against the first,
    # round by round
    if "tapis_b" in tg and "tapis" in tg:
        x["tapis_b_vs_tapis"] = spread(per_round(tg, "tapis_b", "tapis"))
        if cap.get("tapis", 0) > 0 and cap.get("tapis_b", 0) > 0:
            x["tapis_b_extra_ns"] = 1e9 / cap["tapis_b"] - 1e9 / cap["tapis"]
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
    x["stack"] = stack_drops(d, mode, tg, n)
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
        pr = b.get("per_round")
        lines.append("  tapis / %s = %s%s (%s budget >= %g%s: %s)" % (
            b["reference"], "%.2f" % v if v is not None else "n/a",
            ", per round %.2f (%.2f-%.2f)" % (pr["median"], pr["min"], pr["max"]) if pr else "",
            b["source"], b["min"], "x" if b["min"] > 1 else "", "met" if b["met"] else "NOT MET"))
        if b.get("bound_xdp_drop") is not None:
            bp = b["bound_per_round"]
            lines.append("    bound: XDP_DROP / %s = %.2f%s in this run, the most any XDP "
                         "program reaches on this path: the goal is %s here" % (
                             b["reference"], b["bound_xdp_drop"],
                             " (%.2f-%.2f per round)" % (bp["min"], bp["max"]) if bp else "",
                             "reachable" if b["reachable"] else "out of reach"))
    if x.get("tapis_b_vs_tapis"):
        t = x["tapis_b_vs_tapis"]
        lines.append("  A/B: tapis_b / tapis = %.3f per round (%.3f-%.3f over %d rounds), "
                     "%+.0f ns a frame" % (t["median"], t["min"], t["max"], t["rounds"],
                                          x.get("tapis_b_extra_ns", float("nan"))))
    if x.get("nftables_extra_vs_tapis_extra"):
        lines.append("  over XDP_DROP, nftables adds %.1fx what tapis adds" % (
            x["nftables_extra_vs_tapis_extra"]))
    if x.get("ideal_ns"):
        lines.append("  ideal filter (XDP_DROP's ns inside, XDP_PASS's outside): %.0f ns/frame; "
                     "tapis = %.2f of its rate" % (x["ideal_ns"], x["tapis_vs_ideal"]))
    if x.get("tapis_vs_floor_v"):
        pr = x["tapis_vs_floor_v_per_round"]
        lines.append("  floor with a verdict (one read per direction, XDP_DROP for the %.0f %% "
                     "of frames its marks cover, XDP_PASS else): %.0f ns/frame; tapis = %.2f of "
                     "its rate, per round %.2f (%.2f-%.2f)" % (
                         100 * (x["floor_v_marked_fraction"] or 0),
                         1e9 / x["gen"]["targets"]["floor_v"]["median_capacity_pps"],
                         x["tapis_vs_floor_v"], pr["median"], pr["min"], pr["max"]))
    if x["tapis_dropped_fraction"] is not None:
        lines.append("  tapis dropped %.1f %% of the frames it ran (rule %s)" % (
            100 * x["tapis_dropped_fraction"], rule))
    st = x.get("stack")
    if st:
        parts = ["%s %d of %s" % (k, e["otherhost_dropped"],
                                  e["passed_expected"] if e["passed_expected"] is not None
                                  else "?")
                 for k, e in st["ends"].items() if e["to_stack"] or e["passed_expected"]]
        lines.append("  passed frames dropped by the stack as otherhost (of those passed): %s; "
                     "namespace IP counters: %s" % (
                         ", ".join(parts) or "none passed",
                         ", ".join("%s %+d" % kv for kv in st["ip_counters"].items())))
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
