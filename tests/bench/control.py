#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""control.py - the control plane at scale, as an operator runs it.

  control.py --tapis BIN --policy FILE --json OUT [--rounds N] [--adds N]

Times the `tapis` commands themselves (process start to exit, wall clock)
with the bench policy: a full `load` onto a veth in a namespace of its own,
a full `reload` of the same policy, `host add` and `host del` of one name
(--adds times each), and `unload`; with the peak RSS of each command
(wait4's ru_maxrss). Budgets (issue 8): load and reload <= 5 s, one host add
<= 20 ms. Prints a table and writes the figures as JSON. Exit 0 when every
command succeeded; timings never fail it.

The namespace and the bpffs it mounts (in this mount namespace, so that
`ip netns exec` sees the pins too) are its own and removed at exit.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

BUDGET = {"load": 5.0, "reload": 5.0, "host add": 0.020}


def run(argv):
    """(seconds, peak RSS KiB, exit code, output) of one command."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    return dt, ru.ru_maxrss, p.returncode, out.decode(errors="replace")


def sh(*argv):
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tapis", required=True)
    ap.add_argument("--policy", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--adds", type=int, default=21)
    a = ap.parse_args()

    ns = "tb-ctl-%d" % os.getpid()
    tmp = tempfile.mkdtemp(prefix="tapis-control.")
    bpffs = os.path.join(tmp, "bpffs")
    pin = os.path.join(bpffs, "tapis")
    res = {"policy": a.policy, "rounds": a.rounds, "commands": {}}
    failed = []
    mounted = False
    try:
        os.mkdir(bpffs)
        sh("mount", "-t", "bpf", "bpf", bpffs)
        mounted = True
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "add", "v0", "type", "veth", "peer", "name", "v1")
        sh("ip", "-n", ns, "link", "set", "v0", "up")
        sh("ip", "-n", ns, "link", "set", "v1", "up")
        env_ns = ["ip", "netns", "exec", ns]
        times = {k: [] for k in ("load", "reload", "host add", "host del", "unload")}
        rss = {k: 0 for k in times}

        def cmd(name, argv):
            dt, maxrss, rc, out = run(argv)
            if rc != 0:
                failed.append("%s: exit %d: %s" % (name, rc, out.strip()[:300]))
                return False
            times[name].append(dt)
            rss[name] = max(rss[name], maxrss)
            return True

        for r in range(a.rounds):
            if not cmd("load", env_ns + [a.tapis, "load", "--policy", a.policy, "--iface", "v0",
                                         "--mode", "native", "--pin-path", pin]):
                break
            cmd("reload", env_ns + [a.tapis, "reload", "--policy", a.policy, "--pin-path", pin])
            rule = "bench-drop"
            for i in range(a.adds if r == 0 else 0):
                name = "ctl-%d-%d.bench-control.example" % (os.getpid(), i)
                if not cmd("host add", [a.tapis, "host", "add", name, "--rule", rule, "--pin-path", pin]):
                    break
                cmd("host del", [a.tapis, "host", "del", name, "--rule", rule, "--pin-path", pin])
            cmd("unload", env_ns + [a.tapis, "unload", "--pin-path", pin])
        for k, v in times.items():
            if not v:
                continue
            res["commands"][k] = {
                "n": len(v), "median_s": statistics.median(v), "min_s": min(v), "max_s": max(v),
                "peak_rss_kib": rss[k], "budget_s": BUDGET.get(k)}
    finally:
        subprocess.run(["ip", "netns", "exec", ns, a.tapis, "unload", "--pin-path", pin],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        if mounted:
            subprocess.run(["umount", bpffs])
        subprocess.run(["rm", "-rf", tmp])

    res["failed"] = failed
    print("control plane: `tapis` commands with %s, %d round(s), wall time process start to exit"
          % (a.policy, a.rounds))
    print("  %-9s %4s %10s %10s %10s %12s  %s" % ("command", "n", "median", "min", "max", "peak RSS", "budget"))
    for k, c in res["commands"].items():
        b = c["budget_s"]
        verdict = ""
        if b is not None:
            verdict = "<= %s: %s" % (("%g s" % b) if b >= 1 else ("%g ms" % (b * 1000)),
                                       "met" if c["median_s"] <= b else "NOT MET")
        unit, f = ("ms", 1000) if c["median_s"] < 1 else ("s", 1)
        print("  %-9s %4d %8.2f %s %8.2f %s %8.2f %s %8.1f MiB  %s" % (
            k, c["n"], c["median_s"] * f, unit, c["min_s"] * f, unit, c["max_s"] * f, unit,
            c["peak_rss_kib"] / 1024.0, verdict))
    for f in failed:
        print("  FAILED %s" % f)
    with open(a.json, "w") as f:
        json.dump(res, f, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
